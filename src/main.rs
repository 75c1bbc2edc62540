//! The `snapsync` command-line tool.
//!
//! Exit codes are shared by every subcommand:
//! - `0`: the command ran and everything checked out;
//! - `1`: the command ran and printed its result, but found a disagreement (for `state-root`: the
//!   file's own roots or hashes differ from the computed ones);
//! - `2`: the command could not run: bad arguments, a missing, unreadable or malformed input, or
//!   output that could not be written. Nothing on stdout is to be trusted then.

mod cli;

use clap::Parser;
use std::{io::Write, process::ExitCode};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match cli.run(&mut stdout, &mut stderr) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            // Nothing better to do if stderr itself is gone.
            let _ = writeln!(stderr, "error: {error}");
            error.exit_code()
        }
    }
}
