//! The peer manager's liveness and in-flight bounds, each against a scripted peer on loopback
//! with short configured timeouts:
//!
//! - silence: a peer that stops talking is sent a Ping after `ping_interval` and, answering
//!   none, disconnected (`PingTimeout`) after `idle_timeout`; one that answers its Pings stays;
//! - our requests: never more than `max_requests_per_peer` outstanding to one peer, even when
//!   callers stop waiting (the request is still on the wire; its slot comes back with its
//!   answer or, as `pending`'s unit tests show, its deadline), and a late answer to such a
//!   request is an answer, not unsolicited;
//! - the peer's requests: beyond `max_queued_per_peer` waiting or being answered, they are
//!   dropped unread and counted against the peer, which is disconnected over `max_unsolicited`.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy_consensus::Header;
use alloy_primitives::B256;
use common::{TamperReader, net_config, scripted_peer, status};
use snapsync_devp2p::{
    ConnectionError, DisconnectReason, Network, NetworkConfig, NodeKey, P2pError, PeerEnd,
    PeerMessage, RequestHandler,
    eth::{BlockHeaders, EthMessage},
};
use snapsync_net::{
    EthBlockBody, EthReceipt, HeadersRequest, PeerRequests, Request, RequestKind, Response,
};
use snapsync_primitives::SnapMessage;
use std::{
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};

/// Generous bound for what must happen "soon" on a loaded machine.
const SOON: Duration = Duration::from_secs(20);

/// Every message the peer reads, with when it came, until its connection fails (then the
/// error); read in its own task because reading a frame is not cancel-safe.
fn forward(
    mut reader: TamperReader,
) -> mpsc::UnboundedReceiver<(Instant, Result<PeerMessage, ConnectionError>)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let received = reader.recv().await;
            let failed = received.is_err();
            if sender.send((Instant::now(), received)).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_disconnected_after_the_idle_timeout() {
    let (ping_interval, idle_timeout) = (Duration::from_millis(300), Duration::from_millis(900));
    // Reads everything, answers nothing (not even Pings); reports what it saw.
    let (enode, peer_side) = scripted_peer(status(), |reader, writer, _| async move {
        let started = Instant::now();
        let mut received = forward(reader);
        let mut pings = Vec::new();
        while let Some((at, message)) = received.recv().await {
            match message {
                Ok(PeerMessage::Ping) => pings.push(at - started),
                Ok(_) => {}
                Err(error) => {
                    drop(writer);
                    return (pings, Some(error), at - started);
                }
            }
        }
        (pings, None, started.elapsed())
    })
    .await;
    let config = NetworkConfig { ping_interval, idle_timeout, ..net_config() };
    let client = Network::new(NodeKey::generate(), status(), config);
    client.dial(enode).await.unwrap();
    let (pings, end, ended_at) =
        tokio::time::timeout(SOON, peer_side).await.unwrap().unwrap().expect("the peer connected");
    assert!(!pings.is_empty(), "the silent peer was pinged");
    assert!(pings[0] >= ping_interval, "not pinged before ping_interval: {pings:?}");
    assert!(
        matches!(
            end,
            Some(ConnectionError::P2p(P2pError::Disconnected(DisconnectReason::PingTimeout)))
        ),
        "told why: {end:?}"
    );
    assert!(ended_at >= idle_timeout, "not dropped before idle_timeout: {ended_at:?}");
    assert!(client.wait_for_peers(0, SOON).await);
    let record = &client.records()[0];
    assert!(
        matches!(record.ended, Some(PeerEnd::Idle(silence)) if silence >= idle_timeout),
        "{record}"
    );
}

