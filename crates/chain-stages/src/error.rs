//! The errors of the headers and bodies stages, each with the facts to act on: the peer, the
//! block number, the expected and received hashes.
//!
//! Peer faults are no errors of the stages: the [`Fetcher`](snapsync_fetch::Fetcher) reports them
//! to the network as the typed [`Fault`](snapsync_net::Fault) of a
//! [`Penalty::InvalidData`](snapsync_net::Penalty::InvalidData), bans the peer and asks another.
//! What stops a step is that no peer delivered ([`HeadersError::NoPeerDelivered`],
//! [`BlockDataError::NoPeerDelivered`], carrying the fetcher's [`FetchError`]; recoverable: the
//! pipeline retries with backoff) or that the stored chain or the trusted tip is inconsistent
//! (fatal).
//!
//! A stage that starts after another ([`StageStart::AfterStage`](crate::StageStart)) fails
//! fatally with a [`StartError`] when that stage has not finished: the pipeline's order is wrong.
//! The execution stage's errors ([`ExecutionError`]) are fatal or recoverable as the executor's
//! [`ExecutorError`] says.

use alloy_primitives::B256;
use snapsync_fetch::FetchError;
use snapsync_stages::{BoxError, CheckpointDecodeError, StageError, StageId};
use snapsync_storage::StoreError;

/// Why the headers stage could not make progress.
#[derive(Debug, thiserror::Error)]
pub enum HeadersError {
    /// The tip channel closed before any tip was sent.
    #[error("the tip channel closed before a tip was given")]
    TipChannelClosed,
    /// The fetcher gave the request up: no peer delivered a valid reply.
    #[error("no peer delivered headers from {hash} (block {number:?}): {source}")]
    NoPeerDelivered {
        /// The requested start hash.
        hash: B256,
        /// Its block number, when known.
        number: Option<u64>,
        /// Why the fetcher gave up (no peer serves the blocks, none free in time, attempts
        /// exhausted).
        #[source]
        source: FetchError,
    },
    /// The trusted tip is below the blocks still to be downloaded: it is not above the stored
    /// chain (a reorg below the checkpoint, which this stage does not handle).
    #[error("tip {tip} is block {number}, below the first block to download {floor}")]
    TipBelowFloor {
        /// The tip's hash.
        tip: B256,
        /// Its number.
        number: u64,
        /// The first block not yet stored.
        floor: u64,
    },
    /// The downloaded chain does not connect to the stored one.
    #[error("block {number}'s parent hash {parent} is not the stored block {}'s hash {stored}", number - 1)]
    DoesNotConnect {
        /// The lowest downloaded block.
        number: u64,
        /// Its parent hash.
        parent: B256,
        /// The stored parent's hash.
        stored: B256,
    },
    /// The stored checkpoint's progress does not describe a round of this stage.
    #[error("inconsistent headers checkpoint: block {block}, {processed} of {total}")]
    BadCheckpoint {
        /// The checkpoint's block.
        block: u64,
        /// Headers stored in the round.
        processed: u64,
        /// Headers in the round.
        total: u64,
    },
    /// The stage the headers start after finished at a block whose header it did not store, so
    /// the downloaded chain cannot be linked to it.
    #[error(
        "stage {stage} finished at block {number} but header {number} is not stored: the \
         downloaded chain must link to it"
    )]
    MissingAnchor {
        /// The stage the headers start after.
        stage: StageId,
        /// The block its checkpoint reached.
        number: u64,
    },
    /// `execute` ran without a batch from `ready`.
    #[error("execute called without a verified batch from ready")]
    NotReady,
}

