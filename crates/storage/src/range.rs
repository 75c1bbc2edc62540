//! [`KeyRange`]: the bounds of a range read or a range delete, over a typed key.

use std::ops::{Bound, Range, RangeBounds, RangeFrom, RangeFull, RangeInclusive, RangeTo};

/// A range of typed keys: a start and an end bound. Built from Rust's range syntax
/// (`(a..).into()`, `(a..=b).into()`, `KeyRange::all()`), and itself a [`RangeBounds`], so a
/// store over ordered maps can pass it straight to `BTreeMap::range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange<K> {
    /// The lower bound.
    pub start: Bound<K>,
    /// The upper bound.
    pub end: Bound<K>,
}

impl<K> KeyRange<K> {
    /// Every key.
    pub const fn all() -> Self {
        Self { start: Bound::Unbounded, end: Bound::Unbounded }
    }

    /// The range from explicit bounds.
    pub const fn new(start: Bound<K>, end: Bound<K>) -> Self {
        Self { start, end }
    }

    /// Maps both bounds through `f` (e.g. to prefix them with an account hash).
    pub fn map<T>(self, mut f: impl FnMut(K) -> T) -> KeyRange<T> {
        KeyRange { start: self.start.map(&mut f), end: self.end.map(f) }
    }
}

impl<K: Ord> KeyRange<K> {
    /// Whether no key can be inside (start above end, or equal with one bound excluded).
    /// `BTreeMap::range` panics on such ranges, so an ordered-map store checks this first.
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        }
    }

    /// Whether `key` is inside.
    pub fn contains_key(&self, key: &K) -> bool {
        RangeBounds::contains(self, key)
    }
}

impl<K> RangeBounds<K> for KeyRange<K> {
    fn start_bound(&self) -> Bound<&K> {
        self.start.as_ref()
    }

    fn end_bound(&self) -> Bound<&K> {
        self.end.as_ref()
    }
}

impl<K> From<RangeFull> for KeyRange<K> {
    fn from(_: RangeFull) -> Self {
        Self::all()
    }
}

impl<K> From<RangeFrom<K>> for KeyRange<K> {
    fn from(range: RangeFrom<K>) -> Self {
        Self { start: Bound::Included(range.start), end: Bound::Unbounded }
    }
}

impl<K> From<RangeTo<K>> for KeyRange<K> {
    fn from(range: RangeTo<K>) -> Self {
        Self { start: Bound::Unbounded, end: Bound::Excluded(range.end) }
    }
}

impl<K> From<Range<K>> for KeyRange<K> {
    fn from(range: Range<K>) -> Self {
        Self { start: Bound::Included(range.start), end: Bound::Excluded(range.end) }
    }
}

impl<K> From<RangeInclusive<K>> for KeyRange<K> {
    fn from(range: RangeInclusive<K>) -> Self {
        let (start, end) = range.into_inner();
        Self { start: Bound::Included(start), end: Bound::Included(end) }
    }
}

impl<K> From<(Bound<K>, Bound<K>)> for KeyRange<K> {
    fn from((start, end): (Bound<K>, Bound<K>)) -> Self {
        Self { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptiness_matches_btree_semantics() {
        assert!(!KeyRange::from(1..=1).is_empty());
        assert!(KeyRange::from(1..1).is_empty());
        assert!(KeyRange::new(Bound::Included(2), Bound::Included(1)).is_empty());
        assert!(KeyRange::new(Bound::Excluded(1), Bound::Included(1)).is_empty());
        assert!(!KeyRange::<u8>::all().is_empty());
        let range = KeyRange::new(Bound::Excluded(1), Bound::Included(3));
        assert!(!range.contains_key(&1) && range.contains_key(&2) && range.contains_key(&3));
    }
}
