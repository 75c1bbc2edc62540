//! What snapsync tells the embedding network about a peer's behaviour.

use std::{fmt, time::Duration};

use alloy_primitives::B256;

use crate::RequestKind;

/// A peer's misbehaviour, reported through [`SnapClient::report`](crate::SnapClient::report) so
/// the embedding network can adjust the peer's reputation, and disconnect it on
/// [`is_disconnect`](Self::is_disconnect).
///
/// snapsync acts on the same facts in its own [`PeerSet`](crate::PeerSet) (backoff, skipping
/// a root, banning) whatever the network does with the report.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Penalty {
    /// The peer did not answer a request within its timeout. Slow peers are common and not
    /// malicious: a light reputation hit at most.
    Timeout {
        /// The exchange that timed out, if a snap one (`None` for headers and bodies).
        kind: Option<RequestKind>,
        /// How long snapsync waited.
        elapsed: Duration,
    },
    /// The peer answered a request for state `root` with an empty response: it does not have
    /// that state (it is out of sync, or the root left its 128-block window). Allowed by the
    /// snap/1 spec; snapsync stops asking the peer for that root. Informational.
    EmptyForRoot {
        /// What was asked.
        kind: RequestKind,
        /// The state root the peer does not serve.
        root: B256,
    },
    /// The response decoded but is provably wrong: a range proof that does not verify, a
    /// bytecode or trie node whose hash was not asked for, headers that do not link. snapsync
    /// bans the peer; the network should disconnect it.
    InvalidData {
        /// The exchange the response belongs to, if a snap one (`None` for headers and
        /// bodies).
        kind: Option<RequestKind>,
        /// What is wrong with it.
        reason: String,
    },
    /// snapsync banned the peer for another reason (e.g. it serves a different chain): the
    /// network should disconnect it and not reconnect.
    Ban {
        /// Why.
        reason: String,
    },
}

impl Penalty {
    /// Whether the peer should be disconnected: snapsync will not use it again.
    pub const fn is_disconnect(&self) -> bool {
        matches!(self, Self::InvalidData { .. } | Self::Ban { .. })
    }
}

impl fmt::Display for Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { kind: Some(kind), elapsed } => {
                write!(f, "{kind} timed out after {elapsed:?}")
            }
            Self::Timeout { kind: None, elapsed } => {
                write!(f, "request timed out after {elapsed:?}")
            }
            Self::EmptyForRoot { kind, root } => write!(f, "empty {kind} response for root {root}"),
            Self::InvalidData { kind: Some(kind), reason } => {
                write!(f, "invalid {kind} response: {reason}")
            }
            Self::InvalidData { kind: None, reason } => write!(f, "invalid response: {reason}"),
            Self::Ban { reason } => write!(f, "banned: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proven_bad_behaviour_disconnects() {
        let kind = RequestKind::AccountRange;
        let timeout = Penalty::Timeout { kind: Some(kind), elapsed: Duration::from_secs(3) };
        assert!(!timeout.is_disconnect());
        assert_eq!(timeout.to_string(), "GetAccountRange timed out after 3s");
        let headers = Penalty::Timeout { kind: None, elapsed: Duration::from_millis(1500) };
        assert_eq!(headers.to_string(), "request timed out after 1.5s");
        assert!(!Penalty::EmptyForRoot { kind, root: B256::ZERO }.is_disconnect());
        let invalid = Penalty::InvalidData { kind: Some(kind), reason: "bad proof".into() };
        assert!(invalid.is_disconnect());
        assert_eq!(invalid.to_string(), "invalid GetAccountRange response: bad proof");
        assert!(Penalty::Ban { reason: "wrong chain".into() }.is_disconnect());
    }
}