/// Why a block data stage (bodies, receipts) could not make progress.
#[derive(Debug, thiserror::Error)]
pub enum BlockDataError {
    /// The fetcher gave the request up: no peer delivered valid data.
    #[error("no peer delivered the {kind} of blocks {from}..={to}: {source}")]
    NoPeerDelivered {
        /// What was asked ("bodies", "receipts").
        kind: &'static str,
        /// First block asked.
        from: u64,
        /// Last block asked.
        to: u64,
        /// Why the fetcher gave up (no peer serves the blocks, none free in time, attempts
        /// exhausted).
        #[source]
        source: FetchError,
    },
    /// The headers stage's stored checkpoint does not decode.
    #[error("headers checkpoint does not decode: {0}")]
    HeadersCheckpoint(#[from] CheckpointDecodeError),
    /// `execute` ran without a batch from `ready`.
    #[error("execute called without a verified batch from ready")]
    NotReady,
}

/// A header the stages' own storage should hold is missing or does not decode: the database is
/// not what the checkpoints say, which no retry mends.
#[derive(Debug, thiserror::Error)]
pub enum StoredHeaderError {
    /// A header a checkpoint says is stored is not.
    #[error("stored header {number} is missing")]
    Missing {
        /// The block number.
        number: u64,
    },
    /// A stored header does not decode.
    #[error("stored header {number} does not decode: {source}")]
    Corrupt {
        /// The block number.
        number: u64,
        /// The failure.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A stored header's hash is not indexed under its number: the header or the index was
    /// damaged after it was written (a stored header is checked before it was written).
    #[error(
        "stored header {number} hashes to {hash}, which the header index maps to {indexed:?}: \
         the stored chain is damaged"
    )]
    Unindexed {
        /// The block number.
        number: u64,
        /// The hash of the stored header.
        hash: B256,
        /// The number the index holds for that hash, if any.
        indexed: Option<u64>,
    },
}

/// The first block of a stage that starts after another could not be determined: that stage has
/// not finished (or is not in the pipeline), so the pipeline runs the stages in the wrong order,
/// which no retry mends.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The stage has never committed a checkpoint.
    #[error("stage {stage} has no checkpoint: it must run and finish before this stage")]
    NoCheckpoint {
        /// The stage started after.
        stage: StageId,
    },
    /// The stage's checkpoint has unfinished progress.
    #[error(
        "stage {stage} has not finished: its checkpoint at block {block} has unfinished progress"
    )]
    Unfinished {
        /// The stage started after.
        stage: StageId,
        /// Its checkpoint's block.
        block: u64,
    },
    /// The stage's checkpoint is at block 0: it has reached no block yet.
    #[error("stage {stage} has reached no block yet (its checkpoint is at block 0)")]
    NothingYet {
        /// The stage started after.
        stage: StageId,
    },
    /// The stage's checkpoint is at the highest block number: there is no block after it.
    #[error("stage {stage} is at the highest block number, there is no block after it")]
    NoBlockAfter {
        /// The stage started after.
        stage: StageId,
    },
    /// The stage's stored checkpoint does not decode.
    #[error("stored checkpoint of stage {stage} does not decode: {source}")]
    CorruptCheckpoint {
        /// The stage started after.
        stage: StageId,
        /// What is wrong.
        #[source]
        source: CheckpointDecodeError,
    },
    /// Reading the checkpoint failed.
    #[error("reading a stage checkpoint: {0}")]
    Database(#[from] StoreError),
}

