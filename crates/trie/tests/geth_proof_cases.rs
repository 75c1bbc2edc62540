//! geth's range-proof tests (`trie/proof_test.go`), re-created case by case against our API.
//!
//! Translation rules:
//! - geth builds the proof database with one `trie.Prove(key)` per edge key; our
//!   `prove_range(all_leaves, origin, Some(last))` is exactly the union of those two proofs, and
//!   `prove_range(all_leaves, key, None)` is a single `Prove`. [`TestTrie::range`] does this.
//! - geth draws its tries from a random seed printed at start-up; ours come from fixed seeds with
//!   the same shapes ([`geth_random_leaves`] is geth's `randomTrie`, [`geth_non_random_leaves`] its
//!   `nonRandomTrie`), so every run checks the same cases.
//! - Where geth passes only through a quirk our contract deliberately drops (a `first_key` that is
//!   not a key of the same length as the returned keys, or that lies after the first returned key),
//!   the test asserts our stricter outcome and says why.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{Bytes, hex};
use snapsync_primitives::test_utils::TestRng;
use snapsync_trie::test_utils::{
    Mutation, RangeCase, TestTrie, decrease_key, geth_non_random_leaves, geth_random_leaves,
    increase_key, random_key_between, random_leaves, union_proofs,
};
use snapsync_trie::{RangeProofError, verify_range_proof};

/// geth's `randomTrie(4096)`: 110 small inlined entries plus 4,096 random ones.
fn geth_trie(seed: u64) -> TestTrie {
    TestTrie::new(geth_random_leaves(seed, 4096))
}

/// `n` random 32-byte keys with 20-byte values (geth's tries in `TestSingleSideRangeProof` and
/// `TestHasRightElement`).
fn plain_trie(seed: u64, n: usize) -> TestTrie {
    TestTrie::new(random_leaves(seed, n, 32, 20..=20))
}

const ZERO: [u8; 32] = [0; 32];

/// geth's `TestRangeProof`: random ranges of existing keys, `first_key` = the first key. All
/// accepted, and `has_more` says whether the range stops before the last leaf.
#[test]
fn range_proof() {
    let trie = geth_trie(1);
    let mut rng = TestRng::new(101);
    for round in 0..500 {
        let start = rng.below(trie.len());
        let last = rng.in_range(start..=trie.len() - 1);
        let case = trie.range(trie.key(start), start, last);
        assert_eq!(case.verify(), Ok(last + 1 < trie.len()), "round {round}: {start}..={last}");
    }
}

/// geth's `TestRangeProofWithNonExistentProof`: random ranges whose `first_key` is the key just
/// before the first returned one and absent from the trie (the left edge proves absence).
#[test]
fn range_proof_with_non_existent_proof() {
    let trie = geth_trie(2);
    let mut rng = TestRng::new(102);
    let mut checked = 0;
    for round in 0..500 {
        let start = rng.below(trie.len());
        let last = rng.in_range(start..=trie.len() - 1);
        let first = decrease_key(trie.key(start));
        // Like geth: skip when the decreased key is the previous leaf or wrapped around.
        if (start > 0 && first == trie.key(start - 1)) || first.as_slice() > trie.key(start) {
            continue;
        }
        let case = trie.range(&first, start, last);
        assert_eq!(case.verify(), Ok(last + 1 < trie.len()), "round {round}: {start}..={last}");
        checked += 1;
    }
    assert!(checked > 400, "too many rounds skipped: {checked}");
}

/// geth's `TestRangeProofWithInvalidNonExistentProof`: the proof covers `first_key` (the key just
/// before leaf 100) and leaf 199, but the reply starts at leaf 105: leaves 100..=104 are hidden in
/// the gap between `first_key` and the first returned key.
///
/// In geth's trie, as in ours, leaf 100 is one of the small padded keys, so the key before it is
/// leaf 99 and the left edge is in fact an existence proof. We also run the case where `first_key`
/// is truly absent (around leaf 1000, among the random keys).
#[test]
fn range_proof_with_invalid_non_existent_proof() {
    let trie = geth_trie(3);
    for (start, end) in [(100, 199), (1000, 1099)] {
        let first = decrease_key(trie.key(start));
        let proof = trie.proof(&first, Some(trie.key(end)));
        let gapped = trie.range_with_proof(&first, start + 5, end, proof.clone());
        assert!(
            matches!(gapped.verify(), Err(RangeProofError::RootMismatch { .. })),
            "{start}..={end}: {:?}",
            gapped.verify()
        );
        if !trie.contains(&first) {
            let honest = trie.range_with_proof(&first, start, end, proof);
            assert_eq!(honest.verify(), Ok(true), "{start}..={end} without the gap");
        }
    }
    assert!(trie.contains(&decrease_key(trie.key(100))), "geth's case proves existence");
    assert!(!trie.contains(&decrease_key(trie.key(1000))), "the added case proves absence");
}

