//! The pipeline: runs stages in order, one committed step at a time.
//!
//! For each stage, in order (a stage declared to run
//! [alongside](crate::StageSetBuilder::alongside) earlier stages starts without waiting for
//! them, see [`Pipeline::run`]), the pipeline loads the stage's stored checkpoint and repeats a
//! step until the stage reports it is done:
//!
//! 1. `ready` — the stage waits for and verifies its next batch (no transaction is open);
//! 2. `execute` — the stage writes the batch through a fresh write transaction;
//! 3. the pipeline stores the returned checkpoint in that same transaction and commits;
//! 4. it emits [`PipelineEvent::StageProgress`].
//!
//! Steps 2 and 3 (opening the transaction, which waits for any other writer, `execute`, storing
//! the checkpoint and the commit) run on tokio's blocking thread pool
//! ([`tokio::task::spawn_blocking`]), as does every unwind step: `execute` may run for seconds (a
//! trie rebuild after a pivot move) and must not stall the async runtime's worker threads, on a
//! current-thread runtime least of all. The stage and the transaction move into the blocking
//! task and the stage comes back when it returns. Outside a tokio runtime they run inline.
//!
//! Because data and checkpoint commit together, the stored checkpoint always describes the
//! stored data: a pipeline built again on the same database after a crash or a shutdown resumes
//! each stage from its checkpoint and redoes no committed step. A failed or cancelled step's
//! transaction is dropped, so nothing of it is visible. Recoverable failures are retried per
//! [`RetryPolicy`]; fatal ones stop the pipeline with the stage's last committed checkpoint in
//! the error.
//!
//! [`Pipeline::unwind_to`] walks the stages in reverse, each unwind step in its own transaction
//! with the lowered checkpoint. [`Pipeline::run_loop`] chains runs and unwinds as a
//! [`PipelineControl`] commands, and a [`CancelToken`] stops any of them early.
//!
//! The pipeline is the only writer of checkpoints: it reads a stage's checkpoint once when the
//! stage starts and tracks it from the commits it makes.

use crate::{
    BoxedStage, CancelToken, Command, ControlFlow, ExecInput, ExecOutput, FailureKind,
    PipelineControl, PipelineError, PipelineEvent, RetryPolicy, StageCheckpoint, StageError,
    StageId, StageSet, StepFailure, UnwindInput, metrics,
};
use alloy_primitives::Bytes;
use futures::{FutureExt, StreamExt, stream::FuturesUnordered};
use snapsync_storage::{StateRead, StateStore, StateWrite, StoreError};
use std::{fmt, sync::Arc, time::Instant};
use tokio::{
    sync::{Mutex, broadcast},
    task::JoinError,
};
use tracing::{debug, info, warn};

/// Events buffered per receiver before the oldest are dropped.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// Runs a [`StageSet`] against a store it owns.
///
/// Each stage runs in order, step by step (`ready`, then `execute` in a write transaction that
/// also stores the returned checkpoint, then commit and a [`PipelineEvent::StageProgress`]),
/// until it reports done. A new pipeline on the same database resumes from the stored
/// checkpoints. Recoverable failures are retried per [`RetryPolicy`], fatal ones stop the run.
///
/// # Blocking work
///
/// The pipeline owns the store (`Arc<S>`, any [`StateStore`]: snapsync-db's redb or memory
/// backends, `dyn snapsync_db::Database`, or a client's own) and hands each stage its views: a
/// fresh snapshot ([`StateStore::reader`]) for `ready`, dropped before the step's write
/// transaction ([`StateStore::writer`]) opens for `execute`/`unwind`. Stages hold no store of
/// their own.
///
/// `ready` runs on the caller's task. Everything synchronous that touches the store (opening
/// the write transaction, which waits for any other writer, [`Stage::execute`] or
/// [`Stage::unwind`], storing the checkpoint, the commit) runs in
/// [`tokio::task::spawn_blocking`], so a step that takes seconds does not stall the runtime's
/// worker threads; this works on current-thread and multi-thread runtimes alike. Outside a tokio
/// runtime that work runs inline on the calling thread. Reading a checkpoint (one small read
/// transaction) stays on the caller's task.
///
/// # Control and cancellation
///
/// [`run`](Self::run) and [`unwind_to`](Self::unwind_to) make one pass and return a
/// [`ControlFlow`]; [`run_loop`](Self::run_loop) chains passes as a [`PipelineControl`] commands.
/// The pipeline's [`CancelToken`] ([`cancel_token`](Self::cancel_token),
/// [`with_cancel_token`](Self::with_cancel_token)) stops any of them with
/// [`ControlFlow::Cancelled`], leaving the checkpoints describing the stored data.
///
/// [`Stage::execute`]: crate::Stage::execute
/// [`Stage::unwind`]: crate::Stage::unwind
pub struct Pipeline<S: StateStore + ?Sized> {
    db: Arc<S>,
    stages: Vec<Slot<S>>,
    retry: RetryPolicy,
    events: broadcast::Sender<PipelineEvent>,
    cancel: CancelToken,
}

