//! Oracles for the trie code: an independent, deliberately simple reader of Merkle-Patricia trie
//! nodes ([`decode_node`], [`trie_leaves`]) to check what the trie code produces without trusting
//! it, and [`prove_key`], the nodes a proof for a key must hold.
//!
//! The reader shares no code with this crate: it decodes a node and walks a whole trie back to
//! its leaves, supports the general trie (values in branch nodes, keys of any length) and favours
//! clarity over speed. It is what [`TrieBuilder`](crate::TrieBuilder)'s emitted nodes and the
//! strict [`crate::decode_node`] are checked against, and what
//! [`check_range_nodes`](super::check_range_nodes) reads the verifier's nodes with. [`prove_key`]
//! walks one path with this crate's [`walk_path`] instead; its docs say why
//! that is not circular.

use super::Leaf;
use crate::{Nibbles, PathEnd, walk_path};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::Header;
use std::{collections::HashMap, convert::Infallible};

/// How a node refers to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildRef {
    /// By the keccak256 of its RLP (the child's RLP is 32 bytes or longer).
    Hash(B256),
    /// Embedded: the child's whole RLP (shorter than 32 bytes).
    Inline(Vec<u8>),
}

/// A decoded trie node. Paths are nibble sequences (one nibble per byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedNode {
    /// A 17-item list: 16 children and a value (`None` when empty).
    Branch {
        /// Child per nibble.
        children: Box<[Option<ChildRef>; 16]>,
        /// Value of a key ending at this branch.
        value: Option<Vec<u8>>,
    },
    /// A 2-item list with an even/odd extension path and a child.
    Extension {
        /// Shared nibbles.
        path: Vec<u8>,
        /// The node below them.
        child: ChildRef,
    },
    /// A 2-item list with a leaf path and the value.
    Leaf {
        /// Remaining nibbles of the key.
        path: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
}

/// One RLP item: a byte string or a list (with its full encoding).
enum Item<'a> {
    String(&'a [u8]),
    List(&'a [u8]),
}

/// Splits the payload of an RLP list into its items.
fn items(mut payload: &[u8]) -> Result<Vec<Item<'_>>, String> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let full = payload;
        let header = Header::decode(&mut payload).map_err(|e| format!("bad item header: {e}"))?;
        if header.payload_length > payload.len() {
            return Err("item longer than its list".into());
        }
        let header_len = full.len() - payload.len();
        let total = header_len + header.payload_length;
        if header.list {
            out.push(Item::List(&full[..total]));
        } else {
            out.push(Item::String(&payload[..header.payload_length]));
        }
        payload = &payload[header.payload_length..];
    }
    Ok(out)
}

fn child_ref(item: &Item<'_>) -> Result<Option<ChildRef>, String> {
    match item {
        Item::String([]) => Ok(None),
        Item::String(s) if s.len() == 32 => Ok(Some(ChildRef::Hash(B256::from_slice(s)))),
        Item::String(s) => Err(format!("child reference of {} bytes", s.len())),
        Item::List(raw) if raw.len() < 32 => Ok(Some(ChildRef::Inline(raw.to_vec()))),
        Item::List(raw) => Err(format!("inline child of {} bytes", raw.len())),
    }
}

/// Hex-prefix decoding: `(is_leaf, nibbles)`.
fn hex_prefix(encoded: &[u8]) -> Result<(bool, Vec<u8>), String> {
    let (&first, rest) = encoded.split_first().ok_or("empty path")?;
    let flag = first >> 4;
    if flag > 3 {
        return Err(format!("bad hex-prefix flag {flag}"));
    }
    let mut nibbles = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        nibbles.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err("even path with a non-zero padding nibble".into());
    }
    for byte in rest {
        nibbles.push(byte >> 4);
        nibbles.push(byte & 0x0f);
    }
    Ok((flag >= 2, nibbles))
}

/// Decodes one node from its RLP.
///
/// # Errors
/// A description of what is malformed.
pub fn decode_node(rlp: &[u8]) -> Result<DecodedNode, String> {
    let mut buf = rlp;
    let header = Header::decode(&mut buf).map_err(|e| format!("bad node header: {e}"))?;
    if !header.list || header.payload_length != buf.len() {
        return Err("a node is one RLP list with nothing after it".into());
    }
    let items = items(buf)?;
    match items.as_slice() {
        [path, second] => {
            let Item::String(path) = path else { return Err("path is a list".into()) };
            let (is_leaf, path) = hex_prefix(path)?;
            if is_leaf {
                let Item::String(value) = second else { return Err("leaf value is a list".into()) };
                Ok(DecodedNode::Leaf { path, value: value.to_vec() })
            } else {
                if path.is_empty() {
                    return Err("extension with an empty path".into());
                }
                let child = child_ref(second)?.ok_or("extension without a child")?;
                Ok(DecodedNode::Extension { path, child })
            }
        }
        items if items.len() == 17 => {
            let mut children: Box<[Option<ChildRef>; 16]> = Box::default();
            for (slot, item) in children.iter_mut().zip(items) {
                *slot = child_ref(item)?;
            }
            let value = match &items[16] {
                Item::String([]) => None,
                Item::String(v) => Some(v.to_vec()),
                Item::List(_) => return Err("branch value is a list".into()),
            };
            Ok(DecodedNode::Branch { children, value })
        }
        other => Err(format!("a node has 2 or 17 items, not {}", other.len())),
    }
}

