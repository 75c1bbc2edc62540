//! Two in-process endpoints over loopback TCP: the handshake, the Hellos, and (for the
//! connection tests) the Status exchange on both sides.

#![allow(dead_code, unreachable_pub)]

use snapsync_devp2p::{
    ChainStatus, Connection, ConnectionError, ConnectionInfo, ConnectionReader, ConnectionWriter,
    Hello, NodeKey, P2P_VERSION, P2pError, Protocol, RlpxConfig, RlpxStream, Session, SessionInfo,
    SessionReader, SessionWriter, eth::EthVersion, snap_protocol,
};
use snapsync_genesis::ChainSpec;
use std::time::Duration;
use tokio::{
    io::{ReadHalf, WriteHalf},
    net::{TcpListener, TcpStream},
};

pub type Reader = ConnectionReader<ReadHalf<TcpStream>>;
pub type Writer = ConnectionWriter<WriteHalf<TcpStream>>;
pub type Connected = (Reader, Writer, ConnectionInfo);
pub type RawSession =
    (SessionReader<ReadHalf<TcpStream>>, SessionWriter<WriteHalf<TcpStream>>, SessionInfo);

/// A small post-merge chain (London, Shanghai at genesis; Cancun at `cancun_time`).
pub fn spec(chain_id: u64, gas_limit: u64, cancun_time: u64) -> ChainSpec {
    let json = format!(
        r#"{{"config":{{"chainId":{chain_id},"homesteadBlock":0,"londonBlock":0,"shanghaiTime":0,
            "cancunTime":{cancun_time},"terminalTotalDifficulty":0}},
            "gasLimit":"{gas_limit:#x}","difficulty":"0x0",
            "alloc":{{"0x00000000000000000000000000000000000000aa":{{"balance":"0x1"}}}}}}"#
    );
    ChainSpec::from_genesis_json(json.as_bytes()).expect("test genesis")
}

pub fn config() -> RlpxConfig {
    RlpxConfig {
        handshake_timeout: Duration::from_secs(5),
        status_timeout: Duration::from_secs(5),
        ..RlpxConfig::default()
    }
}

/// eth at `versions` plus snap/1.
pub fn protocols(versions: &[EthVersion]) -> Vec<Protocol> {
    let mut protocols: Vec<Protocol> = versions.iter().map(|v| v.protocol()).collect();
    protocols.push(snap_protocol());
    protocols
}

fn hello(key: &NodeKey, protocols: &[Protocol]) -> Hello {
    Hello {
        protocol_version: P2P_VERSION,
        client_id: "snapsync-devp2p-test".into(),
        capabilities: protocols.iter().map(|p| p.capability.clone()).collect(),
        listen_port: 0,
        id: key.id(),
    }
}

/// Sessions between a dialer speaking `a` and a listener speaking `b`.
pub async fn sessions(
    a: Vec<Protocol>,
    b: Vec<Protocol>,
    config: RlpxConfig,
) -> (Result<RawSession, P2pError>, Result<RawSession, P2pError>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let (a_key, b_key) = (NodeKey::generate(), NodeKey::generate());
    let b_id = b_key.id();
    let b_config = config.clone();
    let listener_side = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let stream = RlpxStream::accept(socket, &b_key, &b_config).await?;
        Session::establish(stream, &hello(&b_key, &b), &b, &b_config).await
    });
    let socket = TcpStream::connect(addr).await.expect("connect");
    let dialer = async {
        let stream = RlpxStream::connect(socket, &a_key, b_id, &config).await?;
        Session::establish(stream, &hello(&a_key, &a), &a, &config).await
    }
    .await;
    (dialer, listener_side.await.expect("listener task"))
}

/// Connections (Status exchanged and validated) between `a` and `b`.
pub async fn connections(
    a: (Vec<Protocol>, ChainStatus),
    b: (Vec<Protocol>, ChainStatus),
    config: RlpxConfig,
) -> (Result<Connected, ConnectionError>, Result<Connected, ConnectionError>) {
    let (a_session, b_session) = sessions(a.0, b.0, config.clone()).await;
    let ((ar, aw, ai), (br, bw, bi)) =
        (a_session.expect("session a"), b_session.expect("session b"));
    let b_config = config.clone();
    let b_chain = b.1;
    let b_side =
        tokio::spawn(async move { Connection::establish(br, bw, bi, &b_chain, &b_config).await });
    let a_result = Connection::establish(ar, aw, ai, &a.1, &config).await;
    (a_result, b_side.await.expect("b task"))
}

