//! `SnapSyncStage` in a pipeline against simulated peers: the stored state ends equal to the
//! pivot's, on both backends, with large contracts split, and a restarted pipeline resumes.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_db as _;
use snapsync_db::test_utils::{memory_db, redb_db};
use snapsync_etl::CollectorConfig;
use snapsync_sim::{Behaviour, Link, Scenario, SimPeer};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync_stages::{Pipeline, RetryPolicy, StageSet};
use snapsync_storage::test_utils::MapStore;
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use snapsync_storage::{compute_state_root, rebuild_state_trie};
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;

/// Small steps and requests so that even a small state spans many of each.
fn config() -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.peers.min_request_bytes = 16 * 1024;
    config.peers.max_request_bytes = 64 * 1024;
    config.step.max_bytes = Some(64 * 1024);
    config.storage.split_threshold_slots = 500;
    config.storage.accounts_per_batch = 16;
    config.concurrency.max_requests = 4;
    config
}

fn scenario(seed: u64, peers: usize) -> Scenario {
    scenario_over(seed, peers, Link::INSTANT)
}

fn scenario_over(seed: u64, peers: usize, link: Link) -> Scenario {
    let spec = StateSpec::small().with_accounts(3_000).with_huge_contracts(1, 6_000);
    let chain = GeneratedChain::new(seed, &spec, 70, 0);
    let peers = (0..peers).map(|_| SimPeer::honest(link)).collect();
    Scenario::new(chain, peers, [6]).unwrap()
}

/// The suite runs over snapsync-db's backends and over `MapStore`, a store that shares no code
/// with snapsync-db: the stage reaches storage only through the storage seam.
fn map_store() -> Arc<MapStore> {
    Arc::new(MapStore::new())
}

async fn sync<S: StateStore + ?Sized>(
    scenario: &Scenario,
    db: &Arc<S>,
    config: SnapSyncConfig,
) -> Pipeline<S> {
    let (pipeline, result) = try_sync(scenario, db, config).await;
    result.unwrap();
    pipeline
}

/// A pipeline of the stage alone, run to its end: the pipeline and how the run ended.
async fn try_sync<S: StateStore + ?Sized>(
    scenario: &Scenario,
    db: &Arc<S>,
    config: SnapSyncConfig,
) -> (Pipeline<S>, Result<(), snapsync_stages::PipelineError>) {
    let mut pipeline = stage_pipeline(scenario, db, config);
    // Nothing cancels this pipeline: `Ok` is a finished run.
    let result = pipeline.run(None).await.map(drop);
    (pipeline, result)
}

fn stage_pipeline<S: StateStore + ?Sized>(
    scenario: &Scenario,
    db: &Arc<S>,
    config: SnapSyncConfig,
) -> Pipeline<S> {
    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage = SnapSyncStage::new(scenario.network.clone(), tip, config, etl.path()).unwrap();
    Pipeline::new(Arc::clone(db), StageSet::builder().add(stage).unwrap().build())
}

/// Runs a pipeline of the stage until it has committed `steps` steps, then drops it between
/// steps (as a crash would, less the durability).
async fn interrupt_after<S: StateStore + ?Sized>(scenario: &Scenario, db: &Arc<S>, steps: usize) {
    let mut pipeline = stage_pipeline(scenario, db, config());
    let mut events = pipeline.subscribe();
    let run = pipeline.run(None);
    tokio::pin!(run);
    let mut committed = 0;
    while committed < steps {
        tokio::select! {
            biased;
            event = events.recv() => {
                if matches!(event.unwrap(), snapsync_stages::PipelineEvent::StageProgress { .. }) {
                    committed += 1;
                }
            }
            result = &mut run => panic!("finished before the interruption: {result:?}"),
        }
    }
}

