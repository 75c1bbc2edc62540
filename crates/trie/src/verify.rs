//! Range-proof verification: geth's `VerifyRangeProof` contract on alloy-trie's `HashBuilder`.
//!
//! A peer answers "the leaves from `first_key` on" with a list of leaves and the proof nodes of the
//! two edge paths (`first_key` and the last returned key). The range is accepted only when the trie
//! made of
//!
//! 1. everything the proof shows strictly left of `first_key` (hashed subtrees and leaves),
//! 2. exactly the returned leaves, and
//! 3. everything the proof shows strictly right of the last key
//!
//! hashes to the trusted root. Subtrees that lie strictly between the two edge paths are never
//! taken from the proof, only rebuilt from the returned leaves, so a peer cannot hide a gap.
//!
//! The three parts are streamed into a `HashBuilder` in key order (hashed subtrees through
//! `add_branch`); no trie is rebuilt in memory from the proof. Work is bounded by [`ProofLimits`]
//! and by the key length (the walk descends at most one node per nibble).

use crate::{
    NodeSink, RangeProofError, TrieBuilder, VecSink,
    node::{ChildRef, TrieNodeRef, decode_node},
};
use alloy_primitives::{B256, Bytes, hex, keccak256};
use alloy_trie::{HashBuilder, Nibbles};
use std::{collections::HashMap, convert::Infallible};

/// Bounds on the work a proof can cause. The defaults admit any honest snap/1 proof, including
/// "bloated" ones that carry unneeded nodes, with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofLimits {
    /// Most nodes a proof may carry. Default 8,192.
    pub max_nodes: usize,
    /// Most bytes all proof nodes may total. Default 8 MiB.
    pub max_bytes: usize,
}

impl Default for ProofLimits {
    fn default() -> Self {
        Self { max_nodes: 8_192, max_bytes: 8 << 20 }
    }
}

/// Verifies that `keys`/`values` are exactly the leaves of the trie with root `root` from
/// `first_key` up to the last key, and returns whether the trie has entries after the last key
/// (`has_more`).
///
/// The contract is geth's `trie.VerifyRangeProof`:
/// - `keys` and `values` have equal lengths, keys strictly increase, no value is empty;
/// - an empty `proof` means the leaves must be the whole trie (`has_more` is `false`);
/// - no keys with a proof proves that nothing exists at or after `first_key`;
/// - otherwise the proof covers the paths of `first_key` (which may be absent from the trie) and of
///   the last key, and everything between them must be exactly the given leaves.
///
/// Two deliberate restrictions, both implied by snap/1's fixed-length hashed keys: every key has
/// the same length, 1 to 32 bytes (and so does `first_key` when there are keys), and `first_key`
/// must not be after the first returned key (a snap/1 peer must start at or after the origin).
///
/// # Errors
/// A [`RangeProofError`] saying why the range is not proven.
pub fn verify_range_proof<K, V, P>(
    root: B256,
    first_key: &[u8],
    keys: &[K],
    values: &[V],
    proof: &[P],
) -> Result<bool, RangeProofError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    P: AsRef<[u8]>,
{
    verify_range_proof_with_limits(root, first_key, keys, values, proof, ProofLimits::default())
}

/// [`verify_range_proof`] with explicit [`ProofLimits`].
///
/// # Errors
/// A [`RangeProofError`] saying why the range is not proven.
pub fn verify_range_proof_with_limits<K, V, P>(
    root: B256,
    first_key: &[u8],
    keys: &[K],
    values: &[V],
    proof: &[P],
    limits: ProofLimits,
) -> Result<bool, RangeProofError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    P: AsRef<[u8]>,
{
    let (has_more, mut builder) =
        feed_range(root, first_key, keys, values, proof, limits, HashBuilder::default())?;
    check_root(root, builder.root())?;
    Ok(has_more)
}