#[tokio::test]
async fn a_peer_answering_pings_is_kept_past_the_idle_timeout() {
    let (ping_interval, idle_timeout) = (Duration::from_millis(200), Duration::from_secs(2));
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    // Sends nothing of its own, but answers every Ping.
    let (enode, peer_side) = scripted_peer(status(), |reader, mut writer, _| async move {
        let mut received = forward(reader);
        let mut pings = 0;
        loop {
            tokio::select! {
                message = received.recv() => match message {
                    Some((_, Ok(PeerMessage::Ping))) => {
                        pings += 1;
                        writer.pong().await.unwrap();
                    }
                    Some((_, Ok(_))) => {}
                    _ => return pings,
                },
                _ = &mut stopped => return pings,
            }
        }
    })
    .await;
    let config = NetworkConfig { ping_interval, idle_timeout, ..net_config() };
    let client = Network::new(NodeKey::generate(), status(), config);
    client.dial(enode).await.unwrap();
    // Longer than the idle timeout, with several Pings answered on the way.
    tokio::time::sleep(idle_timeout + Duration::from_secs(1)).await;
    assert_eq!(client.peer_count(), 1, "{:?}", client.records());
    stop.send(()).unwrap();
    let pings =
        tokio::time::timeout(SOON, peer_side).await.unwrap().unwrap().expect("the peer connected");
    assert!(pings >= 2, "pinged each time it fell silent: {pings}");
    client.shutdown().await;
}

#[tokio::test]
async fn our_requests_in_flight_to_a_peer_never_exceed_the_bound() {
    let bound = 3;
    let start = Instant::now();
    // Abandoned by their callers early; never answered but one, late.
    let first_deadline = start + Duration::from_millis(2_500);
    let answer_late_at = start + Duration::from_millis(700);
    // The peer answers requests for two headers at once, the first request for one header at
    // `answer_late_at`, no other; it tracks how many of ours are unanswered at any time.
    let (enode, peer_side) = scripted_peer(status(), move |reader, mut writer, _| async move {
        let mut received = forward(reader);
        let (mut outstanding, mut most) = (0usize, 0usize);
        // The request to answer late, once: `Some(None)` until it comes, `None` once answered.
        let mut late: Option<Option<u64>> = Some(None);
        let mut arrivals = Vec::new();
        let mut answered = 0;
        let answer =
            |request_id| EthMessage::BlockHeaders(BlockHeaders { request_id, headers: vec![] });
        while answered < bound + 1 {
            let due = matches!(late, Some(Some(_)));
            tokio::select! {
                message = received.recv() => {
                    let Some((at, Ok(PeerMessage::Eth(EthMessage::GetBlockHeaders(get))))) = message
                    else { continue };
                    outstanding += 1;
                    most = most.max(outstanding);
                    arrivals.push((get.request.limit, at));
                    if get.request.limit == 2 {
                        writer.send_eth(&answer(get.request_id)).await.unwrap();
                        outstanding -= 1;
                        answered += 1;
                    } else if late == Some(None) {
                        late = Some(Some(get.request_id));
                    }
                }
                () = tokio::time::sleep_until(answer_late_at), if due => {
                    if let Some(Some(id)) = late.take() {
                        writer.send_eth(&answer(id)).await.unwrap();
                        outstanding -= 1;
                        answered += 1;
                    }
                }
            }
        }
        (most, arrivals)
    })
    .await;
    let config = NetworkConfig { max_requests_per_peer: bound, ..net_config() };
    let client = Arc::new(Network::new(NodeKey::generate(), status(), config));
    let peer = client.dial(enode).await.unwrap();
    let headers = |limit| Request::BlockHeaders(HeadersRequest::rising(1, limit));
    // The first wave fills the bound; its callers stop waiting after 200 ms.
    for _ in 0..bound {
        let request = client.request(peer, headers(1), first_deadline);
        let gave_up = tokio::time::timeout(Duration::from_millis(200), request).await;
        assert!(gave_up.is_err() || start.elapsed() >= Duration::from_millis(200));
    }
    // The second wave waits for slots: one freed by the late answer, the rest by the first
    // wave's deadline.
    let second: Vec<_> = (0..bound)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(
                async move { client.request(peer, headers(2), Instant::now() + SOON).await },
            )
        })
        .collect();
    for request in second {
        let answer = request.await.unwrap().unwrap();
        assert_eq!(answer.into_data(), Response::BlockHeaders(vec![]));
    }
    let (most, arrivals) =
        tokio::time::timeout(SOON, peer_side).await.unwrap().unwrap().expect("the peer connected");
    assert_eq!(most, bound, "outstanding at the peer, at most: {arrivals:?}");
    let waves: Vec<Vec<Instant>> = [1, 2]
        .iter()
        .map(|limit| arrivals.iter().filter(|(l, _)| l == limit).map(|(_, at)| *at).collect())
        .collect();
    assert_eq!(waves[0].len(), bound, "the first wave reached the peer: {arrivals:?}");
    // Nothing of the second wave went out before the late answer gave a slot back (though
    // the first wave's callers had stopped waiting long before).
    assert!(waves[1].iter().all(|at| *at >= answer_late_at), "{arrivals:?}");
    // The late answer to an abandoned request was an answer, not unsolicited.
    let record = &client.records()[0];
    assert_eq!(record.unsolicited, 0, "{record}");
    assert_eq!(record.answered(RequestKind::BlockHeaders), bound as u64 + 1, "{record}");
    client.shutdown().await;
}

