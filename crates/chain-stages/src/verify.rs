//! Checking a body against the header it belongs to.
//!
//! A header commits to its body through three fields: `transactions_root` (the ordered trie of
//! the EIP-2718 encoded transactions), `ommers_hash` (keccak of the RLP ommer list) and, from
//! Shanghai, `withdrawals_root` (the ordered trie of the withdrawals). A body matching all three
//! is the block's body, whoever sent it; one that differs in any is wrong.

use crate::{BodyField, BodyMismatch};
use alloy_consensus::{Header, proofs::calculate_transaction_root};
use snapsync_net::EthBlockBody;

/// Checks `body` against `header`'s transactions root, ommers hash and withdrawals root.
///
/// # Errors
/// The first commitment that differs, with both values.
pub fn verify_body(header: &Header, body: &EthBlockBody) -> Result<(), BodyMismatch> {
    let transactions_root = calculate_transaction_root(&body.transactions);
    if transactions_root != header.transactions_root {
        return Err(BodyMismatch {
            field: BodyField::TransactionsRoot,
            expected: Some(header.transactions_root),
            got: Some(transactions_root),
        });
    }
    let ommers_hash = body.calculate_ommers_root();
    if ommers_hash != header.ommers_hash {
        return Err(BodyMismatch {
            field: BodyField::OmmersHash,
            expected: Some(header.ommers_hash),
            got: Some(ommers_hash),
        });
    }
    let withdrawals_root = body.calculate_withdrawals_root();
    if withdrawals_root != header.withdrawals_root {
        return Err(BodyMismatch {
            field: BodyField::WithdrawalsRoot,
            expected: header.withdrawals_root,
            got: withdrawals_root,
        });
    }
    Ok(())
}
