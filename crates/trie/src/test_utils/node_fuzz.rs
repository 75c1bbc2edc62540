//! Trie-node machinery for the decoder and verifier fuzz tests: an encoder for
//! [`crate::TrieNodeRef`] (to check that decoding is canonical), node-shaped garbage,
//! every node of a built trie including the inline ones, and a hash-consistency check of the
//! nodes [`crate::verify_range_proof_nodes`] emits, made with the independent
//! decoder of `nodes.rs` (not with the strict [`crate::decode_node`] the verifier decodes with).

use super::{ChildRef, DecodedNode, Leaf, decode_node};
use crate::{TrieBuilder, TrieNodeRef, VecSink};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{EMPTY_STRING_CODE, Encodable, Header};
use alloy_trie::Nibbles;
use proptest::{collection::vec, prelude::*};
use snapsync_primitives::CompactPath;
use std::collections::HashMap;

/// The RLP of a node decoded by [`crate::decode_node`], written field by field (hex-prefix
/// paths, child references as an empty string, a 32-byte string or the inline node as is).
/// A canonical decoder gives back exactly its input.
pub fn encode_trie_node(node: &TrieNodeRef<'_>) -> Vec<u8> {
    let mut payload = Vec::new();
    match node {
        TrieNodeRef::Leaf { key, value } => {
            CompactPath::leaf(*key).encode().as_slice().encode(&mut payload);
            value.encode(&mut payload);
        }
        TrieNodeRef::Extension { key, child } => {
            CompactPath::extension(*key).encode().as_slice().encode(&mut payload);
            encode_child(child, &mut payload);
        }
        TrieNodeRef::Branch { children, value } => {
            for child in children {
                encode_child(child, &mut payload);
            }
            value.encode(&mut payload);
        }
    }
    let mut out = Vec::with_capacity(payload.len() + 3);
    Header { list: true, payload_length: payload.len() }.encode(&mut out);
    out.extend_from_slice(&payload);
    out
}

fn encode_child(child: &crate::ChildRef<'_>, out: &mut Vec<u8>) {
    match child {
        crate::ChildRef::Empty => out.push(EMPTY_STRING_CODE),
        crate::ChildRef::Hash(hash) => hash.encode(out),
        crate::ChildRef::Inline(rlp) => out.extend_from_slice(rlp),
    }
}

