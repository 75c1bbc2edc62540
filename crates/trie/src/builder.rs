//! A streaming Merkle-Patricia trie builder that emits the nodes it hashes.
//!
//! Leaves arrive sorted. The builder keeps one open branch frame per level of the path to the most
//! recent leaf, so memory is bounded by the key length (at most 64 frames), never by the number of
//! leaves. When a new key diverges from the previous one, every frame below the divergence point is
//! complete: it is encoded, hashed once, handed to the [`NodeSink`] with its path, and replaced by
//! its reference in the parent frame.
//!
//! Unlike alloy-trie's `HashBuilder`, keys of different lengths are allowed, including a key that is
//! a prefix of another (its value then sits in a branch node), so any Merkle-Patricia trie can be
//! built, not only the fixed-length-key tries of Ethereum's state.

use crate::TrieBuildError;
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{Encodable, Header};
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles,
    nodes::{ExtensionNodeRef, LeafNodeRef, RlpNode},
};
use std::convert::Infallible;

/// Receives the nodes of a trie as [`TrieBuilder`] completes them.
///
/// A node is emitted when it is referenced by hash: its RLP is at least 32 bytes, or it is the root.
/// Smaller nodes are inlined in their parent's RLP and never emitted on their own. Children are
/// emitted before their parents, and the root last, at the empty path.
pub trait NodeSink {
    /// What the sink fails with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Receives the RLP encoding of the node at `path`.
    ///
    /// # Errors
    /// Whatever the sink's storage fails with; the builder stops and returns it.
    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error>;

    /// Receives a leaf node: by default as any other node ([`on_node`](Self::on_node)). A sink
    /// whose owner holds the leaves' keys and values anyway may drop it and encode the node
    /// again when it is wanted ([`StoredNodes`], [`leaf_node`](crate::leaf_node)).
    ///
    /// # Errors
    /// As [`on_node`](Self::on_node).
    fn on_leaf(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error> {
        self.on_node(path, rlp)
    }
}

/// A sink that drops every node: for computing a root only.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopSink;

impl NodeSink for NoopSink {
    type Error = Infallible;

    #[inline]
    fn on_node(&mut self, _path: &Nibbles, _rlp: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A sink that keeps every node in memory, in emission order (children before parents).
#[derive(Debug, Default, Clone)]
pub struct VecSink {
    /// `(path, node RLP)` pairs.
    pub nodes: Vec<(Nibbles, Bytes)>,
}

impl NodeSink for VecSink {
    type Error = Infallible;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        self.nodes.push((*path, Bytes::copy_from_slice(rlp)));
        Ok(())
    }
}

/// A sink that keeps every node in memory in two allocations (the paths, and all encodings end to
/// end), in emission order (children before parents): [`VecSink`] without an allocation per node.
///
/// ```
/// use snapsync_trie::{NodeList, TrieBuilder};
/// let mut builder = TrieBuilder::new(NodeList::default());
/// builder.add_leaf(&[0x12; 32], b"one").unwrap();
/// builder.add_leaf(&[0x34; 32], b"two").unwrap();
/// let (_root, nodes) = builder.finish().unwrap();
/// let (path, _rlp) = nodes.iter().last().unwrap();
/// assert!(path.is_empty()); // the root comes last
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NodeList {
    /// Each node's path and the end of its encoding in `bytes`.
    entries: Vec<(Nibbles, usize)>,
    /// The encodings, one after the other.
    bytes: Vec<u8>,
}

impl NodeList {
    /// Number of nodes.
    pub const fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no node.
    pub const fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total bytes of the node encodings.
    pub const fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Releases the capacity the list grew beyond its nodes: a list kept after the trie is
    /// built (a verified reply waiting to be stored) then holds its nodes only, not the up to
    /// twice as much its growth by doubling reserved.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        self.bytes.shrink_to_fit();
    }

    /// Bytes the list holds on the heap: its capacities.
    pub const fn heap_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<(Nibbles, usize)>() + self.bytes.capacity()
    }

