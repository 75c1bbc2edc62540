//! The kinds of request the peer set schedules: the four snap/1 requests and the three eth block
//! requests.

use std::fmt;

/// A kind of request a peer is asked.
///
/// Peers serve each kind at a different speed (an account range is one trie walk, bytecodes
/// are random database reads, trie nodes are many small lookups, headers and bodies are block
/// reads), and responses of each kind have their own typical size, so the
/// scheduler (`snapsync_fetch::PeerSet`) keeps round trips, counters and size estimates per kind; the
/// link's rate and latency are shared by all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// snap `GetAccountRange` → `AccountRange`.
    AccountRange,
    /// snap `GetStorageRanges` → `StorageRanges`.
    StorageRanges,
    /// snap `GetByteCodes` → `ByteCodes`.
    ByteCodes,
    /// snap `GetTrieNodes` → `TrieNodes`.
    TrieNodes,
    /// eth `GetBlockHeaders` → `BlockHeaders`.
    BlockHeaders,
    /// eth `GetBlockBodies` → `BlockBodies`.
    BlockBodies,
    /// eth `GetReceipts` → `Receipts`.
    Receipts,
}

impl RequestKind {
    /// Number of kinds: the length of [`ALL`](Self::ALL) and of per-kind arrays.
    pub const COUNT: usize = 7;

    /// Every kind, in [`index`](Self::index) order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::AccountRange,
        Self::StorageRanges,
        Self::ByteCodes,
        Self::TrieNodes,
        Self::BlockHeaders,
        Self::BlockBodies,
        Self::Receipts,
    ];

    /// Position of the kind in [`ALL`](Self::ALL), for per-kind arrays.
    pub const fn index(self) -> usize {
        match self {
            Self::AccountRange => 0,
            Self::StorageRanges => 1,
            Self::ByteCodes => 2,
            Self::TrieNodes => 3,
            Self::BlockHeaders => 4,
            Self::BlockBodies => 5,
            Self::Receipts => 6,
        }
    }

    /// Whether the request is a snap/1 one (state), as opposed to an eth block request.
    pub const fn is_snap(self) -> bool {
        matches!(self, Self::AccountRange | Self::StorageRanges | Self::ByteCodes | Self::TrieNodes)
    }

    /// The name of the request message, as in the snap/1 and eth specs.
    pub const fn message_name(self) -> &'static str {
        match self {
            Self::AccountRange => "GetAccountRange",
            Self::StorageRanges => "GetStorageRanges",
            Self::ByteCodes => "GetByteCodes",
            Self::TrieNodes => "GetTrieNodes",
            Self::BlockHeaders => "GetBlockHeaders",
            Self::BlockBodies => "GetBlockBodies",
            Self::Receipts => "GetReceipts",
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_position_in_all() {
        for (position, kind) in RequestKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), position, "{kind}");
        }
        assert_eq!(RequestKind::BlockBodies.to_string(), "GetBlockBodies");
    }
}
