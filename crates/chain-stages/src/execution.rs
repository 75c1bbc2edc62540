//! [`ExecutionStage`]: the stored blocks above the pivot, executed in order by a
//! [`BlockExecutor`].
//!
//! # What it executes
//!
//! Snap sync leaves the state at the pivot; the headers and bodies stages store the verified
//! blocks above it. This stage hands those blocks, one at a time and in increasing order, to a
//! [`BlockExecutor`] (the EVM, in a real client; a recorder, in tests), which applies them to the
//! state through the pipeline's write transaction. The stage itself knows nothing of the EVM.
//!
//! # Steps and checkpoints
//!
//! The first block to execute is the configured start ([`ExecutionConfig::start`]; after a snap
//! sync, the block after that stage's finished checkpoint: the pivot + 1), then the block after
//! the stage's own checkpoint, never below the start (see [`StageStart`]). Each step executes at
//! most [`ExecutionConfig::batch_size`] blocks, up to the highest block whose body is stored in
//! `Bodies` (and at most the pipeline's target, when it has one), and returns the last executed
//! block as the checkpoint, committed by the pipeline with everything the executor wrote. So
//! after a restart no committed block is executed again, and a failed step leaves nothing of its
//! blocks behind. With nothing to execute the stage finishes at the block before the next one (on
//! the first run: the pivot, the block the state is at).
//!
//! # Failures
//!
//! An executor's [`ExecutorError`] comes back as [`ExecutionError::Executor`], naming the block;
//! it is recoverable (the pipeline retries the step, executing its blocks again from the
//! checkpoint) or fatal as the executor's error says. A missing or undecodable stored header or
//! body is fatal.
//!
//! # Unwind
//!
//! Unwinding calls [`BlockExecutor::unwind`] with the executed blocks above the unwind target,
//! at most `batch_size` of them per step (highest first), each step committed with the lowered
//! checkpoint. Blocks below the start were not executed by this stage (their state came from snap
//! sync) and are never passed to the executor: the checkpoint just moves below them.
//!
//! Logs use the tracing target `sync::execution`.

use crate::{ExecutionError, ExecutorError, StageStart, stored::stored_header};
use alloy_consensus::Header;
use alloy_primitives::{B256, Sealable, Sealed};
use alloy_rlp::Decodable;
use snapsync_net::EthBlockBody;
use snapsync_stages::{
    ExecInput, ExecOutput, Stage, StageCheckpoint, StageError, StageId, UnwindInput, UnwindOutput,
};
use snapsync_storage::{StateRead, StateStore, StateWrite};
use std::ops::RangeInclusive;
use tracing::{debug, info};

/// A block read back from the stages' storage: its header (`Headers`, linked to the trusted
/// tip by the headers stage) and its body (`Bodies`, checked against the header by the bodies
/// stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlock {
    /// The header, with its hash.
    pub header: Sealed<Header>,
    /// The body.
    pub body: EthBlockBody,
}

impl StoredBlock {
    /// The block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }

    /// The block hash.
    pub fn hash(&self) -> B256 {
        self.header.hash()
    }
}

/// Applies blocks to the state; what the [`ExecutionStage`] drives.
///
/// The stage calls [`execute`](Self::execute) once per block, in increasing order, each block's
/// parent having been executed (or being the pivot, whose state snap sync stored). Every effect
/// must go through `txn`: the pipeline commits it with the stage's checkpoint, or drops it when
/// the step fails, after which the same blocks are executed again. An executor must therefore
/// keep no state across calls that assumes a step was committed (a cache of the state must be
/// rebuilt from the database or keyed by what the database holds).
pub trait BlockExecutor<W: StateWrite + ?Sized>: Send {
    /// Executes `block` on the state in `txn`, writing its effects through `txn`.
    ///
    /// # Errors
    /// [`ExecutorError::Recoverable`] to have the pipeline retry the step,
    /// [`ExecutorError::Fatal`] (an invalid block, a state that does not match) or
    /// [`ExecutorError::Database`] to stop it.
    fn execute(&mut self, txn: &mut W, block: &StoredBlock) -> Result<(), ExecutorError>;

    /// Reverts the effects of the executed blocks `blocks` (a contiguous range ending at the
    /// highest executed block) through `txn`, leaving the state at block `blocks.start() - 1`.
    ///
    /// # Errors
    /// As [`execute`](Self::execute); unwind failures are not retried by the pipeline.
    fn unwind(&mut self, txn: &mut W, blocks: RangeInclusive<u64>) -> Result<(), ExecutorError>;
}

