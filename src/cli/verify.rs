//! `snapsync verify [--datadir DIR] [--json]`: checks a synced data directory without trusting the
//! sync.
//!
//! Reopens the redb database, reads the snap sync record (which pivot), reads the pivot header
//! from `Headers`, and recomputes the state root and every storage root from the stored leaves
//! with `compute_state_root`, independently of the stage. Verified when the sync finished, the
//! header is the record's pivot, the recomputed root is the header's state root, and every
//! account's slots hash to its storage root.
//!
//! Exit 0 verified, 1 a mismatch (or an unfinished sync), 2 when it cannot run: no data
//! directory, no database, no sync record, a corrupt database.

use super::{CliError, Outcome, datadir::Storage};
use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use clap::Args;
use snapsync_db::{Headers, StateReport, TableRead, compute_state_root};
use snapsync_snap_sync::{SyncSummary, stored_summary};
use std::{io::Write, path::PathBuf};

/// Arguments of `snapsync verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The data directory a `snapsync sync` wrote.
    #[arg(long, value_name = "DIR", default_value = "snapsync-data")]
    datadir: PathBuf,
    /// Print exactly one JSON line: {"verified","state_root","expected_root","pivot_block",
    /// "accounts","storage_slots","storage_root_mismatches"}.
    #[arg(long)]
    json: bool,
}

/// What the check found.
#[derive(Debug)]
struct Verdict {
    summary: SyncSummary,
    expected_root: B256,
    report: StateReport,
}

impl Verdict {
    fn verified(&self) -> bool {
        self.summary.is_done()
            && self.report.state_root == self.expected_root
            && self.report.is_consistent()
    }

    /// One JSON line with exactly the documented keys; only hex, integers and booleans.
    fn json_line(&self) -> String {
        format!(
            concat!(
                r#"{{"verified":{},"state_root":"{}","expected_root":"{}","pivot_block":{},"#,
                r#""accounts":{},"storage_slots":{},"storage_root_mismatches":{}}}"#
            ),
            self.verified(),
            self.report.state_root,
            self.expected_root,
            self.summary.pivot.number,
            self.report.accounts,
            self.report.storage_slots,
            self.report.storage_mismatches.len()
        )
    }

    fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.report;
        let pivot = &self.summary.pivot;
        writeln!(out, "pivot block       {} ({})", pivot.number, pivot.hash)?;
        writeln!(out, "accounts          {}", report.accounts)?;
        writeln!(out, "storage slots     {}", report.storage_slots)?;
        writeln!(out, "storage roots     {} mismatching", report.storage_mismatches.len())?;
        writeln!(out, "expected root     {}", self.expected_root)?;
        let verdict = if self.verified() { "verified" } else { "MISMATCH" };
        writeln!(out, "{verdict}: the stored state's root is")?;
        writeln!(out, "{}", report.state_root)
    }

    /// Every reason the state is not verified, for stderr.
    fn write_problems(&self, err: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.report;
        if !self.summary.is_done() {
            writeln!(err, "error: the sync has not finished (phase {:?})", self.summary.phase)?;
        }
        if report.state_root != self.expected_root {
            writeln!(
                err,
                "error: the stored state's root {} is not the pivot header's state root {}",
                report.state_root, self.expected_root
            )?;
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
/// [`CliError::Corrupt`], [`CliError::Database`], [`CliError::State`] and [`CliError::Sync`]
/// for a corrupt database; [`CliError::Output`] when stdout or stderr fail.
pub(crate) fn run(
    args: &VerifyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let storage = Storage::open_existing(&args.datadir)?;
    let view = storage.db.view()?;
    let Some(summary) = stored_summary(&view)? else {
        return Err(CliError::NothingToVerify(format!(
            "{} holds no snap sync record: run `snapsync sync --datadir {}` first",
            storage.label,
            args.datadir.display()
        )));
    };
    let expected_root = pivot_header(&view, &summary)?.state_root;
    let report = compute_state_root(&view)?;
    let verdict = Verdict { summary, expected_root, report };
    verdict.write_problems(err)?;
    if args.json {
        writeln!(out, "{}", verdict.json_line())?;
    } else {
        verdict.write_human(out)?;
    }
    Ok(if verdict.verified() { Outcome::Success } else { Outcome::Disagreement })
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
