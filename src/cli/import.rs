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
//! Exit 0 imported and verified, 1 when the dump's root is not the head's (nothing of the state
//! written), 2 when it cannot run (unreadable or invalid files, another chain in the store).

use super::{CliError, Outcome, datadir::Storage};
use alloy_consensus::Header;
use alloy_primitives::{B256, Sealable, Sealed};
use clap::Args;
use snapsync_chain_stages::{ChainImportError, ImportConfig, ImportedChain, import_chain};
use snapsync_db::{ImportAccount, ImportReport, compute_state_root, import_state};
use snapsync_etl::CollectorConfig;
use snapsync_genesis::{ChainFile, ChainSpec, HashedAccount, StateFile};
use snapsync_snap_sync::{Counts, Pivot, record_imported_state, stored_summary};
use snapsync_storage::{KeyRange, StateRead, StateStore};
use std::{io::Write, path::PathBuf, time::Instant};

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
    /// "storage_slots","bytecodes","elapsed_ms"}.
    #[arg(long)]
    json: bool,
}

/// What the state part of an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateOutcome {
    /// No `--state` was given: the head's state root is the header's, not checked here.
    NotRequested,
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
    let storage = Storage::create(&args.datadir)?;
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
        None => {
            writeln!(
                err,
                "state: none imported (--state DUMP stores the head's); the head's state root is \
                 its header's, not checked"
            )?;
            StateOutcome::NotRequested
        }
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
    /// state, when one was given, makes the head's root.
    fn verified(&self) -> bool {
        !matches!(self.state, StateOutcome::WrongRoot { .. })
    }

    fn stored_state(&self) -> Option<StoredState> {
        match self.state {
            StateOutcome::Imported(stored) => Some(stored),
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
                r#""elapsed_ms":{}}}"#
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
            self.elapsed_ms,
        )
    }

    fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let head = &self.imported.head;
        writeln!(out, "head: block {} {}", head.number, head.hash())?;
        match self.state {
            StateOutcome::NotRequested => {
                writeln!(out, "state root {} (the header's; no state imported)", head.state_root)
            }
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
