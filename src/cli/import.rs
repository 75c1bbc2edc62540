//! `snapsync import --datadir DIR --genesis GENESIS.json --chain CHAIN.rlp [--state DUMP.json]
//! [--json]`: a chain and, optionally, its head state, from files into a data directory.
//!
//! The genesis header is built from the genesis file (its state root computed from `alloc`),
//! and the chain file's blocks are stored after it, each checked as the headers and bodies
//! stages check a peer's (`import_chain`: the child of the block before, body roots equal to the
//! header's). With `--state`, the dump's root is computed from its leaves and must equal the last
//! block's state root before anything of it is written; the state is then stored (hashed
//! tables, codes, every trie node) and recorded as a finished sync at that block, so `verify`
//! checks it and a `sync` or a server starts from it. Importing again skips what is stored;
//! a data directory holding another chain or state is refused.
//!
//! Without `--state` the chain is executed from the genesis (see [`execute_chain`]): the
//! genesis `alloc` is stored as block 0's state, and the execution stage runs every stored
//! block on revm, each checked against its header (gas used, receipts root, logs bloom,
//! requests hash, blob gas used, state root) before it is committed; the stored state's root
//! is then recomputed from its leaves and compared with the head's. Importing again resumes
//! after the last executed block.
//!
//! Exit 0 imported and verified, 1 when the dump's root is not the head's (nothing of the state
//! written) or a block's execution disagrees with its header (nothing of that block written),
//! 2 when it cannot run (unreadable or invalid files, another chain in the store).

use super::{CliError, Outcome, datadir::Storage};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes, Sealable, Sealed};
use clap::Args;
use snapsync_chain_stages::{
    ChainImportError, ExecutionConfig, ExecutionStage, ImportConfig, ImportedChain, StageStart,
    import_chain,
};
use snapsync_db::{Database, ImportAccount, ImportReport, compute_state_root, import_state};
use snapsync_etl::CollectorConfig;
use snapsync_execution::{ChainRules, EvmExecutor, StageExecutor, seed_state};
use snapsync_genesis::{ChainFile, ChainSpec, HashedAccount, StateFile};
use snapsync_snap_sync::{Counts, Pivot, record_imported_state, stored_summary};
use snapsync_stages::{Pipeline, PipelineError, StageCheckpoint, StageId, StageSet};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use std::{io::Write, path::PathBuf, sync::Arc, time::Instant};

/// Memory the state import's ETL collectors may buffer before spilling: 256 MiB.
const ETL_BUFFER_BYTES: usize = 256 << 20;

/// Arguments of `snapsync import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The data directory to import into (created if missing).
    #[arg(long, value_name = "DIR")]
    datadir: PathBuf,
    /// The chain's genesis file (geth format, with "config" and "alloc").
    #[arg(long, value_name = "GENESIS.json")]
    genesis: PathBuf,
    /// The chain's blocks after the genesis, as concatenated RLP (geth's `export` format).
    #[arg(long, value_name = "CHAIN.rlp")]
    chain: PathBuf,
    /// A state dump (geth's `dump` format) of the chain's last block, stored as its state.
    #[arg(long, value_name = "DUMP.json")]
    state: Option<PathBuf>,
    /// Print exactly one JSON line: {"head_block","head_hash","state_root","verified",
    /// "state_imported","blocks_written","blocks_already_stored","transactions","accounts",
    /// "storage_slots","bytecodes","blocks_executed","gas_used","elapsed_ms"}.
    #[arg(long)]
    json: bool,
}

/// What the state part of an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StateOutcome {
    /// No `--state` was given: the chain was executed from the genesis.
    Executed(Execution),
    /// A block's execution disagreed with its header (or the block is invalid): nothing of it
    /// was written; the blocks before it stay executed.
    ExecutionFailed {
        /// Blocks executed by this run before the failure.
        execution: Execution,
        /// The failure, naming the block and the field.
        reason: String,
    },
    /// The dump was stored (or was already): its leaves make the head's state root.
    Imported(StoredState),
    /// The dump's leaves make another root than the head's: nothing of it was written.
    WrongRoot {
        /// The root the dump's leaves make.
        computed: B256,
    },
}