fn assert_synced<S: StateStore + ?Sized>(scenario: &Scenario, db: &S) {
    let pivot = scenario.chain.header(6).unwrap();
    let state = scenario.chain.state_at(6).unwrap();
    let view = db.reader().unwrap();
    assert_eq!(state.compare_with_store(&view, 5).unwrap(), vec![], "stored state differs");
    let report = compute_state_root(&view).unwrap();
    assert_eq!(report.state_root, pivot.state_root);
    assert!(report.is_consistent());
    let summary = stored_summary(&view).unwrap().unwrap();
    assert!(summary.is_done());
    assert_eq!(summary.pivot.number, 6);
    assert_eq!(summary.counts.accounts, state.len() as u64);
    assert!(summary.counts.trie_nodes > 0);
    assert_eq!(view.header_number(&pivot.hash()).unwrap(), Some(6));
    assert_nodes_are_the_rebuilt_trie(db);
}

/// Every stored trie node: the account trie's, then every storage trie's.
type StoredNodes = (
    Vec<(snapsync_trie::Nibbles, alloy_primitives::Bytes)>,
    Vec<snapsync_storage::StorageNodeEntry>,
);

fn nodes(read: &(impl StateRead + ?Sized)) -> StoredNodes {
    let account = read.account_nodes(KeyRange::all()).unwrap().map(Result::unwrap).collect();
    let storage = read.all_storage_nodes(KeyRange::all()).unwrap().map(Result::unwrap).collect();
    (account, storage)
}

/// The stored trie nodes are exactly those `rebuild_state_trie` writes from the stored leaves:
/// no node missing, none extra, none different.
fn assert_nodes_are_the_rebuilt_trie<S: StateStore + ?Sized>(db: &S) {
    let view = db.reader().unwrap();
    let stored = nodes(&view);
    let mut txn = db.writer().unwrap();
    rebuild_state_trie(&view, &mut txn, &CollectorConfig::new(1 << 20)).unwrap();
    let rebuilt = nodes(&txn);
    drop(txn); // aborted: the database keeps the synced nodes
    assert_eq!(stored.0.len(), rebuilt.0.len(), "account trie node count");
    assert_eq!(stored.1.len(), rebuilt.1.len(), "storage trie node count");
    let first_account_difference = stored.0.iter().zip(&rebuilt.0).find(|(a, b)| a != b);
    assert_eq!(first_account_difference, None, "account trie nodes differ");
    let first_storage_difference = stored.1.iter().zip(&rebuilt.1).find(|(a, b)| a != b);
    assert_eq!(first_storage_difference, None, "storage trie nodes differ");
}

/// A sync to the pivot whose stored nodes are the verified ones (not rebuilt).
async fn syncs_the_pivot_state<S: StateStore + ?Sized>(db: &Arc<S>, seed: u64, peers: usize) {
    let scenario = scenario(seed, peers);
    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage = SnapSyncStage::new(scenario.network.clone(), tip, config(), etl.path()).unwrap();
    let progress = stage.progress();
    let mut pipeline =
        Pipeline::new(Arc::clone(db), StageSet::builder().add(stage).unwrap().build());
    pipeline.run(None).await.unwrap();
    assert_synced(&scenario, &**db);
    // Small steps: parts of the state are final, and checked, long before the download ends.
    let early = progress.borrow().parts_checked_early;
    assert!((1..=16).contains(&early), "{early} parts checked while downloading");
    // Without a pivot move the nodes are the ones range verification computed (not rebuilt).
    assert!(stored_summary(&db.reader().unwrap()).unwrap().unwrap().verified_nodes);
    let checkpoint = pipeline.checkpoint(&snapsync_snap_sync::SNAP_SYNC).unwrap().unwrap();
    assert_eq!(checkpoint.block_number, 6);
    assert!(checkpoint.progress.is_none());
}

#[tokio::test]
async fn syncs_the_pivot_state_into_memory() {
    syncs_the_pivot_state(&memory_db().db, 1, 3).await;
}