/// Packs an even number of nibbles into bytes.
fn pack(nibbles: &[u8]) -> Result<Vec<u8>, String> {
    if !nibbles.len().is_multiple_of(2) {
        return Err(format!("key of {} nibbles is not whole bytes", nibbles.len()));
    }
    Ok(nibbles.chunks(2).map(|pair| (pair[0] << 4) | pair[1]).collect())
}

/// Every `(key, value)` of the trie with root `root`, in key order, reading hashed nodes from
/// `nodes` (any node RLPs; extra ones are ignored). The empty root gives no leaves.
///
/// # Errors
/// A missing or malformed node, or a key that is not whole bytes.
pub fn trie_leaves<N: AsRef<[u8]>>(root: B256, nodes: &[N]) -> Result<Vec<Leaf>, String> {
    if root == alloy_trie::EMPTY_ROOT_HASH {
        return Ok(Vec::new());
    }
    let by_hash: HashMap<B256, &[u8]> =
        nodes.iter().map(|n| (keccak256(n.as_ref()), n.as_ref())).collect();
    let mut out = Vec::new();
    walk(&ChildRef::Hash(root), &mut Vec::new(), &by_hash, &mut out)?;
    Ok(out)
}

fn walk(
    node: &ChildRef,
    path: &mut Vec<u8>,
    by_hash: &HashMap<B256, &[u8]>,
    out: &mut Vec<Leaf>,
) -> Result<(), String> {
    if path.len() > 64 {
        return Err("path deeper than 64 nibbles".into());
    }
    let rlp = match node {
        ChildRef::Hash(hash) => *by_hash.get(hash).ok_or_else(|| format!("missing node {hash}"))?,
        ChildRef::Inline(raw) => raw.as_slice(),
    };
    let depth = path.len();
    match decode_node(rlp)? {
        DecodedNode::Leaf { path: rest, value } => {
            path.extend_from_slice(&rest);
            out.push((pack(path)?, value));
        }
        DecodedNode::Extension { path: rest, child } => {
            path.extend_from_slice(&rest);
            walk(&child, path, by_hash, out)?;
        }
        DecodedNode::Branch { children, value } => {
            if let Some(value) = value {
                out.push((pack(path)?, value));
            }
            for (nibble, child) in (0u8..).zip(children.iter()) {
                if let Some(child) = child {
                    path.push(nibble);
                    walk(child, path, by_hash, out)?;
                    path.truncate(depth);
                }
            }
        }
    }
    path.truncate(depth);
    Ok(())
}

