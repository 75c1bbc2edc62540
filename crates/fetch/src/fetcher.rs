//! Running one request to a verified answer across peers.
//!
//! The [`Fetcher`] owns the [`PeerSet`]: for each attempt it leases the best peer for the request
//! kind and root (which sizes the byte budget and the timeout), sends the request through the
//! embedder's [`SnapClient`], and verifies the reply. A timeout rests the peer, an empty reply
//! marks it stateless for the root, bad data bans it and is reported to the client so the network
//! can disconnect it; then the next attempt goes to another peer. Only verified data is returned.

use crate::{
    AccountRangeRequest, Answer, ByteCodesRequest, FetchError, InvalidResponse,
    StorageRangesRequest, TrieNodesRequest, VerifiedAccountRange, VerifiedByteCodes,
    VerifiedStorageRanges, VerifiedTrieNodes, verify_account_range, verify_byte_codes,
    verify_storage_ranges, verify_trie_nodes,
};
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use snapsync_net::{
    Lease, PeerId, PeerResult, PeerSet, PeerStats, Penalty, RequestKind, SnapClient,
};
use snapsync_primitives::{AccountRange, ByteCodes, StorageRanges, TrieNodes};
use std::{
    future::Future,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{debug, warn};

/// How hard the [`Fetcher`] tries before giving a request up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchConfig {
    /// Attempts (each to the best available peer) before a request fails. Default 32.
    pub max_attempts: u32,
    /// Longest wait for a peer to become free (all busy or resting) before a request fails.
    /// Default 60 s.
    pub peer_wait: Duration,
    /// How often to look again while waiting for a free peer. Default 20 ms.
    pub idle_poll: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_attempts: 32,
            peer_wait: Duration::from_secs(60),
            idle_poll: Duration::from_millis(20),
        }
    }
}

/// Requests snap data from the best peers and returns it only once verified.
#[derive(Debug)]
pub struct Fetcher<C> {
    client: C,
    peers: Mutex<PeerSet>,
    config: FetchConfig,
    next_request_id: AtomicU64,
}

impl<C: SnapClient> Fetcher<C> {
    /// A fetcher over `client`'s peers, scheduled by `peers`.
    pub fn new(client: C, peers: PeerSet, config: FetchConfig) -> Self {
        Self { client, peers: Mutex::new(peers), config, next_request_id: AtomicU64::new(1) }
    }

    /// The embedder's client.
    pub const fn client(&self) -> &C {
        &self.client
    }

    /// Sets the state root being synced: peers' stateless marks for older roots clear.
    pub fn set_pivot_root(&self, root: B256) {
        self.peer_set().set_pivot_root(root);
    }