/// geth's `TestOneElementRangeProof`: one returned leaf with every combination of existent and
/// absent edge keys, and a trie of a single leaf.
#[test]
fn one_element_range_proof() {
    let trie = geth_trie(4);
    let start = 1000;
    let key = trie.key(start).to_vec();

    // Both edges are the key itself: a plain existence proof.
    let case = trie.range_with_proof(&key, start, start, trie.proof(&key, None));
    assert_eq!(case.verify(), Ok(true), "existent edge proof");

    // Left edge absent (the key just before), right edge the key.
    let first = decrease_key(&key);
    let case = trie.range(&first, start, start);
    assert_eq!(case.verify(), Ok(true), "left non-existent edge proof");

    // Left edge the key, the proof also covers the absent key just after it.
    let after = increase_key(&key);
    let case = trie.range_with_proof(&key, start, start, trie.proof(&key, Some(&after)));
    assert_eq!(case.verify(), Ok(true), "right non-existent edge proof");

    // Both edge proofs for absent keys around the single leaf.
    let case = trie.range_with_proof(&first, start, start, trie.proof(&first, Some(&after)));
    assert_eq!(case.verify(), Ok(true), "two non-existent edge proofs");

    // A trie with a single leaf, requested from the zero key.
    let tiny = plain_trie(40, 1);
    let case = tiny.range(&ZERO, 0, 0);
    assert_eq!(case.verify(), Ok(false), "single-leaf trie");
}

/// geth's `TestAllElementsProof`: the whole trie, without a proof, with the proof of the first and
/// last keys, and with the proof of the zero key and the last key. Nothing remains on the right.
///
/// geth passes a nil `first_key` in the proof-less call, where it ignores it. Our contract wants
/// `first_key` to be a key of the returned keys' length that is not after the first one (a snap/1
/// request always has a 32-byte origin), so the proof-less call passes the zero key here, and
/// [`empty_proof_checks_first_key`] checks that a nil or late `first_key` is refused.
#[test]
fn all_elements_proof() {
    let trie = geth_trie(5);
    let last = trie.len() - 1;
    assert_eq!(trie.whole(&ZERO).verify(), Ok(false), "no proof");
    assert_eq!(trie.whole(trie.key(0)).verify(), Ok(false), "no proof, first_key = first key");
    assert_eq!(trie.range(trie.key(0), 0, last).verify(), Ok(false), "existent edge proofs");
    assert_eq!(trie.range(&ZERO, 0, last).verify(), Ok(false), "non-existent left edge proof");
}

/// Our deliberate difference on `TestAllElementsProof` / `TestAllElementsEmptyValueRangeProof`:
/// geth ignores `first_key` when there is no proof (it is passed as nil there). Our contract makes
/// `first_key` a key of the same length as the returned keys, not after the first one, whenever
/// there are keys; a snap/1 peer must answer from the requested origin even when its reply is the
/// whole trie.
#[test]
fn empty_proof_checks_first_key() {
    let trie = geth_trie(6);
    let nil_first_key = trie.whole(&[]).verify();
    assert!(
        matches!(nil_first_key, Err(RangeProofError::KeyLength { index: None, len: 0, .. })),
        "nil first_key with keys: {nil_first_key:?}"
    );
    let late_first_key = trie.whole(trie.key(1)).verify();
    assert!(
        matches!(late_first_key, Err(RangeProofError::InvalidEdgeKeys { which: "first", .. })),
        "first_key after the first key: {late_first_key:?}"
    );
}

