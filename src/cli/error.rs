//! Why a subcommand could not produce its result.

use snapsync_genesis::GenesisError;
use std::process::ExitCode;

/// Why a subcommand could not produce its result. Every variant exits with code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The input file is missing, unreadable or malformed.
    #[error(transparent)]
    Input(#[from] GenesisError),
    /// The conformance fixture or cases file is missing, unreadable or malformed.
    #[error(transparent)]
    Conformance(#[from] snapsync_conformance::ConformanceError),
    /// The result could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Self::Input(_) | Self::Conformance(_) | Self::Output(_) => ExitCode::from(2),
        }
    }
}
