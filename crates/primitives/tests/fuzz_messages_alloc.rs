//! Fuzz target for the memory the snap/1 decoders allocate: the peak heap growth while decoding
//! any input stays proportional to the input's length, never sized from a length or count field.
//!
//! One test in this binary on purpose: the counting allocator sees every thread of the process,
//! so nothing else may run while a decode is measured.
//!
//! Inputs: arbitrary bytes, arbitrary RLP, valid messages with byte edits, and the worst cases by
//! construction (long lists of the smallest items, deep nesting). The bound is
//! [`BYTES_PER_INPUT_BYTE`] times the input length plus [`SLACK`]; the worst cases show how close
//! the decoders come. `PROPTEST_CASES` sets the number of random inputs (default 5,000):
//! `PROPTEST_CASES=100000 cargo test --release -p snapsync-primitives --test fuzz_messages_alloc`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peak_alloc::PeakAlloc;
use proptest::{
    collection::vec,
    prelude::*,
    test_runner::{TestCaseError, TestRunner},
};
use snapsync_primitives::test_utils::{
    any_rlp_item, any_snap_message, apply_byte_edits, byte_edits, fuzz_config,
};
use snapsync_primitives::{
    AccountEntry, CompactPath, FromRlp, RawTrieNodePathSet, RlpItem, SlimAccount, SnapMessage,
    StorageSlot, TrieAccount,
};
use std::hint::black_box;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Heap bytes a decoder may hold per input byte at its peak. The densest inputs are lists of
/// one-byte items (`0x80` or `0xc0`), each decoded into a 24–32 byte value in a `Vec` that
/// doubles as it grows (old and new buffer both live while it moves): about 3 × 32 per byte;
/// and `RlpItem` nesting, one byte per level, each level a `Vec` of at least four 32-byte items:
/// about 4 × 32 per byte. Twice the worst, so the bound is about the shape, not the allocator.
const BYTES_PER_INPUT_BYTE: usize = 256;
/// Fixed allowance: small first allocations of an empty input.
const SLACK: usize = 4096;

/// Runs every decoder on `bytes`, measuring each; returns the largest peak heap growth.
fn peak_of_decoders(bytes: &[u8]) -> usize {
    let mut worst = 0;
    let mut measure = |decode: &dyn Fn(&[u8])| {
        let baseline = HEAP.current_usage();
        HEAP.reset_peak_usage();
        decode(bytes);
        worst = worst.max(HEAP.peak_usage().saturating_sub(baseline));
    };
    for id in 0..8 {
        measure(&|b| {
            let _ = black_box(SnapMessage::decode(id, b));
        });
    }
    measure(&|b| {
        let _ = black_box(TrieAccount::from_rlp(b));
    });
    measure(&|b| {
        let _ = black_box(SlimAccount::from_rlp(b));
    });
    measure(&|b| {
        let _ = black_box(AccountEntry::from_rlp(b));
    });
    measure(&|b| {
        let _ = black_box(StorageSlot::from_rlp(b).map(|slot| slot.value()));
    });
    measure(&|b| {
        let _ = black_box(RawTrieNodePathSet::from_rlp(b).map(|set| set.to_typed()));
    });
    measure(&|b| {
        let _ = black_box(RlpItem::from_rlp(b));
    });
    measure(&|b| {
        let _ = black_box(CompactPath::decode(b));
    });
    worst
}

fn within_bound(bytes: &[u8]) -> Result<usize, TestCaseError> {
    let peak = peak_of_decoders(bytes);
    let bound = BYTES_PER_INPUT_BYTE * bytes.len() + SLACK;
    prop_assert!(
        peak <= bound,
        "{} input bytes peaked at {} heap bytes (bound {})",
        bytes.len(),
        peak,
        bound
    );
    Ok(peak)
}

/// An RLP list holding `payload`.
fn list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::Header { list: true, payload_length: payload.len() }.encode(&mut out);
    out.extend_from_slice(payload);
    out
}

/// The densest inputs by construction, each about `n` bytes.
fn worst_cases(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let hash = [&[0xa0][..], &[0x11; 32]].concat();
    vec![
        // TrieNodes / ByteCodes: [id, [0x80 × n]].
        ("empty byte strings", list(&[&[0x01][..], &list(&vec![0x80; n])].concat())),
        // StorageRanges: [id, [[] × n], []].
        ("empty slot lists", list(&[&[0x01][..], &list(&vec![0xc0; n]), &[0xc0]].concat())),
        // GetTrieNodes: [id, root, [[] × n], 1].
        ("empty path sets", list(&[&[0x01][..], &hash, &list(&vec![0xc0; n]), &[0x01]].concat())),
        // RlpItem: [[""] × n/2].
        ("one-item lists", list(&[0xc1, 0x80].repeat(n / 2))),
        // RlpItem: 64 nested lists (the depth limit), repeated.
        (
            "deep nesting",
            list(&{
                let mut nested = vec![0xc0];
                for _ in 1..RlpItem::MAX_DEPTH - 1 {
                    nested = list(&nested);
                }
                nested.repeat((n / nested.len()).max(1))
            }),
        ),
    ]
}

#[test]
fn decoding_allocates_in_proportion_to_the_input() {
    // The worst cases, at a few sizes.
    for n in [1_000, 100_000] {
        for (name, bytes) in worst_cases(n) {
            let peak = within_bound(&bytes).unwrap();
            eprintln!(
                "{name}: {} bytes, peak heap {peak} bytes ({:.1} per input byte)",
                bytes.len(),
                peak as f64 / bytes.len() as f64
            );
        }
    }

    // Random inputs.
    let inputs = prop_oneof![
        vec(any::<u8>(), 0..400),
        any_rlp_item().prop_map(|item| alloy_rlp::encode(&item)),
        (any_snap_message(), byte_edits(4))
            .prop_map(|(message, edits)| apply_byte_edits(message.to_rlp(), &edits)),
    ];
    let mut runner = TestRunner::new(fuzz_config(5000));
    runner.run(&inputs, |bytes| within_bound(&bytes).map(drop)).unwrap();
}