/// geth's `TestSingleSideRangeProof`: 64 tries of 4,096 random leaves; ranges from the zero key
/// (absent) up to leaf 0, 1, 50, 100, 1000, 2000 and the last one.
#[test]
fn single_side_range_proof() {
    for round in 0..64 {
        let trie = plain_trie(1000 + round, 4096);
        for pos in [0, 1, 50, 100, 1000, 2000, trie.len() - 1] {
            let case = trie.range(&ZERO, 0, pos);
            assert_eq!(case.verify(), Ok(pos + 1 < trie.len()), "trie {round}, up to leaf {pos}");
        }
    }
}

/// A random index in `0..len` (geth's `mrand.Intn(len)`).
fn pick(rng: &mut TestRng, len: usize) -> usize {
    rng.below(len)
}

/// geth's `TestBadRangeProof`: random honest ranges (`first_key` = the first key), each broken in
/// one of geth's six ways — here every way on every range instead of one drawn at random:
/// 0. a key replaced by a random key; 1. a value replaced by a random value; 2. a leaf dropped
///    ("gapped"); 3. two leaves swapped ("out of order"); 4. a key set to nil; 5. a value set to
///    nil (a deletion).
///
/// Two more kinds: 6. a leaf replaced by the trie's last leaf ("switched entry", from earlier
/// versions of the geth test); 7. an extra leaf, absent from the trie, inserted in key order
/// between two returned leaves.
///
/// geth skips dropping the last leaf (and the first one when `start < 100`). Dropping the first
/// leaf must still fail here: it equals `first_key`, so it is inside the proven range. Dropping the
/// last leaf leaves an honest, shorter range whose proof also covers a key on its right, which a
/// verifier may reject (when the new last key's path is not in the proof, geth's outcome) or
/// accept with `has_more = true`; it must never report the range as complete.
#[test]
fn bad_range_proof() {
    let trie = geth_trie(7);
    let mut rng = TestRng::new(107);
    for round in 0..500 {
        let start = rng.below(trie.len());
        let last = rng.in_range(start..=trie.len() - 1);
        let case = trie.range(trie.key(start), start, last);
        let n = case.keys.len();
        let ctx = format!("round {round}, range {start}..={last}");

        // 0. Modified key.
        let index = pick(&mut rng, n);
        let bad = case.with(&Mutation::SetKey(index, rng.bytes(32)));
        assert!(bad.verify().is_err(), "{ctx}: key {index} replaced");

        // 1. Modified value.
        let index = pick(&mut rng, n);
        let bad = case.with(&Mutation::SetValue(index, rng.bytes(20)));
        assert!(bad.verify().is_err(), "{ctx}: value {index} replaced");

        // 2. Gapped.
        let index = pick(&mut rng, n);
        let result = case.with(&Mutation::DropLeaf(index)).verify();
        if index == n - 1 {
            assert!(!matches!(result, Ok(false)), "{ctx}: last leaf dropped: {result:?}");
        } else {
            assert!(result.is_err(), "{ctx}: leaf {index} dropped");
        }

        // 3. Out of order.
        if n >= 2 {
            let a = pick(&mut rng, n);
            let b = (a + 1 + pick(&mut rng, n - 1)) % n;
            let bad = case.with(&Mutation::SwapLeaves(a, b));
            assert_eq!(
                bad.verify(),
                Err(RangeProofError::KeysNotIncreasing { index: a.min(b) + 1 }),
                "{ctx}: leaves {a} and {b} swapped"
            );
        }

        // 4. Nil key.
        let index = pick(&mut rng, n);
        let result = case.with(&Mutation::SetKey(index, Vec::new())).verify();
        assert!(
            matches!(
                result,
                Err(RangeProofError::KeysNotIncreasing { .. } | RangeProofError::KeyLength { .. })
            ),
            "{ctx}: key {index} nil: {result:?}"
        );

        // 5. Nil value.
        let index = pick(&mut rng, n);
        let bad = case.with(&Mutation::SetValue(index, Vec::new()));
        assert_eq!(bad.verify(), Err(RangeProofError::EmptyValue { index }), "{ctx}: value nil");

        // 6. Switched entry: a leaf replaced by the trie's last leaf (unless it is that leaf).
        let index = pick(&mut rng, n);
        let (last_key, last_value) = trie.leaves[trie.len() - 1].clone();
        if case.keys[index] != last_key {
            let bad = case
                .with(&Mutation::SetKey(index, last_key))
                .with(&Mutation::SetValue(index, last_value));
            assert!(bad.verify().is_err(), "{ctx}: leaf {index} switched to the trie's last");
        }

        // 7. Extra element between two returned leaves, absent from the trie.
        if n >= 2 {
            let slot = 1 + pick(&mut rng, n - 1);
            let (lo, hi) = (&case.keys[slot - 1], &case.keys[slot]);
            if let Some(extra) = random_key_between(&mut rng, 32, Some(lo), Some(hi)) {
                let bad = case.with(&Mutation::InsertLeaf(slot, extra, rng.bytes(20)));
                assert!(bad.verify().is_err(), "{ctx}: extra leaf at {slot}");
            }
        }
    }
}

