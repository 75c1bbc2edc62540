//! Two `Network`s on 127.0.0.1: one serving a generated state and chain from a snapsync store,
//! the other running the snap sync pipeline through it to a verified state; and the peer
//! manager's contract: a disconnect fails pending requests, a reported peer is banned (no
//! re-dial, no inbound), unsolicited replies are counted and end the peer over the bound.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{HEAD, net_config, scripted_peer, served, status, sync_and_verify};
use snapsync_devp2p::{
    Network, NetworkConfig, NetworkError, NodeKey, PeerEnd,
    eth::{BlockHeaders, EthMessage},
};
use snapsync_net::{
    BodiesRequest, Capabilities, Fault, HeadersRequest, PeerRequests, PeerRequestsExt, PeerSource,
    Penalty, Request, RequestError, RequestKind,
};
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;

#[tokio::test]
async fn snap_sync_through_two_networks_ends_verified() {
    let (server, enode, chain) = served().await;
    let client = Arc::new(Network::new(NodeKey::generate(), status(), net_config()));
    let peer = client.dial(enode).await.unwrap();
    let listed = client.peers();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, peer);
    assert_eq!(listed[0].capabilities, Capabilities::ETH_AND_SNAP);
    assert!(server.wait_for_peers(1, Duration::from_secs(5)).await, "the server lists the client");

    sync_and_verify(&client, &chain).await;
    // The accounts crossed the socket: the server served them, the client counted them.
    let record = &client.records()[0];
    assert!(record.items(RequestKind::AccountRange) >= 1_500, "{record}");
    assert!(record.answered(RequestKind::BlockHeaders) >= 1, "{record}");
    assert!(server.records()[0].served > 0);
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn eth_requests_reach_the_store_and_come_back_matched() {
    let (server, enode, chain) = served().await;
    let client = Network::new(NodeKey::generate(), status(), net_config());
    let peer = client.dial(enode).await.unwrap();
    let soon = || Instant::now() + Duration::from_secs(5);
    let headers = client.get_headers(peer, HeadersRequest::falling(HEAD, 5), soon()).await.unwrap();
    let numbers: Vec<u64> = headers.data.iter().map(|h| h.number).collect();
    assert_eq!(numbers, [12, 11, 10, 9, 8]);
    assert_eq!(headers.data[0], *chain.head().inner());
    let by_hash = HeadersRequest::falling(chain.head().hash(), 5);
    let same = client.get_headers(peer, by_hash, soon()).await.unwrap();
    assert_eq!(same.data, headers.data);
    let hashes = vec![chain.header(3).unwrap().hash(), chain.header(4).unwrap().hash()];
    let bodies = client.get_block_bodies(peer, hashes, soon()).await.unwrap();
    assert_eq!(bodies.data, vec![chain.body(3).unwrap(), chain.body(4).unwrap()]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_fails_the_pending_requests() {
    // A peer that completes the handshake and Status, then reads one request and hangs up.
    let (enode, peer_side) = scripted_peer(status(), |mut reader, writer, _| async move {
        let _request = reader.recv().await;
        drop((reader, writer));
    })
    .await;
    let client = Network::new(NodeKey::generate(), status(), net_config());
    let peer = client.dial(enode).await.unwrap();
    let request = Request::BlockBodies(BodiesRequest { hashes: vec![Default::default()] });
    let started = Instant::now();
    let answer = client.request(peer, request, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(answer, Err(RequestError::Disconnected { peer }));
    assert!(started.elapsed() < Duration::from_secs(5), "failed at once, not at the deadline");
    peer_side.await.unwrap();
    assert!(client.wait_for_peers(0, Duration::from_secs(1)).await);
    assert!(client.peers().is_empty());
    let ended = client.records()[0].ended.clone().expect("ended");
    assert!(matches!(ended, PeerEnd::Connection(_)), "{ended}");
}

#[tokio::test]
async fn a_reported_peer_is_disconnected_and_banned() {
    let (server, enode, _) = served().await;
    let client = Network::new(NodeKey::generate(), status(), net_config());
    let peer = client.dial(enode).await.unwrap();
    let penalty = Penalty::InvalidData { kind: RequestKind::BlockHeaders, fault: Fault::Malformed };
    client.report(peer, penalty);
    tokio::time::timeout(Duration::from_secs(5), async {
        while !client.peers().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the peer is disconnected");
    let ended = client.records()[0].ended.clone().unwrap();
    assert!(
        matches!(&ended, PeerEnd::Banned(why) if why.contains("invalid GetBlockHeaders")),
        "{ended}"
    );
    // No re-dial ...
    let again = client.dial(enode).await.unwrap_err();
    assert!(matches!(again, NetworkError::Banned { id, .. } if id == enode.id), "{again}");
    // ... and no inbound connection from it either: the banned node dials us.
    let our_enode = client.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let back = server.dial(our_enode).await;
    assert!(back.is_err(), "the banned node was accepted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.peer_count(), 0);
    // A non-disconnecting penalty does not ban.
    let timeout =
        Penalty::Timeout { kind: RequestKind::ByteCodes, elapsed: Duration::from_secs(1) };
    client.report(peer, timeout);
    assert!(client.ban_reason(&enode.id).unwrap().contains("invalid"));
    server.shutdown().await;
}

#[tokio::test]
async fn unsolicited_replies_are_counted_and_end_the_peer_over_the_bound() {
    let bound = 3;
    let (enode, peer_side) = scripted_peer(status(), |reader, mut writer, _| async move {
        for request_id in 100..110 {
            let headers = BlockHeaders { request_id, headers: vec![] };
            if writer.send_eth(&EthMessage::BlockHeaders(headers)).await.is_err() {
                break;
            }
        }
        // Wait for the verdict.
        let mut reader = reader;
        while reader.recv().await.is_ok() {}
    })
    .await;
    let config = NetworkConfig { max_unsolicited: bound, ..net_config() };
    let client = Network::new(NodeKey::generate(), status(), config);
    client.dial(enode).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), peer_side).await.unwrap().unwrap();
    assert!(client.wait_for_peers(0, Duration::from_secs(1)).await);
    let record = &client.records()[0];
    assert_eq!(record.ended, Some(PeerEnd::Unsolicited { count: bound + 1 }), "{record}");
    assert_eq!(record.unsolicited, bound + 1);
}
