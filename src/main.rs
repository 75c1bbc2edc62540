//! The `snapsync` command-line tool.
//!
//! Exit codes are shared by every subcommand:
//! - `0`: the command ran and everything checked out;
//! - `1`: the command ran and printed its result, but found a disagreement (for `state-root`: the
//!   file's own roots or hashes differ from the computed ones; for `sync`: the network could not
//!   deliver a verified state);
//! - `2`: the command could not run: bad arguments, a missing, unreadable or malformed input, a
//!   damaged or failing local store (database or spill files, a full disk), or output that could
//!   not be written. Nothing on stdout is to be trusted then.

mod cli;

use clap::Parser;
use std::{io::Write, process::ExitCode};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    quiet_contained_panics();
    let mut stderr = std::io::stderr().lock();
    if let Err(error) = stdout_is_open() {
        let _ = writeln!(stderr, "error: {error}");
        return error.exit_code();
    }
    let mut stdout = std::io::stdout().lock();
    let result = cli.run(&mut stdout, &mut stderr).and_then(|outcome| {
        stdout.flush()?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            // Nothing better to do if stderr itself is gone.
            let _ = writeln!(stderr, "error: {error}");
            error.exit_code()
        }
    }
}

/// Fails when file descriptor 1 is closed: Rust's stdout then silently discards what is written
/// to it (it treats `EBADF` as success), and a result nobody can read must not pass for one
/// delivered.
fn stdout_is_open() -> Result<(), cli::CliError> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        std::io::stdout().as_fd().try_clone_to_owned().map_err(|error| {
            cli::CliError::Output(std::io::Error::new(
                error.kind(),
                format!("stdout is closed, so the result would be lost ({error})"),
            ))
        })?;
    }
    Ok(())
}

/// Keeps the panic hook quiet for panics inside redb: the storage layer contains those (a
/// damaged database file makes redb index out of bounds) and turns them into a "database
/// corrupted" error, which is what the user sees. Every other panic is reported as usual.
fn quiet_contained_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_redb = info.location().is_some_and(|location| {
            let file = location.file();
            file.contains("/redb-") || file.contains("\\redb-")
        });
        if !in_redb {
            default(info);
        }
    }));
}
