//! What a peer can be found not to serve.

use std::fmt;

use alloy_primitives::B256;

/// The data a request reads, as far as a peer may lack it: the key under which an empty reply
/// marks the peer in the scheduler (`snapsync_fetch::PeerSet`), so that it is not asked for the same data
/// again while other peers may have it.
///
/// An empty reply is allowed by both protocols (a snap peer keeps only ~128 recent states, an
/// eth peer may not have a block yet, or have pruned its body) and is not a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Availability {
    /// The state at this root (account ranges, storage ranges, trie nodes). Marks for state
    /// roots are cleared when the pivot moves (`PeerSet::set_pivot_root`).
    State(B256),
    /// A batch of bytecodes, by the keccak256 of its requested code hashes concatenated: a peer
    /// lacking some codes may well have others.
    Codes(B256),
    /// `count` headers falling from the block with hash `from`.
    Headers {
        /// The hash of the highest block asked.
        from: B256,
        /// How many headers were asked.
        count: u64,
    },
    /// The bodies of `count` consecutive blocks rising from the block with hash `first`.
    Bodies {
        /// The hash of the lowest block asked.
        first: B256,
        /// How many bodies were asked.
        count: u64,
    },
    /// The receipts of `count` consecutive blocks rising from the block with hash `first`.
    Receipts {
        /// The hash of the lowest block asked.
        first: B256,
        /// How many blocks' receipts were asked.
        count: u64,
    },
}

impl Availability {
    /// The state root, for a [`State`](Self::State) key.
    pub const fn state_root(&self) -> Option<B256> {
        match self {
            Self::State(root) => Some(*root),
            _ => None,
        }
    }

    /// Whether the key names blocks ([`Headers`](Self::Headers), [`Bodies`](Self::Bodies) or
    /// [`Receipts`](Self::Receipts)).
    pub const fn is_blocks(&self) -> bool {
        matches!(self, Self::Headers { .. } | Self::Bodies { .. } | Self::Receipts { .. })
    }
}

impl From<B256> for Availability {
    /// A bare root is a state root.
    fn from(root: B256) -> Self {
        Self::State(root)
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::State(root) => write!(f, "state root {root}"),
            Self::Codes(batch) => write!(f, "bytecode batch {batch}"),
            Self::Headers { from, count } => write!(f, "{count} headers falling from {from}"),
            Self::Bodies { first, count } => write!(f, "{count} bodies rising from {first}"),
            Self::Receipts { first, count } => {
                write!(f, "receipts of {count} blocks rising from {first}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_say_what_was_lacking() {
        let root = B256::repeat_byte(1);
        assert_eq!(Availability::from(root), Availability::State(root));
        assert_eq!(Availability::State(root).state_root(), Some(root));
        let headers = Availability::Headers { from: root, count: 3 };
        assert_eq!(headers.state_root(), None);
        assert!(headers.is_blocks());
        assert!(!Availability::Codes(root).is_blocks());
        assert!(headers.to_string().starts_with("3 headers falling from 0x0101"));
    }
}
