//! `snapsync sync`: snap-syncs a state from simulated peers into a database, verified.
//!
//! The peers (honest or hostile, on links of chosen latency and bandwidth) serve a chain over one
//! state (generated, or read from a state dump or genesis file); the tip shown to the sync is
//! block `2 × pivot.distance`, so the pivot is block `pivot.distance`. With `--pivot-moves N`
//! the chain changes the state in every block and the tip advances N times while the sync runs,
//! each time far enough to move the pivot, with older states forgotten by the peers (see
//! `moves.rs`). The pipeline — snap sync, then headers and bodies above the pivot — runs against
//! them until the stored state's root is the final pivot header's. Execution is not available
//! yet, so the pipeline ends after bodies.
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
use report::{LeafVerdict, SyncReport};
use snapsync::DefaultStages;
use snapsync_chain_stages::History;
use snapsync_db::Database;
use snapsync_sim::GeneratedChain;
use snapsync_sim::Scenario;
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
/// Most `--changes-per-block`.
const MAX_CHANGES_PER_BLOCK: u64 = 100_000;
/// State changes per block with `--pivot-moves` unless `--changes-per-block` says otherwise.
const DEFAULT_CHANGES_WITH_MOVES: u64 = 20;

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
    /// Random state changes per block (transfers, new accounts, storage writes, deployments,
    /// self-destructs). Default: 20 with --pivot-moves, else 0 (the pivot's state is the source
    /// state itself).
    #[arg(long, value_parser = value_parser!(u64).range(0..=MAX_CHANGES_PER_BLOCK))]
    changes_per_block: Option<u64>,
    /// A SnapSyncConfig TOML file (see docs/configuration.md); omitted fields keep defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the result as one JSON line on stdout: {"state_root","pivot_block","verified",
    /// "accounts","storage_slots","bytecodes","trie_nodes","healed_trie_nodes","pivot_moves",
    /// "bytes_downloaded","requests","elapsed_ms","resumed"}.
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
    scenario: Arc<Scenario>,
    storage: Storage,
    /// The stored sync record before this run, if an earlier run left one.
    before: Option<SyncSummary>,
    /// The tips shown to the sync.
    tips: TipSchedule,
}

