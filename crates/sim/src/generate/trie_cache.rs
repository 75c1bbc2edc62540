//! [`TrieNodeCache`]: the root of a trie over a sorted map, recomputed after a few changes in time
//! proportional to the changes, not to the trie.
//!
//! A generated chain needs the state root of every block (each header's hash covers its root,
//! and the next header covers that hash), and rebuilding the tries of a large state from scratch
//! for every block would take seconds per block. This cache remembers the reference
//! ([`RlpNode`]: the node's hash, or its encoding when shorter than 32 bytes) of every node by
//! its *position*, the nibble path at which its parent refers to it.
//!
//! The node at a position is a function of the keys under that position alone, so an entry stays
//! valid until a key under its position changes: [`TrieNodeCache::invalidate`] drops the entries
//! at the prefixes of a changed key (down to the deepest position cached) and nothing else.
//! [`TrieNodeCache::root`] then walks down from the root, reusing every cached node and
//! rebuilding the others from the map: for each node, the first and last key under its position
//! (two ordered-map lookups) tell whether it is a leaf (one key), an extension (the keys share
//! more nibbles) or a branch.
//!
//! Costs, for a trie of `n` leaves: the first root visits every node (`O(n log n)`, about twice
//! a from-scratch [`trie_root`](snapsync_trie::trie_root)); after `k` changed keys, a root
//! rebuilds about `k × log16(n)` nodes, each branch with up to 16 cached child lookups. Memory is
//! about 1.3 entries of ~90 bytes per leaf. The encodings are alloy-trie's, the same as
//! `snapsync_trie`'s builder uses; the tests check the roots against `trie_root`.

use alloy_primitives::{B256, keccak256};
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode},
};
use snapsync_storage::keys_under;
use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
};

/// Cached node references of one trie over 32-byte keys, by position.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrieNodeCache {
    nodes: HashMap<Nibbles, RlpNode>,
    /// The longest position ever cached: no entry is deeper, so invalidation stops there.
    deepest: usize,
}

impl TrieNodeCache {
    /// Forgets every node whose subtrie holds `key`: call it for each key inserted, removed or
    /// given a new value since the last [`root`](Self::root).
    pub(crate) fn invalidate(&mut self, key: &B256) {
        if self.nodes.is_empty() {
            return;
        }
        let path = Nibbles::unpack(key);
        for len in 0..=self.deepest.min(path.len()) {
            self.nodes.remove(&path.slice(..len));
        }
    }

    /// The root of the trie of `leaves`, whose leaf values `leaf_value` encodes; every key that
    /// changed since the previous call must have been [invalidated](Self::invalidate).
    pub(crate) fn root<K, V>(
        &mut self,
        leaves: &BTreeMap<K, V>,
        leaf_value: impl FnMut(&K, &V) -> Vec<u8>,
    ) -> B256
    where
        K: Ord + Copy + From<B256> + Into<B256>,
    {
        let Some(first) = leaves.first_key_value() else {
            self.nodes.clear();
            return EMPTY_ROOT_HASH;
        };
        let mut walk = Walk {
            leaves,
            leaf_value,
            nodes: &mut self.nodes,
            deepest: &mut self.deepest,
            buf: Vec::new(),
        };
        let root = walk.node(Nibbles::default(), first);
        root.as_hash().unwrap_or_else(|| keccak256(root.as_slice()))
    }

    /// Number of cached nodes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}

/// One root computation: the map, the cache, and a scratch buffer for encodings.
struct Walk<'a, K, V, F> {
    leaves: &'a BTreeMap<K, V>,
    leaf_value: F,
    nodes: &'a mut HashMap<Nibbles, RlpNode>,
    deepest: &'a mut usize,
    buf: Vec<u8>,
}

impl<'a, K, V, F> Walk<'a, K, V, F>
where
    K: Ord + Copy + From<B256> + Into<B256>,
    F: FnMut(&K, &V) -> Vec<u8>,
{
    /// The reference of the node at `position`, whose first key is `first`.
    fn node(&mut self, position: Nibbles, first: (&'a K, &'a V)) -> RlpNode {
        if let Some(node) = self.nodes.get(&position) {
            return node.clone();
        }
        let last = self.last_under(&position).unwrap_or(first);
        let first_path = Nibbles::unpack((*first.0).into());
        let shared = first_path.common_prefix_length(&Nibbles::unpack((*last.0).into()));
        let node = if first.0 == last.0 {
            self.leaf(position.len(), first)
        } else if shared > position.len() {
            let branch = self.node(first_path.slice(..shared), first);
            let extension = first_path.slice(position.len()..shared);
            self.buf.clear();
            ExtensionNodeRef::new(&extension, &branch).rlp(&mut self.buf)
        } else {
            self.branch(position, first, last.0)
        };
        *self.deepest = (*self.deepest).max(position.len());
        self.nodes.insert(position, node.clone());
        node
    }

    /// The branch at `position`, whose keys run from `first` to `last`.
    fn branch(&mut self, position: Nibbles, first: (&'a K, &'a V), last: &K) -> RlpNode {
        let mut children = Vec::with_capacity(16);
        let mut mask = TrieMask::default();
        let mut child_first = first;
        loop {
            let nibble = nibble_at(&(*child_first.0).into(), position.len());
            let mut child = position;
            child.push(nibble);
            children.push(self.node(child, child_first));
            mask.set_bit(nibble);
            let (_, child_end) = keys_under(&child);
            if child_end >= (*last).into() {
                break;
            }
            match self.leaves.range((Bound::Excluded(K::from(child_end)), Bound::Unbounded)).next()
            {
                Some(next) => child_first = next,
                None => break,
            }
        }
        self.buf.clear();
        BranchNodeRef::new(&children, mask).rlp(&mut self.buf)
    }

    /// The leaf node of `leaf` at a position `depth` nibbles deep.
    fn leaf(&mut self, depth: usize, (key, value): (&K, &V)) -> RlpNode {
        let suffix = Nibbles::unpack((*key).into()).slice(depth..);
        let value = (self.leaf_value)(key, value);
        self.buf.clear();
        LeafNodeRef::new(&suffix, &value).rlp(&mut self.buf)
    }

    /// The last leaf under `position`.
    fn last_under(&self, position: &Nibbles) -> Option<(&'a K, &'a V)> {
        let (start, end) = keys_under(position);
        self.leaves.range(K::from(start)..=K::from(end)).next_back()
    }
}

