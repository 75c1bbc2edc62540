//! proptest strategies for leaf sets.

use super::{Leaf, clustered_leaves, inline_heavy_leaves, sorted_leaves};
use proptest::{collection::vec, prelude::*};
use std::ops::{Range, RangeInclusive};

/// Sorted, deduplicated leaf sets whose keys all have one length drawn from `key_len`, with up to
/// `size.end - 1` leaves (fewer when keys collide) and values of a length from `value_len`
/// (lower end at least 1). Shrinks towards fewer and shorter leaves.
pub fn leaf_set(
    key_len: RangeInclusive<usize>,
    size: Range<usize>,
    value_len: RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<Leaf>> {
    assert!(*value_len.start() >= 1, "values must not be empty");
    key_len.prop_flat_map(move |key_len| {
        vec((vec(any::<u8>(), key_len), vec(any::<u8>(), value_len.clone())), size.clone())
            .prop_map(sorted_leaves)
    })
}

/// Non-empty leaf sets (one key length per set, at most `max_leaves` leaves) of every shape the
/// range-proof tests care about:
/// - 1–4 byte keys with 1–4 byte values: inline leaves and inline branches everywhere;
/// - random 32-byte keys with 1–40 byte values: the state-trie shape;
/// - 32-byte keys in a few clusters differing only in their last one or two bytes, with short
///   values: hashed upper levels over inline subtrees;
/// - clusters of mid-length keys (5–20 bytes);
/// - any key length from 1 to 32 with values up to 64 bytes.
pub fn any_leaf_set(max_leaves: usize) -> BoxedStrategy<Vec<Leaf>> {
    let max = max_leaves.max(2);
    prop_oneof![
        2 => leaf_set(1..=4, 1..max, 1..=4),
        3 => leaf_set(32..=32, 1..max, 1..=40),
        2 => (any::<u64>(), 1..max, 1usize..=4, 1usize..=2).prop_map(|(seed, n, clusters, tail)| {
            clustered_leaves(seed, n, 32, clusters, tail, 1..=3)
        }),
        1 => (any::<u64>(), 1..max, 5usize..=20)
            .prop_map(|(seed, n, key_len)| clustered_leaves(seed, n, key_len, 3, 2, 1..=8)),
        1 => (any::<u64>(), 1..max).prop_map(|(seed, n)| inline_heavy_leaves(seed, n)),
        1 => leaf_set(1..=32, 1..max, 1..=64),
    ]
    .prop_filter("at least one leaf", |leaves| !leaves.is_empty())
    .boxed()
}

/// [`any_leaf_set`] and, as often, shapes that put hashed nodes at the bottom of the trie:
/// 32-byte keys in clusters differing only in their last byte with 28–80 byte values (hashed
/// leaves at depth 63 and 64 under branches at the full key length minus one), short keys with
/// long values, and tiny tries of one to three leaves. For the fuzz tests of the verifier.
pub fn fuzz_leaf_set(max_leaves: usize) -> BoxedStrategy<Vec<Leaf>> {
    let max = max_leaves.max(2);
    prop_oneof![
        4 => any_leaf_set(max_leaves),
        2 => (any::<u64>(), 1..max, 1usize..=3).prop_map(|(seed, n, clusters)| {
            clustered_leaves(seed, n, 32, clusters, 1, 28..=80)
        }),
        1 => leaf_set(1..=3, 1..max, 28..=80),
        1 => leaf_set(1..=32, 1..4, 1..=64),
    ]
    .prop_filter("at least one leaf", |leaves| !leaves.is_empty())
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;

    #[test]
    fn leaf_sets_are_well_formed() {
        let mut runner = TestRunner::deterministic();
        let strategy = any_leaf_set(40);
        for _ in 0..300 {
            let leaves = strategy.new_tree(&mut runner).unwrap().current();
            assert!(!leaves.is_empty() && leaves.len() < 40);
            assert!(leaves.windows(2).all(|w| w[0].0 < w[1].0));
            let len = leaves[0].0.len();
            assert!(leaves.iter().all(|(k, v)| k.len() == len && !v.is_empty() && len <= 32));
        }
    }
}
