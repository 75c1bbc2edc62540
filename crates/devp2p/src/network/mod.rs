//! [`Network`]: peers over RLPx, as the sync's client traits see them.
//!
//! The network owns its connections: it dials [`Enode`]s ([`Network::dial`]) and accepts
//! inbound connections ([`Network::listen`]), runs each through the RLPx handshake, Hello and
//! the validated Status exchange, and keeps the peers in a table that
//! [`PeerSource::peers`] lists (eth always; snap/1 when negotiated; the head from Status, then
//! from eth/69 `BlockRangeUpdate`). [`PeerRequests::request`] sends a request under a fresh
//! request id and waits, until the caller's deadline, for the reply with that id and kind; a
//! disconnect fails the peer's pending requests with [`RequestError::Disconnected`].
//! [`PeerSource::report`] with a penalty that disconnects ends the connection and bans the node
//! id: it is neither dialled nor accepted again.
//!
//! Each connection runs in its own tasks (`peer`), answering the peer's requests through a
//! [`RequestHandler`] ([`StoreHandler`] serves a snapsync store; [`Withholding`] answers the
//! history kinds it withholds with empty replies).
//!
//! # Bounds
//!
//! [`NetworkConfig`]: peers, inbound handshakes in progress, requests in flight per peer in
//! both directions, the writer's queue, unsolicited messages, silence (Ping, then disconnect);
//! the banned node ids ([`MAX_BANS`], the oldest forgotten first); and per connection
//! [`RlpxConfig`](crate::RlpxConfig): handshake size and time, frame and message size, Status
//! time.

mod bans;
mod config;
mod peer;
mod pending;
mod record;
mod serve;
mod wire;
mod withhold;

pub use bans::MAX_BANS;
pub use config::NetworkConfig;
pub use record::{PeerEnd, PeerRecord};
pub use serve::{EmptyHandler, RequestHandler, StoreHandler};
pub use withhold::{HistoryKind, Withholding};

use crate::{
    ChainStatus, Connection, DisconnectReason, Enode, Hello, NetworkError, NodeId, NodeKey,
    P2P_VERSION, RlpxStream, Session, protocols,
};
use bans::Bans;
use peer::{PeerHandle, node_id};
use snapsync_net::{
    PeerHead, PeerId, PeerInfo, PeerRequests, PeerSource, Penalty, Request, RequestError,
    ResponseFuture,
};
use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    task::JoinHandle,
    time::Instant,
};

/// Most peer records kept ([`Network::records`]); the oldest ended ones go first.
const MAX_RECORDS: usize = 1024;

/// Locks a mutex, going on with its data if a panic elsewhere poisoned it: every table here
/// is left consistent between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the network's tasks share.
pub(crate) struct Shared {
    key: NodeKey,
    chain: ChainStatus,
    config: NetworkConfig,
    handler: Arc<dyn RequestHandler>,
    peers: Mutex<HashMap<NodeId, PeerHandle>>,
    bans: Mutex<Bans>,
    records: Mutex<BTreeMap<u64, PeerRecord>>,
    next_serial: AtomicU64,
    closed: AtomicBool,
    listener: Mutex<Option<(Enode, JoinHandle<()>)>>,
    inbound_handshakes: Arc<Semaphore>,
}

impl Shared {
    /// Adds a connected peer to the table unless the network is closed, the peer banned or
    /// already connected, or the table full (with the Disconnect reason to give).
    fn register(
        &self,
        node: NodeId,
        mut handle: PeerHandle,
        record: PeerRecord,
    ) -> Result<PeerHandle, (NetworkError, DisconnectReason)> {
        if self.closed.load(Ordering::Acquire) {
            return Err((NetworkError::Closed, DisconnectReason::ClientQuitting));
        }
        if let Some(why) = lock(&self.bans).get(&node) {
            return Err((
                NetworkError::Banned { id: node, why: why.clone() },
                DisconnectReason::UselessPeer,
            ));
        }
        let mut peers = lock(&self.peers);
        if peers.contains_key(&node) {
            return Err((NetworkError::AlreadyConnected(node), DisconnectReason::AlreadyConnected));
        }
        if peers.len() >= self.config.max_peers {
            let max = self.config.max_peers;
            return Err((NetworkError::TooManyPeers { max }, DisconnectReason::TooManyPeers));
        }
        handle.serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        peers.insert(node, handle.clone());
        drop(peers);
        let mut records = lock(&self.records);
        records.insert(handle.serial, record);
        if records.len() > MAX_RECORDS {
            let oldest_ended = records
                .iter()
                .find(|(_, record)| record.ended.is_some())
                .map(|(serial, _)| *serial);
            if let Some(serial) = oldest_ended {
                records.remove(&serial);
            }
        }
        Ok(handle)
    }