    /// `(path, node RLP)` pairs in emission order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Nibbles, &[u8])> + '_ {
        let mut start = 0;
        self.entries.iter().map(move |(path, end)| {
            let rlp = &self.bytes[start..*end];
            start = *end;
            (path, rlp)
        })
    }
}

impl NodeSink for NodeList {
    type Error = Infallible;

    #[inline]
    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        self.bytes.extend_from_slice(rlp);
        self.entries.push((*path, self.bytes.len()));
        Ok(())
    }
}

/// A sink that only counts nodes and their bytes: what storing the trie would write.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountingSink {
    /// Nodes emitted.
    pub nodes: u64,
    /// Total RLP bytes of the emitted nodes.
    pub bytes: u64,
}

impl NodeSink for CountingSink {
    type Error = Infallible;

    #[inline]
    fn on_node(&mut self, _path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        self.nodes += 1;
        self.bytes += rlp.len() as u64;
        Ok(())
    }
}

/// A sink passing on to `S` the nodes a store keeps: every node but the leaf nodes below the
/// root. Such a leaf node is nothing but its leaf's key and value, which a store's flat tables
/// hold: a lookup derives it from them (`snapsync_storage`'s stored tries), so a store that
/// kept it would hold every leaf twice. A root leaf (a trie of one leaf) is passed on: the root
/// node is what a store's root checks read.
#[derive(Debug, Default, Clone)]
pub struct StoredNodes<S>(pub S);

impl<S: NodeSink> NodeSink for StoredNodes<S> {
    type Error = S::Error;

    #[inline]
    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error> {
        self.0.on_node(path, rlp)
    }

    #[inline]
    fn on_leaf(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error> {
        if path.is_empty() { self.0.on_leaf(path, rlp) } else { Ok(()) }
    }
}

impl<S: NodeSink + ?Sized> NodeSink for &mut S {
    type Error = S::Error;

    #[inline]
    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error> {
        (**self).on_node(path, rlp)
    }

    #[inline]
    fn on_leaf(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Self::Error> {
        (**self).on_leaf(path, rlp)
    }
}

/// Computes the root of the trie holding `leaves`, which must be sorted by key.
///
/// # Errors
/// See [`TrieBuilder::add_leaf`].
pub fn trie_root<I, K, V>(leaves: I) -> Result<B256, TrieBuildError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut builder = TrieBuilder::new(NoopSink);
    for (key, value) in leaves {
        builder.add_leaf(key.as_ref(), value.as_ref())?;
    }
    builder.finish().map(|(root, _)| root)
}

/// A branch node under construction at `depth` nibbles along the current key.
#[derive(Debug, Clone)]
struct Frame {
    depth: usize,
    children: [Option<RlpNode>; 16],
    /// Value of a key that ends exactly at this branch (only in tries with prefix keys).
    value: Option<Vec<u8>>,
}

impl Frame {
    fn new(depth: usize) -> Self {
        Self { depth, children: Default::default(), value: None }
    }
}

/// What the builder hands from a completed level to the level above it.
#[derive(Debug)]
enum Carry {
    /// The pending leaf itself, not yet encoded: its encoding depends on where it attaches.
    Leaf,
    /// A completed branch node at `depth` nibbles along the pending key.
    Branch { depth: usize, node: RlpNode },
}

/// Streaming trie builder: sorted leaves in, root and hashed nodes out.
///
/// ```
/// use snapsync_trie::{TrieBuilder, VecSink};
/// let mut builder = TrieBuilder::new(VecSink::default());
/// builder.add_leaf(&[0x12; 32], b"one").unwrap();
/// builder.add_leaf(&[0x34; 32], b"two").unwrap();
/// let (root, sink) = builder.finish().unwrap();
/// assert_eq!(sink.nodes.last().unwrap().0.len(), 0); // the root comes last
/// # let _ = root;
/// ```
#[derive(Debug)]
pub struct TrieBuilder<S> {
    out: Emitter<S>,
    /// Open branch frames, strictly increasing depth, each a prefix of `key`.
    stack: Vec<Frame>,
    /// The pending (most recent) leaf, not placed yet: where it hangs depends on the next key.
    key: Nibbles,
    value: Vec<u8>,
    has_pending: bool,
    /// When set, the pending item is not a leaf but a subtree at path `key` known by this hash.
    pending_hash: Option<B256>,
    leaves: u64,
}

impl<S: NodeSink> TrieBuilder<S> {
    /// A builder that emits its nodes to `sink`.
    pub fn new(sink: S) -> Self {
        Self {
            out: Emitter { sink, buf: Vec::with_capacity(600) },
            stack: Vec::with_capacity(65),
            key: Nibbles::default(),
            value: Vec::new(),
            has_pending: false,
            pending_hash: None,
            leaves: 0,
        }
    }

