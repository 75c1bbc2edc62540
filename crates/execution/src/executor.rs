//! [`EvmExecutor`]: one block on revm through alloy-evm's Ethereum block executor, checked
//! against its header, its effects written through the storage seam.
//!
//! # A block, step by step
//!
//! 1. The header is checked against its parent ([`validate_header`]) and the body against the
//!    header (`verify_body`: transactions, ommers and withdrawals roots); the senders are
//!    recovered from the signatures, on every core for a block of many (`senders`).
//! 2. alloy-evm's [`EthBlockExecutor`] runs the block on a revm `State` over
//!    [`HashedStateDb`]: the EIP-2935 and EIP-4788 system calls, the transactions, the EIP-7002
//!    and EIP-7251 request system calls and EIP-6110 deposits, the block and ommer rewards, the
//!    withdrawals and the DAO fork's transfer, under the fork rules of [`ChainRules`].
//! 3. Gas used, blob gas used, receipts root, logs bloom and requests hash are compared with
//!    the header. Up to here nothing was written.
//! 4. The changed accounts, slots and codes are written ([`write_changes`]) and the state root
//!    is recomputed over the written state (only the changed paths rehashed: [`StateRoot`]) and
//!    compared with the header's. The writes are in the caller's transaction: on a mismatch the
//!    caller drops it, so nothing of the block is committed.
//!
//! Logs use the tracing target `sync::execution`.

use crate::{
    BlockError, ChainRules, ChangeSet, HashedStateDb, HeaderField, StateRoot,
    collision::StorageCollision, senders::recover_senders, validate_block_size, validate_header,
    write_changes,
};
use alloy_consensus::{
    Header, ReceiptEnvelope, TxEnvelope, TxReceipt, proofs::calculate_receipt_root,
    transaction::Recovered,
};
use alloy_eips::eip4895::Withdrawal;
use alloy_evm::{
    EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor as _},
    eth::{
        EthBlockExecutionCtx, EthBlockExecutor, EthEvmFactory, receipt_builder::AlloyReceiptBuilder,
    },
};
use alloy_primitives::{B256, Bloom, Sealed};
use revm::database::{BundleState, State, states::bundle_state::BundleRetention};
use snapsync_fetch::verify_body;
use snapsync_net::EthBlockBody;
use snapsync_storage::StateWrite;
use std::{borrow::Cow, fmt::Display, sync::Arc};
use tracing::debug;

/// What executing one block produced (its effects are in the transaction it was executed in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutedBlock {
    /// The block number.
    pub number: u64,
    /// The block hash.
    pub hash: B256,
    /// Gas used by its transactions (equal to the header's).
    pub gas_used: u64,
    /// Its transactions.
    pub transactions: u64,
    /// What it changed, with the values before: enough to revert it.
    pub changes: ChangeSet,
    /// Its receipts, in transaction order (their root, bloom and gas equal the header's).
    pub receipts: Vec<ReceiptEnvelope>,
    /// Time spent writing the block's changes and updating the storage tries and the account
    /// trie over them (the incremental state root, [`StateRoot`]), for figures.
    pub state_update_time: std::time::Duration,
}

/// Executes blocks under a chain's rules. See the module docs.
#[derive(Debug, Clone)]
pub struct EvmExecutor {
    rules: Arc<ChainRules>,
}

impl EvmExecutor {
    /// An executor for the chain `rules` describes.
    pub fn new(rules: ChainRules) -> Self {
        Self { rules: Arc::new(rules) }
    }

    /// The chain's rules.
    pub fn rules(&self) -> &ChainRules {
        &self.rules
    }

