//! [`EthMessage`]: any eth message, by id, decoded per version.

use super::{
    BlockBodies, BlockHeaders, BlockRangeUpdate, EthVersion, GetBlockBodies, GetBlockHeaders,
    GetReceipts, Gossip, GossipKind, Receipts, Status,
};
use crate::EthWireError;

/// eth message ids, relative to the capability's offset.
pub mod ids {
    /// Status.
    pub const STATUS: u64 = 0x00;
    /// NewBlockHashes (eth/68).
    pub const NEW_BLOCK_HASHES: u64 = 0x01;
    /// Transactions.
    pub const TRANSACTIONS: u64 = 0x02;
    /// GetBlockHeaders.
    pub const GET_BLOCK_HEADERS: u64 = 0x03;
    /// BlockHeaders.
    pub const BLOCK_HEADERS: u64 = 0x04;
    /// GetBlockBodies.
    pub const GET_BLOCK_BODIES: u64 = 0x05;
    /// BlockBodies.
    pub const BLOCK_BODIES: u64 = 0x06;
    /// NewBlock (eth/68).
    pub const NEW_BLOCK: u64 = 0x07;
    /// NewPooledTransactionHashes.
    pub const NEW_POOLED_TRANSACTION_HASHES: u64 = 0x08;
    /// GetPooledTransactions.
    pub const GET_POOLED_TRANSACTIONS: u64 = 0x09;
    /// PooledTransactions.
    pub const POOLED_TRANSACTIONS: u64 = 0x0a;
    /// GetReceipts.
    pub const GET_RECEIPTS: u64 = 0x0f;
    /// Receipts.
    pub const RECEIPTS: u64 = 0x10;
    /// BlockRangeUpdate (eth/69).
    pub const BLOCK_RANGE_UPDATE: u64 = 0x11;
}

/// An eth message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthMessage {
    /// Status (0x00).
    Status(Status),
    /// GetBlockHeaders (0x03).
    GetBlockHeaders(GetBlockHeaders),
    /// BlockHeaders (0x04).
    BlockHeaders(BlockHeaders),
    /// GetBlockBodies (0x05).
    GetBlockBodies(GetBlockBodies),
    /// BlockBodies (0x06).
    BlockBodies(BlockBodies),
    /// GetReceipts (0x0f).
    GetReceipts(GetReceipts),
    /// Receipts (0x10).
    Receipts(Receipts),
    /// BlockRangeUpdate (0x11, eth/69).
    BlockRangeUpdate(BlockRangeUpdate),
    /// Gossip, checked and dropped.
    Gossip(Gossip),
}

impl EthMessage {
    /// The message's id.
    pub const fn id(&self) -> u64 {
        match self {
            Self::Status(_) => ids::STATUS,
            Self::GetBlockHeaders(_) => ids::GET_BLOCK_HEADERS,
            Self::BlockHeaders(_) => ids::BLOCK_HEADERS,
            Self::GetBlockBodies(_) => ids::GET_BLOCK_BODIES,
            Self::BlockBodies(_) => ids::BLOCK_BODIES,
            Self::GetReceipts(_) => ids::GET_RECEIPTS,
            Self::Receipts(_) => ids::RECEIPTS,
            Self::BlockRangeUpdate(_) => ids::BLOCK_RANGE_UPDATE,
            Self::Gossip(gossip) => match gossip.kind {
                GossipKind::NewBlockHashes => ids::NEW_BLOCK_HASHES,
                GossipKind::Transactions => ids::TRANSACTIONS,
                GossipKind::NewBlock => ids::NEW_BLOCK,
                GossipKind::NewPooledTransactionHashes => ids::NEW_POOLED_TRANSACTION_HASHES,
                GossipKind::GetPooledTransactions => ids::GET_POOLED_TRANSACTIONS,
                GossipKind::PooledTransactions => ids::POOLED_TRANSACTIONS,
            },
        }
    }

    /// The request id, for requests and responses.
    pub const fn request_id(&self) -> Option<u64> {
        match self {
            Self::GetBlockHeaders(m) => Some(m.request_id),
            Self::BlockHeaders(m) => Some(m.request_id),
            Self::GetBlockBodies(m) => Some(m.request_id),
            Self::BlockBodies(m) => Some(m.request_id),
            Self::GetReceipts(m) => Some(m.request_id),
            Self::Receipts(m) => Some(m.request_id),
            Self::Status(_) | Self::BlockRangeUpdate(_) | Self::Gossip(_) => None,
        }
    }

    /// Whether the message answers a request.
    pub const fn is_response(&self) -> bool {
        matches!(self, Self::BlockHeaders(_) | Self::BlockBodies(_) | Self::Receipts(_))
    }

    /// The RLP payload in `version`'s shape, or `None` for what cannot be sent: a Status of
    /// another version, `BlockRangeUpdate` on eth/68, and gossip (not kept, so not re-sendable).
    pub fn encode(&self, version: EthVersion) -> Option<Vec<u8>> {
        match self {
            Self::Status(status) => (status.version() == version).then(|| status.encode()),
            Self::GetBlockHeaders(m) => Some(m.encode()),
            Self::BlockHeaders(m) => Some(m.encode()),
            Self::GetBlockBodies(m) => Some(m.encode()),
            Self::BlockBodies(m) => Some(m.encode()),
            Self::GetReceipts(m) => Some(m.encode()),
            Self::Receipts(m) => Some(m.encode(version)),
            Self::BlockRangeUpdate(m) => (version == EthVersion::Eth69).then(|| m.encode()),
            Self::Gossip(_) => None,
        }
    }

    /// Decodes message `id` of `version` from its payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError::UnknownMessage`] for an id the version does not have (block gossip is
    /// still tolerated on eth/69, as some clients send it); the message's own errors.
    pub fn decode(version: EthVersion, id: u64, payload: &[u8]) -> Result<Self, EthWireError> {
        let gossip = |kind| Gossip::decode(kind, payload).map(Self::Gossip);
        match id {
            ids::STATUS => Status::decode(version, payload).map(Self::Status),
            ids::NEW_BLOCK_HASHES => gossip(GossipKind::NewBlockHashes),
            ids::TRANSACTIONS => gossip(GossipKind::Transactions),
            ids::GET_BLOCK_HEADERS => GetBlockHeaders::decode(payload).map(Self::GetBlockHeaders),
            ids::BLOCK_HEADERS => BlockHeaders::decode(payload).map(Self::BlockHeaders),
            ids::GET_BLOCK_BODIES => GetBlockBodies::decode(payload).map(Self::GetBlockBodies),
            ids::BLOCK_BODIES => BlockBodies::decode(payload).map(Self::BlockBodies),
            ids::NEW_BLOCK => gossip(GossipKind::NewBlock),
            ids::NEW_POOLED_TRANSACTION_HASHES => gossip(GossipKind::NewPooledTransactionHashes),
            ids::GET_POOLED_TRANSACTIONS => gossip(GossipKind::GetPooledTransactions),
            ids::POOLED_TRANSACTIONS => gossip(GossipKind::PooledTransactions),
            ids::GET_RECEIPTS => GetReceipts::decode(payload).map(Self::GetReceipts),
            ids::RECEIPTS => Receipts::decode(version, payload).map(Self::Receipts),
            ids::BLOCK_RANGE_UPDATE if version == EthVersion::Eth69 => {
                BlockRangeUpdate::decode(payload).map(Self::BlockRangeUpdate)
            }
            id => Err(EthWireError::UnknownMessage { version, id }),
        }
    }
}
