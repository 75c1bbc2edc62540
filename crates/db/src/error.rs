//! Errors of the storage layer.
//!
//! Every variant names what failed and where: the operation, the table, and (hex) the key, so a
//! log line alone tells which entry of which table to look at.

use std::{fmt, path::PathBuf};

/// A boxed error from a backend or an entry source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the database was doing when a backend failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Opening the database.
    Open,
    /// Starting a read transaction.
    BeginRead,
    /// Starting a write transaction.
    BeginWrite,
    /// Opening (or creating) a table.
    OpenTable,
    /// A point read.
    Get,
    /// An ordered range read.
    Range,
    /// Inserting or replacing one entry.
    Put,
    /// Removing one entry.
    Delete,
    /// Removing every entry of a table.
    Clear,
    /// A sorted bulk insertion.
    Append,
    /// Changing a write transaction's durability.
    SetDurability,
    /// Committing a write transaction.
    Commit,
    /// Checking the integrity of the file.
    Check,
    /// Reading space statistics.
    Stats,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::BeginRead => "begin read",
            Self::BeginWrite => "begin write",
            Self::OpenTable => "open table",
            Self::Get => "get",
            Self::Range => "range",
            Self::Put => "put",
            Self::Delete => "delete",
            Self::Clear => "clear",
            Self::Append => "append",
            Self::SetDurability => "set durability",
            Self::Commit => "commit",
            Self::Check => "integrity check",
            Self::Stats => "stats",
        })
    }
}

/// Why stored bytes could not be decoded into a key or value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes have the wrong length for the type.
    #[error("expected {expected}, got {got} bytes")]
    Length {
        /// The length the type needs, in words (`"32 bytes"`, `"at most 64 nibbles"`).
        expected: &'static str,
        /// The length found.
        got: usize,
    },
    /// A nibble path byte is not a nibble (0..=15).
    #[error("byte {byte:#04x} at index {index} of a nibble path is not a nibble")]
    Nibble {
        /// Position of the byte.
        index: usize,
        /// The byte.
        byte: u8,
    },
    /// The value is not the strict RLP encoding of its type.
    #[error("invalid RLP: {0}")]
    Rlp(#[from] snapsync_primitives::DecodeError),
    /// A trimmed big-endian integer has a leading zero byte, or is empty (zero is never stored).
    #[error("integer is not minimally encoded (empty or with a leading zero byte)")]
    NonCanonicalInteger,
    /// A string key is not UTF-8.
    #[error("not UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database file could not be opened or created.
    #[error("cannot open database at {}: {source}", path.display())]
    Open {
        /// Path of the database file.
        path: PathBuf,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// A write was asked of a database opened read-only.
    #[error("database {} is open read-only", path.display())]
    ReadOnly {
        /// Path of the database file.
        path: PathBuf,
    },
    /// The backend failed an operation.
    #[error("{backend}: {operation} failed{}: {source}", table.map(|t| format!(" on table {t}")).unwrap_or_default())]
    Backend {
        /// The backend's name (`"redb"`, `"memory"`).
        backend: &'static str,
        /// What was being done.
        operation: Operation,
        /// The table involved, if any.
        table: Option<&'static str>,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// A stored key does not decode as the table's key type.
    #[error("corrupt key {key} in table {table}: {reason}")]
    CorruptKey {
        /// The table.
        table: &'static str,
        /// The stored key, hex.
        key: String,
        /// What is wrong with it.
        reason: DecodeError,
    },
    /// A stored value does not decode as the table's value type.
    #[error("corrupt value in table {table} at key {key}: {reason}")]
    CorruptValue {
        /// The table.
        table: &'static str,
        /// The key, hex.
        key: String,
        /// What is wrong with the value.
        reason: DecodeError,
    },
    /// A sorted bulk insertion received a key that is not greater than the one before it.
    #[error("sorted append into {table}: key {key} does not sort after {previous}")]
    Unsorted {
        /// The table.
        table: &'static str,
        /// The previous key, hex.
        previous: String,
        /// The offending key, hex.
        key: String,
    },
    /// A copy of a database's tables found the target table holding entries already.
    #[error("copying into {table}: the target already holds {entries} entries")]
    NotEmpty {
        /// The table.
        table: &'static str,
        /// The entries it holds.
        entries: u64,
    },
    /// A sorted bulk insertion received a value that means "absent" (a zero storage slot), which
    /// is never stored.
    #[error("sorted append into {table}: key {key} carries an absent value (zero is never stored)")]
    AbsentValue {
        /// The table.
        table: &'static str,
        /// The key, hex.
        key: String,
    },
    /// The stored data is damaged: the backend found a checksum or structure that does not hold,
    /// or failed inside itself on the file's contents (a contained panic). Nothing read from this
    /// handle afterwards is trusted: every later operation fails the same way.
    #[error("database corrupted ({backend}, {operation}{}): {detail}", table.map(|t| format!(" on table {t}")).unwrap_or_default())]
    Corrupted {
        /// The backend's name.
        backend: &'static str,
        /// What was being done when the damage showed.
        operation: Operation,
        /// The table involved, if any.
        table: Option<&'static str>,
        /// What the backend said.
        detail: String,
    },
    /// The source of a bulk insertion failed.
    #[error("sorted append into {table}: the entry source failed: {source}")]
    Source {
        /// The table.
        table: &'static str,
        /// The source's error.
        #[source]
        source: BoxError,
    },
}

impl DbError {
    /// A backend failure of `operation` on `table`.
    pub fn backend(
        backend: &'static str,
        operation: Operation,
        table: Option<&'static str>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Backend { backend, operation, table, source: source.into() }
    }

    /// Whether this error shows damaged stored data ([`Corrupted`](Self::Corrupted),
    /// [`CorruptKey`](Self::CorruptKey), [`CorruptValue`](Self::CorruptValue)), as opposed to a
    /// failing operation (I/O, a full disk, a lock held by another process) or a caller's
    /// mistake.
    pub const fn is_corruption(&self) -> bool {
        matches!(self, Self::Corrupted { .. } | Self::CorruptKey { .. } | Self::CorruptValue { .. })
    }
}

/// Hex of a key or value for error messages, `0x`-prefixed.
pub(crate) fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode_prefixed(bytes)
}

/// Errors of [`import_state`](crate::import_state).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading or writing the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Sorting through an ETL collector or building a trie failed.
    #[error(transparent)]
    State(#[from] snapsync_storage::StateError),
    /// The database already holds state: an import only fills an empty one.
    #[error("cannot import into a database whose table {table} is not empty")]
    NotEmpty {
        /// The first non-empty state table found.
        table: &'static str,
    },
    /// Two accounts of the input have the same hash.
    #[error("account {hash} is listed more than once")]
    DuplicateAccount {
        /// The repeated account hash.
        hash: snapsync_primitives::AccountHash,
    },
    /// One account of the input lists the same storage slot twice.
    #[error("account {account}: storage slot {slot} is listed more than once")]
    DuplicateSlot {
        /// The account.
        account: snapsync_primitives::AccountHash,
        /// The repeated slot hash.
        slot: snapsync_primitives::SlotHash,
    },
}
