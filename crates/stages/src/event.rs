//! Progress events the pipeline emits.
//!
//! Events go out on a `tokio::sync::broadcast` channel ([`Pipeline::subscribe`]), so a progress
//! bar, a log and a metrics exporter each hold their own receiver and none can slow the pipeline:
//! a receiver that falls more than the channel's capacity behind loses the oldest events (and is
//! told so by `RecvError::Lagged`); with no receivers, events are dropped. Events are emitted
//! after the commit they report, so a `StageProgress` checkpoint is always durable state.
//!
//! [`Pipeline::subscribe`]: crate::Pipeline::subscribe

use crate::{StageCheckpoint, StageId};

/// Something the pipeline did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    /// A stage begins executing.
    StageStarted {
        /// The stage.
        stage: StageId,
        /// Its stored checkpoint (`None` on its first run): where it resumes.
        checkpoint: Option<StageCheckpoint>,
        /// The pipeline's target.
        target: Option<u64>,
    },
    /// A stage had already reached the target and was not run.
    StageSkipped {
        /// The stage.
        stage: StageId,
        /// Its stored checkpoint.
        checkpoint: StageCheckpoint,
    },
    /// A stage committed a step.
    StageProgress {
        /// The stage.
        stage: StageId,
        /// The checkpoint committed with the step.
        checkpoint: StageCheckpoint,
    },
    /// A stage reported it is done.
    StageFinished {
        /// The stage.
        stage: StageId,
        /// Its final checkpoint.
        checkpoint: StageCheckpoint,
    },
    /// A stage committed an unwind step.
    Unwound {
        /// The stage.
        stage: StageId,
        /// The checkpoint committed with the step.
        checkpoint: StageCheckpoint,
    },
    /// A step failed; nothing of it was committed.
    Error {
        /// The stage.
        stage: StageId,
        /// The error, rendered.
        message: String,
        /// Consecutive failed attempts of this step, this one included.
        attempt: u32,
        /// Whether the pipeline will retry (after a backoff) or stops.
        will_retry: bool,
    },
}