/// An in-memory snapsync store holding `chain`'s headers and bodies and the state of block
/// `pivot`, and a snap/1 server over that state.
pub fn serving_store(
    chain: &snapsync_sim::GeneratedChain,
    pivot: u64,
) -> (
    std::sync::Arc<dyn snapsync_db::Database>,
    std::sync::Arc<snapsync_server::SnapServer<dyn snapsync_db::Database>>,
) {
    use alloy_primitives::Bytes;
    use snapsync_db::{Database, MemoryDatabase};
    use snapsync_server::{ServerLimits, SnapServer};
    use snapsync_storage::{StateStore, StateWrite};
    use std::sync::Arc;
    let db: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
    let state = chain.state_at(pivot).expect("pivot in the chain");
    state.import_into(db.as_ref(), &snapsync_etl::CollectorConfig::default()).expect("import");
    let mut txn = db.writer().expect("writer");
    for header in chain.headers() {
        let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
        txn.put_header(header.number, &header.hash(), &rlp).expect("header");
        let body = chain.body(header.number).expect("body");
        txn.put_body(header.number, &Bytes::from(alloy_rlp::encode(&body))).expect("body");
    }
    txn.commit().expect("commit");
    let snap = Arc::new(SnapServer::new(ServerLimits::default()));
    snap.add_state(state.state_root(), Arc::clone(&db)).expect("serve the state");
    (db, snap)
}

/// A network serving [`serving_store`] through `StoreHandler`.
pub fn serving_network(
    chain: &snapsync_sim::GeneratedChain,
    pivot: u64,
    status: ChainStatus,
    config: snapsync_devp2p::NetworkConfig,
) -> snapsync_devp2p::Network {
    use snapsync_server::ServerLimits;
    let (db, snap) = serving_store(chain, pivot);
    let handler = snapsync_devp2p::StoreHandler::new(db, snap, ServerLimits::default());
    snapsync_devp2p::Network::serving(
        NodeKey::generate(),
        status,
        config,
        std::sync::Arc::new(handler),
    )
}

/// What a [`Tamper`] stream does to the next bytes its owner writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tampering {
    /// Nothing.
    Clean,
    /// Flips the last byte of the next write (a MAC: frames end with theirs).
    FlipNextWrite,
    /// Writes half of the next write, then closes the connection: a frame cut off mid-way.
    CutNextWrite,
}

/// A TCP stream that corrupts what its owner writes when told to, for peers that complete the
/// handshake honestly and then misbehave below the message layer.
pub struct Tamper {
    io: TcpStream,
    mode: std::sync::Arc<std::sync::Mutex<Tampering>>,
    closed: bool,
}