    /// Takes an ended peer out of the table and records why it ended.
    fn unregister(&self, node: NodeId, serial: u64, end: PeerEnd) {
        let mut peers = lock(&self.peers);
        if peers.get(&node).is_some_and(|handle| handle.serial == serial) {
            peers.remove(&node);
        }
        drop(peers);
        self.update_record(serial, |record| record.ended = Some(end));
    }

    fn update_record(&self, serial: u64, update: impl FnOnce(&mut PeerRecord)) {
        if let Some(record) = lock(&self.records).get_mut(&serial) {
            update(record);
        }
    }

    fn update_head(&self, node: NodeId, head: PeerHead) {
        if let Some(handle) = lock(&self.peers).get_mut(&node) {
            handle.info = handle.info.with_head(head);
        }
    }

    fn hello(&self) -> Hello {
        let listen_port = lock(&self.listener).as_ref().map_or(0, |(enode, _)| enode.addr.port());
        Hello {
            protocol_version: P2P_VERSION,
            client_id: self.config.client_id.clone(),
            capabilities: protocols().into_iter().map(|p| p.capability).collect(),
            listen_port,
            id: self.key.id(),
        }
    }

    fn ban(&self, node: NodeId, why: String) {
        lock(&self.bans).insert(node, why.clone());
        let control = lock(&self.peers).get(&node).map(|handle| handle.control.clone());
        if let Some(control) = control {
            // Capacity 1: when full, an end is already on its way.
            let _ = control.try_send(PeerEnd::Banned(why));
        }
    }
}

/// Peers over RLPx: dialled, accepted, listed, asked and answered. Cheap to clone (one shared
/// state); see the [crate docs](crate).
#[derive(Clone)]
pub struct Network {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("id", &self.shared.key.id())
            .field("peers", &self.peer_count())
            .finish_non_exhaustive()
    }
}

impl Network {
    /// A network with identity `key` on the chain `chain` describes, answering every request
    /// with an empty reply ([`EmptyHandler`]).
    pub fn new(key: NodeKey, chain: ChainStatus, config: NetworkConfig) -> Self {
        Self::serving(key, chain, config, Arc::new(EmptyHandler))
    }

    /// A network answering peers' requests with `handler`.
    pub fn serving(
        key: NodeKey,
        chain: ChainStatus,
        config: NetworkConfig,
        handler: Arc<dyn RequestHandler>,
    ) -> Self {
        let inbound_handshakes = Arc::new(Semaphore::new(config.max_inbound_handshakes.max(1)));
        let shared = Shared {
            key,
            chain,
            config,
            handler,
            peers: Mutex::default(),
            bans: Mutex::default(),
            records: Mutex::default(),
            next_serial: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            listener: Mutex::new(None),
            inbound_handshakes,
        };
        Self { shared: Arc::new(shared) }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.shared.key.id()
    }

