//! Progress events the pipeline emits.
//!
//! Events go out on a `tokio::sync::broadcast` channel ([`Pipeline::subscribe`]), so a progress
//! bar, a log and a metrics exporter each hold their own receiver and none can slow the pipeline:
//! a receiver that falls more than the channel's capacity behind loses the oldest events (and is
//! told so by `RecvError::Lagged`); with no receivers, events are dropped. Events are emitted
//! after the commit they report, so a `StageProgress` checkpoint is always durable state.
//!
//! A failed step is reported as a [`StepFailure`]: the kind of failure ([`FailureKind`], which
//! decides what the pipeline does with it), the error itself, typed and shared (events are
//! cloned to every receiver, so it sits behind an `Arc`; [`StepFailure::downcast_ref`] finds a
//! type anywhere in its source chain), and the chain rendered for logs. When the pipeline stops
//! on a failure, the [`PipelineError`](crate::PipelineError) it returns holds the same error.
//!
//! [`Pipeline::subscribe`]: crate::Pipeline::subscribe

use crate::{StageCheckpoint, StageError, StageId};
use std::{error::Error, fmt, sync::Arc};

/// An error shared between the events that report it and the pipeline's return value.
pub type SharedError = Arc<dyn Error + Send + Sync + 'static>;

/// How the pipeline classes a failed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// [`StageError::Recoverable`]: expected to pass (a peer timed out or sent bad data, no peer
    /// yet); `run` retries it per the retry policy.
    Recoverable,
    /// [`StageError::Fatal`], or a stage's `execute`/`unwind` panicking: retrying cannot help.
    Fatal,
    /// The local store failed or holds damaged data ([`StageError::Database`],
    /// [`StageError::LocalStore`], the pipeline's own database work): fatal, and no peer's fault.
    Local,
}

/// A failed step as events report it: its [`FailureKind`], the error itself, and its source
/// chain rendered.
///
/// The error is the one the step failed with: a stage's [`StageError`], a
/// [`StoreError`](snapsync_storage::StoreError) of the pipeline's own database work, the
/// `JoinError` of a panicked step. `chain()[0]` is its message (for a [`StageError`] that
/// includes its source's, as in `"recoverable: no peer"`), each next entry the message of the
/// previous one's [`source`](Error::source). `Display` shows the first. Two failures are equal
/// when their kinds and rendered chains are.
#[derive(Debug, Clone)]
pub struct StepFailure {
    kind: FailureKind,
    error: SharedError,
    chain: Vec<String>,
}

impl StepFailure {
    /// The failure `error` of kind `kind`, with its source chain rendered.
    pub fn new(kind: FailureKind, error: SharedError) -> Self {
        let chain = sources(error.as_ref()).map(ToString::to_string).collect();
        Self { kind, error, chain }
    }

    /// The error itself.
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.error.as_ref()
    }

    /// The first error of type `E` in the source chain (the error itself first): a stage's own
    /// error type, a `StoreError`, a `RequestError`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        sources(self.error.as_ref()).find_map(|error| error.downcast_ref::<E>())
    }

    /// How the pipeline classes the failure.
    pub const fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether the failure is [`FailureKind::Recoverable`].
    pub const fn is_recoverable(&self) -> bool {
        matches!(self.kind, FailureKind::Recoverable)
    }

    /// Whether the failure is [`FailureKind::Local`]: check the disk, not the peers.
    pub const fn is_local(&self) -> bool {
        matches!(self.kind, FailureKind::Local)
    }

    /// The error's own message.
    pub fn message(&self) -> &str {
        self.chain.first().map_or("", String::as_str)
    }

    /// The messages of the error and of each of its sources, outermost first (never empty).
    pub fn chain(&self) -> &[String] {
        &self.chain
    }
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl PartialEq for StepFailure {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.chain == other.chain
    }
}

impl Eq for StepFailure {}

/// `error` and each of its sources, outermost first.
fn sources<'a>(
    error: &'a (dyn Error + Send + Sync + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error as &(dyn Error + 'static)), |error| (*error).source())
}

