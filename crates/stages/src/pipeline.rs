//! The pipeline: runs stages in order, one committed step at a time.
//!
//! For each stage, in order, the pipeline loads the stage's stored checkpoint and repeats a step
//! until the stage reports it is done:
//!
//! 1. `ready` — the stage waits for and verifies its next batch (no transaction is open);
//! 2. `execute` — the stage writes the batch through a fresh write transaction;
//! 3. the pipeline stores the returned checkpoint in that same transaction and commits;
//! 4. it emits [`PipelineEvent::StageProgress`].
//!
//! Because data and checkpoint commit together, the stored checkpoint always describes the
//! stored data: a pipeline built again on the same database after a crash or a shutdown resumes
//! each stage from its checkpoint and redoes no committed step. A failed step's transaction is
//! dropped, so nothing of it is visible. Recoverable failures are retried per [`RetryPolicy`];
//! fatal ones stop the pipeline with the stage's last committed checkpoint in the error.
//!
//! [`Pipeline::unwind_to`] walks the stages in reverse, each unwind step in its own transaction
//! with the lowered checkpoint.
//!
//! The pipeline is the only writer of checkpoints: it reads a stage's checkpoint once when the
//! stage starts and tracks it from the commits it makes.

use crate::{
    BoxedStage, ExecInput, ExecOutput, PipelineError, PipelineEvent, RetryPolicy, StageCheckpoint,
    StageError, StageId, StageSet, UnwindInput,
};
use alloy_primitives::Bytes;
use snapsync_db::{Database, DbError, StageCheckpoints, TableRead};
use std::{fmt, sync::Arc};
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

/// Events buffered per receiver before the oldest are dropped.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// Runs a [`StageSet`] against a database.
///
/// Each stage runs in order, step by step (`ready`, then `execute` in a write transaction that
/// also stores the returned checkpoint, then commit and a [`PipelineEvent::StageProgress`]),
/// until it reports done. A new pipeline on the same database resumes from the stored
/// checkpoints. Recoverable failures are retried per [`RetryPolicy`], fatal ones stop the run.
pub struct Pipeline {
    db: Arc<dyn Database>,
    stages: Vec<Box<dyn BoxedStage>>,
    retry: RetryPolicy,
    events: broadcast::Sender<PipelineEvent>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("db", &self.db)
            .field("stages", &self.stage_ids())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Why one step failed, before the pipeline decides what to do.
enum StepError {
    Stage(StageError),
    Database(DbError),
}

impl Pipeline {
    /// A pipeline running `stages` against `db`, with the default [`RetryPolicy`] and an event
    /// channel of [`DEFAULT_EVENT_CAPACITY`].
    pub fn new(db: Arc<dyn Database>, stages: StageSet) -> Self {
        let (events, _) = broadcast::channel(DEFAULT_EVENT_CAPACITY);
        Self { db, stages: stages.into_stages(), retry: RetryPolicy::default(), events }
    }

    /// This pipeline with `retry` for recoverable failures.
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// This pipeline with an event channel buffering `capacity` events per receiver (at least
    /// one). Receivers subscribed before this call are disconnected.
    #[must_use]
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.events = broadcast::channel(capacity.max(1)).0;
        self
    }

