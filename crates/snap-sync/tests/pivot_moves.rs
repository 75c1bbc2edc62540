//! `SnapSyncStage` on a chain that moves while it syncs: the pivot follows the tip, peers forget
//! old states, hostile peers lie throughout, and the stored state still ends as the final
//! pivot's, healed with (close to) the fewest trie nodes possible.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::Bytes;
use proptest::prelude::*;
use snapsync_db::test_utils::{memory_db, redb_db};
use snapsync_db::{Database, MemoryDatabase};
use snapsync_etl::CollectorConfig;
use snapsync_sim::{Behaviour, Link, Scenario, SimPeer};
use snapsync_sim::{GeneratedChain, StateMismatch, StateSpec};
use snapsync_snap_sync::{SnapPhase, SnapSyncConfig, SnapSyncStage, SyncSummary, stored_summary};
use snapsync_stages::{
    Pipeline, PipelineError, PipelineEvent, RetryPolicy, StageProgress, StageSet,
};
use snapsync_storage::test_utils::MapStore;
use snapsync_storage::{
    AccountTrie, KeyRange, StateRead, StateStore, StorageTrie, StoreError, compute_state_root,
};
use snapsync_trie::{ChildRef, Nibbles, NodeSource, TrieNodeRef, decode_node};
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;

/// Blocks between the tip and the pivot.
const DISTANCE: u64 = 8;
/// The pivot moves once the tip is more than this ahead of it.
const MOVE_DISTANCE: u64 = 12;
/// Blocks the tip advances per move: just enough to make the pivot move.
const STRIDE: u64 = MOVE_DISTANCE - DISTANCE + 1;
/// The first tip announced.
const FIRST_TIP: u64 = 2 * DISTANCE;

/// Small steps and requests so that even a small state spans many of each (as many account
/// chunks as requests in flight, and budgets from 4 KiB, so that replies fill their budget and a
/// peer ignoring it shows it), short timeouts so that stalling peers cost little.
fn config() -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.pivot.distance = DISTANCE;
    config.pivot.move_distance = MOVE_DISTANCE;
    config.peers.min_request_bytes = 4 * 1024;
    config.peers.max_request_bytes = 64 * 1024;
    config.peers.timeout_min = Duration::from_millis(200);
    config.peers.timeout_max = Duration::from_secs(1);
    config.step.max_bytes = Some(64 * 1024);
    config.storage.split_threshold_slots = 500;
    config.storage.accounts_per_batch = 16;
    config.concurrency.max_requests = 4;
    config.accounts.chunks = 4;
    config.trie_nodes_per_request = 64;
    config
}

/// A chain long enough for `moves` pivot moves, changing `changes` things per block, served by
/// `peers`; each pivot's state is served until two moves later.
fn scenario(
    seed: u64,
    accounts: usize,
    moves: u64,
    changes: usize,
    peers: Vec<SimPeer>,
) -> Scenario {
    let spec = StateSpec::small().with_accounts(accounts).with_huge_contracts(1, 4_000);
    let chain = GeneratedChain::new(seed, &spec, tip_after(moves), changes);
    Scenario::new(chain, peers, (0..=moves).map(pivot_after)).unwrap()
}

const fn tip_after(moves: u64) -> u64 {
    FIRST_TIP + moves * STRIDE
}

const fn pivot_after(moves: u64) -> u64 {
    tip_after(moves) - DISTANCE
}

fn honest(count: usize) -> Vec<SimPeer> {
    (0..count).map(|_| SimPeer::honest(Link::INSTANT)).collect()
}

/// When to move the tip: after the `step`th committed step (counted from 1), given the phase
/// that step left the stage in.
type MovePlan = Box<dyn FnMut(usize, SnapPhase) -> bool + Send>;

/// What a run saw.
#[derive(Debug, Default)]
struct Run {
    moves: u64,
    /// Trie nodes of the final pivot's trie that the stored trie lacked (by path and content)
    /// when healing towards it began; `None` if healing never began after the last move.
    differing_at_heal: Option<u64>,
    /// The same figure at the start of every healing pass towards each pivot, in order.
    differing_per_pass: Vec<u64>,
}

