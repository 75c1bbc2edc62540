//! `snapsync sync`: snap-syncs a state from simulated peers into a database, verified.
//!
//! The peers (honest or hostile, on links of chosen latency and bandwidth) serve a chain of real
//! blocks ([`ExecutedChain`]) over a state (generated, or read from a state dump or genesis
//! file). On a generated state the chain's actors (funded EOAs, storage contracts) make
//! `--txs-per-block` transactions per block — transfers, storage-writing calls, contract
//! creations — and each block carries withdrawals; the blocks are built by executing them, so
//! every header's state root, receipts root and gas used are real. On a state file the blocks
//! are empty (no actors are added, so the state stays the file's and the run ends at its root).
//! The tip shown to the sync is block `2 × pivot.distance`, so the pivot is block
//! `pivot.distance`. With `--pivot-moves N` the tip advances N times while the sync runs, each
//! time far enough to move the pivot, with older states forgotten by the peers (see `moves.rs`).
//!
//! The pipeline is `SnapSync → Headers → Bodies → Execution`: the pivot's state is snap-synced
//! (verified against the pivot header's root by the stage), then blocks pivot + 1 … tip are
//! executed on it, each checked against its header. The run's verdict is the stored state's
//! root, recomputed from the stored leaves, against the **tip's** header root; the report
//! carries the execution figures (blocks executed, gas used, time).
//!
//! Re-running with the same data directory and source resumes: nothing committed is fetched
//! again, and a finished sync downloads nothing. A data directory holding a sync of another
//! chain is refused.
//!
//! Exit 0 when the state was verified and every stage finished, 1 when the sync ran but failed
//! (no honest peer left, say: the error is on stderr, the report on stdout), 2 when it could not
//! run.

mod display;
mod from_chain;
mod metrics_file;
mod moves;
mod peers;
mod report;
mod source;
mod wire;

use super::{CliError, Outcome, datadir::Storage};
use clap::{Args, value_parser};
use display::ProgressView;
use metrics_file::MetricsFile;
use moves::TipSchedule;
use peers::PeerArgs;
use report::ExecutionFigures;
use report::{LeafVerdict, SyncReport};
use snapsync::DefaultStages;
use snapsync_chain_stages::History;
use snapsync_db::Database;
use snapsync_execution::{EvmExecutor, ExecutionStats, StageExecutor};
use snapsync_sim::{ExecutedChain, KeptStates, Scenario};
use snapsync_snap_sync::{
    SnapSyncConfig, SyncProgress, SyncSummary, check_stored_leaves, stored_summary,
};
use snapsync_stages::{Pipeline, PipelineError, RetryPolicy};
use snapsync_storage::{KeyRange, StateRead, StoreIter};
use source::SourceArgs;
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// Retries of a failing step: few and short, so a sync no peer can serve fails in seconds
/// instead of hanging (peers the fetcher banned stay banned, so waiting longer cannot help).
const RETRY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    initial_backoff: Duration::from_millis(250),
    max_backoff: Duration::from_secs(4),
};

/// Most `--pivot-moves`: the chain grows by about 57 blocks per move.
const MAX_PIVOT_MOVES: u64 = 64;
/// Most `--txs-per-block`: that many of the chain's transactions fit a 36M-gas block with room
/// to spare (a creation is given 200,000 gas, a call at most 130,000).
const MAX_TXS_PER_BLOCK: u64 = 300;
/// Transactions per block of the chain over a generated state.
const DEFAULT_TXS_PER_BLOCK: u64 = 30;