/// geth's `TestGappedRangeProof`: a small trie of inlined leaves (keys `0x00..00XX`, one-byte
/// values); the reply for leaves 2..=7 misses leaf 5, which lives inside an inline node.
#[test]
fn gapped_range_proof() {
    let trie = TestTrie::new(
        (0u8..10)
            .map(|i| {
                let mut key = vec![0; 32];
                key[31] = i;
                (key, vec![i])
            })
            .collect(),
    );
    let honest = trie.range(trie.key(2), 2, 7);
    assert_eq!(honest.verify(), Ok(true));
    let gapped = honest.with(&Mutation::DropLeaf(3));
    assert!(
        matches!(gapped.verify(), Err(RangeProofError::RootMismatch { .. })),
        "{:?}",
        gapped.verify()
    );
}

/// geth's `TestSameSideProofs`: the returned leaf is outside the range the edge proofs cover.
///
/// 1. Edges at leaf 0 and leaf 2000, but only leaf 1000 is returned: everything else between the
///    edges is missing.
/// 2. Both edges after leaf 1000 (the two keys following it), `first_key` after the returned key:
///    geth fails with "invalid edge keys"; so do we, as `first_key` is after the first key.
#[test]
fn same_side_proofs() {
    let trie = geth_trie(8);
    let pos = 1000;

    let first = trie.key(0).to_vec();
    let case = trie.range_with_proof(&first, pos, pos, trie.proof(&first, Some(trie.key(2000))));
    assert!(case.verify().is_err(), "{:?}", case.verify());

    let first = increase_key(trie.key(pos));
    let last = increase_key(&first);
    let case = trie.range_with_proof(&first, pos, pos, trie.proof(&first, Some(&last)));
    assert!(
        matches!(case.verify(), Err(RangeProofError::InvalidEdgeKeys { which: "first", .. })),
        "{:?}",
        case.verify()
    );
}

/// geth's `TestHasRightElement`: `has_more` for each `(start, end)` of geth's table, `start = -1`
/// meaning "from the zero key" (absent), `end` exclusive.
#[test]
fn has_right_element() {
    let trie = plain_trie(9, 4096);
    let len = trie.len() as isize;
    let table: [(isize, isize, bool); 8] = [
        (-1, 1, true),         // single element with non-existent left proof
        (0, 1, true),          // single element with existent left proof
        (0, 10, true),         //
        (50, 100, true),       //
        (50, len, false),      // no more element expected
        (len - 1, len, false), // single last element, both edges the same key
        (0, len, false),       // the whole set with existent left proof
        (-1, len, false),      // the whole set with non-existent left proof
    ];
    for (start, end, has_more) in table {
        let last = usize::try_from(end - 1).unwrap();
        let case = if start == -1 {
            trie.range(&ZERO, 0, last)
        } else {
            let start = usize::try_from(start).unwrap();
            trie.range(trie.key(start), start, last)
        };
        assert_eq!(case.verify(), Ok(has_more), "case ({start}, {end})");
    }
}