#[tokio::test]
async fn syncs_the_pivot_state_into_redb() {
    let db = redb_db();
    syncs_the_pivot_state(&db.db, 2, 2).await;
}

#[tokio::test]
async fn syncs_the_pivot_state_into_a_map_store() {
    syncs_the_pivot_state(&map_store(), 1, 3).await;
}

/// While a step commits, the download goes on: requests are sent during the commits (a slow
/// disk does not idle the link), and the sync still ends in the pivot's state.
#[tokio::test]
async fn requests_go_on_while_a_step_commits() {
    // Answers take 5 ms and more, a commit 20 ms: those in flight when a step is cut are in
    // well before its commit ends.
    let scenario = scenario_over(21, 2, Link::new(5, 100));
    let network = scenario.network.clone();
    let sent_during_commits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let probe = Arc::clone(&sent_during_commits);
    let db = Arc::new(MapStore::with_commit_hook(move || {
        let before = network.requests();
        std::thread::sleep(Duration::from_millis(20));
        probe.lock().unwrap().push(network.requests() - before);
    }));
    // Steps of as much as the answers in flight hold (four of at most twice 64 KiB, with the
    // branch nodes their verification computed), as with the defaults: those answers alone
    // rarely fill the next step. A dozen steps or so.
    let mut config = config();
    config.step.max_bytes = Some(256 * 1024);
    sync(&scenario, &db, config).await;
    assert_synced(&scenario, &*db);
    let sent = sent_during_commits.lock().unwrap();
    // The pivot's step, the last download step and the verifying steps leave nothing to
    // gather; the download steps before do. Without the download going on, only requests
    // still waiting for a peer at the cut could be sent during a commit.
    eprintln!("requests sent during each commit: {sent:?}");
    let total: u64 = sent.iter().sum();
    assert!(sent.len() > 10, "{} commits", sent.len());
    assert!(total >= 2 * sent.len() as u64, "{total} requests during {} commits", sent.len());
}

/// Puts a file where the directory `path` is. The directory is renamed away whole, not removed:
/// a spill running meanwhile may be creating or removing a run inside it, which a removal
/// trips over (it failed so once). If a spill creates `path` again before the file is written,
/// it is renamed away again.
fn replace_with_a_file(path: &std::path::Path, away: &std::path::Path) {
    for attempt in 0..100 {
        if path.is_dir() {
            std::fs::rename(path, away.with_extension(attempt.to_string())).unwrap();
        }
        if std::fs::write(path, b"not a directory").is_ok() {
            return;
        }
    }
    panic!("{} stayed a directory", path.display());
}

/// A local failure while a step takes answers (its ETL directory gone, so a spill fails)
/// stops the pipeline. Run again once the directory is back, the same stage ends in the
/// pivot's state from its verified nodes, healing nothing: no answer taken into the failed
/// step is counted as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_failing_after_taking_answers_loses_none_of_them() {
    let spec = StateSpec::small().with_accounts(40_000);
    let chain = GeneratedChain::new(31, &spec, 70, 0);
    let scenario = Scenario::new(chain, vec![SimPeer::honest(Link::INSTANT); 2], [6]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let etl_dir = dir.path().join("etl");
    let mut config = config();
    // Steps whose collectors spill: 1 MiB buffers, 4 MiB steps.
    config.etl.dir = Some(etl_dir.clone());
    config.etl.buffer_bytes = Some(1 << 20);
    config.step.max_bytes = Some(4 << 20);
    let db = map_store();
    let mut pipeline = stage_pipeline(&scenario, &db, config);
    let mut events = pipeline.subscribe();
    let failed = {
        let run = pipeline.run(None);
        tokio::pin!(run);
        let mut committed = 0;
        loop {
            tokio::select! {
                biased;
                event = events.recv() => {
                    let event = event.unwrap();
                    if matches!(event, snapsync_stages::PipelineEvent::StageProgress { .. }) {
                        committed += 1;
                        if committed == 2 {
                            // The directory becomes a file: the next spill cannot create its run.
                            replace_with_a_file(&etl_dir, &dir.path().join("etl-gone"));
                        }
                    }
                }
                result = &mut run => break result,
            }
        }
    };
    let error = failed.expect_err("the sync went on without its ETL directory");
    assert!(error.to_string().contains("SnapSync"), "{error}");
    std::fs::remove_file(&etl_dir).unwrap();
    std::fs::create_dir(&etl_dir).unwrap();
    pipeline.run(None).await.unwrap();
    assert_synced(&scenario, &*db);
    let summary = stored_summary(&db.reader().unwrap()).unwrap().unwrap();
    assert!(summary.verified_nodes);
    assert_eq!(summary.counts.healed_nodes, 0);
}