/// Arguments of `snapsync sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Data directory: the redb database (snapsync.redb) and the ETL runs (etl/). Re-running
    /// with the same directory and source resumes.
    #[arg(long, value_name = "DIR", default_value = "snapsync-data", conflicts_with = "memory")]
    datadir: PathBuf,
    /// Keep the database in memory instead (nothing survives the run).
    #[arg(long)]
    memory: bool,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    wire: wire::WireArgs,
    /// Times the tip advances during the sync far enough to move the pivot (spread over the
    /// expected download; older states are forgotten by the peers as the tip passes them).
    #[arg(long, default_value_t = 0, value_parser = value_parser!(u64).range(0..=MAX_PIVOT_MOVES))]
    pivot_moves: u64,
    /// Transactions per block of the chain over a generated state, taking turns as transfers,
    /// storage-writing calls and contract creations (each block also has 2 withdrawals). The
    /// chain over a state file (--from-dump, --from-genesis) has empty blocks.
    #[arg(
        long,
        default_value_t = DEFAULT_TXS_PER_BLOCK,
        value_parser = value_parser!(u64).range(0..=MAX_TXS_PER_BLOCK),
        conflicts_with_all = ["from_dump", "from_genesis"]
    )]
    txs_per_block: u64,
    /// A SnapSyncConfig TOML file (see docs/configuration.md); omitted fields keep defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the result as one JSON line on stdout: {"state_root","pivot_block","verified",
    /// "accounts","storage_slots","bytecodes","trie_nodes","healed_trie_nodes","pivot_moves",
    /// "bytes_downloaded","requests","elapsed_ms","resumed"}, and for the simulated chain also
    /// {"head_block","blocks_executed","gas_used","execution_ms"} (state_root is then the
    /// tip's).
    #[arg(long)]
    json: bool,
    /// Write every metric (docs/metrics.md) to FILE in Prometheus' text format when the sync
    /// ends.
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
    /// The bodies and receipts kept below the pivot (headers are always synced down to block
    /// 1): none, post-merge or all.
    #[arg(long, value_name = "HISTORY", default_value = "all")]
    history: History,
    /// Sync a real chain instead of a generated one: the simulated peers serve this chain
    /// file's blocks (after --genesis) and the pivot's state (--pivot-distance below the head),
    /// computed by executing the chain; the pipeline snap-syncs the pivot and executes the
    /// blocks above it to the head.
    #[arg(long, value_name = "CHAIN.rlp", requires = "genesis", conflicts_with = "peer")]
    from_chain: Option<PathBuf>,
}

impl SyncArgs {
    /// Checks what clap cannot, and reads the configuration.
    fn config(&self) -> Result<SnapSyncConfig, CliError> {
        self.peers.validate()?;
        let config = match &self.config {
            Some(path) => SnapSyncConfig::load(path)?,
            None => SnapSyncConfig::default(),
        };
        self.peers.validate_timing(&config.peers)?;
        if !self.wire.is_set() && self.from_chain.is_none() {
            for (given, flag) in [
                (self.wire.genesis.is_some(), "--genesis"),
                (self.wire.pivot_distance.is_some(), "--pivot-distance"),
            ] {
                if given {
                    return Err(CliError::Usage(format!("{flag} needs --peer or --from-chain")));
                }
            }
        }
        if config.pivot.distance == 0 && !self.wire.is_set() {
            // The simulated chain's tip is block 2 × distance: at 0 it has no block to sync.
            return Err(CliError::Usage(
                "pivot.distance = 0 (the tip's own state) is for real peers (--peer); the \
                 simulated chain needs at least 1"
                    .to_owned(),
            ));
        }
        Ok(config)
    }
}

/// What the sync ran against and in.
struct World {
    scenario: Arc<Scenario<ExecutedChain>>,
    /// The directory of the files the simulated peers serve the kept states from (removed
    /// when the world is dropped).
    _kept_states: tempfile::TempDir,
    storage: Storage,
    /// The stored sync record before this run, if an earlier run left one.
    before: Option<SyncSummary>,
    /// The tips shown to the sync.
    tips: TipSchedule,
}

/// Runs `sync`.
///
/// # Errors
/// [`CliError::Usage`], [`CliError::Config`] and [`CliError::Input`] for unusable arguments,
/// configuration or state file; [`CliError::ForeignDatadir`] for a data directory of another
/// chain; database, runtime and output failures.
pub(crate) fn run(
    args: &SyncArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let config = args.config()?;
    if let (Some(chain), Some(genesis)) = (&args.from_chain, &args.wire.genesis) {
        let distance = args.wire.pivot_distance.unwrap_or(64);
        return from_chain::run(args, genesis, chain, distance, config, out, err);
    }
    let metrics = args.metrics_file.as_deref().map(MetricsFile::install).transpose()?;
    let outcome = if args.wire.is_set() {
        wire::sync_and_report(args, config, out, err)
    } else {
        sync_and_report(args, config, out, err)
    };
    if let Some(metrics) = &metrics {
        // Written whatever the outcome: the figures of a failed run are the ones worth reading.
        // When the run failed, its own error is the one reported; a failed write is noted.
        match (metrics.write(), &outcome) {
            (Err(error), Ok(_)) => return Err(error),
            (Err(error), Err(_)) => writeln!(err, "warning: {error}")?,
            (Ok(()), _) => {}
        }
    }
    outcome
}

