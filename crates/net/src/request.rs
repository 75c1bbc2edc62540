//! The one way snapsync asks a peer anything: a [`Request`] to a named peer, bounded by a
//! deadline, answered by a [`Response`].

use std::{future::Future, pin::Pin, sync::Arc};

use alloy_consensus::Header;
use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};
use tokio::time::Instant;

use crate::{
    BodiesRequest, EthBlockBody, EthReceipt, HeadersRequest, PeerId, ReceiptsRequest, RequestError,
    RequestKind, WithPeer,
};

/// The outcome of a request: the response with the peer that sent it, or why there is none.
pub type PeerResult<T> = Result<WithPeer<T>, RequestError>;

/// A boxed, `Send` future borrowing for `'a`: what [`PeerRequests::request`] returns, so the
/// trait stays usable as `dyn PeerRequests`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`PeerRequests::request`] returns: the future of one peer's tagged answer.
pub type ResponseFuture<'a> = BoxFuture<'a, PeerResult<Response>>;

/// A message snapsync sends: the four snap/1 requests and the two eth block requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// snap `GetAccountRange`.
    AccountRange(GetAccountRange),
    /// snap `GetStorageRanges`.
    StorageRanges(GetStorageRanges),
    /// snap `GetByteCodes`.
    ByteCodes(GetByteCodes),
    /// snap `GetTrieNodes`.
    TrieNodes(GetTrieNodes),
    /// eth `GetBlockHeaders`.
    BlockHeaders(HeadersRequest),
    /// eth `GetBlockBodies`.
    BlockBodies(BodiesRequest),
    /// eth `GetReceipts`.
    Receipts(ReceiptsRequest),
}

impl Request {
    /// Which kind of request this is.
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::AccountRange(_) => RequestKind::AccountRange,
            Self::StorageRanges(_) => RequestKind::StorageRanges,
            Self::ByteCodes(_) => RequestKind::ByteCodes,
            Self::TrieNodes(_) => RequestKind::TrieNodes,
            Self::BlockHeaders(_) => RequestKind::BlockHeaders,
            Self::BlockBodies(_) => RequestKind::BlockBodies,
            Self::Receipts(_) => RequestKind::Receipts,
        }
    }
}

/// A peer's answer, decoded but not verified (snapsync verifies it against the request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// snap `AccountRange`.
    AccountRange(AccountRange),
    /// snap `StorageRanges`.
    StorageRanges(StorageRanges),
    /// snap `ByteCodes`.
    ByteCodes(ByteCodes),
    /// snap `TrieNodes`.
    TrieNodes(TrieNodes),
    /// eth `BlockHeaders`: at most the requested number, in request order, maybe none.
    BlockHeaders(Vec<Header>),
    /// eth `BlockBodies`: in request order, maybe with unavailable ones left out.
    BlockBodies(Vec<EthBlockBody>),
    /// eth `Receipts`: per requested block, in request order, its receipts; maybe with
    /// unavailable blocks left out.
    Receipts(Vec<Vec<EthReceipt>>),
}

impl Response {
    /// The kind of request this answers.
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::AccountRange(_) => RequestKind::AccountRange,
            Self::StorageRanges(_) => RequestKind::StorageRanges,
            Self::ByteCodes(_) => RequestKind::ByteCodes,
            Self::TrieNodes(_) => RequestKind::TrieNodes,
            Self::BlockHeaders(_) => RequestKind::BlockHeaders,
            Self::BlockBodies(_) => RequestKind::BlockBodies,
            Self::Receipts(_) => RequestKind::Receipts,
        }
    }
}

/// The embedding client's network, as a transport: one message to one named peer, its answer
/// back.
///
/// snapsync decides which peer serves which request (its scheduler sizes requests per peer and
/// sends each only to a peer whose [`Capabilities`](crate::Capabilities) cover it), so every
/// call names the peer; the implementation only transports: it assigns its own request id if it
/// wants (overwriting the snap `request_id`), sends the message, matches the answer to the
/// request, decodes it and returns it. It does not verify proofs or hashes (snapsync does) and
/// does not retry on another peer.
///
/// One method for all six messages, so an adapter is one `match` onto the network's own
/// calls; [`PeerRequestsExt`] puts typed calls on top. Dyn-compatible: snapsync holds it as an
/// `Arc<dyn PeerRequests>`.
///
/// # Contract
///
/// - The answer comes from the addressed peer ([`WithPeer::peer`] is `peer`) and is the
///   [`Response`] variant of the request's kind; another variant counts as the peer's fault
///   ([`RequestError::WrongResponse`]).
/// - `deadline` is when snapsync stops waiting (the scheduler's timeout for this peer and
///   request); the network may drop the request then. snapsync also wraps the call in the same
///   deadline, so an implementation that ignores it is still bounded.
/// - Dropping the returned future abandons the request; a late answer is discarded.
pub trait PeerRequests: Send + Sync {
    /// Sends `request` to `peer` and waits for its answer until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// [`RequestError`] when no answer arrives: timeout, disconnection, an undecodable answer,
    /// an unknown peer or a closed network.
    fn request(&self, peer: PeerId, request: Request, deadline: Instant) -> ResponseFuture<'_>;
}