#[tokio::test]
async fn a_second_run_on_a_finished_sync_downloads_nothing() {
    let scenario = scenario(3, 2);
    let db = memory_db().db;
    sync(&scenario, &db, config()).await;
    let before = scenario.network.bytes_sent();
    sync(&scenario, &db, config()).await;
    assert_eq!(scenario.network.bytes_sent(), before);
    assert_synced(&scenario, &*db);
}

async fn a_sync_into_tables_holding_other_entries_rebuilds_and_heals_them_away<S>(db: &Arc<S>)
where
    S: StateStore + ?Sized,
{
    let scenario = scenario(5, 2);
    // An account and a trie node no range of the pivot proves: the stored nodes cannot be
    // trusted to be the verified ones, so the tries are rebuilt and healing removes the account.
    let mut txn = db.writer().unwrap();
    let stray = snapsync_primitives::AccountHash::from(alloy_primitives::B256::repeat_byte(0x5a));
    txn.put_account(&stray, &snapsync_primitives::TrieAccount::EMPTY).unwrap();
    let path = alloy_trie::Nibbles::from_nibbles([1, 2, 3]);
    txn.put_account_node(&path, &vec![0xc0].into()).unwrap();
    txn.commit().unwrap();
    sync(&scenario, db, config()).await;
    assert_synced(&scenario, &**db);
    assert!(!stored_summary(&db.reader().unwrap()).unwrap().unwrap().verified_nodes);
}

#[tokio::test]
async fn a_sync_into_tables_holding_other_entries_rebuilds_and_heals_them_away_in_memory() {
    a_sync_into_tables_holding_other_entries_rebuilds_and_heals_them_away(&memory_db().db).await;
}

#[tokio::test]
async fn a_sync_into_tables_holding_other_entries_rebuilds_and_heals_them_away_in_a_map_store() {
    a_sync_into_tables_holding_other_entries_rebuilds_and_heals_them_away(&map_store()).await;
}

