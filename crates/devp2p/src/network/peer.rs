//! One connected peer: its entry in the peer table ([`PeerHandle`]) and the three tasks that
//! run its connection.
//!
//! - The *reader* task owns the [`ConnectionReader`] (reading a frame is not cancel-safe, so it
//!   is never raced against anything) and forwards each decoded message, or the error that ended
//!   the connection, over a small bounded channel.
//! - The *writer* task owns the [`ConnectionWriter`] and sends what the peer loop, the request
//!   callers and the serving tasks queue for it (bounded by
//!   [`NetworkConfig::outbound_queue`](crate::NetworkConfig)).
//! - The *peer loop* routes messages: replies to the pending request with their id and kind
//!   (anything else counted against the peer), requests to the handler on the blocking pool (at
//!   most `max_served_per_peer` at once, `max_queued_per_peer` waiting), Pings answered, and a Ping sent after
//!   `ping_interval` of silence, the peer dropped after `idle_timeout`. When it ends, for any
//!   reason, the peer leaves the table, its pending requests fail with
//!   [`RequestError::Disconnected`](snapsync_net::RequestError::Disconnected), and it is told
//!   why when the connection still allows.

use super::{
    Shared,
    pending::{Pending, Resolution},
    record::{PeerEnd, PeerRecord, bytes, items},
    serve,
    wire::{Inbound, Outbound, classify},
};
use crate::{
    ConnectionError, ConnectionInfo, ConnectionReader, ConnectionWriter, DisconnectReason,
    NetworkError, NodeId, PeerMessage, eth::Status,
};
use snapsync_net::{Capabilities, PeerHead, PeerId, PeerInfo};
use std::{sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::{Semaphore, mpsc},
    task::JoinHandle,
    time::Instant,
};

/// A connected peer, as the network's table holds it.
#[derive(Debug, Clone)]
pub(crate) struct PeerHandle {
    /// What the sync sees of it.
    pub(crate) info: PeerInfo,
    /// Its writer's queue.
    pub(crate) outbound: mpsc::Sender<Outbound>,
    /// Its requests in flight.
    pub(crate) pending: Arc<Pending>,
    /// Slots for our requests in flight.
    pub(crate) requests: Arc<Semaphore>,
    /// Tells its loop to end.
    pub(crate) control: mpsc::Sender<PeerEnd>,
    /// Its entry in the records.
    pub(crate) serial: u64,
}

/// The node id of a snapsync peer id.
pub(crate) fn node_id(peer: PeerId) -> NodeId {
    NodeId::from_bytes(peer.node_id().0)
}

/// The head a Status announces.
fn head_of(status: &Status) -> PeerHead {
    match status {
        Status::Eth68(status) => PeerHead { hash: status.head, number: None },
        Status::Eth69(status) => PeerHead { hash: status.latest_hash, number: Some(status.latest) },
    }
}