impl<S: StateStore + ?Sized> fmt::Debug for Pipeline<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("store", &self.db.backend_name())
            .field("stages", &self.stage_ids())
            .field("retry", &self.retry)
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// A stage with its id (read once: ids are stable). The stage sits behind an owned lock so that
/// the blocking task running its `execute` or `unwind` can take it along and give it back; if
/// the pipeline's future is dropped meanwhile, the task still finishes and releases it.
struct Slot<S: StateStore + ?Sized> {
    id: StageId,
    stage: Arc<Mutex<Box<dyn BoxedStage<S>>>>,
    /// The positions of the earlier stages this one waits for: all of them but those it runs
    /// alongside of.
    waits_for: Vec<usize>,
}

/// Where a stage is in a pass of [`Pipeline::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Not started, or to run again.
    Waiting,
    /// Running; `again`: an earlier stage it runs alongside finished meanwhile, so it runs again
    /// once it is done.
    Running { again: bool },
    /// Finished in this pass.
    Done,
}

/// Why one step failed, before the pipeline decides what to do.
///
/// Each error is shared: the step's event carries it to every receiver, and the pipeline returns
/// the same error in [`PipelineError`] if it stops on it.
enum StepError {
    Stage(Arc<StageError>),
    Database(Arc<StoreError>),
    /// The blocking task panicked or was cancelled by a runtime shutdown.
    Aborted(Arc<JoinError>),
}

impl StepError {
    fn stage(error: StageError) -> Self {
        Self::Stage(Arc::new(error))
    }

    fn database(error: StoreError) -> Self {
        Self::Database(Arc::new(error))
    }

    fn aborted(error: JoinError) -> Self {
        Self::Aborted(Arc::new(error))
    }

    /// The failure as events report it.
    fn failure(&self) -> StepFailure {
        match self {
            Self::Stage(error) => StepFailure::from(error),
            Self::Database(error) => StepFailure::new(FailureKind::Local, error.clone()),
            Self::Aborted(error) => StepFailure::new(FailureKind::Fatal, error.clone()),
        }
    }
}

/// How a step without error ended.
enum Stepped<T> {
    /// Written and committed with its checkpoint.
    Committed(T),
    /// Abandoned on cancellation; its transaction was dropped, if one was open.
    Cancelled,
    /// An unwind step that did not lower the checkpoint; its transaction was dropped.
    Stalled,
}

impl<S: StateStore + ?Sized> Pipeline<S> {
    /// A pipeline owning `store` and running `stages` against it, with the default
    /// [`RetryPolicy`], an event channel of [`DEFAULT_EVENT_CAPACITY`] and a fresh
    /// [`CancelToken`].
    pub fn new(store: Arc<S>, stages: StageSet<S>) -> Self {
        let db = store;
        let (events, _) = broadcast::channel(DEFAULT_EVENT_CAPACITY);
        let stages = stages.into_stages();
        let ids: Vec<StageId> = stages.iter().map(|entry| entry.stage.id()).collect();
        let stages = stages
            .into_iter()
            .enumerate()
            .map(|(at, entry)| Slot {
                id: ids[at].clone(),
                stage: Arc::new(Mutex::new(entry.stage)),
                waits_for: (0..at)
                    .filter(|&before| !entry.alongside.contains(&ids[before]))
                    .collect(),
            })
            .collect();
        Self { db, stages, retry: RetryPolicy::default(), events, cancel: CancelToken::new() }
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

    /// This pipeline observing `token` (e.g. one shared with the rest of a client's shutdown)
    /// instead of its own.
    #[must_use]
    pub fn with_cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// The pipeline's cancellation switch: [`CancelToken::cancel`] on it (or a clone) stops the
    /// current and every later pass with [`ControlFlow::Cancelled`].
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// A receiver of every event emitted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PipelineEvent> {
        self.events.subscribe()
    }

