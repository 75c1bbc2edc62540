//! Everything the peer set tracks about one connected peer.

use std::{collections::BTreeMap, time::Duration};

use alloy_primitives::B256;
use tokio::time::Instant;

use crate::{
    Availability, Capabilities, KindStats, LeaseId, PeerId, PeerSetConfig, PeerStats, RequestKind,
    backoff::Backoff,
    estimate::{KindEstimate, LinkEstimate, SizeEstimate, duration_from_secs},
};

/// Requests an unmeasured peer gets at once, of `min_request_bytes` each: the second response
/// queues behind the first on the link, so together they measure its rate and latency, and
/// four keep a link of a few hundred milliseconds' latency busy while they do.
pub(crate) const PROBES: usize = 4;

/// Requests a measured peer always has room for (unless lagging): while one response crosses
/// the link the next is on its way, whatever the responses' sizes turn out to be.
pub(crate) const MIN_PIPELINE: usize = 2;

/// Counters of one request kind on one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KindCounters {
    pub(crate) completed: u64,
    pub(crate) cancelled: u64,
    pub(crate) empty: u64,
    pub(crate) timed_out: u64,
    pub(crate) failed: u64,
    pub(crate) bytes_received: u64,
}

/// The terms of the next request of one kind to a peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Plan {
    /// Response budget.
    pub(crate) budget: u64,
    /// Bytes the response is expected to carry (at most the budget).
    pub(crate) expected_bytes: u64,
    /// When the response is expected to have fully arrived; `None` while the link is
    /// unmeasured.
    pub(crate) expected_at: Option<Instant>,
    /// When it arrives at the latest if the link keeps its measured rate and latency: its
    /// whole budget crossing the link after the responses before it; `None` while unmeasured.
    pub(crate) worst_at: Option<Instant>,
    /// How long to wait for it.
    pub(crate) timeout: Duration,
}

impl Plan {
    /// When a request granted at `issued_at` on this plan is overdue: it has taken twice the
    /// longest it should, and at least half `timeout_min` (shorter waits are jitter, which
    /// timeouts tolerate too); `None` while the link is unmeasured.
    pub(crate) fn overdue_at(&self, issued_at: Instant, config: &PeerSetConfig) -> Option<Instant> {
        let worst = self.worst_at?.saturating_duration_since(issued_at);
        Some(issued_at + (worst * 2).max(config.timeout_min / 2))
    }
}

/// A request in flight to the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) kind: RequestKind,
    pub(crate) issued_at: Instant,
    /// Its response budget.
    pub(crate) budget: u64,
    /// When it was overdue as planned at the grant (`None`: the link was unmeasured).
    pub(crate) overdue_at: Option<Instant>,
}

impl Pending {
    /// Whether the response is overdue at `now`.
    fn is_overdue(&self, now: Instant) -> bool {
        self.overdue_at.is_some_and(|overdue| now > overdue)
    }
}

/// A connected, unbanned peer.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerState {
    /// What the peer speaks, as the network last listed it: it is asked only what they cover.
    pub(crate) capabilities: Capabilities,
    /// Rate and latency of the peer's link, over all kinds.
    link: LinkEstimate,
    /// Round trip, per kind in [`RequestKind::ALL`] order.
    kinds: [KindEstimate; RequestKind::COUNT],
    /// Counters, per kind in [`RequestKind::ALL`] order.
    counters: [KindCounters; RequestKind::COUNT],
    /// Rest after failures, per [`Protocol`]: a peer that stalls on one protocol (an eth-only
    /// node that advertises snap/1 and never answers it) keeps serving the other.
    backoff: [Backoff; Protocol::COUNT],
    /// What the peer answered with an empty response (usually just the pivot's root).
    unavailable: Vec<Availability>,
    /// Leases granted and not yet handed back, in grant order.
    outstanding: BTreeMap<LeaseId, Pending>,
    /// The last time the link was known to carry nothing ahead of the outstanding responses
    /// (the last arrival, timeout or failure).
    free_at: Option<Instant>,
}

/// The protocols a peer is asked over, each resting on its own failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// eth: headers, bodies, receipts.
    Eth,
    /// snap/1: state.
    Snap,
}

impl Protocol {
    const COUNT: usize = 2;

    const fn of_kind(kind: RequestKind) -> Self {
        if kind.is_snap() { Self::Snap } else { Self::Eth }
    }

