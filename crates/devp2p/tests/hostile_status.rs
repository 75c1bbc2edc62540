//! Peers that must not become connections: another genesis, another network, an incompatible
//! fork id, a Status that never comes, garbage where Status or a response should be, no eth at
//! all. Each is a typed error on our side, and the peer is told why with the matching devp2p
//! disconnect reason.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy_primitives::{B256, U256};
use common::{RawSession, config, connections, protocols, sessions, spec};
use snapsync_devp2p::{
    ChainHead, ChainStatus, Connection, ConnectionError, DisconnectReason, EthWireError, Incoming,
    P2pError,
    eth::{EthVersion, ids},
};
use snapsync_genesis::ForkIdError;
use std::time::Duration;

const BOTH: [EthVersion; 2] = [EthVersion::Eth68, EthVersion::Eth69];

fn ours() -> ChainStatus {
    ChainStatus::at_genesis(&spec(7, 30_000_000, 100))
}

/// Our side establishes a connection while the peer, a bare session, sends `payload` as eth
/// message `id` (or nothing), then reads until it is disconnected. Returns our error and the
/// reason the peer was given.
async fn against_raw_peer(
    peer_sends: Option<(u64, Vec<u8>)>,
    status_timeout: Duration,
) -> (ConnectionError, DisconnectReason) {
    let config = snapsync_devp2p::RlpxConfig { status_timeout, ..config() };
    let (a, b) = sessions(protocols(&BOTH), protocols(&BOTH), config.clone()).await;
    let (ar, aw, ai) = a.unwrap();
    let (mut br, mut bw, bi): RawSession = b.unwrap();
    let eth = bi.shared.iter().position(|s| s.capability.name == "eth").unwrap();
    let peer = tokio::spawn(async move {
        if let Some((id, payload)) = peer_sends {
            bw.send(eth, id, &payload).await.unwrap();
        }
        loop {
            match br.recv().await {
                Ok(Incoming::Message(_) | Incoming::Ping | Incoming::Pong) => {}
                Err(P2pError::Disconnected(reason)) => return reason,
                Err(other) => panic!("peer expected a Disconnect, got {other}"),
            }
        }
    });
    let error = Connection::establish(ar, aw, ai, &ours(), &config).await.err().expect("refused");
    let reason = tokio::time::timeout(Duration::from_secs(5), peer).await.unwrap().unwrap();
    (error, reason)
}

/// Our side against a peer speaking `theirs` as a full connection.
async fn against(theirs: ChainStatus) -> ConnectionError {
    let (a, _b) =
        connections((protocols(&BOTH), ours()), (protocols(&BOTH), theirs), config()).await;
    a.err().expect("refused")
}

#[tokio::test]
async fn another_genesis_is_refused() {
    // Same chain id and forks, another gas limit: another genesis block.
    let theirs = ChainStatus::at_genesis(&spec(7, 29_000_000, 100));
    let error = against(theirs.clone()).await;
    assert!(
        matches!(error, ConnectionError::Genesis { ours: o, theirs: t } if o == ours().genesis() && t == theirs.genesis()),
        "{error}"
    );
    assert_eq!(error.disconnect_reason(), Some(DisconnectReason::SubprotocolSpecific));
    // What the peer is told, seen from a bare session.
    let status = theirs.status(EthVersion::Eth69).encode();
    let (error, reason) =
        against_raw_peer(Some((ids::STATUS, status)), Duration::from_secs(5)).await;
    assert!(matches!(error, ConnectionError::Genesis { .. }), "{error}");
    assert_eq!(reason, DisconnectReason::SubprotocolSpecific);
}

#[tokio::test]
async fn another_network_id_is_refused() {
    let error = against(ours().with_network_id(8)).await;
    assert!(matches!(error, ConnectionError::NetworkId { ours: 7, theirs: 8 }), "{error}");
    let status = ours().with_network_id(8).status(EthVersion::Eth69).encode();
    let (_, reason) = against_raw_peer(Some((ids::STATUS, status)), Duration::from_secs(5)).await;
    assert_eq!(reason, DisconnectReason::SubprotocolSpecific);
}

#[tokio::test]
async fn an_incompatible_fork_id_is_refused() {
    // Same genesis (Cancun is after it on both), but the peer activated Cancun at 200, which we
    // do not know: its fork hash is none of ours, past or future.
    let spec = spec(7, 30_000_000, 200);
    let head = ChainHead {
        number: 10,
        hash: B256::repeat_byte(1),
        timestamp: 250,
        total_difficulty: U256::ZERO,
    };
    let theirs = ChainStatus::new(&spec, head);
    assert_eq!(theirs.genesis(), ours().genesis());
    let error = against(theirs.clone()).await;
    assert!(
        matches!(error, ConnectionError::ForkId(ForkIdError::LocalIncompatibleOrStale { .. })),
        "{error}"
    );
    let status = theirs.status(EthVersion::Eth69).encode();
    let (_, reason) = against_raw_peer(Some((ids::STATUS, status)), Duration::from_secs(5)).await;
    assert_eq!(reason, DisconnectReason::SubprotocolSpecific);
}