impl<W: StateWrite + ?Sized, E: BlockExecutor<W> + ?Sized> BlockExecutor<W> for Box<E> {
    fn execute(&mut self, txn: &mut W, block: &StoredBlock) -> Result<(), ExecutorError> {
        (**self).execute(txn, block)
    }

    fn unwind(&mut self, txn: &mut W, blocks: RangeInclusive<u64>) -> Result<(), ExecutorError> {
        (**self).unwind(txn, blocks)
    }
}

/// Settings of the [`ExecutionStage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionConfig {
    /// The first block to execute: the block after another stage's checkpoint (the snap sync
    /// pivot + 1), or a fixed block. No block below it is ever executed.
    pub start: StageStart,
    /// Most blocks executed per committed step (and reverted per unwind step).
    pub batch_size: u64,
}

impl ExecutionConfig {
    /// Blocks per committed step by default: a crash loses at most this much execution, and one
    /// step's writes stay bounded.
    pub const DEFAULT_BATCH_SIZE: u64 = 1_000;

    /// The default batch size, executing from the block after the one `stage`'s finished
    /// checkpoint reached.
    pub const fn after_stage(stage: StageId) -> Self {
        Self::starting(StageStart::AfterStage(stage))
    }

    /// The default batch size, executing from `start`.
    pub const fn starting(start: StageStart) -> Self {
        Self { start, batch_size: Self::DEFAULT_BATCH_SIZE }
    }
}

/// Executes the stored blocks with a [`BlockExecutor`]. See the module docs.
#[derive(Debug)]
pub struct ExecutionStage<E> {
    executor: E,
    config: ExecutionConfig,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Nothing to execute: finish at this block.
    Done(u64),
    /// Execute `first..=last`; the stage is done afterwards when `done`.
    Execute { first: u64, last: u64, done: bool },
}

impl<E> ExecutionStage<E> {
    /// An execution stage driving `executor`.
    pub const fn new(executor: E, config: ExecutionConfig) -> Self {
        Self { executor, config }
    }

    /// The executor.
    pub const fn executor(&self) -> &E {
        &self.executor
    }

    /// The executor, giving up the stage.
    pub fn into_executor(self) -> E {
        self.executor
    }

    /// The blocks the next step executes.
    fn plan(&self, txn: &(impl StateRead + ?Sized), input: &ExecInput) -> Result<Plan, StageError> {
        let start = self.config.start.first_block(txn)?;
        let next = input
            .checkpoint
            .as_ref()
            .map_or(start, |checkpoint| checkpoint.block_number.saturating_add(1).max(start));
        let highest_body = txn.last_body()?.map(|(number, _)| number);
        let limit = match (highest_body, input.target) {
            (Some(body), Some(target)) => Some(body.min(target)),
            (body, _) => body,
        };
        let Some(limit) = limit.filter(|&limit| limit >= next) else {
            return Ok(Plan::Done(next.saturating_sub(1)));
        };
        let last = limit.min(next.saturating_add(self.config.batch_size.max(1) - 1));
        Ok(Plan::Execute { first: next, last, done: last == limit })
    }
}

/// Reads stored block `number`: its header and its body.
fn stored_block(view: &(impl StateRead + ?Sized), number: u64) -> Result<StoredBlock, StageError> {
    let header = stored_header(view, number)?.seal_slow();
    let rlp = view.body(number)?.ok_or(ExecutionError::MissingBody { number })?;
    let body = EthBlockBody::decode(&mut rlp.as_ref())
        .map_err(|source| ExecutionError::CorruptBody { number, source })?;
    Ok(StoredBlock { header, body })
}

impl<S: StateStore + ?Sized, E: BlockExecutor<S::Writer>> Stage<S> for ExecutionStage<E> {
    fn id(&self) -> StageId {
        StageId::EXECUTION
    }

