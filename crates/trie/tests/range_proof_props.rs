//! Property tests of `verify_range_proof` over random tries.
//!
//! Tries mix every shape from [`any_leaf_set`]: 1–4 byte keys (inline leaves and branches),
//! random 32-byte keys, and 32-byte keys in clusters differing in their last byte or two (hashed
//! upper levels over inline subtrees). For a random range `[i, j]` of the sorted leaves and an origin
//! that is either `keys[i]` or a key strictly between `keys[i - 1]` and `keys[i]`:
//! - the honest reply is accepted with `has_more == (j < n - 1)`, whatever the proof order, and
//!   with a node repeated;
//! - every single mutation is refused: a dropped leaf (first, middle), two adjacent leaves
//!   swapped, a key moved to a key absent from the trie (keeping the order), a value changed or
//!   emptied, a leaf added that the trie does not have, a proof node dropped or corrupted, a value
//!   missing, another root. Dropping the *last* leaf leaves an honest shorter range; it may be
//!   accepted, but only with `has_more == true`.
//!
//! Plus: empty replies (zero keys), `prove_range` against a proof walked through the built trie,
//! and fuzzing that must only ever produce errors, never panics.
//!
//! Case counts (all run by `cargo test --workspace --release`): honest and mutated ranges 6,000;
//! empty ranges 2,000; proofs against walked proofs 500; arbitrary bytes 2,000; well-formed garbage
//! nodes 1,500; corrupted and re-hashed honest proofs 1,500. Total 13,500.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, keccak256};
use proptest::{collection::vec, prelude::*, sample::Index};
use snapsync_primitives::test_utils::TestRng;
use snapsync_trie::test_utils::{
    Leaf, Mutation, RangeCase, TestTrie, any_leaf_set, checked_decrease_key, garbage_proof,
    mutate_byte, prove_key, random_key_between, replace_node_rehashed,
};
use snapsync_trie::{
    EMPTY_ROOT_HASH, ProofLimits, RangeProofError, TrieBuilder, VecSink, verify_range_proof,
};

/// Most leaves per generated trie.
const MAX_LEAVES: usize = 64;

