//! [`EvmExecutor::build`]: a new block from a [`BlockTemplate`], executed on its parent's state
//! by the same EVM run [`EvmExecutor::execute`] uses, sealed with the roots it produced.
//!
//! A simulated chain whose headers carry real roots needs its blocks made the way a proposer
//! makes them: the transactions are run on the parent's state, and the header records what that
//! run gave (gas used, receipts root, logs bloom, blob gas, requests hash, the new state root).
//! The fields that follow from the parent (number, parent hash, base fee, excess blob gas) are
//! computed here; the proposer's choices (timestamp, beneficiary, `prevrandao`, beacon root,
//! gas limit, withdrawals, transactions) come from the template.
//!
//! # The same run as execution
//!
//! Building calls the executor's one EVM run (`run_transactions`) with the provisional header,
//! writes the changes through [`write_changes`] and updates the root with [`StateRoot`], as
//! executing does. The only difference is what happens to a transaction the block cannot
//! include (a wrong nonce, too little balance, more gas than the block has left): executing a
//! received block fails, building leaves it out and says so ([`BuiltBlock::skipped`]). The
//! built header is checked against its parent with [`validate_header`] before it is returned,
//! so a template the chain's rules refuse (a gas limit out of bounds, a timestamp not after the
//! parent's) is an error, not a block no peer would accept.

use crate::{
    BlockError, ChangeSet, EvmExecutor, StateRoot, executor::SkippedTransaction,
    executor::TxPolicy, senders::recover_senders, validate_header, write_changes,
};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, ReceiptEnvelope, TxEnvelope, TxReceipt,
    proofs::{calculate_receipt_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip4895::{Withdrawal, Withdrawals},
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, Sealable, Sealed, U256};
use snapsync_net::EthBlockBody;
use snapsync_storage::StateWrite;

/// What a proposer chooses for a block; everything else follows from the parent and from
/// executing the transactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockTemplate {
    /// The block's timestamp (after the parent's).
    pub timestamp: u64,
    /// Who receives the priority fees.
    pub beneficiary: Address,
    /// The beacon chain's randomness (`mixHash` after the merge).
    pub prevrandao: B256,
    /// The parent beacon block root (EIP-4788), used from Cancun on.
    pub parent_beacon_block_root: B256,
    /// The gas limit (within 1/1024 of the parent's).
    pub gas_limit: u64,
    /// The header's extra data (at most 32 bytes).
    pub extra_data: Bytes,
    /// Withdrawals (EIP-4895), used from Shanghai on.
    pub withdrawals: Vec<Withdrawal>,
    /// Signed transactions, in block order.
    pub transactions: Vec<TxEnvelope>,
}

/// A block made by [`EvmExecutor::build`]; its effects are in the transaction it was built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltBlock {
    /// The sealed header: every root, gas and blob field as executing the body gives.
    pub header: Sealed<Header>,
    /// The body: the template's transactions less the skipped ones, its withdrawals.
    pub body: EthBlockBody,
    /// The receipts, in transaction order.
    pub receipts: Vec<ReceiptEnvelope>,
    /// What the block changed, with the values before.
    pub changes: ChangeSet,
    /// The template's transactions the block could not include, and why.
    pub skipped: Vec<SkippedTransaction>,
}

impl EvmExecutor {
    /// Builds the child of `parent` from `template` on the state in `txn` (which must be
    /// `parent`'s), writes its effects into `txn` and returns it. See the module docs.
    ///
    /// # Errors
    /// [`BlockError::Invalid`] for a transaction whose signature does not recover or a header
    /// the rules refuse (the template's gas limit, timestamp or extra data); store failures.
    /// *`txn` may then hold part of the block's writes and must be dropped.*
    pub fn build<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        parent: &Sealed<Header>,
        template: &BlockTemplate,
    ) -> Result<BuiltBlock, BlockError> {
        let mut header = self.provisional_header(parent, template);
        let (number, hash) = (header.number, B256::ZERO);
        let invalid = |reason: String| BlockError::Invalid { number, hash, reason };
        let recovered = recover_senders(&template.transactions).map_err(invalid)?;
        let withdrawals = header.withdrawals_root.map(|_| template.withdrawals.clone());
        let run = self.run_transactions(
            &*txn,
            &header,
            &[],
            withdrawals.as_deref(),
            &recovered,
            TxPolicy::SkipInvalid,
        )?;
        let transactions: Vec<TxEnvelope> = template
            .transactions
            .iter()
            .enumerate()
            .filter(|(index, _)| !run.skipped.iter().any(|skip| skip.index == *index))
            .map(|(_, tx)| tx.clone())
            .collect();
        let outcome = &run.outcome;
        header.gas_used = outcome.gas_used;
        header.receipts_root = calculate_receipt_root(&outcome.receipts);
        header.logs_bloom =
            outcome.receipts.iter().fold(Bloom::ZERO, |bloom, receipt| bloom | receipt.bloom());
        header.transactions_root = calculate_transaction_root(&transactions);
        header.withdrawals_root = withdrawals.as_deref().map(calculate_withdrawals_root);
        header.blob_gas_used = header.blob_gas_used.map(|_| outcome.blob_gas_used);
        header.requests_hash = header.requests_hash.map(|_| outcome.requests_hash);
        let written = write_changes(txn, &run.bundle)?;
        header.state_root = StateRoot::update_accounts(txn, &written.touched.accounts)?;
        validate_header(self.rules(), parent, &header).map_err(invalid)?;
        let body = EthBlockBody {
            transactions,
            ommers: Vec::new(),
            withdrawals: withdrawals.map(Withdrawals::new),
        };
        Ok(BuiltBlock {
            header: header.seal_slow(),
            body,
            receipts: run.outcome.receipts,
            changes: written.changes,
            skipped: run.skipped,
        })
    }

    /// The header's fields that do not depend on executing the body: those the parent decides
    /// and those the template chooses. The fork fields are present as the rules say, with
    /// placeholder values the build fills in.
    fn provisional_header(&self, parent: &Sealed<Header>, template: &BlockTemplate) -> Header {
        let rules = self.rules();
        let number = parent.number.saturating_add(1);
        let timestamp = template.timestamp;
        let base_fee_per_gas = rules.is_london_active_at_block(number).then(|| {
            match parent.next_block_base_fee(BaseFeeParams::ethereum()) {
                Some(fee) if rules.is_london_active_at_block(parent.number) => fee,
                _ => INITIAL_BASE_FEE,
            }
        });
        let cancun = rules.is_cancun_active_at_timestamp(timestamp);
        let excess_blob_gas = rules
            .blob_params_at(timestamp)
            .filter(|_| cancun)
            .map(|params| parent.next_block_excess_blob_gas(params).unwrap_or(0));
        Header {
            parent_hash: parent.hash(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: template.beneficiary,
            difficulty: U256::ZERO,
            number,
            gas_limit: template.gas_limit,
            timestamp,
            extra_data: template.extra_data.clone(),
            mix_hash: template.prevrandao,
            nonce: B64::ZERO,
            base_fee_per_gas,
            withdrawals_root: rules
                .is_shanghai_active_at_timestamp(timestamp)
                .then_some(B256::ZERO),
            blob_gas_used: cancun.then_some(0),
            excess_blob_gas,
            parent_beacon_block_root: cancun.then_some(template.parent_beacon_block_root),
            requests_hash: rules.is_prague_active_at_timestamp(timestamp).then_some(B256::ZERO),
            ..Header::default()
        }
    }
}