    /// Executes `block` (with `body`) on the state in `txn`, which must be `parent`'s, and
    /// writes its effects into `txn`.
    ///
    /// # Errors
    /// [`BlockError::NotNext`] when `block` is not `parent`'s child, [`BlockError::Invalid`] for
    /// a block breaking a rule, [`BlockError::Mismatch`] for a block whose execution disagrees
    /// with its header — *`txn` may then hold part of the block's writes and must be
    /// dropped* — and store failures.
    pub fn execute<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        parent: &Sealed<Header>,
        block: &Sealed<Header>,
        body: &EthBlockBody,
    ) -> Result<ExecutedBlock, BlockError> {
        let (number, hash) = (block.number, block.hash());
        let invalid =
            |reason: &dyn Display| BlockError::Invalid { number, hash, reason: reason.to_string() };
        if block.parent_hash != parent.hash() || Some(number) != parent.number.checked_add(1) {
            return Err(BlockError::NotNext {
                number,
                parent: block.parent_hash,
                state_block: parent.number,
                state_hash: parent.hash(),
            });
        }
        validate_header(&self.rules, parent, block).map_err(|reason| invalid(&reason))?;
        verify_body(block, body).map_err(|mismatch| invalid(&mismatch))?;
        validate_block_size(&self.rules, block, body).map_err(|reason| invalid(&reason))?;
        let transactions =
            recover_senders(&body.transactions).map_err(|reason| invalid(&reason))?;

        let (outcome, bundle) = self.run_evm(&*txn, block, body, &transactions)?;
        self.check_outcome(block, &outcome)?;

        let update_started = std::time::Instant::now();
        let written = write_changes(txn, &bundle)?;
        let root = StateRoot::update_accounts(txn, &written.touched.accounts)?;
        let state_update_time = update_started.elapsed();
        if root != block.state_root {
            return Err(mismatch(block, HeaderField::StateRoot, block.state_root, root));
        }
        debug!(target: "sync::execution", number, gas_used = outcome.gas_used, %root, "block executed");
        Ok(ExecutedBlock {
            number,
            hash,
            gas_used: outcome.gas_used,
            transactions: body.transactions.len() as u64,
            changes: written.changes,
            receipts: outcome.receipts,
            state_update_time,
        })
    }

    /// Runs the block on revm over the state of `view` (every transaction must be valid); its
    /// result and the state changes.
    fn run_evm<R: snapsync_storage::StateRead + ?Sized>(
        &self,
        view: &R,
        block: &Sealed<Header>,
        body: &EthBlockBody,
        transactions: &[Recovered<&TxEnvelope>],
    ) -> Result<(Outcome, BundleState), BlockError> {
        let run = self.run_transactions(
            view,
            block.inner(),
            &body.ommers,
            body.withdrawals.as_ref().map(|withdrawals| &withdrawals[..]),
            transactions,
            TxPolicy::Strict,
        )?;
        Ok((run.outcome, run.bundle))
    }

    /// The one EVM run of a block, shared by [`execute`](Self::execute) and the block builder:
    /// the pre-execution system calls, `transactions` in order, the post-execution changes, on
    /// a revm `State` over `view`, under the environment of `header` (whose roots and gas used
    /// are not read). Under [`TxPolicy::SkipInvalid`] a transaction the block cannot include
    /// (nonce, balance, gas) is left out with its reason instead of failing the block.
    pub(crate) fn run_transactions<R: snapsync_storage::StateRead + ?Sized>(
        &self,
        view: &R,
        header: &Header,
        ommers: &[Header],
        withdrawals: Option<&[Withdrawal]>,
        transactions: &[Recovered<&TxEnvelope>],
        policy: TxPolicy,
    ) -> Result<EvmRun, BlockError> {
        let (number, hash) = (header.number, header.hash_slow());
        let failed = |error| execution_error(number, hash, error);
        let mut state = State::builder()
            .with_database_ref(HashedStateDb::new(view))
            .with_bundle_update()
            .build();
        let env = EvmEnv::for_eth_block(
            header,
            &*self.rules,
            self.rules.chain_id(),
            self.rules.blob_params_at(header.timestamp),
        );
        let inspector = StorageCollision::new(view);
        let evm = EthEvmFactory::default().create_evm_with_inspector(&mut state, env, inspector);
        let ctx = EthBlockExecutionCtx {
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            ommers,
            withdrawals: withdrawals.map(Cow::Borrowed),
            extra_data: header.extra_data.clone(),
            tx_count_hint: Some(transactions.len()),
            slot_number: None,
        };
        let mut executor =
            EthBlockExecutor::new(evm, ctx, &*self.rules, AlloyReceiptBuilder::default());
        executor.apply_pre_execution_changes().map_err(failed)?;
        let mut skipped = Vec::new();
        for (index, tx) in transactions.iter().enumerate() {
            match executor.execute_transaction(*tx) {
                Ok(_) => {}
                Err(BlockExecutionError::Validation(reason)) if policy == TxPolicy::SkipInvalid => {
                    skipped.push(SkippedTransaction { index, reason: reason.to_string() });
                }
                Err(error) => return Err(failed(error)),
            }
        }
        let result = executor.apply_post_execution_changes().map_err(failed)?;
        let outcome = Outcome {
            gas_used: result.gas_used,
            blob_gas_used: result.blob_gas_used,
            requests_hash: result.requests.requests_hash(),
            receipts: result.receipts,
        };
        state.merge_transitions(BundleRetention::PlainState);
        Ok(EvmRun { outcome, bundle: state.take_bundle(), skipped })
    }

    /// Compares what execution produced with the header, field by field.
    pub(crate) fn check_outcome(
        &self,
        block: &Sealed<Header>,
        outcome: &Outcome,
    ) -> Result<(), BlockError> {
        if outcome.gas_used != block.gas_used {
            return Err(mismatch(block, HeaderField::GasUsed, block.gas_used, outcome.gas_used));
        }
        if let Some(expected) = block.blob_gas_used
            && expected != outcome.blob_gas_used
        {
            return Err(mismatch(block, HeaderField::BlobGasUsed, expected, outcome.blob_gas_used));
        }
        let receipts_root = calculate_receipt_root(&outcome.receipts);
        if receipts_root != block.receipts_root {
            return Err(mismatch(
                block,
                HeaderField::ReceiptsRoot,
                block.receipts_root,
                receipts_root,
            ));
        }
        let bloom =
            outcome.receipts.iter().fold(Bloom::ZERO, |bloom, receipt| bloom | receipt.bloom());
        if bloom != block.logs_bloom {
            return Err(mismatch(block, HeaderField::LogsBloom, block.logs_bloom, bloom));
        }
        if let Some(expected) = block.requests_hash
            && expected != outcome.requests_hash
        {
            return Err(mismatch(
                block,
                HeaderField::RequestsHash,
                expected,
                outcome.requests_hash,
            ));
        }
        Ok(())
    }
}

