//! Crash safety of the redb backend, with a real process killed by SIGKILL in the middle of a
//! large write transaction.
//!
//! The parent test re-runs this test binary as a child that executes only `crash_child` (an
//! ignored test that does nothing unless `SNAPSYNC_DB_CRASH_CHILD` names a database file). The
//! child commits batches, commits one more with deferred durability, starts a large write
//! (new keys, overwrites and deletions of committed keys, a cleared table), says `writing` on
//! stdout and keeps writing. The parent kills it then, reopens the file and checks that every
//! durable commit is intact and nothing of the uncommitted write is visible.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::Bytes;
use snapsync_db::{
    Bodies, Database, Durability, Headers, RedbDatabase, RedbOptions, TableRead, WriteTxn,
};
use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const CHILD_ENV: &str = "SNAPSYNC_DB_CRASH_CHILD";
/// What the child prints once its large write is under way (libtest may prefix the line).
const WRITING: &str = "crash-child: writing";
/// Durable batches committed before the crash.
const BATCHES: u64 = 5;
const BATCH_SIZE: u64 = 2_000;
/// Keys of the uncommitted write start here.
const UNCOMMITTED_BASE: u64 = 1 << 40;

fn batch_value(batch: u64) -> Bytes {
    Bytes::from(vec![u8::try_from(batch).unwrap(); 100])
}

fn batch_keys(batch: u64) -> std::ops::Range<u64> {
    batch * BATCH_SIZE..(batch + 1) * BATCH_SIZE
}

fn commit_batch(txn: &mut WriteTxn, batch: u64) {
    let value = batch_value(batch);
    txn.append_sorted::<Headers, _, _, _>(batch_keys(batch).map(|k| (k, &value))).unwrap();
    txn.put::<Bodies>(&batch, &value).unwrap();
}

fn options() -> RedbOptions {
    // A small cache, so the uncommitted transaction spills dirty pages into the file.
    RedbOptions { cache_size: 4 << 20, ..RedbOptions::default() }
}

/// The child: commits, then dies (killed by the parent) inside a large write.
#[test]
#[ignore = "child process of `killed_mid_write_keeps_last_commit`; does nothing on its own"]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let db = RedbDatabase::open(&path, options()).unwrap();
    for batch in 0..BATCHES {
        let mut txn = db.write().unwrap();
        commit_batch(&mut txn, batch);
        txn.commit().unwrap();
    }
    let mut txn = db.write().unwrap();
    txn.set_durability(Durability::Deferred).unwrap();
    commit_batch(&mut txn, BATCHES);
    txn.commit().unwrap();

    let mut txn = db.write().unwrap();
    txn.clear::<Bodies>().unwrap();
    let big = Bytes::from(vec![0xee; 200]);
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    for i in 0u64.. {
        // Scattered new keys, plus overwrites and deletions of committed ones.
        let key = UNCOMMITTED_BASE + (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24);
        txn.put::<Headers>(&key, &big).unwrap();
        if i % 16 == 0 {
            txn.put::<Headers>(&(i % (BATCHES * BATCH_SIZE)), &big).unwrap();
        }
        if i % 16 == 8 {
            txn.delete::<Headers>(&(i % (BATCHES * BATCH_SIZE))).unwrap();
        }
        if i == 50_000 {
            writeln!(stdout, "{WRITING}").unwrap();
            stdout.flush().unwrap();
        }
        // Never outlive a parent that failed to kill us.
        if i % 10_000 == 0 && started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    panic!("the child was not killed");
}

/// The parent: kills the child mid-write, reopens, checks.
#[test]
fn killed_mid_write_keeps_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let writing =
        BufReader::new(stdout).lines().map_while(Result::ok).any(|line| line.contains(WRITING));
    assert!(writing, "the child ended without starting its large write");
    let size_at_signal = std::fs::metadata(&path).unwrap().len();
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was not killed: {status}");
    let size_at_kill = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "file: {size_at_signal} bytes when the large write was under way, {size_at_kill} at the kill"
    );

    let mut db = RedbDatabase::open(&path, options()).unwrap();
    assert!(db.check_integrity().unwrap(), "the reopened file needed repair");
    let view = db.view().unwrap();
    for batch in 0..BATCHES {
        for key in batch_keys(batch) {
            assert_eq!(view.get::<Headers>(&key).unwrap(), Some(batch_value(batch)), "key {key}");
        }
        assert_eq!(view.get::<Bodies>(&batch).unwrap(), Some(batch_value(batch)));
    }
    // The deferred commit is all or nothing (redb drops it: it was never followed by a durable one).
    let deferred = batch_keys(BATCHES)
        .filter(|key| view.get::<Headers>(key).unwrap() == Some(batch_value(BATCHES)))
        .count() as u64;
    assert!(deferred == 0 || deferred == BATCH_SIZE, "torn deferred commit: {deferred} keys");
    eprintln!("the deferred batch was {}", if deferred == 0 { "rolled back" } else { "kept" });
    let body = view.get::<Bodies>(&BATCHES).unwrap();
    assert_eq!(body.is_some(), deferred == BATCH_SIZE);
    // Nothing of the uncommitted write.
    assert_eq!(view.range::<Headers>(UNCOMMITTED_BASE..).unwrap().count(), 0);
    let total = view.iter::<Headers>().unwrap().count() as u64;
    assert_eq!(total, BATCHES * BATCH_SIZE + deferred);
    drop(view);

    // And the database takes new writes.
    let mut txn = db.write().unwrap();
    commit_batch(&mut txn, BATCHES + 1);
    txn.commit().unwrap();
    assert!(db.view().unwrap().get::<Bodies>(&(BATCHES + 1)).unwrap().is_some());
}
