//! `snapsync verify [--datadir DIR] [--json]`: checks a synced data directory without trusting the
//! sync.
//!
//! Opens the redb database read-only (the file is never written: a read-only mount works, and a
//! missing or empty file is an error naming it), verifies every page checksum, reads the snap
//! sync record (which pivot) and the pivot header from `Headers`, and hashes the stored leaves
//! again with `check_stored_leaves` (state root, every storage root, every code), independently
//! of the sync. The state is expected at the pivot or, when the execution stage executed blocks
//! above the pivot on it, at the block of its checkpoint (whose stored header must link back to
//! the pivot's by parent hashes). Verified when the sync finished, the pivot header is the
//! record's, the leaves make that block's state root, every account's slots make its storage
//! root and every code is stored and hashes to its key.
//!
//! Exit 0 verified, 1 a mismatch (or an unfinished sync), 2 when it cannot run: no data
//! directory, no database, no sync record, a damaged database.

use super::{CliError, Outcome, datadir::Storage};
use alloy_consensus::Header;
use alloy_rlp::Decodable;
use clap::Args;
use snapsync_db::{Headers, TableRead};
use snapsync_snap_sync::{LeafCheck, SyncSummary, check_stored_leaves, stored_summary};
use snapsync_stages::{StageCheckpoint, StageId};
use snapsync_storage::StateRead;
use std::{io::Write, path::PathBuf};

/// Arguments of `snapsync verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The data directory a `snapsync sync` wrote.
    #[arg(long, value_name = "DIR", default_value = "snapsync-data")]
    datadir: PathBuf,
    /// Print exactly one JSON line: {"verified","state_root","expected_root","pivot_block",
    /// "state_block","accounts","storage_slots","storage_root_mismatches"} (`state_block`: the
    /// block whose root is expected, the pivot or the last executed one).
    #[arg(long)]
    json: bool,
}

/// What the check found.
#[derive(Debug)]
struct Verdict {
    summary: SyncSummary,
    /// The block the state is expected at.
    state_block: u64,
    check: LeafCheck,
}

impl Verdict {
    fn verified(&self) -> bool {
        self.summary.is_done() && self.check.matches()
    }

    /// One JSON line with exactly the documented keys; only hex, integers and booleans.
    fn json_line(&self) -> String {
        format!(
            concat!(
                r#"{{"verified":{},"state_root":"{}","expected_root":"{}","pivot_block":{},"#,
                r#""state_block":{},"accounts":{},"storage_slots":{},"storage_root_mismatches":{}}}"#
            ),
            self.verified(),
            self.check.report.state_root,
            self.check.expected_root,
            self.summary.pivot.number,
            self.state_block,
            self.check.report.accounts,
            self.check.report.storage_slots,
            self.check.report.storage_mismatches.len()
        )
    }

    fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.check.report;
        let pivot = &self.summary.pivot;
        writeln!(out, "pivot block       {} ({})", pivot.number, pivot.hash)?;
        if self.state_block != pivot.number {
            writeln!(out, "executed to block {}", self.state_block)?;
        }
        writeln!(out, "accounts          {}", report.accounts)?;
        writeln!(out, "storage slots     {}", report.storage_slots)?;
        writeln!(out, "storage roots     {} mismatching", report.storage_mismatches.len())?;
        writeln!(
            out,
            "bytecodes         {} ({} damaged, {} missing)",
            self.check.codes,
            self.check.damaged_codes.len(),
            self.check.missing_codes.len()
        )?;
        writeln!(out, "expected root     {}", self.check.expected_root)?;
        let verdict = if self.verified() { "verified" } else { "MISMATCH" };
        writeln!(out, "{verdict}: the stored state's root is")?;
        writeln!(out, "{}", report.state_root)
    }

    /// Every reason the state is not verified, for stderr.
    fn write_problems(&self, err: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.check.report;
        if !self.summary.is_done() {
            writeln!(err, "error: the sync has not finished (phase {:?})", self.summary.phase)?;
        }
        if report.state_root != self.check.expected_root {
            writeln!(
                err,
                "error: the stored state's root {} is not the state root {} of block {}'s header",
                report.state_root, self.check.expected_root, self.state_block
            )?;
        }
        if let Some(first) = self.check.damaged_codes.first() {
            writeln!(err, "error: stored codes do not hash to their key (first: {first})")?;
        }
        if let Some(first) = self.check.missing_codes.first() {
            writeln!(err, "error: accounts' codes are not stored (first: {first})")?;
        }
        if let Some(first) = report.storage_mismatches.first() {
            writeln!(
                err,
                "error: {} accounts' slots do not hash to their storage root (first: {}, \
                 stored {}, computed {})",
                report.storage_mismatches.len(),
                first.account,
                first.stored,
                first.computed
            )?;
        }
        if let Some(first) = report.orphan_storages.first() {
            writeln!(
                err,
                "error: {} accounts have slots but no account entry (first: {first})",
                report.orphan_storages.len()
            )?;
        }
        Ok(())
    }
}