/// The counts of a stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoredState {
    accounts: u64,
    storage_slots: u64,
    bytecodes: u64,
    /// Whether it was stored by an earlier import.
    already: bool,
}

/// Runs `import`.
///
/// # Errors
/// [`CliError::ChainSpec`] for an invalid genesis file, [`CliError::Import`] for a chain file
/// that does not decode or link, a body that does not match its header, or a store that holds
/// another chain; [`CliError::Input`] for an unreadable or incomplete dump;
/// [`CliError::ForeignDatadir`] for a store holding another state; store failures.
pub(crate) fn run(
    args: &ImportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let started = Instant::now();
    let spec = ChainSpec::load(&args.genesis)?;
    let storage = Storage::create(&args.datadir, super::datadir::CACHE_BYTES)?;
    super::datadir::keep_genesis(&args.datadir, &args.genesis)?;
    if let Some(line) = storage.describe_open() {
        writeln!(err, "{line}")?;
    }
    let genesis = spec.genesis_header().clone().seal_slow();
    writeln!(err, "genesis: hash {} (state root {})", genesis.hash(), genesis.state_root)?;
    let chain = ChainFile::open(&args.chain).map_err(ChainImportError::File)?;
    let imported = import_chain(&*storage.db, &genesis, chain, ImportConfig::default())?;
    writeln!(
        err,
        "chain: blocks 1..={} linked to the genesis and their bodies to their headers; {} \
         written, {} already stored",
        imported.head.number, imported.written, imported.already_stored
    )?;
    let state = match &args.state {
        None => execute_chain(&storage, &args.genesis, &genesis, &imported.head, err)?,
        Some(path) => import_head_state(&storage, path, &imported.head, err)?,
    };
    let report =
        ImportSummary { imported: &imported, state, elapsed_ms: started.elapsed().as_millis() };
    if args.json {
        writeln!(out, "{}", report.json_line())?;
    } else {
        report.write_human(out)?;
    }
    Ok(if report.verified() { Outcome::Success } else { Outcome::Disagreement })
}

/// What executing the chain did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Execution {
    /// Blocks executed by this run.
    pub(super) blocks: u64,
    /// Their gas.
    pub(super) gas_used: u64,
    /// The highest executed block (by this run or an earlier one).
    pub(super) last: u64,
    /// Execution's share of the elapsed time.
    pub(super) elapsed_ms: u128,
}

/// Executes the stored chain from the genesis to `head`: stores the genesis `alloc` as block
/// 0's state when the store has no state yet (resuming after the last executed block
/// otherwise), runs the execution stage over the stored blocks, and checks the stored state's
/// root against the head's.
///
/// # Errors
/// [`CliError::ForeignDatadir`] for a store holding a state that execution did not write;
/// invalid genesis files; store failures.
fn execute_chain(
    storage: &Storage,
    genesis_path: &std::path::Path,
    genesis: &Sealed<Header>,
    head: &Sealed<Header>,
    err: &mut dyn Write,
) -> Result<StateOutcome, CliError> {
    let started = Instant::now();
    let spec = ChainSpec::load(genesis_path)?;
    seed_genesis_state(&storage.db, &storage.label, genesis_path, genesis, err)?;
    let (execution, failure) = execute_stored(&storage.db, &spec, head.number)?;
    if let Some(reason) = failure {
        writeln!(err, "execution: stopped after block {}: {reason}", execution.last)?;
        return Ok(StateOutcome::ExecutionFailed { execution, reason });
    }
    let last = execution.last;
    let view = storage.db.view()?;
    let report = compute_state_root(&view)?;
    let root = report.state_root;
    if root != head.state_root || !report.is_consistent() {
        return Err(CliError::Corrupt(format!(
            "every block up to {last} was executed and checked, but the stored state's root {root} \
             is not the head's {}; the store is damaged",
            head.state_root
        )));
    }
    // Recorded as the head's state, as a dump import records it: `verify` checks it again and
    // a server serves it.
    let bytecodes = view.codes(KeyRange::all())?.count() as u64;
    drop(view);
    let pivot = Pivot { number: head.number, hash: head.hash(), state_root: head.state_root };
    let counts = ImportReport {
        state_root: root,
        accounts: report.accounts,
        storage_slots: report.storage_slots,
        bytecodes,
    };
    record(storage, pivot, &counts)?;
    writeln!(
        err,
        "execution: blocks 1..={last} executed from the genesis ({} by this run, {} gas, {:.1} s); \
         each block's gas used, receipts root, logs bloom and state root equal its header's",
        execution.blocks,
        execution.gas_used,
        started.elapsed().as_secs_f64()
    )?;
    Ok(StateOutcome::Executed(execution))
}

