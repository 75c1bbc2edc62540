//! Headers, bodies and receipts for the simulated peers' eth side (`GetBlockHeaders`,
//! `GetBlockBodies`, `GetReceipts`).

use crate::{ChainFixture, ExecutedChain, GeneratedChain};
use alloy_consensus::{EMPTY_ROOT_HASH, Header};
use alloy_primitives::B256;
use snapsync_net::{BlockHashOrNumber, EthBlockBody, EthReceipt, HeadersRequest};

/// Most headers one request returns (devp2p eth's soft limit).
const MAX_HEADERS: u64 = 1024;

/// The canonical chain the simulated peers serve.
pub trait BlockSource: Send + Sync {
    /// The header at `number`, if the chain has it.
    fn header_by_number(&self, number: u64) -> Option<Header>;
    /// The number of the block with `hash`, if the chain has it.
    fn number_of(&self, hash: B256) -> Option<u64>;
    /// The body of the block with `hash`, if the chain has it.
    fn body_by_hash(&self, hash: B256) -> Option<EthBlockBody>;
    /// The receipts of the block with `hash`, if the chain has them.
    fn receipts_by_hash(&self, hash: B256) -> Option<Vec<EthReceipt>>;
}

impl BlockSource for GeneratedChain {
    fn header_by_number(&self, number: u64) -> Option<Header> {
        self.header(number).map(|sealed| sealed.inner().clone())
    }

    fn number_of(&self, hash: B256) -> Option<u64> {
        self.header_by_hash(&hash).map(|sealed| sealed.number)
    }

    fn body_by_hash(&self, hash: B256) -> Option<EthBlockBody> {
        self.body(self.number_of(hash)?)
    }

    /// A generated chain's blocks carry no transactions: each has no receipts (and commits to
    /// the empty root).
    fn receipts_by_hash(&self, hash: B256) -> Option<Vec<EthReceipt>> {
        let header = self.header_by_hash(&hash)?;
        (header.receipts_root == EMPTY_ROOT_HASH).then(Vec::new)
    }
}

impl BlockSource for ExecutedChain {
    fn header_by_number(&self, number: u64) -> Option<Header> {
        self.header(number).map(|sealed| sealed.inner().clone())
    }

    fn number_of(&self, hash: B256) -> Option<u64> {
        self.header_by_hash(&hash).map(|sealed| sealed.number)
    }

    fn body_by_hash(&self, hash: B256) -> Option<EthBlockBody> {
        self.body(self.number_of(hash)?).cloned()
    }

    fn receipts_by_hash(&self, hash: B256) -> Option<Vec<EthReceipt>> {
        self.receipts(self.number_of(hash)?).map(<[EthReceipt]>::to_vec)
    }
}

impl BlockSource for ChainFixture {
    fn header_by_number(&self, number: u64) -> Option<Header> {
        self.header(number).map(|sealed| sealed.inner().clone())
    }

    fn number_of(&self, hash: B256) -> Option<u64> {
        Self::number_of(self, &hash)
    }

    fn body_by_hash(&self, hash: B256) -> Option<EthBlockBody> {
        self.body(Self::number_of(self, &hash)?).cloned()
    }

    /// A chain file holds no receipts: a peer serving one lacks them (an empty reply).
    fn receipts_by_hash(&self, _hash: B256) -> Option<Vec<EthReceipt>> {
        None
    }
}

/// The headers an honest eth peer returns for `request`: consecutive matches from the start,
/// stopping at the first block it does not have.
pub(crate) fn serve_headers(source: &dyn BlockSource, request: &HeadersRequest) -> Vec<Header> {
    let first = match request.start {
        BlockHashOrNumber::Number(number) => Some(number),
        BlockHashOrNumber::Hash(hash) => source.number_of(hash),
    };
    let Some(first) = first else { return Vec::new() };
    (0..request.limit.min(MAX_HEADERS))
        .map_while(|index| request.nth_number(first, index))
        .map_while(|number| source.header_by_number(number))
        .collect()
}

/// The bodies an honest eth peer returns: in request order, stopping at the first unknown.
pub(crate) fn serve_bodies(source: &dyn BlockSource, hashes: &[B256]) -> Vec<EthBlockBody> {
    hashes.iter().map_while(|hash| source.body_by_hash(*hash)).collect()
}

/// The receipts an honest eth peer returns: in request order, stopping at the first unknown.
pub(crate) fn serve_receipts(source: &dyn BlockSource, hashes: &[B256]) -> Vec<Vec<EthReceipt>> {
    hashes.iter().map_while(|hash| source.receipts_by_hash(*hash)).collect()
}