/// The nibble of `key` at `index` (0 is the high half of the first byte).
fn nibble_at(key: &B256, index: usize) -> u8 {
    let byte = key[index / 2];
    if index.is_multiple_of(2) { byte >> 4 } else { byte & 0x0f }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use snapsync_primitives::test_utils::TestRng;
    use snapsync_trie::trie_root;

    /// The leaf encoder of a map whose values are the leaf values.
    #[expect(clippy::ptr_arg, reason = "the encoder's signature is fixed by the map's value type")]
    fn value(_: &B256, value: &Vec<u8>) -> Vec<u8> {
        value.to_vec()
    }

    fn reference_root(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
        trie_root(leaves.iter()).unwrap()
    }

    #[test]
    fn bounds_and_nibbles() {
        let prefix = Nibbles::from_nibbles([0xa, 0xb, 0xc]);
        let (start, end) = keys_under(&prefix);
        assert_eq!(start[..2], [0xab, 0xc0]);
        assert_eq!(start[2..], [0; 30]);
        assert_eq!(end[..2], [0xab, 0xcf]);
        assert_eq!(end[2..], [0xff; 30]);
        assert_eq!(keys_under(&Nibbles::default()), (B256::ZERO, B256::repeat_byte(0xff)));
        assert_eq!((nibble_at(&start, 2), nibble_at(&start, 3)), (0xc, 0));
    }

    #[test]
    fn incremental_roots_follow_random_updates() {
        let mut rng = TestRng::new(17);
        let mut leaves = BTreeMap::new();
        let mut cache = TrieNodeCache::default();
        assert_eq!(cache.root(&leaves, value), EMPTY_ROOT_HASH);
        for round in 0..60 {
            let changes = if round == 0 { 3_000 } else { rng.in_range(1..=40) };
            for _ in 0..changes {
                let key = if rng.chance(1, 3) && !leaves.is_empty() {
                    // An existing key: change or delete it.
                    let probe = B256::from_slice(&rng.bytes(32));
                    *leaves.range(probe..).next().or(leaves.first_key_value()).unwrap().0
                } else {
                    B256::from_slice(&rng.bytes(32))
                };
                if rng.chance(1, 4) {
                    leaves.remove(&key);
                } else {
                    leaves.insert(key, rng.bytes_in(1..=40));
                }
                cache.invalidate(&key);
            }
            assert_eq!(cache.root(&leaves, value), reference_root(&leaves), "round {round}");
        }
        assert!(cache.len() > leaves.len(), "every leaf and branch");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Shared prefixes (keys drawn from few first bytes) make extensions and deep branches;
        /// one-byte values make inline leaves.
        #[test]
        fn matches_the_builder_after_any_updates(
            initial in prop::collection::btree_map(
                (0u8..4, any::<[u8; 31]>()), prop::collection::vec(any::<u8>(), 1..3), 0..60),
            updates in prop::collection::vec(
                ((0u8..4, any::<[u8; 31]>()), prop::option::of(prop::collection::vec(any::<u8>(), 1..40))),
                0..30),
        ) {
            let key = |(head, tail): (u8, [u8; 31])| {
                let mut bytes = [0u8; 32];
                bytes[0] = head;
                bytes[1..].copy_from_slice(&tail);
                B256::from(bytes)
            };
            let mut leaves: BTreeMap<B256, Vec<u8>> =
                initial.into_iter().map(|(k, v)| (key(k), v)).collect();
            let mut cache = TrieNodeCache::default();
            prop_assert_eq!(cache.root(&leaves, value), reference_root(&leaves));
            let keys: Vec<B256> = leaves.keys().copied().collect();
            for (index, (k, v)) in updates.into_iter().enumerate() {
                // Every other update hits an existing key, when there is one.
                let k = if index % 2 == 0 && !keys.is_empty() { keys[index % keys.len()] } else { key(k) };
                match v {
                    Some(v) => leaves.insert(k, v),
                    None => leaves.remove(&k),
                };
                cache.invalidate(&k);
            }
            prop_assert_eq!(cache.root(&leaves, value), reference_root(&leaves));
        }
    }
}
