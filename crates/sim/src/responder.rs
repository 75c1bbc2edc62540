//! What answers a simulated peer's requests.

use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};

/// An honest snap/1 server: the simulated peer asks it, then applies its behaviour.
pub trait SnapResponder: Send + Sync {
    /// Answers `GetAccountRange`.
    fn account_range(&self, request: &GetAccountRange) -> AccountRange;
    /// Answers `GetStorageRanges`.
    fn storage_ranges(&self, request: &GetStorageRanges) -> StorageRanges;
    /// Answers `GetByteCodes`.
    fn byte_codes(&self, request: &GetByteCodes) -> ByteCodes;
    /// Answers `GetTrieNodes` (an empty reply for a request the server refuses).
    fn trie_nodes(&self, request: &GetTrieNodes) -> TrieNodes;
}