#[tokio::test]
async fn a_status_that_never_comes_times_out() {
    let started = std::time::Instant::now();
    let (error, reason) = against_raw_peer(None, Duration::from_millis(300)).await;
    assert!(
        matches!(error, ConnectionError::StatusTimeout(t) if t == Duration::from_millis(300)),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(reason, DisconnectReason::PingTimeout);
}

#[tokio::test]
async fn garbage_status_and_a_message_before_status_are_breaches() {
    let (error, reason) =
        against_raw_peer(Some((ids::STATUS, vec![0xff, 0x00, 0x13])), Duration::from_secs(5)).await;
    assert!(
        matches!(error, ConnectionError::Eth(EthWireError::Rlp { message: "Status", .. })),
        "{error}"
    );
    assert_eq!(reason, DisconnectReason::ProtocolBreach);

    let (error, reason) = against_raw_peer(
        Some((ids::BLOCK_HEADERS, vec![0xc2, 0x01, 0xc0])),
        Duration::from_secs(5),
    )
    .await;
    assert!(matches!(error, ConnectionError::ExpectedStatus { id: ids::BLOCK_HEADERS }), "{error}");
    assert_eq!(reason, DisconnectReason::ProtocolBreach);

    // A Status claiming another version than Hello negotiated (eth/69 here).
    let status = ours().status(EthVersion::Eth68).encode();
    let (error, reason) =
        against_raw_peer(Some((ids::STATUS, status)), Duration::from_secs(5)).await;
    assert!(
        matches!(error, ConnectionError::Eth(EthWireError::StatusVersion { announced: 68, .. })),
        "{error}"
    );
    assert_eq!(reason, DisconnectReason::SubprotocolSpecific);
}

#[tokio::test]
async fn garbage_after_status_is_a_typed_error() {
    let (a, b) = sessions(protocols(&BOTH), protocols(&BOTH), config()).await;
    let (ar, aw, ai) = a.unwrap();
    let (br, mut bw, bi): RawSession = b.unwrap();
    let eth = bi.shared.iter().position(|s| s.capability.name == "eth").unwrap();
    let snap = bi.shared.iter().position(|s| s.capability.name == "snap").unwrap();
    let peer = tokio::spawn(async move {
        bw.send(eth, ids::STATUS, &ours().status(EthVersion::Eth69).encode()).await.unwrap();
        bw.send(eth, ids::BLOCK_HEADERS, &[0xc3, 0x01, 0xc1, 0xff]).await.unwrap();
        bw.send(snap, 1, &[0xde, 0xad]).await.unwrap();
        bw.send(eth, ids::STATUS, &ours().status(EthVersion::Eth69).encode()).await.unwrap();
        (br, bw)
    });
    let (mut reader, _writer, info) =
        Connection::establish(ar, aw, ai, &ours(), &config()).await.unwrap();
    assert_eq!(info.eth, EthVersion::Eth69);
    let _keep = peer.await.unwrap();
    assert!(matches!(
        reader.recv().await,
        Err(ConnectionError::Eth(EthWireError::Rlp { message: "BlockHeaders", .. }))
    ));
    assert!(matches!(reader.recv().await, Err(ConnectionError::Snap(_))));
    assert!(matches!(reader.recv().await, Err(ConnectionError::StatusAgain)));
    let error = ConnectionError::StatusAgain;
    assert_eq!(error.disconnect_reason(), Some(DisconnectReason::ProtocolBreach));
}

#[tokio::test]
async fn a_peer_without_eth_is_useless() {
    let snap_only = vec![snapsync_devp2p::snap_protocol()];
    let (a, b) = sessions(protocols(&BOTH), snap_only, config()).await;
    let (ar, aw, ai) = a.unwrap();
    let (mut br, _bw, _bi): RawSession = b.unwrap();
    let error = Connection::establish(ar, aw, ai, &ours(), &config()).await.err().unwrap();
    assert!(matches!(error, ConnectionError::NoEth), "{error}");
    let reason = tokio::time::timeout(Duration::from_secs(5), br.recv()).await.unwrap();
    assert!(matches!(reason, Err(P2pError::Disconnected(DisconnectReason::UselessPeer))));
}
