//! Everything the peer set tracks about one connected peer.

use std::{collections::HashMap, time::Duration};

use alloy_primitives::B256;
use tokio::time::Instant;

use crate::{
    KindStats, LeaseId, PeerId, PeerSetConfig, PeerStats, RequestKind, backoff::Backoff,
    estimate::Estimate,
};

/// Counters of one request kind on one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KindCounters {
    pub(crate) completed: u64,
    pub(crate) empty: u64,
    pub(crate) timed_out: u64,
    pub(crate) failed: u64,
    pub(crate) bytes_received: u64,
}

/// A connected, unbanned peer.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerState {
    /// Capacity estimates, per kind in [`RequestKind::ALL`] order.
    estimates: [Estimate; 4],
    /// Counters, per kind in [`RequestKind::ALL`] order.
    counters: [KindCounters; 4],
    /// Rest after failures.
    backoff: Backoff,
    /// Roots the peer answered with an empty response (usually just the pivot).
    stateless_roots: Vec<B256>,
    /// Leases granted and not yet handed back.
    outstanding: HashMap<LeaseId, RequestKind>,
}

impl PeerState {
    /// Requests in flight, all kinds.
    pub(crate) fn in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// Requests of `kind` in flight.
    pub(crate) fn in_flight_of(&self, kind: RequestKind) -> usize {
        self.outstanding.values().filter(|leased| **leased == kind).count()
    }

    /// The capacity estimate of `kind`.
    pub(crate) const fn estimate(&self, kind: RequestKind) -> &Estimate {
        &self.estimates[kind.index()]
    }

    /// Whether a request of `kind` for `root` may go to the peer at `now`: it is not resting,
    /// serves the root, and has a free slot overall and for the kind.
    pub(crate) fn can_take(
        &self,
        kind: RequestKind,
        root: B256,
        now: Instant,
        config: &PeerSetConfig,
    ) -> bool {
        !self.backoff.is_resting(now)
            && !self.is_stateless_for(root)
            && self.in_flight() < config.max_in_flight_per_peer
            && self.in_flight_of(kind) < self.estimate(kind).in_flight_limit(config)
    }

    /// How much the peer would deliver of one more request of `kind`: its throughput shared
    /// with the requests of the kind already in flight. Unmeasured peers come first, so each
    /// gets measured.
    pub(crate) fn score(&self, kind: RequestKind) -> f64 {
        self.estimate(kind)
            .throughput()
            .map_or(f64::INFINITY, |throughput| throughput / (self.in_flight_of(kind) as f64 + 1.0))
    }

    /// Records a granted lease.
    pub(crate) fn grant(&mut self, id: LeaseId, kind: RequestKind) {
        self.outstanding.insert(id, kind);
    }

    /// Forgets a lease; `false` if it was not outstanding.
    pub(crate) fn release(&mut self, id: LeaseId) -> bool {
        self.outstanding.remove(&id).is_some()
    }

    /// Enters a response of `bytes` to a `budget`-byte request of `kind` after `elapsed`.
    pub(crate) fn record_response(
        &mut self,
        kind: RequestKind,
        bytes: u64,
        budget: u64,
        elapsed: Duration,
        config: &PeerSetConfig,
    ) {
        self.estimates[kind.index()].record_response(bytes, budget, elapsed, config);
        let counters = &mut self.counters[kind.index()];
        counters.completed = counters.completed.saturating_add(1);
        counters.bytes_received = counters.bytes_received.saturating_add(bytes);
        self.backoff.succeed();
    }

    /// Enters a timeout of a `kind` request after `elapsed` at `now`; returns the rest.
    pub(crate) fn record_timeout(
        &mut self,
        kind: RequestKind,
        elapsed: Duration,
        now: Instant,
        config: &PeerSetConfig,
    ) -> Duration {
        self.estimates[kind.index()].record_timeout(elapsed, config);
        let counters = &mut self.counters[kind.index()];
        counters.timed_out = counters.timed_out.saturating_add(1);
        self.backoff.fail(now, config)
    }

    /// Enters a failed `kind` request at `now`; returns the rest.
    pub(crate) fn record_failure(
        &mut self,
        kind: RequestKind,
        now: Instant,
        config: &PeerSetConfig,
    ) -> Duration {
        let counters = &mut self.counters[kind.index()];
        counters.failed = counters.failed.saturating_add(1);
        self.backoff.fail(now, config)
    }

    /// Enters an empty response to a `kind` request for `root`.
    pub(crate) fn record_empty(&mut self, kind: RequestKind, root: B256) {
        let counters = &mut self.counters[kind.index()];
        counters.completed = counters.completed.saturating_add(1);
        counters.empty = counters.empty.saturating_add(1);
        if !self.stateless_roots.contains(&root) {
            self.stateless_roots.push(root);
        }
    }

    /// Failures (timeouts, errors) since the peer's last success.
    pub(crate) const fn consecutive_failures(&self) -> u32 {
        self.backoff.consecutive_failures()
    }

    /// Whether the peer answered `root` with an empty response.
    pub(crate) fn is_stateless_for(&self, root: B256) -> bool {
        self.stateless_roots.contains(&root)
    }

    /// Forgets every stateless-for-root mark.
    pub(crate) fn clear_stateless(&mut self) {
        self.stateless_roots.clear();
    }

    /// When the peer's rest ends, if it is resting at `now`.
    pub(crate) fn resting_until(&self, now: Instant) -> Option<Instant> {
        self.backoff.resting_until(now)
    }

    /// A snapshot for [`PeerStats`].
    pub(crate) fn stats(
        &self,
        peer: PeerId,
        pivot: Option<B256>,
        now: Instant,
        config: &PeerSetConfig,
    ) -> PeerStats {
        PeerStats {
            peer,
            in_flight: self.in_flight(),
            consecutive_failures: self.backoff.consecutive_failures(),
            resting_until: self.resting_until(now),
            stateless_for_pivot: pivot.is_some_and(|root| self.is_stateless_for(root)),
            kinds: RequestKind::ALL.map(|kind| self.kind_stats(kind, config)),
        }
    }

    fn kind_stats(&self, kind: RequestKind, config: &PeerSetConfig) -> KindStats {
        let estimate = self.estimate(kind);
        let counters = &self.counters[kind.index()];
        let next_budget = estimate.budget(config);
        KindStats {
            kind,
            throughput: estimate.throughput(),
            rtt: estimate.rtt(),
            next_budget,
            next_timeout: estimate.timeout(next_budget, config),
            in_flight: self.in_flight_of(kind),
            in_flight_limit: estimate.in_flight_limit(config),
            completed: counters.completed,
            empty: counters.empty,
            timed_out: counters.timed_out,
            failed: counters.failed,
            bytes_received: counters.bytes_received,
        }
    }
}