/// Runs a pipeline of the stage alone, moving the tip `moves` times when `plan` says so (each
/// move forgets the state two pivots back), until it ends.
async fn run<S: StateStore + ?Sized>(
    scenario: &Scenario,
    db: &Arc<S>,
    moves: u64,
    mut plan: MovePlan,
    retry: RetryPolicy,
) -> (Result<(), PipelineError>, Run) {
    let etl = tempfile::tempdir().unwrap();
    let tip_hash = |moves| scenario.chain.header(tip_after(moves)).unwrap().hash();
    let (tip_tx, tip) = watch::channel(tip_hash(0));
    let stage = SnapSyncStage::new(scenario.network.clone(), tip, config(), etl.path()).unwrap();
    let set = StageSet::builder().add(stage).unwrap().build();
    let mut pipeline = Pipeline::new(Arc::clone(db), set).with_retry_policy(retry);
    let mut events = pipeline.subscribe();
    let mut seen = Run::default();
    let mut steps = 0;
    // Moves the plan asked for and not yet sent.
    let mut due = 0;
    let result = {
        let run = pipeline.run(None);
        tokio::pin!(run);
        loop {
            tokio::select! {
                biased;
                event = events.recv() => {
                    let Ok(PipelineEvent::StageProgress { checkpoint, .. }) = event else { continue };
                    if checkpoint.progress != Some(StageProgress::Recorded) { continue }
                    // The phase that step left the stage in, from the stage's own record.
                    let summary = stored_summary(&db.reader().unwrap()).unwrap().unwrap();
                    let phase = summary.phase;
                    steps += 1;
                    if phase == SnapPhase::Healing && seen.differing_at_heal.is_none() {
                        // The run future is not polled while this arm runs: the stored trie is the
                        // one the healing pass starts from.
                        let differing = differing_nodes(scenario, seen.moves, &**db);
                        seen.differing_at_heal = Some(differing);
                        seen.differing_per_pass.push(differing);
                    }
                    due += u64::from(seen.moves + due < moves && plan(steps, phase));
                    // A move waits until the stage took the one before: a stage that first
                    // looks at the tip after two were sent moves once, straight to the second.
                    let previous_taken = summary.pivot.number >= pivot_after(seen.moves);
                    if due > 0 && previous_taken {
                        due -= 1;
                        seen.moves += 1;
                        seen.differing_at_heal = None;
                        tip_tx.send(tip_hash(seen.moves)).unwrap();
                        if let Some(old) = seen.moves.checked_sub(2) {
                            scenario.forget_state_of(pivot_after(old));
                        }
                    }
                }
                result = &mut run => break result.map(drop),
            }
        }
    };
    (result, seen)
}

const QUICK_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 3,
    initial_backoff: Duration::from_millis(10),
    max_backoff: Duration::from_millis(50),
};

/// Nodes of the trie of pivot `after_moves` that `db`'s stored tries do not find at their path
/// (none there, or another one). Both sides are read through the stored tries, which derive
/// the leaf nodes a store does not keep.
fn differing_nodes<S: StateStore + ?Sized>(scenario: &Scenario, after_moves: u64, db: &S) -> u64 {
    let truth = MemoryDatabase::new();
    let state = scenario.chain.state_at(pivot_after(after_moves)).unwrap();
    state.import_into(&truth, &CollectorConfig::new(1 << 24)).unwrap();
    let (truth, stored) = (truth.view().unwrap(), db.reader().unwrap());
    let differing = |truth: &dyn NodeSource<Error = StoreError>,
                     stored: &dyn NodeSource<Error = StoreError>| {
        trie_nodes(truth)
            .filter(|(path, node)| stored.node(path).unwrap().as_ref() != Some(node))
            .count() as u64
    };
    let mut count = differing(&AccountTrie::new(&truth), &AccountTrie::new(&stored));
    for entry in truth.accounts(KeyRange::all()).unwrap() {
        let (account, _) = entry.unwrap();
        count += differing(&StorageTrie::new(&truth, account), &StorageTrie::new(&stored, account));
    }
    count
}