/// The bound is on what the interruption costs: the requests in flight and the verified data not
/// yet committed when the run is dropped (the run is dropped right after a commit, so the
/// latter is nothing, and the former at most `max_requests` replies). The tests run on a paused clock (time moves only when
/// every task waits on a timer, and not while a step executes on the blocking pool), so the
/// instant links take no time and nothing depends on how fast this machine is: request sizes,
/// step boundaries and which peer gets what are a function of the seed, and no request is
/// hedged (sent twice) because the test process was descheduled. On a running clock both runs
/// varied by several percent under load (a full run alone from 1.44 to 1.55 MB, the ratio from
/// 0.996 to 1.149), which is noise about this machine, not about resuming.
async fn an_interrupted_sync_resumes_without_refetching<S: StateStore + ?Sized>(
    db: &Arc<S>,
    full_db: &Arc<S>,
) {
    let scenario = scenario(4, 2);
    // A full run on a separate database measures what a whole sync costs.
    sync(&scenario, full_db, config()).await;
    let full = scenario.network.bytes_sent();

    // Stop after a few committed steps (dropping the run future between steps), then resume.
    let start = scenario.network.bytes_sent();
    interrupt_after(&scenario, db, 3).await;
    let summary = stored_summary(&db.reader().unwrap()).unwrap().unwrap();
    assert!(!summary.is_done());
    assert!(summary.counts.accounts > 0);
    sync(&scenario, db, config()).await;
    assert_synced(&scenario, &**db);
    let both_runs = scenario.network.bytes_sent() - start;
    eprintln!(
        "interrupted + resumed {both_runs} B, one full run {full} B ({:.4} of the full run)",
        both_runs as f64 / full as f64
    );
    // Requests stay in flight while a step commits, and their answers fill the next step (see
    // the stage's `download.rs`): the answers in flight or gathered when the run is dropped were
    // never committed, and are asked again. At most `max_requests` replies of at most twice
    // `max_request_bytes` (the budget slack), and the step gathered, within the tenth.
    let config = config();
    let in_flight = config.concurrency.max_requests * 2 * config.peers.max_request_bytes;
    assert!(
        both_runs < full + full / 10 + in_flight,
        "interrupted + resumed {both_runs} B vs one full run {full} B (+ {in_flight} B in flight)"
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_sync_resumes_without_refetching_in_memory() {
    an_interrupted_sync_resumes_without_refetching(&memory_db().db, &memory_db().db).await;
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_sync_resumes_without_refetching_in_a_map_store() {
    an_interrupted_sync_resumes_without_refetching(&map_store(), &map_store()).await;
}

async fn a_leaf_damaged_after_verification_is_local_corruption<S: StateStore + ?Sized>(
    db: &Arc<S>,
) {
    let scenario = scenario(5, 2);
    interrupt_after(&scenario, db, 3).await;
    // Change one stored account behind the stage's back, as a damaged disk would.
    let mut txn = db.writer().unwrap();
    let (hash, mut account) = txn.accounts(KeyRange::all()).unwrap().next().unwrap().unwrap();
    account.balance += alloy_primitives::U256::from(1);
    txn.put_account(&hash, &account).unwrap();
    txn.commit().unwrap();

    let (_, result) = try_sync(&scenario, db, config()).await;
    let error = result.unwrap_err();
    assert!(error.is_local(), "not reported as a local failure: {error}");
    let message = error.to_string();
    assert!(message.contains("damaged (local corruption, not a peer's fault)"), "{message}");
    assert!(!stored_summary(&db.reader().unwrap()).unwrap().unwrap().is_done());
    for peer in scenario.network.peer_ids() {
        assert_eq!(scenario.network.penalties_of(peer), vec![], "peer {peer} was penalised");
    }
}

#[tokio::test]
async fn a_leaf_damaged_after_verification_is_local_corruption_and_no_peer_is_penalised() {
    a_leaf_damaged_after_verification_is_local_corruption(&memory_db().db).await;
}

#[tokio::test]
async fn a_leaf_damaged_after_verification_is_local_corruption_in_a_map_store() {
    a_leaf_damaged_after_verification_is_local_corruption(&map_store()).await;
}

/// Every hostile snap behaviour of the simulator, one peer each.
const HOSTILE: [Behaviour; 9] = [
    Behaviour::BadProof,
    Behaviour::Gap,
    Behaviour::AlterValue,
    Behaviour::ExtraItems,
    Behaviour::WrongStorage,
    Behaviour::Oversized,
    Behaviour::GarbageCode,
    Behaviour::Stateless,
    Behaviour::Random,
];

/// [`config`] with a few large account chunks: every account range fills its budget, so a
/// peer that ignores the budget (`Oversized`) shows it on the first request it is given. With
/// smaller chunks this small state's ranges are a few kB, an `Oversized` reply fits twice its
/// budget and verifies, and whether the peer is caught (and whether the peers that lie about
/// some kinds only can complete a sync between them) depends on which requests it happens to
/// be given.
fn hostile_config() -> SnapSyncConfig {
    let mut config = config();
    config.accounts.chunks = 4;
    config
}

fn hostile_scenario(seed: u64, honest: usize) -> Scenario {
    let spec = StateSpec::small().with_accounts(3_000).with_huge_contracts(1, 6_000);
    let chain = GeneratedChain::new(seed, &spec, 70, 0);
    let hostile = (0u64..).zip(HOSTILE).map(|(i, b)| SimPeer::new(Link::INSTANT, b, seed + i));
    let honest = (0..honest).map(|_| SimPeer::honest(Link::INSTANT));
    Scenario::new(chain, hostile.chain(honest).collect(), [6]).unwrap()
}

/// On a paused clock, on one thread: which peer is given which request (and so whether an
/// `Oversized` peer is first asked for a range with more than twice its budget left, which is
/// what exposes it) is a function of the seeds. On a running clock with two worker threads it
/// depended on how fast replies were verified and on the peers' rates measured in wall time, and
/// under load the `Oversized` peer sometimes went unpenalised (it is caught only when asked for a
/// range with more than twice its budget left).
#[tokio::test(start_paused = true)]
async fn hostile_peers_among_one_honest_change_nothing_stored() {
    let scenario = hostile_scenario(5, 1);
    let db = memory_db().db;
    sync(&scenario, &db, hostile_config()).await;
    let network = &scenario.network;
    eprintln!(
        "{} requests, {} B sent, {} penalties",
        network.requests(),
        network.bytes_sent(),
        network.reports().len()
    );
    // `compare_with_db` fails on any extra, missing or different entry: nothing unverified landed.
    assert_synced(&scenario, &*db);
    for (index, behaviour) in HOSTILE.iter().enumerate() {
        let peer = scenario.network.peer_ids()[index];
        let penalties = scenario.network.penalties_of(peer);
        let penalised = !penalties.is_empty();
        // A peer whose fault only shows on request kinds it was never asked may go unnoticed,
        // but the ones that lie about every kind must be caught.
        if matches!(behaviour, Behaviour::BadProof | Behaviour::Stateless | Behaviour::Oversized) {
            assert!(penalised, "{behaviour:?} peer was never penalised");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_honest_peer_the_sync_fails_clearly_and_in_bounded_time() {
    let scenario = hostile_scenario(6, 0);
    let db = memory_db();
    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage =
        SnapSyncStage::new(scenario.network.clone(), tip, hostile_config(), etl.path()).unwrap();
    let set = StageSet::builder().add(stage).unwrap().build();
    let retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    let mut pipeline = Pipeline::new(db.db.clone(), set).with_retry_policy(retry);
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(60), pipeline.run(None)).await;
    let error = result.expect("the sync hung").expect_err("synced without an honest peer");
    let message = error.to_string();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(message.contains("SnapSync"), "{message}");
    // Nothing that a hostile peer sent may have been stored.
    let state = scenario.chain.state_at(6).unwrap();
    let view = db.view().unwrap();
    for entry in view.accounts(KeyRange::all()).unwrap() {
        let (hash, account) = entry.unwrap();
        assert_eq!(state.trie_account(&hash), Some(account), "unverified account {hash}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_of_100k_slots_is_split_and_synced_into_redb() {
    let spec = StateSpec::small().with_accounts(2_000).with_huge_contracts(1, 100_000);
    let chain = GeneratedChain::new(8, &spec, 70, 0);
    let peers = (0..4).map(|_| SimPeer::honest(Link::INSTANT)).collect();
    let scenario = Scenario::new(chain, peers, [6]).unwrap();
    let mut config = SnapSyncConfig::default();
    config.peers.max_request_bytes = 256 * 1024;
    config.storage.split_threshold_slots = 20_000;
    config.step.max_bytes = Some(1024 * 1024);
    let db = redb_db();
    sync(&scenario, &db.db, config).await;
    assert_synced(&scenario, &*db.db);
    let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
    assert!(summary.counts.slots >= 100_000, "{:?}", summary.counts);
}
