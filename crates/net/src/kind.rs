//! The kinds of snap/1 request, which the peer set measures separately.

use std::fmt;

/// A kind of snap/1 request.
///
/// Peers serve each kind at a different speed (an account range is one trie walk, bytecodes
/// are random database reads, trie nodes are many small lookups), so the
/// [`PeerSet`](crate::PeerSet) keeps one capacity estimate per peer and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// `GetAccountRange` → `AccountRange`.
    AccountRange,
    /// `GetStorageRanges` → `StorageRanges`.
    StorageRanges,
    /// `GetByteCodes` → `ByteCodes`.
    ByteCodes,
    /// `GetTrieNodes` → `TrieNodes`.
    TrieNodes,
}

impl RequestKind {
    /// Every kind, in [`index`](Self::index) order.
    pub const ALL: [Self; 4] =
        [Self::AccountRange, Self::StorageRanges, Self::ByteCodes, Self::TrieNodes];

    /// Position of the kind in [`ALL`](Self::ALL), for per-kind arrays.
    pub const fn index(self) -> usize {
        match self {
            Self::AccountRange => 0,
            Self::StorageRanges => 1,
            Self::ByteCodes => 2,
            Self::TrieNodes => 3,
        }
    }

    /// The name of the request message, as in the snap/1 spec.
    pub const fn message_name(self) -> &'static str {
        match self {
            Self::AccountRange => "GetAccountRange",
            Self::StorageRanges => "GetStorageRanges",
            Self::ByteCodes => "GetByteCodes",
            Self::TrieNodes => "GetTrieNodes",
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
    }
}