impl<T: PeerRequests + ?Sized> PeerRequests for Arc<T> {
    fn request(&self, peer: PeerId, request: Request, deadline: Instant) -> ResponseFuture<'_> {
        self.as_ref().request(peer, request, deadline)
    }
}

impl<T: PeerRequests + ?Sized> PeerRequests for &T {
    fn request(&self, peer: PeerId, request: Request, deadline: Instant) -> ResponseFuture<'_> {
        (**self).request(peer, request, deadline)
    }
}

/// One of the six request messages, with the reply type it is answered by.
pub trait Message: Into<Request> {
    /// The reply's type.
    type Reply;
    /// The kind of request.
    const KIND: RequestKind;

    /// The reply in `response`, or `response` back if it is another variant.
    ///
    /// # Errors
    ///
    /// The `response` itself when it does not answer this kind.
    fn reply(response: Response) -> Result<Self::Reply, Response>;
}

/// Implements `Message` and `From<message> for Request` for one variant.
macro_rules! message {
    ($message:ty, $reply:ty, $variant:ident) => {
        impl From<$message> for Request {
            fn from(message: $message) -> Self {
                Self::$variant(message)
            }
        }

        impl Message for $message {
            type Reply = $reply;
            const KIND: RequestKind = RequestKind::$variant;

            fn reply(response: Response) -> Result<$reply, Response> {
                match response {
                    Response::$variant(reply) => Ok(reply),
                    other => Err(other),
                }
            }
        }
    };
}

message!(GetAccountRange, AccountRange, AccountRange);
message!(GetStorageRanges, StorageRanges, StorageRanges);
message!(GetByteCodes, ByteCodes, ByteCodes);
message!(GetTrieNodes, TrieNodes, TrieNodes);
message!(HeadersRequest, Vec<Header>, BlockHeaders);
message!(BodiesRequest, Vec<EthBlockBody>, BlockBodies);
message!(ReceiptsRequest, Vec<Vec<EthReceipt>>, Receipts);

/// Typed calls over any [`PeerRequests`] (implemented for all, `dyn` included): the reply of
/// the message's own type, an answer of another variant turned into
/// [`RequestError::WrongResponse`].
pub trait PeerRequestsExt: PeerRequests {
    /// Sends `message` to `peer`, waiting until `deadline` at the latest, and returns its
    /// typed reply.
    ///
    /// # Errors
    ///
    /// As [`PeerRequests::request`], and [`RequestError::WrongResponse`] for an answer that is
    /// not a reply to `message`.
    fn send<M: Message>(
        &self,
        peer: PeerId,
        message: M,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<M::Reply>> + Send {
        let answer = self.request(peer, message.into(), deadline);
        async move {
            let (from, response) = answer.await?.split();
            M::reply(response).map(|reply| WithPeer::new(from, reply)).map_err(|other| {
                RequestError::WrongResponse { peer: from, expected: M::KIND, got: other.kind() }
            })
        }
    }

    /// Sends `GetAccountRange` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_account_range(
        &self,
        peer: PeerId,
        request: GetAccountRange,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send {
        self.send(peer, request, deadline)
    }

    /// Sends `GetStorageRanges` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send {
        self.send(peer, request, deadline)
    }

    /// Sends `GetByteCodes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_byte_codes(
        &self,
        peer: PeerId,
        request: GetByteCodes,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send {
        self.send(peer, request, deadline)
    }

    /// Sends `GetTrieNodes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_trie_nodes(
        &self,
        peer: PeerId,
        request: GetTrieNodes,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send {
        self.send(peer, request, deadline)
    }

    /// Sends `GetBlockHeaders` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_headers(
        &self,
        peer: PeerId,
        request: HeadersRequest,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<Vec<Header>>> + Send {
        self.send(peer, request, deadline)
    }

    /// Sends `GetBlockBodies` for `hashes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<alloy_primitives::B256>,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<Vec<EthBlockBody>>> + Send {
        self.send(peer, BodiesRequest { hashes }, deadline)
    }

    /// Sends `GetReceipts` for `hashes` to `peer`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    fn get_receipts(
        &self,
        peer: PeerId,
        hashes: Vec<alloy_primitives::B256>,
        deadline: Instant,
    ) -> impl Future<Output = PeerResult<Vec<Vec<EthReceipt>>>> + Send {
        self.send(peer, ReceiptsRequest { hashes }, deadline)
    }
}