/// A verified range with the trie nodes computed while verifying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeNodes {
    /// Whether the trie has entries after the range's last key.
    pub has_more: bool,
    /// Every hashed node the range, its proof edges and the root form, with its path, children
    /// before parents, the root last. All are nodes of the trusted trie (they hash up to its root),
    /// so storing them saves hashing the leaves again; the nodes of all ranges of one root
    /// together are that whole trie. Nodes below the proof's external subtrees are not included.
    pub nodes: Vec<(Nibbles, Bytes)>,
}

/// [`verify_range_proof_with_limits`], also returning the trie nodes verification computed, so a
/// syncing client hashes each leaf once: the nodes it stores are the ones verification built.
///
/// # Errors
/// A [`RangeProofError`] saying why the range is not proven; then no node is returned.
pub fn verify_range_proof_nodes<K, V, P>(
    root: B256,
    first_key: &[u8],
    keys: &[K],
    values: &[V],
    proof: &[P],
    limits: ProofLimits,
) -> Result<RangeNodes, RangeProofError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    P: AsRef<[u8]>,
{
    let (has_more, sink) =
        verify_range_proof_into(root, first_key, keys, values, proof, limits, VecSink::default())?;
    Ok(RangeNodes { has_more, nodes: sink.nodes })
}

/// [`verify_range_proof_nodes`] into any infallible [`NodeSink`] (such as a
/// [`NodeList`](crate::NodeList), which does not allocate per node): returns `has_more` and the
/// sink, holding every hashed node the range, its proof edges and the root form, with its path,
/// children before parents, the root last (see [`RangeNodes::nodes`]).
///
/// # Errors
/// A [`RangeProofError`] saying why the range is not proven; then the sink is dropped.
pub fn verify_range_proof_into<K, V, P, S>(
    root: B256,
    first_key: &[u8],
    keys: &[K],
    values: &[V],
    proof: &[P],
    limits: ProofLimits,
    sink: S,
) -> Result<(bool, S), RangeProofError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    P: AsRef<[u8]>,
    S: NodeSink<Error = Infallible>,
{
    let builder = TrieBuilder::new(sink);
    let (has_more, builder) = feed_range(root, first_key, keys, values, proof, limits, builder)?;
    let (computed, sink) = builder
        .finish()
        .map_err(|_| invalid(Nibbles::default(), "proof subtrees overlap the range"))?;
    check_root(root, computed)?;
    Ok((has_more, sink))
}

/// Checks the input, walks the proof's edges, and streams left externals, the leaves and right
/// externals into `hasher` in key order. Returns `has_more` and the hasher, whose root the caller
/// compares with the trusted one.
fn feed_range<K, V, P, H>(
    root: B256,
    first_key: &[u8],
    keys: &[K],
    values: &[V],
    proof: &[P],
    limits: ProofLimits,
    hasher: H,
) -> Result<(bool, H), RangeProofError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    P: AsRef<[u8]>,
    H: RangeHasher,
{
    check_leaves(keys, values)?;
    let mut feed = OrderedFeed { hasher, last: None };
    if proof.is_empty() {
        // Without a proof the leaves are the whole trie; an origin given with them must still
        // not lie after the first of them. With no leaves either, the origin says nothing.
        if !keys.is_empty() {
            check_first_key(first_key, keys)?;
        }
        feed.leaves(keys, values)?;
        return Ok((false, feed.hasher));
    }
    check_first_key(first_key, keys)?;
    let index = ProofIndex::new(proof, limits)?;
    let left = Nibbles::unpack(first_key);
    let right = keys.last().map_or(left, |key| Nibbles::unpack(key));
    let edges = EdgeWalk::run(&index, root, left, right)?;
    if keys.is_empty() && (edges.range_leaf_seen || !edges.right.is_empty()) {
        return Err(RangeProofError::MoreEntriesAvailable);
    }
    for external in &edges.left {
        feed.external(external)?;
    }
    feed.leaves(keys, values)?;
    for external in &edges.right {
        feed.external(external)?;
    }
    Ok((!edges.right.is_empty(), feed.hasher))
}

fn check_root(expected: B256, computed: B256) -> Result<(), RangeProofError> {
    if computed != expected {
        return Err(RangeProofError::RootMismatch { expected, computed });
    }
    Ok(())
}