    fn execute(&mut self, txn: &mut S::Writer, input: ExecInput) -> Result<ExecOutput, StageError> {
        let (first, last, done) = match self.plan(txn, &input)? {
            Plan::Done(block) => return Ok(ExecOutput::done(StageCheckpoint::new(block))),
            Plan::Execute { first, last, done } => (first, last, done),
        };
        for number in first..=last {
            let block = stored_block(txn, number)?;
            self.executor.execute(txn, &block).map_err(|source| ExecutionError::Executor {
                number,
                hash: block.hash(),
                source,
            })?;
        }
        debug!(target: "sync::execution", first, last, "blocks executed");
        let checkpoint = StageCheckpoint::new(last);
        if done {
            info!(target: "sync::execution", block = last, "execution caught up");
            return Ok(ExecOutput::done(checkpoint));
        }
        Ok(ExecOutput::in_progress(checkpoint))
    }

    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        let top = input.checkpoint.block_number;
        let start = self.config.start.first_block(txn)?;
        let batch = self.config.batch_size.max(1);
        // The lowest block this step reverts, were every block executed by this stage.
        let lowest = input.unwind_to.saturating_add(1).max(top.saturating_sub(batch - 1));
        let from = lowest.max(start);
        if from <= top {
            self.executor.unwind(txn, from..=top).map_err(|source| ExecutionError::Unwind {
                from,
                to: top,
                source,
            })?;
        }
        // Below the start nothing was executed: the checkpoint drops straight to the target.
        let block = if lowest <= start { input.unwind_to } else { lowest - 1 };
        info!(target: "sync::execution", from, to = top, checkpoint = block, "unwound");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(block) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::Bytes;
    use snapsync_stages::{Pipeline, PipelineError, PipelineEvent, RetryPolicy, StageSet};
    // These tests run over `MapStore`, the second implementation of the storage seam (the
    // integration tests run the stage over snapsync-db).
    use snapsync_sim::{GeneratedChain, StateSpec};
    use snapsync_storage::test_utils::MapStore;

    /// The id of the stand-in for the snap sync stage this stage follows.
    const SNAP: StageId = StageId::new("SnapSync");
    use std::{
        sync::{Arc, Mutex},
        time::Duration,
    };

    /// The pivot the fake snap sync checkpoint names.
    const PIVOT: u64 = 5;
    /// The chain's head.
    const HEAD: u64 = 20;

    /// What the recording executor saw.
    #[derive(Debug, Default)]
    struct Log {
        /// Every `execute` call, failed ones included.
        executed: Vec<u64>,
        /// Every `unwind` call.
        unwound: Vec<RangeInclusive<u64>>,
    }

    /// Records each call and writes a marker per executed block (removed by unwind), so the
    /// committed markers show what was executed durably. Fails once at `fail_at`.
    struct Recorder {
        log: Arc<Mutex<Log>>,
        fail_at: Option<(u64, bool)>,
    }

    impl Recorder {
        fn new() -> (Self, Arc<Mutex<Log>>) {
            let log = Arc::new(Mutex::new(Log::default()));
            (Self { log: log.clone(), fail_at: None }, log)
        }

        fn failing_at(number: u64, recoverable: bool) -> (Self, Arc<Mutex<Log>>) {
            let (mut recorder, log) = Self::new();
            recorder.fail_at = Some((number, recoverable));
            (recorder, log)
        }
    }

    fn marker(number: u64) -> String {
        format!("executed/{number:08}")
    }

    impl<W: StateWrite + ?Sized> BlockExecutor<W> for Recorder {
        fn execute(&mut self, txn: &mut W, block: &StoredBlock) -> Result<(), ExecutorError> {
            self.log.lock().unwrap().executed.push(block.number());
            if let Some((number, recoverable)) = self.fail_at
                && number == block.number()
            {
                self.fail_at = None;
                let message = format!("cannot execute {number}");
                return Err(if recoverable {
                    ExecutorError::recoverable(message)
                } else {
                    ExecutorError::fatal(message)
                });
            }
            txn.set_progress(&marker(block.number()), &Bytes::from(block.hash().to_vec()))?;
            Ok(())
        }

        fn unwind(
            &mut self,
            txn: &mut W,
            blocks: RangeInclusive<u64>,
        ) -> Result<(), ExecutorError> {
            self.log.lock().unwrap().unwound.push(blocks.clone());
            for number in blocks {
                txn.delete_progress(&marker(number))?;
            }
            Ok(())
        }
    }

    fn chain() -> GeneratedChain {
        GeneratedChain::new(11, &StateSpec::small().with_accounts(50), HEAD, 0)
    }

    /// A database where snap sync finished at `PIVOT`, with headers `PIVOT..=HEAD` and bodies
    /// `PIVOT + 1..=bodies_to`.
    fn synced_db(chain: &GeneratedChain, bodies_to: u64) -> Arc<MapStore> {
        let db = Arc::new(MapStore::new());
        let mut txn = db.writer().unwrap();
        let checkpoint = Bytes::from(StageCheckpoint::new(PIVOT).encode());
        txn.set_checkpoint(SNAP.as_str(), &checkpoint).unwrap();
        for number in PIVOT..=HEAD {
            let header = chain.header(number).unwrap();
            let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
            txn.put_header(number, &header.hash(), &rlp).unwrap();
        }
        txn.commit().unwrap();
        store_bodies(&db, chain, PIVOT + 1..=bodies_to);
        db
    }

