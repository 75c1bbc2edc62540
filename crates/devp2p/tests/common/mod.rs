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

/// A network serving `chain`'s headers and bodies and the state of block `pivot` from an
/// in-memory snapsync store, through `StoreHandler`.
pub fn serving_network(
    chain: &snapsync_sim::GeneratedChain,
    pivot: u64,
    status: ChainStatus,
    config: snapsync_devp2p::NetworkConfig,
) -> snapsync_devp2p::Network {
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
    let handler = snapsync_devp2p::StoreHandler::new(db, snap, ServerLimits::default());
    snapsync_devp2p::Network::serving(NodeKey::generate(), status, config, Arc::new(handler))
}
