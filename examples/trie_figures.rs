//! Prints the trie core's closing figures with their baselines measured interleaved, so machine
//! noise hits both sides alike: each round times the measured operation and then a bare
//! `HashBuilder` root over the same leaves, and the medians and their ratio are reported.
//!
//! ```sh
//! cargo run --release --example trie_figures
//! ```

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::B256;
use snapsync::trie::{
    NoopSink, ProofLimits, TrieBuilder, prove_range, verify_range_proof, verify_range_proof_nodes,
};
use snapsync_trie::test_utils::{SortedAccountLeaves, hash_builder_root};
use std::time::{Duration, Instant};

/// AccountRange response budget, accounted as geth does (32 bytes + body per account).
const RESPONSE_BYTES: usize = 512 * 1024;

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `measured` and `baseline` alternately `rounds` times; returns their median times.
fn interleaved(
    rounds: usize,
    mut measured: impl FnMut(),
    mut baseline: impl FnMut(),
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(time(&mut measured));
        b.push(time(&mut baseline));
    }
    (median(a), median(b))
}

fn verify_figures() {
    let all: Vec<_> = SortedAccountLeaves::new(1, 200_000).collect();
    let root = hash_builder_root(&all);
    let start = all.len() / 3;
    let (mut end, mut bytes) = (start, 0);
    while bytes < RESPONSE_BYTES {
        bytes += 32 + all[end].1.len();
        end += 1;
    }
    let range = &all[start..end];
    let keys: Vec<B256> = range.iter().map(|(k, _)| *k).collect();
    let values: Vec<&[u8]> = range.iter().map(|(_, v)| v.as_slice()).collect();
    let (first, last) = (keys[0].as_slice(), keys[keys.len() - 1].as_slice());
    let proof = prove_range(all.iter().map(|(k, v)| (k, v)), first, Some(last)).unwrap();
    let (verify, bare) = interleaved(
        400,
        || assert!(verify_range_proof(root, first, &keys, &values, &proof).unwrap()),
        || {
            hash_builder_root(range);
        },
    );
    let accounts = keys.len() as f64;
    println!(
        "verify_512k: accounts={} proof_nodes={} verify_median_us={} bare_root_median_us={} \
         verify_accounts_per_s={:.0} bare_accounts_per_s={:.0} ratio={:.3}",
        keys.len(),
        proof.len(),
        verify.as_micros(),
        bare.as_micros(),
        accounts / verify.as_secs_f64(),
        accounts / bare.as_secs_f64(),
        verify.as_secs_f64() / bare.as_secs_f64()
    );
    let limits = ProofLimits::default();
    let (with_nodes, bare) = interleaved(
        400,
        || {
            let verified =
                verify_range_proof_nodes(root, first, &keys, &values, &proof, limits).unwrap();
            assert!(verified.has_more);
        },
        || {
            hash_builder_root(range);
        },
    );
    println!(
        "verify_512k_keeping_nodes: median_us={} bare_root_median_us={} ratio={:.3}",
        with_nodes.as_micros(),
        bare.as_micros(),
        with_nodes.as_secs_f64() / bare.as_secs_f64()
    );
}

fn build_figures() {
    const LEAVES: u64 = 1_000_000;
    let leaves: Vec<_> = SortedAccountLeaves::new(2, LEAVES).collect();
    let (build, bare) = interleaved(
        7,
        || {
            let mut builder = TrieBuilder::new(NoopSink);
            for (key, value) in &leaves {
                builder.add_leaf(key.as_slice(), value).unwrap();
            }
            builder.finish().unwrap();
        },
        || {
            hash_builder_root(&leaves);
        },
    );
    println!(
        "build_1m: trie_builder_median_ms={} bare_root_median_ms={} builder_leaves_per_s={:.0} \
         bare_leaves_per_s={:.0} ratio={:.3}",
        build.as_millis(),
        bare.as_millis(),
        LEAVES as f64 / build.as_secs_f64(),
        LEAVES as f64 / bare.as_secs_f64(),
        build.as_secs_f64() / bare.as_secs_f64()
    );
}

fn main() {
    verify_figures();
    build_figures();
}