    /// Number of leaves added so far.
    pub const fn leaves(&self) -> u64 {
        self.leaves
    }

    /// Adds a leaf. Keys must be strictly increasing (a prefix sorts before its extensions).
    ///
    /// # Errors
    /// [`TrieBuildError::KeyTooLong`], [`TrieBuildError::EmptyValue`] and
    /// [`TrieBuildError::Unsorted`] for invalid input (nothing is changed then), and
    /// [`TrieBuildError::Sink`] when the sink fails.
    pub fn add_leaf(&mut self, key: &[u8], value: &[u8]) -> Result<(), TrieBuildError> {
        if key.len() > 32 {
            return Err(TrieBuildError::KeyTooLong { len: key.len() });
        }
        self.add_leaf_nibbles(Nibbles::unpack(key), value)
    }

    /// [`TrieBuilder::add_leaf`] with the key already as nibbles (at most 64).
    pub(crate) fn add_leaf_nibbles(
        &mut self,
        key: Nibbles,
        value: &[u8],
    ) -> Result<(), TrieBuildError> {
        if value.is_empty() {
            return Err(TrieBuildError::EmptyValue { key: nibbles_hex(&key) });
        }
        self.advance_to(&key)?;
        self.key = key;
        self.value.clear();
        self.value.extend_from_slice(value);
        self.pending_hash = None;
        self.leaves += 1;
        Ok(())
    }

    /// Adds a whole subtree known only by its hash: the node at `path` (non-empty) hashes to
    /// `hash`. The subtree's own nodes are not emitted (the builder never sees them); the nodes
    /// above it are, as for leaves. Like alloy-trie's `HashBuilder::add_branch`, this is how the
    /// edges of a range proof join a range's leaves.
    ///
    /// # Errors
    /// [`TrieBuildError::Unsorted`] when `path` is empty, not after the previous key, or a prefix of
    /// it; [`TrieBuildError::Sink`] when the sink fails.
    pub fn add_hashed_subtree(&mut self, path: Nibbles, hash: B256) -> Result<(), TrieBuildError> {
        if path.is_empty() {
            return Err(TrieBuildError::Unsorted {
                previous: nibbles_hex(&self.key),
                key: String::new(),
            });
        }
        self.advance_to(&path)?;
        self.key = path;
        self.value.clear();
        self.pending_hash = Some(hash);
        Ok(())
    }

    /// Checks that `next` may follow the pending item, and places the pending item.
    fn advance_to(&mut self, next: &Nibbles) -> Result<(), TrieBuildError> {
        if self.has_pending {
            let inside_pending_subtree = self.pending_hash.is_some() && next.starts_with(&self.key);
            if *next <= self.key || inside_pending_subtree {
                return Err(TrieBuildError::Unsorted {
                    previous: nibbles_hex(&self.key),
                    key: nibbles_hex(next),
                });
            }
            let divergence = self.key.common_prefix_length(next);
            self.place_pending(divergence)?;
        }
        self.has_pending = true;
        Ok(())
    }

    /// What the pending item hands to the frame it hangs from.
    fn pending_carry(&self) -> Carry {
        match self.pending_hash {
            None => Carry::Leaf,
            Some(hash) => Carry::Branch { depth: self.key.len(), node: RlpNode::word_rlp(&hash) },
        }
    }

