//! The staged sync pipeline.
//!
//! Sync is a sequence of stages (headers, bodies, snap sync of the state, execution), each
//! advancing a checkpoint stored in the database. This crate is the generic machinery, in the
//! spirit of reth's staged sync:
//!
//! - [`Stage`]: an async [`Stage::ready`] step that waits for the network, then a synchronous
//!   [`Stage::execute`] that writes through the pipeline's [`WriteTxn`](snapsync_db::WriteTxn)
//!   and returns a [`StageCheckpoint`], and [`Stage::unwind`].
//! - [`StageCheckpoint`] with optional [`StageProgress`] (snap sync's phase, pivot and ranges, or
//!   an entity count), stored in `StageCheckpoints` in a compact versioned encoding.
//! - [`Pipeline`]: runs the stages in order, committing each step's data and checkpoint in one
//!   transaction, resuming from stored checkpoints, retrying [`StageError::Recoverable`] failures
//!   per [`RetryPolicy`], stopping on fatal ones, unwinding in reverse order, and broadcasting
//!   [`PipelineEvent`]s.
//! - [`StageSet`] and [`StageSetBuilder`]: the ordered stages, edited by id.
//!
//! See `docs/pipeline.md` for the contract.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod checkpoint;
mod error;
mod event;
mod id;
mod pipeline;
mod retry;
mod set;
mod stage;

pub use checkpoint::{
    CHECKPOINT_VERSION, EntitiesCheckpoint, SnapPhase, SnapSyncCheckpoint, StageCheckpoint,
    StageProgress,
};
pub use error::{BoxError, CheckpointDecodeError, PipelineError, StageError, StageSetError};
pub use event::PipelineEvent;
pub use id::StageId;
pub use pipeline::{DEFAULT_EVENT_CAPACITY, Pipeline};
pub use retry::RetryPolicy;
pub use set::{StageSet, StageSetBuilder};
pub use stage::{BoxedStage, ExecInput, ExecOutput, ReadyFuture, Stage, UnwindInput, UnwindOutput};
