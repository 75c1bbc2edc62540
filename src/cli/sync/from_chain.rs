//! `snapsync sync --genesis GENESIS.json --from-chain CHAIN.rlp [--pivot-distance N]`: a snap
//! sync of a real chain's state, then the chain executed on it to the head.
//!
//! The simulated peers serve the chain file's headers and bodies and the state of the pivot
//! (head − N), which is computed here by executing the chain from the genesis (every block
//! checked against its header) in a store of their own. The local pipeline is the default one
//! with execution, `SnapSync → Headers → Bodies → Execution` (headers down to block 1, so
//! BLOCKHASH reaches below the pivot): it snap-syncs the pivot's state, verified against the
//! pivot header's root, then executes blocks pivot + 1 … head on it. The run ends at the head's
//! state root, recomputed from the stored leaves.
//!
//! The snap stage chooses its pivot at most 126 blocks below the tip it is shown (peers keep
//! about 128 states): for a larger distance the tip is first the block 64 above the pivot, and
//! once that much is synced and executed it moves to the head (the headers, bodies and
//! execution stages then continue from their checkpoints).

use super::SyncArgs;
use crate::cli::{
    CliError, Outcome,
    datadir::Storage,
    import::{execute_stored, seed_genesis_state},
};
use alloy_primitives::{B256, Sealable};
use snapsync::DefaultStages;
use snapsync_chain_stages::{ExecutionConfig, ExecutionStage, History, ImportConfig, import_chain};
use snapsync_db::{Database, MemoryDatabase, compute_state_root};
use snapsync_execution::{ChainRules, EvmExecutor, ExecutionStats, StageExecutor};
use snapsync_genesis::{ChainFile, ChainSpec};
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_sim::{Behaviour, ChainFixture, Link, SimNetwork, SimPeer};
use snapsync_snap_sync::{SNAP_SYNC, SnapSyncConfig};
use snapsync_stages::{Pipeline, StageSet};
use std::{io::Write, path::Path, sync::Arc, time::Instant};
use tokio::sync::watch;

/// The pivot distance of the snap stage's own choice (go-ethereum's).
const SNAP_DISTANCE: u64 = 64;
/// Honest peers serving the chain.
const PEERS: u64 = 4;

