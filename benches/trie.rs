//! Benchmarks of the trie core, each beside a bare `HashBuilder` root over the same leaves so the
//! overhead reads as a ratio from one run:
//!
//! - `verify_account_range`: verify a ~512 KiB AccountRange response (the size snap clients ask
//!   for) taken from a 200k-account trie.
//! - `build_1m`: build a trie over 1M sorted account leaves, emitting every hashed node to a sink.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::B256;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use snapsync_trie::test_utils::{SortedAccountLeaves, hash_builder_root};
use snapsync_trie::{CountingSink, TrieBuilder, prove_range, verify_range_proof};
use std::hint::black_box;

/// The response budget and accounting of geth's AccountRange handler: each account costs its
/// 32-byte hash plus its body; a full-size body approximates the slim one closely enough here.
const RESPONSE_BYTES: usize = 512 * 1024;

fn verify_account_range(c: &mut Criterion) {
    let all: Vec<_> = SortedAccountLeaves::new(1, 200_000).collect();
    let root = hash_builder_root(&all);
    let start = all.len() / 3;
    let mut end = start;
    let mut bytes = 0;
    while bytes < RESPONSE_BYTES {
        bytes += 32 + all[end].1.len();
        end += 1;
    }
    let range = &all[start..end];
    let keys: Vec<B256> = range.iter().map(|(k, _)| *k).collect();
    let values: Vec<&[u8]> = range.iter().map(|(_, v)| v.as_slice()).collect();
    let proof = prove_range(
        all.iter().map(|(k, v)| (k, v)),
        keys[0].as_slice(),
        Some(keys[keys.len() - 1].as_slice()),
    )
    .unwrap();
    assert!(verify_range_proof(root, keys[0].as_slice(), &keys, &values, &proof).unwrap());

    let mut group = c.benchmark_group("verify_account_range");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("verify_range_proof", |b| {
        b.iter(|| verify_range_proof(root, keys[0].as_slice(), black_box(&keys), &values, &proof));
    });
    group.bench_function("hash_builder_root", |b| b.iter(|| hash_builder_root(black_box(range))));
    group.finish();
}

fn build_1m(c: &mut Criterion) {
    const LEAVES: u64 = 1_000_000;
    let leaves: Vec<_> = SortedAccountLeaves::new(2, LEAVES).collect();
    let mut group = c.benchmark_group("build_1m");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LEAVES));
    group.bench_function("trie_builder_with_sink", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut builder = TrieBuilder::new(CountingSink::default());
                for (key, value) in &leaves {
                    builder.add_leaf(key.as_slice(), value).unwrap();
                }
                builder.finish().unwrap()
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("hash_builder_root", |b| b.iter(|| hash_builder_root(black_box(&leaves))));
    group.finish();
}

criterion_group!(benches, verify_account_range, build_1m);
criterion_main!(benches);