/// Every hashed node of the trie `source` holds, with its path: from the root down every
/// child named by its hash.
fn trie_nodes(
    source: &dyn NodeSource<Error = StoreError>,
) -> impl Iterator<Item = (Nibbles, Bytes)> + '_ {
    let mut paths = vec![Nibbles::default()];
    std::iter::from_fn(move || {
        while let Some(path) = paths.pop() {
            let Some(node) = source.node(&path).unwrap() else { continue };
            match decode_node(&node).unwrap() {
                TrieNodeRef::Branch { children, .. } => {
                    for (nibble, child) in (0u8..).zip(children) {
                        if matches!(child, ChildRef::Hash(_)) {
                            let mut child_path = path;
                            child_path.push(nibble);
                            paths.push(child_path);
                        }
                    }
                }
                TrieNodeRef::Extension { key, child } => {
                    if matches!(child, ChildRef::Hash(_)) {
                        paths.push(path.join(&key));
                    }
                }
                TrieNodeRef::Leaf { .. } => {}
            }
            return Some((path, node));
        }
        None
    })
}

/// The stored state is exactly the state of pivot `after_moves`, verified and done.
fn assert_synced_to<S: StateStore + ?Sized>(
    scenario: &Scenario,
    after_moves: u64,
    db: &S,
) -> SyncSummary {
    let view = db.reader().unwrap();
    let number = pivot_after(after_moves);
    let header = scenario.chain.header(number).unwrap();
    let state = scenario.chain.state_at(number).unwrap();
    // Exactly the pivot's accounts, slots and codes; codes are content-addressed, so those of
    // accounts that changed after being downloaded may stay (go-ethereum keeps them too).
    let differences: Vec<_> = state
        .compare_with_store(&view, 50)
        .unwrap()
        .into_iter()
        .filter(|difference| !matches!(difference, StateMismatch::Bytecode { expected: None, .. }))
        .collect();
    assert_eq!(differences, vec![], "stored state differs");
    let report = compute_state_root(&view).unwrap();
    assert_eq!(report.state_root, header.state_root);
    assert!(report.is_consistent());
    let summary = stored_summary(&view).unwrap().unwrap();
    assert!(summary.is_done());
    assert_eq!((summary.pivot.number, summary.pivot.hash), (number, header.hash()));
    assert_eq!(summary.counts.pivot_moves, after_moves);
    assert_eq!(summary.counts.accounts, state.len() as u64);
    // Ranges proven against several roots: the tries were rebuilt, not taken from verification.
    assert_eq!(summary.verified_nodes, after_moves == 0);
    summary
}

/// Moves after the given steps.
fn at_steps(steps: &'static [usize]) -> MovePlan {
    Box::new(move |step, _| steps.contains(&step))
}