/// Executes the stored blocks after the execution checkpoint (block 1 first) up to `target`
/// with the execution stage; what it did, and the failure that stopped it (a block that
/// disagrees with its header, named), if any.
///
/// # Errors
/// Local store failures; runtime failures.
pub(super) fn execute_stored(
    db: &Arc<dyn Database>,
    spec: &ChainSpec,
    target: u64,
) -> Result<(Execution, Option<String>), CliError> {
    let started = Instant::now();
    let executor = StageExecutor::new(EvmExecutor::new(ChainRules::from_spec(spec)));
    let stats = executor.stats();
    let stage = ExecutionStage::new(executor, ExecutionConfig::starting(StageStart::Block(1)));
    let stages = StageSet::builder().add(stage)?.build();
    let mut pipeline = Pipeline::new(db.clone(), stages);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(CliError::Runtime)?;
    let result = runtime.block_on(pipeline.run(Some(target)));
    let last = pipeline
        .checkpoint(&StageId::EXECUTION)
        .map_err(|error| CliError::Pipeline(Box::new(error)))?
        .map_or(0, |checkpoint| checkpoint.block_number);
    let execution = Execution {
        blocks: stats.blocks(),
        gas_used: stats.gas_used(),
        last,
        elapsed_ms: started.elapsed().as_millis(),
    };
    match result {
        Ok(_) => Ok((execution, None)),
        Err(error) if error.is_local() => Err(CliError::LocalStore(Box::new(error))),
        Err(error @ (PipelineError::Fatal { .. } | PipelineError::RetriesExhausted { .. })) => {
            Ok((execution, Some(error.to_string())))
        }
        Err(error) => Err(CliError::Pipeline(Box::new(error))),
    }
}

/// Stores the genesis `alloc` as block 0's state, with an execution checkpoint at block 0, when
/// the store has no state; otherwise the stored state must be execution's.
///
/// # Errors
/// As [`execute_chain`].
pub(super) fn seed_genesis_state(
    db: &Arc<dyn Database>,
    label: &str,
    genesis_path: &std::path::Path,
    genesis: &Sealed<Header>,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let view = db.view()?;
    let executed = view.checkpoint(StageId::EXECUTION.as_str())?.is_some();
    if !view.is_state_empty()? {
        if executed {
            return Ok(());
        }
        return Err(CliError::ForeignDatadir(format!(
            "{label} holds a state that execution did not write (an imported or synced one); use \
             another --datadir"
        )));
    }
    drop(view);
    let file = StateFile::load_capped(genesis_path, StateFile::MAX_FILE_BYTES)?;
    let accounts: Vec<HashedAccount> = file.hashed_accounts().collect::<Result<_, _>>()?;
    let mut txn = StateStore::writer(&**db)?;
    let root =
        seed_state(&mut txn, accounts).map_err(|error| CliError::Corrupt(error.to_string()))?;
    if root != genesis.state_root {
        return Err(CliError::Corrupt(format!(
            "the genesis alloc makes root {root}, not the genesis header's {}",
            genesis.state_root
        )));
    }
    let checkpoint = Bytes::from(StageCheckpoint::new(0).encode());
    txn.set_checkpoint(StageId::EXECUTION.as_str(), &checkpoint)?;
    txn.commit()?;
    writeln!(err, "state: the genesis alloc stored as block 0's state (root {root})")?;
    Ok(())
}

