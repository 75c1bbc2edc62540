//! The byte-level key-value contract every backend implements.
//!
//! Tables are named, ordered maps from byte strings to byte strings, compared bytewise. A read
//! transaction is a snapshot: it never sees a commit made after it began. A write transaction sees
//! its own writes, is invisible to everyone else until [`KvWrite::commit`], and is discarded when
//! dropped without a commit. At most one write transaction is open at a time; beginning another
//! waits for it.
//!
//! The traits are object-safe, so the rest of the workspace holds an `Arc<dyn Database>` and never
//! names a backend. Callers use the typed layer ([`ReadView`](crate::ReadView),
//! [`WriteTxn`](crate::WriteTxn)), which encodes keys and values; the byte-level methods are for
//! backends and for tests that must store bytes no typed API would write.

use crate::{DbError, ReadView, WriteTxn, error::hex};
use std::{cmp::Ordering, fmt, ops::Bound};

/// A key and a value, owned.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered iterator over the entries of a key range.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<Entry, DbError>> + Send + 'a>;

/// Which way a range is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys.
    Reverse,
}

/// Bounds of a byte-key range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBounds {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyBounds {
    /// Every key.
    pub const fn all() -> Self {
        Self { start: Bound::Unbounded, end: Bound::Unbounded }
    }

    /// The bounds as borrowed slices, for range calls.
    pub fn as_slices(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (self.start.as_ref().map(Vec::as_slice), self.end.as_ref().map(Vec::as_slice))
    }

    /// Whether no key can lie in the bounds (start after end, or an excluded single point);
    /// backends return nothing for such ranges instead of failing.
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        }
    }

    /// Whether `key` lies within the bounds.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above_start = match &self.start {
            Bound::Unbounded => true,
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
        };
        let below_end = match &self.end {
            Bound::Unbounded => true,
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
        };
        above_start && below_end
    }
}

pub use snapsync_storage::Durability;

/// A source of entries for a sorted bulk insertion, filling caller-owned buffers so the hot loop
/// allocates nothing.
pub trait EntrySource {
    /// Clears `key` and `value` and fills them with the next entry; `Ok(false)` at the end.
    ///
    /// # Errors
    /// Whatever producing or encoding the entries fails with.
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError>;
}

/// A read transaction: a consistent snapshot of every table.
pub trait KvRead: Send + Sync {
    /// The value stored at `key` in `table`.
    ///
    /// # Errors
    /// Backend failures.
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError>;

    /// The entries of `table` within `bounds`, in key order or reversed. A table that was never
    /// written is empty.
    ///
    /// # Errors
    /// Backend failures, when the range is opened or (per entry) while it is walked.
    fn range(
        &self,
        table: &'static str,
        bounds: KeyBounds,
        direction: Direction,
    ) -> Result<KvIter<'_>, DbError>;

    /// The number of entries of `table` (0 for a table never written). Backends that keep the
    /// count answer at once; the default walks the table.
    ///
    /// # Errors
    /// Backend failures.
    fn len(&self, table: &'static str) -> Result<u64, DbError> {
        let mut count = 0;
        for entry in self.range(table, KeyBounds::all(), Direction::Forward)? {
            entry?;
            count += 1;
        }
        Ok(count)
    }
}