impl<T: PeerRequests + ?Sized> PeerRequestsExt for T {}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy_primitives::B256;
    use snapsync_primitives::AccountHash;

    use super::*;
    use crate::{PeerSource, Penalty, mock::MockNetwork};

    fn account_request(request_id: u64) -> GetAccountRange {
        GetAccountRange {
            request_id,
            root_hash: B256::repeat_byte(1),
            starting_hash: AccountHash::ZERO,
            limit_hash: AccountHash::MAX,
            response_bytes: 1024,
        }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(1)
    }

    /// How the sync holds the network: two trait objects, possibly the same value.
    async fn first_account_range(
        source: Arc<dyn PeerSource>,
        requests: Arc<dyn PeerRequests>,
    ) -> PeerResult<AccountRange> {
        let peer = source.peers().first().map(|info| info.id).ok_or(RequestError::NetworkClosed)?;
        requests.get_account_range(peer, account_request(7), soon()).await
    }

    #[tokio::test]
    async fn works_through_arc_dyn_and_by_reference() {
        let network = Arc::new(MockNetwork::with_peers(2));
        let answer = first_account_range(network.clone(), network.clone()).await.unwrap();
        assert_eq!(answer.peer, PeerId::from_index(0));
        assert_eq!(answer.data.request_id, 7);
        let by_reference =
            network.as_ref().get_account_range(answer.peer, account_request(7), soon());
        assert_eq!(by_reference.await, Ok(answer));
        assert_eq!(network.deadlines.lock().unwrap().len(), 2, "the deadline reaches the network");
    }

    #[tokio::test]
    async fn futures_are_send_so_requests_can_be_spawned() {
        let network: Arc<dyn PeerRequests> = Arc::new(MockNetwork::with_peers(3));
        let tasks: Vec<_> = (0..3)
            .map(|index| {
                let network = Arc::clone(&network);
                let peer = PeerId::from_index(index);
                tokio::spawn(async move {
                    network.get_trie_nodes(peer, GetTrieNodes::default(), soon()).await
                })
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
        let error =
            network.get_byte_codes(stranger, GetByteCodes::default(), soon()).await.unwrap_err();
        assert_eq!(error, RequestError::UnknownPeer { peer: stranger });
        assert_eq!(error.peer(), Some(stranger));
    }

    #[tokio::test]
    async fn one_type_serves_snap_headers_and_bodies() {
        let network = Arc::new(MockNetwork::with_peers(1));
        let peer = PeerId::from_index(0);
        let request = HeadersRequest::falling(10u64, 3);
        let headers = network.get_headers(peer, request, soon()).await.unwrap();
        let numbers: Vec<u64> = headers.data.iter().map(|header| header.number).collect();
        assert_eq!(numbers, [10, 9, 8]);
        let bodies = network.get_block_bodies(peer, vec![B256::ZERO; 2], soon()).await.unwrap();
        assert_eq!(bodies.data.len(), 2);
        assert!(bodies.data[0].transactions.is_empty() && bodies.data[0].withdrawals.is_none());
    }

    #[tokio::test]
    async fn a_reply_of_another_kind_is_the_peers_fault() {
        let network = MockNetwork { swap_replies: true, ..MockNetwork::with_peers(1) };
        let peer = PeerId::from_index(0);
        let error = network.get_account_range(peer, account_request(1), soon()).await.unwrap_err();
        assert_eq!(
            error,
            RequestError::WrongResponse {
                peer,
                expected: RequestKind::AccountRange,
                got: RequestKind::TrieNodes,
            }
        );
        assert!(error.is_peer_fault());
    }

    #[test]
    fn kinds_of_requests_and_responses_match_their_messages() {
        assert_eq!(Request::from(account_request(1)).kind(), RequestKind::AccountRange);
        let bodies = Request::from(BodiesRequest { hashes: Vec::new() });
        assert_eq!(bodies.kind(), RequestKind::BlockBodies);
        assert_eq!(Response::BlockHeaders(Vec::new()).kind(), RequestKind::BlockHeaders);
        let reply = <GetByteCodes as Message>::reply(Response::ByteCodes(ByteCodes::default()));
        assert_eq!(reply, Ok(ByteCodes::default()));
    }

    #[test]
    fn reports_reach_the_network() {
        let network = MockNetwork::with_peers(1);
        let peer = PeerId::from_index(0);
        let penalty =
            Penalty::Timeout { kind: RequestKind::ByteCodes, elapsed: Duration::from_secs(4) };
        let source: &dyn PeerSource = &network;
        source.report(peer, penalty.clone());
        assert_eq!(*network.reports.lock().unwrap(), [(peer, penalty)]);
    }
}
