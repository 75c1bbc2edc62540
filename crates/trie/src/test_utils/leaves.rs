//! Deterministic leaf sets (sorted `(key, value)` lists) of the shapes the trie tests need.
//!
//! Every generator returns leaves sorted by key with no duplicate keys and no empty values, ready
//! for `trie_root`, `TrieBuilder` or [`TestTrie`](super::TestTrie).

use snapsync_primitives::test_utils::TestRng;
use std::{collections::BTreeMap, ops::RangeInclusive};

/// One trie entry: `(key, value)`.
pub type Leaf = (Vec<u8>, Vec<u8>);

/// Sorts `leaves` by key; for a repeated key the last one wins (as repeated trie updates do).
pub fn sorted_leaves<I, K, V>(leaves: I) -> Vec<Leaf>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<Vec<u8>>,
    V: Into<Vec<u8>>,
{
    leaves
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

/// Up to `n` random leaves with keys of `key_len` bytes and values of a length drawn from
/// `value_len` (whose lower end must be at least 1), sorted and deduplicated.
///
/// Exactly `n` leaves unless the key space is smaller than `n` (short keys): the generator retries
/// a bounded number of times, then returns what it has.
pub fn random_leaves(
    seed: u64,
    n: usize,
    key_len: usize,
    value_len: RangeInclusive<usize>,
) -> Vec<Leaf> {
    assert!(*value_len.start() >= 1, "values must not be empty");
    let mut rng = TestRng::new(seed);
    let mut map = BTreeMap::new();
    let mut attempts = n.saturating_mul(8) + 64;
    while map.len() < n && attempts > 0 {
        attempts -= 1;
        let key = rng.bytes(key_len);
        let value = rng.bytes_in(value_len.clone());
        map.insert(key, value);
    }
    map.into_iter().collect()
}

/// Up to `n` leaves with 1–4 byte keys (one length per set, chosen by the seed) and 1–3 byte
/// values: almost every leaf and many branches are shorter than 32 bytes, so they are inlined in
/// their parents instead of being referenced by hash.
pub fn inline_heavy_leaves(seed: u64, n: usize) -> Vec<Leaf> {
    let key_len = TestRng::new(seed ^ 0x5eed).in_range(1..=4);
    random_leaves(seed, n, key_len, 1..=3)
}

/// Up to `n` leaves with `key_len`-byte keys gathered in `clusters` groups: the keys of a group
/// share everything but their last `tail_len` bytes. With 32-byte keys, a tail of one or two bytes
/// and values of a few bytes, the deep subtrees of a group are made of inline nodes while the
/// upper trie is hashed: the mix where inline-node handling goes wrong.
pub fn clustered_leaves(
    seed: u64,
    n: usize,
    key_len: usize,
    clusters: usize,
    tail_len: usize,
    value_len: RangeInclusive<usize>,
) -> Vec<Leaf> {
    assert!(*value_len.start() >= 1, "values must not be empty");
    assert!(tail_len <= key_len, "tail longer than the key");
    let mut rng = TestRng::new(seed);
    let bases: Vec<Vec<u8>> = (0..clusters.max(1)).map(|_| rng.bytes(key_len)).collect();
    let mut map = BTreeMap::new();
    let mut attempts = n.saturating_mul(8) + 64;
    while map.len() < n && attempts > 0 {
        attempts -= 1;
        let mut key = bases[rng.below(bases.len())].clone();
        let tail = rng.bytes(tail_len);
        key[key_len - tail_len..].copy_from_slice(&tail);
        map.insert(key, rng.bytes_in(value_len.clone()));
    }
    map.into_iter().collect()
}

/// The tries of geth's `trie/proof_test.go` `randomTrie(n)`: 110 small entries with 32-byte keys
/// `0x00..00XX` (`XX` < 110, one-byte values, so their leaves are inlined), then `n` random 32-byte
/// keys with random 20-byte values.
///
/// geth inserts `(pad(i), [i])` and `(pad(i + 10), [i])` for `i` in `0..100`, later writes winning;
/// the resulting map is reproduced exactly.
pub fn geth_random_leaves(seed: u64, n: usize) -> Vec<Leaf> {
    let mut rng = TestRng::new(seed);
    let mut map = BTreeMap::new();
    let pad = |b: u8| {
        let mut key = vec![0u8; 32];
        key[31] = b;
        key
    };
    for i in 0u8..100 {
        map.insert(pad(i), vec![i]);
        map.insert(pad(i + 10), vec![i]);
    }
    for _ in 0..n {
        map.insert(rng.bytes(32), rng.bytes(20));
    }
    map.into_iter().collect()
}

/// geth's `nonRandomTrie(n)`: key `i` is `i` little-endian in the first 8 of 32 bytes, its value
/// `i - u64::MAX` (that is `i + 1`, wrapping) little-endian in the first 8 of 32 bytes.
pub fn geth_non_random_leaves(n: u64) -> Vec<Leaf> {
    sorted_leaves((0..n).map(|i| {
        let mut key = vec![0u8; 32];
        key[..8].copy_from_slice(&i.to_le_bytes());
        let mut value = vec![0u8; 32];
        value[..8].copy_from_slice(&i.wrapping_sub(u64::MAX).to_le_bytes());
        (key, value)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_well_formed(leaves: &[Leaf]) {
        assert!(leaves.windows(2).all(|w| w[0].0 < w[1].0), "sorted and unique");
        assert!(leaves.iter().all(|(_, v)| !v.is_empty()), "no empty value");
    }

    #[test]
    fn generators_are_deterministic_and_well_formed() {
        let a = random_leaves(1, 300, 32, 1..=40);
        assert_eq!(a, random_leaves(1, 300, 32, 1..=40));
        assert_ne!(a, random_leaves(2, 300, 32, 1..=40));
        assert_eq!(a.len(), 300);
        assert_well_formed(&a);

        let one_byte = random_leaves(5, 1000, 1, 1..=2);
        assert_eq!(one_byte.len(), 256, "the whole key space, no more");
        assert_well_formed(&one_byte);

        let inline = inline_heavy_leaves(3, 50);
        assert_well_formed(&inline);
        assert!(inline.iter().all(|(k, v)| (1..=4).contains(&k.len()) && v.len() <= 3));
        let len = inline[0].0.len();
        assert!(inline.iter().all(|(k, _)| k.len() == len), "one key length per set");

        let clustered = clustered_leaves(4, 100, 32, 3, 1, 1..=3);
        assert_well_formed(&clustered);
        let prefixes: std::collections::BTreeSet<_> =
            clustered.iter().map(|(k, _)| k[..31].to_vec()).collect();
        assert!(prefixes.len() <= 3);

        let geth = geth_random_leaves(6, 100);
        assert_well_formed(&geth);
        assert_eq!(geth.len(), 210);
        assert_eq!(
            geth[5],
            (
                {
                    let mut k = vec![0; 32];
                    k[31] = 5;
                    k
                },
                vec![5]
            )
        );
        assert_eq!(geth[105].1, vec![95], "pad(105) was last written as (95 + 10, [95])");

        let non_random = geth_non_random_leaves(100);
        assert_well_formed(&non_random);
        assert_eq!(non_random[50].0[0], 50);
        assert_eq!(non_random[50].1[..8], 51u64.to_le_bytes());
    }

    #[test]
    fn sorted_leaves_last_write_wins() {
        let leaves =
            sorted_leaves(vec![(vec![2], vec![1]), (vec![1], vec![1]), (vec![2], vec![3])]);
        assert_eq!(leaves, vec![(vec![1], vec![1]), (vec![2], vec![3])]);
    }
}
