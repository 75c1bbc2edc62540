//! Scale and timing of the generated states and chains at the sizes sync tests use. Ignored by
//! default (seconds of CPU and a few hundred MB); run them in release:
//! `cargo test -p snapsync-sim --release --test generated_scale -- --ignored --nocapture`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]

use snapsync_sim::{GeneratedChain, GeneratedState, StateSpec};
use std::time::Instant;

#[test]
#[ignore = "scale: run in release with --ignored"]
fn default_state_generates_and_hashes_in_seconds() {
    let spec = StateSpec::default();
    let start = Instant::now();
    let state = GeneratedState::generate(1, &spec);
    let generated = start.elapsed();
    let root = state.state_root();
    let total = start.elapsed();
    let counts = state.counts();
    eprintln!(
        "default state: {} accounts, {} slots, {} bytecodes; generated in {generated:?}, root \
         {root} after {total:?}",
        counts.accounts, counts.storage_slots, counts.bytecodes
    );
    assert_eq!(counts.accounts, 300_000);
    assert!(counts.storage_slots > 300_000);
}

#[test]
#[ignore = "scale: run in release with --ignored"]
fn chain_of_200_blocks_over_50k_accounts() {
    let spec = StateSpec::default().with_accounts(50_000);
    let start = Instant::now();
    let chain = GeneratedChain::new(7, &spec, 200, 100);
    let built = start.elapsed();
    let start = Instant::now();
    let pivot = chain.state_at(64).unwrap();
    let replayed = start.elapsed();
    let start = Instant::now();
    assert_eq!(pivot.state_root(), chain.header(64).unwrap().state_root);
    let root = start.elapsed();
    let later = chain.state_at(64 + 128).unwrap();
    assert_eq!(later.state_root(), chain.header(64 + 128).unwrap().state_root);
    assert_ne!(pivot, later);
    let head = chain.state_at(200).unwrap();
    assert_eq!(head.state_root(), chain.head().state_root);
    let counts = chain.genesis_state().counts();
    eprintln!(
        "chain: 200 blocks × 100 operations over {} accounts / {} slots built in {built:?}; \
         state_at(64) in {replayed:?}, its root from scratch in {root:?}",
        counts.accounts, counts.storage_slots
    );
}

#[test]
#[ignore = "scale: run in release with --ignored"]
fn chain_of_200_blocks_over_the_default_state() {
    let start = Instant::now();
    let chain = GeneratedChain::new(9, &StateSpec::default(), 200, 100);
    let built = start.elapsed();
    let start = Instant::now();
    let state = chain.state_at(200).unwrap();
    let replayed = start.elapsed();
    assert_eq!(state.state_root(), chain.head().state_root);
    eprintln!(
        "chain: 200 blocks × 100 operations over the default state built in {built:?}; state_at(200) in {replayed:?}"
    );
}