/// The proof for `key` as geth's `Trie.Prove` builds it, by walking the trie with root `root`
/// (its hashed nodes in `nodes`, any order, extras ignored) along the key: every hashed node met,
/// root first, until the walk ends at the key's leaf or where the key leaves the trie. Inline
/// nodes are walked through but not listed. The empty root gives an empty proof.
///
/// The walk is [`walk_path`], the one branch/extension/hash dispatch of this crate (the server's
/// and [`prove_stored`](crate::prove_stored)'s). That keeps this oracle independent of what it
/// checks, [`prove_range`](crate::prove_range), which never walks nodes: it keeps the nodes a
/// [`TrieBuilder`](crate::TrieBuilder) emits on the key's path. Agreement between the two checks
/// the walker as well.
///
/// # Errors
/// A missing or malformed node, or a key longer than 32 bytes.
pub fn prove_key<N: AsRef<[u8]>>(
    root: B256,
    nodes: &[N],
    key: &[u8],
) -> Result<Vec<Bytes>, String> {
    if key.len() > 32 {
        return Err(format!("key of {} bytes: trie keys are at most 32", key.len()));
    }
    if root == alloy_trie::EMPTY_ROOT_HASH {
        return Ok(Vec::new());
    }
    let by_hash: HashMap<B256, Bytes> =
        nodes.iter().map(|n| (keccak256(n.as_ref()), Bytes::copy_from_slice(n.as_ref()))).collect();
    let fetch = |_: &Nibbles, hash: B256| Ok::<_, Infallible>(by_hash.get(&hash).cloned());
    let mut proof = Vec::new();
    let Ok(end) = walk_path(root, &Nibbles::unpack(key), fetch, |_, node| proof.push(node.clone()));
    match end {
        PathEnd::At { .. } | PathEnd::Absent { .. } => Ok(proof),
        PathEnd::Unavailable { hash, .. } => Err(format!("missing node {hash}")),
        PathEnd::Invalid { path, reason } => Err(format!("invalid node at {path:?}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrieBuilder, VecSink};

    fn build(leaves: &[(Vec<u8>, Vec<u8>)]) -> (B256, VecSink) {
        let mut builder = TrieBuilder::new(VecSink::default());
        for (k, v) in leaves {
            builder.add_leaf(k, v).unwrap();
        }
        builder.finish().unwrap()
    }

    #[test]
    fn walks_built_tries_back_to_their_leaves() {
        let prefix_keys = crate::test_utils::sorted_leaves([
            (b"do".to_vec(), b"verb".to_vec()),
            (b"dog".to_vec(), b"puppy".to_vec()),
            (b"doge".to_vec(), b"coin".to_vec()),
            (b"horse".to_vec(), b"stallion".to_vec()),
        ]);
        for leaves in [
            crate::test_utils::random_leaves(11, 300, 32, 1..=40),
            crate::test_utils::inline_heavy_leaves(12, 40),
            crate::test_utils::clustered_leaves(13, 80, 32, 4, 1, 1..=2),
            crate::test_utils::random_leaves(14, 1, 32, 1..=1),
            prefix_keys,
        ] {
            let (root, sink) = build(&leaves);
            let nodes: Vec<Bytes> = sink.nodes.iter().map(|(_, n)| n.clone()).collect();
            assert_eq!(trie_leaves(root, &nodes).unwrap(), leaves);
            // Without the nodes, the walk fails cleanly at the root.
            let err = trie_leaves(root, &Vec::<Vec<u8>>::new()).unwrap_err();
            assert!(err.contains("missing node"), "{err}");
        }
        assert_eq!(
            trie_leaves(alloy_trie::EMPTY_ROOT_HASH, &Vec::<Vec<u8>>::new()).unwrap(),
            vec![]
        );
    }

    #[test]
    fn prove_key_follows_the_key() {
        let leaves = crate::test_utils::random_leaves(15, 200, 32, 20..=20);
        let (root, sink) = build(&leaves);
        let nodes: Vec<Bytes> = sink.nodes.iter().map(|(_, n)| n.clone()).collect();
        for (key, _) in leaves.iter().take(20) {
            let proof = prove_key(root, &nodes, key).unwrap();
            assert_eq!(keccak256(&proof[0]), root, "root first");
            // Each node references the next one by hash.
            for pair in proof.windows(2) {
                let child = keccak256(&pair[1]);
                assert!(pair[0].windows(32).any(|w| w == child.as_slice()));
            }
            // The last node is the key's leaf.
            assert!(matches!(
                decode_node(&proof[proof.len() - 1]).unwrap(),
                DecodedNode::Leaf { .. }
            ));
        }
        // An absent key: the walk stops where the key leaves the trie, still root first.
        let absent = prove_key(root, &nodes, &[0xab; 32]).unwrap();
        assert_eq!(keccak256(&absent[0]), root);
        assert!(prove_key(root, &nodes[..0], &[0xab; 32]).is_err());
    }

    #[test]
    fn decodes_small_nodes() {
        // rlp([0x31, "v"]): a leaf with the odd path [1].
        assert_eq!(
            decode_node(&[0xc2, 0x31, 0x76]).unwrap(),
            DecodedNode::Leaf { path: vec![1], value: b"v".to_vec() }
        );
        // rlp([0x20, "v"]): a leaf with the empty (even) path.
        assert_eq!(
            decode_node(&[0xc2, 0x20, 0x76]).unwrap(),
            DecodedNode::Leaf { path: vec![], value: b"v".to_vec() }
        );
        assert!(decode_node(&[0xc2, 0x40, 0x76]).is_err(), "flag 4");
        assert!(decode_node(&[0xc1, 0x80]).is_err(), "one item");
        assert!(decode_node(&[0xc2, 0x31]).is_err(), "truncated");
        assert!(decode_node(&[0x80]).is_err(), "a string is not a node");
        assert!(decode_node(&[0xc2, 0x00, 0x80]).is_err(), "extension with an empty path");
        assert!(decode_node(&[0xc3, 0x11, 0x81, 0x05]).is_err(), "extension child of one byte");
    }
}
