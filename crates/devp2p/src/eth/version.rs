//! The eth versions spoken: 68 and 69.

use crate::{Capability, Protocol};
use std::fmt;

/// An eth protocol version this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EthVersion {
    /// eth/68: Status with total difficulty and head hash; receipts with their bloom.
    Eth68,
    /// eth/69 (EIP-7642): Status with the served block range; receipts without bloom;
    /// `BlockRangeUpdate`; no block gossip.
    Eth69,
}

impl EthVersion {
    /// Both, newest first.
    pub const ALL: [Self; 2] = [Self::Eth69, Self::Eth68];

    /// The version number.
    pub const fn number(self) -> u64 {
        match self {
            Self::Eth68 => 68,
            Self::Eth69 => 69,
        }
    }

    /// The version for a number, if spoken.
    pub const fn from_number(number: u64) -> Option<Self> {
        match number {
            68 => Some(Self::Eth68),
            69 => Some(Self::Eth69),
            _ => None,
        }
    }

    /// How many message ids the version uses: 17 (0x00–0x10) for eth/68, 18 for eth/69
    /// (`BlockRangeUpdate` is 0x11).
    pub const fn message_count(self) -> u64 {
        match self {
            Self::Eth68 => 17,
            Self::Eth69 => 18,
        }
    }

    /// The capability as Hello lists it, with its id count.
    pub fn protocol(self) -> Protocol {
        Protocol {
            capability: Capability::new("eth", self.number()),
            messages: self.message_count(),
        }
    }
}

impl fmt::Display for EthVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eth/{}", self.number())
    }
}