/// A key of the trie's key length strictly between two bounds (`None`: open), if one exists.
fn between(
    rng: &mut TestRng,
    trie: &TestTrie,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Option<Vec<u8>> {
    random_key_between(rng, trie.key(0).len(), lo, hi)
}

/// A non-empty value different from `old`.
fn other_value(rng: &mut TestRng, old: &[u8]) -> Vec<u8> {
    let mut value = old.to_vec();
    match rng.below(3) {
        0 => mutate_byte(rng, &mut value),
        1 => value.push(rng.bytes(1)[0]),
        _ => value = rng.bytes_in(1..=40),
    }
    if value == old || value.is_empty() {
        value = old.to_vec();
        value.push(0);
    }
    value
}

/// The exclusive lower fence for a key placed at position `p` of the reply: the key before it, or
/// for `p == 0` the key just before the origin (`None`, open, when the origin is all zeros).
fn lower_fence(case: &RangeCase, p: usize) -> Option<Vec<u8>> {
    if p > 0 { Some(case.keys[p - 1].clone()) } else { checked_decrease_key(&case.origin) }
}

/// The exclusive upper fence for a key placed before position `p` of the reply of leaves
/// `..=j`: the reply's key at `p`, else the trie's next key, else `None` (open).
fn upper_fence(trie: &TestTrie, case: &RangeCase, j: usize, p: usize) -> Option<Vec<u8>> {
    match case.keys.get(p) {
        Some(key) => Some(key.clone()),
        None => (j + 1 < trie.len()).then(|| trie.key(j + 1).to_vec()),
    }
}

fn ordered(a: Index, b: Index, n: usize) -> (usize, usize) {
    let (x, y) = (a.index(n), b.index(n));
    (x.min(y), x.max(y))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6000))]

    /// Honest ranges are accepted with the right `has_more`; each single mutation is refused.
    #[test]
    fn honest_ranges_and_single_mutations(
        leaves in any_leaf_set(MAX_LEAVES),
        a in any::<Index>(),
        b in any::<Index>(),
        absent in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let trie = TestTrie::new(leaves);
        let n = trie.len();
        let (i, j) = ordered(a, b, n);
        let mut rng = TestRng::new(seed);
        let origin = trie.random_origin(&mut rng, i, absent);
        let case = trie.range(&origin, i, j);
        let has_more = j + 1 < n;
        let k = case.keys.len();
        let whole = i == 0 && j + 1 == n;

        // Honest: accepted, in any proof order, with a node repeated.
        prop_assert_eq!(case.verify(), Ok(has_more));
        prop_assert_eq!(case.with(&Mutation::ReverseProof).verify(), Ok(has_more));
        let repeated = case.proof[rng.below(case.proof.len())].clone();
        prop_assert_eq!(case.with(&Mutation::AddProofNode(repeated)).verify(), Ok(has_more));
        // Without a proof only the whole trie is accepted.
        let bare = trie.range_with_proof(&origin, i, j, Vec::new());
        if whole {
            prop_assert_eq!(bare.verify(), Ok(false));
        } else {
            prop_assert!(bare.verify().is_err());
        }

        // Drop the first leaf: it is at or after the origin, so the reply hides it.
        let result = case.with(&Mutation::DropLeaf(0)).verify();
        prop_assert!(result.is_err(), "first leaf dropped: {:?}", result);
        // Drop a middle leaf.
        if k >= 3 {
            let m = rng.in_range(1..=k - 2);
            let result = case.with(&Mutation::DropLeaf(m)).verify();
            prop_assert!(result.is_err(), "leaf {} dropped: {:?}", m, result);
        }
        // Drop the last leaf: an honest shorter range with a bloated proof. geth refuses it when
        // the new last key's path is not in the proof; it must never be reported complete.
        if k >= 2 {
            let result = case.with(&Mutation::DropLeaf(k - 1)).verify();
            prop_assert!(!matches!(result, Ok(false)), "last leaf dropped: {:?}", result);
        }
        // Swap two adjacent leaves.
        if k >= 2 {
            let p = rng.below(k - 1);
            prop_assert_eq!(
                case.with(&Mutation::SwapLeaves(p, p + 1)).verify(),
                Err(RangeProofError::KeysNotIncreasing { index: p + 1 })
            );
        }
        // Move a key to a key the trie does not have, keeping the order (below it down to the
        // origin or the previous key, or above it up to the next key of the trie).
        let p = rng.below(k);
        let below = lower_fence(&case, p);
        let next = upper_fence(&trie, &case, j, p + 1);
        // (`below` is `None` only for an all-zero origin: then every key is at or after it.)
        let candidates: Vec<_> = [
            between(&mut rng, &trie, below.as_deref(), Some(&case.keys[p])),
            between(&mut rng, &trie, Some(&case.keys[p]), next.as_deref()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(moved) = rng.pick(&candidates) {
            prop_assert!(!trie.contains(moved) && moved.as_slice() >= origin.as_slice());
            let result = case.with(&Mutation::SetKey(p, moved.clone())).verify();
            prop_assert!(result.is_err(), "key {} moved: {:?}", p, result);
        }
        // Change a value; empty one.
        let p = rng.below(k);
        let value = other_value(&mut rng, &case.values[p]);
        let result = case.with(&Mutation::SetValue(p, value)).verify();
        prop_assert!(result.is_err(), "value {} changed: {:?}", p, result);
        prop_assert_eq!(
            case.with(&Mutation::SetValue(p, Vec::new())).verify(),
            Err(RangeProofError::EmptyValue { index: p })
        );
        // Add a leaf the trie does not have, anywhere from the origin to the next key of the trie.
        let slot = rng.in_range(0..=k);
        let lo = lower_fence(&case, slot);
        let hi = upper_fence(&trie, &case, j, slot);
        if let Some(extra) = between(&mut rng, &trie, lo.as_deref(), hi.as_deref()) {
            prop_assert!(!trie.contains(&extra));
            let value = rng.bytes_in(1..=8);
            let result = case.with(&Mutation::InsertLeaf(slot, extra, value)).verify();
            prop_assert!(result.is_err(), "leaf added at {}: {:?}", slot, result);
        }
        // Drop a proof node: every node is on an edge path, so each one is needed, except that
        // with none left the reply is checked as the whole trie.
        let q = rng.below(case.proof.len());
        let result = case.with(&Mutation::DropProofNode(q)).verify();
        if case.proof.len() == 1 && whole {
            prop_assert_eq!(result, Ok(false));
        } else {
            prop_assert!(result.is_err(), "proof node {} dropped: {:?}", q, result);
        }
        // Corrupt a proof node (its hash no longer matches any reference).
        let mut corrupted = case.proof[q].to_vec();
        mutate_byte(&mut rng, &mut corrupted);
        let result = case.with(&Mutation::SetProofNode(q, Bytes::from(corrupted))).verify();
        prop_assert!(result.is_err(), "proof node {} corrupted: {:?}", q, result);
        // An origin after the first key (a reply starting before the request), or of another
        // length than the keys.
        let after_first = upper_fence(&trie, &case, j, 1);
        if let Some(late) = between(&mut rng, &trie, Some(&case.keys[0]), after_first.as_deref()) {
            let result = case.with(&Mutation::SetOrigin(late)).verify();
            prop_assert!(
                matches!(result, Err(RangeProofError::InvalidEdgeKeys { which: "first", .. })),
                "origin after the first key: {:?}", result
            );
        }
        let mut longer = origin;
        longer.push(0);
        let result = case.with(&Mutation::SetOrigin(longer)).verify();
        prop_assert!(
            matches!(result, Err(RangeProofError::KeyLength { index: None, .. })),
            "origin of another length: {:?}", result
        );
        // A value missing; another root.
        prop_assert_eq!(
            case.with(&Mutation::DropValue(rng.below(k))).verify(),
            Err(RangeProofError::LengthMismatch { keys: k, values: k - 1 })
        );
        let result = case.with(&Mutation::SetRoot(B256::from_slice(&rng.bytes(32)))).verify();
        prop_assert!(result.is_err(), "other root: {:?}", result);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Zero keys: accepted (`has_more == false`) only when nothing is at or after the origin.
    #[test]
    fn empty_ranges(
        leaves in any_leaf_set(MAX_LEAVES),
        pick in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let trie = TestTrie::new(leaves);
        let n = trie.len();
        let mut rng = TestRng::new(seed);

        // After the last key: an honest empty reply.
        if let Some(origin) = between(&mut rng, &trie, Some(trie.key(n - 1)), None) {
            let case = trie.empty_range(&origin);
            prop_assert_eq!(case.verify(), Ok(false));
            prop_assert_eq!(case.with(&Mutation::ReverseProof).verify(), Ok(false));
            // Every node of the origin's proof is needed; with none left, an empty reply is only
            // the whole trie of an empty trie.
            let q = rng.below(case.proof.len());
            let result = case.with(&Mutation::DropProofNode(q)).verify();
            prop_assert!(result.is_err(), "node {} dropped: {:?}", q, result);
            // The last leaf hidden behind an origin at or before it.
            let last = trie.key(n - 1).to_vec();
            let result = case.with(&Mutation::SetOrigin(last)).verify();
            prop_assert!(result.is_err(), "origin moved onto the last key: {:?}", result);
        }

        // At or before some key: an empty reply hides it.
        let i = pick.index(n);
        let absent = rng.chance(1, 2);
        let origin = trie.random_origin(&mut rng, i, absent);
        let case = trie.empty_range(&origin);
        prop_assert_eq!(case.verify(), Err(RangeProofError::MoreEntriesAvailable));
        // Even with the proof of the last key added (the proof a range reply would carry).
        let last_leaf = trie.proof(trie.key(n - 1), None).pop().unwrap();
        let with_last = case.with(&Mutation::AddProofNode(last_leaf));
        prop_assert!(with_last.verify().is_err());
    }
}

/// The hashed nodes of the trie, as a `TrieBuilder` emits them.
fn all_nodes(leaves: &[Leaf]) -> Vec<Bytes> {
    let mut builder = TrieBuilder::new(VecSink::default());
    for (k, v) in leaves {
        builder.add_leaf(k, v).unwrap();
    }
    builder.finish().unwrap().1.nodes.into_iter().map(|(_, node)| node).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// `prove_range` is the union of the proofs walked through the trie for each edge key (geth's
    /// `Prove`), root first, no duplicates, no inline node.
    #[test]
    fn prove_range_matches_walked_proofs(leaves in any_leaf_set(MAX_LEAVES), seed in any::<u64>()) {
        let trie = TestTrie::new(leaves);
        let nodes = all_nodes(&trie.leaves);
        let mut rng = TestRng::new(seed);
        let n = trie.len();
        let i = rng.below(n);
        let j = rng.in_range(i..=n - 1);
        let absent = rng.chance(1, 2);
        let origin = trie.random_origin(&mut rng, i, absent);
        for (origin, last) in [
            (origin.clone(), Some(trie.key(j).to_vec())),
            (origin, None),
            (between(&mut rng, &trie, None, None).unwrap(), between(&mut rng, &trie, None, None)),
        ] {
            let proof = trie.proof(&origin, last.as_deref());
            let mut expected = prove_key(trie.root, &nodes, &origin).unwrap();
            if let Some(last) = &last {
                expected.extend(prove_key(trie.root, &nodes, last).unwrap());
            }
            expected.sort();
            expected.dedup();
            let mut got = proof.clone();
            got.sort();
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(got.len(), proof.len(), "no duplicates");
            prop_assert_eq!(keccak256(&proof[0]), trie.root, "root first");
            prop_assert!(proof[1..].iter().all(|node| node.len() >= 32), "inline node listed");
        }
    }
}

/// Sorted, unique keys of one length, each with a non-empty value.
fn fuzz_leaves() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<Vec<u8>>)> {
    (0usize..=34, vec((vec(any::<u8>(), 34), vec(any::<u8>(), 1..8)), 0..6)).prop_map(
        |(key_len, raw)| {
            let map: std::collections::BTreeMap<_, _> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            map.into_iter().unzip()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes everywhere: errors only, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        first_key in vec(any::<u8>(), 0..40),
        (keys, values) in fuzz_leaves(),
        raw_keys in vec(vec(any::<u8>(), 0..40), 0..4),
        raw_values in vec(vec(any::<u8>(), 0..4), 0..4),
        proof in vec(vec(any::<u8>(), 0..120), 0..6),
        root in any::<[u8; 32]>(),
    ) {
        let linked = proof.first().map_or(B256::ZERO, keccak256);
        let roots = [B256::from(root), EMPTY_ROOT_HASH, linked];
        for root in roots {
            let _ = verify_range_proof(root, &first_key, &keys, &values, &proof);
            let _ = verify_range_proof(root, &first_key, &raw_keys, &raw_values, &proof);
            if let Some(first) = keys.first() {
                let _ = verify_range_proof(root, first, &keys, &values, &proof);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Well-formed RLP lists shaped like nodes, linked by hash from a root: errors only, never a
    /// panic, and never an acceptance of leaves the garbage trie cannot hold.
    #[test]
    fn garbage_nodes_never_panic(
        proof in garbage_proof(),
        (keys, values) in fuzz_leaves(),
        origin in vec(any::<u8>(), 0..34),
    ) {
        let root = keccak256(&proof[0]);
        let _ = verify_range_proof(root, &origin, &keys, &values, &proof);
        if let Some(first) = keys.first() {
            let _ = verify_range_proof(root, first, &keys, &values, &proof);
            let zero = vec![0u8; first.len()];
            let _ = verify_range_proof(root, &zero, &keys, &values, &proof);
        }
        let none: [Vec<u8>; 0] = [];
        let _ = verify_range_proof(root, &origin, &none, &none, &proof);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Honest proofs with one node corrupted and the hashes above it recomputed up to a new root:
    /// the verifier decodes the corrupted node in an otherwise consistent proof. Errors or
    /// acceptance, never a panic; and the untouched original root never accepts the result.
    #[test]
    fn corrupted_rehashed_proofs_never_panic(
        leaves in any_leaf_set(MAX_LEAVES),
        a in any::<Index>(),
        b in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let trie = TestTrie::new(leaves);
        let (i, j) = ordered(a, b, trie.len());
        let mut rng = TestRng::new(seed);
        let absent = rng.chance(1, 2);
        let origin = trie.random_origin(&mut rng, i, absent);
        let case = trie.range(&origin, i, j);
        let q = rng.below(case.proof.len());
        let mut node = case.proof[q].to_vec();
        match rng.below(4) {
            0 => mutate_byte(&mut rng, &mut node),
            1 => node.truncate(rng.below(node.len())),
            2 => node.extend(rng.bytes_in(1..=4)),
            _ => {
                for _ in 0..rng.in_range(2..=6) {
                    mutate_byte(&mut rng, &mut node);
                }
            }
        }
        let node = Bytes::from(node);
        let changed = node != case.proof[q];
        let (root, proof) = replace_node_rehashed(case.root, &case.proof, q, node.clone());
        let rehashed = RangeCase { root, proof, ..case.clone() };
        let _ = rehashed.verify();
        let _ = rehashed.with(&Mutation::DropLeaf(0)).verify();
        let none: [Vec<u8>; 0] = [];
        let _ = verify_range_proof(root, &origin, &none, &none, &rehashed.proof);
        // Against the real root, the corrupted proof proves nothing.
        if changed {
            let result = case.with(&Mutation::SetProofNode(q, node)).verify();
            prop_assert!(result.is_err(), "{:?}", result);
        }
    }
}

/// The empty trie: only the empty reply without a proof is accepted.
#[test]
fn empty_trie() {
    let none: [Vec<u8>; 0] = [];
    let no_proof: [Bytes; 0] = [];
    assert_eq!(verify_range_proof(EMPTY_ROOT_HASH, &[0u8; 32], &none, &none, &no_proof), Ok(false));
    let leaf = [[1u8; 32]];
    let value = [[1u8]];
    assert!(verify_range_proof(EMPTY_ROOT_HASH, &[0u8; 32], &leaf, &value, &no_proof).is_err());
    // A proof for a non-empty trie does not prove the empty one.
    let other = TestTrie::new(snapsync_trie::test_utils::random_leaves(1, 10, 32, 4..=4));
    let proof = other.proof(&[0u8; 32], None);
    assert!(verify_range_proof(EMPTY_ROOT_HASH, &[0u8; 32], &none, &none, &proof).is_err());
}

/// `ProofLimits` bound the node count and the total size, each exactly at its limit.
#[test]
fn proof_limits() {
    let trie = TestTrie::new(snapsync_trie::test_utils::random_leaves(2, 2000, 32, 20..=60));
    let case = trie.range(trie.key(500), 500, 900);
    let (count, bytes) = (case.proof.len(), case.proof_bytes());
    let exact = ProofLimits { max_nodes: count, max_bytes: bytes };
    assert_eq!(case.verify_with_limits(exact), Ok(true));
    assert_eq!(
        case.verify_with_limits(ProofLimits { max_nodes: count - 1, ..exact }),
        Err(RangeProofError::TooManyProofNodes { count, max: count - 1 })
    );
    assert_eq!(
        case.verify_with_limits(ProofLimits { max_bytes: bytes - 1, ..exact }),
        Err(RangeProofError::ProofTooLarge { bytes, max: bytes - 1 })
    );
    // The default limits admit a proof bloated with the proof of every leaf.
    let bloated = snapsync_trie::test_utils::union_proofs(
        (0..trie.len()).map(|i| trie.proof(trie.key(i), None)),
    );
    let case = trie.range_with_proof(trie.key(500), 500, 900, bloated);
    assert!(case.proof.len() > 2000);
    assert_eq!(case.verify(), Ok(true));
}

/// A trie of one leaf, whose root node is that leaf (inline-sized or not).
#[test]
fn single_leaf_tries() {
    for value_len in [1, 40] {
        let trie = TestTrie::new(vec![(vec![0x42; 32], vec![7; value_len])]);
        assert_eq!(trie.range(&[0x42; 32], 0, 0).verify(), Ok(false));
        assert_eq!(trie.range(&[0x00; 32], 0, 0).verify(), Ok(false));
        assert_eq!(trie.whole(&[0x42; 32]).verify(), Ok(false));
        assert_eq!(trie.empty_range(&[0x43; 32]).verify(), Ok(false));
        assert_eq!(
            trie.empty_range(&[0x41; 32]).verify(),
            Err(RangeProofError::MoreEntriesAvailable)
        );
        assert_eq!(
            trie.empty_range(&[0x42; 32]).verify(),
            Err(RangeProofError::MoreEntriesAvailable)
        );
        let wrong = trie.range(&[0x42; 32], 0, 0).with(&Mutation::SetValue(0, vec![8; value_len]));
        assert!(wrong.verify().is_err());
    }
}
