//! Fuzz target for the range-proof verifier: `verify_range_proof`,
//! `verify_range_proof_with_limits` and `verify_range_proof_nodes`.
//!
//! Random tries (every shape of `fuzz_leaf_set`: inline-heavy, state-like, clustered with hashed
//! leaves at the bottom, tiny), honest replies cut from them, and replies with one to four random
//! mutations of keys, values, origin and proof. Properties:
//! - honest replies are accepted by all three entry points with the right `has_more`, and the
//!   nodes `verify_range_proof_nodes` emits are nodes of the trie and hash-consistent (each one
//!   referenced by hash from its emitted parent, the root last);
//! - soundness whatever the mutation: an accepted reply holds exactly the trie's leaves from the
//!   origin to its last key (none at or after the origin when empty) and the right `has_more`;
//! - semantically neutral mutations (a proof node repeated, the proof shuffled, an unused node of
//!   the trie or a garbage node added) change nothing, emitted nodes included;
//! - the three entry points always agree on acceptance and `has_more`; `ProofLimits` refuse
//!   exactly the proofs over them;
//! - garbage (arbitrary bytes, node-shaped lists linked by hash, honest proofs with a corrupted
//!   node re-hashed up to a new root) never panics, and whatever it gets accepted with emits
//!   hash-consistent nodes.
//!
//! Case counts are small for CI (a few seconds in release); `PROPTEST_CASES` raises them for a
//! long run: `PROPTEST_CASES=20000 cargo test --release -p snapsync-trie --test fuzz_verify`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, keccak256};
use proptest::{collection::vec, prelude::*, sample::Index};
use snapsync_primitives::test_utils::{TestRng, fuzz_config};
use snapsync_trie::test_utils::{
    RangeCase, TestTrie, all_trie_nodes, check_range_nodes, fuzz_leaf_set, garbage_proof,
    mutate_byte, random_key_between, replace_node_rehashed,
};
use snapsync_trie::{
    EMPTY_ROOT_HASH, ProofLimits, RangeNodes, RangeProofError, verify_range_proof,
    verify_range_proof_nodes, verify_range_proof_with_limits,
};
use std::collections::HashSet;

/// Most leaves per generated trie.
const MAX_LEAVES: usize = 64;

type Verdict = Result<bool, RangeProofError>;

/// Runs the three entry points on `case` and checks that they agree on acceptance and
/// `has_more`, and that accepted nodes are hash-consistent. Returns the verdict and the nodes.
fn verify_all(case: &RangeCase) -> Result<(Verdict, Option<RangeNodes>), TestCaseError> {
    let plain = verify_range_proof(case.root, &case.origin, &case.keys, &case.values, &case.proof);
    let limited = verify_range_proof_with_limits(
        case.root,
        &case.origin,
        &case.keys,
        &case.values,
        &case.proof,
        ProofLimits::default(),
    );
    prop_assert_eq!(&plain, &limited);
    let nodes = verify_range_proof_nodes(
        case.root,
        &case.origin,
        &case.keys,
        &case.values,
        &case.proof,
        ProofLimits::default(),
    );
    prop_assert_eq!(
        plain.as_ref().ok(),
        nodes.as_ref().ok().map(|n| &n.has_more),
        "verify_range_proof {:?} vs verify_range_proof_nodes {:?}",
        plain,
        nodes.as_ref().map(|n| n.has_more)
    );
    if let Ok(nodes) = &nodes {
        check_range_nodes(case.root, &nodes.nodes).map_err(TestCaseError::fail)?;
    }
    Ok((plain, nodes.ok()))
}

/// [`verify_all`] when only its checks matter.
fn agree(case: &RangeCase) -> Result<(), TestCaseError> {
    verify_all(case).map(drop)
}

fn ordered(a: Index, b: Index, n: usize) -> (usize, usize) {
    let (x, y) = (a.index(n), b.index(n));
    (x.min(y), x.max(y))
}