/// Checks the leaves alone: equal counts, strictly increasing keys of one length (1 to 32 bytes),
/// no empty value.
fn check_leaves<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    keys: &[K],
    values: &[V],
) -> Result<(), RangeProofError> {
    if keys.len() != values.len() {
        return Err(RangeProofError::LengthMismatch { keys: keys.len(), values: values.len() });
    }
    for (index, pair) in keys.windows(2).enumerate() {
        if pair[0].as_ref() >= pair[1].as_ref() {
            return Err(RangeProofError::KeysNotIncreasing { index: index + 1 });
        }
    }
    if let Some(index) = values.iter().position(|value| value.as_ref().is_empty()) {
        return Err(RangeProofError::EmptyValue { index });
    }
    let Some(first) = keys.first() else { return Ok(()) };
    let expected = first.as_ref().len();
    if !(1..=32).contains(&expected) {
        return Err(RangeProofError::KeyLength { index: Some(0), len: expected, expected: 32 });
    }
    if let Some(index) = keys.iter().position(|key| key.as_ref().len() != expected) {
        let len = keys[index].as_ref().len();
        return Err(RangeProofError::KeyLength { index: Some(index), len, expected });
    }
    Ok(())
}

/// Checks `first_key` against the leaves when a proof is given.
fn check_first_key<K: AsRef<[u8]>>(first_key: &[u8], keys: &[K]) -> Result<(), RangeProofError> {
    let Some(first) = keys.first() else {
        if !(1..=32).contains(&first_key.len()) {
            return Err(RangeProofError::KeyLength {
                index: None,
                len: first_key.len(),
                expected: 32,
            });
        }
        return Ok(());
    };
    let first = first.as_ref();
    if first_key.len() != first.len() {
        return Err(RangeProofError::KeyLength {
            index: None,
            len: first_key.len(),
            expected: first.len(),
        });
    }
    if first_key > first {
        return Err(RangeProofError::InvalidEdgeKeys {
            first_key: hex::encode_prefixed(first_key),
            which: "first",
        });
    }
    Ok(())
}

/// Proof nodes by hash, within limits.
struct ProofIndex<'p> {
    nodes: HashMap<B256, &'p [u8]>,
}

impl<'p> ProofIndex<'p> {
    fn new<P: AsRef<[u8]>>(proof: &'p [P], limits: ProofLimits) -> Result<Self, RangeProofError> {
        if proof.len() > limits.max_nodes {
            return Err(RangeProofError::TooManyProofNodes {
                count: proof.len(),
                max: limits.max_nodes,
            });
        }
        let bytes: usize = proof.iter().map(|node| node.as_ref().len()).sum();
        if bytes > limits.max_bytes {
            return Err(RangeProofError::ProofTooLarge { bytes, max: limits.max_bytes });
        }
        let nodes = proof.iter().map(|node| (keccak256(node.as_ref()), node.as_ref())).collect();
        Ok(Self { nodes })
    }

    fn resolve(&self, path: &Nibbles, hash: B256) -> Result<&'p [u8], RangeProofError> {
        self.nodes.get(&hash).copied().ok_or(RangeProofError::MissingNode { path: *path, hash })
    }
}

/// Something outside the range that the proof shows: a hashed subtree or a single leaf.
#[derive(Debug)]
enum External {
    Subtree { path: Nibbles, hash: B256 },
    Leaf { key: Nibbles, value: Vec<u8> },
}

/// Where a path lies relative to the range `[left, right]`, comparing at the path's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Everything below it is before `left`.
    Left,
    /// A prefix of `left` or of `right` (or a full key equal to one of them).
    Edge,
    /// Everything below it is strictly inside the range.
    Inside,
    /// Everything below it is after `right`.
    Right,
}

/// The walk down the two edge paths, collecting what lies outside the range.
struct EdgeWalk<'i, 'p> {
    index: &'i ProofIndex<'p>,
    left_bound: Nibbles,
    right_bound: Nibbles,
    /// Externals before the range, in key order.
    left: Vec<External>,
    /// Externals after the range, in key order.
    right: Vec<External>,
    /// Whether the proof shows a leaf inside `[left, right]`.
    range_leaf_seen: bool,
}

