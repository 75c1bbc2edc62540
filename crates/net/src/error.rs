//! Why a request to a peer produced no response, with the facts needed to act on it: the peer,
//! how long was waited, what was wrong.

use std::time::Duration;

use crate::{PeerId, RequestKind};

/// Why a client request produced no response.
///
/// Returned by the embedding network's [`PeerRequests`](crate::PeerRequests). The sync's
/// scheduler (`snapsync_fetch`) rests the peer on any of them, and reports the ones that are the
/// peer's fault ([`is_peer_fault`](Self::is_peer_fault)) as a [`Penalty`](crate::Penalty).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The peer did not answer in time (the network's own timeout; snapsync also enforces
    /// the deadline it passed to the request around the call).
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
    /// The peer answered with a response to another kind of request than the one sent (an
    /// adapter's [`Response`](crate::Response) variant that does not match the
    /// [`Request`](crate::Request)). Counted against the peer, as any reply that is not one.
    #[error("peer {peer} answered a {expected} request with a reply to {got}")]
    WrongResponse {
        /// The peer that answered.
        peer: PeerId,
        /// The request sent.
        expected: RequestKind,
        /// The request the reply belongs to.
        got: RequestKind,
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
            | Self::WrongResponse { peer, .. }
            | Self::UnknownPeer { peer } => Some(*peer),
            Self::NetworkClosed => None,
        }
    }

    /// Whether the peer is to blame (it was slow or sent garbage), as opposed to having gone
    /// away or never been there.
    pub const fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::InvalidResponse { .. } | Self::WrongResponse { .. }
        )
    }
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