    const fn of_key(key: &Availability) -> Self {
        if key.is_blocks() { Self::Eth } else { Self::Snap }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The estimates a peer's queue is predicted with.
#[derive(Clone, Copy, Debug)]
struct Link {
    rate: f64,
    latency: Duration,
}

impl PeerState {
    /// A peer speaking `capabilities`, nothing measured yet.
    pub(crate) fn new(capabilities: Capabilities) -> Self {
        Self { capabilities, ..Self::default() }
    }

    /// Requests in flight, all kinds.
    pub(crate) fn in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether the peer was ever given a request of `kind` (still in flight or handed back).
    pub(crate) fn was_asked(&self, kind: RequestKind) -> bool {
        let counters = &self.counters[kind.index()];
        let handed_back =
            counters.completed + counters.timed_out + counters.failed + counters.cancelled;
        handed_back > 0 || self.in_flight_of(kind) > 0
    }

    /// Requests of `kind` in flight.
    pub(crate) fn in_flight_of(&self, kind: RequestKind) -> usize {
        self.outstanding.values().filter(|pending| pending.kind == kind).count()
    }

    /// The link's rate and latency, once measured.
    fn measured(&self) -> Option<Link> {
        let rate = self.link.rate()?;
        let latency = self.link.latency()?;
        Some(Link { rate, latency })
    }

    /// When each outstanding response is predicted to have arrived, in grant order: first in,
    /// first out, each starting after its latency and after the one before, and carrying the
    /// bytes its kind's responses are now expected to carry.
    fn arrivals<'a>(
        &'a self,
        link: Link,
        sizes: &'a [SizeEstimate; RequestKind::COUNT],
    ) -> impl Iterator<Item = (LeaseId, Instant)> + 'a {
        let mut cursor = self.free_at;
        self.outstanding.iter().map(move |(id, pending)| {
            let ready = pending.issued_at + link.latency;
            let start = cursor.map_or(ready, |cursor| cursor.max(ready));
            let bytes = sizes[pending.kind.index()].expected_bytes(pending.budget);
            let done = start + duration_from_secs(bytes as f64 / link.rate);
            cursor = Some(done);
            (*id, done)
        })
    }

    /// When the responses asked of the peer are predicted to have crossed its link.
    fn queue_end(&self, link: Link, sizes: &[SizeEstimate; RequestKind::COUNT]) -> Option<Instant> {
        self.arrivals(link, sizes).last().map(|(_, done)| done)
    }