    /// The ids of the stages, in execution order.
    pub fn stage_ids(&self) -> Vec<StageId> {
        self.stages.iter().map(|slot| slot.id.clone()).collect()
    }

    /// The earlier stages stage `id` runs alongside of (see
    /// [`StageSetBuilder::alongside`](crate::StageSetBuilder::alongside)); empty when it waits for
    /// every stage before it, or is not in the pipeline.
    pub fn alongside(&self, id: &StageId) -> Vec<StageId> {
        let Some(at) = self.stages.iter().position(|slot| &slot.id == id) else {
            return Vec::new();
        };
        let waits_for = &self.stages[at].waits_for;
        (0..at)
            .filter(|before| !waits_for.contains(before))
            .map(|before| self.stages[before].id.clone())
            .collect()
    }

    /// The store (to read the synced state afterwards, or to hand to other components).
    pub fn store(&self) -> &Arc<S> {
        &self.db
    }

    /// The committed checkpoint of stage `id`, `None` if it never committed.
    ///
    /// # Errors
    /// [`PipelineError::Database`], [`PipelineError::CorruptCheckpoint`].
    pub fn checkpoint(&self, id: &StageId) -> Result<Option<StageCheckpoint>, PipelineError> {
        load_checkpoint(&*self.db, id)
    }

    /// Runs every stage in order until each is done, resuming from the stored checkpoints, and
    /// returns [`ControlFlow::Finished`]. `target` is passed to the stages; a stage whose
    /// checkpoint has reached it (see [`ExecInput::target_reached`]) is skipped.
    ///
    /// A stage starts once every stage before it has finished, except those it runs
    /// [alongside](crate::StageSetBuilder::alongside) of: stages whose turn comes together run
    /// concurrently, each step by step (their write transactions take turns, as the store has
    /// one writer). When a stage finishes, every later stage that already finished, or is still
    /// running, in this pass ran while it was not done, so it runs again (once the running one
    /// is done): a headers stage that reached the tip while the state download was still
    /// following it catches up with the tip the download ended at. Without `alongside` the
    /// stages run strictly one after another.
    ///
    /// On cancellation it returns [`ControlFlow::Cancelled`]: at the next step boundary, at
    /// once while a stage's `ready` waits (its future is dropped) or during a retry's backoff,
    /// and when a running `execute` returns (its transaction is then dropped uncommitted).
    /// Dropping the returned future instead also loses nothing committed (a running `execute`
    /// finishes in the background and commits or not, with its checkpoint); a later run
    /// resumes from there.
    ///
    /// # Errors
    /// [`PipelineError::Fatal`] or [`PipelineError::RetriesExhausted`] from a stage,
    /// [`PipelineError::StepAborted`] when a stage's `execute` panics, database and checkpoint
    /// errors. The stages before the failing one have finished and committed.
    pub async fn run(&mut self, target: Option<u64>) -> Result<ControlFlow, PipelineError> {
        let this = &*self;
        let mut pass = vec![Pass::Waiting; this.stages.len()];
        let mut running = FuturesUnordered::new();
        loop {
            for index in this.startable(&pass) {
                pass[index] = Pass::Running { again: false };
                running.push(this.run_stage(index, target).map(move |ran| (index, ran)));
            }
            let Some((index, ran)) = running.next().await else {
                return Ok(ControlFlow::Finished { target });
            };
            if let Stepped::Cancelled = ran? {
                drop(running);
                return Ok(this.cancelled(Some(this.stages[index].id.clone())));
            }
            pass[index] = match pass[index] {
                Pass::Running { again: true } => Pass::Waiting,
                _ => Pass::Done,
            };
            for later in &mut pass[index + 1..] {
                *later = match *later {
                    Pass::Done => Pass::Waiting,
                    Pass::Running { .. } => Pass::Running { again: true },
                    Pass::Waiting => Pass::Waiting,
                };
            }
        }
    }