async fn after_three_moves_healing_fetches_only_the_nodes_that_differ<S>(db: &Arc<S>)
where
    S: StateStore + ?Sized,
{
    let scenario = scenario(11, 3_000, 3, 12, honest(3));
    let (result, seen) = run(&scenario, db, 3, at_steps(&[2, 4, 7]), QUICK_RETRY).await;
    result.unwrap();
    assert_eq!(seen.moves, 3);
    let summary = assert_synced_to(&scenario, 3, &**db);
    let differing = seen.differing_at_heal.expect("healing never began");
    let healed = summary.counts.healed_nodes;
    assert!(differing > 0 && healed > 0, "nothing to heal: {summary:?}");
    eprintln!(
        "healing: {healed} nodes fetched, {differing} differing, ratio {:.3}",
        healed as f64 / differing as f64
    );
    // Every fetched node differed, and every differing node was fetched: one node each.
    assert_eq!(healed, differing, "healed {healed} nodes for {differing} differing ones");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_moves_healing_fetches_only_the_nodes_that_differ_in_memory() {
    after_three_moves_healing_fetches_only_the_nodes_that_differ(&memory_db().db).await;
}

/// The same over `MapStore`, a store sharing no code with snapsync-db.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_moves_healing_fetches_only_the_nodes_that_differ_in_a_map_store() {
    after_three_moves_healing_fetches_only_the_nodes_that_differ(&Arc::new(MapStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pivot_moving_during_healing_restarts_it_towards_the_new_root() {
    let scenario = scenario(12, 2_000, 2, 20, honest(2));
    let db = redb_db();
    let mut healing_steps = 0;
    // First move during the downloads, the second in the middle of healing.
    let plan: MovePlan = Box::new(move |step, phase| {
        healing_steps += usize::from(phase == SnapPhase::Healing);
        step == 3 || healing_steps == 2
    });
    let (result, seen) = run(&scenario, &db.db, 2, plan, QUICK_RETRY).await;
    result.unwrap();
    assert_eq!(seen.moves, 2, "the sync ended before healing twice");
    let summary = assert_synced_to(&scenario, 2, &*db);
    // The interrupted pass fetched part of what differed from its root, the last pass all of
    // what differed from the final root: never more than the two together.
    let healed = summary.counts.healed_nodes;
    let (passes, last) = (&seen.differing_per_pass, seen.differing_at_heal.unwrap());
    eprintln!("healing across a move: {healed} nodes fetched, differing per pass {passes:?}");
    assert_eq!(passes.len(), 2, "{passes:?}");
    assert!(healed > last && healed <= passes.iter().sum(), "{healed} vs {passes:?}");
}

/// Hostile behaviours for the moving-pivot runs: every data fault of the simulator, stalls,
/// missing states, and a peer that turns hostile in the middle.
fn hostile() -> Vec<Behaviour> {
    vec![
        Behaviour::BadProof,
        Behaviour::Gap,
        Behaviour::AlterValue,
        Behaviour::ExtraItems,
        Behaviour::WrongStorage,
        Behaviour::Oversized,
        Behaviour::GarbageCode,
        Behaviour::WrongNode,
        Behaviour::Truncate,
        Behaviour::Stall,
        Behaviour::Stateless,
        Behaviour::Random,
        Behaviour::Switch { after: 30, then: Box::new(Behaviour::AlterValue) },
        Behaviour::Switch { after: 10, then: Box::new(Behaviour::Stall) },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_while_the_pivot_moves_change_nothing_stored() {
    let behaviours = hostile();
    let mut peers: Vec<SimPeer> = (0u64..)
        .zip(&behaviours)
        .map(|(i, behaviour)| SimPeer::new(Link::new(1, 1_000), behaviour.clone(), 40 + i))
        .collect();
    peers.push(SimPeer::honest(Link::new(1, 1_000)));
    let scenario = scenario(13, 2_000, 3, 12, peers);
    let db = memory_db();
    let (result, seen) = run(&scenario, &db.db, 3, at_steps(&[2, 5, 9]), QUICK_RETRY).await;
    result.unwrap();
    assert_eq!(seen.moves, 3);
    // `compare_with_db` fails on any extra, missing or different entry: nothing unverified landed.
    let summary = assert_synced_to(&scenario, 3, &*db);
    assert!(summary.counts.healed_nodes > 0);
    // A request a download retired while it waited on a stalling peer (its answer no longer
    // wanted, its peer still judged) runs until its timeout, which may come after the sync
    // ended: wait for it before looking at the penalties, so a stall asked late is judged too.
    tokio::time::sleep(config().peers.timeout_max + Duration::from_millis(200)).await;
    let ids = scenario.network.peer_ids();
    for (index, behaviour) in behaviours.iter().enumerate() {
        let penalties = scenario.network.penalties_of(ids[index]);
        // Faults that show on every kind of request must be caught; the rest may go unnoticed
        // when the peer is never asked the one kind it corrupts.
        if matches!(
            behaviour,
            Behaviour::BadProof | Behaviour::Stall | Behaviour::Stateless | Behaviour::Oversized
        ) {
            let asked: Vec<u64> = snapsync_net::RequestKind::ALL
                .iter()
                .map(|kind| scenario.network.requests_of(ids[index], *kind))
                .collect();
            assert!(
                !penalties.is_empty(),
                "{behaviour:?} peer was never penalised; asked {asked:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_honest_peer_a_moving_sync_fails_clearly_in_bounded_time() {
    // Behaviours that spoil every kind of reply (the others are honest for some kinds, and
    // together could serve a whole sync).
    let spoilers = [
        Behaviour::BadProof,
        Behaviour::AlterValue,
        Behaviour::Oversized,
        Behaviour::Stall,
        Behaviour::Stateless,
    ];
    let peers = (0u64..).zip(spoilers).map(|(i, b)| SimPeer::new(Link::INSTANT, b, i)).collect();
    let scenario = scenario(14, 1_000, 2, 10, peers);
    let db = memory_db();
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(90),
        run(&scenario, &db.db, 2, at_steps(&[1, 2]), QUICK_RETRY),
    )
    .await;
    let (result, _) = outcome.expect("the sync hung");
    let error = result.expect_err("synced without an honest peer");
    assert!(error.to_string().contains("SnapSync"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(90));
    // Whatever was stored was proven: every account is one of some pivot's state.
    let states: Vec<_> =
        (0..=2).map(|m| scenario.chain.state_at(pivot_after(m)).unwrap()).collect();
    for entry in db.view().unwrap().accounts(KeyRange::all()).unwrap() {
        let (hash, account) = entry.unwrap();
        let known = states.iter().any(|state| state.trie_account(&hash) == Some(account));
        assert!(known, "unverified account {hash}");
    }
}

/// One random world: peers, links and moves drawn from the seed.
#[derive(Debug, Clone)]
struct World {
    seed: u64,
    honest: usize,
    hostile: Vec<usize>,
    latency_ms: u64,
    moves: u64,
    move_steps: Vec<usize>,
}

fn world() -> impl Strategy<Value = World> {
    (
        any::<u64>(),
        0usize..3,
        prop::collection::vec(0usize..14, 1..5),
        0u64..4,
        0u64..4,
        prop::collection::btree_set(1usize..14, 3),
    )
        .prop_map(|(seed, honest, hostile, latency_ms, moves, steps)| World {
            seed,
            honest,
            hostile,
            latency_ms,
            moves,
            move_steps: steps.into_iter().collect(),
        })
}

/// The moves the finished sync's pivot reflects: all those sent, or all but the last when that
/// one was sent while the final step was already being written (steps run on a blocking thread,
/// so the stage can finish between the step's event and the tip the test sends after it; the
/// tip it finished under is then the one before).
fn moves_reached(seen: &Run, db: &dyn Database) -> Result<u64, TestCaseError> {
    let summary = stored_summary(&db.view().unwrap()).unwrap().unwrap();
    let reached = (summary.pivot.number - pivot_after(0)) / STRIDE;
    prop_assert!(
        reached == seen.moves || reached + 1 == seen.moves,
        "pivot {} reflects {reached} moves, {} were sent",
        summary.pivot.number,
        seen.moves
    );
    Ok(reached)
}

fn run_world(world: &World) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let behaviours = hostile();
    let link = Link::new(world.latency_ms, 1_000);
    let mut peers: Vec<SimPeer> = world
        .hostile
        .iter()
        .zip(0u64..)
        .map(|(&index, i)| SimPeer::new(link, behaviours[index].clone(), world.seed ^ i))
        .collect();
    peers.extend((0..world.honest).map(|_| SimPeer::honest(link)));
    let scenario = scenario(world.seed, 600, world.moves, 8, peers);
    let db = memory_db();
    let steps = world.move_steps.clone();
    let plan: MovePlan = Box::new(move |step, _| steps.contains(&step));
    let started = std::time::Instant::now();
    let (result, seen) = runtime.block_on(async {
        let run = run(&scenario, &db.db, world.moves, plan, QUICK_RETRY);
        tokio::time::timeout(Duration::from_secs(120), run).await.expect("the sync hung")
    });
    if world.honest == 0 {
        // Without an honest peer the sync may still succeed (hostile peers are sometimes
        // honest), but it must end, and with a clear error if it fails.
        if let Err(error) = result {
            prop_assert!(error.to_string().contains("SnapSync"), "{}", error);
        } else {
            assert_synced_to(&scenario, moves_reached(&seen, &*db)?, &*db);
        }
    } else {
        prop_assert!(result.is_ok(), "{:?}", result);
        assert_synced_to(&scenario, moves_reached(&seen, &*db)?, &*db);
    }
    prop_assert!(started.elapsed() < Duration::from_secs(120));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(6),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_peers_latencies_and_moves_end_in_the_final_root(world in world()) {
        run_world(&world)?;
    }
}