    /// The terms a request of `kind` granted at `now` would get.
    ///
    /// Budget: the link's rate times the target round trip. Expected arrival: the response
    /// starts crossing the link after the latency and after the responses already asked for,
    /// and takes its expected bytes at the link's rate. Timeout: the configured multiple of
    /// the wait until it starts plus its whole budget's transfer.
    pub(crate) fn plan(
        &self,
        kind: RequestKind,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> Plan {
        let budget = self.link.budget(config);
        let expected_bytes = sizes[kind.index()].expected_bytes(budget);
        let Some(link) = self.measured() else {
            return Plan {
                budget,
                expected_bytes,
                expected_at: None,
                worst_at: None,
                timeout: config.timeout_max,
            };
        };
        let earliest = now + link.latency;
        let start = self.queue_end(link, sizes).map_or(earliest, |end| end.max(earliest));
        let expected_at = start + duration_from_secs(expected_bytes as f64 / link.rate);
        let worst_at = start + duration_from_secs(budget as f64 / link.rate);
        let worst = worst_at.saturating_duration_since(now).as_secs_f64();
        let timeout = duration_from_secs(worst * config.timeout_rtt_multiple)
            .clamp(config.timeout_min, config.timeout_max);
        Plan {
            budget,
            expected_bytes,
            expected_at: Some(expected_at),
            worst_at: Some(worst_at),
            timeout,
        }
    }

    /// Whether a request for `key` may go to the peer at `now`: it is not resting, does not
    /// lack `key`, has a free slot, and its link has room (see [`Self::room_at`]).
    pub(crate) fn can_take(
        &self,
        key: &Availability,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> bool {
        !self.backoff_for(Protocol::of_key(key)).is_resting(now)
            && self.capabilities.covers(key)
            && !self.lacks(key)
            && self.in_flight() < config.max_in_flight_per_peer
            && self
                .room_at(Protocol::of_key(key), sizes, now, config)
                .is_some_and(|room| room <= now)
    }

    /// When the link has room for another request over `protocol`, if the passing of time can
    /// give it room: an unmeasured peer takes [`PROBES`] requests per protocol (probes a
    /// protocol never answers measure nothing, and must not keep the other protocol from
    /// probing: an eth-only node advertising snap/1 holds its unanswered snap requests until
    /// their deadline); a measured one takes [`MIN_PIPELINE`],
    /// and more once what is queued on it will have crossed within `latency +
    /// pipeline_slack`; none while it is lagging (a response it owes is overdue: it has taken
    /// twice the longest it should, its whole budget at the measured rate after the responses
    /// queued before it, and at least half `timeout_min`).
    fn room_at(
        &self,
        protocol: Protocol,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> Option<Instant> {
        let Some(link) = self.measured() else {
            let probing = self
                .outstanding
                .values()
                .filter(|pending| Protocol::of_kind(pending.kind) == protocol)
                .count();
            return (probing < PROBES).then_some(now);
        };
        if self.is_lagging(now) {
            return None;
        }
        if self.in_flight() < MIN_PIPELINE {
            return Some(now);
        }
        let lead = link.latency + config.pipeline_slack;
        let end = self.queue_end(link, sizes)?;
        Some(end.checked_sub(lead).unwrap_or(now))
    }

    /// Whether a response the peer owes is overdue (it has taken twice the longest it should).
    fn is_lagging(&self, now: Instant) -> bool {
        self.outstanding.values().any(|pending| pending.is_overdue(now))
    }

    /// When, after `now`, the peer may be able to take a request for `key` without any lease
    /// being handed back (its rest ends, or its link's queue shortens); `None` if only a
    /// handed back lease or a new pivot can change that.
    pub(crate) fn next_room(
        &self,
        key: &Availability,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> Option<Instant> {
        if self.lacks(key) || self.in_flight() >= config.max_in_flight_per_peer {
            return None;
        }
        let room = self.room_at(Protocol::of_key(key), sizes, now, config)?;
        let rest = self.backoff_for(Protocol::of_key(key)).resting_until(now);
        let at = rest.map_or(room, |rest_end| rest_end.max(room));
        (at > now).then_some(at)
    }

    /// How much the peer would deliver of one more request of `kind` at `now`: the bytes it
    /// expects per second until that response arrives. Unmeasured peers come first, so each
    /// gets measured, those with fewer probes in flight before the others.
    pub(crate) fn score(
        &self,
        kind: RequestKind,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> f64 {
        let plan = self.plan(kind, sizes, now, config);
        let probes = self.in_flight() as f64 + 1.0;
        plan.expected_at.map_or(f64::MAX / probes, |at| {
            let secs = at.saturating_duration_since(now).as_secs_f64().max(1e-3);
            plan.expected_bytes as f64 / secs
        })
    }

    /// Records a lease of `kind` granted at `now` on `plan`.
    pub(crate) fn grant(
        &mut self,
        id: LeaseId,
        kind: RequestKind,
        plan: &Plan,
        now: Instant,
        config: &PeerSetConfig,
    ) {
        let overdue_at = plan.overdue_at(now, config);
        let pending = Pending { kind, issued_at: now, budget: plan.budget, overdue_at };
        self.outstanding.insert(id, pending);
    }

    /// Forgets a lease, returning it if it was outstanding.
    pub(crate) fn release(&mut self, id: LeaseId) -> Option<Pending> {
        self.outstanding.remove(&id)
    }

    /// Enters a cancelled request (nothing is measured).
    pub(crate) fn record_cancel(&mut self, pending: &Pending) {
        let counters = &mut self.counters[pending.kind.index()];
        counters.cancelled = counters.cancelled.saturating_add(1);
    }

    /// The current prediction of when outstanding lease `id`'s response arrives.
    pub(crate) fn expected_at(
        &self,
        id: LeaseId,
        sizes: &[SizeEstimate; RequestKind::COUNT],
    ) -> Option<Instant> {
        let link = self.measured()?;
        self.arrivals(link, sizes).find(|(lease, _)| *lease == id).map(|(_, at)| at)
    }

    /// Notes that nothing is ahead of the outstanding responses on the link from `at` on.
    fn link_free_at(&mut self, at: Instant) {
        self.free_at = Some(self.free_at.map_or(at, |free| free.max(at)));
    }

    /// Enters the response of `bytes` to released request `pending`, arrived at `arrived`.
    pub(crate) fn record_response(
        &mut self,
        pending: &Pending,
        bytes: u64,
        arrived: Instant,
        config: &PeerSetConfig,
    ) {
        let kind = pending.kind;
        let elapsed = arrived.saturating_duration_since(pending.issued_at);
        self.link.record_response(bytes, pending.issued_at, arrived);
        self.kinds[kind.index()].record(elapsed, config);
        let counters = &mut self.counters[kind.index()];
        counters.completed = counters.completed.saturating_add(1);
        counters.bytes_received = counters.bytes_received.saturating_add(bytes);
        self.backoff[Protocol::of_kind(kind).index()].succeed();
        self.link_free_at(arrived);
    }

    /// Enters a timeout of released request `pending` at `now`; returns the rest.
    pub(crate) fn record_timeout(
        &mut self,
        pending: &Pending,
        now: Instant,
        config: &PeerSetConfig,
    ) -> Duration {
        let kind = pending.kind;
        let elapsed = now.saturating_duration_since(pending.issued_at);
        self.link.record_timeout();
        self.kinds[kind.index()].record(elapsed, config);
        let counters = &mut self.counters[kind.index()];
        counters.timed_out = counters.timed_out.saturating_add(1);
        self.link_free_at(now);
        self.backoff[Protocol::of_kind(kind).index()].fail(now, config)
    }

    /// Enters a failure of released request `pending` at `now`; returns the rest.
    pub(crate) fn record_failure(
        &mut self,
        pending: &Pending,
        now: Instant,
        config: &PeerSetConfig,
    ) -> Duration {
        let counters = &mut self.counters[pending.kind.index()];
        counters.failed = counters.failed.saturating_add(1);
        self.link_free_at(now);
        self.backoff[Protocol::of_kind(pending.kind).index()].fail(now, config)
    }

    /// Enters an empty response to released request `pending` for `key`, arrived at
    /// `arrived`: it measures the latency, not the rate.
    pub(crate) fn record_empty(
        &mut self,
        pending: &Pending,
        key: Availability,
        arrived: Instant,
        config: &PeerSetConfig,
    ) {
        let kind = pending.kind;
        let elapsed = arrived.saturating_duration_since(pending.issued_at);
        self.link.record_response(0, pending.issued_at, arrived);
        self.kinds[kind.index()].record(elapsed, config);
        let counters = &mut self.counters[kind.index()];
        counters.completed = counters.completed.saturating_add(1);
        counters.empty = counters.empty.saturating_add(1);
        if !self.unavailable.contains(&key) {
            self.unavailable.push(key);
        }
        self.link_free_at(arrived);
    }

    fn backoff_for(&self, protocol: Protocol) -> &Backoff {
        &self.backoff[protocol.index()]
    }

    /// Failures (timeouts, errors) of requests for `key`'s protocol since its last success.
    pub(crate) fn consecutive_failures(&self, key: &Availability) -> u32 {
        self.backoff_for(Protocol::of_key(key)).consecutive_failures()
    }

    /// Whether the peer answered `key` with an empty response.
    pub(crate) fn lacks(&self, key: &Availability) -> bool {
        self.unavailable.contains(key)
    }

    /// Forgets that the peer lacks `key`; whether it was marked.
    pub(crate) fn forget(&mut self, key: &Availability) -> bool {
        let before = self.unavailable.len();
        self.unavailable.retain(|marked| marked != key);
        self.unavailable.len() != before
    }

    /// Forgets every mark of what the peer lacks.
    pub(crate) fn clear_stateless(&mut self) {
        self.unavailable.clear();
    }

    /// The earliest end of the peer's rests (on either protocol) after `now`, if it rests.
    pub(crate) fn next_rest_end(&self, now: Instant) -> Option<Instant> {
        self.backoff.iter().filter_map(|backoff| backoff.resting_until(now)).min()
    }

    /// When the peer has rested on every protocol it rests on at `now`, if any.
    fn rested_at(&self, now: Instant) -> Option<Instant> {
        self.backoff.iter().filter_map(|backoff| backoff.resting_until(now)).max()
    }

    /// A snapshot for [`PeerStats`].
    pub(crate) fn stats(
        &self,
        peer: PeerId,
        pivot: Option<B256>,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> PeerStats {
        let queue_end = self.measured().and_then(|link| self.queue_end(link, sizes));
        PeerStats {
            peer,
            in_flight: self.in_flight(),
            consecutive_failures: self
                .backoff
                .iter()
                .map(Backoff::consecutive_failures)
                .max()
                .unwrap_or_default(),
            resting_until: self.rested_at(now),
            stateless_for_pivot: pivot.is_some_and(|root| self.lacks(&Availability::State(root))),
            rate: self.link.rate(),
            latency: self.link.latency(),
            queued: queue_end.map_or(Duration::ZERO, |end| end.saturating_duration_since(now)),
            kinds: RequestKind::ALL.map(|kind| self.kind_stats(kind, sizes, now, config)),
        }
    }

    fn kind_stats(
        &self,
        kind: RequestKind,
        sizes: &[SizeEstimate; RequestKind::COUNT],
        now: Instant,
        config: &PeerSetConfig,
    ) -> KindStats {
        let estimate = &self.kinds[kind.index()];
        let counters = &self.counters[kind.index()];
        let plan = self.plan(kind, sizes, now, config);
        KindStats {
            kind,
            rtt: estimate.rtt(),
            expected_bytes: plan.expected_bytes,
            next_budget: plan.budget,
            next_timeout: plan.timeout,
            in_flight: self.in_flight_of(kind),
            completed: counters.completed,
            empty: counters.empty,
            timed_out: counters.timed_out,
            failed: counters.failed,
            bytes_received: counters.bytes_received,
        }
    }
}
