//! End-to-end figures: a generated state synced from zero-latency simulated peers into redb,
//! beside a bare HashBuilder root over the same leaves.
//!
//! `cargo run --release -p snapsync-snap-sync --example sync_figures -- [accounts]`
//!
//! `SNAPSYNC_PROFILE=mainnet` draws the state in mainnet's shape (`StateSpec::mainnet`);
//! `STEP_BYTES=N` sets `step.max_bytes`. Besides the times it prints the CPU the sync used
//! (Linux) and the stored counts.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use snapsync_db::{Database, RedbDatabase, RedbOptions};
use snapsync_sim::{GeneratedChain, StateProfile};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use std::{sync::Arc, time::Instant};
use tokio::sync::watch;

fn main() {
    let accounts: usize = std::env::args().nth(1).map_or(500_000, |a| a.parse().unwrap());
    let spec = StateProfile::from_env("SNAPSYNC_PROFILE").unwrap().benchmark_spec(accounts);
    let started = Instant::now();
    let chain = GeneratedChain::new(1, &spec, 70, 0);
    let state = chain.state_at(6).unwrap();
    let counts = state.counts();
    let leaves = counts.accounts + counts.storage_slots;
    let peers = (0..4).map(|_| SimPeer::honest(Link::INSTANT)).collect();
    let scenario = Scenario::new(chain, peers, [6]).unwrap();
    println!("world built in {:?}: {leaves} leaves", started.elapsed());

    let bare = Instant::now();
    let root = state.state_root();
    let bare = bare.elapsed();
    println!("bare root {root} in {bare:?}");

    let dir = tempfile::tempdir().unwrap();
    let db: Arc<dyn Database> =
        Arc::new(RedbDatabase::open(dir.path().join("db.redb"), RedbOptions::default()).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sync = Instant::now();
    let cpu_before = process_cpu_seconds();
    runtime.block_on(async {
        let (_tx, tip) = watch::channel(scenario.tip());
        let stage =
            SnapSyncStage::new(scenario.network.clone(), tip, config(), dir.path()).unwrap();
        let mut progress = stage.progress();
        let mut pipeline =
            Pipeline::new(db.clone(), StageSet::builder().add(stage).unwrap().build());
        let watch_phases = tokio::spawn(async move {
            let mut last = None;
            let start = Instant::now();
            while progress.changed().await.is_ok() {
                let phase = progress.borrow().phase;
                if last != Some(phase) {
                    println!("  {:>8.3}s phase {phase:?}", start.elapsed().as_secs_f64());
                    last = Some(phase);
                }
            }
            let early = progress.borrow().parts_checked_early;
            println!("  parts of the state checked while downloading: {early} of 16");
        });
        pipeline.run(None).await.unwrap();
        drop(pipeline);
        watch_phases.await.unwrap();
    });
    let sync = sync.elapsed();
    if let (Some(before), Some(after)) = (cpu_before, process_cpu_seconds()) {
        let cpu = after - before;
        println!(
            "sync cpu {cpu:.2} s over {:.2} s: {:.2} cores busy",
            sync.as_secs_f64(),
            cpu / sync.as_secs_f64()
        );
    }
    let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
    assert!(summary.is_done());
    println!("stored {:?}", summary.counts);
    println!(
        "sync {sync:?}: {:.0} leaves/s; ratio to bare root {:.3}",
        leaves as f64 / sync.as_secs_f64(),
        bare.as_secs_f64() / sync.as_secs_f64()
    );
}

/// The default configuration, with `step.max_bytes` from `STEP_BYTES` if set.
fn config() -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    if let Ok(bytes) = std::env::var("STEP_BYTES") {
        config.step.max_bytes = Some(bytes.parse().unwrap());
    }
    config
}

/// This process's CPU time (user and system) so far, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Clock ticks are taken as 100 per second, the Linux default.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) are space-separated; utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
