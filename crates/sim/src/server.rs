//! The snap/1 server (over any store) as the simulated peers' honest responder.

use crate::SnapResponder;
use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};
use snapsync_server::SnapServer;
use snapsync_storage::StateStore;

impl<S: StateStore + ?Sized> SnapResponder for SnapServer<S> {
    fn account_range(&self, request: &GetAccountRange) -> AccountRange {
        Self::account_range(self, request)
    }

    fn storage_ranges(&self, request: &GetStorageRanges) -> StorageRanges {
        Self::storage_ranges(self, request)
    }

    fn byte_codes(&self, request: &GetByteCodes) -> ByteCodes {
        Self::byte_codes(self, request)
    }

    fn trie_nodes(&self, request: &GetTrieNodes) -> TrieNodes {
        // A request the server refuses gets no nodes, as a peer that drops it would answer.
        Self::trie_nodes(self, request)
            .unwrap_or(TrieNodes { request_id: request.request_id, nodes: Vec::new() })
    }
}
