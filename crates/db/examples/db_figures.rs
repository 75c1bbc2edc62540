//! Prints the storage figures once: sorted bulk load of N accounts from an ETL stream into redb
//! and into the memory backend, random point reads, the state-root pass, and the file size.
//!
//! `cargo run --release -p snapsync-db --example db_figures -- [N] [DIR]` (N defaults to
//! 1,000,000; DIR, where the redb file goes, to a temporary directory).

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/workload/mod.rs"]
mod workload;

use snapsync_db::{
    Database, Durability, HashedAccounts, MemoryDatabase, RedbDatabase, RedbOptions, TableRead,
    compute_state_root,
};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::AccountHash;
use std::time::{Duration, Instant};

fn rate(count: u64, elapsed: Duration) -> String {
    format!("{:>10.0}/s  ({:.3} s)", count as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Loads the collector's sorted stream into `db` in one transaction; returns (append, commit).
fn load(
    db: &dyn Database,
    collector: &mut snapsync_etl::Collector<alloy_primitives::B256, Vec<u8>>,
) -> (Duration, Duration) {
    let mut txn = db.write().unwrap();
    let (count, append) = timed(|| {
        txn.append_sorted_encoded::<HashedAccounts, _, _, _, _>(collector.iter().unwrap()).unwrap()
    });
    assert!(count > 0);
    let ((), commit) = timed(|| txn.commit().unwrap());
    (append, commit)
}

fn random_reads(db: &dyn Database, n: u64) -> Duration {
    let view = db.view().unwrap();
    let keys: Vec<AccountHash> = workload::random_indexes(n, 1_000_000)
        .into_iter()
        .map(|i| AccountHash(workload::account_hash(i)))
        .collect();
    let (found, elapsed) = timed(|| {
        keys.iter().filter(|key| view.get::<HashedAccounts>(key).unwrap().is_some()).count()
    });
    assert_eq!(found, keys.len());
    elapsed
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |n| n.parse().expect("N is a number"));
    let dir = match args.next() {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    println!("{n} accounts (RLP 70-110 bytes), redb in {}", dir.path().display());

    let etl = CollectorConfig::default().with_temp_dir(dir.path());
    let (mut collector, collect) = timed(|| workload::collect_accounts(n, etl));
    println!(
        "ETL collect (unsorted inserts):      {}  runs: {}",
        rate(n, collect),
        collector.run_count()
    );
    let (drained, merge) = timed(|| collector.iter().unwrap().map(Result::unwrap).count());
    assert_eq!(drained as u64, n);
    println!("ETL sorted stream alone:             {}", rate(n, merge));

    let path = dir.path().join("figures.redb");
    let redb = RedbDatabase::open(&path, RedbOptions::default()).unwrap();
    let (append, commit) = load(&redb, &mut collector);
    println!("redb  load ETL stream -> commit:     {}", rate(n, append + commit));
    println!(
        "        of which append {:.3} s, commit (fsync) {:.3} s",
        append.as_secs_f64(),
        commit.as_secs_f64()
    );
    let space = redb.space().unwrap();
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    println!(
        "redb  file size:                     {:.1} MiB ({:.0} bytes/account); allocated {:.1} MiB \
         (stored {:.1}, metadata {:.1}, fragmented {:.1})",
        mib(space.file_bytes),
        space.file_bytes as f64 / n as f64,
        mib(space.allocated_bytes),
        mib(space.stored_bytes),
        mib(space.metadata_bytes),
        mib(space.fragmented_bytes),
    );
    println!("redb  random point reads:            {}", rate(1_000_000, random_reads(&redb, n)));
    let (report, pass) = timed(|| compute_state_root(&redb.view().unwrap()).unwrap());
    println!("redb  state-root pass:               {}  root {}", rate(n, pass), report.state_root);

    drop(redb);
    // Where the time goes: the same load with the allocator state not saved at commit
    // (quick repair off), and with no fsync at all (deferred durability).
    for (label, options) in [
        ("quick repair off", RedbOptions { quick_repair: false, ..RedbOptions::default() }),
        (
            "deferred (no fsync)",
            RedbOptions { durability: Durability::Deferred, ..RedbOptions::default() },
        ),
    ] {
        let path = dir.path().join("variant.redb");
        let db = RedbDatabase::open(&path, options).unwrap();
        let (append, commit) = load(&db, &mut collector);
        println!(
            "redb  load, {label:<20} {}  (commit {:.3} s)",
            rate(n, append + commit),
            commit.as_secs_f64()
        );
        drop(db);
        std::fs::remove_file(&path).unwrap();
    }

    let sorted = workload::sorted_accounts(n);
    let path = dir.path().join("presorted.redb");
    let db = RedbDatabase::open(&path, RedbOptions::default()).unwrap();
    let (_, vec_load) = timed(|| {
        let mut txn = db.write().unwrap();
        txn.append_sorted_encoded::<HashedAccounts, _, _, _, std::convert::Infallible>(
            sorted.iter().map(|(k, v)| Ok((k, v))),
        )
        .unwrap();
        txn.commit().unwrap();
    });
    println!("redb  load pre-sorted Vec -> commit: {}", rate(n, vec_load));
    drop(db);
    std::fs::remove_file(&path).unwrap();

    let memory = MemoryDatabase::new();
    let (append, commit) = load(&memory, &mut collector);
    println!("memory load ETL stream -> commit:    {}", rate(n, append + commit));
    println!("memory random point reads:           {}", rate(1_000_000, random_reads(&memory, n)));
}
