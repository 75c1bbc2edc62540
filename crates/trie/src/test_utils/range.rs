//! Range-proof test cases: a trie with all its leaves, honest ranges cut from it, and the
//! mutations a dishonest peer could apply to them.
//!
//! The cases are built with this crate's [`trie_root`] and [`prove_range`] (honest answers) and
//! run through its verifier ([`RangeCase::verify`]); what is accepted is judged against the
//! trie's own leaves ([`TestTrie::check_accepted`]), not against the verifier.

use super::{Leaf, random_key_between};
use crate::{ProofLimits, RangeProofError, prove_range, trie_root, verify_range_proof_with_limits};
use alloy_primitives::{B256, Bytes, keccak256};
use snapsync_primitives::test_utils::TestRng;
use std::collections::HashSet;

/// A whole trie: its sorted leaves and its root.
#[derive(Debug, Clone)]
pub struct TestTrie {
    /// Every leaf, sorted by key, keys unique.
    pub leaves: Vec<Leaf>,
    /// The root hash.
    pub root: B256,
}

impl TestTrie {
    /// The trie holding `leaves` (sorted, unique keys, non-empty values).
    ///
    /// # Panics
    /// When the leaves are not a valid trie input.
    #[allow(clippy::panic, reason = "test support: invalid test input fails the calling test")]
    pub fn new(leaves: Vec<Leaf>) -> Self {
        let root = match trie_root(leaves.iter().map(|(k, v)| (k, v))) {
            Ok(root) => root,
            Err(e) => panic!("invalid test leaves: {e}"),
        };
        Self { leaves, root }
    }

    /// Number of leaves.
    pub const fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the trie is empty.
    pub const fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The key of leaf `index`.
    pub fn key(&self, index: usize) -> &[u8] {
        &self.leaves[index].0
    }

    /// The proof for `origin..=last` (`last` `None`: the proof of `origin` alone), as
    /// [`prove_range`] builds it over this trie.
    ///
    /// # Panics
    /// When [`prove_range`] fails.
    #[allow(clippy::panic, reason = "test support: a failing prover fails the calling test")]
    pub fn proof(&self, origin: &[u8], last: Option<&[u8]>) -> Vec<Bytes> {
        match prove_range(self.leaves.iter().map(|(k, v)| (k, v)), origin, last) {
            Ok(proof) => proof,
            Err(e) => panic!("prove_range failed: {e}"),
        }
    }

    /// The honest answer to a range request starting at `origin` whose reply holds leaves
    /// `first..=last` (indices): those leaves and the proof of `origin` and of the last key.
    ///
    /// `origin` should be `key(first)` or lie strictly between `key(first - 1)` and `key(first)`.
    pub fn range(&self, origin: &[u8], first: usize, last: usize) -> RangeCase {
        let proof = self.proof(origin, Some(self.key(last)));
        self.range_with_proof(origin, first, last, proof)
    }

    /// Leaves `first..=last` (indices) from `origin`, with a proof given by the caller (a proof
    /// for other edge keys, a bloated one, …).
    pub fn range_with_proof(
        &self,
        origin: &[u8],
        first: usize,
        last: usize,
        proof: Vec<Bytes>,
    ) -> RangeCase {
        RangeCase { proof, ..self.range_without_proof(origin, first, last) }
    }

    fn range_without_proof(&self, origin: &[u8], first: usize, last: usize) -> RangeCase {
        let slice = &self.leaves[first..=last];
        RangeCase {
            root: self.root,
            origin: origin.to_vec(),
            keys: slice.iter().map(|(k, _)| k.clone()).collect(),
            values: slice.iter().map(|(_, v)| v.clone()).collect(),
            proof: Vec::new(),
        }
    }

    /// The honest empty answer for `origin`: no leaves, the proof of `origin` alone.
    pub fn empty_range(&self, origin: &[u8]) -> RangeCase {
        RangeCase {
            root: self.root,
            origin: origin.to_vec(),
            keys: Vec::new(),
            values: Vec::new(),
            proof: self.proof(origin, None),
        }
    }

    /// All leaves without any proof (the reply when the whole trie fits in one response).
    pub fn whole(&self, origin: &[u8]) -> RangeCase {
        RangeCase {
            root: self.root,
            origin: origin.to_vec(),
            keys: self.leaves.iter().map(|(k, _)| k.clone()).collect(),
            values: self.leaves.iter().map(|(_, v)| v.clone()).collect(),
            proof: Vec::new(),
        }
    }

    /// Index of the first leaf whose key is `>= key`.
    pub fn lower_bound(&self, key: &[u8]) -> usize {
        self.leaves.partition_point(|(k, _)| k.as_slice() < key)
    }