    /// The `enode://` URL peers reach this node at, once [`listen`](Self::listen) succeeded.
    pub fn local_enode(&self) -> Option<Enode> {
        lock(&self.shared.listener).as_ref().map(|(enode, _)| *enode)
    }

    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        lock(&self.shared.peers).len()
    }

    /// Every peer connected since the start (up to the last 1024), oldest first, with its counts
    /// and why it ended.
    pub fn records(&self) -> Vec<PeerRecord> {
        lock(&self.shared.records).values().cloned().collect()
    }

    /// Why `node` is banned, if it is.
    pub fn ban_reason(&self, node: &NodeId) -> Option<String> {
        lock(&self.shared.bans).get(node).cloned()
    }

    /// Bans `node` (it is disconnected, and neither dialled nor accepted again).
    pub fn ban(&self, node: NodeId, why: impl Into<String>) {
        self.shared.ban(node, why.into());
    }

    /// Waits until at least `count` peers are connected, or `timeout`; whether they are.
    pub async fn wait_for_peers(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.peer_count() >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Accepts inbound connections on `addr` (port 0 picks a free one) from now until
    /// [`shutdown`](Self::shutdown); returns the node's URL.
    ///
    /// # Errors
    /// [`NetworkError::Bind`] when the address cannot be bound; [`NetworkError::Closed`] after
    /// shutdown.
    pub async fn listen(&self, addr: SocketAddr) -> Result<Enode, NetworkError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(NetworkError::Closed);
        }
        let listener =
            TcpListener::bind(addr).await.map_err(|source| NetworkError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| NetworkError::Bind { addr, source })?;
        let enode = Enode { id: self.id(), addr: local };
        let task = tokio::spawn(accept_loop(Arc::clone(&self.shared), listener));
        if let Some((_, old)) = lock(&self.shared.listener).replace((enode, task)) {
            old.abort();
        }
        tracing::info!(target: "net::devp2p::peers", %enode, "listening");
        Ok(enode)
    }

    /// Connects to `enode`: TCP (within [`NetworkConfig::dial_timeout`]), the RLPx handshake,
    /// Hello and the validated Status exchange; the peer then serves requests until it ends.
    ///
    /// # Errors
    /// [`NetworkError`]: the node is ourselves, banned, already connected, or the table is
    /// full; the TCP connection, the handshake, the session or the Status exchange failed.
    pub async fn dial(&self, enode: Enode) -> Result<PeerId, NetworkError> {
        let shared = &self.shared;
        if enode.id == shared.key.id() {
            return Err(NetworkError::ConnectedToSelf);
        }
        if let Some(why) = self.ban_reason(&enode.id) {
            return Err(NetworkError::Banned { id: enode.id, why });
        }
        if lock(&shared.peers).contains_key(&enode.id) {
            return Err(NetworkError::AlreadyConnected(enode.id));
        }
        let timeout = shared.config.dial_timeout;
        let socket = tokio::time::timeout(timeout, TcpStream::connect(enode.addr))
            .await
            .map_err(|_| NetworkError::ConnectTimeout { addr: enode.addr, timeout })?
            .map_err(|source| NetworkError::Connect { addr: enode.addr, source })?;
        let _ = socket.set_nodelay(true);
        let stream =
            RlpxStream::connect(socket, &shared.key, enode.id, &shared.config.rlpx).await?;
        establish(shared, stream, true).await
    }

    /// Ends every connection (telling each peer the client is quitting) and stops listening.
    /// Waits at most 2 s for the peers to be gone.
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        if let Some((_, task)) = lock(&self.shared.listener).take() {
            task.abort();
        }
        let controls: Vec<_> =
            lock(&self.shared.peers).values().map(|handle| handle.control.clone()).collect();
        for control in controls {
            let _ = control.try_send(PeerEnd::Shutdown);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.peer_count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The table entry of `peer`, if connected.
    fn handle(&self, peer: PeerId) -> Option<PeerHandle> {
        lock(&self.shared.peers).get(&node_id(peer)).cloned()
    }

    async fn send_request(
        &self,
        peer: PeerId,
        request: Request,
        deadline: Instant,
    ) -> Result<snapsync_net::WithPeer<snapsync_net::Response>, RequestError> {
        let started = Instant::now();
        let kind = request.kind();
        let handle = self
            .handle(peer)
            .filter(|handle| handle.info.capabilities.serves(kind))
            .ok_or(RequestError::UnknownPeer { peer })?;
        let timeout = || RequestError::Timeout { peer, elapsed: started.elapsed() };
        // Slots held by requests whose deadline passed (their callers gone) come back first.
        handle.pending.expire(Instant::now());
        let slot = tokio::time::timeout_at(deadline, Arc::clone(&handle.requests).acquire_owned())
            .await
            .map_err(|_| timeout())?
            .map_err(|_| RequestError::Disconnected { peer })?;
        // The slot goes with the request: it is freed by the answer or the deadline, not by
        // this future ending (see `pending`).
        let (id, reply) = handle
            .pending
            .insert(kind, deadline, slot)
            .ok_or(RequestError::Disconnected { peer })?;
        let message = wire::outbound_request(request, id);
        let sent = tokio::time::timeout_at(deadline, handle.outbound.send(message)).await;
        match sent {
            Ok(Ok(())) => {
                self.shared.update_record(handle.serial, |record| {
                    record.asked[kind.index()] += 1;
                });
            }
            Ok(Err(_)) => {
                handle.pending.remove(id);
                return Err(RequestError::Disconnected { peer });
            }
            Err(_) => {
                handle.pending.remove(id);
                return Err(timeout());
            }
        }
        match tokio::time::timeout_at(deadline, reply).await {
            Ok(Ok(Ok(response))) => Ok(snapsync_net::WithPeer::new(peer, response)),
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(_)) => Err(RequestError::Disconnected { peer }),
            Err(_) => {
                handle.pending.remove(id);
                Err(timeout())
            }
        }
    }
}

