//! The simulated network: the peer seam (`PeerSource`, `PeerRequests`) over in-process peers.

use crate::{
    Behaviour, BlockSource, Link, SnapResponder,
    blocks::{serve_bodies, serve_headers, serve_receipts},
    link::LinkQueue,
};
use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use snapsync_db::MemoryDatabase;
use snapsync_net::{
    BodiesRequest, BoxFuture, Capabilities, EthBlockBody, EthReceipt, HeadersRequest, PeerId,
    PeerInfo, PeerRequests, PeerResult, PeerSource, Penalty, ReceiptsRequest, Request,
    RequestError, RequestKind, Response, WithPeer,
};
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};
use snapsync_server::{ServerLimits, SnapServer};
use std::{
    future::Future,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::time::{Instant, sleep_until};

/// One simulated peer, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPeer {
    /// Its link.
    pub link: Link,
    /// How it treats requests.
    pub behaviour: Behaviour,
    /// Seed of its random choices ([`Behaviour::Random`]).
    pub seed: u64,
    /// The protocols it speaks (listed by [`PeerSource::peers`]); a request of another
    /// protocol is refused with [`RequestError::UnknownPeer`]. Default eth and snap/1.
    pub capabilities: Capabilities,
}

impl SimPeer {
    /// An honest peer on `link`, speaking eth and snap/1.
    pub const fn honest(link: Link) -> Self {
        Self::new(link, Behaviour::Honest, 0)
    }

    /// A peer on `link` behaving as `behaviour`, its random choices seeded by `seed`, speaking
    /// eth and snap/1.
    pub const fn new(link: Link, behaviour: Behaviour, seed: u64) -> Self {
        Self { link, behaviour, seed, capabilities: Capabilities::ETH_AND_SNAP }
    }

    /// The same peer speaking only `capabilities`.
    #[must_use]
    pub fn with_capabilities(self, capabilities: Capabilities) -> Self {
        Self { capabilities, ..self }
    }
}

/// A penalty the client reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The peer.
    pub peer: PeerId,
    /// What it was reported for.
    pub penalty: Penalty,
}

#[derive(Debug)]
struct PeerState {
    id: PeerId,
    config: SimPeer,
    rng: TestRng,
    queue: LinkQueue,
    connected: bool,
    bytes_sent: u64,
    /// Requests received so far.
    requests: u64,
    /// Requests received so far, per kind in [`RequestKind::ALL`] order (refused ones too).
    requests_by_kind: [u64; RequestKind::COUNT],
}

/// The peer seam ([`PeerSource`] and [`PeerRequests`]) over peers simulated in-process; peer `i` has id
/// `PeerId::from_index(i)`.
pub struct SimNetwork {
    responder: Arc<dyn SnapResponder>,
    blocks: Option<Arc<dyn BlockSource>>,
    peers: Mutex<Vec<PeerState>>,
    reports: Mutex<Vec<Report>>,
    bytes_sent: AtomicU64,
    /// Bytes of snap/1 (state) replies sent.
    state_bytes_sent: AtomicU64,
    /// Called with the state bytes sent so far as each state reply is sent (see
    /// [`SimNetwork::on_state_bytes_sent`]).
    byte_hook: OnceLock<ByteHook>,
    requests: AtomicU64,
    timeouts: AtomicU64,
}

/// What [`SimNetwork::on_state_bytes_sent`] installs.
type ByteHook = Box<dyn Fn(u64) + Send + Sync>;