    /// A receiver of every event emitted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PipelineEvent> {
        self.events.subscribe()
    }

    /// The ids of the stages, in execution order.
    pub fn stage_ids(&self) -> Vec<StageId> {
        self.stages.iter().map(|stage| stage.id()).collect()
    }

    /// The database.
    pub fn db(&self) -> &Arc<dyn Database> {
        &self.db
    }

    /// The committed checkpoint of stage `id`, `None` if it never committed.
    ///
    /// # Errors
    /// [`PipelineError::Database`], [`PipelineError::CorruptCheckpoint`].
    pub fn checkpoint(&self, id: &StageId) -> Result<Option<StageCheckpoint>, PipelineError> {
        load_checkpoint(&*self.db, id)
    }

    /// Runs every stage in order until each is done, resuming from the stored checkpoints.
    /// `target` is passed to the stages; a stage whose checkpoint has reached it (see
    /// [`ExecInput::target_reached`]) is skipped.
    ///
    /// Dropping the returned future between steps (a shutdown) loses nothing committed; a later
    /// run resumes from there.
    ///
    /// # Errors
    /// [`PipelineError::Fatal`] or [`PipelineError::RetriesExhausted`] from a stage, database
    /// and checkpoint errors. The stages before the failing one have finished and committed.
    pub async fn run(&mut self, target: Option<u64>) -> Result<(), PipelineError> {
        for index in 0..self.stages.len() {
            self.run_stage(index, target).await?;
        }
        Ok(())
    }

    /// Runs stage number `index` until it is done.
    async fn run_stage(&mut self, index: usize, target: Option<u64>) -> Result<(), PipelineError> {
        let Self { db, stages, retry, events } = self;
        let stage = &mut stages[index];
        let id = stage.id();
        let mut checkpoint = load_checkpoint(&**db, &id)?;

        let start = ExecInput { target, checkpoint: checkpoint.clone() };
        if start.target_reached() {
            let checkpoint = start.checkpoint();
            debug!(target: "sync::pipeline", stage = %id, block = checkpoint.block_number, "target reached, skipping");
            emit(events, PipelineEvent::StageSkipped { stage: id, checkpoint });
            return Ok(());
        }
        info!(
            target: "sync::pipeline",
            stage = %id,
            resume_from = ?checkpoint.as_ref().map(|c| c.block_number),
            ?target,
            "stage started"
        );
        emit(
            events,
            PipelineEvent::StageStarted {
                stage: id.clone(),
                checkpoint: checkpoint.clone(),
                target,
            },
        );

        let mut failures = 0u32;
        loop {
            let input = ExecInput { target, checkpoint: checkpoint.clone() };
            match step(&**db, &id, &mut **stage, input).await {
                Ok(ExecOutput { checkpoint: committed, done }) => {
                    failures = 0;
                    debug!(target: "sync::pipeline", stage = %id, block = committed.block_number, done, "step committed");
                    emit(
                        events,
                        PipelineEvent::StageProgress {
                            stage: id.clone(),
                            checkpoint: committed.clone(),
                        },
                    );
                    checkpoint = Some(committed.clone());
                    if done {
                        info!(target: "sync::pipeline", stage = %id, block = committed.block_number, "stage finished");
                        emit(
                            events,
                            PipelineEvent::StageFinished { stage: id, checkpoint: committed },
                        );
                        return Ok(());
                    }
                }
                Err(StepError::Stage(error)) if error.is_recoverable() => {
                    failures = failures.saturating_add(1);
                    let will_retry = failures <= retry.max_retries;
                    warn!(target: "sync::pipeline", stage = %id, attempt = failures, will_retry, %error, "step failed");
                    emit(
                        events,
                        PipelineEvent::Error {
                            stage: id.clone(),
                            message: error.to_string(),
                            attempt: failures,
                            will_retry,
                        },
                    );
                    if !will_retry {
                        return Err(PipelineError::RetriesExhausted {
                            stage: id,
                            checkpoint: Box::new(checkpoint.unwrap_or_default()),
                            attempts: failures,
                            source: error,
                        });
                    }
                    tokio::time::sleep(retry.backoff(failures)).await;
                }
                Err(StepError::Stage(error)) => {
                    warn!(target: "sync::pipeline", stage = %id, %error, "stage failed fatally");
                    emit(
                        events,
                        PipelineEvent::Error {
                            stage: id.clone(),
                            message: error.to_string(),
                            attempt: failures.saturating_add(1),
                            will_retry: false,
                        },
                    );
                    return Err(PipelineError::Fatal {
                        stage: id,
                        checkpoint: Box::new(checkpoint.unwrap_or_default()),
                        source: error,
                    });
                }
                Err(StepError::Database(source)) => {
                    warn!(target: "sync::pipeline", stage = %id, %source, "pipeline database failure");
                    emit(
                        events,
                        PipelineEvent::Error {
                            stage: id.clone(),
                            message: source.to_string(),
                            attempt: failures.saturating_add(1),
                            will_retry: false,
                        },
                    );
                    return Err(PipelineError::Database { stage: id, source });
                }
            }
        }
    }

    /// Unwinds every stage whose checkpoint is above `block` down to it, last stage first. Each
    /// unwind step runs in its own transaction, committed with the stage's lowered checkpoint;
    /// steps repeat until the checkpoint is at or below `block`. Stages that never committed are
    /// left alone. Failures are not retried.
    ///
    /// # Errors
    /// [`PipelineError::Fatal`] for any stage failure, [`PipelineError::UnwindStalled`] when a
    /// step does not lower the checkpoint, database and checkpoint errors.
    pub fn unwind_to(&mut self, block: u64) -> Result<(), PipelineError> {
        let Self { db, stages, events, .. } = self;
        for stage in stages.iter_mut().rev() {
            let id = stage.id();
            let Some(mut checkpoint) = load_checkpoint(&**db, &id)? else { continue };
            if checkpoint.block_number > block {
                info!(target: "sync::pipeline", stage = %id, from = checkpoint.block_number, to = block, "unwinding");
            }
            while checkpoint.block_number > block {
                let db_error = |source| PipelineError::Database { stage: id.clone(), source };
                let mut txn = db.write().map_err(db_error)?;
                let input = UnwindInput { checkpoint: checkpoint.clone(), unwind_to: block };
                let output = match stage.unwind(&mut txn, input) {
                    Ok(output) => output,
                    Err(source) => {
                        emit(
                            events,
                            PipelineEvent::Error {
                                stage: id.clone(),
                                message: source.to_string(),
                                attempt: 1,
                                will_retry: false,
                            },
                        );
                        return Err(PipelineError::Fatal {
                            stage: id,
                            checkpoint: Box::new(checkpoint),
                            source,
                        });
                    }
                };
                if output.checkpoint.block_number >= checkpoint.block_number {
                    return Err(PipelineError::UnwindStalled {
                        stage: id,
                        from: checkpoint.block_number,
                        target: block,
                    });
                }
                store_checkpoint(&mut txn, &id, &output.checkpoint).map_err(db_error)?;
                txn.commit().map_err(db_error)?;
                checkpoint = output.checkpoint;
                debug!(target: "sync::pipeline", stage = %id, block = checkpoint.block_number, "unwind step committed");
                emit(
                    events,
                    PipelineEvent::Unwound { stage: id.clone(), checkpoint: checkpoint.clone() },
                );
            }
        }
        Ok(())
    }
}

