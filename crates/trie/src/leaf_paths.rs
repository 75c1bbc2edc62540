//! Leaf nodes kept by path only: [`LeafPathNodes`].
//!
//! A verified range is held until a step takes it, with the trie nodes its verification
//! computed. Most of those nodes are leaf nodes, and a leaf node is nothing but its leaf's key
//! (past its path) and value, which the holder keeps anyway. So the leaf nodes are kept by path
//! and encoded again, byte for byte, when they are wanted ([`leaf_node`]): the range holds its
//! leaves once, not twice.

use crate::{NodeList, NodeSink};
use alloy_rlp::Encodable;
use alloy_trie::{Nibbles, nodes::LeafNodeRef};
use std::{cmp::Ordering, convert::Infallible};

/// Encodes into `out` the leaf node at `path` of the leaf with key `key` (of which `path` is a
/// prefix) and `value`: byte for byte the node [`TrieBuilder`](crate::TrieBuilder) emits for it.
pub fn leaf_node(path: &Nibbles, key: &Nibbles, value: &[u8], out: &mut Vec<u8>) {
    let rest = key.slice(path.len().min(key.len())..);
    LeafNodeRef::new(&rest, value).encode(out);
}

/// Where `key` lies relative to the subtree at `path`: before it, under it (`Equal`), or
/// after it.
fn prefix_order(key: &Nibbles, path: &Nibbles) -> Ordering {
    if key.len() >= path.len() {
        key.slice(..path.len()).cmp(path)
    } else {
        // A key shorter than the path lies before the subtree, or after it.
        match key.cmp(&path.slice(..key.len())) {
            Ordering::Equal => Ordering::Less,
            other => other,
        }
    }
}

/// The hashed nodes a trie build emits, as a [`NodeList`] keeps them, but each leaf node by its
/// path only: the holder of a verified range has every leaf's key and value anyway, and encodes
/// the leaf nodes again from them when it wants them ([`leaf_indices`](Self::leaf_indices),
/// [`leaf_node`]). A verified range held until a step takes it holds its leaves once, not twice.
///
/// ```
/// use snapsync_trie::{LeafPathNodes, NodeList, Nibbles, TrieBuilder, leaf_node};
/// let leaves = [([0x12; 32], b"one".repeat(12)), ([0x34; 32], b"two".repeat(12))];
/// let mut full = TrieBuilder::new(NodeList::default());
/// let mut lean = TrieBuilder::new(LeafPathNodes::default());
/// for (key, value) in &leaves {
///     full.add_leaf(key, value).unwrap();
///     lean.add_leaf(key, value).unwrap();
/// }
/// let ((_, full), (_, lean)) = (full.finish().unwrap(), lean.finish().unwrap());
/// assert_eq!(lean.nodes().len() + lean.leaf_paths().len(), full.len());
/// let keys = leaves.iter().map(|(key, _)| Nibbles::unpack(key));
/// for (path, index) in lean.leaf_indices(keys) {
///     let (key, value) = &leaves[index];
///     let mut rlp = Vec::new();
///     leaf_node(path, &Nibbles::unpack(key), value, &mut rlp);
///     assert!(full.iter().any(|(at, node)| at == path && node == rlp.as_slice()));
/// }
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeafPathNodes {
    /// The nodes other than leaves, in emission order.
    nodes: NodeList,
    /// The leaf nodes' paths, in key order (the order the builder emits them).
    leaves: Vec<Nibbles>,
}

impl LeafPathNodes {
    /// The nodes other than leaves, children before parents.
    pub const fn nodes(&self) -> &NodeList {
        &self.nodes
    }

    /// The paths of the leaf nodes, in key order.
    pub fn leaf_paths(&self) -> &[Nibbles] {
        &self.leaves
    }

