//! Prints the account range serving throughput from redb over a 1M-account state, 512 KiB
//! responses: responses per second and MB/s of encoded responses.
//!
//! `cargo run --release -p snapsync-server --example throughput [ACCOUNTS] [REQUESTS]`

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/support/mod.rs"]
mod support;

use snapsync_primitives::test_utils::TestRng;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<u64>().unwrap());
    let accounts = args.next().unwrap_or(1_000_000);
    let requests = args.next().unwrap_or(500);

    let state = support::build(accounts);
    println!(
        "imported {} accounts into redb in {:.1} s (root {})",
        state.accounts,
        state.import_time.as_secs_f64(),
        state.root
    );
    let mut rng = TestRng::new(1);
    // Warm the page cache over the whole key space once.
    for _ in 0..50 {
        state.serve(&state.request(&mut rng));
    }
    let (mut bytes, mut served, mut proof_nodes) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for _ in 0..requests {
        let (reply, size) = state.serve(&state.request(&mut rng));
        assert!(!reply.accounts.is_empty());
        bytes += size;
        served += reply.accounts.len();
        proof_nodes += reply.proof.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = requests as f64;
    println!(
        "{requests} AccountRange responses of {} KiB budget: {:.0} responses/s, {:.1} MB/s \
         ({:.0} accounts and {:.1} proof nodes per response, {:.2} ms each)",
        support::RESPONSE_BYTES / 1024,
        count / seconds,
        bytes as f64 / seconds / 1e6,
        served as f64 / count,
        proof_nodes as f64 / count,
        seconds * 1e3 / count,
    );
}