    fn store_bodies(db: &MapStore, chain: &GeneratedChain, blocks: RangeInclusive<u64>) {
        let mut txn = db.writer().unwrap();
        for number in blocks {
            let body = Bytes::from(alloy_rlp::encode(chain.body(number).unwrap()));
            txn.put_body(number, &body).unwrap();
        }
        txn.commit().unwrap();
    }

    fn pipeline(db: &Arc<MapStore>, executor: Recorder, batch_size: u64) -> Pipeline<MapStore> {
        let config = ExecutionConfig { batch_size, ..ExecutionConfig::after_stage(SNAP) };
        let stages =
            StageSet::builder().add(ExecutionStage::new(executor, config)).unwrap().build();
        let retry = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        };
        Pipeline::new(db.clone(), stages).with_retry_policy(retry)
    }

    /// The blocks whose markers are committed, checked against the chain's hashes.
    fn committed(db: &MapStore, chain: &GeneratedChain) -> Vec<u64> {
        let view = db.reader().unwrap();
        let mut blocks = Vec::new();
        for entry in view.progress_records().unwrap() {
            let (key, hash) = entry.unwrap();
            let number: u64 = key.strip_prefix("executed/").unwrap().parse().unwrap();
            assert_eq!(hash.as_ref(), chain.header(number).unwrap().hash().as_slice());
            blocks.push(number);
        }
        blocks
    }

    fn checkpoint(pipeline: &Pipeline<MapStore>) -> StageCheckpoint {
        pipeline.checkpoint(&StageId::EXECUTION).unwrap().unwrap()
    }

    #[tokio::test]
    async fn executes_each_stored_block_once_in_order() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let (executor, log) = Recorder::new();
        let mut pipeline = pipeline(&db, executor, 4);
        let mut events = pipeline.subscribe();
        pipeline.run(None).await.unwrap();
        let expected: Vec<u64> = (PIVOT + 1..=HEAD).collect();
        assert_eq!(log.lock().unwrap().executed, expected);
        assert_eq!(committed(&db, &chain), expected);
        assert_eq!(checkpoint(&pipeline), StageCheckpoint::new(HEAD));
        // 15 blocks in steps of 4: 6..=9, 10..=13, 14..=17, 18..=20.
        let mut steps = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let PipelineEvent::StageProgress { checkpoint, .. } = event {
                steps.push(checkpoint.block_number);
            }
        }
        assert_eq!(steps, [9, 13, 17, 20]);

        // Nothing new stored: a second run executes nothing.
        pipeline.run(None).await.unwrap();
        assert_eq!(log.lock().unwrap().executed.len(), expected.len());
    }

    #[tokio::test]
    async fn resumes_after_a_restart_without_executing_again() {
        let chain = chain();
        let db = synced_db(&chain, 15);
        let (executor, log) = Recorder::new();
        pipeline(&db, executor, 4).run(Some(12)).await.unwrap();
        assert_eq!(log.lock().unwrap().executed, (6..=12).collect::<Vec<_>>());

        // A new process: new pipeline, new executor. It stops at the highest stored body.
        let (executor, log) = Recorder::new();
        let mut second = pipeline(&db, executor, 4);
        second.run(None).await.unwrap();
        assert_eq!(log.lock().unwrap().executed, [13, 14, 15]);
        assert_eq!(checkpoint(&second), StageCheckpoint::new(15));

        store_bodies(&db, &chain, 16..=HEAD);
        second.run(None).await.unwrap();
        assert_eq!(log.lock().unwrap().executed, (13..=HEAD).collect::<Vec<_>>());
        assert_eq!(committed(&db, &chain), (PIVOT + 1..=HEAD).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn with_nothing_stored_it_finishes_at_the_pivot() {
        let chain = chain();
        let db = synced_db(&chain, PIVOT);
        let (executor, log) = Recorder::new();
        let mut pipeline = pipeline(&db, executor, 4);
        pipeline.run(None).await.unwrap();
        assert!(log.lock().unwrap().executed.is_empty());
        assert_eq!(checkpoint(&pipeline), StageCheckpoint::new(PIVOT));
    }

    #[tokio::test]
    async fn a_recoverable_executor_error_retries_the_step() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let (executor, log) = Recorder::failing_at(11, true);
        let mut pipeline = pipeline(&db, executor, 4);
        let mut events = pipeline.subscribe();
        pipeline.run(None).await.unwrap();
        // The failed step (10..=13) was dropped and executed again from block 10.
        let mut expected: Vec<u64> = (6..=11).collect();
        expected.extend(10..=HEAD);
        assert_eq!(log.lock().unwrap().executed, expected);
        assert_eq!(committed(&db, &chain), (PIVOT + 1..=HEAD).collect::<Vec<_>>());
        let retried = std::iter::from_fn(|| events.try_recv().ok()).any(|event| {
            matches!(event, PipelineEvent::Error { error, will_retry: true, .. }
                if error.is_recoverable()
                    && error.message().contains("executing block 11")
                    && error.message().contains("cannot execute 11"))
        });
        assert!(retried);
    }

    #[tokio::test]
    async fn a_fatal_executor_error_stops_at_the_last_commit() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let (executor, log) = Recorder::failing_at(11, false);
        let mut pipeline = pipeline(&db, executor, 4);
        let error = pipeline.run(None).await.unwrap_err();
        let PipelineError::Fatal { stage, checkpoint, source } = &error else { panic!("{error}") };
        assert_eq!(stage, &StageId::EXECUTION);
        assert_eq!(checkpoint.block_number, 9);
        let message = source.to_string();
        assert!(message.contains("executing block 11") && message.contains("fatal"), "{message}");
        assert_eq!(log.lock().unwrap().executed, (6..=11).collect::<Vec<_>>());
        assert_eq!(committed(&db, &chain), (6..=9).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn without_a_finished_snap_sync_it_fails_fatally() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let mut txn = db.writer().unwrap();
        txn.delete_checkpoint(SNAP.as_str()).unwrap();
        txn.commit().unwrap();
        let (executor, log) = Recorder::new();
        let error = pipeline(&db, executor, 4).run(None).await.unwrap_err();
        let PipelineError::Fatal { stage, source, .. } = &error else { panic!("{error}") };
        assert_eq!(stage, &StageId::EXECUTION);
        assert!(source.to_string().contains("stage SnapSync has no checkpoint"), "{source}");
        assert!(log.lock().unwrap().executed.is_empty());
    }

    #[tokio::test]
    async fn a_missing_body_below_the_highest_is_fatal() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let mut txn = db.writer().unwrap();
        txn.delete_body(8).unwrap();
        txn.commit().unwrap();
        let (executor, _log) = Recorder::new();
        let error = pipeline(&db, executor, 4).run(None).await.unwrap_err();
        let PipelineError::Fatal { source, .. } = &error else { panic!("{error}") };
        assert!(source.to_string().contains("body of block 8 is missing"), "{source}");
        assert_eq!(committed(&db, &chain), Vec::<u64>::new());
    }

    #[tokio::test]
    async fn unwind_reverts_executed_blocks_in_batches_and_never_below_the_pivot() {
        let chain = chain();
        let db = synced_db(&chain, HEAD);
        let (executor, log) = Recorder::new();
        let mut pipeline = pipeline(&db, executor, 4);
        pipeline.run(None).await.unwrap();

        pipeline.unwind_to(12).await.unwrap();
        assert_eq!(log.lock().unwrap().unwound, [17..=20, 13..=16]);
        assert_eq!(checkpoint(&pipeline), StageCheckpoint::new(12));
        assert_eq!(committed(&db, &chain), (6..=12).collect::<Vec<_>>());

        // Below the pivot: blocks 6..=12 are reverted, the checkpoint drops to 2 without asking
        // the executor about blocks it never executed.
        pipeline.unwind_to(2).await.unwrap();
        assert_eq!(log.lock().unwrap().unwound, [17..=20, 13..=16, 9..=12, 6..=8]);
        assert_eq!(checkpoint(&pipeline), StageCheckpoint::new(2));
        assert!(committed(&db, &chain).is_empty());

        // The state is still the pivot's: execution restarts after it, not at block 3.
        log.lock().unwrap().executed.clear();
        pipeline.run(None).await.unwrap();
        assert_eq!(log.lock().unwrap().executed, (PIVOT + 1..=HEAD).collect::<Vec<_>>());
    }

    #[test]
    fn a_config_starts_where_it_is_told() {
        let config = ExecutionConfig::after_stage(SNAP);
        assert_eq!(config.start, StageStart::AfterStage(SNAP));
        assert_eq!(config.batch_size, ExecutionConfig::DEFAULT_BATCH_SIZE);
        let config = ExecutionConfig::starting(StageStart::Block(1));
        assert_eq!(config.start, StageStart::Block(1));
    }
}
