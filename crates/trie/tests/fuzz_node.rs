//! Fuzz target for `decode_node`, the decoder of trie nodes received from peers.
//!
//! Inputs: arbitrary bytes; node-shaped RLP lists (2 or 17 items of the sizes nodes hold); every
//! node (hashed and inline) of random tries; those nodes with byte edits, with structural RLP
//! edits, and re-encoded with one non-canonical RLP header. Properties:
//! - never a panic;
//! - strict canonical decoding: whatever decodes re-encodes, field by field, to exactly the input;
//! - agreement with `snapsync_trie::test_utils::decode_node`, an independent decoder: everything
//!   `decode_node` accepts it reads the same way, and it only refuses what the independent one
//!   accepts for the two checks it adds on purpose (an empty leaf value, a path over 64 nibbles);
//! - nodes of real tries decode; a non-canonical header anywhere in a node (inline children
//!   included, which are decoded when walked) is refused.
//!
//! Case counts are small for CI (about a second in release); `PROPTEST_CASES` raises them for a
//! long run: `PROPTEST_CASES=200000 cargo test --release -p snapsync-trie --test fuzz_node`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::Bytes;
use proptest::{collection::vec, prelude::*, sample::Index};
use snapsync_primitives::test_utils::{
    apply_byte_edits, apply_rlp_edit, byte_edits, encode_with_quirk, fuzz_config, header_quirk,
    rlp_edit,
};
use snapsync_primitives::{FromRlp, RlpItem};
use snapsync_trie::test_utils::{
    ChildRef, DecodedNode, all_trie_nodes, encode_trie_node, fuzz_leaf_set, node_shaped_rlp,
};
use snapsync_trie::{TrieNodeRef, decode_node};

/// The checks `decode_node` makes that the independent decoder does not.
const STRICTER: [&str; 2] = ["leaf value is empty", "path longer than 64 nibbles"];

/// Decodes `bytes` and checks the outcome: an error, or a node that re-encodes to exactly
/// `bytes` and that the independent decoder reads the same way. Returns the node when it decoded.
fn check_decode(bytes: &[u8]) -> Result<Option<TrieNodeRef<'_>>, TestCaseError> {
    let ours = decode_node(bytes);
    let theirs = snapsync_trie::test_utils::decode_node(bytes);
    match (&ours, theirs) {
        (Ok(node), Ok(other)) => {
            prop_assert_eq!(encode_trie_node(node), bytes.to_vec(), "not canonical: {:?}", node);
            prop_assert_eq!(as_decoded(node), other);
        }
        (Ok(node), Err(reason)) => {
            prop_assert!(false, "decoded {:?}; the independent decoder refuses: {}", node, reason);
        }
        (Err(reason), Ok(other)) => {
            prop_assert!(
                STRICTER.contains(reason),
                "refused ({}) but reads as {:?}",
                reason,
                other
            );
        }
        (Err(_), Err(_)) => {}
    }
    Ok(ours.ok())
}

/// `node` in the independent decoder's terms.
fn as_decoded(node: &TrieNodeRef<'_>) -> DecodedNode {
    let child = |child: &snapsync_trie::ChildRef<'_>| match child {
        snapsync_trie::ChildRef::Empty => None,
        snapsync_trie::ChildRef::Hash(hash) => Some(ChildRef::Hash(*hash)),
        snapsync_trie::ChildRef::Inline(rlp) => Some(ChildRef::Inline(rlp.to_vec())),
    };
    match node {
        TrieNodeRef::Leaf { key, value } => {
            DecodedNode::Leaf { path: key.to_vec(), value: value.to_vec() }
        }
        TrieNodeRef::Extension { key, child: next } => DecodedNode::Extension {
            path: key.to_vec(),
            child: child(next).expect("an extension always has a child"),
        },
        TrieNodeRef::Branch { children, value } => DecodedNode::Branch {
            children: Box::new(std::array::from_fn(|i| child(&children[i]))),
            value: (!value.is_empty()).then(|| value.to_vec()),
        },
    }
}

/// Decodes `bytes` and every inline node inside it, as walking the node would: whether all of
/// them decode.
fn decodes_deeply(bytes: &[u8]) -> bool {
    let inline_children: Vec<&[u8]> = match decode_node(bytes) {
        Err(_) => return false,
        Ok(TrieNodeRef::Leaf { .. }) => Vec::new(),
        Ok(TrieNodeRef::Extension { child, .. }) => vec![child],
        Ok(TrieNodeRef::Branch { children, .. }) => children.to_vec(),
    }
    .into_iter()
    .filter_map(|child| match child {
        snapsync_trie::ChildRef::Inline(rlp) => Some(rlp),
        _ => None,
    })
    .collect::<Vec<_>>();
    inline_children.into_iter().all(decodes_deeply)
}

/// A node of a random trie: hashed or inline.
fn trie_node() -> impl Strategy<Value = Bytes> {
    (fuzz_leaf_set(48), any::<Index>()).prop_map(|(leaves, pick)| {
        let nodes = all_trie_nodes(&leaves);
        nodes[pick.index(nodes.len())].clone()
    })
}

proptest! {
    #![proptest_config(fuzz_config(10_000))]

    /// Arbitrary bytes: errors or canonical, agreed nodes.
    #[test]
    fn arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        check_decode(&bytes)?;
    }

    /// Node-shaped lists of node-sized items reach the field checks.
    #[test]
    fn node_shaped_lists(node in node_shaped_rlp(Vec::new())) {
        check_decode(&node)?;
    }
}

proptest! {
    #![proptest_config(fuzz_config(1500))]

    /// Every node of a random trie decodes, canonically and as the independent decoder reads it;
    /// so do its inline children.
    #[test]
    fn trie_nodes_decode(leaves in fuzz_leaf_set(48)) {
        for node in all_trie_nodes(&leaves) {
            prop_assert!(check_decode(&node)?.is_some(), "a real node is refused: {:02x?}", node);
            prop_assert!(decodes_deeply(&node));
        }
    }

    /// A real node with a few byte edits: an error or a canonical node.
    #[test]
    fn edited_trie_nodes(node in trie_node(), edits in byte_edits(4)) {
        let edited = apply_byte_edits(node.to_vec(), &edits);
        check_decode(&edited)?;
    }

    /// A real node with structural RLP edits (items replaced, dropped, duplicated, resized,
    /// wrapped): still well-formed RLP, so the node-level checks are what decide.
    #[test]
    fn restructured_trie_nodes(node in trie_node(), edits in vec(rlp_edit(), 1..4)) {
        let mut tree = RlpItem::from_rlp(&node).unwrap();
        for edit in &edits {
            apply_rlp_edit(&mut tree, edit);
        }
        check_decode(&alloy_rlp::encode(&tree))?;
    }

    /// A real node with one header made non-canonical (long form for a short payload, a leading
    /// zero in a length, a single byte wrapped as a string) is refused, at the latest when the
    /// inline child holding it is decoded.
    #[test]
    fn non_canonical_trie_nodes(node in trie_node(), at in any::<Index>(), quirk in header_quirk()) {
        let tree = RlpItem::from_rlp(&node).unwrap();
        let quirky = encode_with_quirk(&tree, at, quirk);
        prop_assert_ne!(&quirky, &node.to_vec());
        check_decode(&quirky)?;
        prop_assert!(!decodes_deeply(&quirky), "non-canonical node accepted: {:02x?}", quirky);
    }
}