impl std::fmt::Debug for SimNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNetwork")
            .field("peers", &self.lock_peers().len())
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl SimNetwork {
    /// A network that serves `blocks` (headers, bodies, receipts) and no state: one peer per
    /// behaviour, on `link`, seeded by its position (the first peer 0).
    pub fn serving_blocks(
        blocks: Arc<dyn BlockSource>,
        link: Link,
        behaviours: &[Behaviour],
    ) -> Self {
        let peers = (0u64..)
            .zip(behaviours)
            .map(|(seed, behaviour)| SimPeer::new(link, behaviour.clone(), seed))
            .collect();
        let no_state = Arc::new(SnapServer::<MemoryDatabase>::new(ServerLimits::default()));
        Self::new(no_state, peers).with_blocks(blocks)
    }

    /// A network of `peers`, all answering from `responder`.
    pub fn new(responder: Arc<dyn SnapResponder>, peers: Vec<SimPeer>) -> Self {
        let peers = (0u64..)
            .zip(peers)
            .map(|(index, config)| PeerState {
                id: PeerId::from_index(index),
                rng: TestRng::new(config.seed),
                config,
                queue: LinkQueue::new(),
                connected: true,
                bytes_sent: 0,
                requests: 0,
                requests_by_kind: [0; RequestKind::COUNT],
            })
            .collect();
        Self {
            responder,
            blocks: None,
            peers: Mutex::new(peers),
            reports: Mutex::new(Vec::new()),
            bytes_sent: AtomicU64::new(0),
            state_bytes_sent: AtomicU64::new(0),
            byte_hook: OnceLock::new(),
            requests: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
        }
    }

    /// The network with every peer also serving `blocks` (headers and bodies); without it,
    /// header and body requests get empty answers.
    #[must_use]
    pub fn with_blocks(mut self, blocks: Arc<dyn BlockSource>) -> Self {
        self.blocks = Some(blocks);
        self
    }

    /// Every peer's id, connected or not.
    pub fn peer_ids(&self) -> Vec<PeerId> {
        self.lock_peers().iter().map(|state| state.id).collect()
    }

    /// Changes a peer's behaviour from its next request on.
    pub fn set_behaviour(&self, peer: PeerId, behaviour: Behaviour) {
        if let Some(state) = self.lock_peers().iter_mut().find(|state| state.id == peer) {
            state.config.behaviour = behaviour;
        }
    }

    /// Every penalty reported so far, in order.
    pub fn reports(&self) -> Vec<Report> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The penalties reported against `peer`.
    pub fn penalties_of(&self, peer: PeerId) -> Vec<Penalty> {
        self.reports().into_iter().filter(|r| r.peer == peer).map(|r| r.penalty).collect()
    }

    /// Whether `peer` is still connected (a disconnecting penalty disconnects it).
    pub fn is_connected(&self, peer: PeerId) -> bool {
        self.lock_peers().iter().any(|state| state.id == peer && state.connected)
    }

    /// Calls `hook` with the snap/1 (state) bytes sent so far each time a state reply is sent,
    /// before it travels to the requester: for a tool or test that acts at a point of the state
    /// download exactly (the CLI's moving tip), not whenever a timer next looks, which a fast
    /// sync outruns. Headers, bodies and receipts (which download alongside) do not count. One
    /// hook per network; returns whether this one was installed.
    pub fn on_state_bytes_sent(&self, hook: impl Fn(u64) + Send + Sync + 'static) -> bool {
        self.byte_hook.set(Box::new(hook)).is_ok()
    }

    /// Bytes all peers sent.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// Bytes `peer` sent.
    pub fn bytes_sent_by(&self, peer: PeerId) -> u64 {
        self.lock_peers().iter().find(|state| state.id == peer).map_or(0, |state| state.bytes_sent)
    }

    /// Requests of `kind` `peer` received (including ones it refused for lack of the
    /// capability).
    pub fn requests_of(&self, peer: PeerId, kind: RequestKind) -> u64 {
        self.lock_peers()
            .iter()
            .find(|state| state.id == peer)
            .map_or(0, |state| state.requests_by_kind[kind.index()])
    }

    /// Requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests reported as timed out ([`Penalty::Timeout`]), of every kind.
    pub fn timeouts(&self) -> u64 {
        self.timeouts.load(Ordering::Relaxed)
    }

    fn lock_peers(&self) -> MutexGuard<'_, Vec<PeerState>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request: the peer's behaviour picks the answer, its link delays it.
    #[expect(clippy::too_many_arguments, reason = "one private helper of the six requests")]
    async fn exchange<R: Encodable>(
        &self,
        peer: PeerId,
        kind: RequestKind,
        root: Option<B256>,
        budget: u64,
        ask: impl FnOnce(u64) -> R,
        empty: impl FnOnce() -> R,
        corrupt: impl FnOnce(&Behaviour, &mut R),
    ) -> PeerResult<R> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (behaviour, link) = {
            let mut peers = self.lock_peers();
            let state = peers
                .iter_mut()
                .find(|state| state.id == peer)
                .ok_or(RequestError::UnknownPeer { peer })?;
            if !state.connected {
                return Err(RequestError::Disconnected { peer });
            }
            state.requests_by_kind[kind.index()] += 1;
            if !state.config.capabilities.serves(kind) {
                return Err(RequestError::UnknownPeer { peer });
            }
            let served = state.requests;
            state.requests += 1;
            (state.config.behaviour.resolve(&mut state.rng, served), state.config.link)
        };
        if behaviour == Behaviour::Stall {
            return std::future::pending().await;
        }
        let stateless = behaviour == Behaviour::Stateless
            || (behaviour == Behaviour::NoHistory && !kind.is_snap())
            || root.is_some_and(|root| behaviour.is_stateless_for(root));
        let mut reply = if stateless { empty() } else { ask(behaviour.server_budget(budget)) };
        corrupt(&behaviour, &mut reply);
        let bytes = reply.length();
        let arrival = {
            let mut peers = self.lock_peers();
            let Some(state) = peers.iter_mut().find(|state| state.id == peer) else {
                return Err(RequestError::Disconnected { peer });
            };
            state.bytes_sent += bytes as u64;
            let slow = behaviour.slowdown();
            let link = Link {
                latency: link.latency * slow,
                bandwidth: link.bandwidth.map(|rate| rate / u64::from(slow.max(1))),
            };
            state.queue.schedule(&link, Instant::now(), bytes)
        };
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
        if kind.is_snap() {
            let sent = self.state_bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
            if let Some(hook) = self.byte_hook.get() {
                hook(sent + bytes as u64);
            }
        }
        // A reply due now is delivered now: a timer, even one already due, would hold it (built,
        // in memory) until the runtime next turns its timers, which a busy runtime does late.
        if arrival > Instant::now() {
            sleep_until(arrival).await;
        }
        Ok(WithPeer::new(peer, reply))
    }
}

