//! The errors of stages, stage sets and the pipeline.
//!
//! A stage says how its failure should be handled: [`StageError::Recoverable`] (a peer timed
//! out, a response failed verification, the network has no peers yet) is retried by the pipeline
//! with backoff up to a bound, [`StageError::Fatal`] (a corrupt database, an invariant broken)
//! stops it at once. Either way the failed step's write transaction is dropped, so nothing of the
//! step is visible and the checkpoint stays where it was.

use crate::{StageCheckpoint, StageId};
use snapsync_storage::StoreError;
use std::sync::Arc;

/// A boxed error source, as carried by [`StageError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a stage step failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A failure expected to pass (network trouble, a peer's bad answer): the pipeline retries the
    /// step.
    #[error("recoverable: {source}")]
    Recoverable {
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// A failure retrying cannot fix: the pipeline stops.
    #[error("fatal: {source}")]
    Fatal {
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The store failed (through the storage seam); treated as fatal, and local.
    #[error("database: {0}")]
    Database(#[from] StoreError),
    /// The local store failed (a spill file, a full disk) or holds data that contradicts itself
    /// (a damaged file): fatal, and never a peer's fault, so no peer is penalised for it.
    #[error("local storage: {source}")]
    LocalStore {
        /// What went wrong.
        #[source]
        source: BoxError,
    },
}

impl StageError {
    /// A recoverable error from anything convertible to a boxed error (including a `String`).
    pub fn recoverable(source: impl Into<BoxError>) -> Self {
        Self::Recoverable { source: source.into() }
    }

    /// A fatal error from anything convertible to a boxed error (including a `String`).
    pub fn fatal(source: impl Into<BoxError>) -> Self {
        Self::Fatal { source: source.into() }
    }

    /// A store failure of any backend (a client stage's `snapsync_db::DbError`, say), as
    /// [`StageError::Database`].
    pub fn store(error: impl Into<StoreError>) -> Self {
        Self::Database(error.into())
    }

    /// A failure of the local store (see [`StageError::LocalStore`]).
    pub fn local(source: impl Into<BoxError>) -> Self {
        Self::LocalStore { source: source.into() }
    }

    /// Whether the pipeline retries this error.
    pub const fn is_recoverable(&self) -> bool {
        matches!(self, Self::Recoverable { .. })
    }

    /// Whether this is a failure of the local store ([`Database`](Self::Database) or
    /// [`LocalStore`](Self::LocalStore)) rather than of the network or the stage's input.
    pub const fn is_local(&self) -> bool {
        matches!(self, Self::Database(_) | Self::LocalStore { .. })
    }
}

/// A stored checkpoint that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointDecodeError {
    /// The record's version is not one this build reads.
    #[error("unknown checkpoint version {version}")]
    UnknownVersion {
        /// The stored version byte.
        version: u8,
    },
    /// The progress tag is unknown.
    #[error("unknown progress tag {tag}")]
    UnknownTag {
        /// The stored tag byte.
        tag: u8,
    },
    /// The progress tag was written by an older version and is no longer read (tag 1: a copy of
    /// snap sync's position, now kept only in the stage's own record).
    #[error(
        "progress tag {tag} was written by an older version of snapsync and is no longer read; \
         this data directory cannot be resumed (remove it and sync again)"
    )]
    RetiredTag {
        /// The stored tag byte.
        tag: u8,
    },
    /// The record ends inside a field.
    #[error("truncated at byte {offset} reading {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// Bytes follow the record.
    #[error("{extra} trailing bytes")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

/// A stage set could not be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageSetError {
    /// Two stages share an id (their checkpoints would collide).
    #[error("stage {0} is already in the set")]
    Duplicate(StageId),
    /// An operation named a stage that is not in the set.
    #[error("no stage {0} in the set")]
    Unknown(StageId),
    /// [`StageSetBuilder::alongside`](crate::StageSetBuilder::alongside) named a stage that does
    /// not come before the one it would run alongside: a stage only ever waits for stages before
    /// it, so there is nothing to release.
    #[error("stage {stage} cannot run alongside {earlier}: {earlier} does not come before it")]
    NotBefore {
        /// The stage that was to run alongside.
        stage: StageId,
        /// The stage named, which comes after `stage` (or is `stage`).
        earlier: StageId,
    },
}

impl PipelineError {
    /// Whether the pipeline stopped on its local store (its own database work, a corrupt
    /// checkpoint, or a stage's [local](StageError::is_local) failure) rather than on the
    /// network or a stage's input: an operator checks the disk, not the peers.
    pub fn is_local(&self) -> bool {
        match self {
            Self::Database { .. } | Self::CorruptCheckpoint { .. } => true,
            Self::Fatal { source, .. } | Self::RetriesExhausted { source, .. } => source.is_local(),
            Self::UnwindStalled { .. } | Self::StepAborted { .. } => false,
        }
    }
}

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A stage failed fatally.
    #[error("stage {stage} failed at checkpoint {}: {source}", checkpoint.block_number)]
    Fatal {
        /// The stage.
        stage: StageId,
        /// Its last committed checkpoint (boxed: it can carry snap sync's range list).
        checkpoint: Box<StageCheckpoint>,
        /// The failure (shared with the [`PipelineEvent::Error`](crate::PipelineEvent::Error)
        /// that reported it).
        #[source]
        source: Arc<StageError>,
    },
    /// A stage kept failing recoverably until the retry bound.
    #[error(
        "stage {stage} failed {attempts} times in a row at checkpoint {}; last: {source}",
        checkpoint.block_number
    )]
    RetriesExhausted {
        /// The stage.
        stage: StageId,
        /// Its last committed checkpoint (boxed: it can carry snap sync's range list).
        checkpoint: Box<StageCheckpoint>,
        /// Consecutive failed attempts.
        attempts: u32,
        /// The last failure (shared with the event that reported it).
        #[source]
        source: Arc<StageError>,
    },
    /// The pipeline's own database work (opening a transaction, reading or storing a checkpoint,
    /// committing) failed.
    #[error("stage {stage}: {source}")]
    Database {
        /// The stage being run.
        stage: StageId,
        /// The failure (shared with the event that reported it).
        #[source]
        source: Arc<StoreError>,
    },
    /// A stored checkpoint does not decode.
    #[error("stored checkpoint of stage {stage} is corrupt: {source}")]
    CorruptCheckpoint {
        /// The stage.
        stage: StageId,
        /// What is wrong.
        #[source]
        source: CheckpointDecodeError,
    },
    /// The blocking task running a stage's `execute` or `unwind` (and the commit) did not
    /// return: the stage panicked, or the runtime shut down. The step's transaction was dropped
    /// uncommitted unless the commit had already been reached, so the stored checkpoint still
    /// describes the stored data; the stage's in-memory state is unknown, so build a new pipeline
    /// to go on.
    #[error("stage {stage}: the step's blocking task failed: {source}")]
    StepAborted {
        /// The stage.
        stage: StageId,
        /// The panic or cancellation (shared with the event that reported it).
        #[source]
        source: Arc<tokio::task::JoinError>,
    },
    /// An unwind step did not move the stage's checkpoint down, which would loop forever.
    #[error("stage {stage} did not unwind: checkpoint stayed at {from} (unwinding to {target})")]
    UnwindStalled {
        /// The stage.
        stage: StageId,
        /// Its checkpoint before and after the step.
        from: u64,
        /// The unwind target.
        target: u64,
    },
}
