//! Insert + merge throughput: 10M entries with random 32-byte keys and 100-byte values through a
//! 64 MiB buffer (about 24 runs, 1.3 GB of run files), the shape of a snap sync account or storage
//! load. One iteration takes seconds, so the group runs 10 flat samples; for a single measurement
//! with peak RSS, run `cargo run --release -p snapsync-etl --example etl_throughput`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used)]

use alloy_primitives::B256;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use snapsync_etl::{Collector, CollectorConfig};
use snapsync_primitives::test_utils::TestRng;
use std::{hint::black_box, time::Duration};

const BUFFER: usize = 64 * 1024 * 1024;
const VALUE_LEN: usize = 100;

/// Inserts `entries` random entries, merges them, and returns how many came out.
fn insert_and_merge(entries: u64) -> u64 {
    let mut collector = Collector::<B256, Vec<u8>>::new(CollectorConfig::new(BUFFER));
    let (mut rng, mut key, mut value) = (TestRng::new(entries), B256::ZERO, vec![0; VALUE_LEN]);
    for _ in 0..entries {
        rng.fill(key.as_mut_slice());
        rng.fill(&mut value);
        collector.insert(&key, &value).unwrap();
    }
    let mut merged = 0;
    for entry in collector.iter().unwrap() {
        black_box(entry.unwrap());
        merged += 1;
    }
    merged
}

fn bench_insert_merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("etl_insert_merge");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(1));
    // `cargo test --all-targets` runs each benchmark once as a smoke test, without `--bench`:
    // keep that fast.
    let sizes: &[u64] = if std::env::args().any(|arg| arg == "--bench") {
        &[1_000_000, 10_000_000]
    } else {
        &[10_000]
    };
    for &entries in sizes {
        group.throughput(Throughput::Elements(entries));
        group.measurement_time(Duration::from_secs(entries / 100_000 + 1));
        group.bench_with_input(BenchmarkId::from_parameter(entries), &entries, |b, &entries| {
            b.iter(|| insert_and_merge(black_box(entries)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_insert_merge);
criterion_main!(benches);
