//! The metrics of a sync, read back through a recorder: a pipeline of the snap stage against
//! honest, stalling and lying peers records the timeouts, hedges, bans and penalties the
//! simulated network saw, ETL and database work, and one pipeline step per committed step; and
//! `docs/metrics.md` documents every name the code records.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use metrics_util::{
    CompositeKey, MetricKind,
    debugging::{DebugValue, DebuggingRecorder, Snapshotter},
};
use snapsync::{
    net::Penalty,
    snap_sync::{SNAP_SYNC, SnapSyncConfig, SnapSyncStage, stored_summary},
    stages::{Pipeline, PipelineEvent, StageSet},
};
use snapsync_db::test_utils::memory_db;
use snapsync_sim::{Behaviour, Link, Scenario, SimPeer};
use snapsync_sim::{GeneratedChain, StateSpec};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::watch;

/// The recorded values, by name and labels.
struct Recorded(HashMap<CompositeKey, DebugValue>);

impl Recorded {
    fn take(snapshotter: &Snapshotter) -> Self {
        let values = snapshotter.snapshot().into_vec();
        Self(values.into_iter().map(|(key, _, _, value)| (key, value)).collect())
    }

    /// Every series of metric `name` whose labels include `labels`.
    fn series<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a DebugValue> + 'a {
        self.0.iter().filter_map(move |(key, value)| {
            let matches = key.key().name() == name
                && labels.iter().all(|(label, wanted)| {
                    key.key().labels().any(|l| l.key() == *label && l.value() == *wanted)
                });
            matches.then_some(value)
        })
    }

    /// The sum of counter `name` over the series whose labels include `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.series(name, labels)
            .map(|value| match value {
                DebugValue::Counter(count) => *count,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }

    /// Gauge `name` with exactly these labels.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut values = self.series(name, labels).map(|value| match value {
            DebugValue::Gauge(value) => value.into_inner(),
            other => panic!("{name} is not a gauge: {other:?}"),
        });
        let value = values.next().unwrap_or_else(|| panic!("no gauge {name} {labels:?}"));
        assert!(values.next().is_none(), "several series of {name} {labels:?}");
        value
    }

    /// The number of observations of histogram `name` with these labels.
    fn observations(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        self.series(name, labels)
            .map(|value| match value {
                DebugValue::Histogram(values) => values.len(),
                other => panic!("{name} is not a histogram: {other:?}"),
            })
            .sum()
    }

    /// The values of `label` among the series of `name` with a non-zero counter.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.0
            .iter()
            .filter(|(key, value)| {
                key.key().name() == name && !matches!(value, DebugValue::Counter(0))
            })
            .flat_map(|(key, _)| key.key().labels().filter(|l| l.key() == label))
            .map(|l| l.value().to_owned())
            .collect()
    }
}

/// Small steps and requests, short timeouts: a small state spans many steps, and a stalled
/// request is taken over quickly.
fn config() -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.peers.min_request_bytes = 16 * 1024;
    config.peers.max_request_bytes = 64 * 1024;
    config.peers.timeout_min = std::time::Duration::from_millis(200);
    config.peers.timeout_max = std::time::Duration::from_millis(500);
    config.step.max_bytes = Some(64 * 1024);
    config.storage.split_threshold_slots = 500;
    config.storage.accounts_per_batch = 16;
    config.concurrency.max_requests = 4;
    config.accounts.chunks = 4;
    config
}

