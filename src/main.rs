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

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod cli;

// The library's crates the binary does not name: it uses the workspace crates directly.
use {
    snapsync as _, snapsync_etl as _, snapsync_fetch as _, snapsync_net as _,
    snapsync_primitives as _, snapsync_server as _, snapsync_storage as _, snapsync_trie as _,
};

use clap::Parser;

/// mimalloc rather than the system allocator. With glibc every thread that allocates gets an
/// arena of its own (up to eight per core) that keeps what was freed in it; the pipeline's
/// execute and commit run on tokio's blocking threads, so peak memory rose by a quarter
/// (1.22 GB against 0.95 GB for a 150k-account sync). mimalloc hands freed pages back and
/// bounds that at 0.88 GB, no slower. Only the binary sets an allocator: the library leaves it
/// to the embedder (docs/embedding.md, "Threads").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::{io::Write, process::ExitCode};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    quiet_contained_panics();
    init_logging();
    // Not locked for the run: log events (`RUST_LOG`) come from other threads and lock it per line.
    let mut stderr = std::io::stderr();
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

/// Sends the library's `tracing` events to stderr when `RUST_LOG` asks for them (for example
/// `RUST_LOG=sync::snap=debug`, or `RUST_LOG=info`; the targets are listed in the README). Without it nothing is
/// logged: the commands' own output is the report. A filter that does not parse is reported and
/// ignored.
fn init_logging() {
    let Ok(filter) = std::env::var("RUST_LOG") else { return };
    match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(filter) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        Err(error) => eprintln!("warning: RUST_LOG={filter:?} ignored: {error}"),
    }
}

/// Fails when stdout cannot carry the result: file descriptor 1 closed (the Rust runtime then
/// puts `/dev/null` there, opened read-write, and everything written to it is lost without an
/// error) or unusable. A pipe whose reader has gone fails later, at the write, with `EPIPE`.
/// Redirecting stdout to `/dev/null` on purpose (write-only, as shells do) is not an error.
fn stdout_is_open() -> Result<(), cli::CliError> {
    let closed = |detail: String| {
        cli::CliError::Output(std::io::Error::other(format!(
            "stdout is closed, so the result would be lost ({detail})"
        )))
    };
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Err(error) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Err(closed(error.to_string()));
        }
    }
    #[cfg(target_os = "linux")]
    if stdout_was_closed_at_start() {
        return Err(closed("file descriptor 1 was not open when snapsync started".to_owned()));
    }
    Ok(())
}

/// Whether fd 1 is `/dev/null` opened read-write: what the Rust runtime puts in place of a
/// standard descriptor that was closed when the process started.
#[cfg(target_os = "linux")]
fn stdout_was_closed_at_start() -> bool {
    const O_ACCMODE: u32 = 0o3;
    const O_RDWR: u32 = 0o2;
    let is_dev_null = std::fs::read_link("/proc/self/fd/1")
        .is_ok_and(|target| target == std::path::Path::new("/dev/null"));
    let read_write = std::fs::read_to_string("/proc/self/fdinfo/1").is_ok_and(|info| {
        info.lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
            .is_some_and(|flags| flags & O_ACCMODE == O_RDWR)
    });
    is_dev_null && read_write
}

/// Keeps the panic hook quiet for panics the storage layer contains: redb indexes out of bounds
/// on a damaged database file, and the redb backend turns that into a "database corrupted"
/// error, which is what the user sees. Every other panic is reported as usual.
fn quiet_contained_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !snapsync_db::panic_is_contained() {
            default(info);
        }
    }));
}
