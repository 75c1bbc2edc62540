//! Hostile transports at the sync level: one honest peer serving a generated chain and state,
//! one hostile peer, and the snap sync pipeline through a client `Network` dialling both. Each
//! hostile peer ends with a clear reason (a refused dial, or a recorded `PeerEnd`), the sync
//! continues with the honest peer, and what it stores is verified: every leaf hashed to the
//! pivot's root.
//!
//! Faults: garbage before and during the handshake, a wrong fork id, a bad MAC, an oversized
//! frame, a snappy bomb, a frame cut off (the connection dropped mid-reply), a peer that never
//! replies, a peer flooding unsolicited replies.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy_consensus::Header;
use alloy_primitives::Bytes;
use common::{
    TamperReader, TamperWriter, Tampering, net_config, scripted_peer, served, spec, status,
    sync_and_verify,
};
use snapsync_devp2p::{
    ChainHead, ChainStatus, Enode, Network, NetworkConfig, NetworkError, NodeKey, PeerEnd,
    PeerMessage, RlpxConfig,
    eth::{BlockHeaders, EthMessage},
};
use snapsync_primitives::{AccountRange, SnapMessage};
use std::{sync::Arc, time::Duration};
use tokio::{io::AsyncWriteExt, net::TcpListener};

/// Syncs through the honest server and `hostile` (dialled first); returns the client and the
/// hostile dial's outcome.
async fn sync_beside(
    hostile: Enode,
    config: NetworkConfig,
) -> (Arc<Network>, Result<(), NetworkError>) {
    let (server, honest, chain) = served().await;
    let client = Arc::new(Network::new(NodeKey::generate(), status(), config));
    let dialled = client.dial(hostile).await.map(drop);
    client.dial(honest).await.unwrap();
    sync_and_verify(&client, &chain).await;
    server.shutdown().await;
    (client, dialled)
}

/// The hostile peer's end, as recorded.
fn end_of(client: &Network, hostile: &Enode) -> PeerEnd {
    let record = client.records().into_iter().find(|r| r.id == hostile.id).expect("connected");
    record.ended.expect("the hostile peer was ended")
}

/// A TCP server that, on its first connection, runs `behave` on the socket.
async fn raw_server<F, Fut>(behave: F) -> Enode
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let enode = Enode { id: NodeKey::generate().id(), addr: listener.local_addr().unwrap() };
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        behave(socket).await;
    });
    enode
}