    /// Completes the trie and returns its root and the sink.
    ///
    /// The root node is always emitted (at the empty path), whatever its size. An empty trie has
    /// root [`EMPTY_ROOT_HASH`] and emits nothing.
    ///
    /// # Errors
    /// [`TrieBuildError::Sink`] when the sink fails.
    pub fn finish(mut self) -> Result<(B256, S), TrieBuildError> {
        if !self.has_pending {
            return Ok((EMPTY_ROOT_HASH, self.out.sink));
        }
        let mut carry = self.pending_carry();
        while let Some(frame) = self.stack.last_mut() {
            self.out.attach(frame, carry, &self.key, &self.value)?;
            if frame.depth == 0 {
                // A branch at the empty path is the root (frames are strictly deeper above it).
                self.out.encode_branch(frame);
                let root = self.out.commit_root(None, false)?;
                return Ok((root, self.out.sink));
            }
            carry = Carry::Branch { depth: frame.depth, node: self.out.branch(frame, &self.key)? };
            self.stack.pop();
        }
        // The root is a leaf (a single-leaf trie) or an extension over a branch.
        self.out.buf.clear();
        let leaf = matches!(carry, Carry::Leaf);
        let node = match carry {
            Carry::Leaf => LeafNodeRef::new(&self.key, &self.value).rlp(&mut self.out.buf),
            Carry::Branch { depth, node } => {
                let shared = self.key.slice(..depth);
                ExtensionNodeRef::new(&shared, &node).rlp(&mut self.out.buf)
            }
        };
        let root = self.out.commit_root(node.as_hash(), leaf)?;
        Ok((root, self.out.sink))
    }

    /// Places the pending leaf now that the next key is known to diverge from it at `divergence`
    /// nibbles: completes every frame deeper than that and hangs the result below the frame at the
    /// divergence point (creating it if needed).
    fn place_pending(&mut self, divergence: usize) -> Result<(), TrieBuildError> {
        let mut carry = self.pending_carry();
        while let Some(frame) = self.stack.last_mut().filter(|frame| frame.depth > divergence) {
            self.out.attach(frame, carry, &self.key, &self.value)?;
            carry = Carry::Branch { depth: frame.depth, node: self.out.branch(frame, &self.key)? };
            self.stack.pop();
        }
        if self.stack.last().is_none_or(|frame| frame.depth < divergence) {
            self.stack.push(Frame::new(divergence));
        }
        match self.stack.last_mut() {
            Some(frame) => self.out.attach(frame, carry, &self.key, &self.value),
            // Pushed just above when the stack had no frame at `divergence`.
            None => Ok(()),
        }
    }
}

/// Node encoding and emission, apart from the frame stack so both can be borrowed at once.
#[derive(Debug)]
struct Emitter<S> {
    sink: S,
    /// Scratch buffer for node encodings.
    buf: Vec<u8>,
}

impl<S: NodeSink> Emitter<S> {
    /// Hangs `carry` into `frame`: the pending leaf (`key`, `value`) as a leaf node, or as the
    /// branch's value when its key ends here; a completed branch directly or behind an extension.
    fn attach(
        &mut self,
        frame: &mut Frame,
        carry: Carry,
        key: &Nibbles,
        value: &[u8],
    ) -> Result<(), TrieBuildError> {
        let depth = frame.depth;
        if matches!(carry, Carry::Leaf) && key.len() == depth {
            frame.value = Some(value.to_vec());
            return Ok(());
        }
        let nibble = usize::from(key.get_unchecked(depth));
        let child = match carry {
            Carry::Leaf => {
                let rest = key.slice(depth + 1..);
                self.buf.clear();
                let node = LeafNodeRef::new(&rest, value).rlp(&mut self.buf);
                self.commit(key, depth + 1, node, true)?
            }
            Carry::Branch { depth: child_depth, node } if child_depth > depth + 1 => {
                let shared = key.slice(depth + 1..child_depth);
                self.buf.clear();
                let node = ExtensionNodeRef::new(&shared, &node).rlp(&mut self.buf);
                self.commit(key, depth + 1, node, false)?
            }
            Carry::Branch { node, .. } => node,
        };
        frame.children[nibble] = Some(child);
        Ok(())
    }

