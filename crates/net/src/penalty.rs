//! What snapsync tells the embedding network about a peer's behaviour.

use std::{fmt, time::Duration};

use crate::{Availability, Fault, RequestKind};

/// A peer's misbehaviour, reported through [`PeerSource::report`](crate::PeerSource::report) so
/// the embedding network can adjust the peer's reputation, and disconnect it on
/// [`is_disconnect`](Self::is_disconnect).
///
/// snapsync acts on the same facts in its own scheduler (`snapsync_fetch::PeerSet`) (backoff, skipping
/// what the peer lacks, banning) whatever the network does with the report.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Penalty {
    /// The peer did not answer a request within its timeout. Slow peers are common and not
    /// malicious: a light reputation hit at most.
    Timeout {
        /// The request that timed out.
        kind: RequestKind,
        /// How long snapsync waited.
        elapsed: Duration,
    },
    /// The peer answered with an empty response: it does not have what was asked (a state
    /// that left its 128-block window, a block it does not have yet). Allowed by both
    /// protocols; snapsync stops asking the peer for that data. Informational.
    Unavailable {
        /// What was asked.
        kind: RequestKind,
        /// What the peer lacks.
        key: Availability,
    },
    /// The response is provably wrong (see [`Fault`]): a range proof that does not verify, a
    /// bytecode whose hash was not asked for, headers that do not link, a body that does not
    /// match its header, or an answer the network could not decode. snapsync bans the peer;
    /// the network should disconnect it.
    InvalidData {
        /// The request the response belongs to.
        kind: RequestKind,
        /// What is wrong with it.
        fault: Fault,
    },
}

impl Penalty {
    /// Whether the peer should be disconnected: snapsync will not use it again.
    pub const fn is_disconnect(&self) -> bool {
        matches!(self, Self::InvalidData { .. })
    }

    /// The request the penalty is about.
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::Timeout { kind, .. }
            | Self::Unavailable { kind, .. }
            | Self::InvalidData { kind, .. } => *kind,
        }
    }
}

impl fmt::Display for Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { kind, elapsed } => write!(f, "{kind} timed out after {elapsed:?}"),
            Self::Unavailable { kind, key } => write!(f, "empty {kind} response for {key}"),
            Self::InvalidData { kind, fault } => write!(f, "invalid {kind} response: {fault}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeadersFault;
    use alloy_primitives::B256;

    #[test]
    fn only_proven_bad_behaviour_disconnects() {
        let kind = RequestKind::AccountRange;
        let timeout = Penalty::Timeout { kind, elapsed: Duration::from_secs(3) };
        assert!(!timeout.is_disconnect());
        assert_eq!(timeout.to_string(), "GetAccountRange timed out after 3s");
        let headers = Penalty::Timeout {
            kind: RequestKind::BlockHeaders,
            elapsed: Duration::from_millis(1500),
        };
        assert_eq!(headers.to_string(), "GetBlockHeaders timed out after 1.5s");
        let empty = Penalty::Unavailable { kind, key: Availability::State(B256::ZERO) };
        assert!(!empty.is_disconnect());
        let fault = Fault::Headers(HeadersFault::TooMany { limit: 2, got: 3 });
        let invalid = Penalty::InvalidData { kind: RequestKind::BlockHeaders, fault };
        assert!(invalid.is_disconnect());
        assert_eq!(invalid.kind(), RequestKind::BlockHeaders);
        assert_eq!(
            invalid.to_string(),
            "invalid GetBlockHeaders response: 3 headers for a request of 2"
        );
    }
}