    /// Per-peer statistics, for progress and metrics.
    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.peer_set().stats(Instant::now())
    }

    /// The peers banned so far, with the reason.
    pub fn banned(&self) -> Vec<(PeerId, String)> {
        self.peer_set().banned().map(|(peer, reason)| (peer, reason.to_owned())).collect()
    }

    /// Verified accounts of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// [`FetchError`] when no peer serves the root, none becomes free in time, or every attempt
    /// failed.
    pub async fn account_range(
        &self,
        request: AccountRangeRequest,
    ) -> Result<VerifiedAccountRange, FetchError> {
        self.fetch(request).await
    }

    /// Verified storage of `request`'s accounts (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`].
    pub async fn storage_ranges(
        &self,
        request: StorageRangesRequest,
    ) -> Result<VerifiedStorageRanges, FetchError> {
        self.fetch(request).await
    }

    /// Verified bytecodes of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`].
    pub async fn byte_codes(
        &self,
        request: ByteCodesRequest,
    ) -> Result<VerifiedByteCodes, FetchError> {
        self.fetch(request).await
    }

    /// Verified trie nodes of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`], and [`FetchError::InvalidRequest`] for a request that
    /// cannot be encoded.
    pub async fn trie_nodes(
        &self,
        request: TrieNodesRequest,
    ) -> Result<VerifiedTrieNodes, FetchError> {
        request.to_message(0).map_err(FetchError::InvalidRequest)?;
        self.fetch(request).await
    }

    /// Attempts `request` on one peer after another until a reply verifies.
    async fn fetch<R: Exchange>(&self, mut request: R) -> Result<R::Verified, FetchError> {
        let root = request.availability_key();
        let mut last_problem = String::from("no attempt made");
        for _ in 0..self.config.max_attempts {
            let lease = self.lease(R::KIND, root).await?;
            request.set_budget(lease.response_bytes());
            let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
            let deadline = lease.deadline();
            let outcome = timeout_at(deadline, request.send(&self.client, lease.peer(), id)).await;
            match outcome {
                Err(_) => last_problem = self.on_timeout(lease, R::KIND),
                Ok(Err(error)) => last_problem = self.on_request_error(lease, R::KIND, &error),
                Ok(Ok(reply)) => {
                    let bytes = R::reply_bytes(&reply.data);
                    match request.verify(reply.data) {
                        Ok(Answer::Verified(data)) => {
                            self.peer_set().complete(lease, bytes, Instant::now());
                            return Ok(data);
                        }
                        Ok(Answer::Unavailable) => last_problem = self.on_empty(lease, R::KIND),
                        Err(invalid) => last_problem = self.on_invalid(lease, R::KIND, &invalid),
                    }
                }
            }
        }
        Err(FetchError::AttemptsExhausted {
            kind: R::KIND,
            attempts: self.config.max_attempts,
            last: last_problem,
        })
    }

    /// Waits for a peer that can take a `kind` request for `root`.
    async fn lease(&self, kind: RequestKind, root: B256) -> Result<Lease, FetchError> {
        let started = Instant::now();
        loop {
            let connected = self.client.peers();
            let now = Instant::now();
            let wake = {
                let mut peers = self.peer_set();
                peers.sync_peers(&connected);
                if let Some(lease) = peers.acquire(kind, root, now) {
                    return Ok(lease);
                }
                if peers.peers_serving(root) == 0 {
                    return Err(FetchError::NoPeerServes { kind, root });
                }
                let poll = now + self.config.idle_poll;
                peers.next_rest_end(now).map_or(poll, |rest_end| rest_end.min(poll))
            };
            if now.duration_since(started) >= self.config.peer_wait {
                return Err(FetchError::NoPeerAvailable { kind, waited: now - started });
            }
            sleep_until(wake).await;
        }
    }

    fn on_timeout(&self, lease: Lease, kind: RequestKind) -> String {
        let (peer, elapsed) = (lease.peer(), lease.elapsed(Instant::now()));
        debug!(target: "sync::snap::fetch", %peer, ?kind, ?elapsed, "request timed out");
        self.peer_set().timed_out(lease, Instant::now());
        self.client.report(peer, Penalty::Timeout { kind, elapsed });
        format!("peer {peer} timed out after {elapsed:?}")
    }

    fn on_request_error(
        &self,
        lease: Lease,
        kind: RequestKind,
        error: &snapsync_net::RequestError,
    ) -> String {
        let peer = lease.peer();
        debug!(target: "sync::snap::fetch", %peer, ?kind, %error, "request failed");
        self.peer_set().failed(lease, Instant::now());
        if error.is_peer_fault() {
            let reason = error.to_string();
            self.client.report(peer, Penalty::InvalidData { kind: Some(kind), reason });
        }
        error.to_string()
    }

    fn on_empty(&self, lease: Lease, kind: RequestKind) -> String {
        let (peer, root) = (lease.peer(), lease.root());
        debug!(target: "sync::snap::fetch", %peer, ?kind, %root, "peer does not serve root");
        self.peer_set().empty_for_root(lease);
        self.client.report(peer, Penalty::EmptyForRoot { kind, root });
        format!("peer {peer} does not serve root {root}")
    }

    fn on_invalid(&self, lease: Lease, kind: RequestKind, invalid: &InvalidResponse) -> String {
        let peer = lease.peer();
        let reason = invalid.to_string();
        warn!(target: "sync::snap::fetch", %peer, ?kind, %reason, "invalid reply, banning peer");
        {
            let mut peers = self.peer_set();
            peers.failed(lease, Instant::now());
            peers.ban(peer, reason.clone());
        }
        self.client.report(peer, Penalty::InvalidData { kind: Some(kind), reason: reason.clone() });
        format!("peer {peer} sent invalid data: {reason}")
    }

    fn peer_set(&self) -> MutexGuard<'_, PeerSet> {
        // A panic while holding the lock leaves the peer set as consistent as any single call
        // does (each is one short update), so a poisoned lock is safe to keep using.
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request kind, as the fetch loop needs it.
trait Exchange: Sync {
    type Reply: Encodable + Send;
    type Verified;
    const KIND: RequestKind;