    /// The stages of this pass that can start now: waiting, with every stage they wait for
    /// done.
    fn startable(&self, pass: &[Pass]) -> Vec<usize> {
        self.stages
            .iter()
            .enumerate()
            .filter(|(index, slot)| {
                pass[*index] == Pass::Waiting
                    && slot.waits_for.iter().all(|&before| pass[before] == Pass::Done)
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Runs the stages to `target`, then asks `control` what to do next and does it, until it
    /// says [`Command::Stop`] or the [`CancelToken`] fires: [`Command::Continue`] runs every
    /// stage again to a new target (or, without one, to wherever the stages decide, e.g. a new
    /// tip), [`Command::Unwind`] unwinds them as [`unwind_to`](Self::unwind_to) does.
    ///
    /// Returns the flow of the last pass when told to stop, or [`ControlFlow::Cancelled`] when
    /// cancelled during a pass or while waiting for a command.
    ///
    /// # Errors
    /// Those of [`run`](Self::run) and [`unwind_to`](Self::unwind_to): the loop ends on the
    /// first failed pass. Everything committed before stays; calling `run_loop` again resumes
    /// from the stored checkpoints.
    pub async fn run_loop(
        &mut self,
        target: Option<u64>,
        control: &mut impl PipelineControl,
    ) -> Result<ControlFlow, PipelineError> {
        let mut flow = self.run(target).await?;
        loop {
            if flow.is_cancelled() {
                return Ok(flow);
            }
            let cancel = self.cancel.clone();
            let command = tokio::select! {
                biased;
                () = cancel.cancelled() => return Ok(self.cancelled(None)),
                command = control.next(&flow) => command,
            };
            debug!(target: "sync::pipeline", ?flow, ?command, "next command");
            flow = match command {
                Command::Continue { target } => self.run(target).await?,
                Command::Unwind { to } => self.unwind_to(to).await?,
                Command::Stop => return Ok(flow),
            };
        }
    }

    /// Reports a cancellation and returns its flow.
    fn cancelled(&self, stage: Option<StageId>) -> ControlFlow {
        info!(target: "sync::pipeline", stage = ?stage.as_ref().map(StageId::as_str), "cancelled");
        emit(&self.events, PipelineEvent::Cancelled { stage: stage.clone() });
        ControlFlow::Cancelled { stage }
    }

    /// Runs stage number `index` until it is done, or the pipeline is cancelled.
    async fn run_stage(
        &self,
        index: usize,
        target: Option<u64>,
    ) -> Result<Stepped<()>, PipelineError> {
        let Self { db, stages, retry, events, cancel } = self;
        let slot = &stages[index];
        let id = slot.id.clone();
        if cancel.is_cancelled() {
            return Ok(Stepped::Cancelled);
        }
        let mut checkpoint = load_checkpoint(&**db, &id)?;

        let start = ExecInput { target, checkpoint: checkpoint.clone() };
        if start.target_reached() {
            let checkpoint = start.checkpoint();
            debug!(target: "sync::pipeline", stage = %id, block = checkpoint.block_number, "target reached, skipping");
            emit(events, PipelineEvent::StageSkipped { stage: id, checkpoint });
            return Ok(Stepped::Committed(()));
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
            if cancel.is_cancelled() {
                return Ok(Stepped::Cancelled);
            }
            let input = ExecInput { target, checkpoint: checkpoint.clone() };
            let started = Instant::now();
            let error = match step(db, slot, input, cancel).await {
                // `step` never reports a stall (only unwind steps are checked).
                Ok(Stepped::Cancelled | Stepped::Stalled) => return Ok(Stepped::Cancelled),
                Ok(Stepped::Committed(ExecOutput { checkpoint: committed, done })) => {
                    failures = 0;
                    metrics::step(&id, started.elapsed(), &committed);
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
                        return Ok(Stepped::Committed(()));
                    }
                    continue;
                }
                Err(error) => error,
            };
            failures = failures.saturating_add(1);
            let will_retry = matches!(&error, StepError::Stage(e) if e.is_recoverable())
                && failures <= retry.max_retries;
            let failure = error.failure();
            metrics::failed(&id, failure.kind(), will_retry);
            warn!(target: "sync::pipeline", stage = %id, attempt = failures, will_retry, error = %failure, "step failed");
            emit(
                events,
                PipelineEvent::Error {
                    stage: id.clone(),
                    error: failure,
                    attempt: failures,
                    will_retry,
                },
            );
            if will_retry {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Ok(Stepped::Cancelled),
                    () = tokio::time::sleep(retry.backoff(failures)) => continue,
                }
            }
            let checkpoint = Box::new(checkpoint.unwrap_or_default());
            return Err(match error {
                StepError::Stage(source) if source.is_recoverable() => {
                    PipelineError::RetriesExhausted {
                        stage: id,
                        checkpoint,
                        attempts: failures,
                        source,
                    }
                }
                StepError::Stage(source) => PipelineError::Fatal { stage: id, checkpoint, source },
                StepError::Database(source) => PipelineError::Database { stage: id, source },
                StepError::Aborted(source) => PipelineError::StepAborted { stage: id, source },
            });
        }
    }

    /// Unwinds every stage whose checkpoint is above `block` down to it, last stage first, and
    /// returns [`ControlFlow::Unwound`]. Each unwind step runs in its own transaction (on the
    /// blocking pool, see [`Pipeline`]), committed with the stage's lowered checkpoint; steps
    /// repeat until the checkpoint is at or below `block`. Stages that never committed are left
    /// alone. Failures are not retried.
    ///
    /// On cancellation it returns [`ControlFlow::Cancelled`] between unwind steps, or when the
    /// running one returns (its transaction is then dropped uncommitted): every stage is left
    /// at a committed checkpoint that describes its data, some possibly still above `block`.
    ///
    /// # Errors
    /// [`PipelineError::Fatal`] for any stage failure, [`PipelineError::UnwindStalled`] when a
    /// step does not lower the checkpoint, [`PipelineError::StepAborted`] when `unwind` panics,
    /// database and checkpoint errors.
    pub async fn unwind_to(&mut self, block: u64) -> Result<ControlFlow, PipelineError> {
        for slot in self.stages.iter().rev() {
            let id = slot.id.clone();
            if self.cancel.is_cancelled() {
                return Ok(self.cancelled(Some(id)));
            }
            let Some(mut checkpoint) = load_checkpoint(&*self.db, &id)? else { continue };
            if checkpoint.block_number > block {
                info!(target: "sync::pipeline", stage = %id, from = checkpoint.block_number, to = block, "unwinding");
            }
            while checkpoint.block_number > block {
                if self.cancel.is_cancelled() {
                    return Ok(self.cancelled(Some(id)));
                }
                let from = checkpoint.block_number;
                let input = UnwindInput { checkpoint: checkpoint.clone(), unwind_to: block };
                let (failure, error) = match unwind_step(&self.db, slot, input, &self.cancel).await
                {
                    Ok(Stepped::Committed(lowered)) => {
                        checkpoint = lowered;
                        metrics::unwound(&id, &checkpoint);
                        debug!(target: "sync::pipeline", stage = %id, block = checkpoint.block_number, "unwind step committed");
                        emit(
                            &self.events,
                            PipelineEvent::Unwound {
                                stage: id.clone(),
                                checkpoint: checkpoint.clone(),
                            },
                        );
                        continue;
                    }
                    Ok(Stepped::Cancelled) => return Ok(self.cancelled(Some(id))),
                    Ok(Stepped::Stalled) => {
                        let stalled = || PipelineError::UnwindStalled {
                            stage: id.clone(),
                            from,
                            target: block,
                        };
                        (StepFailure::new(FailureKind::Fatal, Arc::new(stalled())), stalled())
                    }
                    Err(error) => {
                        let failure = error.failure();
                        let error = match error {
                            StepError::Stage(source) => PipelineError::Fatal {
                                stage: id.clone(),
                                checkpoint: Box::new(checkpoint),
                                source,
                            },
                            StepError::Database(source) => {
                                PipelineError::Database { stage: id.clone(), source }
                            }
                            StepError::Aborted(source) => {
                                PipelineError::StepAborted { stage: id.clone(), source }
                            }
                        };
                        (failure, error)
                    }
                };
                metrics::failed(&id, failure.kind(), false);
                warn!(target: "sync::pipeline", stage = %id, from, error = %failure, "unwind failed");
                emit(
                    &self.events,
                    PipelineEvent::Error {
                        stage: id,
                        error: failure,
                        attempt: 1,
                        will_retry: false,
                    },
                );
                return Err(error);
            }
        }
        Ok(ControlFlow::Unwound { block })
    }
}

/// One step: ready, then on the blocking pool execute in a transaction, store the checkpoint in
/// it, commit.
async fn step<S: StateStore + ?Sized>(
    db: &Arc<S>,
    slot: &Slot<S>,
    input: ExecInput,
    cancel: &CancelToken,
) -> Result<Stepped<ExecOutput>, StepError> {
    let mut stage = Arc::clone(&slot.stage).lock_owned().await;
    {
        // The step's snapshot, released before the write transaction opens.
        let view = db.reader().map_err(StepError::database)?;
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(Stepped::Cancelled),
            ready = stage.ready_boxed(&view, input.clone()) => ready.map_err(StepError::stage)?,
        }
    }
    let (db, id, cancel) = (Arc::clone(db), slot.id.clone(), cancel.clone());
    blocking(move || {
        let mut txn = db.writer().map_err(StepError::database)?;
        // On any error or cancellation below, `txn` is dropped uncommitted: nothing of the step
        // is visible.
        if cancel.is_cancelled() {
            return Ok(Stepped::Cancelled);
        }
        let output = stage.execute(&mut txn, input).map_err(StepError::stage)?;
        if cancel.is_cancelled() {
            return Ok(Stepped::Cancelled);
        }
        store_checkpoint(&mut txn, &id, &output.checkpoint).map_err(StepError::database)?;
        txn.commit().map_err(StepError::database)?;
        Ok(Stepped::Committed(output))
    })
    .await
    .map_err(StepError::aborted)?
}

