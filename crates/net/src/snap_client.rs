//! The snap/1 requests snapsync sends, addressed to a peer, through the embedding network.

use std::{future::Future, sync::Arc};

use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};

use crate::{PeerId, Penalty, RequestError, WithPeer};

/// The outcome of a client request: the response with the peer that sent it, or why there is
/// none.
pub type PeerResult<T> = Result<WithPeer<T>, RequestError>;

/// The snap/1 side of the embedding client's network.
///
/// snapsync decides which peer serves which request (its [`PeerSet`](crate::PeerSet) sizes
/// requests per peer), so every call names the peer; the implementation only transports: it
/// assigns its own request id if it wants (overwriting `request_id`), sends the message,
/// matches the response to the request, decodes it and returns it. It does not verify proofs
/// or hashes (snapsync does) and does not retry on another peer.
///
/// # Contract
///
/// - A response comes from the addressed peer: [`WithPeer::peer`] is that peer.
/// - Dropping a returned future abandons the request; a late response is discarded.
/// - Each call should bound its wait (a few times the lease timeout snapsync passes on is
///   plenty); snapsync wraps every call in its own deadline as well.
/// - The futures are `Send` and may borrow `self`: to spawn them, hold the client in an
///   [`Arc`], for which this trait is implemented.
pub trait SnapClient: Send + Sync {
    /// Sends `GetAccountRange` to `peer`.
    ///
    /// # Errors
    ///
    /// [`RequestError`] when no response arrives: timeout, disconnection, an undecodable
    /// answer, an unknown peer or a closed network.
    fn get_account_range(
        &self,
        peer: PeerId,
        request: GetAccountRange,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send;

    /// Sends `GetStorageRanges` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`get_account_range`](Self::get_account_range).
    fn get_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send;

    /// Sends `GetByteCodes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`get_account_range`](Self::get_account_range).
    fn get_byte_codes(
        &self,
        peer: PeerId,
        request: GetByteCodes,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send;

    /// Sends `GetTrieNodes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`get_account_range`](Self::get_account_range).
    fn get_trie_nodes(
        &self,
        peer: PeerId,
        request: GetTrieNodes,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send;

    /// The peers connected now that speak snap/1 (and so eth, which snap requires).
    ///
    /// A snapshot rather than a stream: the sync reconciles its
    /// [`PeerSet`](crate::PeerSet) with it ([`PeerSet::sync_peers`](crate::PeerSet::sync_peers))
    /// on every scheduling round, which already runs on each response and timer tick, so no
    /// update can be missed or applied out of order, and an implementation is one read of
    /// the network's peer table. Peers that go away between rounds surface as
    /// [`RequestError::Disconnected`].
    fn peers(&self) -> Vec<PeerId>;

    /// Tells the network what a peer did, for its reputation system. On
    /// [`Penalty::is_disconnect`] the network should disconnect the peer; snapsync has
    /// stopped using it either way. Must not block.
    fn report(&self, peer: PeerId, penalty: Penalty);
}

impl<C: SnapClient> SnapClient for Arc<C> {
    fn get_account_range(
        &self,
        peer: PeerId,
        request: GetAccountRange,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send {
        self.as_ref().get_account_range(peer, request)
    }

    fn get_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send {
        self.as_ref().get_storage_ranges(peer, request)
    }

    fn get_byte_codes(
        &self,
        peer: PeerId,
        request: GetByteCodes,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send {
        self.as_ref().get_byte_codes(peer, request)
    }

    fn get_trie_nodes(
        &self,
        peer: PeerId,
        request: GetTrieNodes,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send {
        self.as_ref().get_trie_nodes(peer, request)
    }

    fn peers(&self) -> Vec<PeerId> {
        self.as_ref().peers()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        self.as_ref().report(peer, penalty);
    }
}

impl<C: SnapClient> SnapClient for &C {
    fn get_account_range(
        &self,
        peer: PeerId,
        request: GetAccountRange,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send {
        (**self).get_account_range(peer, request)
    }

    fn get_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send {
        (**self).get_storage_ranges(peer, request)
    }

    fn get_byte_codes(
        &self,
        peer: PeerId,
        request: GetByteCodes,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send {
        (**self).get_byte_codes(peer, request)
    }

    fn get_trie_nodes(
        &self,
        peer: PeerId,
        request: GetTrieNodes,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send {
        (**self).get_trie_nodes(peer, request)
    }

    fn peers(&self) -> Vec<PeerId> {
        (**self).peers()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        (**self).report(peer, penalty);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy_primitives::B256;
    use snapsync_primitives::AccountHash;

    use super::*;
    use crate::{BodiesClient, HeadersClient, HeadersRequest, RequestKind, mock::MockNetwork};

    fn account_request(request_id: u64) -> GetAccountRange {
        GetAccountRange {
            request_id,
            root_hash: B256::repeat_byte(1),
            starting_hash: AccountHash::ZERO,
            limit_hash: AccountHash::MAX,
            response_bytes: 1024,
        }
    }

    /// How the sync uses a client: generically, one request per peer it chose.
    async fn first_account_range<C: SnapClient>(client: C) -> PeerResult<AccountRange> {
        let peer = client.peers().first().copied().ok_or(RequestError::NetworkClosed)?;
        client.get_account_range(peer, account_request(7)).await
    }

    #[tokio::test]
    async fn works_by_value_by_reference_and_through_arc() {
        let network = MockNetwork::with_peers(2);
        let by_reference = first_account_range(&network).await.unwrap();
        assert_eq!(by_reference.peer, PeerId::from_index(0));
        assert_eq!(by_reference.data.request_id, 7);
        let shared = Arc::new(network);
        assert_eq!(first_account_range(Arc::clone(&shared)).await, Ok(by_reference.clone()));
        let owned = Arc::into_inner(shared).unwrap();
        assert_eq!(first_account_range(owned).await, Ok(by_reference));
    }

    #[tokio::test]
    async fn futures_are_send_so_requests_can_be_spawned() {
        let network = Arc::new(MockNetwork::with_peers(3));
        let tasks: Vec<_> = network
            .peers()
            .into_iter()
            .map(|peer| {
                let network = Arc::clone(&network);
                tokio::spawn(
                    async move { network.get_trie_nodes(peer, GetTrieNodes::default()).await },
                )
            })
            .collect();
        for (task, peer) in futures::future::join_all(tasks).await.into_iter().zip(0..) {
            assert_eq!(task.unwrap().unwrap().peer, PeerId::from_index(peer));
        }
    }

    #[tokio::test]
    async fn unknown_peers_are_an_error_naming_the_peer() {
        let network = MockNetwork::with_peers(1);
        let stranger = PeerId::from_index(99);
        let error = network.get_byte_codes(stranger, GetByteCodes::default()).await.unwrap_err();
        assert_eq!(error, RequestError::UnknownPeer { peer: stranger });
        assert_eq!(error.peer(), Some(stranger));
    }

    #[tokio::test]
    async fn one_type_serves_snap_headers_and_bodies() {
        let network = Arc::new(MockNetwork::with_peers(1));
        let peer = PeerId::from_index(0);
        let headers = network.get_headers(peer, HeadersRequest::falling(10u64, 3)).await.unwrap();
        let numbers: Vec<u64> = headers.data.iter().map(|header| header.number).collect();
        assert_eq!(numbers, [10, 9, 8]);
        let bodies = network.get_block_bodies(peer, vec![B256::ZERO; 2]).await.unwrap();
        assert_eq!(bodies.data.len(), 2);
        assert!(bodies.data[0].transactions.is_empty() && bodies.data[0].withdrawals.is_none());
    }

    #[test]
    fn reports_reach_the_network() {
        let network = MockNetwork::with_peers(1);
        let peer = PeerId::from_index(0);
        let penalty =
            Penalty::Timeout { kind: RequestKind::ByteCodes, elapsed: Duration::from_secs(4) };
        Arc::new(&network).report(peer, penalty.clone());
        assert_eq!(*network.reports.lock().unwrap(), [(peer, penalty)]);
    }
}