impl<'i, 'p> EdgeWalk<'i, 'p> {
    fn run(
        index: &'i ProofIndex<'p>,
        root: B256,
        left_bound: Nibbles,
        right_bound: Nibbles,
    ) -> Result<Self, RangeProofError> {
        let mut walk = Self {
            index,
            left_bound,
            right_bound,
            left: Vec::new(),
            right: Vec::new(),
            range_leaf_seen: false,
        };
        let root_path = Nibbles::default();
        let root_node = index.resolve(&root_path, root)?;
        walk.visit_edge_node(root_node, root_path)?;
        Ok(walk)
    }

    /// Length of every full key, in nibbles.
    fn key_len(&self) -> usize {
        self.left_bound.len()
    }

    fn position(&self, path: &Nibbles) -> Position {
        let len = path.len();
        if *path < self.left_bound.slice(..len) {
            Position::Left
        } else if *path > self.right_bound.slice(..len) {
            Position::Right
        } else if *path == self.left_bound.slice(..len) || *path == self.right_bound.slice(..len) {
            Position::Edge
        } else {
            Position::Inside
        }
    }

    /// A node on one of the edge paths, at `path`.
    fn visit_edge_node(&mut self, rlp: &'p [u8], path: Nibbles) -> Result<(), RangeProofError> {
        match decode_at(rlp, path)? {
            TrieNodeRef::Leaf { key, value } => {
                let full = self.leaf_key(&path, &key)?;
                match self.position(&full) {
                    Position::Left => {
                        self.left.push(External::Leaf { key: full, value: value.to_vec() });
                    }
                    Position::Right => {
                        self.right.push(External::Leaf { key: full, value: value.to_vec() });
                    }
                    Position::Edge | Position::Inside => self.range_leaf_seen = true,
                }
            }
            TrieNodeRef::Extension { key, child } => {
                let child_path = self.extension_child_path(&path, &key)?;
                self.visit_child(child, child_path)?;
            }
            TrieNodeRef::Branch { children, value } => {
                self.check_branch(&path, value)?;
                for (nibble, child) in (0u8..).zip(children) {
                    if child != ChildRef::Empty {
                        let mut child_path = path;
                        child_path.push(nibble);
                        self.visit_child(child, child_path)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A child reference at `path`: follow it along an edge, collect it outside the range, skip it
    /// inside the range.
    fn visit_child(&mut self, child: ChildRef<'p>, path: Nibbles) -> Result<(), RangeProofError> {
        match self.position(&path) {
            Position::Inside => Ok(()),
            Position::Edge => match child {
                ChildRef::Empty => Ok(()),
                ChildRef::Hash(hash) => {
                    let rlp = self.index.resolve(&path, hash)?;
                    self.visit_edge_node(rlp, path)
                }
                ChildRef::Inline(rlp) => self.visit_edge_node(rlp, path),
            },
            Position::Left => self.collect_external(child, path, true),
            Position::Right => self.collect_external(child, path, false),
        }
    }

    /// Collects a subtree that lies wholly outside the range: by hash when it has one, else (an
    /// inline node) leaf by leaf.
    fn collect_external(
        &mut self,
        child: ChildRef<'p>,
        path: Nibbles,
        is_left: bool,
    ) -> Result<(), RangeProofError> {
        let external = match child {
            ChildRef::Empty => return Ok(()),
            ChildRef::Hash(hash) => External::Subtree { path, hash },
            ChildRef::Inline(rlp) => return self.collect_inline(rlp, path, is_left),
        };
        self.side(is_left).push(external);
        Ok(())
    }

    fn collect_inline(
        &mut self,
        rlp: &'p [u8],
        path: Nibbles,
        is_left: bool,
    ) -> Result<(), RangeProofError> {
        match decode_at(rlp, path)? {
            TrieNodeRef::Leaf { key, value } => {
                let full = self.leaf_key(&path, &key)?;
                self.side(is_left).push(External::Leaf { key: full, value: value.to_vec() });
            }
            TrieNodeRef::Extension { key, child } => {
                let child_path = self.extension_child_path(&path, &key)?;
                self.collect_external(child, child_path, is_left)?;
            }
            TrieNodeRef::Branch { children, value } => {
                self.check_branch(&path, value)?;
                for (nibble, child) in (0u8..).zip(children) {
                    let mut child_path = path;
                    child_path.push(nibble);
                    self.collect_external(child, child_path, is_left)?;
                }
            }
        }
        Ok(())
    }

    fn side(&mut self, is_left: bool) -> &mut Vec<External> {
        if is_left { &mut self.left } else { &mut self.right }
    }

    /// The full key of a leaf at `path` with remaining key `key`: exactly the key length.
    fn leaf_key(&self, path: &Nibbles, key: &Nibbles) -> Result<Nibbles, RangeProofError> {
        let full = self.extend(path, key)?;
        if full.len() != self.key_len() {
            return Err(invalid(*path, "leaf key has the wrong length"));
        }
        Ok(full)
    }

    /// The path of an extension's child: a branch, so it must end before the key length.
    fn extension_child_path(
        &self,
        path: &Nibbles,
        key: &Nibbles,
    ) -> Result<Nibbles, RangeProofError> {
        let child_path = self.extend(path, key)?;
        if child_path.len() >= self.key_len() {
            return Err(invalid(*path, "extension reaches the full key length"));
        }
        Ok(child_path)
    }

    /// A branch must end before the key length and carry no value (keys have one length).
    fn check_branch(&self, path: &Nibbles, value: &[u8]) -> Result<(), RangeProofError> {
        if !value.is_empty() {
            return Err(invalid(*path, "branch value in a fixed-length-key trie"));
        }
        if path.len() >= self.key_len() {
            return Err(invalid(*path, "branch at the full key length"));
        }
        Ok(())
    }

    /// `path ++ key`, refusing paths longer than the keys.
    fn extend(&self, path: &Nibbles, key: &Nibbles) -> Result<Nibbles, RangeProofError> {
        if path.len() + key.len() > self.key_len() {
            return Err(invalid(*path, "node path is longer than the keys"));
        }
        Ok(path.join(key))
    }
}

fn decode_at(rlp: &[u8], path: Nibbles) -> Result<TrieNodeRef<'_>, RangeProofError> {
    decode_node(rlp).map_err(|reason| RangeProofError::InvalidNode { path, reason })
}

fn invalid(path: Nibbles, reason: &'static str) -> RangeProofError {
    RangeProofError::InvalidNode { path, reason }
}

/// What the range is hashed with: alloy-trie's `HashBuilder` for a root only, snapsync's
/// [`TrieBuilder`] when the nodes are wanted too. Input arrives in strict key order.
trait RangeHasher {
    fn leaf(&mut self, key: Nibbles, value: &[u8]) -> Result<(), RangeProofError>;
    fn subtree(&mut self, path: Nibbles, hash: B256) -> Result<(), RangeProofError>;
}

impl RangeHasher for HashBuilder {
    fn leaf(&mut self, key: Nibbles, value: &[u8]) -> Result<(), RangeProofError> {
        self.add_leaf(key, value);
        Ok(())
    }

    fn subtree(&mut self, path: Nibbles, hash: B256) -> Result<(), RangeProofError> {
        self.add_branch(path, hash, false);
        Ok(())
    }
}

impl<S: NodeSink<Error = Infallible>> RangeHasher for TrieBuilder<S> {
    fn leaf(&mut self, key: Nibbles, value: &[u8]) -> Result<(), RangeProofError> {
        self.add_leaf_nibbles(key, value).map_err(|_| invalid(key, "leaf out of order"))
    }

    fn subtree(&mut self, path: Nibbles, hash: B256) -> Result<(), RangeProofError> {
        self.add_hashed_subtree(path, hash).map_err(|_| invalid(path, "subtree out of order"))
    }
}

/// Feeds a [`RangeHasher`] and refuses, instead of panicking, anything not in strict key order.
struct OrderedFeed<H> {
    hasher: H,
    last: Option<Nibbles>,
}

impl<H: RangeHasher> OrderedFeed<H> {
    fn external(&mut self, external: &External) -> Result<(), RangeProofError> {
        match external {
            External::Subtree { path, hash } => {
                self.check_order(path)?;
                self.hasher.subtree(*path, *hash)
            }
            External::Leaf { key, value } => self.leaf(*key, value),
        }
    }

    /// The range's own leaves (`check_leaves` proved them strictly increasing and of one length).
    fn leaves<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        keys: &[K],
        values: &[V],
    ) -> Result<(), RangeProofError> {
        for (key, value) in keys.iter().zip(values) {
            self.leaf(Nibbles::unpack(key), value.as_ref())?;
        }
        Ok(())
    }

    fn leaf(&mut self, key: Nibbles, value: &[u8]) -> Result<(), RangeProofError> {
        self.check_order(&key)?;
        self.hasher.leaf(key, value)
    }

    /// The edge walk yields disjoint subtrees in order, so this only fails on a logic error; it
    /// keeps `HashBuilder`'s ordering assertion from ever firing.
    fn check_order(&mut self, next: &Nibbles) -> Result<(), RangeProofError> {
        if let Some(last) = &self.last
            && (next <= last || next.starts_with(last) || last.starts_with(next))
        {
            return Err(invalid(*next, "proof subtrees overlap the range"));
        }
        self.last = Some(*next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrieBuilder, VecSink, prove_range};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Leaves = Vec<(Vec<u8>, Vec<u8>)>;

    fn leaves_strategy() -> impl Strategy<Value = Leaves> {
        (1usize..=4, prop::collection::vec((any::<[u8; 4]>(), 1usize..6), 1..120)).prop_map(
            |(key_len, raw)| {
                let map: BTreeMap<Vec<u8>, Vec<u8>> =
                    raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), vec![k[0]; v])).collect();
                map.into_iter().collect()
            },
        )
    }

    /// The root of the trie of `leaves` and all its hashed nodes.
    fn trie_nodes(leaves: &Leaves) -> (B256, std::collections::BTreeSet<(Nibbles, Bytes)>) {
        let (root, VecSink { nodes }) = built(leaves, VecSink::default());
        (root, nodes.into_iter().collect())
    }

    /// The hashed nodes a store keeps of the trie of `leaves`: all but the leaf nodes below
    /// the root.
    fn stored_trie_nodes(leaves: &Leaves) -> std::collections::BTreeSet<(Nibbles, Bytes)> {
        let (_, crate::StoredNodes(VecSink { nodes })) =
            built(leaves, crate::StoredNodes(VecSink::default()));
        nodes.into_iter().collect()
    }

    fn built<S: crate::NodeSink<Error = std::convert::Infallible>>(
        leaves: &Leaves,
        sink: S,
    ) -> (B256, S) {
        let mut builder = TrieBuilder::new(sink);
        for (k, v) in leaves {
            builder.add_leaf(k, v).unwrap();
        }
        builder.finish().unwrap()
    }

    /// A range's nodes as a store keeps them, each checked to be one of the nodes `listed`
    /// (the range's every node).
    fn stored_range_nodes(
        stored: &crate::NodeList,
        listed: &[(Nibbles, Bytes)],
    ) -> Result<Vec<(Nibbles, Bytes)>, TestCaseError> {
        let mut nodes = Vec::new();
        for (path, rlp) in stored.iter() {
            let node = (*path, Bytes::copy_from_slice(rlp));
            prop_assert!(listed.contains(&node), "node at {:?} is not the range's", path);
            nodes.push(node);
        }
        Ok(nodes)
    }

    /// Range bounds over `len` leaves cut at `cuts`: from 0 to `len`, ascending, distinct.
    fn partition(cuts: &[prop::sample::Index], len: usize) -> Vec<usize> {
        let mut bounds: Vec<usize> = cuts.iter().map(|cut| cut.index(len)).collect();
        bounds.extend([0, len]);
        bounds.sort_unstable();
        bounds.dedup();
        bounds
    }

    fn root_of(leaves: &Leaves) -> B256 {
        crate::trie_root(leaves.iter().map(|(k, v)| (k, v))).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn honest_ranges_accepted(leaves in leaves_strategy(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let root = root_of(&leaves);
            let (i, j) = { let (x, y) = (a.index(leaves.len()), b.index(leaves.len())); (x.min(y), x.max(y)) };
            let keys: Vec<_> = leaves[i..=j].iter().map(|(k, _)| k.clone()).collect();
            let values: Vec<_> = leaves[i..=j].iter().map(|(_, v)| v.clone()).collect();
            let proof = prove_range(leaves.iter().map(|(k, v)| (k, v)), &keys[0], Some(&keys[keys.len() - 1])).unwrap();
            let has_more = verify_range_proof(root, &keys[0], &keys, &values, &proof).unwrap();
            prop_assert_eq!(has_more, j + 1 < leaves.len());

            // Dropping an interior leaf is caught.
            if keys.len() > 2 {
                let mut k2 = keys.clone();
                let mut v2 = values.clone();
                k2.remove(1);
                v2.remove(1);
                prop_assert!(verify_range_proof(root, &keys[0], &k2, &v2, &proof).is_err());
            }
            // Altering a value is caught.
            let mut v3 = values.clone();
            v3[0].push(1);
            prop_assert!(verify_range_proof(root, &keys[0], &keys, &v3, &proof).is_err());
            // No proof: only the whole trie passes.
            let whole = i == 0 && j + 1 == leaves.len();
            prop_assert_eq!(verify_range_proof::<_, _, Vec<u8>>(root, &keys[0], &keys, &values, &[]).is_ok(), whole);
        }

        #[test]
        fn empty_range_after_last_key(leaves in leaves_strategy()) {
            let root = root_of(&leaves);
            let last = &leaves[leaves.len() - 1].0;
            if last.iter().all(|b| *b == 0xff) { return Ok(()); }
            let mut origin = last.clone();
            for byte in origin.iter_mut().rev() { if *byte == 0xff { *byte = 0 } else { *byte += 1; break } }
            let proof = prove_range(leaves.iter().map(|(k, v)| (k, v)), &origin, None).unwrap();
            let none: [Vec<u8>; 0] = [];
            prop_assert_eq!(verify_range_proof(root, &origin, &none, &none, &proof), Ok(false));
            // From the first key, an empty range hides entries.
            let first = &leaves[0].0;
            let proof = prove_range(leaves.iter().map(|(k, v)| (k, v)), first, None).unwrap();
            prop_assert_eq!(verify_range_proof(root, first, &none, &none, &proof), Err(RangeProofError::MoreEntriesAvailable));
        }

        /// Ranges as snap sync asks for them: 32-byte keys, values long enough that most leaf
        /// nodes are hashed, and each range starting between the last leaf of the one before
        /// and its own first (so the proof shows a leaf beside the range). The nodes each range
        /// keeps for a store are the range's, and all ranges together keep exactly the nodes a
        /// store keeps of the whole trie.
        #[test]
        fn stored_nodes_of_ranges_starting_between_leaves_are_the_stored_trie(
            raw in prop::collection::vec((any::<[u8; 32]>(), 1usize..80), 2..150),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let leaves: Leaves = raw
                .into_iter()
                .map(|(key, len)| (key.to_vec(), vec![key[1]; len]))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            let (root, _) = trie_nodes(&leaves);
            let mut union = std::collections::BTreeSet::new();
            for pair in partition(&cuts, leaves.len()).windows(2) {
                let range = &leaves[pair[0]..pair[1]];
                let keys: Vec<_> = range.iter().map(|(k, _)| k.clone()).collect();
                let values: Vec<_> = range.iter().map(|(_, v)| v.clone()).collect();
                // Just after the previous leaf: at or before this range's first key.
                let origin = match pair[0] {
                    0 => vec![0u8; 32],
                    at => (alloy_primitives::U256::from_be_slice(&leaves[at - 1].0) + alloy_primitives::U256::from(1)).to_be_bytes_vec(),
                };
                let proof = prove_range(leaves.iter().map(|(k, v)| (k, v)), &origin, Some(&keys[keys.len() - 1])).unwrap();
                let (_, listed) = verify_range_proof_into(root, &origin, &keys, &values, &proof, ProofLimits::default(), crate::NodeList::default()).unwrap();
                let listed: Vec<(Nibbles, Bytes)> = listed.iter().map(|(path, rlp)| (*path, Bytes::copy_from_slice(rlp))).collect();
                let (_, crate::StoredNodes(stored)) = verify_range_proof_into(root, &origin, &keys, &values, &proof, ProofLimits::default(), crate::StoredNodes(crate::NodeList::default())).unwrap();
                union.extend(stored_range_nodes(&stored, &listed)?);
            }
            prop_assert_eq!(union, stored_trie_nodes(&leaves));
        }

        /// Ranges that partition the key space, each verified with its nodes: every node returned is
        /// a node of the trie, and together they are exactly the trie's nodes.
        #[test]
        fn range_nodes_together_are_the_trie(leaves in leaves_strategy(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let (root, trie) = trie_nodes(&leaves);
            let mut union = std::collections::BTreeSet::new();
            let mut stored_union = std::collections::BTreeSet::new();
            for pair in partition(&cuts, leaves.len()).windows(2) {
                let range = &leaves[pair[0]..pair[1]];
                let keys: Vec<_> = range.iter().map(|(k, _)| k.clone()).collect();
                let values: Vec<_> = range.iter().map(|(_, v)| v.clone()).collect();
                let proof = prove_range(leaves.iter().map(|(k, v)| (k, v)), &keys[0], Some(&keys[keys.len() - 1])).unwrap();
                let verified = verify_range_proof_nodes(root, &keys[0], &keys, &values, &proof, ProofLimits::default()).unwrap();
                prop_assert_eq!(verified.has_more, pair[1] < leaves.len());
                // The same nodes, in the same order, through a `NodeList`.
                let (has_more, list) = verify_range_proof_into(root, &keys[0], &keys, &values, &proof, ProofLimits::default(), crate::NodeList::default()).unwrap();
                prop_assert_eq!(has_more, verified.has_more);
                let listed: Vec<(Nibbles, Bytes)> = list.iter().map(|(path, rlp)| (*path, Bytes::copy_from_slice(rlp))).collect();
                prop_assert_eq!(&listed, &verified.nodes);
                // The nodes a store keeps: the same, but the leaf nodes below the root.
                let (_, crate::StoredNodes(stored)) = verify_range_proof_into(root, &keys[0], &keys, &values, &proof, ProofLimits::default(), crate::StoredNodes(crate::NodeList::default())).unwrap();
                stored_union.extend(stored_range_nodes(&stored, &listed)?);
                for node in verified.nodes {
                    prop_assert!(trie.contains(&node), "node at {:?} is not in the trie", node.0);
                    union.insert(node);
                }
                // A tampered range returns no nodes.
                let mut altered = values.clone();
                altered[0].push(7);
                prop_assert!(verify_range_proof_nodes(root, &keys[0], &keys, &altered, &proof, ProofLimits::default()).is_err());
            }
            prop_assert_eq!(stored_union, stored_trie_nodes(&leaves));
            prop_assert_eq!(union, trie);
        }

        #[test]
        fn garbage_never_panics(
            first in prop::collection::vec(any::<u8>(), 0..34),
            keys in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..34), 0..4),
            proof in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..6),
        ) {
            let values: Vec<Vec<u8>> = keys.to_vec();
            let _ = verify_range_proof(B256::ZERO, &first, &keys, &values, &proof);
            if let Some(node) = proof.first() {
                let _ = verify_range_proof(keccak256(node), &first, &keys, &values, &proof);
            }
        }
    }
}