/// A random key of the trie's key length, strictly between two bounds (`None`: open).
fn key_between(
    rng: &mut TestRng,
    trie: &TestTrie,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Option<Vec<u8>> {
    random_key_between(rng, trie.key(0).len(), lo, hi)
}

/// What one mutation did, for the expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// The reply means the same: it must verify exactly as before.
    Neutral,
    /// Anything else: refused, or accepted only if still the truth.
    Other,
}

/// Applies one random mutation to `case`, describing it in `log`.
#[allow(clippy::too_many_lines)]
fn mutate(
    rng: &mut TestRng,
    trie: &TestTrie,
    nodes: &[Bytes],
    case: &mut RangeCase,
    log: &mut Vec<String>,
) -> Effect {
    let k = case.keys.len();
    let q = case.proof.len();
    let kind = rng.below(18);
    match kind {
        // Neutral: a node repeated, the proof shuffled, unused nodes added.
        0 if q > 0 => {
            let node = case.proof[rng.below(q)].clone();
            let at = rng.in_range(0..=q);
            case.proof.insert(at, node);
            log.push(format!("repeat a proof node at {at}"));
            Effect::Neutral
        }
        1 if q > 1 => {
            for i in (1..q).rev() {
                case.proof.swap(i, rng.below(i + 1));
            }
            log.push("shuffle the proof".into());
            Effect::Neutral
        }
        2 if q > 0 => {
            let node = nodes[rng.below(nodes.len())].clone();
            log.push(format!("add trie node {:02x?}..", &node[..node.len().min(4)]));
            case.proof.push(node);
            Effect::Neutral
        }
        3 if q > 0 => {
            let node = Bytes::from(rng.bytes_in(0..=80));
            log.push("add a garbage node".into());
            case.proof.push(node);
            Effect::Neutral
        }
        // Keys and values.
        4 if k > 0 => {
            let p = rng.below(k);
            case.keys.remove(p);
            case.values.remove(p);
            log.push(format!("drop leaf {p}"));
            Effect::Other
        }
        5 if k > 0 => {
            let p = rng.below(k);
            let value = &mut case.values[p];
            match rng.below(4) {
                0 => mutate_byte(rng, value),
                1 => value.push(rng.bytes(1)[0]),
                2 => value.truncate(rng.below(value.len())),
                _ => *value = rng.bytes_in(1..=40),
            }
            log.push(format!("change value {p}"));
            Effect::Other
        }
        6 if k > 0 => {
            let p = rng.below(k);
            mutate_byte(rng, &mut case.keys[p]);
            log.push(format!("change a byte of key {p}"));
            Effect::Other
        }
        7 if k > 1 => {
            let p = rng.below(k - 1);
            case.keys.swap(p, p + 1);
            case.values.swap(p, p + 1);
            log.push(format!("swap leaves {p} and {}", p + 1));
            Effect::Other
        }
        8 if k > 0 => {
            // Move a key to a random key between its neighbours (order kept).
            let p = rng.below(k);
            let lo = if p > 0 { Some(case.keys[p - 1].clone()) } else { None };
            let hi = case.keys.get(p + 1).cloned();
            if let Some(key) = key_between(rng, trie, lo.as_deref(), hi.as_deref()) {
                case.keys[p] = key;
            }
            log.push(format!("move key {p}"));
            Effect::Other
        }
        9 => {
            // An extra leaf after the last key: the trie's next one (true value) or a random key.
            let last = case.keys.last().cloned().unwrap_or_else(|| case.origin.clone());
            let next = trie.leaves.iter().find(|(key, _)| key.as_slice() > last.as_slice());
            match (rng.chance(1, 2), next) {
                (true, Some((key, value))) => {
                    case.keys.push(key.clone());
                    case.values.push(value.clone());
                    log.push("append the next leaf of the trie".into());
                }
                _ => {
                    if last.len() == trie.key(0).len()
                        && let Some(key) = key_between(rng, trie, Some(&last), None)
                    {
                        case.keys.push(key);
                        case.values.push(rng.bytes_in(1..=8));
                    }
                    log.push("append a random leaf".into());
                }
            }
            Effect::Other
        }
        10 => {
            // An extra leaf before the first key: the trie's previous one or a random key.
            let first = case.keys.first().cloned().unwrap_or_else(|| case.origin.clone());
            let previous =
                trie.leaves.iter().rev().find(|(key, _)| key.as_slice() < first.as_slice());
            match (rng.chance(1, 2), previous) {
                (true, Some((key, value))) => {
                    case.keys.insert(0, key.clone());
                    case.values.insert(0, value.clone());
                    log.push("prepend the previous leaf of the trie".into());
                }
                _ => {
                    if first.len() == trie.key(0).len()
                        && let Some(key) = key_between(rng, trie, None, Some(&first))
                    {
                        case.keys.insert(0, key);
                        case.values.insert(0, rng.bytes_in(1..=8));
                    }
                    log.push("prepend a random leaf".into());
                }
            }
            Effect::Other
        }
        11 => {
            // Move the origin: anywhere up to the first key, or onto/after it.
            let limit = case.keys.first().cloned();
            let len = trie.key(0).len();
            let origin = match (rng.below(3), limit) {
                (0, Some(first)) => random_key_between(rng, len, None, Some(&first)),
                (1, Some(first)) => Some(first),
                _ => random_key_between(rng, len, None, None),
            };
            if let Some(origin) = origin {
                case.origin = origin;
            }
            log.push("move the origin".into());
            Effect::Other
        }
        12 if q > 0 => {
            let at = rng.below(q);
            case.proof.remove(at);
            log.push(format!("drop proof node {at}"));
            Effect::Other
        }
        13 if q > 0 => {
            let at = rng.below(q);
            let mut node = case.proof[at].to_vec();
            match rng.below(3) {
                0 => mutate_byte(rng, &mut node),
                1 => node.truncate(rng.below(node.len())),
                _ => node.extend(rng.bytes_in(1..=4)),
            }
            case.proof[at] = Bytes::from(node);
            log.push(format!("corrupt proof node {at}"));
            Effect::Other
        }
        14 if q > 0 => {
            // Replace a proof node by another node of the trie.
            let at = rng.below(q);
            case.proof[at] = nodes[rng.below(nodes.len())].clone();
            log.push(format!("replace proof node {at} by another trie node"));
            Effect::Other
        }
        15 => {
            // The proof of other edge keys (a bloated or mismatched proof).
            let a = trie.key(rng.below(trie.len())).to_vec();
            let b = trie.key(rng.below(trie.len())).to_vec();
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            case.proof = trie.proof(&a, Some(&b));
            log.push("the proof of another range".into());
            Effect::Other
        }
        16 => {
            case.proof.clear();
            log.push("drop the whole proof".into());
            Effect::Other
        }
        17 if k > 0 => {
            let p = rng.below(k);
            case.values[p].clear();
            log.push(format!("empty value {p}"));
            Effect::Other
        }
        _ => {
            log.push(format!("(mutation {kind} does not apply)"));
            Effect::Neutral
        }
    }
}

