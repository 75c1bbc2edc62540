//! Snapshots of the peer set's view of each peer, for progress reports and metrics.

use std::time::Duration;

use tokio::time::Instant;

use crate::{PeerId, RequestKind};

/// What the peer set knows about one peer, at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerStats {
    /// The peer.
    pub peer: PeerId,
    /// Requests in flight to it, all kinds.
    pub in_flight: usize,
    /// Failures and timeouts since its last response, on the protocol (eth or snap/1) with
    /// the most: the two rest apart, so a peer that stalls on one keeps serving the other.
    pub consecutive_failures: u32,
    /// When it has rested on both protocols, if it is resting on either.
    pub resting_until: Option<Instant>,
    /// Whether it answered the current pivot root with an empty response.
    pub stateless_for_pivot: bool,
    /// Measured rate of its link in bytes per second (all kinds share the link), once a
    /// response was measured.
    pub rate: Option<f64>,
    /// Measured latency of its link: from a request to the first byte of its response.
    pub latency: Option<Duration>,
    /// How long the responses asked of it are expected to keep its link busy from now.
    pub queued: Duration,
    /// Per request kind, in [`RequestKind::ALL`] order.
    pub kinds: [KindStats; RequestKind::COUNT],
}

impl PeerStats {
    /// The statistics of `kind`.
    pub const fn kind(&self, kind: RequestKind) -> &KindStats {
        &self.kinds[kind.index()]
    }

    /// Bytes received from the peer, all kinds.
    pub fn bytes_received(&self) -> u64 {
        self.kinds.iter().map(|kind| kind.bytes_received).fold(0, u64::saturating_add)
    }
}

/// What the peer set knows about one peer for one request kind.
#[derive(Clone, Debug, PartialEq)]
pub struct KindStats {
    /// The request kind.
    pub kind: RequestKind,
    /// Mean time from lease to response (queueing on the link included), once a response or
    /// timeout was measured.
    pub rtt: Option<Duration>,
    /// Bytes the next response is expected to carry: the next budget, or less when responses
    /// of this kind (from any peer) fall short of their budgets.
    pub expected_bytes: u64,
    /// Response budget the next request would get.
    pub next_budget: u64,
    /// Timeout the next request would get.
    pub next_timeout: Duration,
    /// Requests of this kind in flight.
    pub in_flight: usize,
    /// Responses received (including empty ones).
    pub completed: u64,
    /// Responses that were empty for their root.
    pub empty: u64,
    /// Requests that timed out.
    pub timed_out: u64,
    /// Requests that failed otherwise.
    pub failed: u64,
    /// Response bytes received.
    pub bytes_received: u64,
}