/// Registers an established connection and starts its tasks.
///
/// # Errors
/// [`NetworkError::Closed`], [`NetworkError::Banned`], [`NetworkError::AlreadyConnected`],
/// [`NetworkError::TooManyPeers`]; the peer is sent a Disconnect saying which.
pub(crate) async fn start<R, W>(
    shared: &Arc<Shared>,
    reader: ConnectionReader<R>,
    mut writer: ConnectionWriter<W>,
    info: ConnectionInfo,
    dialled: bool,
) -> Result<PeerId, NetworkError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let node = info.session.remote.id;
    let config = &shared.config;
    let (out_tx, out_rx) = mpsc::channel(config.outbound_queue.max(1));
    let (control_tx, control_rx) = mpsc::channel(1);
    let peer = PeerId::from(node);
    let capabilities = Capabilities { eth: true, snap: info.snap };
    let handle = PeerHandle {
        info: PeerInfo::new(peer, capabilities).with_head(head_of(&info.peer_status)),
        outbound: out_tx.clone(),
        pending: Arc::new(Pending::new(peer)),
        requests: Arc::new(Semaphore::new(config.max_requests_per_peer.max(1))),
        control: control_tx,
        serial: 0,
    };
    let record = PeerRecord::connected(
        node,
        info.session.remote.client_id.clone(),
        info.eth,
        capabilities,
        dialled,
    );
    let handle = match shared.register(node, handle, record) {
        Ok(handle) => handle,
        Err((error, reason)) => {
            let _ = writer.disconnect(reason).await;
            return Err(error);
        }
    };
    tracing::debug!(target: "net::devp2p::peers", %peer, client = %info.session.remote.client_id, dialled, "peer connected");
    let (in_tx, in_rx) = mpsc::channel(8);
    let reader_task = tokio::spawn(read_loop(reader, in_tx));
    let writer_task = tokio::spawn(write_loop(writer, out_rx));
    let serving = Arc::new(Semaphore::new(config.max_served_per_peer.max(1)));
    let queued = Arc::new(Semaphore::new(config.max_queued_per_peer.max(1)));
    let peer_loop =
        PeerLoop { shared: Arc::clone(shared), node, handle, serving, queued, unsolicited: 0 };
    tokio::spawn(peer_loop.run(in_rx, control_rx, reader_task, writer_task));
    Ok(peer)
}

type Received = Result<PeerMessage, ConnectionError>;

/// Reads messages until the connection fails, forwarding each (and then the error).
async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: ConnectionReader<R>,
    sender: mpsc::Sender<Received>,
) {
    loop {
        let received = reader.recv().await;
        let failed = received.is_err();
        if sender.send(received).await.is_err() || failed {
            return;
        }
    }
}

/// Sends queued messages until a Disconnect, a failure, or every sender gone.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: ConnectionWriter<W>,
    mut queue: mpsc::Receiver<Outbound>,
) {
    while let Some(message) = queue.recv().await {
        let sent = match message {
            Outbound::Eth(message) => writer.send_eth(&message).await,
            Outbound::Snap(message) => writer.send_snap(&message).await,
            Outbound::Ping => writer.ping().await,
            Outbound::Pong => writer.pong().await,
            Outbound::Disconnect(reason) => {
                let _ = writer.disconnect(reason).await;
                return;
            }
        };
        if let Err(error) = sent {
            tracing::debug!(target: "net::devp2p::peers", %error, "write failed");
            return;
        }
    }
}

/// How long the writer may take to send the final Disconnect before it is cut off.
const GOODBYE_TIME: Duration = Duration::from_secs(1);

/// The routing loop of one peer.
struct PeerLoop {
    shared: Arc<Shared>,
    node: NodeId,
    handle: PeerHandle,
    /// Slots for answering the peer's requests (store reads at once).
    serving: Arc<Semaphore>,
    /// Slots for the peer's requests waiting or being answered.
    queued: Arc<Semaphore>,
    unsolicited: u32,
}