impl From<&Arc<StageError>> for StepFailure {
    fn from(error: &Arc<StageError>) -> Self {
        let kind = match error.as_ref() {
            StageError::Recoverable { .. } => FailureKind::Recoverable,
            StageError::Fatal { .. } => FailureKind::Fatal,
            StageError::Database(_) | StageError::LocalStore { .. } => FailureKind::Local,
        };
        Self::new(kind, error.clone())
    }
}

impl From<StageError> for StepFailure {
    fn from(error: StageError) -> Self {
        Self::from(&Arc::new(error))
    }
}

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
        /// What failed, and how the pipeline classes it.
        error: StepFailure,
        /// Consecutive failed attempts of this step, this one included.
        attempt: u32,
        /// Whether the pipeline will retry (after a backoff) or stops.
        will_retry: bool,
    },
    /// The pipeline's [`CancelToken`](crate::CancelToken) was triggered and the pass stopped
    /// (see [`ControlFlow::Cancelled`](crate::ControlFlow::Cancelled)); nothing uncommitted was
    /// kept.
    Cancelled {
        /// The stage that was running or about to run, if any.
        stage: Option<StageId>,
    },
}

/// One line for a client's log: `Headers finished at block 80`, `SnapSync failed (Recoverable,
/// attempt 2, retrying): ...`.
impl fmt::Display for PipelineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StageStarted { stage, checkpoint, target } => {
                let from = checkpoint.as_ref().map_or(0, |c| c.block_number);
                write!(f, "{stage} started at block {from}")?;
                match target {
                    Some(target) => write!(f, ", target {target}"),
                    None => Ok(()),
                }
            }
            Self::StageSkipped { stage, checkpoint } => {
                write!(f, "{stage} skipped at block {}", checkpoint.block_number)
            }
            Self::StageProgress { stage, checkpoint } => {
                write!(f, "{stage} committed a step at block {}", checkpoint.block_number)
            }
            Self::StageFinished { stage, checkpoint } => {
                write!(f, "{stage} finished at block {}", checkpoint.block_number)
            }
            Self::Unwound { stage, checkpoint } => {
                write!(f, "{stage} unwound to block {}", checkpoint.block_number)
            }
            Self::Error { stage, error, attempt, will_retry } => {
                let then = if *will_retry { "retrying" } else { "stopping" };
                write!(f, "{stage} failed ({:?}, attempt {attempt}, {then}): {error}", error.kind())
            }
            Self::Cancelled { stage: Some(stage) } => write!(f, "cancelled during {stage}"),
            Self::Cancelled { stage: None } => f.write_str("cancelled between passes"),
        }
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn a_failure_finds_any_type_in_its_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer went away");
        let failure = StepFailure::from(StageError::recoverable(io));
        assert!(failure.is_recoverable());
        assert!(failure.downcast_ref::<StageError>().is_some_and(StageError::is_recoverable));
        let found = failure.downcast_ref::<std::io::Error>().expect("the source is kept typed");
        assert_eq!(found.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(failure.downcast_ref::<std::fmt::Error>().is_none());
        assert_eq!(failure.chain(), ["recoverable: peer went away", "peer went away"]);
    }

    #[test]
    fn events_render_as_log_lines() {
        let stage = StageId::HEADERS;
        let finished = PipelineEvent::StageFinished {
            stage: stage.clone(),
            checkpoint: StageCheckpoint::new(80),
        };
        assert_eq!(finished.to_string(), "Headers finished at block 80");
        let error = StageError::recoverable("peer gone");
        let failed = PipelineEvent::Error {
            stage: stage.clone(),
            error: StepFailure::from(error),
            attempt: 2,
            will_retry: true,
        };
        assert_eq!(
            failed.to_string(),
            "Headers failed (Recoverable, attempt 2, retrying): recoverable: peer gone"
        );
        let started = PipelineEvent::StageStarted { stage, checkpoint: None, target: Some(9) };
        assert_eq!(started.to_string(), "Headers started at block 0, target 9");
        assert_eq!(
            PipelineEvent::Cancelled { stage: None }.to_string(),
            "cancelled between passes"
        );
    }
}
