//! `snapsync conformance --fixture DIR --cases FILE`: the hive snap/1 cases against snapsync's
//! server on the fixture's states.
//!
//! Prints one line per failed case (`FAIL <name>: <what differed>`) and ends with
//! `N passed, M failed`. Exits 0 when every case passed, 1 when one failed, 2 when the fixture or
//! the cases file is unusable (the message names the file, and for a case its name and field).

use super::{CliError, Outcome};
use clap::Args;
use snapsync_conformance::{CaseFile, Fixture};
use std::{io::Write, path::PathBuf};

/// Arguments of `snapsync conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The fixture directory: headstate.json (the "head" state), and optionally genesis.json
    /// (the "genesis" state) and headblock.json.
    #[arg(long)]
    fixture: PathBuf,
    /// The cases file (snap-cases.json format).
    #[arg(long)]
    cases: PathBuf,
}

/// Runs `conformance`.
///
/// # Errors
/// [`CliError::Conformance`] when the cases file or the fixture is unusable;
/// [`CliError::Output`] when stdout or stderr fail.
pub(crate) fn run(
    args: &ConformanceArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let cases = CaseFile::load(&args.cases)?;
    let fixture = Fixture::load(&args.fixture)?;
    for note in fixture.notes() {
        writeln!(err, "note: {note}")?;
    }
    let report = snapsync_conformance::run(&fixture, &cases)?;
    for line in report.failure_lines() {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}", report.summary())?;
    Ok(if report.failed() == 0 { Outcome::Success } else { Outcome::Disagreement })
}