/// Every node of the trie holding `leaves` (sorted, unique keys, non-empty values): the hashed
/// ones a [`TrieBuilder`] emits, then every inline node inside them, each once.
///
/// # Panics
/// When the leaves are not a valid trie input.
#[allow(clippy::panic, reason = "test support: invalid test input fails the calling test")]
pub fn all_trie_nodes(leaves: &[Leaf]) -> Vec<Bytes> {
    let mut builder = TrieBuilder::new(VecSink::default());
    for (key, value) in leaves {
        if let Err(e) = builder.add_leaf(key, value) {
            panic!("invalid test leaves: {e}");
        }
    }
    let hashed: Vec<Bytes> = match builder.finish() {
        Ok((_, sink)) => sink.nodes.into_iter().map(|(_, node)| node).collect(),
        Err(e) => panic!("invalid test leaves: {e}"),
    };
    let mut out = hashed.clone();
    let mut pending: Vec<Vec<u8>> = hashed.iter().map(|node| node.to_vec()).collect();
    while let Some(node) = pending.pop() {
        let children: Vec<ChildRef> = match decode_node(&node) {
            Ok(DecodedNode::Branch { children, .. }) => {
                children.iter().flatten().cloned().collect()
            }
            Ok(DecodedNode::Extension { child, .. }) => vec![child],
            Ok(DecodedNode::Leaf { .. }) | Err(_) => Vec::new(),
        };
        for child in children {
            if let ChildRef::Inline(inline) = child {
                out.push(Bytes::from(inline.clone()));
                pending.push(inline);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|node| seen.insert(node.clone()));
    out
}

/// One RLP item of a node-shaped list: what nodes hold, in sizes around the boundaries. `refs`
/// are hashes a child reference may point to (when empty, the zero hash).
pub fn node_item(refs: Vec<B256>) -> impl Strategy<Value = Vec<u8>> {
    let hash_ref = if refs.is_empty() {
        Just(B256::ZERO).boxed()
    } else {
        proptest::sample::select(refs).boxed()
    };
    prop_oneof![
        Just(vec![0x80]),
        hash_ref.prop_map(|h| alloy_rlp::encode(h.as_slice())),
        vec(any::<u8>(), 32).prop_map(|b| alloy_rlp::encode(b.as_slice())),
        vec(any::<u8>(), 0..40).prop_map(|b| alloy_rlp::encode(b.as_slice())),
        // Hex-prefix paths: any flag nibble, any length up to 70 nibbles.
        (0u8..6, vec(any::<u8>(), 0..36)).prop_map(|(flag, mut b)| {
            if b.is_empty() {
                b.push(0);
            }
            b[0] = (flag << 4) | (b[0] & 0x0f);
            alloy_rlp::encode(b.as_slice())
        }),
        // A small list: an inline node, well-formed or not.
        vec(any::<u8>(), 0..30).prop_map(|payload| {
            let mut out = Vec::new();
            Header { list: true, payload_length: payload.len() }.encode(&mut out);
            out.extend(payload);
            out
        }),
    ]
}

/// A node-shaped RLP list of 2 or 17 [`node_item`]s (sometimes another count).
pub fn node_shaped_rlp(refs: Vec<B256>) -> impl Strategy<Value = Bytes> {
    prop_oneof![Just(2usize), Just(17), 0usize..20]
        .prop_flat_map(move |count| vec(node_item(refs.clone()), count))
        .prop_map(|items| {
            let payload: Vec<u8> = items.concat();
            let mut out = Vec::new();
            Header { list: true, payload_length: payload.len() }.encode(&mut out);
            out.extend(payload);
            Bytes::from(out)
        })
}

/// A chain of one to five [`node_shaped_rlp`] nodes where each may reference the ones generated
/// after it by hash, the first being the root.
pub fn garbage_proof() -> impl Strategy<Value = Vec<Bytes>> {
    (1usize..6).prop_flat_map(|len| {
        let mut chain = node_shaped_rlp(Vec::new()).prop_map(|node| vec![node]).boxed();
        for _ in 1..len {
            chain = chain
                .prop_flat_map(|nodes| {
                    let refs: Vec<B256> = nodes.iter().map(keccak256).collect();
                    (Just(nodes), node_shaped_rlp(refs))
                })
                .prop_map(|(mut nodes, node)| {
                    nodes.insert(0, node);
                    nodes
                })
                .boxed();
        }
        chain
    })
}

/// Checks the nodes [`crate::verify_range_proof_nodes`] returned for `root`: none for
/// the empty root; otherwise paths are unique; the last node is the root (empty path, hashing to `root`); every other node at path
/// `p` is referenced by hash, at exactly `p`, from the emitted node at the longest proper prefix of
/// `p` (through inline nodes, if any), which comes after it in the list (children before parents).
///
/// # Errors
/// A description of the first inconsistency.
pub fn check_range_nodes(root: B256, nodes: &[(Nibbles, Bytes)]) -> Result<(), String> {
    let Some((root_path, root_node)) = nodes.last() else {
        // The empty trie has no node at all.
        if root == alloy_trie::EMPTY_ROOT_HASH {
            return Ok(());
        }
        return Err("no nodes, not even the root".into());
    };
    if !root_path.is_empty() || keccak256(root_node) != root {
        return Err(format!("the last node (at {root_path:?}) is not the root"));
    }
    let by_path: HashMap<Nibbles, usize> =
        nodes.iter().enumerate().map(|(index, (path, _))| (*path, index)).collect();
    if by_path.len() != nodes.len() {
        return Err("two nodes at one path".into());
    }
    for (index, (path, node)) in nodes.iter().enumerate().take(nodes.len() - 1) {
        let Some((parent_len, parent_index)) = (0..path.len())
            .rev()
            .find_map(|len| by_path.get(&path.slice(..len)).map(|i| (len, *i)))
        else {
            return Err(format!("node at {path:?} has no emitted ancestor"));
        };
        if parent_index <= index {
            return Err(format!("node at {path:?} comes after its parent"));
        }
        let relative: Vec<u8> = path.slice(parent_len..).to_vec();
        let reached = child_at(&nodes[parent_index].1, &relative)?;
        if reached != Some(ChildRef::Hash(keccak256(node))) {
            return Err(format!(
                "the parent at {:?} does not reference the node at {path:?} by its hash \
                 (it holds {reached:?})",
                nodes[parent_index].0
            ));
        }
    }
    Ok(())
}

/// The child reference found by walking `relative` nibbles down from the node `rlp`, through
/// inline nodes; `None` when the walk leaves the node's subtree or does not end exactly on a
/// child reference.
fn child_at(rlp: &[u8], relative: &[u8]) -> Result<Option<ChildRef>, String> {
    let (next, rest) = match decode_node(rlp)? {
        DecodedNode::Leaf { .. } => return Ok(None),
        DecodedNode::Extension { path, child } => match relative.strip_prefix(path.as_slice()) {
            Some(rest) => (child, rest),
            None => return Ok(None),
        },
        DecodedNode::Branch { children, .. } => {
            let Some((&nibble, rest)) = relative.split_first() else { return Ok(None) };
            match &children[usize::from(nibble)] {
                Some(child) => (child.clone(), rest),
                None => return Ok(None),
            }
        }
    };
    match next {
        hash @ ChildRef::Hash(_) if rest.is_empty() => Ok(Some(hash)),
        ChildRef::Hash(_) => Ok(None),
        ChildRef::Inline(inline) if rest.is_empty() => Ok(Some(ChildRef::Inline(inline))),
        ChildRef::Inline(inline) => child_at(&inline, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProofLimits;

    #[test]
    fn built_nodes_re_encode_and_include_inline_ones() {
        let leaves = crate::test_utils::clustered_leaves(3, 60, 32, 3, 1, 1..=3);
        let nodes = all_trie_nodes(&leaves);
        assert!(nodes.iter().any(|node| node.len() < 32), "inline nodes are listed");
        for node in &nodes {
            let decoded = crate::decode_node(node).unwrap();
            assert_eq!(encode_trie_node(&decoded), node.to_vec());
        }
    }

    #[test]
    fn range_nodes_of_an_honest_range_are_consistent() {
        let trie =
            crate::test_utils::TestTrie::new(crate::test_utils::random_leaves(4, 300, 32, 1..=40));
        let case = trie.range(trie.key(40), 40, 200);
        let verified = crate::verify_range_proof_nodes(
            case.root,
            &case.origin,
            &case.keys,
            &case.values,
            &case.proof,
            ProofLimits::default(),
        )
        .unwrap();
        check_range_nodes(trie.root, &verified.nodes).unwrap();
        // A node moved to another path, or dropped from the middle, is caught.
        let mut moved = verified.nodes.clone();
        moved[0].0 = Nibbles::from_nibbles([0xf; 7]);
        assert!(check_range_nodes(trie.root, &moved).is_err());
        let mut reordered = verified.nodes.clone();
        reordered.swap(0, verified.nodes.len() - 2);
        assert!(check_range_nodes(trie.root, &reordered).is_err());
        assert!(check_range_nodes(B256::ZERO, &verified.nodes).is_err());
    }
}