/// One test function: the recorder is global to this test binary, and a snapshot empties it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_against_faulty_peers_records_what_happened() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    snapsync::metrics::describe();

    let spec = StateSpec::small().with_accounts(3_000).with_huge_contracts(1, 6_000);
    let chain = GeneratedChain::new(21, &spec, 70, 0);
    let link = Link::new(1, 1_000);
    let peers = vec![
        SimPeer::honest(link),
        SimPeer::honest(link),
        SimPeer::new(link, Behaviour::Stall, 1),
        SimPeer::new(link, Behaviour::BadProof, 2),
    ];
    let scenario = Scenario::new(chain, peers, [6]).unwrap();
    let (stall, liar) = (scenario.network.peer_ids()[2], scenario.network.peer_ids()[3]);
    let db = memory_db();
    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage = SnapSyncStage::new(scenario.network.clone(), tip, config(), etl.path()).unwrap();
    let fetcher = std::sync::Arc::clone(stage.fetcher());
    let mut pipeline =
        Pipeline::new(db.db.clone(), StageSet::builder().add(stage).unwrap().build());
    let mut events = pipeline.subscribe();
    // What building the scenario recorded (its state imports) is not the sync's.
    drop(Recorded::take(&snapshotter));

    pipeline.run(None).await.unwrap();
    // A request taken for lost runs on until its own answer or deadline after the hedge that
    // answered first: wait for the last of them (the staller's timeouts) before reading.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while fetcher.peer_stats().iter().any(|peer| peer.in_flight > 0) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every request ends by its deadline");
    let recorded = Recorded::take(&snapshotter);
    let mut steps = 0;
    let mut last_checkpoint = None;
    while let Ok(event) = events.try_recv() {
        if let PipelineEvent::StageProgress { checkpoint, .. } = event {
            steps += 1;
            last_checkpoint = Some(checkpoint.block_number);
        }
    }
    let summary = stored_summary(&db.db.view().unwrap()).unwrap().unwrap();
    assert!(summary.is_done());
    let reports = scenario.network.reports();

    // Peers: the stalled requests timed out and were taken over by hedges; the liar was banned
    // once for its proofs; every penalty reported to the network was counted.
    let stage_label = [("stage", "SnapSync")];
    assert_eq!(SNAP_SYNC.as_str(), "SnapSync");
    assert!(recorded.counter("snapsync_peers_requests_timed_out_total", &[]) > 0);
    assert!(recorded.counter("snapsync_peers_hedges_sent_total", &[("reason", "lost")]) > 0);
    let hedges_won = recorded.counter("snapsync_peers_hedges_won_total", &[]);
    assert!(hedges_won > 0);
    assert!(hedges_won <= recorded.counter("snapsync_peers_hedges_sent_total", &[]));
    assert_eq!(recorded.counter("snapsync_peers_bans_total", &[]), 1);
    let faults = recorded.label_values("snapsync_peers_bans_total", "fault");
    assert!(
        faults == BTreeSet::from(["range_proof".to_owned()])
            || faults == BTreeSet::from(["storage_proof".to_owned()]),
        "{faults:?}"
    );
    assert_eq!(recorded.gauge("snapsync_peers_banned", &[]), 1.0);
    let count = |wanted: fn(&Penalty) -> bool| {
        reports.iter().filter(|report| wanted(&report.penalty)).count() as u64
    };
    assert_eq!(recorded.counter("snapsync_peers_penalties_total", &[]), reports.len() as u64);
    assert_eq!(
        recorded.counter("snapsync_peers_penalties_total", &[("penalty", "timeout")]),
        count(|penalty| matches!(penalty, Penalty::Timeout { .. }))
    );
    assert_eq!(
        recorded.counter("snapsync_peers_penalties_total", &[("penalty", "invalid_data")]),
        count(|penalty| matches!(penalty, Penalty::InvalidData { .. }))
    );
    assert!(
        scenario.network.penalties_of(stall).iter().all(|p| matches!(p, Penalty::Timeout { .. }))
    );
    assert!(scenario.network.penalties_of(liar).iter().any(Penalty::is_disconnect));
    // Every request the network received was counted as sent, and each ended one way.
    let sent = recorded.counter("snapsync_peers_requests_sent_total", &[]);
    assert_eq!(sent, scenario.network.requests());
    let verified = recorded.counter("snapsync_peers_requests_verified_total", &[]);
    let ended = verified
        + recorded.counter("snapsync_peers_requests_unavailable_total", &[])
        + recorded.counter("snapsync_peers_requests_timed_out_total", &[])
        + recorded.counter("snapsync_peers_requests_failed_total", &[])
        + recorded.counter("snapsync_peers_requests_invalid_total", &[])
        + recorded.counter("snapsync_peers_requests_cancelled_total", &[]);
    assert!(verified > 0 && ended <= sent, "{ended} ended of {sent} sent");
    assert!(
        recorded.counter("snapsync_peers_requests_verified_total", &[("kind", "account_range")])
            > 0
    );
    assert!(
        recorded.counter("snapsync_peers_requests_verified_total", &[("kind", "storage_ranges")])
            > 0
    );
    assert_eq!(
        recorded.observations("snapsync_peers_request_duration_seconds", &[]) as u64,
        verified
    );
    let delivered = recorded.counter("snapsync_peers_delivered_bytes_total", &[]);
    assert_eq!(delivered as f64, recorded.gauge("snapsync_sync_bytes_downloaded", &[]));

    // Pipeline: one step counted, and timed, per committed step; the checkpoint gauge is the
    // last committed checkpoint.
    assert!(steps > 3, "{steps} steps");
    assert_eq!(recorded.counter("snapsync_pipeline_steps_total", &stage_label), steps);
    assert_eq!(
        recorded.observations("snapsync_pipeline_step_duration_seconds", &stage_label) as u64,
        steps
    );
    assert_eq!(
        recorded.gauge("snapsync_pipeline_checkpoint_block", &stage_label),
        last_checkpoint.unwrap() as f64
    );
    assert_eq!(recorded.counter("snapsync_pipeline_unwind_steps_total", &[]), 0);

    // Database: a commit per step, each timed; every stored account went through the sorted
    // path, and the ETL collectors saw every stored leaf.
    assert_eq!(recorded.counter("snapsync_db_commits_total", &[]), steps);
    assert_eq!(recorded.observations("snapsync_db_commit_duration_seconds", &[]) as u64, steps);
    assert!(recorded.counter("snapsync_db_write_transactions_total", &[]) >= steps);
    assert!(recorded.counter("snapsync_db_read_views_total", &[]) > 0);
    let accounts =
        recorded.counter("snapsync_db_appended_entries_total", &[("table", "HashedAccounts")]);
    assert!(accounts >= summary.counts.accounts, "{accounts} appended");
    let bytes =
        recorded.counter("snapsync_db_appended_bytes_total", &[("table", "HashedAccounts")]);
    assert!(bytes >= accounts * 32, "{bytes} bytes for {accounts} accounts");
    let leaves = summary.counts.accounts + summary.counts.slots;
    assert!(recorded.counter("snapsync_etl_collected_entries_total", &[]) >= leaves);
    assert!(recorded.counter("snapsync_etl_collected_bytes_total", &[]) >= leaves * 32);
    assert_eq!(recorded.gauge("snapsync_sync_accounts", &[]), summary.counts.accounts as f64);

    // Every name recorded is one the library lists (and so documented, see below).
    let known: BTreeSet<&str> = snapsync::metrics::names().collect();
    for key in recorded.0.keys() {
        assert!(known.contains(key.key().name()), "{} is not listed", key.key().name());
    }
    assert!(
        recorded.0.keys().all(
            |key| key.kind() != MetricKind::Histogram || key.key().name().ends_with("_seconds")
        )
    );
}

/// The names in `docs/metrics.md`'s tables: the first cell of each row, in backquotes.
fn documented_names() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    doc.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .filter(|name| name.starts_with("snapsync_"))
        .collect()
}

#[test]
fn docs_metrics_md_documents_exactly_the_names_recorded() {
    let documented = documented_names();
    let listed: BTreeSet<String> = snapsync::metrics::names().map(str::to_owned).collect();
    let missing: Vec<_> = listed.difference(&documented).collect();
    assert!(missing.is_empty(), "not in docs/metrics.md: {missing:?}");
    // The binary's own gauges are documented too (its unit tests check them).
    let stale: Vec<_> =
        documented.difference(&listed).filter(|name| !name.starts_with("snapsync_cli_")).collect();
    assert!(stale.is_empty(), "documented but not recorded: {stale:?}");
}
