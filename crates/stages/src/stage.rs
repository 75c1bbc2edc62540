//! The [`Stage`] trait: one step of sync, split into async waiting and a synchronous write.
//!
//! A step has two halves. [`Stage::ready`] is async and does the waiting: requesting data from
//! peers, verifying it, buffering it in memory. It holds no database transaction, because the
//! database allows one writer at a time and a network round trip must not block it.
//! [`Stage::execute`] is synchronous: it writes what `ready` gathered through the pipeline's
//! write transaction and returns the new checkpoint. The pipeline then stores that checkpoint in
//! the **same** transaction and commits, so a step's data and its checkpoint become durable
//! together or not at all.
//!
//! [`Stage::unwind`] undoes a stage's work above a block (after a reorg, or to redo a pivot),
//! again through a transaction the pipeline commits together with the lowered checkpoint.
//!
//! `execute` and `unwind` may block for seconds: the [`Pipeline`](crate::Pipeline) runs them
//! (with the transaction and the commit) on tokio's blocking thread pool, never on the async
//! runtime's worker threads. `ready` runs on the pipeline's task and must not block.
//!
//! # The store
//!
//! A stage is generic over the [`StateStore`] it runs on, and the pipeline owns that store:
//! `ready` receives a snapshot ([`StateStore::Reader`]) the pipeline took for this step, and
//! `execute`/`unwind` the step's write transaction ([`StateStore::Writer`]). A stage holds no
//! store handle of its own, so it can never write through one handle and read through another.
//! Stages of this workspace implement `Stage<S>` for every store `S`, reaching storage only
//! through the interface; a client's own stage may instead implement it for its concrete store
//! (e.g. `S: StateStore<Writer = snapsync_db::WriteTxn>`) to write a table of its own in the
//! same transaction as its checkpoint.
//!
//! `ready` returns a `Send` future (native async fn in trait), so a pipeline can run on a
//! multi-threaded runtime. Such a trait is not object-safe; [`BoxedStage`] is the object-safe
//! form the pipeline stores, implemented for every [`Stage`].

use crate::{StageCheckpoint, StageError, StageId};
use snapsync_storage::StateStore;
use std::{future::Future, pin::Pin};

/// What a stage is asked to do in an execution step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecInput {
    /// The block the pipeline is syncing to, if it has one.
    pub target: Option<u64>,
    /// The stage's last committed checkpoint; `None` before its first commit.
    pub checkpoint: Option<StageCheckpoint>,
}

impl ExecInput {
    /// The last committed checkpoint, or the empty one (block 0) before the first commit.
    pub fn checkpoint(&self) -> StageCheckpoint {
        self.checkpoint.clone().unwrap_or_default()
    }

    /// Whether the stage has reached the target: a target is set, the checkpoint is at or above
    /// it and carries no unfinished progress. The pipeline skips stages for which this holds.
    pub fn target_reached(&self) -> bool {
        match (self.target, &self.checkpoint) {
            (Some(target), Some(checkpoint)) => {
                checkpoint.block_number >= target && checkpoint.progress.is_none()
            }
            _ => false,
        }
    }
}

/// The result of an execution step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The checkpoint after this step; stored with the step's writes.
    pub checkpoint: StageCheckpoint,
    /// Whether the stage has finished; if not, the pipeline runs another step.
    pub done: bool,
}

impl ExecOutput {
    /// A step that finished the stage at `checkpoint`.
    pub const fn done(checkpoint: StageCheckpoint) -> Self {
        Self { checkpoint, done: true }
    }

    /// A step after which more work remains.
    pub const fn in_progress(checkpoint: StageCheckpoint) -> Self {
        Self { checkpoint, done: false }
    }
}

/// What a stage is asked to do in an unwind step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnwindInput {
    /// The stage's current committed checkpoint.
    pub checkpoint: StageCheckpoint,
    /// The block to unwind to: everything above it is to be removed.
    pub unwind_to: u64,
}