    /// Whether `key` is in the trie.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.leaves.binary_search_by(|(k, _)| k.as_slice().cmp(key)).is_ok()
    }

    /// The origin of a request answered from leaf `first` on: `key(first)`, or when `absent` and
    /// there is room, a random key strictly between the previous leaf (or the start of the key
    /// space) and `key(first)`.
    pub fn random_origin(&self, rng: &mut TestRng, first: usize, absent: bool) -> Vec<u8> {
        let previous = first.checked_sub(1).map(|p| self.key(p));
        if absent
            && let Some(origin) =
                random_key_between(rng, self.key(first).len(), previous, Some(self.key(first)))
        {
            return origin;
        }
        self.key(first).to_vec()
    }

    /// Checks a reply the verifier accepted with `has_more` against this trie (the soundness of
    /// acceptance, whatever was done to the reply): the keys and values are exactly the trie's
    /// leaves from `case.origin` to the last key (none at or after the origin when there are no
    /// keys), `has_more` says whether the trie has a leaf after them, and a reply without a proof
    /// is the whole trie.
    ///
    /// # Errors
    /// What the accepted reply got wrong.
    pub fn check_accepted(&self, case: &RangeCase, has_more: bool) -> Result<(), String> {
        if case.root != self.root {
            return Err("accepted against another root than the trie's".into());
        }
        let from = self.lower_bound(&case.origin);
        let (expected, more) = match case.keys.last() {
            Some(last) => {
                let to = self.leaves.partition_point(|(k, _)| k.as_slice() <= last.as_slice());
                (&self.leaves[from..to.max(from)], to < self.len())
            }
            None => (&self.leaves[from..from], from < self.len()),
        };
        let got: Vec<(&[u8], &[u8])> =
            case.keys.iter().zip(&case.values).map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        let want: Vec<(&[u8], &[u8])> =
            expected.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        if case.keys.len() != case.values.len() || got != want {
            return Err(format!(
                "accepted {} leaves that are not the trie's {} leaves from the origin to the last key",
                case.keys.len(),
                want.len()
            ));
        }
        if case.keys.is_empty() && more {
            return Err("accepted an empty reply that hides leaves at or after the origin".into());
        }
        if has_more != more {
            return Err(format!("accepted with has_more {has_more}, the trie says {more}"));
        }
        if case.proof.is_empty() && case.keys.len() != self.len() {
            return Err("accepted a reply without a proof that is not the whole trie".into());
        }
        Ok(())
    }
}

/// The union of several proofs: every node once, in order of first appearance.
pub fn union_proofs<I: IntoIterator<Item = Vec<Bytes>>>(proofs: I) -> Vec<Bytes> {
    let mut seen = HashSet::new();
    proofs.into_iter().flatten().filter(|node| seen.insert(node.clone())).collect()
}

/// Replaces proof node `index` with `node` and keeps the proof self-consistent: every node that
/// referenced the old node by hash now references the new one, up to the root. Returns the new
/// root (`root` if the root did not change) and proof.
///
/// A plain replacement is caught at once as a missing node; this one reaches the verifier's node
/// decoding and edge logic with a corrupted node deep in an otherwise valid-looking proof.
pub fn replace_node_rehashed(
    root: B256,
    proof: &[Bytes],
    index: usize,
    node: Bytes,
) -> (B256, Vec<Bytes>) {
    let mut proof = proof.to_vec();
    let mut renamed = vec![(keccak256(&proof[index]), keccak256(&node))];
    proof[index] = node;
    let mut root = root;
    // Each round renames at least one node, so at most `proof.len()` rounds change anything.
    for _ in 0..=proof.len() {
        let mut next = Vec::new();
        for node in &mut proof {
            let mut bytes = node.to_vec();
            let mut changed = false;
            for (old, new) in &renamed {
                let mut at = 0;
                while let Some(pos) = bytes[at..].windows(32).position(|w| w == old.as_slice()) {
                    bytes[at + pos..at + pos + 32].copy_from_slice(new.as_slice());
                    at += pos + 32;
                    changed = true;
                }
            }
            if changed {
                next.push((keccak256(node.as_ref()), keccak256(&bytes)));
                *node = Bytes::from(bytes);
            }
        }
        for (old, new) in &renamed {
            if root == *old {
                root = *new;
            }
        }
        if next.is_empty() {
            break;
        }
        renamed = next;
    }
    (root, proof)
}

/// The arguments of one `verify_range_proof` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCase {
    /// Trusted root.
    pub root: B256,
    /// The requested origin (`first_key`).
    pub origin: Vec<u8>,
    /// Returned keys.
    pub keys: Vec<Vec<u8>>,
    /// Returned values.
    pub values: Vec<Vec<u8>>,
    /// Proof nodes.
    pub proof: Vec<Bytes>,
}

impl RangeCase {
    /// Runs `verify_range_proof` on this case.
    ///
    /// # Errors
    /// Whatever the verifier rejects the case with.
    pub fn verify(&self) -> Result<bool, RangeProofError> {
        self.verify_with_limits(ProofLimits::default())
    }

    /// Runs `verify_range_proof_with_limits` on this case.
    ///
    /// # Errors
    /// Whatever the verifier rejects the case with.
    pub fn verify_with_limits(&self, limits: ProofLimits) -> Result<bool, RangeProofError> {
        verify_range_proof_with_limits(
            self.root,
            &self.origin,
            &self.keys,
            &self.values,
            &self.proof,
            limits,
        )
    }

