//! A strict, borrowing decoder for Merkle-Patricia trie nodes received from peers.
//!
//! Proof nodes and healed trie nodes come from untrusted peers. A node is only ever used after its
//! hash matched a trusted reference, so a malformed node cannot be a real one; the decoder still
//! checks every field exactly (canonical hex-prefix flags, child references that are either a
//! 32-byte hash or an inline node shorter than 32 bytes, nibble paths of at most 64 nibbles), so that
//! nothing downstream ever sees a shape it does not expect, and never panics.

use alloy_primitives::B256;
use alloy_rlp::{EMPTY_STRING_CODE, Header};
use alloy_trie::Nibbles;
use snapsync_primitives::{CompactPath, CompactPathError};

/// How a node refers to one of its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildRef<'a> {
    /// No child.
    Empty,
    /// The child node's keccak256 hash.
    Hash(B256),
    /// The child node itself (its RLP is shorter than 32 bytes).
    Inline(&'a [u8]),
}

/// A decoded trie node, borrowing from its encoding.
// Decoded on the stack while walking, never kept in collections: boxing the branch's children
// would cost an allocation per node for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrieNodeRef<'a> {
    /// 16 children and a value (non-empty only in tries with prefix keys).
    Branch {
        /// Child references by nibble.
        children: [ChildRef<'a>; 16],
        /// The value slot (empty string when unused).
        value: &'a [u8],
    },
    /// A shared path segment (never empty) over one child.
    Extension {
        /// The shared path segment.
        key: Nibbles,
        /// The branch below it.
        child: ChildRef<'a>,
    },
    /// The rest of a key and its (non-empty) value.
    Leaf {
        /// The remaining key nibbles.
        key: Nibbles,
        /// The leaf's value.
        value: &'a [u8],
    },
}

/// Decodes one node. The whole input must be the node: trailing bytes are an error.
///
/// # Errors
/// A static description of the first thing found wrong.
pub fn decode_node(rlp: &[u8]) -> Result<TrieNodeRef<'_>, &'static str> {
    let mut buf = rlp;
    let header = Header::decode(&mut buf).map_err(|_| "malformed RLP header")?;
    if !header.list {
        return Err("node is not an RLP list");
    }
    if header.payload_length != buf.len() {
        return Err("trailing bytes after node");
    }
    let mut items: [&[u8]; 17] = [&[]; 17];
    let mut count = 0;
    while !buf.is_empty() {
        if count == items.len() {
            return Err("node has more than 17 items");
        }
        items[count] = split_item(&mut buf)?;
        count += 1;
    }
    match count {
        17 => decode_branch(&items),
        2 => decode_short(items[0], items[1]),
        _ => Err("node has neither 2 nor 17 items"),
    }
}

/// Takes one complete RLP item (header and payload) off the front of `buf`.
fn split_item<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], &'static str> {
    let start = *buf;
    let header = Header::decode(buf).map_err(|_| "malformed RLP item")?;
    // `Header::decode` checked that `payload_length` bytes follow.
    *buf = &buf[header.payload_length..];
    Ok(&start[..start.len() - buf.len()])
}

fn decode_branch<'a>(items: &[&'a [u8]; 17]) -> Result<TrieNodeRef<'a>, &'static str> {
    let mut children = [ChildRef::Empty; 16];
    for (child, item) in children.iter_mut().zip(items.iter()) {
        *child = decode_child(item)?;
    }
    let value = decode_string(items[16]).map_err(|_| "branch value is not a string")?;
    Ok(TrieNodeRef::Branch { children, value })
}

fn decode_short<'a>(path: &'a [u8], second: &'a [u8]) -> Result<TrieNodeRef<'a>, &'static str> {
    let compact = decode_string(path).map_err(|_| "node path is not a string")?;
    let path = CompactPath::decode(compact).map_err(|error| compact_path_reason(&error))?;
    let (key, is_leaf) = (*path.nibbles(), path.is_leaf());
    if is_leaf {
        let value = decode_string(second).map_err(|_| "leaf value is not a string")?;
        if value.is_empty() {
            return Err("leaf value is empty");
        }
        Ok(TrieNodeRef::Leaf { key, value })
    } else {
        if key.is_empty() {
            return Err("extension key is empty");
        }
        match decode_child(second)? {
            ChildRef::Empty => Err("extension has no child"),
            child => Ok(TrieNodeRef::Extension { key, child }),
        }
    }
}

/// A child reference: the empty string, a 32-byte hash, or an inline node under 32 bytes.
fn decode_child(item: &[u8]) -> Result<ChildRef<'_>, &'static str> {
    if item == [EMPTY_STRING_CODE] {
        return Ok(ChildRef::Empty);
    }
    let mut buf = item;
    let header = Header::decode(&mut buf).map_err(|_| "malformed child reference")?;
    if header.list {
        return if item.len() < 32 {
            Ok(ChildRef::Inline(item))
        } else {
            Err("oversized inline node")
        };
    }
    if buf.len() == 32 {
        return Ok(ChildRef::Hash(B256::from_slice(buf)));
    }
    Err("child reference is neither a hash nor an inline node")
}

/// The payload of an RLP string item.
fn decode_string(item: &[u8]) -> Result<&[u8], alloy_rlp::Error> {
    let mut buf = item;
    Header::decode_bytes(&mut buf, false)
}

/// The reason text for a hex-prefix path that does not decode.
const fn compact_path_reason(error: &CompactPathError) -> &'static str {
    match error {
        CompactPathError::Empty => "empty hex-prefix path",
        CompactPathError::InvalidFlag { .. } => "invalid hex-prefix flag",
        CompactPathError::NonZeroPadding { .. } => "non-zero hex-prefix padding",
        CompactPathError::TooLong { .. } => "path longer than 64 nibbles",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::nodes::{ExtensionNodeRef, LeafNodeRef, RlpNode};
    use proptest::prelude::*;

    #[test]
    fn decodes_leaf_and_extension() {
        let key = Nibbles::from_nibbles([1, 2, 3]);
        let mut buf = Vec::new();
        LeafNodeRef::new(&key, b"value").rlp(&mut buf);
        assert_eq!(decode_node(&buf), Ok(TrieNodeRef::Leaf { key, value: b"value" }));

        let child = RlpNode::word_rlp(&B256::repeat_byte(7));
        buf.clear();
        ExtensionNodeRef::new(&key, &child).rlp(&mut buf);
        assert_eq!(
            decode_node(&buf),
            Ok(TrieNodeRef::Extension { key, child: ChildRef::Hash(B256::repeat_byte(7)) })
        );
    }

    #[test]
    fn rejects_bad_children() {
        // A branch whose first child is a 5-byte string.
        let mut node = vec![0xc0 + 6 + 15 + 1, 0x85, 1, 2, 3, 4, 5];
        node.extend([EMPTY_STRING_CODE; 16]);
        assert_eq!(decode_node(&node), Err("child reference is neither a hash nor an inline node"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_node(&bytes);
        }
    }
}
