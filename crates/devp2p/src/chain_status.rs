//! [`ChainStatus`]: what this node says about its chain in Status, and how it judges a peer's.

use crate::{
    ConnectionError,
    eth::{EthVersion, Status, StatusEth68, StatusEth69},
};
use alloy_primitives::{B256, U256};
use snapsync_genesis::{ChainSpec, ForkFilter, Head};

/// This node's head as Status announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Block timestamp (fork ids of timestamp forks depend on it).
    pub timestamp: u64,
    /// Total difficulty at the head (eth/68 only; frozen after the merge).
    pub total_difficulty: U256,
}

/// The local side of the Status exchange: network id, genesis, head, and the EIP-2124 filter
/// that gives our fork id and validates the peer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    network_id: u64,
    genesis: B256,
    head: ChainHead,
    earliest: u64,
    fork_filter: ForkFilter,
}

impl ChainStatus {
    /// A node that has only the genesis block (a node about to sync). The network id is the
    /// chain id, as on every public network.
    pub fn at_genesis(spec: &ChainSpec) -> Self {
        let genesis = spec.genesis_header();
        let head = ChainHead {
            number: genesis.number,
            hash: spec.genesis_hash(),
            timestamp: genesis.timestamp,
            total_difficulty: genesis.difficulty,
        };
        Self::new(spec, head)
    }

    /// A node whose head is `head`.
    pub fn new(spec: &ChainSpec, head: ChainHead) -> Self {
        let fork_filter = spec.fork_filter(Head {
            number: head.number,
            hash: head.hash,
            timestamp: head.timestamp,
            total_difficulty: head.total_difficulty,
            ..Head::default()
        });
        Self {
            network_id: spec.chain_id(),
            genesis: spec.genesis_hash(),
            head,
            earliest: 0,
            fork_filter,
        }
    }

    /// The same, on a network whose id differs from its chain id.
    #[must_use]
    pub const fn with_network_id(mut self, network_id: u64) -> Self {
        self.network_id = network_id;
        self
    }

    /// The network id.
    pub const fn network_id(&self) -> u64 {
        self.network_id
    }

    /// The genesis hash.
    pub const fn genesis(&self) -> B256 {
        self.genesis
    }

    /// The head announced.
    pub const fn head(&self) -> ChainHead {
        self.head
    }

    /// Our Status for `version`.
    pub fn status(&self, version: EthVersion) -> Status {
        let fork_id = self.fork_filter.current();
        match version {
            EthVersion::Eth68 => Status::Eth68(StatusEth68 {
                network_id: self.network_id,
                total_difficulty: self.head.total_difficulty,
                head: self.head.hash,
                genesis: self.genesis,
                fork_id,
            }),
            EthVersion::Eth69 => Status::Eth69(StatusEth69 {
                network_id: self.network_id,
                genesis: self.genesis,
                fork_id,
                earliest: self.earliest,
                latest: self.head.number,
                latest_hash: self.head.hash,
            }),
        }
    }

    /// Checks a peer's Status: same network, same genesis, compatible fork id.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::NetworkId`], [`ConnectionError::Genesis`] or
    /// [`ConnectionError::ForkId`], in that order.
    pub fn validate(&self, peer: &Status) -> Result<(), ConnectionError> {
        if peer.network_id() != self.network_id {
            return Err(ConnectionError::NetworkId {
                ours: self.network_id,
                theirs: peer.network_id(),
            });
        }
        if peer.genesis() != self.genesis {
            return Err(ConnectionError::Genesis { ours: self.genesis, theirs: peer.genesis() });
        }
        self.fork_filter.validate(peer.fork_id())?;
        Ok(())
    }
}