    /// Total bytes of the proof nodes.
    pub fn proof_bytes(&self) -> usize {
        self.proof.iter().map(|n| n.len()).sum()
    }

    /// A copy with `mutation` applied.
    ///
    /// # Panics
    /// When an index of the mutation is out of bounds.
    #[must_use]
    pub fn with(&self, mutation: &Mutation) -> Self {
        let mut case = self.clone();
        match mutation {
            Mutation::DropLeaf(i) => {
                case.keys.remove(*i);
                case.values.remove(*i);
            }
            Mutation::SwapLeaves(a, b) => {
                case.keys.swap(*a, *b);
                case.values.swap(*a, *b);
            }
            Mutation::SetKey(i, key) => case.keys[*i].clone_from(key),
            Mutation::SetValue(i, value) => case.values[*i].clone_from(value),
            Mutation::InsertLeaf(i, key, value) => {
                case.keys.insert(*i, key.clone());
                case.values.insert(*i, value.clone());
            }
            Mutation::DropValue(i) => {
                case.values.remove(*i);
            }
            Mutation::DropProofNode(i) => {
                case.proof.remove(*i);
            }
            Mutation::SetProofNode(i, node) => case.proof[*i].clone_from(node),
            Mutation::AddProofNode(node) => case.proof.push(node.clone()),
            Mutation::ReverseProof => case.proof.reverse(),
            Mutation::SetOrigin(origin) => case.origin.clone_from(origin),
            Mutation::SetRoot(root) => case.root = *root,
        }
        case
    }
}

/// One change to a [`RangeCase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Remove leaf `i` (key and value).
    DropLeaf(usize),
    /// Exchange leaves `a` and `b`.
    SwapLeaves(usize, usize),
    /// Replace key `i`.
    SetKey(usize, Vec<u8>),
    /// Replace value `i`.
    SetValue(usize, Vec<u8>),
    /// Insert a leaf before position `i` (`i == len` appends).
    InsertLeaf(usize, Vec<u8>, Vec<u8>),
    /// Remove value `i` only, so keys and values differ in number.
    DropValue(usize),
    /// Remove proof node `i`.
    DropProofNode(usize),
    /// Replace proof node `i`.
    SetProofNode(usize, Bytes),
    /// Append a node to the proof.
    AddProofNode(Bytes),
    /// Reverse the order of the proof nodes.
    ReverseProof,
    /// Replace the origin.
    SetOrigin(Vec<u8>),
    /// Replace the trusted root.
    SetRoot(B256),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_apply() {
        let trie = TestTrie::new(crate::test_utils::random_leaves(1, 20, 32, 4..=4));
        assert_eq!(trie.len(), 20);
        let case = trie.range(trie.key(3), 3, 8);
        assert_eq!(case.keys.len(), 6);
        assert!(!case.proof.is_empty());
        assert_eq!(case.with(&Mutation::DropLeaf(0)).keys[0], trie.key(4));
        let swapped = case.with(&Mutation::SwapLeaves(0, 1));
        assert_eq!(
            (swapped.keys[0].as_slice(), swapped.keys[1].as_slice()),
            (trie.key(4), trie.key(3))
        );
        assert_eq!(case.with(&Mutation::DropValue(2)).values.len(), 5);
        assert_eq!(case.with(&Mutation::ReverseProof).proof.first(), case.proof.last());
        assert_eq!(case.with(&Mutation::InsertLeaf(6, vec![1], vec![2])).keys[6], vec![1]);
        assert_eq!(trie.lower_bound(trie.key(5)), 5);
        assert!(trie.contains(trie.key(5)));
        assert!(!trie.contains(&[0; 31]));
        assert_eq!(trie.whole(&[0; 32]).keys.len(), 20);
        let union = union_proofs([case.proof.clone(), case.proof.clone()]);
        assert_eq!(union, case.proof);
    }

    #[test]
    fn rehashed_replacement_stays_linked() {
        let trie = TestTrie::new(crate::test_utils::random_leaves(2, 500, 32, 20..=20));
        let case = trie.range(trie.key(100), 100, 300);
        let deepest = case.proof.len() - 1;
        let mut corrupted = case.proof[deepest].to_vec();
        let last = corrupted.len() - 1;
        corrupted[last] ^= 1;
        let (root, proof) =
            replace_node_rehashed(case.root, &case.proof, deepest, Bytes::from(corrupted));
        assert_ne!(root, case.root);
        assert_eq!(proof.len(), case.proof.len());
        // Every node but the root is referenced by another node of the new proof.
        let all: Vec<u8> = proof.iter().flat_map(|n| n.to_vec()).collect();
        for node in &proof {
            let hash = keccak256(node);
            assert!(hash == root || all.windows(32).any(|w| w == hash.as_slice()));
        }
        assert!(proof.iter().any(|n| keccak256(n) == root));
    }
}
