//! The whole local sync beside the one hashing pass it cannot avoid, over the same state:
//!
//! - `sync/pipeline_redb`: a generated state synced by `SnapSyncStage` in a `Pipeline` from four
//!   zero-latency honest simulated peers into a fresh redb database (one per iteration), to done.
//!   The simulated server runs in this process, so its proof generation and encoding are part of
//!   the time (they are not part of a real client's cost).
//! - `sync/hash_builder_root`: alloy-trie's `HashBuilder` over the same leaves, pre-sorted and
//!   pre-encoded: every storage trie, then the account trie with the storage roots just computed.
//!
//! Throughput is in leaves (accounts + storage slots), so the ratio of the two reads directly
//! as "the sync costs this many hashing passes". `SYNC_BENCH_ACCOUNTS` overrides the state size;
//! `SNAPSYNC_PROFILE=mainnet` draws it in mainnet's shape (`StateSpec::mainnet`).

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::B256;
use alloy_trie::{HashBuilder, Nibbles};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use snapsync_db::{Database, RedbDatabase, RedbOptions};
use snapsync_primitives::TrieAccount;
use snapsync_sim::{GeneratedChain, StateProfile};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// About 515,000 leaves: one sync takes a few seconds.
const ACCOUNTS: usize = 200_000;

/// The leaves of a state in trie order, ready for a `HashBuilder`.
struct Leaves {
    /// Per account: its key, its leaf (storage root to be replaced by the computed one) and the
    /// end of its slots in `slots`.
    accounts: Vec<(Nibbles, TrieAccount, usize)>,
    /// Every storage slot, account by account: key and RLP value.
    slots: Vec<(Nibbles, Vec<u8>)>,
}

impl Leaves {
    fn count(&self) -> u64 {
        (self.accounts.len() + self.slots.len()) as u64
    }

    /// The state root: each storage trie, then the account trie, all through `HashBuilder`.
    fn root(&self) -> B256 {
        let mut accounts = HashBuilder::default();
        let mut leaf = Vec::with_capacity(128);
        let mut start = 0;
        for (key, account, end) in &self.accounts {
            let mut storage = HashBuilder::default();
            for (slot, value) in &self.slots[start..*end] {
                storage.add_leaf(*slot, value);
            }
            start = *end;
            let account = TrieAccount { storage_root: storage.root(), ..*account };
            leaf.clear();
            alloy_rlp::Encodable::encode(&account, &mut leaf);
            accounts.add_leaf(*key, &leaf);
        }
        accounts.root()
    }
}

fn sync(c: &mut Criterion) {
    let accounts = std::env::var("SYNC_BENCH_ACCOUNTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(ACCOUNTS);
    let spec = StateProfile::from_env("SNAPSYNC_PROFILE").unwrap().benchmark_spec(accounts);
    let chain = GeneratedChain::new(1, &spec, 70, 0);
    let state = chain.state_at(6).unwrap();
    let mut leaves = Leaves { accounts: Vec::new(), slots: Vec::new() };
    for (hash, account) in state.accounts() {
        for (slot, value) in account.storage() {
            leaves.slots.push((Nibbles::unpack(slot), alloy_rlp::encode(value)));
        }
        leaves.accounts.push((
            Nibbles::unpack(hash),
            TrieAccount { storage_root: B256::ZERO, ..account.trie_account() },
            leaves.slots.len(),
        ));
    }
    let root = leaves.root();
    assert_eq!(root, state.state_root());
    assert_eq!(root, chain.header(6).unwrap().state_root);
    drop(state);
    let peers = (0..4).map(|_| SimPeer::honest(Link::INSTANT)).collect();
    let scenario = Scenario::new(chain, peers, [6]).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(leaves.count()));
    group.bench_function("pipeline_redb", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let dir = tempfile::tempdir().unwrap();
                let db: Arc<dyn Database> = Arc::new(
                    RedbDatabase::open(dir.path().join("db.redb"), RedbOptions::default()).unwrap(),
                );
                let started = Instant::now();
                runtime.block_on(run_sync(&scenario, &db, dir.path()));
                total += started.elapsed();
                let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
                assert!(summary.is_done());
            }
            total
        });
    });
    group.bench_function("hash_builder_root", |b| b.iter(|| black_box(&leaves).root()));
    group.finish();
}

/// Syncs the scenario's pivot state into `db` with the default configuration.
async fn run_sync(scenario: &Scenario, db: &Arc<dyn Database>, datadir: &std::path::Path) {
    let (_tx, tip) = watch::channel(scenario.tip());
    let stage =
        SnapSyncStage::new(scenario.network.clone(), tip, SnapSyncConfig::default(), datadir)
            .unwrap();
    let mut pipeline = Pipeline::new(db.clone(), StageSet::builder().add(stage).unwrap().build());
    pipeline.run(None).await.unwrap();
}

criterion_group!(benches, sync);
criterion_main!(benches);