/// A write transaction; reads see its own uncommitted writes.
pub trait KvWrite: KvRead {
    /// Inserts or replaces the entry at `key`.
    ///
    /// # Errors
    /// Backend failures (including keys or values beyond the backend's size limits).
    fn put(&mut self, table: &'static str, key: &[u8], value: &[u8]) -> Result<(), DbError>;

    /// Removes the entry at `key`; whether there was one.
    ///
    /// # Errors
    /// Backend failures.
    fn delete(&mut self, table: &'static str, key: &[u8]) -> Result<bool, DbError>;

    /// Removes every entry of `table`.
    ///
    /// # Errors
    /// Backend failures.
    fn clear(&mut self, table: &'static str) -> Result<(), DbError>;

    /// Inserts entries arriving in strictly increasing key order, replacing existing entries with
    /// equal keys, through the backend's fastest path for sorted input. Returns the number of
    /// entries inserted.
    ///
    /// # Errors
    /// [`DbError::Unsorted`] when a key is not greater than its predecessor (entries before it
    /// remain in the transaction: abort it by dropping it), source and backend failures.
    fn append_sorted(
        &mut self,
        table: &'static str,
        entries: &mut dyn EntrySource,
    ) -> Result<u64, DbError>;

    /// Sets how the commit reaches the disk.
    ///
    /// # Errors
    /// Backend refusals.
    fn set_durability(&mut self, durability: Durability) -> Result<(), DbError>;

    /// Makes every write of the transaction visible, atomically.
    ///
    /// # Errors
    /// Backend failures; nothing of the transaction is visible then.
    fn commit(self: Box<Self>) -> Result<(), DbError>;
}

/// A key-value database: the backend behind [`ReadView`] and [`WriteTxn`].
///
/// Implemented by [`RedbDatabase`](crate::RedbDatabase) (on disk) and
/// [`MemoryDatabase`](crate::MemoryDatabase) (in memory), with the same semantics; shared as
/// `Arc<dyn Database>` or used through a generic `D: Database`.
pub trait Database: Send + Sync + fmt::Debug {
    /// A short name of the backend, for logs and errors.
    fn backend(&self) -> &'static str;

    /// Begins a byte-level read transaction.
    ///
    /// # Errors
    /// Backend failures.
    fn begin_read(&self) -> Result<Box<dyn KvRead>, DbError>;

    /// Begins a byte-level write transaction, waiting for any other write transaction to finish.
    ///
    /// # Errors
    /// Backend failures.
    fn begin_write(&self) -> Result<Box<dyn KvWrite>, DbError>;

    /// Begins a typed read view: a snapshot of every table.
    ///
    /// # Errors
    /// Backend failures.
    fn view(&self) -> Result<ReadView, DbError> {
        self.begin_read().map(ReadView::new)
    }

    /// Begins a typed write transaction.
    ///
    /// # Errors
    /// Backend failures.
    fn write(&self) -> Result<WriteTxn, DbError> {
        self.begin_write().map(WriteTxn::new)
    }
}

/// Checks that appended keys strictly increase, for the backends' `append_sorted`.
#[derive(Debug, Default)]
pub(crate) struct OrderCheck {
    previous: Option<Vec<u8>>,
}

impl OrderCheck {
    /// Accepts `key` if it sorts after the previous one.
    pub(crate) fn accept(&mut self, table: &'static str, key: &[u8]) -> Result<(), DbError> {
        match &mut self.previous {
            Some(previous) if previous.as_slice().cmp(key) != Ordering::Less => {
                Err(DbError::Unsorted { table, previous: hex(previous), key: hex(key) })
            }
            Some(previous) => {
                previous.clear();
                previous.extend_from_slice(key);
                Ok(())
            }
            None => {
                self.previous = Some(key.to_vec());
                Ok(())
            }
        }
    }
}

/// A range walked in batches: `fetch` returns up to `limit` entries of the remaining bounds in
/// the walking order, and the bounds shrink past the last entry returned. Backends whose native
/// iterators cannot outlive a call (a table borrowed from a transaction, a map behind a lock) use
/// it to hand out an owning iterator.
pub(crate) struct BatchedRange<F> {
    fetch: F,
    bounds: KeyBounds,
    direction: Direction,
    batch: std::vec::IntoIter<Entry>,
    next_limit: usize,
    exhausted: bool,
}

/// Largest batch a [`BatchedRange`] fetches; the first ones are smaller so `first`/`last` stay
/// cheap.
const MAX_BATCH: usize = 1024;

impl<F> BatchedRange<F>
where
    F: FnMut(&KeyBounds, Direction, usize) -> Result<Vec<Entry>, DbError>,
{
    pub(crate) fn new(fetch: F, bounds: KeyBounds, direction: Direction) -> Self {
        let exhausted = bounds.is_empty();
        Self { fetch, bounds, direction, batch: Vec::new().into_iter(), next_limit: 8, exhausted }
    }

    fn refill(&mut self) -> Result<(), DbError> {
        let limit = self.next_limit;
        self.next_limit = (limit * 4).min(MAX_BATCH);
        let batch = (self.fetch)(&self.bounds, self.direction, limit)?;
        if batch.len() < limit {
            self.exhausted = true;
        }
        if let Some((last, _)) = batch.last() {
            match self.direction {
                Direction::Forward => self.bounds.start = Bound::Excluded(last.clone()),
                Direction::Reverse => self.bounds.end = Bound::Excluded(last.clone()),
            }
        }
        self.batch = batch.into_iter();
        Ok(())
    }
}

impl<F> Iterator for BatchedRange<F>
where
    F: FnMut(&KeyBounds, Direction, usize) -> Result<Vec<Entry>, DbError>,
{
    type Item = Result<Entry, DbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.batch.next() {
            return Some(Ok(entry));
        }
        if self.exhausted {
            return None;
        }
        if let Err(err) = self.refill() {
            self.exhausted = true;
            return Some(Err(err));
        }
        self.batch.next().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_emptiness_and_membership() {
        let b = |s: Bound<&[u8]>, e: Bound<&[u8]>| KeyBounds {
            start: s.map(<[u8]>::to_vec),
            end: e.map(<[u8]>::to_vec),
        };
        assert!(!b(Bound::Included(&[1]), Bound::Included(&[1])).is_empty());
        assert!(b(Bound::Included(&[1]), Bound::Excluded(&[1])).is_empty());
        assert!(b(Bound::Excluded(&[1]), Bound::Included(&[1])).is_empty());
        assert!(b(Bound::Included(&[2]), Bound::Included(&[1])).is_empty());
        assert!(!KeyBounds::all().is_empty());
        let range = b(Bound::Excluded(&[1]), Bound::Included(&[3]));
        assert!(!range.contains(&[1]) && range.contains(&[1, 0]) && range.contains(&[3]));
        assert!(!range.contains(&[3, 0]));
    }

    #[test]
    fn order_check_rejects_equal_and_smaller() {
        let mut check = OrderCheck::default();
        check.accept("t", &[1]).unwrap();
        check.accept("t", &[1, 0]).unwrap();
        assert!(matches!(check.accept("t", &[1, 0]), Err(DbError::Unsorted { .. })));
        assert!(matches!(check.accept("t", &[0xff][..0]), Err(DbError::Unsorted { .. })));
    }

    #[test]
    fn batched_range_walks_both_ways() {
        let data: Vec<Entry> = (0u16..3000).map(|i| (i.to_be_bytes().to_vec(), vec![1])).collect();
        let fetch = |bounds: &KeyBounds, direction: Direction, limit: usize| {
            let inside = data.iter().filter(|(k, _)| bounds.contains(k)).cloned();
            Ok(match direction {
                Direction::Forward => inside.take(limit).collect(),
                Direction::Reverse => inside.rev().take(limit).collect(),
            })
        };
        let keys = |direction| {
            BatchedRange::new(fetch, KeyBounds::all(), direction)
                .map(|e| e.unwrap().0)
                .collect::<Vec<_>>()
        };
        let forward = keys(Direction::Forward);
        assert_eq!(forward, data.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
        let mut reverse = keys(Direction::Reverse);
        reverse.reverse();
        assert_eq!(reverse, forward);
    }
}