/// geth's `TestEmptyRangeProof`: no leaves, the proof of a `first_key` just after leaf `pos`.
/// After the last leaf that proves the range empty; after leaf 500 it hides the rest of the trie.
#[test]
fn empty_range_proof() {
    let trie = geth_trie(10);
    let after_last = increase_key(trie.key(trie.len() - 1));
    assert_eq!(trie.empty_range(&after_last).verify(), Ok(false));
    let after_500 = increase_key(trie.key(500));
    assert_eq!(trie.empty_range(&after_500).verify(), Err(RangeProofError::MoreEntriesAvailable));
}

/// geth's `TestBloatedProof`: the proof holds the proof of every one of the 100 leaves, but the
/// reply is leaf 50 alone. geth accepts such packets; so do we (within `ProofLimits`).
#[test]
fn bloated_proof() {
    let trie = TestTrie::new(geth_non_random_leaves(100));
    let bloated = union_proofs((0..trie.len()).map(|i| trie.proof(trie.key(i), None)));
    let minimal = trie.proof(trie.key(50), None);
    assert!(bloated.len() > minimal.len());
    let case = trie.range_with_proof(trie.key(50), 50, 50, bloated);
    assert_eq!(case.verify(), Ok(true));
}

/// geth's key tweak in the empty-value tests: add one to the last byte below `0xff` (no carry).
fn bump_last_non_ff(key: &[u8]) -> Vec<u8> {
    let mut key = key.to_vec();
    if let Some(byte) = key.iter_mut().rev().find(|b| **b < 0xff) {
        *byte += 1;
    }
    key
}

/// The geth trie of the empty-value tests, and the key of the "noop" entry inserted at `mid`.
fn noop_setup(seed: u64) -> (TestTrie, usize, Vec<u8>) {
    let trie = TestTrie::new(geth_random_leaves(seed, 512));
    let mid = trie.len() / 2;
    let noop = bump_last_non_ff(trie.key(mid - 1));
    assert!(noop.as_slice() < trie.key(mid) && !trie.contains(&noop), "seed gives a usable gap");
    (trie, mid, noop)
}

/// geth's `TestEmptyValueRangeProof`: an honest range (leaves 1 to len-2 with their edge proofs)
/// plus an extra key with an empty value (a deletion, a no-op for the trie) must be refused.
#[test]
fn empty_value_range_proof() {
    let (trie, mid, noop) = noop_setup(11);
    let case = trie.range(trie.key(1), 1, trie.len() - 2);
    assert_eq!(case.verify(), Ok(true));
    // In geth's list the noop entry sits at `mid`, so at `mid - 1` in the reply that starts at 1.
    let bad = case.with(&Mutation::InsertLeaf(mid - 1, noop, Vec::new()));
    assert_eq!(bad.verify(), Err(RangeProofError::EmptyValue { index: mid - 1 }));
}

/// geth's `TestAllElementsEmptyValueRangeProof`: the whole trie without a proof, plus an extra key
/// with an empty value, must be refused. (geth passes a nil `first_key`; see
/// [`all_elements_proof`].)
#[test]
fn all_elements_empty_value_range_proof() {
    let (trie, mid, noop) = noop_setup(12);
    let case = trie.whole(&ZERO);
    assert_eq!(case.verify(), Ok(false));
    let bad = case.with(&Mutation::InsertLeaf(mid, noop, Vec::new()));
    assert_eq!(bad.verify(), Err(RangeProofError::EmptyValue { index: mid }));
}

