//! A test network implementing every client trait over canned data, to check the traits are
//! usable as the sync will use them (generically, through `Arc`, from spawned tasks).

use std::sync::Mutex;

use alloy_consensus::Header;
use alloy_primitives::B256;
use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};

use crate::{
    BlockHashOrNumber, BodiesClient, EthBlockBody, HeadersClient, HeadersRequest, PeerId,
    PeerResult, Penalty, RequestError, SnapClient, WithPeer,
};

/// Connected peers answer everything with empty responses echoing the request id; other
/// peers are unknown. Reports are recorded.
#[derive(Debug, Default)]
pub(crate) struct MockNetwork {
    pub(crate) connected: Vec<PeerId>,
    pub(crate) reports: Mutex<Vec<(PeerId, Penalty)>>,
}

impl MockNetwork {
    pub(crate) fn with_peers(count: u64) -> Self {
        Self { connected: (0..count).map(PeerId::from_index).collect(), ..Self::default() }
    }

    fn answer<T>(&self, peer: PeerId, data: T) -> PeerResult<T> {
        if self.connected.contains(&peer) {
            Ok(WithPeer::new(peer, data))
        } else {
            Err(RequestError::UnknownPeer { peer })
        }
    }
}

impl SnapClient for MockNetwork {
    async fn get_account_range(
        &self,
        peer: PeerId,
        request: GetAccountRange,
    ) -> PeerResult<AccountRange> {
        tokio::task::yield_now().await;
        self.answer(peer, AccountRange { request_id: request.request_id, ..Default::default() })
    }

    async fn get_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
    ) -> PeerResult<StorageRanges> {
        self.answer(peer, StorageRanges { request_id: request.request_id, ..Default::default() })
    }

    async fn get_byte_codes(&self, peer: PeerId, request: GetByteCodes) -> PeerResult<ByteCodes> {
        self.answer(peer, ByteCodes { request_id: request.request_id, codes: Vec::new() })
    }

    async fn get_trie_nodes(&self, peer: PeerId, request: GetTrieNodes) -> PeerResult<TrieNodes> {
        self.answer(peer, TrieNodes { request_id: request.request_id, nodes: Vec::new() })
    }

    fn peers(&self) -> Vec<PeerId> {
        self.connected.clone()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.push((peer, penalty));
        }
    }
}

impl HeadersClient for MockNetwork {
    /// Headers numbered as the request walks from block 100 (or the requested number).
    async fn get_headers(&self, peer: PeerId, request: HeadersRequest) -> PeerResult<Vec<Header>> {
        let first = match request.start {
            BlockHashOrNumber::Number(number) => number,
            BlockHashOrNumber::Hash(_) => 100,
        };
        let headers = (0..request.limit.min(16))
            .map_while(|index| request.nth_number(first, index))
            .map(|number| Header { number, ..Header::default() })
            .collect();
        self.answer(peer, headers)
    }
}

impl BodiesClient for MockNetwork {
    async fn get_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> PeerResult<Vec<EthBlockBody>> {
        self.answer(peer, hashes.iter().map(|_| EthBlockBody::default()).collect())
    }
}