impl PeerLoop {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Received>,
        mut control: mpsc::Receiver<PeerEnd>,
        reader: JoinHandle<()>,
        mut writer: JoinHandle<()>,
    ) {
        let config = &self.shared.config;
        let (ping_interval, idle_timeout) = (config.ping_interval, config.idle_timeout);
        let tick = (ping_interval.min(idle_timeout) / 4).max(Duration::from_millis(10));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut pinged = false;
        let (end, reason) = loop {
            tokio::select! {
                received = inbound.recv() => match received {
                    Some(Ok(message)) => {
                        last_heard = Instant::now();
                        pinged = false;
                        if let Some(end) = self.on_message(message) {
                            break (end, Some(DisconnectReason::ProtocolBreach));
                        }
                    }
                    Some(Err(error)) => {
                        let reason = error.disconnect_reason();
                        break (PeerEnd::Connection(error.to_string()), reason);
                    }
                    None => break (PeerEnd::Connection("the reader stopped".into()), None),
                },
                end = control.recv() => {
                    let end = end.unwrap_or(PeerEnd::Shutdown);
                    let reason = match end {
                        PeerEnd::Shutdown => DisconnectReason::ClientQuitting,
                        _ => DisconnectReason::UselessPeer,
                    };
                    break (end, Some(reason));
                }
                _ = ticker.tick() => {
                    self.handle.pending.expire(Instant::now());
                    let silence = last_heard.elapsed();
                    if silence >= idle_timeout {
                        break (PeerEnd::Idle(silence), Some(DisconnectReason::PingTimeout));
                    }
                    if silence >= ping_interval && !pinged {
                        pinged = self.handle.outbound.try_send(Outbound::Ping).is_ok();
                    }
                }
            }
        };
        tracing::debug!(target: "net::devp2p::peers", peer = %self.handle.info.id, %end, "peer ended");
        self.shared.unregister(self.node, self.handle.serial, end);
        self.handle.pending.close();
        reader.abort();
        if let Some(reason) = reason {
            let goodbye = self.handle.outbound.send(Outbound::Disconnect(reason));
            let _ = tokio::time::timeout(GOODBYE_TIME, goodbye).await;
        }
        drop(self.handle);
        if tokio::time::timeout(GOODBYE_TIME, &mut writer).await.is_err() {
            writer.abort();
        }
    }

    /// Acts on one message; `Some` ends the connection.
    fn on_message(&mut self, message: PeerMessage) -> Option<PeerEnd> {
        match classify(message) {
            Inbound::Reply(id, response) => {
                let (kind, count, size) = (response.kind(), items(&response), bytes(&response));
                match self.handle.pending.resolve(id, response) {
                    Resolution::Delivered => {
                        self.shared.update_record(self.handle.serial, |record| {
                            record.answered[kind.index()] += 1;
                            record.items[kind.index()] += count;
                            record.bytes += size;
                        });
                        None
                    }
                    Resolution::Unsolicited => {
                        self.count_unsolicited(format_args!("{kind} reply with unknown id {id}"))
                    }
                    Resolution::Mismatched { expected, got } => self.count_unsolicited(
                        format_args!("{got} reply to a {expected} request (id {id})"),
                    ),
                }
            }
            Inbound::Request(request) => {
                let Ok(queued) = Arc::clone(&self.queued).try_acquire_owned() else {
                    return self.count_unsolicited(format_args!("request beyond the queue limit"));
                };
                let handler = Arc::clone(&self.shared.handler);
                let outbound = self.handle.outbound.clone();
                let serving = Arc::clone(&self.serving);
                tokio::spawn(async move {
                    let Ok(permit) = serving.acquire_owned().await else { return };
                    let answer = tokio::task::spawn_blocking(move || {
                        serve::answer(handler.as_ref(), request)
                    })
                    .await;
                    if let Ok(Some(answer)) = answer {
                        let _ = outbound.send(answer).await;
                    }
                    drop((permit, queued));
                });
                self.shared.update_record(self.handle.serial, |record| record.served += 1);
                None
            }
            Inbound::Head { number, hash } => {
                self.shared.update_head(self.node, PeerHead { hash, number: Some(number) });
                None
            }
            Inbound::Ping => {
                // A full queue already carries traffic the peer will see; no need to insist.
                let _ = self.handle.outbound.try_send(Outbound::Pong);
                None
            }
            Inbound::Ignored => None,
        }
    }

    /// Counts an unsolicited message; `Some` once over the bound.
    fn count_unsolicited(&mut self, what: std::fmt::Arguments<'_>) -> Option<PeerEnd> {
        self.unsolicited = self.unsolicited.saturating_add(1);
        let count = self.unsolicited;
        tracing::debug!(target: "net::devp2p::peers", peer = %self.handle.info.id, count, "dropped: {what}");
        self.shared.update_record(self.handle.serial, |record| record.unsolicited = count);
        (count > self.shared.config.max_unsolicited).then_some(PeerEnd::Unsolicited { count })
    }
}
