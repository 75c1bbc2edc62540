//! What a peer announces unasked: block and transaction gossip (checked to be an RLP list, then
//! dropped — a syncing node has no pool and follows no head by gossip) and eth/69's
//! `BlockRangeUpdate` (decoded: it tells which blocks the peer serves).

use super::rlp::{field, finish, list_payload, wrap_list};
use crate::EthWireError;
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use std::fmt;

/// The kinds of gossip tolerated and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GossipKind {
    /// `NewBlockHashes` (0x01, eth/68).
    NewBlockHashes,
    /// `Transactions` (0x02).
    Transactions,
    /// `NewBlock` (0x07, eth/68).
    NewBlock,
    /// `NewPooledTransactionHashes` (0x08).
    NewPooledTransactionHashes,
    /// `GetPooledTransactions` (0x09): a request for a pool this node does not have.
    GetPooledTransactions,
    /// `PooledTransactions` (0x0a).
    PooledTransactions,
}

impl fmt::Display for GossipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A gossip message: its kind and size; the content is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gossip {
    /// Which message.
    pub kind: GossipKind,
    /// Its payload's size in bytes.
    pub bytes: usize,
}

impl Gossip {
    /// Checks that the payload is one RLP list, and records its kind and size.
    ///
    /// # Errors
    ///
    /// [`EthWireError::Rlp`] when it is not.
    pub fn decode(kind: GossipKind, payload: &[u8]) -> Result<Self, EthWireError> {
        let mut input = payload;
        list_payload(&mut input, "gossip")?;
        finish(input, "gossip")?;
        Ok(Self { kind, bytes: payload.len() })
    }
}

/// eth/69's `BlockRangeUpdate` (0x11): `[earliest, latest, latestHash]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRangeUpdate {
    /// The first block the peer serves.
    pub earliest: u64,
    /// Its latest block.
    pub latest: u64,
    /// The latest block's hash.
    pub latest_hash: B256,
}

impl BlockRangeUpdate {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = Vec::new();
        self.earliest.encode(&mut fields);
        self.latest.encode(&mut fields);
        self.latest_hash.encode(&mut fields);
        wrap_list(&fields)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP, or `earliest > latest`.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "BlockRangeUpdate";
        let mut input = payload;
        let mut items = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let update = Self {
            earliest: field(&mut items, NAME)?,
            latest: field(&mut items, NAME)?,
            latest_hash: field(&mut items, NAME)?,
        };
        finish(items, NAME)?;
        if update.earliest > update.latest {
            return Err(EthWireError::InvalidRange {
                earliest: update.earliest,
                latest: update.latest,
            });
        }
        Ok(update)
    }
}