/// Stores the dump at `path` as `head`'s state, unless its root is another, and records it.
///
/// # Errors
/// As [`run`].
fn import_head_state(
    storage: &Storage,
    path: &std::path::Path,
    head: &Sealed<Header>,
    err: &mut dyn Write,
) -> Result<StateOutcome, CliError> {
    let pivot = Pivot { number: head.number, hash: head.hash(), state_root: head.state_root };
    if let Some(stored) = already_stored(storage, pivot)? {
        writeln!(err, "state: block {}'s state is already stored", head.number)?;
        return Ok(StateOutcome::Imported(stored));
    }
    let file = StateFile::load_capped(path, StateFile::MAX_FILE_BYTES)?;
    let computed = file.state_root()?.state_root;
    if computed != head.state_root {
        writeln!(
            err,
            "state: {} makes root {computed}, not block {}'s state root {}; nothing of it was \
             written",
            path.display(),
            head.number,
            head.state_root
        )?;
        return Ok(StateOutcome::WrongRoot { computed });
    }
    // Every account complete before the first is written: hashed once, into what the import
    // takes (the file is in memory already; this is its size again at most).
    let accounts: Vec<ImportAccount> = file
        .hashed_accounts()
        .map(|account| account.map(import_account))
        .collect::<Result<_, _>>()?;
    drop(file);
    let etl = CollectorConfig::new(ETL_BUFFER_BYTES).with_temp_dir(storage.dir.join("etl"));
    let report = import_state(&*storage.db, accounts, &etl)?;
    if report.state_root != head.state_root {
        return Err(CliError::Corrupt(format!(
            "the stored state's root {} is not the dump's {}; the store is damaged",
            report.state_root, head.state_root
        )));
    }
    record(storage, pivot, &report)?;
    writeln!(
        err,
        "state: {} accounts, {} storage slots, {} bytecodes stored; their root is block {}'s",
        report.accounts, report.storage_slots, report.bytecodes, head.number
    )?;
    Ok(StateOutcome::Imported(StoredState {
        accounts: report.accounts,
        storage_slots: report.storage_slots,
        bytecodes: report.bytecodes,
        already: false,
    }))
}

/// The stored state when it is `pivot`'s already, recorded by an earlier import.
///
/// # Errors
/// [`CliError::ForeignDatadir`] when the store holds another state (or one of unknown block);
/// store failures.
fn already_stored(storage: &Storage, pivot: Pivot) -> Result<Option<StoredState>, CliError> {
    let view = storage.db.view()?;
    if view.is_state_empty()? {
        return Ok(None);
    }
    match stored_summary(&view)? {
        Some(summary) if summary.is_done() && summary.pivot == pivot => Ok(Some(StoredState {
            accounts: summary.counts.accounts,
            storage_slots: summary.counts.slots,
            bytecodes: summary.counts.codes,
            already: true,
        })),
        Some(summary) => Err(CliError::ForeignDatadir(format!(
            "{} holds the state of block {} ({}), not of the imported head {} ({}); use another \
             --datadir",
            storage.label, summary.pivot.number, summary.pivot.hash, pivot.number, pivot.hash
        ))),
        None => {
            // An import stopped between storing the state and recording it: the stored leaves
            // are the head's exactly when they make its root.
            let report = compute_state_root(&view)?;
            if report.state_root != pivot.state_root || !report.is_consistent() {
                return Err(CliError::ForeignDatadir(format!(
                    "{} holds a state of root {} that no sync or import recorded; use another \
                     --datadir",
                    storage.label, report.state_root
                )));
            }
            let bytecodes = view.codes(KeyRange::all())?.count() as u64;
            let counts = ImportReport {
                state_root: report.state_root,
                accounts: report.accounts,
                storage_slots: report.storage_slots,
                bytecodes,
            };
            record(storage, pivot, &counts)?;
            Ok(Some(StoredState {
                accounts: counts.accounts,
                storage_slots: counts.storage_slots,
                bytecodes: counts.bytecodes,
                already: true,
            }))
        }
    }
}