/// The six requests, each through [`SimNetwork::exchange`].
impl SimNetwork {
    fn serve_account_range(
        &self,
        peer: PeerId,
        request: &GetAccountRange,
    ) -> impl Future<Output = PeerResult<AccountRange>> + Send {
        let request = request.clone();
        let (root, budget, id) = (request.root_hash, request.response_bytes, request.request_id);
        let server = self.responder.as_ref();
        self.exchange(
            peer,
            RequestKind::AccountRange,
            Some(root),
            budget,
            move |bytes| {
                server.account_range(&GetAccountRange { response_bytes: bytes, ..request })
            },
            move || AccountRange { request_id: id, accounts: Vec::new(), proof: Vec::new() },
            Behaviour::corrupt_accounts,
        )
    }

    fn serve_storage_ranges(
        &self,
        peer: PeerId,
        request: GetStorageRanges,
    ) -> impl Future<Output = PeerResult<StorageRanges>> + Send {
        let (root, budget, id) = (request.root_hash, request.response_bytes, request.request_id);
        let server = self.responder.as_ref();
        self.exchange(
            peer,
            RequestKind::StorageRanges,
            Some(root),
            budget,
            move |bytes| {
                server.storage_ranges(&GetStorageRanges { response_bytes: bytes, ..request })
            },
            move || StorageRanges { request_id: id, slots: Vec::new(), proof: Vec::new() },
            Behaviour::corrupt_storage,
        )
    }

    fn serve_byte_codes(
        &self,
        peer: PeerId,
        request: GetByteCodes,
    ) -> impl Future<Output = PeerResult<ByteCodes>> + Send {
        let (budget, id) = (request.response_bytes, request.request_id);
        let server = self.responder.as_ref();
        self.exchange(
            peer,
            RequestKind::ByteCodes,
            None,
            budget,
            move |bytes| server.byte_codes(&GetByteCodes { response_bytes: bytes, ..request }),
            move || ByteCodes { request_id: id, codes: Vec::new() },
            Behaviour::corrupt_codes,
        )
    }

