//! [`StageExecutor`]: the [`EvmExecutor`] behind the chain stages' `ExecutionStage`, with a
//! change set per executed block so the stage can unwind.
//!
//! Each executed block's [`ChangeSet`] is stored with the block's writes, as the progress record
//! [`change_set_key`]`(number)`, in the same transaction. Unwinding reverts the change sets from
//! the highest block down, removes them, updates the state root over the reverted keys and
//! checks it is the state root of the block below the range: the flat state and the trie are
//! then exactly what they were before those blocks.

use crate::{BlockError, ChangeSet, EvmExecutor, StateRoot, Touched, revert_changes};
use alloy_primitives::{Bytes, Sealable};
use snapsync_chain_stages::{BlockExecutor, StoredBlock, stored_header};
use snapsync_storage::StateWrite;
use std::{
    ops::RangeInclusive,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tracing::info;

/// The progress-record key of block `number`'s change set.
pub fn change_set_key(number: u64) -> String {
    format!("execution/changes/{number:020}")
}

/// Counters of what a [`StageExecutor`] executed (shared: the executor moves into the stage).
#[derive(Debug, Default)]
pub struct ExecutionStats {
    blocks: AtomicU64,
    gas: AtomicU64,
    transactions: AtomicU64,
    nanos: AtomicU64,
}

impl ExecutionStats {
    /// Blocks executed (including those of steps later dropped and retried).
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::Relaxed)
    }

    /// Gas used by those blocks.
    pub fn gas_used(&self) -> u64 {
        self.gas.load(Ordering::Relaxed)
    }

    /// Their transactions.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Time spent executing them (each block's execution, state root and change set included).
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// The EVM executor as the execution stage's `BlockExecutor`. See the module docs.
#[derive(Debug, Clone)]
pub struct StageExecutor {
    executor: EvmExecutor,
    stats: Arc<ExecutionStats>,
}

impl StageExecutor {
    /// A stage executor running `executor`.
    pub fn new(executor: EvmExecutor) -> Self {
        Self { executor, stats: Arc::default() }
    }

    /// The counters, shared with the executor.
    pub fn stats(&self) -> Arc<ExecutionStats> {
        self.stats.clone()
    }
}

/// A block fault stops the pipeline (retrying cannot change the block); a store failure is the
/// database's.
fn stage_error(error: BlockError) -> snapsync_chain_stages::ExecutorError {
    use snapsync_chain_stages::ExecutorError;
    match error {
        BlockError::Store(error) => ExecutorError::Database(error),
        error => ExecutorError::fatal(error),
    }
}

impl<W: StateWrite + ?Sized> BlockExecutor<W> for StageExecutor {
    fn execute(
        &mut self,
        txn: &mut W,
        block: &StoredBlock,
    ) -> Result<(), snapsync_chain_stages::ExecutorError> {
        use snapsync_chain_stages::ExecutorError;
        let number = block.number();
        let parent_number = number.checked_sub(1).ok_or_else(|| {
            ExecutorError::fatal("block 0 (the genesis) is not executed: its state is the alloc")
        })?;
        let started = Instant::now();
        let parent = stored_header(&*txn, parent_number).map_err(ExecutorError::fatal)?.seal_slow();
        let executed =
            self.executor.execute(txn, &parent, &block.header, &block.body).map_err(stage_error)?;
        txn.set_progress(&change_set_key(number), &Bytes::from(executed.changes.encode()))?;
        // Checked against the header's receipts root: stored as the receipts stage stores them,
        // so the node serves them (eth GetReceipts) like any other block's.
        txn.put_block_receipts(number, &Bytes::from(alloy_rlp::encode(&executed.receipts)))?;
        self.stats.blocks.fetch_add(1, Ordering::Relaxed);
        self.stats.gas.fetch_add(executed.gas_used, Ordering::Relaxed);
        self.stats.transactions.fetch_add(executed.transactions, Ordering::Relaxed);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.nanos.fetch_add(nanos, Ordering::Relaxed);
        Ok(())
    }

    fn unwind(
        &mut self,
        txn: &mut W,
        blocks: RangeInclusive<u64>,
    ) -> Result<(), snapsync_chain_stages::ExecutorError> {
        use snapsync_chain_stages::ExecutorError;
        let mut touched = Touched::default();
        for number in blocks.clone().rev() {
            let key = change_set_key(number);
            let record = txn
                .progress(&key)?
                .ok_or_else(|| ExecutorError::fatal(format!("block {number} has no change set")))?;
            let changes = ChangeSet::decode(&record).ok_or_else(|| {
                ExecutorError::fatal(format!("block {number}'s change set does not decode"))
            })?;
            touched.extend(&revert_changes(txn, &changes).map_err(stage_error)?);
            txn.delete_progress(&key)?;
            txn.delete_block_receipts(number)?;
        }
        let below = blocks.start().saturating_sub(1);
        let expected = stored_header(&*txn, below).map_err(ExecutorError::fatal)?.state_root;
        let root = StateRoot::update(txn, &touched).map_err(stage_error)?;
        if root != expected {
            return Err(ExecutorError::fatal(format!(
                "after unwinding to block {below} the state root is {root}, not its header's \
                 {expected}"
            )));
        }
        info!(target: "sync::execution", from = blocks.start(), to = blocks.end(), %root, "unwound");
        Ok(())
    }
}
