//! Receipt requests (eth `GetReceipts`) and the receipts they return.

use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::B256;

/// A transaction's receipt as a header's receipts root commits to it: typed (EIP-2718), with its
/// status, cumulative gas, logs and logs bloom.
///
/// eth/69 sends receipts without their bloom; a network speaking it computes the bloom from the
/// logs before handing the receipts over, so everything here is in the form the root hashes.
pub type EthReceipt = ReceiptEnvelope;

/// An eth `GetReceipts` request: the receipts of the blocks with these hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReceiptsRequest {
    /// The blocks' hashes, in the order their receipts are to come back.
    pub hashes: Vec<B256>,
}