/// The result of an unwind step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnwindOutput {
    /// The checkpoint after the step; the pipeline repeats unwind steps until its block number is
    /// at or below the target, and each must lower it.
    pub checkpoint: StageCheckpoint,
}

/// A stage of the sync pipeline.
///
/// A step is [`ready`](Self::ready) (async, network work, no transaction open) then
/// [`execute`](Self::execute) (synchronous writes through the pipeline's transaction, which the
/// pipeline commits together with the returned checkpoint).
pub trait Stage<S: StateStore + ?Sized>: Send {
    /// The stage's stable id, also the key of its checkpoint.
    fn id(&self) -> StageId;

    /// Waits until the next [`execute`](Self::execute) can make progress, doing the network work
    /// of the step. `view` is a snapshot of the store taken by the pipeline for this step (no
    /// commit happens while `ready` runs, so it is current throughout). The default is ready at
    /// once (stages that only read the store).
    ///
    /// Runs on the pipeline's async task, so it must not block. The pipeline drops the future
    /// unfinished when it is cancelled (see [`CancelToken`](crate::CancelToken)).
    ///
    /// # Errors
    /// [`StageError::Recoverable`] to have the pipeline retry, anything else stops it.
    fn ready(
        &mut self,
        view: &S::Reader,
        input: ExecInput,
    ) -> impl Future<Output = Result<(), StageError>> + Send {
        let _ = (view, input);
        std::future::ready(Ok(()))
    }

    /// Writes one step's worth of data through `txn` and returns the new checkpoint. The pipeline
    /// stores the checkpoint in `txn` and commits; on error (or when cancelled meanwhile) it drops
    /// `txn`, discarding the writes. The stage must not commit `txn` itself (it cannot: it holds
    /// only a borrow).
    ///
    /// Runs on tokio's blocking thread pool (`spawn_blocking`; inline when there is no tokio
    /// runtime), so it may take seconds (a trie rebuild) without stalling the async runtime.
    ///
    /// # Errors
    /// As [`ready`](Self::ready).
    fn execute(&mut self, txn: &mut S::Writer, input: ExecInput) -> Result<ExecOutput, StageError>;

    /// Removes the stage's data above `input.unwind_to` (all of it, or one batch) through `txn`
    /// and returns the lowered checkpoint, stored and committed with the removal. Runs where
    /// blocking is allowed, as [`execute`](Self::execute) does.
    ///
    /// # Errors
    /// As [`ready`](Self::ready).
    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError>;
}

/// The future [`BoxedStage::ready_boxed`] returns.
pub type ReadyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StageError>> + Send + 'a>>;

/// The object-safe form of [`Stage`], implemented for every stage; what stage sets store.
pub trait BoxedStage<S: StateStore + ?Sized>: Send {
    /// [`Stage::id`].
    fn id(&self) -> StageId;

    /// [`Stage::ready`], boxed.
    fn ready_boxed<'a>(&'a mut self, view: &'a S::Reader, input: ExecInput) -> ReadyFuture<'a>;

    /// [`Stage::execute`].
    ///
    /// # Errors
    /// As [`Stage::execute`].
    fn execute(&mut self, txn: &mut S::Writer, input: ExecInput) -> Result<ExecOutput, StageError>;

    /// [`Stage::unwind`].
    ///
    /// # Errors
    /// As [`Stage::unwind`].
    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError>;
}

impl<S: StateStore + ?Sized, T: Stage<S>> BoxedStage<S> for T {
    fn id(&self) -> StageId {
        Stage::<S>::id(self)
    }

    fn ready_boxed<'a>(&'a mut self, view: &'a S::Reader, input: ExecInput) -> ReadyFuture<'a> {
        Box::pin(Stage::ready(self, view, input))
    }

    fn execute(&mut self, txn: &mut S::Writer, input: ExecInput) -> Result<ExecOutput, StageError> {
        Stage::<S>::execute(self, txn, input)
    }

    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        Stage::<S>::unwind(self, txn, input)
    }
}