impl tokio::io::AsyncRead for Tamper {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tamper {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        if self.closed {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        let mode = *self.mode.lock().unwrap();
        match mode {
            Tampering::Clean => std::pin::Pin::new(&mut self.io).poll_write(cx, buf),
            Tampering::FlipNextWrite => {
                let mut bytes = buf.to_vec();
                if let Some(last) = bytes.last_mut() {
                    *last ^= 0xff;
                }
                *self.mode.lock().unwrap() = Tampering::Clean;
                std::pin::Pin::new(&mut self.io).poll_write(cx, &bytes)
            }
            Tampering::CutNextWrite => {
                let half = &buf[..buf.len() / 2];
                let written = std::pin::Pin::new(&mut self.io).poll_write(cx, half);
                if let Poll::Ready(Ok(_)) = written {
                    let _ = std::pin::Pin::new(&mut self.io).poll_shutdown(cx);
                    self.closed = true;
                }
                written
            }
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The halves of a scripted peer's connection.
pub type TamperReader = ConnectionReader<ReadHalf<Tamper>>;
/// The writing half of a scripted peer's connection.
pub type TamperWriter = ConnectionWriter<WriteHalf<Tamper>>;
/// Switches a scripted peer's tampering.
pub type TamperSwitch = std::sync::Arc<std::sync::Mutex<Tampering>>;

/// A peer run by `script` after a real handshake, Hello and Status exchange (eth/68 and snap/1,
/// announcing `status`), over a stream the script can tamper with. The task ends with what the
/// script returns, or `None` if the handshake or Status failed.
pub async fn scripted_peer<F, Fut, T>(
    status: ChainStatus,
    script: F,
) -> (snapsync_devp2p::Enode, tokio::task::JoinHandle<Option<T>>)
where
    F: FnOnce(TamperReader, TamperWriter, TamperSwitch) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = NodeKey::generate();
    let enode = snapsync_devp2p::Enode { id: key.id(), addr: listener.local_addr().unwrap() };
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mode = std::sync::Arc::new(std::sync::Mutex::new(Tampering::Clean));
        let io = Tamper { io: socket, mode: mode.clone(), closed: false };
        let config = config();
        let Ok(stream) = RlpxStream::accept(io, &key, &config).await else { return None };
        let protocols = protocols(&[EthVersion::Eth68]);
        let Ok((reader, writer, info)) =
            Session::establish(stream, &hello(&key, &protocols), &protocols, &config).await
        else {
            return None;
        };
        let Ok((reader, writer, _)) =
            Connection::establish(reader, writer, info, &status, &config).await
        else {
            return None;
        };
        Some(script(reader, writer, mode).await)
    });
    (enode, task)
}

// The sync-level harness: an honest server of a generated chain, and the snap sync pipeline
// run through a client network to a verified state.

use snapsync_devp2p::{ChainHead, Enode, Network, NetworkConfig};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_snap_sync::{SnapSyncConfig, SnapSyncStage, check_stored_leaves, stored_summary};
use snapsync_stages::{Pipeline, StageSet};
use snapsync_storage::StateStore;
use std::sync::Arc;

pub const HEAD: u64 = 12;
pub const DISTANCE: u64 = 4;

pub fn chain() -> GeneratedChain {
    let spec = StateSpec::small().with_accounts(1_500).with_huge_contracts(1, 2_000);
    GeneratedChain::new(11, &spec, HEAD, 0)
}

pub fn status() -> ChainStatus {
    ChainStatus::at_genesis(&spec(7, 30_000_000, 100))
}

pub fn net_config() -> NetworkConfig {
    NetworkConfig { rlpx: config(), ..NetworkConfig::default() }
}

pub fn sync_config() -> SnapSyncConfig {
    let mut config = SnapSyncConfig::default();
    config.pivot.distance = DISTANCE;
    config.peers.min_request_bytes = 16 * 1024;
    config.peers.max_request_bytes = 64 * 1024;
    config.step.max_bytes = Some(64 * 1024);
    config.storage.split_threshold_slots = 500;
    // Loopback answers in milliseconds: a silent peer is given up on quickly.
    config.peers.timeout_min = Duration::from_millis(200);
    config.peers.timeout_max = Duration::from_secs(1);
    config
}

pub async fn served() -> (Network, Enode, GeneratedChain) {
    let chain = chain();
    // The server announces the chain's head (the sync asks only peers whose head is high
    // enough).
    let head = chain.head();
    let server_status = ChainStatus::new(
        &spec(7, 30_000_000, 100),
        ChainHead {
            number: head.number,
            hash: head.hash(),
            timestamp: head.timestamp,
            total_difficulty: Default::default(),
        },
    );
    let server = serving_network(&chain, HEAD - DISTANCE, server_status, net_config());
    let enode = server.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (server, enode, chain)
}

/// Runs the snap sync stage through `client` to the end (within 60 s) and checks the stored
/// state is the pivot's: every leaf hashed to its root, nothing else stored.
pub async fn sync_and_verify(client: &Arc<Network>, chain: &GeneratedChain) {
    let db = Arc::new(snapsync_db::MemoryDatabase::new());
    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = tokio::sync::watch::channel(chain.head().hash());
    let stage = SnapSyncStage::new(Arc::clone(client), tip, sync_config(), etl.path()).unwrap();
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), StageSet::builder().add(stage).unwrap().build());
    tokio::time::timeout(Duration::from_secs(60), pipeline.run(None)).await.unwrap().unwrap();
    let view = db.reader().unwrap();
    let summary = stored_summary(&view).unwrap().expect("a sync record");
    assert!(summary.is_done());
    let pivot = chain.header(HEAD - DISTANCE).unwrap();
    assert_eq!(summary.pivot.hash, pivot.hash());
    let check = check_stored_leaves(&view, pivot.state_root).unwrap();
    assert!(check.matches(), "{check}");
}
