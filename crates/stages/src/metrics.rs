//! The pipeline's metrics: steps, their duration, unwinds, retries, errors and checkpoints.
//!
//! Recorded by the pipeline's step loop, once per step. Names follow
//! `snapsync_pipeline_<what>[_unit]`; counters end in `_total`. The `stage` label is the
//! [`StageId`] (a pipeline has a handful of stages); errors also carry `kind`, the
//! [`FailureKind`] (`recoverable`: a peer's fault or the network's; `fatal`; `local`: the local
//! store). Every name is listed in [`METRIC_NAMES`] and documented in `docs/metrics.md`.

use crate::{FailureKind, StageCheckpoint, StageId};
use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use std::time::Duration;

/// Steps committed.
const STEPS: &str = "snapsync_pipeline_steps_total";
/// Time a committed step took: ready, execute, commit.
const STEP_DURATION: &str = "snapsync_pipeline_step_duration_seconds";
/// Unwind steps committed.
const UNWINDS: &str = "snapsync_pipeline_unwind_steps_total";
/// Failed steps retried.
const RETRIES: &str = "snapsync_pipeline_retries_total";
/// Failed steps and unwind steps.
const ERRORS: &str = "snapsync_pipeline_errors_total";
/// The block number of the stage's last committed checkpoint.
const CHECKPOINT: &str = "snapsync_pipeline_checkpoint_block";

/// Every metric this crate records.
pub const METRIC_NAMES: &[&str] = &[STEPS, STEP_DURATION, UNWINDS, RETRIES, ERRORS, CHECKPOINT];

/// Describes this crate's metrics (type, unit, meaning) to the installed recorder.
pub fn describe_metrics() {
    describe_counter!(STEPS, Unit::Count, "Steps committed, by stage");
    describe_histogram!(STEP_DURATION, Unit::Seconds, "Committed step time (ready to commit)");
    describe_counter!(UNWINDS, Unit::Count, "Unwind steps committed, by stage");
    describe_counter!(RETRIES, Unit::Count, "Failed steps retried, by stage");
    describe_counter!(ERRORS, Unit::Count, "Failed steps and unwind steps, by stage and kind");
    describe_gauge!(CHECKPOINT, Unit::Count, "Block number of the last committed checkpoint");
}

/// The label of a failure kind.
const fn kind_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Recoverable => "recoverable",
        FailureKind::Fatal => "fatal",
        FailureKind::Local => "local",
    }
}

/// A step of `stage` committed `checkpoint` after `elapsed`.
pub(crate) fn step(stage: &StageId, elapsed: Duration, checkpoint: &StageCheckpoint) {
    counter!(STEPS, "stage" => stage.to_string()).increment(1);
    histogram!(STEP_DURATION, "stage" => stage.to_string()).record(elapsed.as_secs_f64());
    self::checkpoint(stage, checkpoint);
}

/// An unwind step of `stage` committed `checkpoint`.
pub(crate) fn unwound(stage: &StageId, checkpoint: &StageCheckpoint) {
    counter!(UNWINDS, "stage" => stage.to_string()).increment(1);
    self::checkpoint(stage, checkpoint);
}

/// A step or unwind step of `stage` failed with a `kind` failure; `retry`: whether it is retried.
pub(crate) fn failed(stage: &StageId, kind: FailureKind, retry: bool) {
    counter!(ERRORS, "stage" => stage.to_string(), "kind" => kind_label(kind)).increment(1);
    if retry {
        counter!(RETRIES, "stage" => stage.to_string()).increment(1);
    }
}

fn checkpoint(stage: &StageId, checkpoint: &StageCheckpoint) {
    #[allow(clippy::cast_precision_loss)] // a gauge is an f64; block numbers are below 2^53
    gauge!(CHECKPOINT, "stage" => stage.to_string()).set(checkpoint.block_number as f64);
}