/// One step: ready, execute in a transaction, store the checkpoint in it, commit.
async fn step(
    db: &dyn Database,
    id: &StageId,
    stage: &mut dyn BoxedStage,
    input: ExecInput,
) -> Result<ExecOutput, StepError> {
    stage.ready_boxed(input.clone()).await.map_err(StepError::Stage)?;
    let mut txn = db.write().map_err(StepError::Database)?;
    // On any error below, `txn` is dropped uncommitted: nothing of the step is visible.
    let output = stage.execute(&mut txn, input).map_err(StepError::Stage)?;
    store_checkpoint(&mut txn, id, &output.checkpoint).map_err(StepError::Database)?;
    txn.commit().map_err(StepError::Database)?;
    Ok(output)
}

fn store_checkpoint(
    txn: &mut snapsync_db::WriteTxn,
    id: &StageId,
    checkpoint: &StageCheckpoint,
) -> Result<(), DbError> {
    txn.put::<StageCheckpoints>(&id.as_str().to_owned(), &Bytes::from(checkpoint.encode()))
}

fn load_checkpoint(
    db: &dyn Database,
    id: &StageId,
) -> Result<Option<StageCheckpoint>, PipelineError> {
    let db_error = |source| PipelineError::Database { stage: id.clone(), source };
    let stored = db.view().map_err(db_error)?.get::<StageCheckpoints>(&id.as_str().to_owned());
    match stored.map_err(db_error)? {
        None => Ok(None),
        Some(bytes) => StageCheckpoint::decode(&bytes)
            .map(Some)
            .map_err(|source| PipelineError::CorruptCheckpoint { stage: id.clone(), source }),
    }
}

/// Sends `event` to the current receivers; none is not an error.
fn emit(events: &broadcast::Sender<PipelineEvent>, event: PipelineEvent) {
    let _ = events.send(event);
}
