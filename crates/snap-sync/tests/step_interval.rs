//! `step.max_interval`: on slow links a step commits once the interval has passed, not
//! only once it holds `step.max_bytes`, so what a crash loses is bounded in time as well as in
//! bytes; requests given up unsent at a step's deadline are asked again and the sync still ends
//! with the pivot's state. Under paused tokio time: the figures are simulated seconds.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_db::test_utils::memory_db;
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, PipelineEvent, StageSet};
use snapsync_storage::compute_state_root;
use std::time::Duration;
use tokio::{sync::watch, time::Instant};

/// Four peers on 1 Mbit/s links (125 kB/s each) serving a state of a few MB, so that the whole
/// download takes several simulated seconds.
fn slow_scenario() -> Scenario {
    let spec = StateSpec::small().with_accounts(12_000);
    let chain = GeneratedChain::new(21, &spec, 70, 0);
    let peers = (0..4).map(|_| SimPeer::honest(Link::new(20, 1))).collect();
    Scenario::new(chain, peers, [6]).unwrap()
}

/// Default settings, except the interval; `step.max_bytes` (8 MiB) is more than the whole state,
/// so only the interval can end a step before its phase does.
fn config(interval_ms: u64) -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.step.max_interval = Duration::from_millis(interval_ms);
    config
}

/// Syncs `scenario` under paused time; returns the simulated times (since the stage started) of
/// the snap stage's commits, after checking the stored state is the pivot's.
async fn commit_times(scenario: &Scenario, config: SnapSyncConfig) -> Vec<Duration> {
    let etl = tempfile::tempdir().unwrap();
    let db = memory_db();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage = SnapSyncStage::new(scenario.network.clone(), tip, config, etl.path()).unwrap();
    let mut pipeline =
        Pipeline::new(db.db.clone(), StageSet::builder().add(stage).unwrap().build())
            .with_event_capacity(4096);
    let mut events = pipeline.subscribe();
    let start = Instant::now();
    let commits = tokio::spawn(async move {
        let mut commits = Vec::new();
        while let Ok(event) = events.recv().await {
            match event {
                PipelineEvent::StageProgress { stage, checkpoint }
                | PipelineEvent::StageFinished { stage, checkpoint }
                    if stage == snapsync_snap_sync::SNAP_SYNC =>
                {
                    if std::env::var("DEBUG_STEPS").is_ok() {
                        eprintln!("{:?} {checkpoint:?}", start.elapsed());
                    }
                    commits.push(start.elapsed());
                }
                _ => {}
            }
        }
        commits
    });
    pipeline.run(None).await.unwrap();
    drop(pipeline);
    let commits = commits.await.unwrap();

    let pivot = scenario.chain.header(6).unwrap();
    let state = scenario.chain.state_at(6).unwrap();
    assert_eq!(state.compare_with_db(&*db.db, 5).unwrap(), vec![], "stored state differs");
    let report = compute_state_root(&db.db.view().unwrap()).unwrap();
    assert_eq!(report.state_root, pivot.state_root);
    assert!(stored_summary(&db.db.view().unwrap()).unwrap().unwrap().is_done());
    commits
}

/// What a step may take beyond its interval: the replies already on their way when it is full
/// (on these links a 64 KiB reply takes about 0.5 s, and each peer has one or two on the way),
/// or, when the interval is shorter than a reply, its first reply as well.
const REPLIES_ON_THE_WAY: Duration = Duration::from_millis(2_000);

/// The longest time between two consecutive commits (the first measured from the start).
fn longest_gap(commits: &[Duration]) -> Duration {
    let mut previous = Duration::ZERO;
    let mut longest = Duration::ZERO;
    for &at in commits {
        longest = longest.max(at - previous);
        previous = at;
    }
    longest
}

#[tokio::test(start_paused = true)]
async fn slow_links_commit_within_the_interval_and_keep_committing() {
    let scenario = slow_scenario();
    let interval = Duration::from_millis(1_000);
    let commits = commit_times(&scenario, config(1_000)).await;
    let total = *commits.last().unwrap();
    eprintln!("{} commits over {total:?}: {commits:?}", commits.len());
    // The whole download takes many intervals; each step ends after its interval and the
    // replies on their way then. (Before steps ended by time, the first data commit came after
    // all 64 requests the step had started were in: about 8 s on these links.)
    assert!(total > 5 * interval, "the state is too small to test anything: {total:?}");
    // The pivot step commits at once; the first commit holding data comes within the bound.
    let first_data = commits.get(1).copied().unwrap();
    let bound = interval + REPLIES_ON_THE_WAY;
    assert!(first_data <= commits[0] + bound, "first data commit at {first_data:?}");
    assert!(longest_gap(&commits) <= bound, "a gap over {bound:?}: {commits:?}");
    let expected_at_least = usize::try_from(total.as_secs() / bound.as_secs()).unwrap();
    assert!(commits.len() >= expected_at_least, "too few commits: {commits:?}");
}

#[tokio::test(start_paused = true)]
async fn a_short_interval_gives_up_many_requests_and_still_syncs_the_pivot_state() {
    // 100 ms, the shortest allowed: shorter than one response on these links, so nearly every
    // step's queued requests are given up unsent and asked again by the next step, and some
    // steps reach their deadline holding nothing and wait for their first reply.
    let scenario = slow_scenario();
    let commits = commit_times(&scenario, config(100)).await;
    eprintln!("{} commits over {:?}", commits.len(), commits.last().unwrap());
    let bound = Duration::from_millis(100) + REPLIES_ON_THE_WAY;
    assert!(longest_gap(&commits) <= bound, "a gap over {bound:?}: {commits:?}");
}