    fn serve_trie_nodes(
        &self,
        peer: PeerId,
        request: GetTrieNodes,
    ) -> impl Future<Output = PeerResult<TrieNodes>> + Send {
        let (root, budget, id) = (request.root_hash, request.response_bytes, request.request_id);
        let server = self.responder.as_ref();
        self.exchange(
            peer,
            RequestKind::TrieNodes,
            Some(root),
            budget,
            move |bytes| server.trie_nodes(&GetTrieNodes { response_bytes: bytes, ..request }),
            move || TrieNodes { request_id: id, nodes: Vec::new() },
            Behaviour::corrupt_nodes,
        )
    }

    fn serve_headers(
        &self,
        peer: PeerId,
        request: HeadersRequest,
    ) -> impl Future<Output = PeerResult<Vec<Header>>> + Send {
        let blocks = self.blocks.as_deref();
        self.exchange(
            peer,
            RequestKind::BlockHeaders,
            None,
            0,
            move |_| blocks.map(|blocks| serve_headers(blocks, &request)).unwrap_or_default(),
            Vec::new,
            |behaviour, reply| behaviour.corrupt_headers(reply),
        )
    }

    fn serve_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> impl Future<Output = PeerResult<Vec<EthBlockBody>>> + Send {
        let blocks = self.blocks.as_deref();
        self.exchange(
            peer,
            RequestKind::BlockBodies,
            None,
            0,
            move |_| blocks.map(|blocks| serve_bodies(blocks, &hashes)).unwrap_or_default(),
            Vec::new,
            |behaviour, reply| behaviour.corrupt_bodies(reply),
        )
    }

    fn serve_receipts(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> impl Future<Output = PeerResult<Vec<Vec<EthReceipt>>>> + Send {
        let blocks = self.blocks.as_deref();
        self.exchange(
            peer,
            RequestKind::Receipts,
            None,
            0,
            move |_| blocks.map(|blocks| serve_receipts(blocks, &hashes)).unwrap_or_default(),
            Vec::new,
            |behaviour, reply| behaviour.corrupt_receipts(reply),
        )
    }
}

impl PeerSource for SimNetwork {
    fn peers(&self) -> Vec<PeerInfo> {
        self.lock_peers()
            .iter()
            .filter(|state| state.connected)
            .map(|state| PeerInfo::new(state.id, state.config.capabilities))
            .collect()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        if matches!(penalty, Penalty::Timeout { .. }) {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        if penalty.is_disconnect()
            && let Some(state) = self.lock_peers().iter_mut().find(|state| state.id == peer)
        {
            state.connected = false;
        }
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).push(Report { peer, penalty });
    }
}

impl PeerRequests for SimNetwork {
    /// Served at once from the responder or block source, delayed by the peer's link; the
    /// deadline is left to the caller (snapsync drops the future then), as a network that
    /// ignores it would.
    fn request(
        &self,
        peer: PeerId,
        request: Request,
        _deadline: Instant,
    ) -> BoxFuture<'_, PeerResult<Response>> {
        Box::pin(async move {
            let response = match request {
                Request::AccountRange(request) => {
                    self.serve_account_range(peer, &request).await?.map(Response::AccountRange)
                }
                Request::StorageRanges(request) => {
                    self.serve_storage_ranges(peer, request).await?.map(Response::StorageRanges)
                }
                Request::ByteCodes(request) => {
                    self.serve_byte_codes(peer, request).await?.map(Response::ByteCodes)
                }
                Request::TrieNodes(request) => {
                    self.serve_trie_nodes(peer, request).await?.map(Response::TrieNodes)
                }
                Request::BlockHeaders(request) => {
                    self.serve_headers(peer, request).await?.map(Response::BlockHeaders)
                }
                Request::BlockBodies(BodiesRequest { hashes }) => {
                    self.serve_block_bodies(peer, hashes).await?.map(Response::BlockBodies)
                }
                Request::Receipts(ReceiptsRequest { hashes }) => {
                    self.serve_receipts(peer, hashes).await?.map(Response::Receipts)
                }
            };
            Ok(response)
        })
    }
}
