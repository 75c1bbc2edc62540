//! Status, the first eth message each side sends: which chain, which forks, how far.

use super::{
    EthVersion,
    rlp::{field, finish, list_payload, wrap_list},
};
use crate::EthWireError;
use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use snapsync_genesis::ForkId;

/// eth/68's Status: `[version, networkid, td, blockhash, genesis, forkid]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEth68 {
    /// The network id.
    pub network_id: u64,
    /// The total difficulty of the head (frozen at the terminal total difficulty after the
    /// merge).
    pub total_difficulty: U256,
    /// The head block's hash.
    pub head: B256,
    /// The genesis hash.
    pub genesis: B256,
    /// The EIP-2124 fork id at the head.
    pub fork_id: ForkId,
}

/// eth/69's Status (EIP-7642): `[version, networkid, genesis, forkid, earliest, latest,
/// latesthash]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEth69 {
    /// The network id.
    pub network_id: u64,
    /// The genesis hash.
    pub genesis: B256,
    /// The EIP-2124 fork id at the head.
    pub fork_id: ForkId,
    /// The first block whose body and receipts the node serves.
    pub earliest: u64,
    /// The latest block.
    pub latest: u64,
    /// The latest block's hash.
    pub latest_hash: B256,
}

/// A Status of either version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// eth/68.
    Eth68(StatusEth68),
    /// eth/69.
    Eth69(StatusEth69),
}

impl Status {
    /// The version the Status is for.
    pub const fn version(&self) -> EthVersion {
        match self {
            Self::Eth68(_) => EthVersion::Eth68,
            Self::Eth69(_) => EthVersion::Eth69,
        }
    }

    /// The network id.
    pub const fn network_id(&self) -> u64 {
        match self {
            Self::Eth68(status) => status.network_id,
            Self::Eth69(status) => status.network_id,
        }
    }

    /// The genesis hash.
    pub const fn genesis(&self) -> B256 {
        match self {
            Self::Eth68(status) => status.genesis,
            Self::Eth69(status) => status.genesis,
        }
    }

    /// The fork id.
    pub const fn fork_id(&self) -> ForkId {
        match self {
            Self::Eth68(status) => status.fork_id,
            Self::Eth69(status) => status.fork_id,
        }
    }

    /// The head's hash.
    pub const fn head_hash(&self) -> B256 {
        match self {
            Self::Eth68(status) => status.head,
            Self::Eth69(status) => status.latest_hash,
        }
    }

    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = Vec::new();
        self.version().number().encode(&mut fields);
        match self {
            Self::Eth68(status) => {
                status.network_id.encode(&mut fields);
                status.total_difficulty.encode(&mut fields);
                status.head.encode(&mut fields);
                status.genesis.encode(&mut fields);
                status.fork_id.encode(&mut fields);
            }
            Self::Eth69(status) => {
                status.network_id.encode(&mut fields);
                status.genesis.encode(&mut fields);
                status.fork_id.encode(&mut fields);
                status.earliest.encode(&mut fields);
                status.latest.encode(&mut fields);
                status.latest_hash.encode(&mut fields);
            }
        }
        wrap_list(&fields)
    }

    /// Decodes a Status sent on a connection that negotiated `version`.
    ///
    /// # Errors
    ///
    /// [`EthWireError::Rlp`] for malformed RLP (missing or extra fields included),
    /// [`EthWireError::StatusVersion`] when the Status claims another version than negotiated.
    pub fn decode(version: EthVersion, payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "Status";
        let mut input = payload;
        let mut items = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let announced: u64 = field(&mut items, NAME)?;
        if announced != version.number() {
            return Err(EthWireError::StatusVersion { negotiated: version, announced });
        }
        let status = match version {
            EthVersion::Eth68 => Self::Eth68(StatusEth68 {
                network_id: field(&mut items, NAME)?,
                total_difficulty: field(&mut items, NAME)?,
                head: field(&mut items, NAME)?,
                genesis: field(&mut items, NAME)?,
                fork_id: field(&mut items, NAME)?,
            }),
            EthVersion::Eth69 => Self::Eth69(StatusEth69 {
                network_id: field(&mut items, NAME)?,
                genesis: field(&mut items, NAME)?,
                fork_id: field(&mut items, NAME)?,
                earliest: field(&mut items, NAME)?,
                latest: field(&mut items, NAME)?,
                latest_hash: field(&mut items, NAME)?,
            }),
        };
        finish(items, NAME)?;
        Ok(status)
    }
}
