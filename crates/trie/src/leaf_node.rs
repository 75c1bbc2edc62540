//! Leaf nodes encoded from their leaves: [`leaf_node`].
//!
//! A leaf node is nothing but its leaf's key (past the node's path) and value, which a store
//! keeps in its flat tables anyway. So stores keep no leaf node below the root
//! ([`StoredNodes`](crate::StoredNodes)) and encode one again, byte for byte, when a proof, a
//! `GetTrieNodes` answer or a healing check wants it.

use alloy_rlp::Encodable;
use alloy_trie::{Nibbles, nodes::LeafNodeRef};

/// Encodes into `out` the leaf node at `path` of the leaf with key `key` (of which `path` is a
/// prefix) and `value`: byte for byte the node [`TrieBuilder`](crate::TrieBuilder) emits for it.
///
/// ```
/// use snapsync_trie::{Nibbles, NodeList, TrieBuilder, leaf_node};
/// let (key, value) = ([0x12; 32], b"one".repeat(12));
/// let mut builder = TrieBuilder::new(NodeList::default());
/// builder.add_leaf(&key, &value).unwrap();
/// builder.add_leaf(&[0x34; 32], &b"two".repeat(12)).unwrap();
/// let (_root, nodes) = builder.finish().unwrap();
/// let path = Nibbles::from_nibbles([0x1]);
/// let mut rlp = Vec::new();
/// leaf_node(&path, &Nibbles::unpack(key), &value, &mut rlp);
/// assert!(nodes.iter().any(|(at, node)| at == &path && node == rlp.as_slice()));
/// ```
pub fn leaf_node(path: &Nibbles, key: &Nibbles, value: &[u8], out: &mut Vec<u8>) {
    let rest = key.slice(path.len().min(key.len())..);
    LeafNodeRef::new(&rest, value).encode(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NodeSink, TrieBuilder};
    use proptest::prelude::*;
    use std::{collections::BTreeMap, convert::Infallible};

    /// The leaf nodes a build emits, with their paths.
    #[derive(Default)]
    struct LeafNodes(Vec<(Nibbles, Vec<u8>)>);

    impl NodeSink for LeafNodes {
        type Error = Infallible;

        fn on_node(&mut self, _path: &Nibbles, _rlp: &[u8]) -> Result<(), Infallible> {
            Ok(())
        }

        fn on_leaf(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
            self.0.push((*path, rlp.to_vec()));
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Every leaf node a build emits is the one encoded from the single leaf under its
        /// path, byte for byte: short keys and values make embedded (never emitted) leaves
        /// common, and keys of every length make paths of every depth.
        #[test]
        fn leaf_nodes_encode_again_from_their_leaves(
            key_len in 1usize..=32,
            raw in prop::collection::vec((prop::collection::vec(any::<u8>(), 32), prop::collection::vec(any::<u8>(), 1..80)), 1..200),
        ) {
            let leaves: BTreeMap<Vec<u8>, Vec<u8>> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            let mut builder = TrieBuilder::new(LeafNodes::default());
            for (key, value) in &leaves {
                builder.add_leaf(key, value).unwrap();
            }
            let (_, LeafNodes(emitted)) = builder.finish().unwrap();
            for (path, rlp) in emitted {
                let mut under = leaves.iter().filter(|(key, _)| Nibbles::unpack(key).starts_with(&path));
                let (key, value) = under.next().expect("a leaf node has a leaf under its path");
                prop_assert!(under.next().is_none(), "two leaves under the leaf node at {:?}", path);
                let mut again = Vec::new();
                leaf_node(&path, &Nibbles::unpack(key), value, &mut again);
                prop_assert_eq!(again, rlp);
            }
        }
    }
}