impl SyncArgs {
    /// State changes per block: as given, else 20 with pivot moves and 0 without.
    fn changes_per_block(&self) -> usize {
        let default = if self.pivot_moves > 0 { DEFAULT_CHANGES_WITH_MOVES } else { 0 };
        usize::try_from(self.changes_per_block.unwrap_or(default)).unwrap_or(usize::MAX)
    }
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
    let (mut pipeline, progress) = pipeline(&world, config, tip, args.history)?;
    writeln!(
        err,
        "pipeline: {} (history {}; execution is not available yet: the pipeline ends after the \
         chain's data)",
        pipeline.stage_ids().iter().map(ToString::to_string).collect::<Vec<_>>().join(" → "),
        args.history
    )?;
    let mut view = ProgressView::new(std::io::stderr().is_terminal());
    let started = Instant::now();
    let tip_sender = Arc::new(tip_sender);
    let schedule = world.tips.clone();
    follow_the_schedule(&world.scenario, schedule, Arc::clone(&tip_sender), progress.clone());
    let mut timeouts = SimTimeouts(&world.scenario);
    let result = runtime.block_on(drive(&mut pipeline, &progress, &mut view, &mut timeouts, err));
    let elapsed = started.elapsed();
    view.finish();
    drop(tip_sender);
    let failed = sync_failed(result, err)?;
    write_penalties(&world.scenario, err)?;
    write_history(&world.storage.db.view()?, args.history, err)?;
    let summary = stored_summary(&world.storage.db.view()?)?;
    let check = match &summary {
        Some(summary) if summary.is_done() && !failed => {
            Some(verdict_of_this_run(&world.storage, summary, world.before.as_ref(), err)?)
        }
        _ => None,
    };
    let network = &world.scenario.network;
    let report = SyncReport::new(
        summary.as_ref(),
        check,
        (network.bytes_sent(), network.requests()),
        elapsed,
        world.before.is_some(),
    );
    metrics_file::record(&report);
    if args.json {
        writeln!(out, "{}", report.json_line())?;
    } else {
        report.write_human(out)?;
    }
    Ok(if report.verified && !failed { Outcome::Success } else { Outcome::Disagreement })
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

/// Builds the state, opens the database (refusing one of another chain) and the network.
fn prepare(
    args: &SyncArgs,
    config: &SnapSyncConfig,
    err: &mut dyn Write,
) -> Result<World, CliError> {
    let started = Instant::now();
    // The byte shares are fixed once the source is known; the head does not depend on them.
    let head = TipSchedule::new(&config.pivot, args.pivot_moves, 0).head();
    let source = args.source.build(head, args.changes_per_block(), args.pivot_moves)?;
    let tips = TipSchedule::new(&config.pivot, args.pivot_moves, source.expected_bytes);
    writeln!(err, "source: {}", source.description)?;
    let storage = if args.memory { Storage::memory()? } else { Storage::create(&args.datadir)? };
    if let Some(line) = storage.describe_open() {
        writeln!(err, "{line}")?;
    }
    let before = same_chain_record(&storage, &source.chain)?;
    if let Some(summary) = &before {
        let state = if summary.is_done() { "finished" } else { "unfinished" };
        writeln!(
            err,
            "{}: resuming the {state} sync of pivot block {} (phase {:?})",
            storage.label, summary.pivot.number, summary.phase
        )?;
    }
    let served: Vec<u64> = tips.served_blocks().collect();
    let scenario = Scenario::new(source.chain, args.peers.peers(), served.iter().copied())?;
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
    Ok(World { scenario: Arc::new(scenario), storage, before, tips })
}

/// The sync record stored in `storage`, if any, after checking that it belongs to `chain`: its
/// pivot must be a block of the chain (same number, hash and state root).
///
/// # Errors
/// [`CliError::ForeignDatadir`] when it is not; [`CliError::Sync`] for a corrupt record.
fn same_chain_record(
    storage: &Storage,
    chain: &GeneratedChain,
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

/// Snap sync, then headers and bodies from the pivot + 1 up to the tip; the stage's progress.
fn pipeline(
    world: &World,
    config: SnapSyncConfig,
    tip: watch::Receiver<alloy_primitives::B256>,
    history: History,
) -> Result<(Pipeline<dyn Database>, watch::Receiver<SyncProgress>), CliError> {
    let client = world.scenario.network.clone();
    let db = &world.storage.db;
    // One peer layer: the chain stages go through the snap stage's fetcher, so one peer set
    // times, rests, scores and bans the peers for every request. The generated chains are
    // proof-of-stake from their genesis (merge block 0).
    let stages =
        DefaultStages::new(client, tip, config, &world.storage.dir)?.with_history(history, 0);
    let progress = stages.progress();
    Ok((Pipeline::new(db.clone(), stages.build()?).with_retry_policy(RETRY), progress))
}

/// Advances the tip the sync follows as `tips` schedules it: the moment the simulated network
/// has sent each move's share of the download (from inside its send, before the reply reaches
/// the sync) once the sync's `progress` shows the previous move taken, so that a fast sync
/// neither finishes between two looks at the schedule nor sees two jumps as one.
fn follow_the_schedule(
    scenario: &Arc<Scenario>,
    tips: TipSchedule,
    sender: Arc<watch::Sender<alloy_primitives::B256>>,
    progress: watch::Receiver<SyncProgress>,
) {
    let world = Arc::downgrade(scenario);
    let tips = std::sync::Mutex::new(tips);
    scenario.network.on_bytes_sent(move |bytes| {
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
struct SimTimeouts<'a>(&'a Scenario);

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
fn write_penalties(scenario: &Scenario, err: &mut dyn Write) -> std::io::Result<()> {
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