    /// Encodes and commits the completed branch `frame`, found along `key`.
    fn branch(&mut self, frame: &Frame, key: &Nibbles) -> Result<RlpNode, TrieBuildError> {
        self.encode_branch(frame);
        let node = RlpNode::from_rlp(&self.buf);
        self.commit(key, frame.depth, node, false)
    }

    /// Encodes `frame` as a branch node into `self.buf`.
    fn encode_branch(&mut self, frame: &Frame) {
        let value_len = frame.value.as_deref().map_or(1, <[u8] as Encodable>::length);
        let payload_length = frame
            .children
            .iter()
            .map(|child| child.as_ref().map_or(1, |child| child.len()))
            .sum::<usize>()
            + value_len;
        self.buf.clear();
        Header { list: true, payload_length }.encode(&mut self.buf);
        for child in &frame.children {
            match child {
                Some(child) => self.buf.extend_from_slice(child),
                None => self.buf.push(alloy_rlp::EMPTY_STRING_CODE),
            }
        }
        match &frame.value {
            Some(value) => value.as_slice().encode(&mut self.buf),
            None => self.buf.push(alloy_rlp::EMPTY_STRING_CODE),
        }
    }

    /// The node just encoded in `self.buf` (a leaf node if `leaf`), at the first `depth`
    /// nibbles of `key`, whose parent reference is `node` (its hash, or the encoding itself when
    /// shorter than 32 bytes): emits it when it is referenced by hash, and returns the reference.
    fn commit(
        &mut self,
        key: &Nibbles,
        depth: usize,
        node: RlpNode,
        leaf: bool,
    ) -> Result<RlpNode, TrieBuildError> {
        if node.is_hash() {
            self.emit(&key.slice(..depth), leaf)?;
        }
        Ok(node)
    }

    /// Emits the node in `self.buf` (a leaf node if `leaf`) as the root and returns its hash
    /// (`hash` when the encoder already computed it).
    fn commit_root(&mut self, hash: Option<B256>, leaf: bool) -> Result<B256, TrieBuildError> {
        let hash = hash.unwrap_or_else(|| keccak256(&self.buf));
        self.emit(&Nibbles::default(), leaf)?;
        Ok(hash)
    }

