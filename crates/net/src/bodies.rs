//! Block body requests (eth `GetBlockBodies`) and the bodies they return.

use alloy_consensus::{BlockBody, TxEnvelope};
use alloy_primitives::B256;

/// A block body as the eth protocol carries it: transactions, ommer headers and (from
/// Shanghai) withdrawals, everything the header's transactions root, ommers hash and
/// withdrawals root commit to.
pub type EthBlockBody = BlockBody<TxEnvelope>;

/// An eth `GetBlockBodies` request: the bodies of the blocks with these hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BodiesRequest {
    /// The blocks' hashes, in the order the bodies are to come back.
    pub hashes: Vec<B256>,
}
