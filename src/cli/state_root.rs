//! `snapsync state-root [--json] FILE`: the state root of a genesis file or geth state dump.
//!
//! The computed root is always the last line on stdout. Claims of the file that disagree with its
//! data (a dump's per-account `root`/`codeHash`/`key`, its top-level `root`, a genesis file's
//! `stateRoot`) are reported on stderr and make the exit code 1; values taken from the file
//! unverified (a dump without storage or code) are noted on stderr.

use super::{CliError, Outcome};
use clap::Args;
use snapsync_genesis::{ClaimCheck, ClaimMismatch, Format, StateFile, StateRootReport};
use std::{io::Write, path::PathBuf};

/// At most this many per-account disagreements are listed; the rest are counted.
const MAX_LISTED_MISMATCHES: usize = 20;

/// Arguments of `snapsync state-root`.
#[derive(Debug, Args)]
pub(crate) struct StateRootArgs {
    /// Print exactly one JSON line:
    /// {"state_root":"0x…","accounts":N,"storage_slots":N,"bytecodes":N}.
    #[arg(long)]
    json: bool,
    /// A genesis file (geth or reth style, with "alloc") or a geth state dump (with "accounts").
    file: PathBuf,
}

/// Runs `state-root`.
///
/// # Errors
/// [`CliError::Input`] when the file cannot be read or is malformed (the message names the
/// account and field at fault); [`CliError::Output`] when stdout or stderr fail.
pub(crate) fn run(
    args: &StateRootArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let file = StateFile::load(&args.file)?;
    let check = file.check_claims()?;
    write_diagnostics(&check, err)?;
    let report = &check.report;
    if args.json {
        writeln!(out, "{}", json_line(report))?;
    } else {
        writeln!(out, "{}", summary_line(file.format(), report))?;
        writeln!(out, "{}", report.state_root)?;
    }
    Ok(if check.is_consistent() { Outcome::Success } else { Outcome::Disagreement })
}

/// `{"state_root":"0x…","accounts":N,"storage_slots":N,"bytecodes":N}`. Only hex and integers,
/// so nothing needs escaping.
fn json_line(report: &StateRootReport) -> String {
    let counts = &report.counts;
    format!(
        r#"{{"state_root":"{}","accounts":{},"storage_slots":{},"bytecodes":{}}}"#,
        report.state_root, counts.accounts, counts.storage_slots, counts.bytecodes
    )
}

/// E.g. `state dump: 194 accounts, 2164 storage slots, 9 bytecodes; matches the file's "root"`.
fn summary_line(format: Format, report: &StateRootReport) -> String {
    let counts = &report.counts;
    let mut line = format!(
        "{format}: {} accounts, {} storage slots, {} bytecodes",
        counts.accounts, counts.storage_slots, counts.bytecodes
    );
    if report.claimed_root_matches() == Some(true) {
        line.push_str(&format!("; matches the file's \"{}\"", format.root_field()));
    }
    line
}

/// Writes every contradicted claim (the accounts' as warnings, the root's as an error) and every
/// unverified value to `err`.
fn write_diagnostics(check: &ClaimCheck, err: &mut dyn Write) -> std::io::Result<()> {
    let (accounts, roots): (Vec<&ClaimMismatch>, Vec<&ClaimMismatch>) =
        check.mismatches.iter().partition(|mismatch| matches!(mismatch, ClaimMismatch::Account(_)));
    for mismatch in accounts.iter().take(MAX_LISTED_MISMATCHES) {
        writeln!(err, "warning: {mismatch}")?;
    }
    if let Some(more) = accounts.len().checked_sub(MAX_LISTED_MISMATCHES)
        && more > 0
    {
        writeln!(err, "warning: … and {more} more accounts whose claims disagree with their data")?;
    }
    let report = &check.report;
    if report.storage_roots_from_file > 0 {
        writeln!(
            err,
            "note: {} accounts list no storage; their storage roots were taken from their \"root\" \
             fields, unverified",
            report.storage_roots_from_file
        )?;
    }
    if report.code_hashes_from_file > 0 {
        writeln!(
            err,
            "note: {} accounts list no code; their code hashes were taken from their \"codeHash\" \
             fields, unverified",
            report.code_hashes_from_file
        )?;
    }
    for root in roots {
        writeln!(err, "error: {root}")?;
    }
    Ok(())
}