/// Runs `verify`.
///
/// # Errors
/// [`CliError::NothingToVerify`] without a data directory, database or sync record;
/// [`CliError::NotADatadir`] for a path that is not a directory; [`CliError::Store`],
/// [`CliError::Corrupt`], [`CliError::Database`] and [`CliError::Sync`] for a damaged database;
/// [`CliError::Output`] when stdout or stderr fail.
pub(crate) fn run(
    args: &VerifyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let storage = Storage::open_read_only(&args.datadir)?;
    if let Some(line) = storage.describe_open() {
        writeln!(err, "{line}")?;
    }
    let view = storage.db.view()?;
    let Some(summary) = stored_summary(&view)? else {
        return Err(CliError::NothingToVerify(format!(
            "{} holds no snap sync record: run `snapsync sync --datadir {}` first",
            storage.label,
            args.datadir.display()
        )));
    };
    let pivot = pivot_header(&view, &summary)?;
    let state = executed_header(&view, &summary, pivot)?;
    let check = check_stored_leaves(&view, state.state_root)?;
    let verdict = Verdict { summary, state_block: state.number, check };
    verdict.write_problems(err)?;
    if args.json {
        writeln!(out, "{}", verdict.json_line())?;
    } else {
        verdict.write_human(out)?;
    }
    Ok(if verdict.verified() { Outcome::Success } else { Outcome::Disagreement })
}

/// The header of the block the stored state is at: the execution stage's checkpoint when it
/// executed past the pivot (the stored headers from there down must link to the pivot's by
/// parent hashes), else the pivot's.
///
/// # Errors
/// [`CliError::Corrupt`] for an undecodable checkpoint, a missing or undecodable header or a
/// broken link.
fn executed_header(
    view: &(impl TableRead + StateRead),
    summary: &SyncSummary,
    pivot: Header,
) -> Result<Header, CliError> {
    let corrupt = |what: String| CliError::Corrupt(what);
    let Some(bytes) = view.checkpoint(StageId::EXECUTION.as_str())? else { return Ok(pivot) };
    let executed = StageCheckpoint::decode(&bytes)
        .map_err(|error| corrupt(format!("the execution checkpoint does not decode: {error}")))?
        .block_number;
    if executed <= summary.pivot.number {
        return Ok(pivot);
    }
    let header_at = |number: u64| -> Result<Header, CliError> {
        let rlp = view.get::<Headers>(&number)?.ok_or_else(|| {
            corrupt(format!("block {number} was executed, but its header is not stored"))
        })?;
        Header::decode(&mut rlp.as_ref())
            .map_err(|error| corrupt(format!("the stored header of block {number}: {error}")))
    };
    let state = header_at(executed)?;
    let mut child = state.clone();
    while child.number > summary.pivot.number + 1 {
        let parent = header_at(child.number - 1)?;
        if parent.hash_slow() != child.parent_hash {
            return Err(corrupt(format!(
                "the stored header of block {} is not the parent of block {}'s",
                parent.number, child.number
            )));
        }
        child = parent;
    }
    if child.parent_hash != summary.pivot.hash {
        return Err(corrupt(format!(
            "the stored header of block {} is not a child of the pivot",
            child.number
        )));
    }
    Ok(state)
}

/// The stored header of the record's pivot, which must hash to the record's pivot hash.
///
/// # Errors
/// [`CliError::Corrupt`] when it is missing, does not decode or has another hash.
fn pivot_header(view: &impl TableRead, summary: &SyncSummary) -> Result<Header, CliError> {
    let pivot = &summary.pivot;
    let Some(rlp) = view.get::<Headers>(&pivot.number)? else {
        return Err(CliError::Corrupt(format!(
            "the sync record names pivot block {}, but its header is not stored",
            pivot.number
        )));
    };
    let header = Header::decode(&mut rlp.as_ref()).map_err(|error| {
        CliError::Corrupt(format!(
            "the stored header of pivot block {} is corrupt: {error}",
            pivot.number
        ))
    })?;
    let hash = header.hash_slow();
    if hash != pivot.hash {
        return Err(CliError::Corrupt(format!(
            "the stored header of pivot block {} hashes to {hash}, not to the sync record's pivot \
             hash {}",
            pivot.number, pivot.hash
        )));
    }
    Ok(header)
}