/// Why a [`BlockExecutor`](crate::BlockExecutor) failed; the variant tells the pipeline whether
/// to retry.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Expected to pass (a resource was briefly unavailable): the pipeline retries the step, which
    /// executes the step's blocks again from the stage's checkpoint.
    #[error("recoverable: {0}")]
    Recoverable(#[source] BoxError),
    /// Retrying cannot help (an invalid block, a state that does not match, a broken invariant):
    /// the pipeline stops.
    #[error("fatal: {0}")]
    Fatal(#[source] BoxError),
    /// The database failed (fatal).
    #[error("database: {0}")]
    Database(#[from] StoreError),
}

impl ExecutorError {
    /// A recoverable error from anything convertible to a boxed error (including a `String`).
    pub fn recoverable(source: impl Into<BoxError>) -> Self {
        Self::Recoverable(source.into())
    }

    /// A fatal error from anything convertible to a boxed error (including a `String`).
    pub fn fatal(source: impl Into<BoxError>) -> Self {
        Self::Fatal(source.into())
    }

    /// Whether the pipeline retries this error.
    pub const fn is_recoverable(&self) -> bool {
        matches!(self, Self::Recoverable(_))
    }
}

/// Why the execution stage could not execute or unwind its blocks.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// The executor failed on a block; recoverable when `source` is.
    #[error("executing block {number} ({hash}): {source}")]
    Executor {
        /// The block.
        number: u64,
        /// Its hash.
        hash: B256,
        /// The executor's failure.
        #[source]
        source: ExecutorError,
    },
    /// The executor failed to revert blocks; recoverable when `source` is.
    #[error("unwinding blocks {from}..={to}: {source}")]
    Unwind {
        /// The lowest block to revert.
        from: u64,
        /// The highest.
        to: u64,
        /// The executor's failure.
        #[source]
        source: ExecutorError,
    },
    /// A block below the highest stored body has no body: the bodies are not contiguous.
    #[error("the body of block {number} is missing")]
    MissingBody {
        /// The block.
        number: u64,
    },
    /// A stored body does not decode.
    #[error("stored body {number} does not decode: {source}")]
    CorruptBody {
        /// The block.
        number: u64,
        /// The failure.
        #[source]
        source: alloy_rlp::Error,
    },
}

impl ExecutionError {
    /// Whether the pipeline retries this error: only an executor's recoverable failure.
    pub const fn is_recoverable(&self) -> bool {
        match self {
            Self::Executor { source, .. } | Self::Unwind { source, .. } => source.is_recoverable(),
            Self::MissingBody { .. } | Self::CorruptBody { .. } => false,
        }
    }
}

impl From<ExecutionError> for StageError {
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::MissingBody { .. } | ExecutionError::CorruptBody { .. } => {
                Self::local(error)
            }
            _ if error.is_recoverable() => Self::recoverable(error),
            _ => Self::fatal(error),
        }
    }
}

impl From<StartError> for StageError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::Database(error) => Self::Database(error),
            _ => Self::fatal(error),
        }
    }
}

impl From<StoredHeaderError> for StageError {
    fn from(error: StoredHeaderError) -> Self {
        Self::local(error)
    }
}

impl From<HeadersError> for StageError {
    fn from(error: HeadersError) -> Self {
        match error {
            HeadersError::NoPeerDelivered { .. } => Self::recoverable(error),
            _ => Self::fatal(error),
        }
    }
}

impl From<BlockDataError> for StageError {
    fn from(error: BlockDataError) -> Self {
        match error {
            BlockDataError::NoPeerDelivered { .. } => Self::recoverable(error),
            _ => Self::fatal(error),
        }
    }
}

/// Why [`import_chain`](crate::import_chain) stopped.
#[derive(Debug, thiserror::Error)]
pub enum ChainImportError {
    /// A block of the file does not decode, is too large, or does not link.
    #[error(transparent)]
    File(#[from] snapsync_genesis::ChainFileError),
    /// A block's body does not match its header.
    #[error("block {number}'s body does not match its header: {mismatch}")]
    Body {
        /// The block.
        number: u64,
        /// The first commitment that differs.
        mismatch: snapsync_net::BodyMismatch,
    },
    /// The store holds another block at this number: it holds another chain.
    #[error(
        "the store holds another block {number} (hash {stored}) than the file's ({file}): it \
         holds another chain"
    )]
    OtherChain {
        /// The block number.
        number: u64,
        /// The stored block's hash.
        stored: B256,
        /// The file's block's hash.
        file: B256,
    },
    /// The store failed (local: the file is not at fault).
    #[error(transparent)]
    Store(#[from] StoreError),
}