/// Builds the world and the pipeline, drives it and prints the report: everything `sync` does
/// between installing the metrics recorder and writing its file.
///
/// # Errors
/// As [`run`].
fn sync_and_report(
    args: &SyncArgs,
    config: SnapSyncConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .map_err(CliError::Runtime)?;
    let world = prepare(args, &config, err)?;
    let (tip_sender, tip) = watch::channel(world.tips.current_tip(&world.scenario));
    let (mut pipeline, progress, stats) = pipeline(&world, config, tip, args.history)?;
    write_pipeline_line(err, &pipeline, args.history)?;
    let mut view = ProgressView::new(std::io::stderr().is_terminal());
    let started = Instant::now();
    let tip_sender = Arc::new(tip_sender);
    let schedule = world.tips.clone();
    follow_the_schedule(&world.scenario, schedule, Arc::clone(&tip_sender), progress.clone());
    let mut timeouts = SimTimeouts(&world.scenario);
    let result = runtime.block_on(drive(&mut pipeline, &progress, &mut view, &mut timeouts, err));
    let elapsed = started.elapsed();
    view.finish();
    // The tip the sync ended with (the schedule moved it from inside the network's sends).
    let final_tip = *tip_sender.borrow();
    drop(tip_sender);
    let failed = sync_failed(result, err)?;
    write_penalties(&world.scenario, err)?;
    write_history(&world.storage.db.view()?, args.history, err)?;
    let summary = stored_summary(&world.storage.db.view()?)?;
    let head = world
        .scenario
        .chain
        .header_by_hash(&final_tip)
        .ok_or_else(|| CliError::Corrupt(format!("the tip {final_tip} is not in the chain")))?;
    let check = match &summary {
        Some(summary) if summary.is_done() && !failed => {
            let finished_before = world.before.as_ref().is_some_and(SyncSummary::is_done);
            check_at_tip(&world.storage, finished_before && stats.blocks() == 0, head, err)?
        }
        _ => None,
    };
    let network = &world.scenario.network;
    let execution = ExecutionFigures {
        head_block: head.number,
        head_root: head.state_root,
        blocks: stats.blocks(),
        gas_used: stats.gas_used(),
        elapsed: stats.elapsed(),
    };
    let report = SyncReport::new(
        summary.as_ref(),
        check,
        (network.bytes_sent(), network.requests()),
        elapsed,
        world.before.is_some(),
    )
    .with_execution(execution);
    metrics_file::record(&report);
    if args.json {
        writeln!(out, "{}", report.json_line())?;
    } else {
        report.write_human(out)?;
    }
    Ok(if report.verified && !failed { Outcome::Success } else { Outcome::Disagreement })
}

/// The `pipeline:` line: the stages in order and the history kept.
fn write_pipeline_line(
    err: &mut dyn Write,
    pipeline: &Pipeline<dyn Database>,
    history: History,
) -> std::io::Result<()> {
    let ids = pipeline.stage_ids();
    let stages = ids.iter().map(ToString::to_string).collect::<Vec<_>>();
    let alongside: Vec<String> = ids
        .iter()
        .filter_map(|id| {
            let earlier = pipeline.alongside(id);
            let earlier = earlier.iter().map(ToString::to_string).collect::<Vec<_>>();
            (!earlier.is_empty()).then(|| format!("{id} alongside {}", earlier.join(", ")))
        })
        .collect();
    let concurrency =
        if alongside.is_empty() { String::new() } else { format!("; {}", alongside.join("; ")) };
    writeln!(err, "pipeline: {} (history {history}{concurrency})", stages.join(" → "))
}

/// Whether the pipeline's run failed in a way the report shows (no honest peer left: the error
/// on stderr, the report on stdout).
///
/// # Errors
/// [`CliError::LocalStore`] for a failure of the local store, [`CliError::Pipeline`] for any
/// other that is not the peers'; output failures.
fn sync_failed(result: Result<(), PipelineError>, err: &mut dyn Write) -> Result<bool, CliError> {
    match result {
        Ok(()) => Ok(false),
        Err(error) if error.is_local() => Err(CliError::LocalStore(Box::new(error))),
        Err(error @ (PipelineError::Fatal { .. } | PipelineError::RetriesExhausted { .. })) => {
            writeln!(err, "error: the sync failed: {error}")?;
            Ok(true)
        }
        Err(error) => Err(CliError::Pipeline(Box::new(error))),
    }
}