/// Answers headers only once the gate opens; nothing else.
#[derive(Default)]
struct Gated {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gated {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl RequestHandler for Gated {
    fn headers(&self, _: &HeadersRequest) -> Vec<Header> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        Vec::new()
    }

    fn bodies(&self, _: &[B256]) -> Vec<EthBlockBody> {
        Vec::new()
    }

    fn receipts(&self, _: &[B256]) -> Vec<Vec<EthReceipt>> {
        Vec::new()
    }

    fn snap(&self, _: &SnapMessage) -> Option<SnapMessage> {
        None
    }
}

#[tokio::test]
async fn a_peer_flooding_requests_beyond_the_queue_is_cut_off() {
    let (queued, unsolicited) = (2, 2);
    let flood = 8;
    // Sends `flood` requests at once, then reads until the connection ends.
    let (enode, peer_side) = scripted_peer(status(), move |reader, mut writer, _| async move {
        for _ in 0..flood {
            writer.get_block_headers(HeadersRequest::rising(1, 1)).await.unwrap();
        }
        let mut received = forward(reader);
        let mut answers = 0;
        while let Some((_, message)) = received.recv().await {
            match message {
                Ok(PeerMessage::Eth(EthMessage::BlockHeaders(_))) => answers += 1,
                Ok(_) => {}
                Err(error) => return (answers, Some(error)),
            }
        }
        (answers, None)
    })
    .await;
    let config = NetworkConfig {
        max_served_per_peer: 1,
        max_queued_per_peer: queued,
        max_unsolicited: unsolicited,
        ..net_config()
    };
    let gate = Arc::new(Gated::default());
    let handler: Arc<dyn RequestHandler> = Arc::clone(&gate) as _;
    let client = Network::serving(NodeKey::generate(), status(), config, handler);
    client.dial(enode).await.unwrap();
    let (answers, end) =
        tokio::time::timeout(SOON, peer_side).await.unwrap().unwrap().expect("the peer connected");
    // The handler held every request it took: none was answered before the cut.
    assert_eq!(answers, 0);
    assert!(
        matches!(
            end,
            Some(ConnectionError::P2p(P2pError::Disconnected(DisconnectReason::ProtocolBreach)))
        ),
        "{end:?}"
    );
    assert!(client.wait_for_peers(0, SOON).await);
    let record = &client.records()[0];
    assert_eq!(record.served, queued as u64, "only the queue's worth was taken: {record}");
    assert_eq!(record.ended, Some(PeerEnd::Unsolicited { count: unsolicited + 1 }), "{record}");
    gate.open();
    client.shutdown().await;
}