/// Checks one honest case and any number of random mutations of it.
fn check_case(
    trie: &TestTrie,
    case: &RangeCase,
    rng: &mut TestRng,
    mutations: usize,
) -> Result<(), TestCaseError> {
    let (honest, honest_nodes) = verify_all(case)?;
    let has_more = match &honest {
        Ok(has_more) => *has_more,
        Err(e) => return Err(TestCaseError::fail(format!("honest reply refused: {e}"))),
    };
    trie.check_accepted(case, has_more).map_err(TestCaseError::fail)?;
    let trie_nodes = all_trie_nodes(&trie.leaves);
    let hashed: HashSet<&Bytes> = trie_nodes.iter().collect();
    for (path, node) in &honest_nodes.as_ref().unwrap().nodes {
        prop_assert!(hashed.contains(node), "emitted node at {:?} is not in the trie", path);
    }

    let mut mutated = case.clone();
    let mut log = Vec::new();
    let mut neutral = true;
    for _ in 0..mutations {
        neutral &= mutate(rng, trie, &trie_nodes, &mut mutated, &mut log) == Effect::Neutral;
    }
    let (verdict, nodes) = verify_all(&mutated)?;
    if neutral {
        prop_assert_eq!(&verdict, &honest, "neutral mutations {:?} changed the verdict", log);
        prop_assert_eq!(
            nodes.map(|n| n.nodes),
            honest_nodes.map(|n| n.nodes),
            "neutral mutations {:?} changed the nodes",
            log
        );
    } else if let Ok(has_more) = verdict {
        trie.check_accepted(&mutated, has_more)
            .map_err(|e| TestCaseError::fail(format!("after {log:?}: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config(2500))]

    /// Honest replies from a random origin, then one to four random mutations.
    #[test]
    fn mutated_ranges(
        leaves in fuzz_leaf_set(MAX_LEAVES),
        a in any::<Index>(),
        b in any::<Index>(),
        absent in any::<bool>(),
        mutations in 1usize..=4,
        seed in any::<u64>(),
    ) {
        let trie = TestTrie::new(leaves);
        let (i, j) = ordered(a, b, trie.len());
        let mut rng = TestRng::new(seed);
        let origin = trie.random_origin(&mut rng, i, absent);
        let case = trie.range(&origin, i, j);
        check_case(&trie, &case, &mut rng, mutations)?;
    }

    /// Empty replies (an origin after the last key, honest) and replies without a proof (the
    /// whole trie, honest), then random mutations; an empty reply hiding leaves is refused.
    #[test]
    fn empty_and_whole_replies(
        leaves in fuzz_leaf_set(MAX_LEAVES),
        pick in any::<Index>(),
        mutations in 1usize..=3,
        seed in any::<u64>(),
    ) {
        let trie = TestTrie::new(leaves);
        let n = trie.len();
        let mut rng = TestRng::new(seed);
        if let Some(origin) = key_between(&mut rng, &trie, Some(trie.key(n - 1)), None) {
            check_case(&trie, &trie.empty_range(&origin), &mut rng, mutations)?;
        }
        let origin = trie.random_origin(&mut rng, 0, true);
        check_case(&trie, &trie.whole(&origin), &mut rng, mutations)?;
        // An empty reply from at or before some leaf hides it.
        let i = pick.index(n);
        let absent = rng.chance(1, 2);
        let origin = trie.random_origin(&mut rng, i, absent);
        let (verdict, _) = verify_all(&trie.empty_range(&origin))?;
        prop_assert_eq!(verdict, Err(RangeProofError::MoreEntriesAvailable));
    }

    /// `ProofLimits` refuse exactly the proofs over them, and change nothing else.
    #[test]
    fn proof_limits(
        leaves in fuzz_leaf_set(MAX_LEAVES),
        a in any::<Index>(),
        b in any::<Index>(),
        max_nodes in 0usize..12,
        max_bytes in 0usize..3000,
    ) {
        let trie = TestTrie::new(leaves);
        let (i, j) = ordered(a, b, trie.len());
        let case = trie.range(trie.key(i), i, j);
        let limits = ProofLimits { max_nodes, max_bytes };
        let (count, bytes) = (case.proof.len(), case.proof_bytes());
        let expected = if count > max_nodes {
            Err(RangeProofError::TooManyProofNodes { count, max: max_nodes })
        } else if bytes > max_bytes {
            Err(RangeProofError::ProofTooLarge { bytes, max: max_bytes })
        } else {
            case.verify()
        };
        prop_assert_eq!(&case.verify_with_limits(limits), &expected);
        let nodes = verify_range_proof_nodes(case.root, &case.origin, &case.keys, &case.values, &case.proof, limits);
        prop_assert_eq!(nodes.map(|n| n.has_more), expected);
    }
}

/// Sorted, unique keys of one length (0 to 34 bytes), each with a value (sometimes empty).
fn fuzz_leaves() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<Vec<u8>>)> {
    (0usize..=34, vec((vec(any::<u8>(), 34), vec(any::<u8>(), 0..40)), 0..6)).prop_map(
        |(key_len, raw)| {
            let map: std::collections::BTreeMap<_, _> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), v)).collect();
            map.into_iter().unzip()
        },
    )
}