/// How the finished state's verdict was reached in this run: by the stage, which hashed the
/// stored leaves in the step that finished it, or — for a data directory that was already
/// finished — by hashing them again here.
///
/// # Errors
/// [`CliError::Damaged`] when the stored leaves no longer make the pivot's root (the database
/// changed after it was verified); database failures.
fn verdict_of_this_run(
    storage: &Storage,
    summary: &SyncSummary,
    before: Option<&SyncSummary>,
    err: &mut dyn Write,
) -> Result<LeafVerdict, CliError> {
    if !before.is_some_and(SyncSummary::is_done) {
        return Ok(LeafVerdict::CheckedByTheStage);
    }
    let started = Instant::now();
    let check = check_stored_leaves(&storage.db.view()?, summary.pivot.state_root)?;
    let took = started.elapsed();
    if !check.matches() {
        return Err(CliError::Damaged(format!(
            "{} was synced to pivot block {}, but its stored state no longer matches: {check}; \
             the database was damaged after it was verified (remove it and sync again)",
            storage.label, summary.pivot.number
        )));
    }
    writeln!(
        err,
        "{}: already synced; the stored leaves were hashed again in {:.1} s and make the pivot's \
         root",
        storage.label,
        took.as_secs_f64()
    )?;
    Ok(LeafVerdict::RecheckedNow(took))
}

/// The verdict on the stored state once the pipeline finished: its leaves hashed again here,
/// against the root of the tip (block `head`), which every block above the pivot was executed
/// to reach. `None` when they do not make it (execution did not reach the tip).
///
/// # Errors
/// [`CliError::Damaged`] when a data directory that was already finished (and had nothing left
/// to execute in this run) no longer makes the tip's root: it changed after it was verified;
/// database and output failures.
fn check_at_tip(
    storage: &Storage,
    already_finished: bool,
    head: &alloy_consensus::Header,
    err: &mut dyn Write,
) -> Result<Option<LeafVerdict>, CliError> {
    let started = Instant::now();
    let check = check_stored_leaves(&storage.db.view()?, head.state_root)?;
    let took = started.elapsed();
    if !check.matches() && already_finished {
        return Err(CliError::Damaged(format!(
            "{} was synced and executed to block {}, but its stored state no longer matches: \
             {check}; the database was damaged after it was verified (remove it and sync again)",
            storage.label, head.number
        )));
    }
    if !check.matches() {
        writeln!(err, "error: the stored state is not the tip's (block {}): {check}", head.number)?;
        return Ok(None);
    }
    let again = if already_finished { "already synced; " } else { "" };
    writeln!(
        err,
        "{}: {again}the stored leaves were hashed again in {:.1} s and make the root of the tip \
         (block {})",
        storage.label,
        took.as_secs_f64(),
        head.number
    )?;
    Ok(Some(LeafVerdict::RecheckedNow(took)))
}

/// The page cache a sync opens its data directory with: the cache share of its memory budget
/// (`memory.budget_bytes`, see docs/configuration.md).
pub(super) fn cache_bytes(config: &SnapSyncConfig) -> usize {
    usize::try_from(config.memory.cache_bytes()).unwrap_or(usize::MAX)
}