/// Runs the sync of `chain` (after `genesis`) with the pivot `distance` blocks below the head.
///
/// # Errors
/// Unusable files or distance; store, runtime and output failures.
pub(super) fn run(
    args: &SyncArgs,
    genesis_path: &Path,
    chain_path: &Path,
    distance: u64,
    mut config: SnapSyncConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let started = Instant::now();
    let spec = ChainSpec::load(genesis_path)?;
    let genesis = spec.genesis_header().clone().seal_slow();
    let fixture = ChainFixture::load(chain_path)
        .map_err(|error| CliError::Usage(format!("--from-chain: {error}")))?;
    let head = fixture
        .header(fixture.head_number())
        .cloned()
        .ok_or_else(|| CliError::Usage("--from-chain: the chain file has no blocks".to_owned()))?;
    if distance == 0 || distance >= head.number {
        return Err(CliError::Usage(format!(
            "--pivot-distance {distance}: the chain's head is block {}; the pivot must be a block \
             between 1 and {}",
            head.number,
            head.number.saturating_sub(1)
        )));
    }
    let pivot = head.number - distance;
    let pivot_header = fixture.header(pivot).cloned().ok_or_else(|| {
        CliError::Usage(format!("--from-chain: block {pivot} is not in the chain file"))
    })?;

    // The peers' store: the chain, and the pivot's state by executing it.
    let served: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
    import_chain(
        &*served,
        &genesis,
        ChainFile::open(chain_path).map_err(snapsync_chain_stages::ChainImportError::File)?,
        ImportConfig::default(),
    )?;
    seed_genesis_state(&served, "the peers' store", genesis_path, &genesis, err)?;
    let (prepared, failure) = execute_stored(&served, &spec, pivot)?;
    if let Some(reason) = failure {
        return Err(CliError::Usage(format!(
            "--from-chain: executing the chain to the pivot failed: {reason}"
        )));
    }
    let served_root = compute_state_root(&served.view()?)?.state_root;
    if served_root != pivot_header.state_root {
        return Err(CliError::Corrupt(format!(
            "the peers' state after executing to block {pivot} has root {served_root}, not the \
             header's {}",
            pivot_header.state_root
        )));
    }
    let server = SnapServer::<dyn Database>::new(ServerLimits::default());
    server
        .add_state(served_root, served.clone())
        .map_err(|error| CliError::Corrupt(format!("serving the pivot's state: {error}")))?;
    let peers = (0..PEERS).map(|seed| SimPeer::new(Link::new(10, 1_000), Behaviour::Honest, seed));
    let network = Arc::new(
        SimNetwork::new(Arc::new(server), peers.collect()).with_blocks(Arc::new(fixture.clone())),
    );
    writeln!(
        err,
        "source: {} blocks from {}; the peers serve them and block {pivot}'s state (root \
         {served_root}, executed from the genesis in {:.1} s, {} blocks)",
        head.number,
        chain_path.display(),
        prepared.elapsed_ms as f64 / 1000.0,
        prepared.blocks
    )?;

    // The local pipeline: snap sync at the pivot, then the chain above it executed.
    let storage = if args.memory {
        Storage::memory()?
    } else {
        Storage::create(&args.datadir, super::cache_bytes(&config))?
    };
    let first_tip = pivot + distance.min(SNAP_DISTANCE);
    config.pivot.distance = distance.min(SNAP_DISTANCE);
    let tip_hash = |number: u64| fixture.header(number).map_or(B256::ZERO, |header| header.hash());
    let (tip_sender, tip) = watch::channel(tip_hash(first_tip));
    let stages = DefaultStages::new(network, tip.clone(), config, &storage.dir)?
        .with_history(History::None, 0);
    let fetcher = Arc::clone(stages.fetcher());
    let executor = StageExecutor::new(EvmExecutor::new(ChainRules::from_spec(&spec)));
    let stats = executor.stats();
    let mut pipeline = Pipeline::new(storage.db.clone(), stages.build_with_execution(executor)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .map_err(CliError::Runtime)?;
    let sync_started = Instant::now();
    let mut result = runtime.block_on(pipeline.run(Some(first_tip))).map(drop);
    if result.is_ok() && first_tip < head.number {
        // The snap stage is done: the rest of the chain, from the stages' checkpoints.
        drop(pipeline);
        let _ = tip_sender.send(head.hash());
        let chain = History::None.chain_stages(&fetcher, tip, &SNAP_SYNC, 0);
        let executor = StageExecutor::new(EvmExecutor::new(ChainRules::from_spec(&spec)));
        let more = executor.stats();
        let execution = ExecutionStage::new(executor, ExecutionConfig::after_stage(SNAP_SYNC));
        let stages = StageSet::builder().add(chain.headers)?.add(chain.bodies)?.add(execution)?;
        let mut rest = Pipeline::new(storage.db.clone(), stages.build());
        result = runtime.block_on(rest.run(Some(head.number))).map(drop);
        report(
            args,
            &storage,
            pivot,
            &head,
            &[stats, more],
            result,
            sync_started,
            started,
            out,
            err,
        )
    } else {
        report(args, &storage, pivot, &head, &[stats], result, sync_started, started, out, err)
    }
}

/// Prints the outcome: the stored state's root against the head's.
#[allow(clippy::too_many_arguments)]
fn report(
    args: &SyncArgs,
    storage: &Storage,
    pivot: u64,
    head: &alloy_primitives::Sealed<alloy_consensus::Header>,
    stats: &[Arc<ExecutionStats>],
    result: Result<(), snapsync_stages::PipelineError>,
    sync_started: Instant,
    started: Instant,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let failure = match result {
        Ok(()) => None,
        Err(error) if error.is_local() => return Err(CliError::LocalStore(Box::new(error))),
        Err(error) => Some(error.to_string()),
    };
    let blocks: u64 = stats.iter().map(|stats| stats.blocks()).sum();
    let gas: u64 = stats.iter().map(|stats| stats.gas_used()).sum();
    let root = compute_state_root(&storage.db.view()?)?.state_root;
    let verified = failure.is_none() && root == head.state_root;
    if let Some(failure) = &failure {
        writeln!(err, "error: the sync failed: {failure}")?;
    }
    let sync_ms = sync_started.elapsed().as_millis();
    if args.json {
        writeln!(
            out,
            concat!(
                r#"{{"state_root":"{}","pivot_block":{},"head_block":{},"verified":{},"#,
                r#""blocks_executed":{},"gas_used":{},"sync_ms":{},"elapsed_ms":{}}}"#
            ),
            root,
            pivot,
            head.number,
            verified,
            blocks,
            gas,
            sync_ms,
            started.elapsed().as_millis()
        )?;
    } else {
        writeln!(
            out,
            "snap-synced block {pivot}'s state, executed blocks {}..={} ({blocks} blocks, {gas} \
             gas) in {:.1} s",
            pivot + 1,
            head.number,
            sync_ms as f64 / 1000.0
        )?;
        let verdict =
            if verified { "verified: the head's state root" } else { "NOT the head's state root" };
        writeln!(out, "state root {root} ({verdict} {})", head.state_root)?;
    }
    Ok(if verified { Outcome::Success } else { Outcome::Disagreement })
}