/// Hello, then Status, then the peer's tasks.
async fn establish<Io>(
    shared: &Arc<Shared>,
    stream: RlpxStream<Io>,
    dialled: bool,
) -> Result<PeerId, NetworkError>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.config.rlpx;
    let (reader, writer, session) =
        Session::establish(stream, &shared.hello(), &protocols(), config).await?;
    let (reader, writer, info) =
        Connection::establish(reader, writer, session, &shared.chain, config).await?;
    peer::start(shared, reader, writer, info, dialled).await
}

/// Accepts connections until aborted, each handshake in its own task (at most
/// `max_inbound_handshakes` at once; more are closed unread, as are all while the table is
/// full).
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (socket, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(target: "net::devp2p::peers", %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if lock(&shared.peers).len() >= shared.config.max_peers {
            tracing::debug!(target: "net::devp2p::peers", %addr, "refused: too many peers");
            continue;
        }
        let Ok(permit) = Arc::clone(&shared.inbound_handshakes).try_acquire_owned() else {
            tracing::debug!(target: "net::devp2p::peers", %addr, "refused: too many handshakes");
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            match accept(&shared, socket).await {
                Ok(peer) => tracing::debug!(target: "net::devp2p::peers", %addr, %peer, "accepted"),
                Err(error) => {
                    tracing::debug!(target: "net::devp2p::peers", %addr, %error, "inbound refused");
                }
            }
            drop(permit);
        });
    }
}

async fn accept(shared: &Arc<Shared>, socket: TcpStream) -> Result<PeerId, NetworkError> {
    let stream = RlpxStream::accept(socket, &shared.key, &shared.config.rlpx).await?;
    let remote = stream.remote();
    if let Some(why) = lock(&shared.bans).get(&remote) {
        return Err(NetworkError::Banned { id: remote, why: why.clone() });
    }
    establish(shared, stream, false).await
}

impl PeerSource for Network {
    fn peers(&self) -> Vec<PeerInfo> {
        lock(&self.shared.peers).values().map(|handle| handle.info).collect()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        if penalty.is_disconnect() {
            tracing::info!(target: "net::devp2p::peers", %peer, %penalty, "banned");
            self.shared.ban(node_id(peer), penalty.to_string());
        } else {
            tracing::debug!(target: "net::devp2p::peers", %peer, %penalty, "reported");
        }
    }
}

impl PeerRequests for Network {
    fn request(&self, peer: PeerId, request: Request, deadline: Instant) -> ResponseFuture<'_> {
        Box::pin(self.send_request(peer, request, deadline))
    }
}
