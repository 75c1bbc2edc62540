//! The subcommands of the `snapsync` binary, one module each, and what they share: the argument
//! parser, the error type and the mapping of outcomes to exit codes.
//!
//! A subcommand is a function from its arguments and two writers (stdout, stderr) to an
//! [`Outcome`] or a [`CliError`], so it never exits the process itself and can be driven from
//! tests.

mod blocktest;
mod conformance;
mod datadir;
mod error;
mod import;
mod serve;
mod state_root;
mod sync;
mod verify;

pub(crate) use error::CliError;

use clap::{Parser, Subcommand};
use std::{io::Write, process::ExitCode};

/// Verified snap/1 state sync for Ethereum execution clients.
#[derive(Debug, Parser)]
#[command(name = "snapsync", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the state root of a genesis file or a geth state dump.
    StateRoot(state_root::StateRootArgs),
    /// Run hive's snap/1 conformance cases against snapsync's server on a fixture's states.
    Conformance(conformance::ConformanceArgs),
    /// Snap-sync a state from simulated peers into a database, verified against the pivot.
    Sync(Box<sync::SyncArgs>),
    /// Recompute a synced database's state root and compare it with its pivot header's.
    Verify(verify::VerifyArgs),
    /// Store a chain (genesis file and RLP blocks) and optionally its head state, each checked.
    Import(import::ImportArgs),
    /// Run ethereum/tests BlockchainTests files or directories through the executor.
    Blocktest(blocktest::BlocktestArgs),
    /// Serve a data directory to real peers over RLPx (snap/1 and eth) until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
}

impl Cli {
    /// Runs the chosen subcommand, writing its results to `out` and diagnostics to `err`.
    ///
    /// # Errors
    /// Whatever kept the subcommand from producing its result.
    pub(crate) fn run(self, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, CliError> {
        match self.command {
            Command::StateRoot(args) => state_root::run(&args, out, err),
            Command::Conformance(args) => conformance::run(&args, out, err),
            Command::Sync(args) => sync::run(&args, out, err),
            Command::Verify(args) => verify::run(&args, out, err),
            Command::Import(args) => import::run(&args, out, err),
            Command::Blocktest(args) => blocktest::run(&args, out, err),
            Command::Serve(args) => serve::run(&args, out, err),
        }
    }
}

/// How a subcommand that produced its result ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked out: exit code 0.
    Success,
    /// The result was printed, but a check failed: exit code 1.
    Disagreement,
}

impl Outcome {
    /// The process exit code for this outcome.
    pub(crate) fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::Disagreement => ExitCode::from(1),
        }
    }
}
