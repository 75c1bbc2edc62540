//! The errors of block execution, each naming the block and what disagreed.
//!
//! A block is either *invalid* ([`BlockError::Invalid`]: its header breaks a consensus rule, a
//! transaction cannot be included, its body does not match its header) or *disagrees* with
//! its own execution ([`BlockError::Mismatch`]: gas used, receipts root, logs bloom, requests
//! hash, blob gas used or state root differ from the header). Either way nothing of the block
//! is written: the executor computes every check before the first write, and the state root
//! (the one check that needs the writes) is checked in the caller's transaction, which the
//! caller drops. Store failures are [`BlockError::Store`] / [`BlockError::State`]: local, not
//! the block's fault.

use alloy_primitives::B256;
use snapsync_storage::{StateError, StoreError};
use std::fmt;

/// The header field a block's execution disagreed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderField {
    /// `gasUsed`.
    GasUsed,
    /// `receiptsRoot`.
    ReceiptsRoot,
    /// `logsBloom`.
    LogsBloom,
    /// `requestsHash` (EIP-7685).
    RequestsHash,
    /// `blobGasUsed` (EIP-4844).
    BlobGasUsed,
    /// `stateRoot`.
    StateRoot,
}

impl HeaderField {
    /// The field's name as in a JSON header.
    pub const fn name(self) -> &'static str {
        match self {
            Self::GasUsed => "gasUsed",
            Self::ReceiptsRoot => "receiptsRoot",
            Self::LogsBloom => "logsBloom",
            Self::RequestsHash => "requestsHash",
            Self::BlobGasUsed => "blobGasUsed",
            Self::StateRoot => "stateRoot",
        }
    }
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a block was not executed, or not committed.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The block's execution disagrees with its header.
    #[error("block {number} ({hash}): {field} is {expected} in the header, execution gives {got}")]
    Mismatch {
        /// The block number.
        number: u64,
        /// The block hash.
        hash: B256,
        /// The disagreeing field.
        field: HeaderField,
        /// The header's value.
        expected: String,
        /// The executed value.
        got: String,
    },
    /// The block breaks a rule of the chain (header, body or a transaction).
    #[error("block {number} ({hash}) is invalid: {reason}")]
    Invalid {
        /// The block number.
        number: u64,
        /// The block hash.
        hash: B256,
        /// The rule it breaks.
        reason: String,
    },
    /// The block's parent is not the block the state is at.
    #[error(
        "block {number}'s parent {parent} is not the state's block {state_block} ({state_hash})"
    )]
    NotNext {
        /// The block number.
        number: u64,
        /// Its parent hash.
        parent: B256,
        /// The block the state is at.
        state_block: u64,
        /// That block's hash.
        state_hash: B256,
    },
    /// Execution failed inside: a store read through the EVM's database failed, or a header
    /// BLOCKHASH needs is not stored.
    #[error("executing block {number} failed: {reason}")]
    Internal {
        /// The block number.
        number: u64,
        /// What failed.
        reason: String,
    },
    /// A store failure (local).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A state-root computation failure (local).
    #[error(transparent)]
    State(#[from] StateError),
}

impl BlockError {
    /// The mismatching header field, for a [`BlockError::Mismatch`].
    pub const fn field(&self) -> Option<HeaderField> {
        match self {
            Self::Mismatch { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// Whether the block itself is at fault (invalid or disagreeing with its header), rather
    /// than the store.
    pub const fn is_block_fault(&self) -> bool {
        matches!(self, Self::Mismatch { .. } | Self::Invalid { .. } | Self::NotNext { .. })
    }

    /// A short description of what failed: the field name for a mismatch, "invalid" or
    /// "store" otherwise.
    pub fn what(&self) -> String {
        match self {
            Self::Mismatch { field, .. } => field.name().to_owned(),
            Self::Invalid { reason, .. } => format!("invalid: {reason}"),
            Self::NotNext { .. } => "parent".to_owned(),
            Self::Internal { .. } | Self::Store(_) | Self::State(_) => "store".to_owned(),
        }
    }
}

/// The error of the revm database over the store: a store failure, kept whole.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account names a code the store does not have.
    #[error("code {0} is not stored")]
    MissingCode(B256),
    /// A stored header needed for BLOCKHASH is missing.
    #[error("the header of block {0} is not stored (needed for BLOCKHASH)")]
    MissingHeader(u64),
}

impl revm::database::DBErrorMarker for DatabaseError {}
