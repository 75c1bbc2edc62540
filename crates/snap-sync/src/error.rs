//! Why a configuration was rejected, why no pivot was found, and why the stage stopped.

use std::{fmt, path::PathBuf};

/// Why a [`SnapSyncConfig`](crate::SnapSyncConfig) could not be read, written or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML, or not TOML of this configuration (wrong type, unknown field).
    #[error(transparent)]
    Toml(#[from] TomlError),
    /// The configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The configuration could not be written as TOML (a non-UTF-8 `etl.dir`).
    #[error("cannot write the configuration as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// A setting breaks a rule of [`validate`](crate::SnapSyncConfig::validate).
    #[error("{field} = {value} is invalid: {rule}")]
    Invalid {
        /// The setting, as written in TOML (`section.field`).
        field: &'static str,
        /// Its value.
        value: u64,
        /// The rule it breaks, with the bound it was checked against.
        rule: String,
    },
    /// A `[peers]` or `[fetch]` setting was refused by its own check
    /// ([`PeerSetConfig::validate`](snapsync_fetch::PeerSetConfig::validate),
    /// [`FetchConfig::validate`](snapsync_fetch::FetchConfig::validate)).
    #[error("{field} is invalid: {source}")]
    Setting {
        /// The setting, as written in TOML (`section.field`).
        field: &'static str,
        /// What is wrong with it, with its value and bound.
        source: snapsync_fetch::ConfigError,
    },
    /// A setting of an earlier version: it moved or was renamed.
    #[error("`{old}` is no longer a setting: use `{new}` (durations as strings such as \"2s\")")]
    Renamed {
        /// The old key (`section.field`).
        old: String,
        /// The key that replaced it.
        new: &'static str,
    },
    /// `etl.dir` is set to the empty path.
    #[error("etl.dir is invalid: must not be empty (omit it for <datadir>/etl)")]
    EmptyEtlDir,
}

impl ConfigError {
    /// The setting a validation error names (`section.field`), if it is one.
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } | Self::Setting { field, .. } => Some(field),
            Self::EmptyEtlDir => Some("etl.dir"),
            Self::Toml(_) | Self::Read { .. } | Self::Serialize(_) | Self::Renamed { .. } => None,
        }
    }

    /// A [`Setting`](Self::Setting) error of `section`, its field named as in TOML.
    pub(crate) fn setting(section: &'static str, source: snapsync_fetch::ConfigError) -> Self {
        let name = source.field();
        let field = SECTION_FIELDS
            .iter()
            .find(|full| {
                full.strip_prefix(section).and_then(|rest| rest.strip_prefix('.')) == Some(name)
            })
            .copied()
            .unwrap_or(section);
        Self::Setting { field, source }
    }
}

/// Every `[peers]` and `[fetch]` setting as written in TOML, so errors can name them in full.
const SECTION_FIELDS: [&str; 15] = [
    "peers.min_request_bytes",
    "peers.max_request_bytes",
    "peers.target_round_trip",
    "peers.max_in_flight_per_peer",
    "peers.pipeline_slack",
    "peers.timeout_rtt_multiple",
    "peers.timeout_min",
    "peers.timeout_max",
    "peers.backoff_base",
    "peers.backoff_cap",
    "peers.measurement_impact",
    "fetch.max_attempts",
    "fetch.peer_wait",
    "fetch.idle_poll",
    "fetch.hedge",
];

/// Malformed TOML, or TOML that does not fit the configuration, with where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TomlError {
    /// 1-based line of the offending text, when the parser located it.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the offending text, when located.
    pub column: Option<usize>,
    /// What was wrong (for an unknown field: ``unknown field `name`, expected one of …``).
    pub message: String,
}

impl TomlError {
    /// The error of parsing `source`, located in it.
    pub(crate) fn new(error: &toml::de::Error, source: &str) -> Self {
        let message = error.message().trim_end().to_owned();
        let Some(span) = error.span() else {
            return Self { line: None, column: None, message };
        };
        // Spans are byte offsets; clamp to a char boundary within the text.
        let mut start = span.start.min(source.len());
        while !source.is_char_boundary(start) {
            start -= 1;
        }
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line: Some(line), column: Some(column), message }
    }
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "invalid TOML at line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "invalid TOML at line {line}: {}", self.message),
            _ => write!(f, "invalid TOML: {}", self.message),
        }
    }
}

/// Why no pivot was resolved ([`resolve_pivot`](crate::resolve_pivot)): the fetcher gave up a
/// request for the headers from the tip down to it. Recoverable: peers may deliver later.
#[derive(Debug, thiserror::Error)]
#[error("no peer delivered headers from {hash} (block {number:?}): {source}")]
pub struct PivotError {
    /// The hash the request started from (the tip, or the parent of a verified header).
    pub hash: alloy_primitives::B256,
    /// Its block number, when known.
    pub number: Option<u64>,
    /// Why the fetcher gave up (no peer serves the blocks, none free in time, attempts
    /// exhausted).
    #[source]
    pub source: snapsync_fetch::FetchError,
}

