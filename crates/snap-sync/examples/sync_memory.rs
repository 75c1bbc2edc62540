//! The sync's own memory as the state grows: a generated state synced from zero-latency simulated
//! peers into redb (128 MiB page cache, as the CLI opens it), with the heap's high-water mark
//! during the sync measured above what the simulated world already held.
//!
//! The simulated world (the generated state, the server's in-memory copy of it with its trie
//! nodes) lives in the same process and grows with the state; the sync does not. So the figure
//! reported is the heap high-water mark during the pipeline run minus the heap in use just before
//! it: the sync's buffers, the ETL sort buffers, redb's cache, and the server's per-request
//! allocations. The process's peak RSS (VmHWM) is printed too, for reference.
//!
//! `cargo run --release -p snapsync-snap-sync --example sync_memory -- [accounts [etl_buffer_mib [redb_cache_mib [budget_mib]]]]`
//! (`etl_buffer_mib` 0: `etl.buffer_bytes` unset, its share of the budget; `redb_cache_mib` 0 or
//! unset: the budget's cache share, 128 MiB by default, as the CLI opens its data directory;
//! `budget_mib` 0 or unset: the default `memory.budget_bytes`)
//!
//! `SNAPSYNC_PROFILE=mainnet` draws the state in mainnet's shape (`StateSpec::mainnet`);
//! `STEP_BYTES=N` sets `step.max_bytes`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use peak_alloc::PeakAlloc;
use snapsync_db::{Database, RedbDatabase, RedbOptions};
use snapsync_sim::{GeneratedChain, StateProfile};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use std::{sync::Arc, time::Instant};
use tokio::sync::watch;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

fn main() {
    let accounts: usize = std::env::args().nth(1).map_or(420_000, |a| a.parse().unwrap());
    let buffer_mib: usize = std::env::args().nth(2).map_or(0, |a| a.parse().unwrap());
    let cache_mib: usize = std::env::args().nth(3).map_or(0, |a| a.parse().unwrap());
    let budget_mib: u64 = std::env::args().nth(4).map_or(0, |a| a.parse().unwrap());
    let mut config = SnapSyncConfig::default();
    if buffer_mib > 0 {
        config.etl.buffer_bytes = Some(buffer_mib << 20);
    }
    if budget_mib > 0 {
        config.memory.budget_bytes = budget_mib << 20;
    }
    if let Ok(bytes) = std::env::var("STEP_BYTES") {
        config.step.max_bytes = Some(bytes.parse().unwrap());
    }
    config.validate().unwrap();
    let cache_bytes = match cache_mib {
        0 => usize::try_from(config.memory.cache_bytes()).unwrap(),
        mib => mib << 20,
    };
    let spec = StateProfile::from_env("SNAPSYNC_PROFILE").unwrap().benchmark_spec(accounts);
    let started = Instant::now();
    let chain = GeneratedChain::new(1, &spec, 70, 0);
    let counts = chain.genesis_state().counts();
    let leaves = counts.accounts + counts.storage_slots;
    let peers = (0..4).map(|_| SimPeer::honest(Link::INSTANT)).collect();
    let scenario = Scenario::new(chain, peers, [6]).unwrap();
    println!("world built in {:.1?}: {leaves} leaves", started.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let options = RedbOptions { cache_size: cache_bytes, ..RedbOptions::default() };
    let db: Arc<dyn Database> =
        Arc::new(RedbDatabase::open(dir.path().join("db.redb"), options).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Some(secs) = std::env::var("SYNC_PAUSE_SECS").ok().and_then(|s| s.parse().ok()) {
        // Time to attach a heap profiler (`heaptrack -p PID`) to the sync alone.
        println!("pid {}: pausing {secs} s before the sync", std::process::id());
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let sync = Instant::now();
    runtime.block_on(async {
        let (_tx, tip) = watch::channel(scenario.tip());
        let stage = SnapSyncStage::new(scenario.network.clone(), tip, config, dir.path()).unwrap();
        let progress = stage.progress();
        let mut pipeline =
            Pipeline::new(db.clone(), StageSet::builder().add(stage).unwrap().build());
        // The heap's high-water per phase, sampled: where the memory goes.
        let sampler = tokio::spawn(async move {
            let mut peaks: Vec<(String, usize)> = Vec::new();
            loop {
                let phase = format!("{:?}", progress.borrow().phase);
                let usage = HEAP.current_usage().saturating_sub(before);
                if std::env::var_os("SYNC_MEMORY_TRACE").is_some() {
                    println!("    {phase} {} MiB", usage >> 20);
                }
                match peaks.last_mut() {
                    Some((last, peak)) if *last == phase => *peak = (*peak).max(usage),
                    _ => peaks.push((phase, usage)),
                }
                if progress.has_changed().is_err() {
                    return peaks;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        });
        pipeline.run(None).await.unwrap();
        drop(pipeline);
        for (phase, peak) in sampler.await.unwrap() {
            println!("  {phase:<10} sampled heap above the world: {} MiB", peak >> 20);
        }
    });
    let sync = sync.elapsed();
    let peak = HEAP.peak_usage();
    let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
    assert!(summary.is_done());
    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    println!(
        "sync of {leaves} leaves in {sync:.1?}: heap before {:.0} MiB, peak during {:.0} MiB, \
         sync high-water {:.0} MiB above the world; process peak RSS {}",
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before)),
        peak_rss().unwrap_or_else(|| "unknown".to_owned())
    );
}

/// The process's peak resident set (`VmHWM`), as the kernel reports it.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