/// A garbage case: the given proof under its own root (its first node's hash), the zero hash
/// or the empty root.
fn garbage_cases(
    proof: &[Bytes],
    origin: &[u8],
    keys: &[Vec<u8>],
    values: &[Vec<u8>],
) -> Vec<RangeCase> {
    let linked = proof.first().map_or(B256::ZERO, keccak256);
    let mut cases = Vec::new();
    for root in [linked, B256::ZERO, EMPTY_ROOT_HASH] {
        let case = RangeCase {
            root,
            origin: origin.to_vec(),
            keys: keys.to_vec(),
            values: values.to_vec(),
            proof: proof.to_vec(),
        };
        if let Some(first) = keys.first() {
            cases.push(RangeCase { origin: first.clone(), ..case.clone() });
            cases.push(RangeCase { origin: vec![0; first.len()], ..case.clone() });
        }
        cases.push(RangeCase { keys: Vec::new(), values: Vec::new(), ..case.clone() });
        cases.push(case);
    }
    cases
}

proptest! {
    #![proptest_config(fuzz_config(2500))]

    /// Arbitrary bytes as proof nodes: never a panic, the entry points agree.
    #[test]
    fn arbitrary_proofs(
        origin in vec(any::<u8>(), 0..40),
        (keys, values) in fuzz_leaves(),
        proof in vec(vec(any::<u8>(), 0..120).prop_map(Bytes::from), 0..6),
    ) {
        for case in garbage_cases(&proof, &origin, &keys, &values) {
            agree(&case)?;
        }
    }

    /// Node-shaped lists linked by hash from a root: never a panic, the entry points agree, and
    /// anything accepted emits hash-consistent nodes.
    #[test]
    fn garbage_node_proofs(
        proof in garbage_proof(),
        origin in vec(any::<u8>(), 0..34),
        (keys, values) in fuzz_leaves(),
    ) {
        for case in garbage_cases(&proof, &origin, &keys, &values) {
            agree(&case)?;
        }
    }

    /// Honest proofs with one node corrupted and the hashes above it recomputed up to a new
    /// root, so the corruption is reached; against the new root, anything may be accepted
    /// consistently; against the true root, nothing is.
    #[test]
    fn rehashed_corruptions(
        leaves in fuzz_leaf_set(MAX_LEAVES),
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
        for _ in 0..rng.in_range(1..=3) {
            match rng.below(3) {
                0 => mutate_byte(&mut rng, &mut node),
                1 => node.truncate(rng.below(node.len().max(1))),
                _ => node.extend(rng.bytes_in(1..=4)),
            }
        }
        let node = Bytes::from(node);
        let (root, proof) = replace_node_rehashed(case.root, &case.proof, q, node.clone());
        let rehashed = RangeCase { root, proof, ..case.clone() };
        agree(&rehashed)?;
        let mut shorter = rehashed;
        shorter.keys.truncate(rng.below(case.keys.len()));
        shorter.values.truncate(shorter.keys.len());
        agree(&shorter)?;
        if node != case.proof[q] {
            let mut against_true_root = case;
            against_true_root.proof[q] = node;
            let (verdict, _) = verify_all(&against_true_root)?;
            if let Ok(has_more) = verdict {
                trie.check_accepted(&against_true_root, has_more).map_err(TestCaseError::fail)?;
            }
        }
    }
}