/// Records the stored state as `pivot`'s, in one commit.
fn record(storage: &Storage, pivot: Pivot, report: &ImportReport) -> Result<(), CliError> {
    let counts = Counts {
        accounts: report.accounts,
        slots: report.storage_slots,
        codes: report.bytecodes,
        ..Counts::default()
    };
    let mut txn = StateStore::writer(&*storage.db)?;
    record_imported_state(&mut txn, pivot, counts)?;
    txn.commit()?;
    Ok(())
}

fn import_account(account: HashedAccount) -> ImportAccount {
    ImportAccount {
        hash: account.hash.into(),
        nonce: account.nonce,
        balance: account.balance,
        code: account.code,
        storage: account.storage.into_iter().map(|(slot, value)| (slot.into(), value)).collect(),
    }
}

/// What the import stored and checked, for the report.
struct ImportSummary<'a> {
    imported: &'a ImportedChain,
    state: StateOutcome,
    elapsed_ms: u128,
}

impl ImportSummary<'_> {
    /// Every block linked and matched its header (or the import would have failed), and the
    /// state, when one was given, makes the head's root; without one, every block executed
    /// and agreed with its header.
    fn verified(&self) -> bool {
        !matches!(self.state, StateOutcome::WrongRoot { .. } | StateOutcome::ExecutionFailed { .. })
    }

    fn execution(&self) -> Execution {
        match &self.state {
            StateOutcome::Executed(execution) | StateOutcome::ExecutionFailed { execution, .. } => {
                *execution
            }
            _ => Execution::default(),
        }
    }

    fn stored_state(&self) -> Option<StoredState> {
        match &self.state {
            StateOutcome::Imported(stored) => Some(*stored),
            _ => None,
        }
    }

    /// One JSON line with exactly the documented keys; only hex, integers and booleans.
    fn json_line(&self) -> String {
        let head = &self.imported.head;
        let stored = self.stored_state();
        let count = |pick: fn(StoredState) -> u64| stored.map_or(0, pick);
        format!(
            concat!(
                r#"{{"head_block":{},"head_hash":"{}","state_root":"{}","verified":{},"#,
                r#""state_imported":{},"blocks_written":{},"blocks_already_stored":{},"#,
                r#""transactions":{},"accounts":{},"storage_slots":{},"bytecodes":{},"#,
                r#""blocks_executed":{},"gas_used":{},"elapsed_ms":{}}}"#
            ),
            head.number,
            head.hash(),
            head.state_root,
            self.verified(),
            stored.is_some(),
            self.imported.written,
            self.imported.already_stored,
            self.imported.transactions,
            count(|s| s.accounts),
            count(|s| s.storage_slots),
            count(|s| s.bytecodes),
            self.execution().blocks,
            self.execution().gas_used,
            self.elapsed_ms,
        )
    }

    fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let head = &self.imported.head;
        writeln!(out, "head: block {} {}", head.number, head.hash())?;
        match &self.state {
            StateOutcome::Executed(execution) => writeln!(
                out,
                "state root {} verified by executing blocks 1..={} ({} by this run, {} gas)",
                head.state_root, execution.last, execution.blocks, execution.gas_used
            ),
            StateOutcome::ExecutionFailed { execution, reason } => writeln!(
                out,
                "NOT verified: execution stopped after block {}: {reason}",
                execution.last
            ),
            StateOutcome::Imported(stored) => writeln!(
                out,
                "state root {} verified: {} accounts, {} storage slots, {} bytecodes{}",
                head.state_root,
                stored.accounts,
                stored.storage_slots,
                stored.bytecodes,
                if stored.already { " (stored by an earlier import)" } else { "" }
            ),
            StateOutcome::WrongRoot { computed } => writeln!(
                out,
                "NOT verified: the dump's root {computed} is not the head's state root {}",
                head.state_root
            ),
        }
    }
}
