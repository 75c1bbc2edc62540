//! Errors of the client traits and of the peer set configuration, each carrying the facts needed
//! to act on it: the peer, how long was waited, what was wrong, which setting and its value.

use std::time::Duration;

use crate::PeerId;

/// Why a client request produced no response.
///
/// Returned by the embedding network's implementations of [`SnapClient`](crate::SnapClient),
/// [`HeadersClient`](crate::HeadersClient) and [`BodiesClient`](crate::BodiesClient). The sync
/// maps them onto its [`PeerSet`](crate::PeerSet): [`Timeout`](Self::Timeout) to
/// [`PeerSet::timed_out`](crate::PeerSet::timed_out), the others to
/// [`PeerSet::failed`](crate::PeerSet::failed) (or a ban, for data it proves wrong itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The peer did not answer in time (the network's own timeout; snapsync also enforces
    /// the [`Lease`](crate::Lease) deadline around the call).
    #[error("peer {peer} did not answer within {elapsed:?}")]
    Timeout {
        /// The peer asked.
        peer: PeerId,
        /// How long the network waited.
        elapsed: Duration,
    },
    /// The peer disconnected before answering (or while the request was queued).
    #[error("peer {peer} disconnected before answering")]
    Disconnected {
        /// The peer asked.
        peer: PeerId,
    },
    /// The peer answered with something that is not a response to the request: undecodable
    /// RLP, the wrong message, a response over the protocol's size limit.
    #[error("peer {peer} sent an invalid response: {reason}")]
    InvalidResponse {
        /// The peer that answered.
        peer: PeerId,
        /// What is wrong with the response.
        reason: String,
    },
    /// The network has no such peer, or the peer does not speak the protocol asked for.
    #[error("peer {peer} is not connected or lacks the capability")]
    UnknownPeer {
        /// The peer asked for.
        peer: PeerId,
    },
    /// The network is shutting down and sends no more requests.
    #[error("the network is closed")]
    NetworkClosed,
}

impl RequestError {
    /// The peer the error is about, if any.
    pub const fn peer(&self) -> Option<PeerId> {
        match self {
            Self::Timeout { peer, .. }
            | Self::Disconnected { peer }
            | Self::InvalidResponse { peer, .. }
            | Self::UnknownPeer { peer } => Some(*peer),
            Self::NetworkClosed => None,
        }
    }

    /// Whether the peer is to blame (it was slow or sent garbage), as opposed to having gone
    /// away or never been there.
    pub const fn is_peer_fault(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::InvalidResponse { .. })
    }
}

/// Why a [`PeerSetConfig`](crate::PeerSetConfig) was rejected by
/// [`validate`](crate::PeerSetConfig::validate).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A size, count or duration that must be positive is zero.
    #[error("{field} must be positive")]
    Zero {
        /// The setting.
        field: &'static str,
    },
    /// The smallest request is larger than the largest.
    #[error("min_request_bytes ({min}) exceeds max_request_bytes ({max})")]
    RequestBytesInverted {
        /// `min_request_bytes`.
        min: u64,
        /// `max_request_bytes`.
        max: u64,
    },
    /// The shortest timeout is longer than the longest.
    #[error("timeout_min ({min:?}) exceeds timeout_max ({max:?})")]
    TimeoutsInverted {
        /// `timeout_min`.
        min: Duration,
        /// `timeout_max`.
        max: Duration,
    },
    /// The first backoff is longer than the cap.
    #[error("backoff_base ({base:?}) exceeds backoff_cap ({cap:?})")]
    BackoffInverted {
        /// `backoff_base`.
        base: Duration,
        /// `backoff_cap`.
        cap: Duration,
    },
    /// A duration is longer than any sensible setting (and than deadline arithmetic handles).
    #[error("{field} is {value:?}, longer than the {limit:?} limit")]
    TooLong {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: Duration,
        /// The longest accepted.
        limit: Duration,
    },
    /// A factor is outside its range, or not a number.
    #[error("{field} is {value}, outside {range}")]
    OutOfRange {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The accepted range, for the message.
        range: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors_name_the_peer_and_the_facts() {
        let peer = PeerId::from_index(9);
        let timeout = RequestError::Timeout { peer, elapsed: Duration::from_millis(1500) };
        assert_eq!(timeout.peer(), Some(peer));
        assert!(timeout.is_peer_fault());
        assert_eq!(timeout.to_string(), "peer 0x00000000…00000009 did not answer within 1.5s");
        assert!(!RequestError::Disconnected { peer }.is_peer_fault());
        assert_eq!(RequestError::NetworkClosed.peer(), None);
    }
}