    /// Hands the node in `self.buf` at `path` to the sink.
    fn emit(&mut self, path: &Nibbles, leaf: bool) -> Result<(), TrieBuildError> {
        let emitted = if leaf {
            self.sink.on_leaf(path, &self.buf)
        } else {
            self.sink.on_node(path, &self.buf)
        };
        emitted.map_err(|e| TrieBuildError::Sink(Box::new(e)))
    }
}

/// Hex of a nibble path, one digit per nibble.
pub(crate) fn nibbles_hex(nibbles: &Nibbles) -> String {
    nibbles.to_vec().iter().map(|n| char::from_digit(u32::from(*n), 16).unwrap_or('?')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::HashBuilder;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn hash_builder_root(leaves: &BTreeMap<Vec<u8>, Vec<u8>>) -> B256 {
        let mut hb = HashBuilder::default();
        for (k, v) in leaves {
            hb.add_leaf(Nibbles::unpack(k), v);
        }
        hb.root()
    }

    fn build(leaves: &BTreeMap<Vec<u8>, Vec<u8>>) -> (B256, VecSink) {
        let mut builder = TrieBuilder::new(VecSink::default());
        for (k, v) in leaves {
            builder.add_leaf(k, v).unwrap();
        }
        builder.finish().unwrap()
    }

    #[test]
    fn empty_trie() {
        let (root, sink) = TrieBuilder::new(VecSink::default()).finish().unwrap();
        assert_eq!(root, EMPTY_ROOT_HASH);
        assert!(sink.nodes.is_empty());
    }

    #[test]
    fn rejects_unsorted_duplicate_long_and_empty() {
        let mut b = TrieBuilder::new(NoopSink);
        b.add_leaf(&[2], b"x").unwrap();
        assert!(matches!(b.add_leaf(&[1], b"x"), Err(TrieBuildError::Unsorted { .. })));
        assert!(matches!(b.add_leaf(&[2], b"x"), Err(TrieBuildError::Unsorted { .. })));
        assert!(matches!(b.add_leaf(&[3; 33], b"x"), Err(TrieBuildError::KeyTooLong { len: 33 })));
        assert!(matches!(b.add_leaf(&[3], b""), Err(TrieBuildError::EmptyValue { .. })));
        // The rejected calls changed nothing.
        b.add_leaf(&[3], b"y").unwrap();
        let mut expected = BTreeMap::new();
        expected.insert(vec![2], b"x".to_vec());
        expected.insert(vec![3], b"y".to_vec());
        assert_eq!(b.finish().unwrap().0, hash_builder_root(&expected));
    }

    /// Every emitted node hashes to a reference held by its parent, and the root is the last node.
    fn assert_nodes_link(root: B256, nodes: &[(Nibbles, Bytes)]) {
        let (last_path, last) = nodes.last().expect("non-empty trie emits its root");
        assert!(last_path.is_empty());
        assert_eq!(keccak256(last), root);
        let all: Vec<u8> = nodes.iter().flat_map(|(_, n)| n.to_vec()).collect();
        for (path, node) in &nodes[..nodes.len() - 1] {
            assert!(node.len() >= 32, "inline node emitted at {path:?}");
            let hash = keccak256(node);
            assert!(
                all.windows(32).any(|w| w == hash.as_slice()),
                "node at {path:?} is referenced by no other node"
            );
        }
        let mut paths: Vec<_> = nodes.iter().map(|(p, _)| *p).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), nodes.len(), "a path was emitted twice");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Replacing any hashed subtree by its hash gives the same root, and every node emitted
        /// is a node of the full trie.
        #[test]
        fn hashed_subtrees_stand_in_for_their_leaves(
            key_len in 1usize..=32,
            raw in prop::collection::vec((prop::collection::vec(any::<u8>(), 32), prop::collection::vec(any::<u8>(), 1..40)), 2..150),
            pick in any::<prop::sample::Index>(),
        ) {
            let leaves: BTreeMap<Vec<u8>, Vec<u8>> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            let (root, sink) = build(&leaves);
            let subtrees: Vec<&(Nibbles, Bytes)> =
                sink.nodes.iter().filter(|(path, _)| !path.is_empty()).collect();
            if subtrees.is_empty() {
                return Ok(());
            }
            let (path, node) = subtrees[pick.index(subtrees.len())];
            let mut builder = TrieBuilder::new(VecSink::default());
            let mut placed = false;
            for (key, value) in &leaves {
                let nibbles = Nibbles::unpack(key);
                if nibbles.starts_with(path) {
                    if !placed {
                        builder.add_hashed_subtree(*path, keccak256(node)).unwrap();
                        placed = true;
                    }
                    continue;
                }
                builder.add_leaf(key, value).unwrap();
            }
            let (partial_root, partial) = builder.finish().unwrap();
            prop_assert_eq!(partial_root, root);
            for emitted in &partial.nodes {
                prop_assert!(sink.nodes.contains(emitted));
            }
            // Nothing may follow inside the hashed subtree.
            let mut builder = TrieBuilder::new(NoopSink);
            builder.add_hashed_subtree(*path, keccak256(node)).unwrap();
            let inside = leaves.keys().find(|key| Nibbles::unpack(key).starts_with(path));
            if let Some(inside) = inside {
                let refused = matches!(builder.add_leaf(inside, b"x"), Err(TrieBuildError::Unsorted { .. }));
                prop_assert!(refused);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Fixed-length keys: the same root as alloy-trie's HashBuilder. Short keys make inline
        /// nodes common.
        #[test]
        fn matches_hash_builder(
            key_len in 1usize..=32,
            raw in prop::collection::vec((prop::collection::vec(any::<u8>(), 32), prop::collection::vec(any::<u8>(), 1..40)), 0..200),
        ) {
            let leaves: BTreeMap<Vec<u8>, Vec<u8>> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            let (root, sink) = build(&leaves);
            prop_assert_eq!(root, hash_builder_root(&leaves));
            if !leaves.is_empty() {
                assert_nodes_link(root, &sink.nodes);
            }
        }

    }
}
