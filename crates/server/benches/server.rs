//! Account range serving throughput from redb over a 1M-account state, 512 KiB responses.
//!
//! `cargo bench -p snapsync-server` (the state is imported first, which takes a while);
//! `examples/throughput.rs` prints the same figures once.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use snapsync_primitives::test_utils::TestRng;
use std::{hint::black_box, time::Duration};

const ACCOUNTS: u64 = 1_000_000;

fn account_range(c: &mut Criterion) {
    let state = support::build(ACCOUNTS);
    let mut rng = TestRng::new(1);
    // The typical encoded response, for the throughput figure.
    let (_, size) = state.serve(&state.request(&mut rng));
    let mut group = c.benchmark_group("account_range");
    group.sample_size(30).measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("redb_1m_accounts_512kib", |b| {
        b.iter(|| {
            let request = state.request(&mut rng);
            black_box(state.serve(&request))
        });
    });
    group.finish();
}

criterion_group!(benches, account_range);
criterion_main!(benches);