#[tokio::test]
async fn garbage_before_the_handshake_fails_the_dial_and_the_sync_goes_on() {
    let hostile = raw_server(|mut socket| async move {
        let _ = socket.write_all(&[0xab; 600]).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let (client, dialled) = sync_beside(hostile, net_config()).await;
    let error = dialled.unwrap_err();
    assert!(matches!(error, NetworkError::Handshake(_)), "{error}");
    assert_eq!(client.records().len(), 1, "only the honest peer became a connection");
}

#[tokio::test]
async fn garbage_during_the_handshake_fails_the_dial() {
    // Reads our auth, answers with a size prefix and bytes that are no ack.
    let hostile = raw_server(|mut socket| async move {
        let mut auth = [0u8; 300];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut auth).await;
        let mut ack = vec![0x01, 0x90];
        ack.extend(std::iter::repeat_n(0x5a, 400));
        let _ = socket.write_all(&ack).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let (_, dialled) = sync_beside(hostile, net_config()).await;
    let error = dialled.unwrap_err();
    assert!(matches!(error, NetworkError::Handshake(_)), "{error}");
}

#[tokio::test]
async fn a_wrong_fork_id_fails_the_dial() {
    // Same genesis; a head past a fork our schedule places elsewhere (Cancun at 50, not 100).
    let theirs = ChainStatus::new(
        &spec(7, 30_000_000, 50),
        ChainHead {
            number: 9,
            hash: Default::default(),
            timestamp: 60,
            total_difficulty: Default::default(),
        },
    );
    let (hostile, _peer) = scripted_peer(theirs, |_, _, _| async {}).await;
    let (_, dialled) = sync_beside(hostile, net_config()).await;
    let error = dialled.unwrap_err();
    assert!(error.to_string().contains("fork id"), "{error}");
}

/// A peer that answers its first request with `answer` written through `tampering`, then reads
/// until the connection ends.
async fn answering_peer(
    tampering: Tampering,
    answer: impl FnOnce(&PeerMessage) -> PeerMessage + Send + 'static,
) -> Enode {
    let (enode, _) = scripted_peer(
        status(),
        move |mut reader: TamperReader, mut writer: TamperWriter, switch| async move {
            let request = loop {
                match reader.recv().await {
                    Ok(message) if !message.is_response() && message.request_id().is_some() => {
                        break message;
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            };
            *switch.lock().unwrap() = tampering;
            let _ = match answer(&request) {
                PeerMessage::Eth(message) => writer.send_eth(&message).await,
                PeerMessage::Snap(message) => writer.send_snap(&message).await,
                _ => Ok(()),
            };
            while reader.recv().await.is_ok() {}
        },
    )
    .await;
    enode
}

/// An empty reply of the request's kind.
fn empty_reply(request: &PeerMessage) -> PeerMessage {
    let id = request.request_id().unwrap();
    match request {
        PeerMessage::Snap(_) => PeerMessage::Snap(SnapMessage::AccountRange(AccountRange {
            request_id: id,
            ..Default::default()
        })),
        _ => PeerMessage::Eth(EthMessage::BlockHeaders(BlockHeaders {
            request_id: id,
            headers: vec![],
        })),
    }
}

/// A header reply of `bytes` bytes of extra data, zeros (compressing to almost nothing) or
/// incompressible.
fn huge_reply(request: &PeerMessage, bytes: usize, zeros: bool) -> PeerMessage {
    let mut extra = vec![0u8; bytes];
    if !zeros {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for byte in &mut extra {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state.to_le_bytes()[0];
        }
    }
    let header = Header { extra_data: Bytes::from(extra), ..Header::default() };
    let request_id = request.request_id().unwrap();
    PeerMessage::Eth(EthMessage::BlockHeaders(BlockHeaders { request_id, headers: vec![header] }))
}

/// Frames and messages bounded at 1 MiB on our side (the honest replies are far below).
fn small_bounds() -> NetworkConfig {
    let rlpx =
        RlpxConfig { max_frame_bytes: 1 << 20, max_message_bytes: 1 << 20, ..net_config().rlpx };
    NetworkConfig { rlpx, ..net_config() }
}

#[tokio::test]
async fn a_bad_mac_ends_the_peer() {
    let hostile = answering_peer(Tampering::FlipNextWrite, empty_reply).await;
    let (client, dialled) = sync_beside(hostile, net_config()).await;
    dialled.unwrap();
    let end = end_of(&client, &hostile);
    assert!(matches!(&end, PeerEnd::Connection(e) if e.contains("MAC")), "{end}");
}

#[tokio::test]
async fn an_oversized_frame_ends_the_peer() {
    let hostile = answering_peer(Tampering::Clean, |r| huge_reply(r, 2 << 20, false)).await;
    let (client, dialled) = sync_beside(hostile, small_bounds()).await;
    dialled.unwrap();
    let end = end_of(&client, &hostile);
    assert!(matches!(&end, PeerEnd::Connection(e) if e.contains("frame")), "{end}");
}

#[tokio::test]
async fn a_snappy_bomb_is_refused_before_decompressing() {
    // 8 MiB of zeros compress to a frame far below the bound; the declared size is over it.
    let hostile = answering_peer(Tampering::Clean, |r| huge_reply(r, 8 << 20, true)).await;
    let (client, dialled) = sync_beside(hostile, small_bounds()).await;
    dialled.unwrap();
    let end = end_of(&client, &hostile);
    assert!(matches!(&end, PeerEnd::Connection(e) if e.contains("decompress")), "{end}");
}

#[tokio::test]
async fn a_connection_dropped_mid_reply_ends_the_peer() {
    let hostile = answering_peer(Tampering::CutNextWrite, empty_reply).await;
    let (client, dialled) = sync_beside(hostile, net_config()).await;
    dialled.unwrap();
    let end = end_of(&client, &hostile);
    assert!(matches!(end, PeerEnd::Connection(_)), "{end}");
}

#[tokio::test]
async fn a_peer_that_never_replies_costs_bounded_time() {
    let (hostile, _peer) = scripted_peer(status(), |mut reader, mut writer, _| async move {
        // Keeps the connection alive (answers Pings) but never answers a request.
        while let Ok(message) = reader.recv().await {
            if message == PeerMessage::Ping {
                let _ = writer.pong().await;
            }
        }
    })
    .await;
    let started = tokio::time::Instant::now();
    let (client, dialled) = sync_beside(hostile, net_config()).await;
    dialled.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let record = client.records().into_iter().find(|r| r.id == hostile.id).unwrap();
    assert_eq!(record.answered.iter().sum::<u64>(), 0, "{record}");
}

#[tokio::test]
async fn a_peer_flooding_unsolicited_replies_is_ended() {
    let (hostile, _peer) = scripted_peer(status(), |reader, mut writer, _| async move {
        for request_id in 1_000..2_000 {
            let flood = BlockHeaders { request_id, headers: vec![] };
            if writer.send_eth(&EthMessage::BlockHeaders(flood)).await.is_err() {
                break;
            }
        }
        let mut reader = reader;
        while reader.recv().await.is_ok() {}
    })
    .await;
    let (client, dialled) = sync_beside(hostile, net_config()).await;
    dialled.unwrap();
    let bound = NetworkConfig::default().max_unsolicited;
    assert_eq!(end_of(&client, &hostile), PeerEnd::Unsolicited { count: bound + 1 });
}
