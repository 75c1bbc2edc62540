//! The staged sync pipeline.
//!
//! Sync is a sequence of stages (headers, bodies, snap sync of the state, execution), each
//! advancing a checkpoint stored in the database. This crate is the generic machinery, in the
//! spirit of reth's staged sync:
//!
//! - [`Stage`]: an async [`Stage::ready`] step that waits for the network, then a synchronous
//!   [`Stage::execute`] that writes through the pipeline's write transaction and returns a
//!   [`StageCheckpoint`], and [`Stage::unwind`]. Stages and the pipeline are generic over the
//!   store ([`snapsync_storage::StateStore`]): the pipeline owns it and hands each stage a
//!   snapshot for `ready` and the step's writer for `execute`/`unwind`.
//! - [`StageCheckpoint`] with optional [`StageProgress`] (an entity count, or
//!   [`StageProgress::Recorded`]: the stage keeps its position in a record of its own, written in
//!   the same transaction, as snap sync does), stored through the store's checkpoint records in
//!   a compact versioned encoding. This crate knows nothing of any particular stage.
//! - [`Pipeline`]: runs the stages in order, committing each step's data and checkpoint in one
//!   transaction, resuming from stored checkpoints, retrying [`StageError::Recoverable`] failures
//!   per [`RetryPolicy`], stopping on fatal ones, unwinding in reverse order, and broadcasting
//!   [`PipelineEvent`]s (failures as typed [`StepFailure`]s; each event prints as a log line). `execute`, `unwind` and the commit
//!   run on tokio's blocking pool, so a long step does not stall the async runtime.
//! - [`Pipeline::run_loop`] with a [`PipelineControl`]: run to a target, then continue, unwind or
//!   stop as the client commands; a [`CancelToken`] stops the pipeline early, keeping every
//!   checkpoint consistent with its data.
//! - [`StageSet`] and [`StageSetBuilder`]: the ordered stages, edited by id.
//! - Metrics: the step loop counts steps (and their duration), unwinds, retries and errors and
//!   sets each stage's checkpoint block, as `snapsync_pipeline_*` metrics labelled by stage
//!   through the `metrics` facade ([`METRIC_NAMES`], [`describe_metrics`], `docs/metrics.md`).
//!
//! See `docs/pipeline.md` for the contract.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod checkpoint;
mod control;
mod error;
mod event;
mod id;
mod metrics;
mod pipeline;
mod retry;
mod set;
mod stage;
mod tip;

pub use checkpoint::{CHECKPOINT_VERSION, EntitiesCheckpoint, StageCheckpoint, StageProgress};
pub use control::{CancelToken, Command, ControlFlow, PipelineControl};
pub use error::{BoxError, CheckpointDecodeError, PipelineError, StageError, StageSetError};
pub use event::{FailureKind, PipelineEvent, SharedError, StepFailure};
pub use id::StageId;
pub use metrics::{METRIC_NAMES, describe_metrics};
pub use pipeline::{DEFAULT_EVENT_CAPACITY, Pipeline};
pub use retry::RetryPolicy;
pub use set::{StageSet, StageSetBuilder};
pub use stage::{BoxedStage, ExecInput, ExecOutput, ReadyFuture, Stage, UnwindInput, UnwindOutput};
pub use tip::wait_for_tip;