/// Builds the state, opens the database (refusing one of another chain) and the network.
fn prepare(
    args: &SyncArgs,
    config: &SnapSyncConfig,
    err: &mut dyn Write,
) -> Result<World, CliError> {
    let started = Instant::now();
    // The byte shares are fixed once the source is known; the head does not depend on them.
    let head = TipSchedule::new(&config.pivot, args.pivot_moves, 0).head();
    let source = args.source.load(args.pivot_moves)?;
    let tips = TipSchedule::new(&config.pivot, args.pivot_moves, source.expected_bytes);
    writeln!(err, "source: {}", source.description)?;
    let served: Vec<u64> = tips.served_blocks().collect();
    let txs_per_block = usize::try_from(args.txs_per_block).unwrap_or(usize::MAX);
    let building = Instant::now();
    let kept_dir = kept_states_dir()?;
    let kept =
        KeptStates::OnDisk { dir: kept_dir.path().to_path_buf(), cache_bytes: KEPT_STATE_CACHE };
    let chain = source.build_chain(head, txs_per_block, |block| served.contains(&block), &kept)?;
    let (transactions, gas) = chain.headers().skip(1).fold((0, 0), |(txs, gas), header| {
        let body = chain.body(header.number).map_or(0, |body| body.transactions.len());
        (txs + body, gas + header.gas_used)
    });
    writeln!(
        err,
        "chain: blocks 1 to {head} built by executing them ({transactions} transactions, {gas} \
         gas) in {:.1} s; head state root {}",
        building.elapsed().as_secs_f64(),
        chain.head().state_root
    )?;
    let storage = if args.memory {
        Storage::memory()?
    } else {
        Storage::create(&args.datadir, cache_bytes(config))?
    };
    if let Some(line) = storage.describe_open() {
        writeln!(err, "{line}")?;
    }
    let before = same_chain_record(&storage, &chain)?;
    if let Some(summary) = &before {
        let state = if summary.is_done() { "finished" } else { "unfinished" };
        writeln!(
            err,
            "{}: resuming the {state} sync of pivot block {} (phase {:?})",
            storage.label, summary.pivot.number, summary.phase
        )?;
    }
    let scenario = Scenario::executed(chain, args.peers.peers())?;
    let mut tips = tips;
    if let Some(summary) = &before {
        tips.resume_after(&scenario, summary.counts.pivot_moves);
    }
    writeln!(
        err,
        "network: {}, serving blocks 0 to {} and the states of blocks {served:?}; tip at block \
         {}, {} pivot moves ahead; ready in {:.1} s",
        args.peers.describe(),
        scenario.chain.head_number(),
        tips.current_block(),
        tips.moves_ahead(),
        started.elapsed().as_secs_f64()
    )?;
    if args.peers.all_faulty() {
        writeln!(err, "warning: no peer is honest: this sync must fail")?;
    }
    Ok(World { scenario: Arc::new(scenario), _kept_states: kept_dir, storage, before, tips })
}

/// Page cache of each file a served state is kept in: the peers read the state in key order,
/// so a small cache serves them and the process holds the state once, the chain builder's,
/// not twice.
const KEPT_STATE_CACHE: usize = 16 << 20;

/// A new directory for the files of the states the simulated peers serve, in the system's
/// temporary directory (`TMPDIR`): the simulated world is not the sync's, so it stays out of the
/// data directory (whose disk the sync's own writes may fill).
///
/// # Errors
/// [`CliError::Datadir`] when the directory cannot be created.
fn kept_states_dir() -> Result<tempfile::TempDir, CliError> {
    let base = std::env::temp_dir();
    tempfile::Builder::new()
        .prefix("snapsync-sim-states-")
        .tempdir_in(&base)
        .map_err(|source| CliError::Datadir { path: base, source })
}

/// The sync record stored in `storage`, if any, after checking that it belongs to `chain`: its
/// pivot must be a block of the chain (same number, hash and state root).
///
/// # Errors
/// [`CliError::ForeignDatadir`] when it is not; [`CliError::Sync`] for a corrupt record.
fn same_chain_record(
    storage: &Storage,
    chain: &ExecutedChain,
) -> Result<Option<SyncSummary>, CliError> {
    let Some(summary) = stored_summary(&storage.db.view()?)? else { return Ok(None) };
    let pivot = &summary.pivot;
    let known = chain.header_by_hash(&pivot.hash).is_some_and(|header| {
        header.number == pivot.number && header.state_root == pivot.state_root
    });
    if !known {
        return Err(CliError::ForeignDatadir(format!(
            "{} holds a sync of another chain: its pivot, block {} with hash {} and state root \
             {}, is not a block of the chain about to be served (another --seed, --accounts or \
             state file?); use another --datadir, or remove this one to start over",
            storage.label, pivot.number, pivot.hash, pivot.state_root
        )));
    }
    Ok(Some(summary))
}

/// The pipeline's result: the pipeline, the snap stage's progress and the execution's counters.
type SyncPipeline =
    (Pipeline<dyn Database>, watch::Receiver<SyncProgress>, std::sync::Arc<ExecutionStats>);

/// Snap sync, then headers and bodies from the pivot + 1 up to the tip, then those blocks
/// executed; the stage's progress and the execution's counters.
fn pipeline(
    world: &World,
    config: SnapSyncConfig,
    tip: watch::Receiver<alloy_primitives::B256>,
    history: History,
) -> Result<SyncPipeline, CliError> {
    let client = world.scenario.network.clone();
    let db = &world.storage.db;
    // One peer layer: the chain stages go through the snap stage's fetcher, so one peer set
    // times, rests, scores and bans the peers for every request. The generated chains are
    // proof-of-stake from their genesis (merge block 0).
    let stages =
        DefaultStages::new(client, tip, config, &world.storage.dir)?.with_history(history, 0);
    let progress = stages.progress();
    let executor = StageExecutor::new(EvmExecutor::new(world.scenario.chain.rules().clone()));
    let stats = executor.stats();
    let stages = stages.build_with_execution(executor)?;
    Ok((Pipeline::new(db.clone(), stages).with_retry_policy(RETRY), progress, stats))
}