/// What the EVM produced for a block.
pub(crate) struct Outcome {
    pub(crate) gas_used: u64,
    pub(crate) blob_gas_used: u64,
    pub(crate) requests_hash: B256,
    pub(crate) receipts: Vec<ReceiptEnvelope>,
}

/// One run of a block's transactions: what it produced, the state changes, and the
/// transactions left out.
pub(crate) struct EvmRun {
    pub(crate) outcome: Outcome,
    pub(crate) bundle: BundleState,
    pub(crate) skipped: Vec<SkippedTransaction>,
}

/// What a run does with a transaction the block cannot include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxPolicy {
    /// The block is invalid (executing a received block).
    Strict,
    /// It is left out (building a block).
    SkipInvalid,
}

/// A transaction a block builder left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTransaction {
    /// Its index in the template.
    pub index: usize,
    /// Why the block could not include it (nonce, balance, gas), as the EVM says.
    pub reason: String,
}

fn mismatch(
    block: &Sealed<Header>,
    field: HeaderField,
    expected: impl Display,
    got: impl Display,
) -> BlockError {
    BlockError::Mismatch {
        number: block.number,
        hash: block.hash(),
        field,
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// An invalid transaction or system call is the block's fault; a failure inside (the store,
/// through the database) is not.
fn execution_error(number: u64, hash: B256, error: BlockExecutionError) -> BlockError {
    match error {
        BlockExecutionError::Validation(error) => {
            BlockError::Invalid { number, hash, reason: error.to_string() }
        }
        BlockExecutionError::Internal(error) => {
            BlockError::Internal { number, reason: error.to_string() }
        }
    }
}
