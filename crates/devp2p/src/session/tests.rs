//! Sessions between two in-process nodes: Hellos, capability layout, compressed messages,
//! keep-alives, and what a hostile peer can send.

use super::*;
use crate::{Capability, NodeId, NodeKey};
use std::time::Duration;
use tokio::io::DuplexStream;

fn protocols() -> Vec<Protocol> {
    vec![
        Protocol { capability: Capability::new("eth", 68), messages: 17 },
        Protocol { capability: Capability::new("snap", 1), messages: 8 },
    ]
}

fn hello(id: NodeId, protocols: &[Protocol]) -> Hello {
    Hello {
        protocol_version: P2P_VERSION,
        client_id: "snapsync-test".into(),
        capabilities: protocols.iter().map(|p| p.capability.clone()).collect(),
        listen_port: 0,
        id,
    }
}

fn config() -> RlpxConfig {
    RlpxConfig { handshake_timeout: Duration::from_secs(2), ..RlpxConfig::default() }
}

/// Both RLPx streams after the handshake: (initiator a, recipient b).
async fn streams() -> (RlpxStream<DuplexStream>, RlpxStream<DuplexStream>, NodeKey, NodeKey) {
    let (left, right) = tokio::io::duplex(1 << 16);
    let (a, b) = (NodeKey::generate(), NodeKey::generate());
    let (b_id, b_clone) = (b.id(), b.clone());
    let accept = tokio::spawn(async move { RlpxStream::accept(right, &b_clone, &config()).await });
    let a_stream = RlpxStream::connect(left, &a, b_id, &config()).await.unwrap();
    (a_stream, accept.await.unwrap().unwrap(), a, b)
}

type Halves =
    (SessionReader<ReadHalf<DuplexStream>>, SessionWriter<WriteHalf<DuplexStream>>, SessionInfo);

async fn sessions(
    a_protocols: Vec<Protocol>,
    b_protocols: Vec<Protocol>,
) -> (Result<Halves, P2pError>, Result<Halves, P2pError>) {
    let (a_stream, b_stream, a, b) = streams().await;
    let b_task = tokio::spawn(async move {
        Session::establish(b_stream, &hello(b.id(), &b_protocols), &b_protocols, &config()).await
    });
    let a_result =
        Session::establish(a_stream, &hello(a.id(), &a_protocols), &a_protocols, &config()).await;
    (a_result, b_task.await.unwrap())
}

#[tokio::test]
async fn sessions_agree_on_capabilities_and_carry_compressed_messages() {
    let (a, b) = sessions(protocols(), protocols()).await;
    let (_a_reader, mut a_writer, a_info) = a.unwrap();
    let (mut b_reader, mut b_writer, b_info) = b.unwrap();
    assert_eq!(a_info.shared, b_info.shared);
    assert_eq!(a_info.shared[1].capability, Capability::new("snap", 1));
    assert_eq!(a_info.shared[1].offset, 0x21);

    // A large, compressible payload crosses intact.
    let payload = vec![0x5a; 100_000];
    a_writer.send(1, 3, &payload).await.unwrap();
    let Incoming::Message(message) = b_reader.recv().await.unwrap() else {
        panic!("not a message")
    };
    assert_eq!((message.capability, message.id, message.payload.len()), (1, 3, payload.len()));
    assert_eq!(message.payload, payload);

    a_writer.ping().await.unwrap();
    assert_eq!(b_reader.recv().await.unwrap(), Incoming::Ping);
    b_writer.pong().await.unwrap();

    a_writer.disconnect(DisconnectReason::ClientQuitting).await.unwrap();
    assert!(matches!(
        b_reader.recv().await,
        Err(P2pError::Disconnected(DisconnectReason::ClientQuitting))
    ));
    assert!(matches!(a_writer.send(2, 0, &[]).await, Err(P2pError::UnknownMessage(0))));
    assert!(matches!(a_writer.send(1, 8, &[]).await, Err(P2pError::UnknownMessage(8))));
}

#[tokio::test]
async fn no_shared_capability_ends_the_session_on_both_sides() {
    let les = vec![Protocol { capability: Capability::new("les", 4), messages: 24 }];
    let (a, b) = sessions(protocols(), les).await;
    assert!(matches!(a, Err(P2pError::NoSharedCapability { .. })));
    assert!(matches!(b, Err(P2pError::NoSharedCapability { .. })));
}

#[tokio::test]
async fn a_hello_naming_another_node_is_refused() {
    let (a_stream, mut b_stream, a, _b) = streams().await;
    let impostor = hello(NodeKey::generate().id(), &protocols());
    let b_task = tokio::spawn(async move {
        b_stream.write_frame(&frame(ids::HELLO, &impostor.encode_payload())).await.unwrap();
        b_stream
    });
    let result =
        Session::establish(a_stream, &hello(a.id(), &protocols()), &protocols(), &config()).await;
    assert!(matches!(result, Err(P2pError::HelloIdentity)));
    drop(b_task.await.unwrap());
}

/// A raw peer: `b`'s side is driven frame by frame after a genuine Hello exchange.
async fn raw_peer() -> (SessionReader<ReadHalf<DuplexStream>>, RlpxStream<DuplexStream>) {
    let (a_stream, mut b_stream, a, b) = streams().await;
    let b_hello = hello(b.id(), &protocols());
    let a_task = tokio::spawn(async move {
        Session::establish(a_stream, &hello(a.id(), &protocols()), &protocols(), &config()).await
    });
    b_stream.write_frame(&frame(ids::HELLO, &b_hello.encode_payload())).await.unwrap();
    let _their_hello = b_stream.read_frame().await.unwrap();
    let (reader, _writer, _) = a_task.await.unwrap().unwrap();
    (reader, b_stream)
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_from_its_header() {
    let (mut reader, mut peer) = raw_peer().await;
    // A snappy header claiming 1 GiB, then a few bytes: refused before any allocation.
    let mut bomb = vec![0x80, 0x80, 0x80, 0x80, 0x04];
    bomb.extend_from_slice(&[0; 16]);
    peer.write_frame(&frame(0x10, &bomb)).await.unwrap();
    assert!(matches!(reader.recv().await, Err(P2pError::Decompressed { size: 1_073_741_824, .. })));
}

#[tokio::test]
async fn messages_outside_every_capability_and_corrupt_snappy_are_errors() {
    let (mut reader, mut peer) = raw_peer().await;
    peer.write_frame(&frame(0x40, &compress(&[0xc0]).unwrap())).await.unwrap();
    assert!(matches!(reader.recv().await, Err(P2pError::UnknownMessage(0x40))));
    peer.write_frame(&frame(0x10, &[0x05, 0xff, 0xff])).await.unwrap();
    assert!(matches!(reader.recv().await, Err(P2pError::Snappy(_))));
}

#[tokio::test]
async fn an_uncompressed_disconnect_after_v5_is_still_understood() {
    let (mut reader, mut peer) = raw_peer().await;
    peer.write_frame(&frame(ids::DISCONNECT, &[0xc1, 0x04])).await.unwrap();
    assert!(matches!(
        reader.recv().await,
        Err(P2pError::Disconnected(DisconnectReason::TooManyPeers))
    ));
}