/// Why the snap sync stage could not go on.
///
/// [`is_recoverable`](Self::is_recoverable) tells the pipeline whether retrying can help:
/// network trouble can pass, a corrupt database or a state that fails its final check cannot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapSyncError {
    /// The configuration breaks a rule.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The peer-set settings derived from the configuration were refused.
    #[error("invalid peer-set settings: {0}")]
    PeerSet(#[from] snapsync_fetch::ConfigError),
    /// The ETL directory could not be prepared.
    #[error("cannot prepare the ETL directory {}: {source}", path.display())]
    EtlDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The tip channel closed before a tip arrived.
    #[error("the tip channel closed before a tip was given")]
    TipChannelClosed,
    /// No peer delivered the headers from the tip down to the pivot.
    #[error("choosing the pivot: {0}")]
    Pivot(#[source] Box<PivotError>),
    /// A request of the current phase could not be served by any peer.
    #[error("{phase:?} phase at pivot {pivot}: {source}")]
    Fetch {
        /// The phase.
        phase: crate::SnapPhase,
        /// The pivot block number.
        pivot: u64,
        /// What the fetcher gave up on.
        #[source]
        source: snapsync_fetch::FetchError,
    },
    /// A request task panicked or was cancelled.
    #[error("a request task failed: {reason}")]
    TaskFailed {
        /// What the runtime said.
        reason: String,
    },
    /// The store failed (through the storage seam).
    #[error("database: {0}")]
    Database(#[from] snapsync_storage::StoreError),
    /// Sorting through ETL failed.
    #[error("ETL: {0}")]
    Etl(#[from] snapsync_etl::EtlError),
    /// Recomputing the stored state failed.
    #[error("recomputing the stored state: {0}")]
    State(#[from] snapsync_storage::StateError),
    /// The stage's stored progress record does not decode.
    #[error("the stored snap sync progress is corrupt: {reason}")]
    CorruptState {
        /// What is wrong with it.
        reason: String,
    },
    /// The stored leaves no longer make the state that was verified: the trie nodes stored as
    /// ranges were proven hash to the pivot's root, but the leaves (or codes) stored beside them
    /// do not. The database was damaged after the data was verified; no peer is at fault.
    #[error(
        "the stored state of pivot {pivot} is damaged (local corruption, not a peer's fault): \
         {detail}"
    )]
    StoredStateDamaged {
        /// The pivot block number.
        pivot: u64,
        /// What the re-hash found (see [`LeafCheck`](crate::LeafCheck)).
        detail: String,
    },
    /// Everything was verified and healed towards the pivot's root, yet the stored state's
    /// root is not the pivot's.
    #[error(
        "stored state root {computed} is not pivot {pivot}'s state root {expected}, after healing"
    )]
    RootMismatch {
        /// The pivot block number.
        pivot: u64,
        /// The pivot header's state root.
        expected: alloy_primitives::B256,
        /// The root of the stored state.
        computed: alloy_primitives::B256,
    },
    /// A trie node that hashed to the hash its verified parent references, yet is not a valid
    /// node (its trie is not a Merkle-Patricia trie this stage can store).
    #[error("trie node at path {path:?} (storage of {account:?}) does not decode: {reason}")]
    BadTrieNode {
        /// `None` for the account trie, else the account whose storage trie holds it.
        account: Option<snapsync_primitives::AccountHash>,
        /// Its path.
        path: alloy_trie::Nibbles,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Stored slots disagree with their accounts' storage roots, or have no account.
    #[error(
        "{mismatches} accounts' stored slots do not match their storage root (first: {first:?}); \
         {orphans} accounts have slots but no account entry"
    )]
    InconsistentStorage {
        /// Accounts whose slots' root differs from their `storage_root`.
        mismatches: usize,
        /// The first of them.
        first: Option<snapsync_storage::StorageRootMismatch>,
        /// Accounts with slots but no account entry.
        orphans: usize,
    },
}

impl SnapSyncError {
    /// Whether retrying the step can help (network trouble), as opposed to a broken database,
    /// configuration or state.
    pub const fn is_recoverable(&self) -> bool {
        matches!(self, Self::Fetch { .. } | Self::Pivot(_))
    }

    /// Whether this is a failure of the local store (the database, the ETL spill files, stored
    /// data that does not decode or no longer hashes to what was verified): fatal, and never
    /// blamed on a peer.
    pub const fn is_local(&self) -> bool {
        matches!(
            self,
            Self::Database(_)
                | Self::Etl(_)
                | Self::EtlDir { .. }
                | Self::State(_)
                | Self::CorruptState { .. }
                | Self::StoredStateDamaged { .. }
        )
    }
}

impl From<SnapSyncError> for snapsync_stages::StageError {
    fn from(error: SnapSyncError) -> Self {
        if error.is_local() {
            Self::local(error)
        } else if error.is_recoverable() {
            Self::recoverable(error)
        } else {
            Self::fatal(error)
        }
    }
}
