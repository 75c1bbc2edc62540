//! [`NetworkConfig`]: the bounds of a [`Network`](crate::Network), on top of each connection's
//! [`RlpxConfig`].

use crate::RlpxConfig;
use std::time::Duration;

/// The bounds of a peer network. Every count and wait a peer can drive has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Each connection's bounds: handshake size and time, frame and message size, Status time.
    pub rlpx: RlpxConfig,
    /// The client id sent in Hello.
    pub client_id: String,
    /// Most connected peers, dialled and accepted together. Default 25.
    pub max_peers: usize,
    /// Most inbound connections in their handshake at once; more are closed unread. Default 8.
    pub max_inbound_handshakes: usize,
    /// Most of our requests in flight to one peer; more wait (until their deadline) for a slot.
    /// Default 16.
    pub max_requests_per_peer: usize,
    /// Most of a peer's requests being answered at once (reading the store); the others wait
    /// their turn. Default 4.
    pub max_served_per_peer: usize,
    /// Most of a peer's requests waiting or being answered; a request beyond it is dropped
    /// unread and counted against the peer as an unsolicited message. Default 64.
    pub max_queued_per_peer: usize,
    /// Unsolicited or mismatched replies (and requests over [`max_queued_per_peer`]) a peer
    /// may send before it is disconnected. Default 16.
    ///
    /// [`max_queued_per_peer`]: Self::max_queued_per_peer
    pub max_unsolicited: u32,
    /// Silence after which the peer is sent a Ping. Default 15 s.
    pub ping_interval: Duration,
    /// Silence after which the peer is disconnected (it answered no Ping). Default 45 s.
    pub idle_timeout: Duration,
    /// Time for the TCP connection of a dial. Default 5 s.
    pub dial_timeout: Duration,
    /// Messages queued for one peer's writer; senders wait when it is full. Default 64.
    pub outbound_queue: usize,
}

impl NetworkConfig {
    /// Default [`max_peers`](Self::max_peers).
    pub const DEFAULT_MAX_PEERS: usize = 25;
    /// Default [`max_requests_per_peer`](Self::max_requests_per_peer).
    pub const DEFAULT_MAX_REQUESTS_PER_PEER: usize = 16;
    /// Default [`max_served_per_peer`](Self::max_served_per_peer).
    pub const DEFAULT_MAX_SERVED_PER_PEER: usize = 4;
    /// Default [`max_unsolicited`](Self::max_unsolicited).
    pub const DEFAULT_MAX_UNSOLICITED: u32 = 16;
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            rlpx: RlpxConfig::default(),
            client_id: format!("snapsync/v{}", env!("CARGO_PKG_VERSION")),
            max_peers: Self::DEFAULT_MAX_PEERS,
            max_inbound_handshakes: 8,
            max_requests_per_peer: Self::DEFAULT_MAX_REQUESTS_PER_PEER,
            max_served_per_peer: Self::DEFAULT_MAX_SERVED_PER_PEER,
            max_queued_per_peer: 64,
            max_unsolicited: Self::DEFAULT_MAX_UNSOLICITED,
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            dial_timeout: Duration::from_secs(5),
            outbound_queue: 64,
        }
    }
}
