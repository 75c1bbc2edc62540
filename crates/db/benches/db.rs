//! Storage throughput: sorted bulk load of N accounts (hashed address → TrieAccount RLP, 70-110
//! bytes) from an ETL collector's sorted stream into redb and into the memory backend, one
//! transaction each, commit included; then random point reads of a loaded table.
//!
//! N is 1,000,000 unless `SNAPSYNC_DB_BENCH_N` says otherwise. One load takes seconds, so the
//! load group runs 10 flat samples. For a single printed measurement with phase timings and the
//! file size, run `cargo run --release -p snapsync-db --example db_figures`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "workload/mod.rs"]
mod workload;

use alloy_primitives::B256;
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use snapsync_db::{Database, HashedAccounts, MemoryDatabase, RedbDatabase, RedbOptions, TableRead};
use snapsync_etl::{Collector, CollectorConfig};
use snapsync_primitives::AccountHash;
use std::{hint::black_box, sync::Arc};
use tempfile::TempDir;

fn accounts() -> u64 {
    std::env::var("SNAPSYNC_DB_BENCH_N").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000)
}

fn fresh_redb() -> (Option<TempDir>, Arc<dyn Database>) {
    let dir = tempfile::tempdir().unwrap();
    let db = RedbDatabase::open(dir.path().join("bench.redb"), RedbOptions::default()).unwrap();
    (Some(dir), Arc::new(db))
}

fn fresh_memory() -> (Option<TempDir>, Arc<dyn Database>) {
    (None, Arc::new(MemoryDatabase::new()))
}

fn load(db: &dyn Database, collector: &mut Collector<B256, Vec<u8>>) {
    let mut txn = db.write().unwrap();
    txn.append_sorted_encoded::<HashedAccounts, _, _, _, _>(collector.iter().unwrap()).unwrap();
    txn.commit().unwrap();
}

fn bulk_load(c: &mut Criterion) {
    let n = accounts();
    let mut collector = workload::collect_accounts(n, CollectorConfig::default());
    let mut group = c.benchmark_group("bulk_load_accounts");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(n));
    for (name, fresh) in [("redb", fresh_redb as fn() -> _), ("memory", fresh_memory)] {
        group.bench_function(name, |b| {
            // The database is created outside the timing and dropped after it.
            b.iter_batched(
                fresh,
                |(dir, db)| {
                    load(&*db, &mut collector);
                    (dir, db)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn point_reads(c: &mut Criterion) {
    let n = accounts();
    let mut collector = workload::collect_accounts(n, CollectorConfig::default());
    let keys: Vec<AccountHash> = workload::random_indexes(n, 1 << 16)
        .into_iter()
        .map(|i| AccountHash(workload::account_hash(i)))
        .collect();
    let mut group = c.benchmark_group("point_read_account");
    group.throughput(Throughput::Elements(1));
    for (name, fresh) in [("redb", fresh_redb as fn() -> _), ("memory", fresh_memory)] {
        let (_dir, db) = fresh();
        load(&*db, &mut collector);
        let view = db.view().unwrap();
        let mut next = keys.iter().cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                let key = next.next().unwrap();
                black_box(view.get::<HashedAccounts>(key).unwrap().unwrap())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bulk_load, point_reads);
criterion_main!(benches);