    /// The state root the request is about (`None` for bytecodes).
    fn root(&self) -> Option<B256>;

    /// What an empty reply says the peer lacks, so that it is not asked again for it: the
    /// state root, or for requests of no state (bytecodes) a key of this request's items (a
    /// peer lacking some codes may well have others).
    fn availability_key(&self) -> B256 {
        self.root().unwrap_or(B256::ZERO)
    }
    fn set_budget(&mut self, bytes: u64);
    fn send<C: SnapClient>(
        &self,
        client: &C,
        peer: PeerId,
        id: u64,
    ) -> impl Future<Output = PeerResult<Self::Reply>> + Send;
    fn verify(&self, reply: Self::Reply) -> Result<Answer<Self::Verified>, InvalidResponse>;

    /// The reply's size on the wire, for the peer's throughput estimate.
    fn reply_bytes(reply: &Self::Reply) -> u64 {
        reply.length() as u64
    }
}

impl Exchange for AccountRangeRequest {
    type Reply = AccountRange;
    type Verified = VerifiedAccountRange;
    const KIND: RequestKind = RequestKind::AccountRange;

    fn root(&self) -> Option<B256> {
        Some(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn send<C: SnapClient>(
        &self,
        client: &C,
        peer: PeerId,
        id: u64,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send {
        client.get_account_range(peer, self.to_message(id))
    }

    fn verify(&self, reply: AccountRange) -> Result<Answer<VerifiedAccountRange>, InvalidResponse> {
        verify_account_range(self, reply)
    }
}

impl Exchange for StorageRangesRequest {
    type Reply = StorageRanges;
    type Verified = VerifiedStorageRanges;
    const KIND: RequestKind = RequestKind::StorageRanges;

    fn root(&self) -> Option<B256> {
        Some(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn send<C: SnapClient>(
        &self,
        client: &C,
        peer: PeerId,
        id: u64,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send {
        client.get_storage_ranges(peer, self.to_message(id))
    }

    fn verify(
        &self,
        reply: StorageRanges,
    ) -> Result<Answer<VerifiedStorageRanges>, InvalidResponse> {
        verify_storage_ranges(self, reply)
    }
}

impl Exchange for ByteCodesRequest {
    type Reply = ByteCodes;
    type Verified = VerifiedByteCodes;
    const KIND: RequestKind = RequestKind::ByteCodes;

    fn root(&self) -> Option<B256> {
        None
    }

    fn availability_key(&self) -> B256 {
        let mut hashes = Vec::with_capacity(32 * self.hashes.len());
        self.hashes.iter().for_each(|hash| hashes.extend_from_slice(hash.as_slice()));
        alloy_primitives::keccak256(hashes)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn send<C: SnapClient>(
        &self,
        client: &C,
        peer: PeerId,
        id: u64,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send {
        client.get_byte_codes(peer, self.to_message(id))
    }

    fn verify(&self, reply: ByteCodes) -> Result<Answer<VerifiedByteCodes>, InvalidResponse> {
        verify_byte_codes(self, reply)
    }
}

impl Exchange for TrieNodesRequest {
    type Reply = TrieNodes;
    type Verified = VerifiedTrieNodes;
    const KIND: RequestKind = RequestKind::TrieNodes;

    fn root(&self) -> Option<B256> {
        Some(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn send<C: SnapClient>(
        &self,
        client: &C,
        peer: PeerId,
        id: u64,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send {
        // `Fetcher::trie_nodes` checked that the request encodes; an empty path list is what
        // an unencodable request would become, and servers reject it.
        let message = self.to_message(id).unwrap_or_else(|_| snapsync_primitives::GetTrieNodes {
            request_id: id,
            root_hash: self.root,
            paths: Vec::new(),
            response_bytes: self.response_bytes,
        });
        client.get_trie_nodes(peer, message)
    }

    fn verify(&self, reply: TrieNodes) -> Result<Answer<VerifiedTrieNodes>, InvalidResponse> {
        verify_trie_nodes(self, reply)
    }
}