/// geth's `TestRangeProofKeysWithSharedPrefix`: two 32-byte keys `aa10..` and `aa20..` under an
/// extension node `aa`, requested from the zero key, which leaves the trie at the extension.
///
/// geth's keys here are already 32 bytes, so no translation to fixed-length keys is needed. We
/// add the neighbouring cases of the same trie: an origin diverging inside the branch below the
/// extension, an origin equal to the first key, one between the keys, and origins past the
/// extension on either side with no keys.
#[test]
fn range_proof_keys_with_shared_prefix() {
    let key = |s: &str| {
        let mut k = hex::decode(s).unwrap();
        k.resize(32, 0);
        k
    };
    let trie = TestTrie::new(vec![(key("aa10"), vec![0x02]), (key("aa20"), vec![0x03])]);

    // geth's case.
    assert_eq!(trie.range(&key("00"), 0, 1).verify(), Ok(false));

    // Origin diverging in the branch below the extension (slot 0 is empty).
    assert_eq!(trie.range(&key("aa00"), 0, 1).verify(), Ok(false));
    // Origin equal to the first key, and the first key alone.
    assert_eq!(trie.range(&key("aa10"), 0, 1).verify(), Ok(false));
    assert_eq!(trie.range(&key("aa10"), 0, 0).verify(), Ok(true));
    // Origin between the two keys.
    assert_eq!(trie.range(&key("aa15"), 1, 1).verify(), Ok(false));
    // No keys: after everything is fine, before everything hides both leaves.
    assert_eq!(trie.empty_range(&key("ab")).verify(), Ok(false));
    assert_eq!(trie.empty_range(&key("aa21")).verify(), Ok(false));
    assert_eq!(trie.empty_range(&key("00")).verify(), Err(RangeProofError::MoreEntriesAvailable));
    assert_eq!(trie.empty_range(&key("aa15")).verify(), Err(RangeProofError::MoreEntriesAvailable));
    // The zero-origin reply that leaves out the second key.
    let missing =
        trie.range_with_proof(&key("00"), 0, 0, trie.proof(&key("00"), Some(&key("aa20"))));
    assert!(missing.verify().is_err(), "{:?}", missing.verify());
}

/// geth's `TestRangeProofErrors`: the checks on the leaves themselves, before any proof work
/// (geth passes a zero root and no proof).
///
/// Translations: geth's `first_key` is nil; ours has the keys' length, so that the intended check
/// is the one that fires. geth refuses a key that is a prefix of the next ("range contains path
/// prefixes"); with our one-length rule that is a [`RangeProofError::KeyLength`]. geth's
/// non-increasing case also has nil values; ours has non-empty ones so that only the order is
/// wrong. We add keys over 32 bytes and a `first_key` of the wrong length.
#[test]
fn range_proof_errors() {
    let root = alloy_primitives::B256::ZERO;
    let none: [Bytes; 0] = [];
    let nil = Vec::<u8>::new();

    // Different number of keys and values.
    assert_eq!(
        verify_range_proof(root, &[], &vec![nil.clone(); 5], &vec![nil; 4], &none),
        Err(RangeProofError::LengthMismatch { keys: 5, values: 4 })
    );
    // Non-increasing keys.
    assert_eq!(
        verify_range_proof(root, &[0, 0], &[[2u8, 1], [2, 1]], &[[1u8], [1]], &none),
        Err(RangeProofError::KeysNotIncreasing { index: 1 })
    );
    // A key that is a prefix of the next one.
    assert_eq!(
        verify_range_proof(root, &[0, 0], &[vec![2u8, 1], vec![2, 1, 2]], &[[1u8], [1]], &none),
        Err(RangeProofError::KeyLength { index: Some(1), len: 3, expected: 2 })
    );
    // An empty value (a deletion).
    assert_eq!(
        verify_range_proof(root, &[0, 0], &[[2u8, 1], [2, 2]], &[vec![1u8], vec![]], &none),
        Err(RangeProofError::EmptyValue { index: 1 })
    );
    // Our additions: keys over 32 bytes, and a first_key of another length than the keys (with a
    // proof, so that it is not the proof-less case).
    let long = verify_range_proof(root, &[0; 33], &[[1u8; 33]], &[[1u8]], &none);
    assert!(
        matches!(long, Err(RangeProofError::KeyLength { len: 33, expected: 32, .. })),
        "{long:?}"
    );
    let trie = plain_trie(13, 50);
    let case = trie.range(trie.key(3), 3, 10);
    let short_origin = RangeCase { origin: trie.key(3)[..31].to_vec(), ..case.clone() };
    assert!(
        matches!(
            short_origin.verify(),
            Err(RangeProofError::KeyLength { index: None, len: 31, expected: 32 })
        ),
        "{:?}",
        short_origin.verify()
    );
    let late_origin = case.with(&Mutation::SetOrigin(increase_key(trie.key(3))));
    assert!(
        matches!(
            late_origin.verify(),
            Err(RangeProofError::InvalidEdgeKeys { which: "first", .. })
        ),
        "{:?}",
        late_origin.verify()
    );
}
