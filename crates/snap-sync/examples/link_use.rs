//! How full the snap sync stage keeps its peers' links: the state `snapsync sync --accounts`
//! generates, synced from simulated peers on 8 Mbit/s links of the given latencies, under
//! paused tokio time. CPU time costs no simulated time, so the figures show the scheduling
//! alone: bytes over simulated time, against the peers' aggregate capacity.
//!
//! `cargo run --release -p snapsync-snap-sync --example link_use -- [accounts] [peers]
//! [latency_ms...] [--config file.toml] [--stalled-peer | --slow-peer factor]`
//!
//! `SNAPSYNC_PROFILE=mainnet` draws the state in mainnet's shape (`StateProfile`).
//!
//! `--stalled-peer` makes one peer (not the first, which the pivot is fetched from) never
//! answer; `--slow-peer` makes it that many times slower.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    missing_docs
)]

use snapsync_db::{Database, MemoryDatabase};
use snapsync_sim::{Behaviour, Link, Scenario, SimPeer};
use snapsync_sim::{GeneratedChain, GeneratedState, StateProfile};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use std::sync::Arc;
use tokio::{sync::watch, time::Instant};

/// Bytes per second of an 8 Mbit/s link.
const LINK_RATE: f64 = 1_000_000.0;

/// The peer that misbehaves when asked to.
const ODD_PEER: usize = 3;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take_flag = |flag: &str, with_value: bool| {
        let index = args.iter().position(|arg| arg == flag)?;
        let value = with_value.then(|| args.remove(index + 1));
        args.remove(index);
        Some(value.unwrap_or_default())
    };
    let config = take_flag("--config", true).map_or_else(SnapSyncConfig::default, |path| {
        SnapSyncConfig::load(std::path::Path::new(&path)).unwrap()
    });
    let odd = match (take_flag("--stalled-peer", false), take_flag("--slow-peer", true)) {
        (Some(_), _) => Behaviour::Stall,
        (None, Some(factor)) => Behaviour::Slow { factor: factor.parse().unwrap() },
        (None, None) => Behaviour::Honest,
    };
    let accounts: usize = args.first().map_or(150_000, |arg| arg.parse().unwrap());
    let peer_count: usize = args.get(1).map_or(8, |arg| arg.parse().unwrap());
    let latencies: Vec<u64> = match args.get(2..) {
        Some(rest) if !rest.is_empty() => rest.iter().map(|arg| arg.parse().unwrap()).collect(),
        _ => vec![10, 50, 100, 250],
    };
    let distance = config.pivot.distance;
    let profile = StateProfile::from_env("SNAPSYNC_PROFILE").unwrap();
    let state = GeneratedState::generate(1, &profile.spec(accounts));
    let chain = GeneratedChain::from_genesis_state(1, state, 2 * distance, 0);
    for latency in latencies {
        let link = Link::new(latency, 8);
        let peers = (0..peer_count)
            .map(|index| {
                let behaviour = if index == ODD_PEER { odd.clone() } else { Behaviour::Honest };
                SimPeer::new(link, behaviour, 0)
            })
            .collect();
        let scenario = Scenario::new(chain.clone(), peers, [distance]).unwrap();
        run(&scenario, &config, latency, peer_count);
    }
}

/// Syncs `scenario` under paused time and prints the link use.
fn run(scenario: &Scenario, config: &SnapSyncConfig, latency: u64, peers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build();
    let wall = std::time::Instant::now();
    let (elapsed, phases) = runtime.unwrap().block_on(async {
        let (_tip_sender, tip) = watch::channel(scenario.tip());
        let network = scenario.network.clone();
        let stage = SnapSyncStage::new(network, tip, config.clone(), dir.path()).unwrap();
        let mut progress = stage.progress();
        let mut pipeline =
            Pipeline::new(db.clone(), StageSet::builder().add(stage).unwrap().build());
        let start = Instant::now();
        let phases = tokio::spawn(async move {
            let mut phases = Vec::new();
            while progress.changed().await.is_ok() {
                let phase = progress.borrow().phase;
                if phases.last().is_none_or(|(last, _)| *last != phase) {
                    phases.push((phase, start.elapsed()));
                }
            }
            phases
        });
        pipeline.run(None).await.unwrap();
        let elapsed = start.elapsed();
        drop(pipeline);
        (elapsed, phases.await.unwrap())
    });
    let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
    assert!(summary.is_done(), "the sync did not finish");
    let bytes = scenario.network.bytes_sent() as f64;
    let secs = elapsed.as_secs_f64();
    let capacity = LINK_RATE * peers as f64 * secs;
    let phases: Vec<String> =
        phases.iter().map(|(phase, at)| format!("{phase:?}@{:.3}", at.as_secs_f64())).collect();
    println!(
        "L={latency:>3} ms: simulated {secs:.3} s, {bytes} bytes, {:.2} MB/s, {:.1}% of \
         {peers} × 1 MB/s (wall {:.1} s) {}",
        bytes / secs / 1e6,
        100.0 * bytes / capacity,
        wall.elapsed().as_secs_f64(),
        phases.join(" ")
    );
}