/// Advances the tip the sync follows as `tips` schedules it: the moment the simulated network
/// has sent each move's share of the state download (from inside its send, before the reply reaches
/// the sync) once the sync's `progress` shows the previous move taken, so that a fast sync
/// neither finishes between two looks at the schedule nor sees two jumps as one.
fn follow_the_schedule(
    scenario: &Arc<Scenario<ExecutedChain>>,
    tips: TipSchedule,
    sender: Arc<watch::Sender<alloy_primitives::B256>>,
    progress: watch::Receiver<SyncProgress>,
) {
    let world = Arc::downgrade(scenario);
    let tips = std::sync::Mutex::new(tips);
    scenario.network.on_state_bytes_sent(move |bytes| {
        let Some(scenario) = world.upgrade() else { return };
        let taken = progress.borrow().counts.pivot_moves;
        let mut tips = tips.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tip) = tips.next_tip(&scenario, bytes, taken) {
            sender.send_replace(tip);
        }
    });
}

/// What [`drive`] shows beside the stage's progress: the requests timed out so far.
trait Timeouts {
    /// Requests timed out so far.
    fn timeouts(&self) -> u64;
}

/// The simulated network's timeouts.
struct SimTimeouts<'a>(&'a Scenario<ExecutedChain>);

impl Timeouts for SimTimeouts<'_> {
    fn timeouts(&self) -> u64 {
        self.0.network.timeouts()
    }
}

/// Runs the pipeline to its end, showing its events and the stage's progress meanwhile.
async fn drive(
    pipeline: &mut Pipeline<dyn Database>,
    progress: &watch::Receiver<SyncProgress>,
    view: &mut ProgressView,
    timeouts: &mut dyn Timeouts,
    err: &mut dyn Write,
) -> Result<(), PipelineError> {
    let mut events = pipeline.subscribe();
    let mut ticks = tokio::time::interval(view.tick_interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let run = pipeline.run(None);
    tokio::pin!(run);
    let mut events_open = true;
    loop {
        tokio::select! {
            result = &mut run => {
                while let Ok(event) = events.try_recv() {
                    view.on_event(&event, err);
                }
                // Nothing cancels this pipeline: a finished run is the only `Ok`.
                return result.map(drop);
            }
            event = events.recv(), if events_open => match event {
                Ok(event) => view.on_event(&event, err),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => events_open = false,
            },
            _ = ticks.tick() => {
                let snapshot = progress.borrow().clone();
                view.on_tick(&snapshot, timeouts.timeouts(), err);
            }
        }
    }
}

/// How many peers the sync penalised (which explains most failures), if any.
fn write_penalties(scenario: &Scenario<ExecutedChain>, err: &mut dyn Write) -> std::io::Result<()> {
    let network = &scenario.network;
    let peers = network.peer_ids();
    let penalised = peers.iter().filter(|peer| !network.penalties_of(**peer).is_empty()).count();
    if penalised == 0 {
        return Ok(());
    }
    writeln!(
        err,
        "note: {penalised} of {} peers were penalised for invalid or missing replies",
        peers.len()
    )
}

/// One line on what of the chain is stored: headers, bodies and receipts, each as a count and
/// its lowest and highest block.
///
/// # Errors
/// Store and output failures.
fn write_history(
    view: &(impl StateRead + ?Sized),
    history: History,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let span =
        |entries: StoreIter<'_, (u64, alloy_primitives::Bytes)>| -> Result<String, CliError> {
            let (mut count, mut low, mut high) = (0u64, None, 0);
            for entry in entries {
                let number = entry?.0;
                count += 1;
                low.get_or_insert(number);
                high = number;
            }
            Ok(low.map_or_else(|| "none".to_owned(), |low| format!("{count} ({low}..={high})")))
        };
    writeln!(
        err,
        "chain (history {history}): headers {}, bodies {}, receipts {}",
        span(view.headers(KeyRange::all())?)?,
        span(view.bodies(KeyRange::all())?)?,
        span(view.block_receipts_range(KeyRange::all())?)?,
    )?;
    Ok(())
}
