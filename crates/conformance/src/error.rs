//! Why a fixture or a cases file is unusable.

use snapsync_db::ImportError;
use snapsync_genesis::GenesisError;
use std::path::PathBuf;

/// Why the conformance run could not start: a fixture or cases file that is missing, unreadable
/// or malformed. Every variant names the file, and for a case its name and field.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A state file (genesis or dump) could not be read or is incomplete.
    #[error("{}: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<GenesisError>,
    },
    /// A state could not be imported.
    #[error("{}: cannot import the state: {source}", path.display())]
    Import {
        /// The state file.
        path: PathBuf,
        /// The importer's error.
        #[source]
        source: Box<ImportError>,
    },
    /// An imported state could not be served (its stored root disagrees with its import).
    #[error("cannot serve an imported state: {0}")]
    Serve(#[source] Box<snapsync_server::AddStateError>),
    /// A case names a state the fixture does not have.
    #[error("case {case}: field \"root\": {reason}")]
    UnknownState {
        /// The case's name.
        case: String,
        /// Why the name does not resolve.
        reason: String,
    },
    /// A top-level field of a fixture or cases file is missing or invalid.
    #[error("{}: field \"{field}\": {reason}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A case is missing a field or has an invalid one.
    #[error("case {case}: field \"{field}\": {reason}")]
    Case {
        /// The case's name, or `#index` when it has none.
        case: String,
        /// The field, as a JSON path within the case (`expect.slots[0][1].hash`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<snapsync_server::AddStateError> for ConformanceError {
    fn from(error: snapsync_server::AddStateError) -> Self {
        Self::Serve(Box::new(error))
    }
}