    /// Releases the capacity grown beyond the nodes (see [`NodeList::shrink_to_fit`]).
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.leaves.shrink_to_fit();
    }

    /// Bytes the list holds on the heap: its capacities.
    pub const fn heap_bytes(&self) -> usize {
        self.nodes.heap_bytes() + self.leaves.capacity() * size_of::<Nibbles>()
    }

    /// Each leaf node's path with the index in `keys` of its leaf, in key order. `keys` are
    /// the keys (as nibbles, in key order) of a verified range's own leaves: a leaf node falls
    /// to the key under its path; one with no such key is left out (a leaf the range proof
    /// showed beside the range, whose own range lists it), and so are the keys with no leaf
    /// node (embedded in their parent). Encode each with [`leaf_node`].
    pub fn leaf_indices<'a>(
        &'a self,
        keys: impl IntoIterator<Item = Nibbles> + 'a,
    ) -> impl Iterator<Item = (&'a Nibbles, usize)> + 'a {
        let mut keys = keys.into_iter().enumerate().peekable();
        self.leaves.iter().filter_map(move |path| {
            // Keys before the path's subtree have no leaf node here; the first at or after it
            // is its leaf if it lies under the path.
            while let Some((index, key)) = keys.peek() {
                match prefix_order(key, path) {
                    Ordering::Less => {
                        keys.next();
                    }
                    Ordering::Greater => return None,
                    Ordering::Equal => {
                        let index = *index;
                        keys.next();
                        return Some((path, index));
                    }
                }
            }
            None
        })
    }

    /// Hands `f` every node with its encoding: the other nodes, then the leaf nodes encoded
    /// again from `leaves` (the range's own leaves, keys in key order, each value encoded into
    /// the buffer it is given by `encode_value` as the trie holds it), without an allocation
    /// per node.
    ///
    /// # Errors
    /// The first error of `f`; the nodes after it are not visited.
    pub fn for_each_node<K: AsRef<[u8]>, V, E>(
        &self,
        leaves: &[(K, V)],
        mut encode_value: impl FnMut(&V, &mut Vec<u8>),
        mut f: impl FnMut(&Nibbles, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for (path, rlp) in self.nodes.iter() {
            f(path, rlp)?;
        }
        let keys = leaves.iter().map(|(key, _)| Nibbles::unpack(key));
        let (mut value, mut node) = (Vec::new(), Vec::new());
        for (path, index) in self.leaf_indices(keys) {
            let Some((key, leaf)) = leaves.get(index) else { continue };
            value.clear();
            encode_value(leaf, &mut value);
            node.clear();
            leaf_node(path, &Nibbles::unpack(key), &value, &mut node);
            f(path, &node)?;
        }
        Ok(())
    }
}

impl NodeSink for LeafPathNodes {
    type Error = Infallible;

    #[inline]
    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        self.nodes.on_node(path, rlp)
    }

    #[inline]
    fn on_leaf(&mut self, path: &Nibbles, _rlp: &[u8]) -> Result<(), Infallible> {
        self.leaves.push(*path);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{TrieBuilder, VecSink};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Every node of `lean`, the leaf nodes encoded again from `leaves`.
    pub(crate) fn encoded(
        lean: &LeafPathNodes,
        leaves: &[(Vec<u8>, Vec<u8>)],
    ) -> Vec<(Nibbles, Vec<u8>)> {
        let mut all = Vec::new();
        let copy = |value: &Vec<u8>, out: &mut Vec<u8>| out.extend_from_slice(value);
        lean.for_each_node(leaves, copy, |path, rlp| {
            all.push((*path, rlp.to_vec()));
            Ok::<_, Infallible>(())
        })
        .unwrap();
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Leaf nodes kept by path and encoded again from the leaves are the builder's own,
        /// byte for byte, with the other nodes unchanged: short keys and values make embedded
        /// (never emitted) leaves common, which the encoding must skip.
        #[test]
        fn leaf_paths_encode_again_into_the_same_nodes(
            key_len in 1usize..=32,
            raw in prop::collection::vec((prop::collection::vec(any::<u8>(), 32), prop::collection::vec(any::<u8>(), 1..80)), 0..200),
        ) {
            let leaves: BTreeMap<Vec<u8>, Vec<u8>> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            let mut full = TrieBuilder::new(VecSink::default());
            for (key, value) in &leaves {
                full.add_leaf(key, value).unwrap();
            }
            let (root, full) = full.finish().unwrap();
            let mut lean = TrieBuilder::new(LeafPathNodes::default());
            for (key, value) in &leaves {
                lean.add_leaf(key, value).unwrap();
            }
            let (lean_root, lean) = lean.finish().unwrap();
            prop_assert_eq!(lean_root, root);
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = leaves.into_iter().collect();
            let mut again = encoded(&lean, &pairs);
            let mut nodes: Vec<(Nibbles, Vec<u8>)> =
                full.nodes.iter().map(|(path, rlp)| (*path, rlp.to_vec())).collect();
            // The other nodes keep their emission order; the leaves follow them.
            let others: Vec<_> = nodes.iter().filter(|(path, _)| !lean.leaf_paths().contains(path)).cloned().collect();
            prop_assert_eq!(&again[..others.len()], &others[..]);
            again.sort();
            nodes.sort();
            prop_assert_eq!(again, nodes);
        }
    }
}
