//! Why a request is given up, and why peer-set settings are refused. (Why a reply is refused is a
//! [`Fault`](snapsync_net::Fault), defined with the penalty that carries it to the network.)

use snapsync_net::{Availability, RequestKind};
use snapsync_primitives::PathSetError;
use std::time::Duration;

/// Why the [`Fetcher`](crate::Fetcher) gave a request up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Every connected peer is banned, has answered this data with nothing, or has failed
    /// [`PeerSet::STALLED_AFTER`](crate::PeerSet::STALLED_AFTER) times in a row: for a
    /// state root, the root is gone from the network (move the pivot); for blocks, no peer has
    /// them (yet); or no honest peer remains.
    #[error("no peer serves the {key} for {kind} requests")]
    NoPeerServes {
        /// What was asked.
        kind: RequestKind,
        /// What no peer serves.
        key: Availability,
    },
    /// Peers serve the root but none became free in time.
    #[error("no peer free for {kind:?} requests after {waited:?}")]
    NoPeerAvailable {
        /// What was asked.
        kind: RequestKind,
        /// How long the request waited.
        waited: Duration,
    },
    /// Every attempt failed.
    #[error("{kind:?} request failed {attempts} times; last: {last}")]
    AttemptsExhausted {
        /// What was asked.
        kind: RequestKind,
        /// Attempts made.
        attempts: u32,
        /// What went wrong last.
        last: String,
    },
    /// The request was given up unsent: its caller's stop signal came while it waited for its
    /// first peer (see [`Fetcher::account_range_until`](crate::Fetcher::account_range_until)).
    /// Nothing was asked of any peer and no peer is at fault; the work is still to do.
    #[error("{kind:?} request given up unsent after waiting {waited:?} for a peer")]
    NotStarted {
        /// What was asked.
        kind: RequestKind,
        /// How long the request waited for a peer.
        waited: Duration,
    },
    /// The request cannot be put on the wire.
    #[error("invalid trie node request: {0}")]
    InvalidRequest(PathSetError),
}

/// Why a [`PeerSetConfig`](crate::PeerSetConfig) or [`FetchConfig`](crate::FetchConfig) was
/// rejected by its `validate`.
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
    /// A size or count is over its limit.
    #[error("{field} is {value}, over the {limit} limit")]
    TooLarge {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The largest accepted.
        limit: u64,
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

impl ConfigError {
    /// The setting the error names (for an inverted pair, the lower bound's).
    pub const fn field(&self) -> &'static str {
        match self {
            Self::Zero { field }
            | Self::TooLong { field, .. }
            | Self::TooLarge { field, .. }
            | Self::OutOfRange { field, .. } => field,
            Self::RequestBytesInverted { .. } => "min_request_bytes",
            Self::TimeoutsInverted { .. } => "timeout_min",
            Self::BackoffInverted { .. } => "backoff_base",
        }
    }
}
