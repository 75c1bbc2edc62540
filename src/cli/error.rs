//! Why a subcommand could not produce its result.

use snapsync_genesis::GenesisError;
use std::{path::PathBuf, process::ExitCode};

/// Why a subcommand could not produce its result. Every variant exits with code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The input file is missing, unreadable or malformed.
    #[error(transparent)]
    Input(#[from] GenesisError),
    /// The conformance fixture or cases file is missing, unreadable or malformed.
    #[error(transparent)]
    Conformance(#[from] snapsync_conformance::ConformanceError),
    /// The arguments are valid one by one but not together, or ask for what is not supported.
    #[error("{0}")]
    Usage(String),
    /// The `--config` file is unreadable or invalid.
    #[error("--config: {0}")]
    Config(#[from] snapsync_snap_sync::ConfigError),
    /// The data directory cannot be created or read.
    #[error("data directory {}: {source}", path.display())]
    Datadir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The data directory holds no snapsync database, or no sync record.
    #[error("{0}")]
    NothingToVerify(String),
    /// The `--datadir` path exists but is not a directory.
    #[error("{0}")]
    NotADatadir(String),
    /// The data directory's database file cannot be opened, or is damaged.
    #[error("database {}: {source}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// What the storage layer found.
        source: snapsync_db::DbError,
    },
    /// The pipeline stopped on the local store: its database or spill files failed, or stored
    /// data turned out damaged. No peer is at fault.
    #[error("the local store failed (no peer is at fault): {0}")]
    LocalStore(Box<snapsync_stages::PipelineError>),
    /// Stored data no longer is what was verified: the database was damaged afterwards.
    #[error("local corruption: {0}")]
    Damaged(String),
    /// The database contradicts itself (a sync record without its pivot header, say).
    #[error("{0}")]
    Corrupt(String),
    /// The data directory holds a sync of another chain than the one about to be served.
    #[error("{0}")]
    ForeignDatadir(String),
    /// The database failed (cannot be opened, is held by another process, is corrupt).
    #[error("database: {0}")]
    Database(#[from] snapsync_db::DbError),
    /// Recomputing the stored state failed (a corrupt entry).
    #[error("stored state: {0}")]
    State(#[from] snapsync_storage::StateError),
    /// The snap sync stage could not be created, or its stored record is corrupt.
    #[error(transparent)]
    Sync(#[from] snapsync_snap_sync::SnapSyncError),
    /// The pipeline could not be assembled.
    #[error("assembling the pipeline: {0}")]
    StageSet(#[from] snapsync_stages::StageSetError),
    /// The pipeline stopped on its own database or a corrupt checkpoint (not a stage failure).
    #[error("pipeline: {0}")]
    Pipeline(Box<snapsync_stages::PipelineError>),
    /// The genesis file's config or header fields are invalid.
    #[error("--genesis: {0}")]
    ChainSpec(#[from] snapsync_genesis::ChainSpecError),
    /// The chain file could not be imported.
    #[error("--chain: {0}")]
    Import(#[from] snapsync_chain_stages::ChainImportError),
    /// The state could not be imported.
    #[error("--state: {0}")]
    StateImport(#[from] snapsync_db::ImportError),
    /// The store failed (through the storage interface).
    #[error("store: {0}")]
    StoreFailed(#[from] snapsync_storage::StoreError),
    /// The simulated network could not be built.
    #[error("building the simulated network: {0}")]
    Scenario(#[from] snapsync_sim::ScenarioError),
    /// The simulated chain's blocks could not be built.
    #[error("building the simulated chain: {0}")]
    Chain(#[from] snapsync_sim::ExecutedChainError),
    /// `--metrics-file`: the recorder could not be installed or the file written.
    #[error("metrics file {}: {reason}", path.display())]
    MetricsFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The peer network failed to start (an address that cannot be listened on) or no peer
    /// could be connected.
    #[error("network: {0}")]
    Network(#[from] snapsync_devp2p::NetworkError),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The result could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(2)
    }
}