/// One unwind step on the blocking pool: unwind in a transaction, check that the checkpoint went
/// down, store it, commit. Returns the lowered checkpoint.
async fn unwind_step<S: StateStore + ?Sized>(
    db: &Arc<S>,
    slot: &Slot<S>,
    input: UnwindInput,
    cancel: &CancelToken,
) -> Result<Stepped<StageCheckpoint>, StepError> {
    let mut stage = Arc::clone(&slot.stage).lock_owned().await;
    let (db, id, cancel) = (Arc::clone(db), slot.id.clone(), cancel.clone());
    blocking(move || {
        let mut txn = db.writer().map_err(StepError::database)?;
        // On any error or cancellation below, `txn` is dropped uncommitted.
        if cancel.is_cancelled() {
            return Ok(Stepped::Cancelled);
        }
        let from = input.checkpoint.block_number;
        let output = stage.unwind(&mut txn, input).map_err(StepError::stage)?;
        if output.checkpoint.block_number >= from {
            return Ok(Stepped::Stalled);
        }
        if cancel.is_cancelled() {
            return Ok(Stepped::Cancelled);
        }
        store_checkpoint(&mut txn, &id, &output.checkpoint).map_err(StepError::database)?;
        txn.commit().map_err(StepError::database)?;
        Ok(Stepped::Committed(output.checkpoint))
    })
    .await
    .map_err(StepError::aborted)?
}

/// Runs `work` where blocking is allowed: on the current tokio runtime's blocking pool, or inline
/// when there is no runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JoinError> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(work).await,
        Err(_) => Ok(work()),
    }
}

fn store_checkpoint<W: StateWrite + ?Sized>(
    txn: &mut W,
    id: &StageId,
    checkpoint: &StageCheckpoint,
) -> Result<(), StoreError> {
    txn.set_checkpoint(id.as_str(), &Bytes::from(checkpoint.encode()))
}

fn load_checkpoint<S: StateStore + ?Sized>(
    db: &S,
    id: &StageId,
) -> Result<Option<StageCheckpoint>, PipelineError> {
    let db_error = |source| PipelineError::Database { stage: id.clone(), source: Arc::new(source) };
    let stored = db.reader().map_err(db_error)?.checkpoint(id.as_str());
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
