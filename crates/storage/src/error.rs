//! [`StoreError`]: how a state store fails.
//!
//! Every variant is a failure of the **local** store: nothing a peer sent can cause one (peer
//! data is verified before it is written), so callers report them as "the local store failed"
//! rather than blaming a peer.

use std::fmt;

/// A boxed error from a backend or an entry source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which collection of the state store an entry belongs to, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// Accounts by hash.
    Accounts,
    /// Storage slots by (account hash, slot hash).
    Slots,
    /// Contract codes by code hash.
    Codes,
    /// Account-trie nodes by path.
    AccountNodes,
    /// Storage-trie nodes by (account hash, path).
    StorageNodes,
    /// Block headers by number.
    Headers,
    /// Block numbers by header hash.
    HeaderNumbers,
    /// Block bodies by number.
    Bodies,
    /// Stage checkpoints by stage id.
    Checkpoints,
    /// Sync progress records by key.
    Progress,
    /// A collection of the backend's own (a client's table), by its name.
    Other(&'static str),
}

impl Collection {
    /// Every collection of the interface, in a fixed order.
    pub const ALL: [Self; 10] = [
        Self::Accounts,
        Self::Slots,
        Self::Codes,
        Self::AccountNodes,
        Self::StorageNodes,
        Self::Headers,
        Self::HeaderNumbers,
        Self::Bodies,
        Self::Checkpoints,
        Self::Progress,
    ];

    /// A short lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Slots => "storage slots",
            Self::Codes => "codes",
            Self::AccountNodes => "account-trie nodes",
            Self::StorageNodes => "storage-trie nodes",
            Self::Headers => "headers",
            Self::HeaderNumbers => "header numbers",
            Self::Bodies => "bodies",
            Self::Checkpoints => "stage checkpoints",
            Self::Progress => "progress records",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A state-store failure. All of them are local (see the module docs).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, a full disk, a lock, a damaged file); `source` is the backend's
    /// own error, so a caller that knows the backend can downcast it.
    #[error("{backend} store failed: {source}")]
    Backend {
        /// The backend's name (`"redb"`, `"memory"`, a client's own).
        backend: &'static str,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The backend reports its own data damaged (a failed checksum, a broken page).
    #[error("{backend} store is damaged: {detail}")]
    Damaged {
        /// The backend's name.
        backend: &'static str,
        /// What the backend reported.
        detail: String,
    },
    /// A stored entry cannot be decoded: the store is damaged.
    #[error("corrupt entry in {collection} at key {key}: {reason}")]
    Corrupt {
        /// Where the entry is.
        collection: Collection,
        /// The entry's key, hex or decimal.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A sorted append received a key that does not sort after its predecessor: a bug in the
    /// caller, never peer data.
    #[error("sorted append into {collection}: key {key} does not sort after {previous}")]
    Unsorted {
        /// The collection appended to.
        collection: Collection,
        /// The previous key.
        previous: String,
        /// The offending key.
        key: String,
    },
    /// A zero storage slot was offered to a sorted append (zero slots are never stored: a
    /// single put of zero deletes instead).
    #[error(
        "sorted append into {collection}: key {key} carries a zero value (zero is never stored)"
    )]
    ZeroValue {
        /// The collection appended to.
        collection: Collection,
        /// The offending key.
        key: String,
    },
    /// The source of a sorted append (an ETL collector's merge, a file) failed.
    #[error("sorted append into {collection}: the entry source failed: {source}")]
    Source {
        /// The collection appended to.
        collection: Collection,
        /// The source's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// A backend failure.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend { backend, source: source.into() }
    }

    /// A source failure during a sorted append into `collection`.
    pub fn source(collection: Collection, source: impl Into<BoxError>) -> Self {
        Self::Source { collection, source: source.into() }
    }

    /// Whether the store holds damaged data (as opposed to failing to reach it or a caller's
    /// bug), as far as the interface knows: a backend's own corruption reports travel inside
    /// [`StoreError::Backend`], where only a caller that knows the backend can downcast them.
    pub const fn is_corruption(&self) -> bool {
        matches!(self, Self::Corrupt { .. } | Self::Damaged { .. })
    }

    /// Always true: every store failure is local, no peer is at fault. Present so callers
    /// mapping errors to "local" or "peer" say so explicitly.
    pub const fn is_local(&self) -> bool {
        true
    }
}

/// Errors of the trie passes over the stored state ([`compute_state_root`](crate::compute_state_root),
/// [`rebuild_state_trie`](crate::rebuild_state_trie)).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building a trie failed: the stored leaves are not a valid trie input, or the node sink
    /// failed. `account` is `None` for the account trie.
    #[error("building the {} trie failed: {source}", account.map_or_else(|| "account".to_owned(), |a| format!("storage of account {a}")))]
    Trie {
        /// The account whose storage trie was being built, `None` for the account trie.
        account: Option<snapsync_primitives::AccountHash>,
        /// The builder's error.
        #[source]
        source: snapsync_trie::TrieBuildError,
    },
    /// Sorting the trie nodes through an ETL collector failed.
    #[error("sorting {collection} failed: {source}")]
    Etl {
        /// The collection being sorted for.
        collection: Collection,
        /// The collector's error.
        #[source]
        source: snapsync_etl::EtlError,
    },
}

impl StateError {
    /// Whether this error shows damaged stored data: a corrupt entry, or stored leaves that are
    /// not a valid trie input (which the store's order and typed values rule out unless its
    /// data was damaged).
    pub const fn is_corruption(&self) -> bool {
        match self {
            Self::Store(error) => error.is_corruption(),
            Self::Trie { source, .. } => !matches!(source, snapsync_trie::TrieBuildError::Sink(_)),
            Self::Etl { .. } => false,
        }
    }
}
