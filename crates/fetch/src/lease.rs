//! A slot on a peer, granted by the peer set for one request.

use std::{fmt, time::Duration};

use tokio::time::Instant;

use crate::{Availability, PeerId, RequestKind};

/// Identifies a [`Lease`]; unique within its [`PeerSet`](crate::PeerSet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseId(pub(crate) u64);

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Permission to send one request to a peer, from
/// [`PeerSet::acquire`](crate::PeerSet::acquire).
///
/// It says whom to ask ([`peer`](Self::peer)), how many response bytes to ask for
/// ([`response_bytes`](Self::response_bytes), the request's `response_bytes` field) and how
/// long to wait ([`deadline`](Self::deadline)). Hand it back exactly once, with what happened:
/// [`complete`](crate::PeerSet::complete), [`timed_out`](crate::PeerSet::timed_out),
/// [`failed`](crate::PeerSet::failed), [`unavailable`](crate::PeerSet::unavailable) or
/// [`cancel`](crate::PeerSet::cancel); until then it occupies one of the peer's in-flight
/// slots. It cannot be cloned or built outside the peer set.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a lease holds a peer's in-flight slot until it is handed back to the PeerSet"]
pub struct Lease {
    terms: LeaseTerms,
}

/// What a [`Lease`] grants; the peer set works on these once the lease is handed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LeaseTerms {
    pub(crate) id: LeaseId,
    pub(crate) peer: PeerId,
    pub(crate) kind: RequestKind,
    pub(crate) key: Availability,
    pub(crate) response_bytes: u64,
    pub(crate) issued_at: Instant,
    pub(crate) timeout: Duration,
    pub(crate) expected_at: Option<Instant>,
    pub(crate) overdue_at: Option<Instant>,
}

impl LeaseTerms {
    /// Time from grant to `now` (zero if `now` is earlier).
    pub(crate) fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.issued_at)
    }
}

impl Lease {
    /// A lease on `terms`; only the peer set grants them.
    pub(crate) const fn grant(terms: LeaseTerms) -> Self {
        Self { terms }
    }

    /// Ends the lease, keeping what it granted.
    pub(crate) const fn hand_back(self) -> LeaseTerms {
        self.terms
    }

    /// The lease's identity.
    pub const fn id(&self) -> LeaseId {
        self.terms.id
    }

    /// The peer to ask.
    pub const fn peer(&self) -> PeerId {
        self.terms.peer
    }

    /// The kind of request this slot is for.
    pub const fn kind(&self) -> RequestKind {
        self.terms.kind
    }

    /// What the request reads, as far as the peer may lack it (the state root, for snap
    /// requests of state).
    pub const fn availability(&self) -> Availability {
        self.terms.key
    }

    /// The response budget: the soft limit to put in the request's `response_bytes` field.
    pub const fn response_bytes(&self) -> u64 {
        self.terms.response_bytes
    }

    /// When the lease was granted, from which the response time is measured.
    pub const fn issued_at(&self) -> Instant {
        self.terms.issued_at
    }

    /// How long to wait for the response.
    pub const fn timeout(&self) -> Duration {
        self.terms.timeout
    }

    /// When the response is expected to have fully arrived (after those queued before it on
    /// the peer's link), as predicted at the grant; `None` for a peer not yet measured.
    /// [`PeerSet::expected_arrival`](crate::PeerSet::expected_arrival) has the latest
    /// prediction.
    pub const fn expected_arrival(&self) -> Option<Instant> {
        self.terms.expected_at
    }

    /// When the response is overdue: it has taken twice the longest it should (its whole
    /// budget crossing the peer's link at the measured rate, after its latency and the
    /// responses queued before it), and at least half `timeout_min`; `None` for a peer not yet
    /// measured. From then on the peer gets no new requests until it answers, and the request
    /// is worth sending to another peer as well ([`PeerSet::hedge`](crate::PeerSet::hedge)).
    pub const fn overdue_at(&self) -> Option<Instant> {
        self.terms.overdue_at
    }

    /// When to give up on the response (for `tokio::time::timeout_at`).
    pub fn deadline(&self) -> Instant {
        let terms = &self.terms;
        terms.issued_at.checked_add(terms.timeout).unwrap_or(terms.issued_at)
    }

    /// Time from grant to `now` (zero if `now` is earlier).
    pub fn elapsed(&self, now: Instant) -> Duration {
        self.terms.elapsed(now)
    }
}

/// What handing a [`Lease`] back did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseStatus {
    /// The lease was outstanding: its slot is free and the outcome entered the peer's
    /// estimates.
    Settled,
    /// The lease was no longer outstanding (its peer left or was banned since) and nothing
    /// changed.
    Stale,
}
