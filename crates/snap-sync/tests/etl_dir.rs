//! The ETL directory shared by several syncs: a stage starting there removes the run directories
//! a killed process left, never the live ones of another sync, which syncs on undisturbed.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_db::test_utils::memory_db;
use snapsync_etl::{Collector, CollectorConfig};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use std::path::{Path, PathBuf};
use tokio::sync::watch;

fn scenario() -> Scenario {
    let chain = GeneratedChain::new(4, &StateSpec::small(), 70, 0);
    Scenario::new(chain, vec![SimPeer::honest(Link::INSTANT)], [6]).unwrap()
}

/// The default settings with run directories in `dir` and the smallest sort buffer.
fn config_in(dir: &Path) -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.etl.dir = Some(dir.to_owned());
    config.etl.buffer_bytes = Some(SnapSyncConfig::MIN_ETL_BUFFER_BYTES);
    config
}

/// A run directory as a killed process leaves it: its lock file unlocked.
fn left_by_a_killed_process(base: &Path) -> PathBuf {
    let dir = base.join("snapsync-etl-killed");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("lock"), b"").unwrap();
    std::fs::write(dir.join("run-000000"), b"partial").unwrap();
    dir
}

#[tokio::test]
async fn a_stage_starting_in_a_shared_dir_removes_dead_runs_and_keeps_live_ones() {
    let shared = tempfile::tempdir().unwrap();
    // Another sync's collector, live, with a spilled run.
    let mut live = Collector::<u64, Vec<u8>>::new(
        CollectorConfig::new(4096).with_temp_dir(shared.path()).with_io_buffers(128, 128),
    );
    for key in 0..200u64 {
        live.insert(&key, &vec![1; 100]).unwrap();
    }
    let live_dir = live.run_dir().unwrap().to_owned();
    let dead_dir = left_by_a_killed_process(shared.path());

    let scenario = scenario();
    let db = memory_db();
    let datadir = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage =
        SnapSyncStage::new(scenario.network.clone(), tip, config_in(shared.path()), datadir.path())
            .unwrap();
    assert!(!dead_dir.exists(), "the killed process's run directory stayed");
    assert!(live_dir.exists(), "the live run directory was removed");

    // This sync runs to its end while the other collector lives.
    let mut pipeline =
        Pipeline::new(db.db.clone(), StageSet::builder().add(stage).unwrap().build());
    pipeline.run(None).await.unwrap();
    assert!(stored_summary(&db.db.view().unwrap()).unwrap().unwrap().is_done());
    assert!(!datadir.path().join("etl").exists(), "runs went to the datadir, not etl.dir");

    let keys: Vec<u64> = live.iter().unwrap().map(|entry| entry.unwrap().0).collect();
    assert_eq!(keys, (0..200).collect::<Vec<_>>());
    drop(live);
    let left: Vec<_> = std::fs::read_dir(shared.path()).unwrap().collect();
    assert!(left.is_empty(), "run directories left behind: {left:?}");
}
