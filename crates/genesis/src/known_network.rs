//! The public networks whose genesis files (reth's format) carry no `config`: their chain id
//! and fork schedule come from `alloy-hardforks`, as reth's chain specs take them.

use crate::ForkSchedule;
use alloy_hardforks::{EthereumHardfork, ForkCondition};
use alloy_primitives::{Address, U256, address};
use std::fmt;

/// A public Ethereum network with a known fork schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KnownNetwork {
    /// Mainnet (chain id 1).
    Mainnet,
    /// Sepolia (chain id 11155111).
    Sepolia,
    /// Holesky (chain id 17000).
    Holesky,
    /// Hoodi (chain id 560048).
    Hoodi,
}

impl KnownNetwork {
    /// The network's chain id (also its network id).
    pub const fn chain_id(self) -> u64 {
        match self {
            Self::Mainnet => 1,
            Self::Sepolia => 11_155_111,
            Self::Holesky => 17_000,
            Self::Hoodi => 560_048,
        }
    }

    /// The network's forks and their activation conditions (`alloy-hardforks`' tables).
    pub fn fork_schedule(self) -> ForkSchedule {
        match self {
            Self::Mainnet => ForkSchedule::new(EthereumHardfork::mainnet()),
            Self::Sepolia => ForkSchedule::new(EthereumHardfork::sepolia()),
            Self::Holesky => ForkSchedule::new(EthereumHardfork::holesky()),
            Self::Hoodi => ForkSchedule::new(EthereumHardfork::hoodi()),
        }
    }

    /// The terminal total difficulty of the merge, from the schedule's Paris condition.
    pub fn terminal_total_difficulty(self) -> Option<U256> {
        self.fork_schedule().iter().find_map(|(fork, condition)| match condition {
            ForkCondition::TTD { total_difficulty, .. } if fork == EthereumHardfork::Paris => {
                Some(total_difficulty)
            }
            _ => None,
        })
    }

    /// The beacon-chain deposit contract (EIP-6110 reads its logs), as the networks' published
    /// configurations give it.
    pub const fn deposit_contract(self) -> Address {
        match self {
            Self::Mainnet | Self::Hoodi => address!("0x00000000219ab540356cBB839Cbe05303d7705Fa"),
            Self::Sepolia => address!("0x7f02C3E3c98b133055B8B348B2Ac625669Ed295D"),
            Self::Holesky => address!("0x4242424242424242424242424242424242424242"),
        }
    }
}

impl fmt::Display for KnownNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mainnet => "mainnet",
            Self::Sepolia => "sepolia",
            Self::Holesky => "holesky",
            Self::Hoodi => "hoodi",
        })
    }
}
