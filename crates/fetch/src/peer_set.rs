//! The sync's scheduling state over the connected peers: who gets the next request, how large
//! it is, how long to wait for it, and who rests, skips what it lacks or is banned.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use tokio::time::Instant;

use crate::{
    Availability, ConfigError, Fault, Lease, LeaseId, LeaseStatus, PeerId, PeerInfo, PeerSetConfig,
    PeerStats, RequestKind,
    estimate::SizeEstimate,
    lease::LeaseTerms,
    peer_state::{PeerState, Pending},
};

/// Tracing target of the peer set.
const TARGET: &str = "sync::net::peers";

/// How many times sooner another peer must deliver a request than the live peer it waits on
/// for [`PeerSet::hedge`] to send it there too: a duplicate costs its bytes twice.
const HEDGE_GAIN: u32 = 2;

/// The peers the sync may ask, with per-peer capacity estimates, in-flight slots, backoff,
/// marks of what each peer lacks ([`Availability`]) and bans.
///
/// Pure bookkeeping: it does no I/O and reads no clock, every time is an argument, so a
/// simulation or a test under paused tokio time is deterministic. The sync loop:
///
/// 1. [`sync_peers`](Self::sync_peers) with
///    [`PeerSource::peers`](snapsync_net::PeerSource::peers);
/// 2. [`acquire`](Self::acquire) a [`Lease`] while there is work and a peer has room;
/// 3. send the request with [`Lease::response_bytes`] to [`Lease::peer`], bounded by
///    [`Lease::deadline`];
/// 4. hand the lease back with the outcome: [`complete`](Self::complete),
///    [`unavailable`](Self::unavailable), [`timed_out`](Self::timed_out),
///    [`failed`](Self::failed), or [`ban`](Self::ban) the peer for proven-bad data (and
///    [`report`](snapsync_net::PeerSource::report) it: the peer set calls nothing).
///
/// The crate documentation's [scheduling](crate#scheduling) section gives the formulas for
/// budgets, in-flight limits and timeouts; [`acquire`](Self::acquire) tells how a peer is
/// chosen.
#[derive(Debug)]
pub struct PeerSet {
    config: PeerSetConfig,
    peers: BTreeMap<PeerId, PeerState>,
    /// Banned peers and why; they stay banned across reconnections.
    banned: BTreeMap<PeerId, Ban>,
    pivot_root: Option<B256>,
    next_lease: u64,
    /// Response sizes per kind in [`RequestKind::ALL`] order, over all peers.
    sizes: [SizeEstimate; RequestKind::COUNT],
}

/// Why a peer was banned: the first reply it sent that was proven wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    /// The request the reply answered.
    pub kind: RequestKind,
    /// What was wrong with it.
    pub fault: Fault,
}

/// A second lease for a request already leased to a stalled or much slower peer, from
/// [`PeerSet::hedge`].
#[derive(Debug)]
#[must_use = "a lease holds a peer's in-flight slot until it is handed back to the PeerSet"]
pub struct Hedge {
    /// The lease on the other peer.
    pub lease: Lease,
    /// Whether the first lease was taken for lost (overdue, or on a peer not yet measured and
    /// far slower than another): if the hedge answers first, the first lease is not
    /// cancelled but kept until its own reply or deadline, and handed back on that outcome.
    pub lost: bool,
}

/// The peers [`PeerSet::sync_peers`] added and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerChanges {
    /// Peers that were not in the set (banned ones are never added).
    pub joined: Vec<PeerId>,
    /// Peers that were in the set and are no longer connected.
    pub left: Vec<PeerId>,
}

impl PeerChanges {
    /// Whether nothing changed.
    pub const fn is_empty(&self) -> bool {
        self.joined.is_empty() && self.left.is_empty()
    }
}

impl PeerSet {
    /// An empty peer set.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`PeerSetConfig::validate`].
    pub fn new(config: PeerSetConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            peers: BTreeMap::new(),
            banned: BTreeMap::new(),
            pivot_root: None,
            next_lease: 0,
            sizes: Default::default(),
        })
    }

    /// The settings.
    pub const fn config(&self) -> &PeerSetConfig {
        &self.config
    }

    // --- membership ---

    /// Makes the set exactly the `connected` peers that are not banned: adds the new ones
    /// (with unknown estimates), updates the [`Capabilities`](snapsync_net::Capabilities) of the others, and drops the
    /// departed ones, whose outstanding leases become [`LeaseStatus::Stale`]. A bare
    /// [`PeerId`] is a peer speaking eth and snap/1 ([`PeerInfo::from`]).
    pub fn sync_peers<P: Into<PeerInfo> + Copy>(&mut self, connected: &[P]) -> PeerChanges {
        let connected: Vec<PeerInfo> = connected.iter().map(|&peer| peer.into()).collect();
        let left: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|peer| !connected.iter().any(|info| info.id == **peer))
            .copied()
            .collect();
        for peer in &left {
            self.remove_peer(*peer);
        }
        let mut joined = Vec::new();
        for info in connected {
            if let Some(state) = self.peers.get_mut(&info.id) {
                state.capabilities = info.capabilities;
            } else if self.add_peer(info) {
                joined.push(info.id);
            }
        }
        PeerChanges { joined, left }
    }

    /// Adds a peer (a [`PeerInfo`], or a bare [`PeerId`] speaking eth and snap/1); `false` if
    /// it is already in the set or banned.
    pub fn add_peer(&mut self, peer: impl Into<PeerInfo>) -> bool {
        let PeerInfo { id: peer, capabilities, .. } = peer.into();
        if self.banned.contains_key(&peer) || self.peers.contains_key(&peer) {
            return false;
        }
        self.peers.insert(peer, PeerState::new(capabilities));
        tracing::debug!(target: TARGET, %peer, ?capabilities, peers = self.peers.len(), "peer joined");
        true
    }

    /// Removes a peer, forgetting its estimates; its outstanding leases become stale.
    /// `false` if it was not in the set.
    pub fn remove_peer(&mut self, peer: PeerId) -> bool {
        let Some(state) = self.peers.remove(&peer) else {
            return false;
        };
        tracing::debug!(
            target: TARGET,
            %peer,
            in_flight = state.in_flight(),
            peers = self.peers.len(),
            "peer left"
        );
        true
    }

    /// Whether `peer` is in the set (connected and not banned).
    pub fn contains(&self, peer: PeerId) -> bool {
        self.peers.contains_key(&peer)
    }

    /// Number of peers in the set.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether the set has no peers.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// The peers in the set, in id order.
    pub fn peer_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    // --- bans ---

    /// Bans `peer` for good: it leaves the set, its outstanding leases become stale, and
    /// [`sync_peers`](Self::sync_peers) never adds it again. For proven-bad data only (a slow
    /// or stateless peer is not malicious). The caller reports the peer to the network with
    /// [`PeerSource::report`](snapsync_net::PeerSource::report). `fault` is what was wrong with its
    /// reply to a `kind` request. Returns `false` if it was already banned (the first reason
    /// stays).
    pub fn ban(&mut self, peer: PeerId, kind: RequestKind, fault: Fault) -> bool {
        if self.banned.contains_key(&peer) {
            return false;
        }
        let in_flight = self.peers.remove(&peer).map_or(0, |state| state.in_flight());
        tracing::warn!(target: TARGET, %peer, %kind, %fault, in_flight, "peer banned");
        self.banned.insert(peer, Ban { kind, fault });
        true
    }

    /// Whether `peer` is banned.
    pub fn is_banned(&self, peer: PeerId) -> bool {
        self.banned.contains_key(&peer)
    }

    /// Why `peer` was banned, if it was.
    pub fn ban_reason(&self, peer: PeerId) -> Option<&Ban> {
        self.banned.get(&peer)
    }

    /// The banned peers and why, in id order.
    pub fn banned(&self) -> impl Iterator<Item = (PeerId, &Ban)> + '_ {
        self.banned.iter().map(|(peer, ban)| (*peer, ban))
    }

    // --- pivot ---

    /// The state root the sync is downloading, if set.
    pub const fn pivot_root(&self) -> Option<B256> {
        self.pivot_root
    }

    /// Moves the sync to state `root`. When it differs from the current pivot, every mark of
    /// what a peer lacks is cleared: peers that lacked the old root may serve the new one.
    /// Returns whether the pivot changed.
    pub fn set_pivot_root(&mut self, root: B256) -> bool {
        if self.pivot_root == Some(root) {
            return false;
        }
        self.pivot_root = Some(root);
        self.peers.values_mut().for_each(PeerState::clear_stateless);
        tracing::debug!(target: TARGET, %root, "pivot root changed, stateless marks cleared");
        true
    }

    /// Number of peers in the set that may still serve `key` (a state root, blocks, …): they
    /// speak its protocol ([`Capabilities::covers`](snapsync_net::Capabilities::covers)), have not answered it with an empty response, and have not failed (timed out, errored)
    /// [`Self::STALLED_AFTER`] times in a row. Zero while peers are connected means no one
    /// serves it (for the pivot's root: time to move the pivot), rather than waiting on peers
    /// that keep stalling.
    pub fn peers_serving(&self, key: impl Into<Availability>) -> usize {
        let key = key.into();
        self.peers
            .values()
            .filter(|state| {
                state.capabilities.covers(&key)
                    && !state.lacks(&key)
                    && state.consecutive_failures(&key) < Self::STALLED_AFTER
            })
            .count()
    }

    /// Forgets that any peer lacks `key`, so that the next request for it asks them all again.
    /// For data a peer may get later (a block it had not received yet); state roots are
    /// forgotten when the pivot moves. Returns how many marks were removed.
    pub fn forget_unavailable(&mut self, key: impl Into<Availability>) -> usize {
        let key = key.into();
        self.peers.values_mut().map(|state| usize::from(state.forget(&key))).sum()
    }

    /// Consecutive failures after which a peer no longer counts as serving (it is still asked
    /// when its rest ends and no better peer is free; a success resets the count).
    pub const STALLED_AFTER: u32 = 3;

    // --- leases ---

    /// A slot for a request of `kind` reading `key` (for snap requests of state, the state
    /// root: a [`B256`] converts), on the best peer that can take it at `now`, or `None` if no
    /// peer can.
    ///
    /// A peer can take it if it is not resting after a failure, has not answered `key`
    /// with an empty response, has fewer than `max_in_flight_per_peer` requests in flight,
    /// and its link has room: a peer not yet measured takes four probes per protocol (eth,
    /// snap/1); a measured one takes
    /// two, and another once the responses already asked of it will have crossed its link
    /// within its latency plus `pipeline_slack` (so the new response follows them without a
    /// gap), unless one of them is overdue. Among those, a peer never given a request of
    /// `kind` wins (so every peer is tried on every kind early, and one that lies about a kind
    /// is caught at once); then the one that would deliver the request's expected bytes at
    /// the highest rate (counting the wait for its queue and latency), so faster and less
    /// loaded peers get more work; peers not yet measured win over measured ones (to measure
    /// them); ties go to the lowest id.
    pub fn acquire(
        &mut self,
        kind: RequestKind,
        key: impl Into<Availability>,
        now: Instant,
    ) -> Option<Lease> {
        self.acquire_from(kind, key.into(), now, None)
    }

    /// A second lease for the request `lease` was granted for, on another peer, if sending it
    /// there too (a *hedge*) is worth it at `now`, and another peer can take it:
    ///
    /// - `lease` is taken for lost: it is [overdue](Lease::overdue_at), or, granted before its
    ///   peer was measured, it is older than twice what the other peer would take and than
    ///   half `timeout_min`. A stalled peer's work is taken over before the request times out.
    /// - Or, unless `others_waiting` (other requests wait for a peer: a slot is worth more to
    ///   new work than to a duplicate), the other peer is idle (nothing in flight) and would
    ///   deliver it in less than half the time `lease`'s peer still needs until its
    ///   [expected arrival](Self::expected_arrival): at the end of the work, a slow peer's
    ///   last responses need not hold everything up, and only an idle link pays for the
    ///   duplicate.
    ///
    /// The caller sends the same request under the new lease and keeps the first reply that
    /// verifies. If the hedge wins, `lease` is [`cancel`](Self::cancel)led, unless it was
    /// [`Hedge::lost`]: then it stays outstanding until its own reply or deadline and is handed
    /// back on that (being taken for lost is a guess: a peer that is merely slow must be
    /// measured, not rested as if it had timed out). If `lease` wins, the hedge is cancelled.
    pub fn hedge(&mut self, lease: &Lease, now: Instant, others_waiting: bool) -> Option<Hedge> {
        let (kind, root, peer) = (lease.kind(), lease.availability(), lease.peer());
        let other = self.best_peer(kind, root, now, Some(peer))?;
        let plan = self.peers.get(&other)?.plan(kind, &self.sizes, now, &self.config);
        // When the other peer is unmeasured too (the sync's first requests, the pivot's
        // headers among them), half the shortest timeout is what an answer may take.
        let alternative = plan.expected_at.map(|at| at.saturating_duration_since(now));
        let patience = alternative.map_or(std::time::Duration::ZERO, |alternative| alternative * 2);
        let lost = match lease.overdue_at() {
            Some(overdue) => now >= overdue,
            None => lease.elapsed(now) > patience.max(self.config.timeout_min / 2),
        };
        let idle = self.peers.get(&other).is_some_and(|state| state.in_flight() == 0);
        let slower = !others_waiting
            && idle
            && alternative.zip(self.expected_arrival(lease)).is_some_and(
                |(alternative, arrival)| {
                    alternative * HEDGE_GAIN < arrival.saturating_duration_since(now)
                },
            );
        if !(lost || slower) {
            return None;
        }
        let lease = self.acquire_from(kind, root, now, Some(peer))?;
        Some(Hedge { lease, lost })
    }

    fn acquire_from(
        &mut self,
        kind: RequestKind,
        root: Availability,
        now: Instant,
        not: Option<PeerId>,
    ) -> Option<Lease> {
        let peer = self.best_peer(kind, root, now, not)?;
        let id = LeaseId(self.next_lease);
        self.next_lease = self.next_lease.wrapping_add(1);
        let config = &self.config;
        let state = self.peers.get_mut(&peer)?;
        let plan = state.plan(kind, &self.sizes, now, config);
        state.grant(id, kind, &plan, now, config);
        tracing::trace!(
            target: TARGET,
            %peer,
            %kind,
            lease = %id,
            response_bytes = plan.budget,
            expected_bytes = plan.expected_bytes,
            expected_in = ?plan.expected_at.map(|at| at.saturating_duration_since(now)),
            timeout = ?plan.timeout,
            in_flight = state.in_flight(),
            "lease granted"
        );
        Some(Lease::grant(LeaseTerms {
            id,
            peer,
            kind,
            key: root,
            response_bytes: plan.budget,
            issued_at: now,
            timeout: plan.timeout,
            expected_at: plan.expected_at,
            overdue_at: plan.overdue_at(now, config),
        }))
    }

    /// The peer [`acquire`](Self::acquire) would pick.
    fn best_peer(
        &self,
        kind: RequestKind,
        root: Availability,
        now: Instant,
        not: Option<PeerId>,
    ) -> Option<PeerId> {
        let mut best: Option<(PeerId, (bool, f64))> = None;
        for (peer, state) in &self.peers {
            if not == Some(*peer)
                || !state.capabilities.serves(kind)
                || !state.can_take(&root, &self.sizes, now, &self.config)
            {
                continue;
            }
            let rank = (!state.was_asked(kind), state.score(kind, &self.sizes, now, &self.config));
            if best.is_none_or(|(_, best_rank)| rank > best_rank) {
                best = Some((*peer, rank));
            }
        }
        best.map(|(peer, _)| peer)
    }

    /// Hands back a lease whose response of `response_bytes` (its encoded size) arrived at
    /// `now` and checked out: the response enters the peer's estimates and ends its backoff.
    /// `now` should be when the response arrived, before it was verified, so that
    /// verification time does not count as transfer time.
    pub fn complete(&mut self, lease: Lease, response_bytes: u64, now: Instant) -> LeaseStatus {
        let lease = lease.hand_back();
        let config = &self.config;
        let Some((state, pending)) = outstanding(&mut self.peers, &lease) else {
            return stale(&lease, "completed");
        };
        state.record_response(&pending, response_bytes, now, config);
        self.sizes[lease.kind.index()].record(response_bytes, lease.response_bytes);
        tracing::trace!(
            target: TARGET,
            peer = %lease.peer,
            kind = %lease.kind,
            lease = %lease.id,
            response_bytes,
            elapsed = ?lease.elapsed(now),
            "lease completed"
        );
        LeaseStatus::Settled
    }

    /// Hands back a lease whose request got no response by `now`: the peer's rate estimate
    /// halves, and it rests (exponential backoff).
    pub fn timed_out(&mut self, lease: Lease, now: Instant) -> LeaseStatus {
        let lease = lease.hand_back();
        let config = &self.config;
        let Some((state, pending)) = outstanding(&mut self.peers, &lease) else {
            return stale(&lease, "timed out");
        };
        let rest = state.record_timeout(&pending, now, config);
        tracing::debug!(
            target: TARGET,
            peer = %lease.peer,
            kind = %lease.kind,
            lease = %lease.id,
            elapsed = ?lease.elapsed(now),
            ?rest,
            "request timed out, peer rests"
        );
        LeaseStatus::Settled
    }

    /// Hands back a lease whose request failed at `now` for another reason (disconnection,
    /// undecodable response): the peer rests (exponential backoff), estimates unchanged.
    pub fn failed(&mut self, lease: Lease, now: Instant) -> LeaseStatus {
        let lease = lease.hand_back();
        let config = &self.config;
        let Some((state, pending)) = outstanding(&mut self.peers, &lease) else {
            return stale(&lease, "failed");
        };
        let rest = state.record_failure(&pending, now, config);
        tracing::debug!(
            target: TARGET,
            peer = %lease.peer,
            kind = %lease.kind,
            lease = %lease.id,
            ?rest,
            "request failed, peer rests"
        );
        LeaseStatus::Settled
    }

    /// Hands back a lease whose peer answered at `now` with an empty response: it does not
    /// have the lease's [`availability`](Lease::availability) key, and is not asked for it
    /// again until [`set_pivot_root`](Self::set_pivot_root) moves to another root (or
    /// [`forget_unavailable`](Self::forget_unavailable) forgets the key). The response measures
    /// the link's latency, not its rate.
    pub fn unavailable(&mut self, lease: Lease, now: Instant) -> LeaseStatus {
        let lease = lease.hand_back();
        let config = &self.config;
        let Some((state, pending)) = outstanding(&mut self.peers, &lease) else {
            return stale(&lease, "answered empty");
        };
        state.record_empty(&pending, lease.key, now, config);
        tracing::debug!(
            target: TARGET,
            peer = %lease.peer,
            kind = %lease.kind,
            key = %lease.key,
            "peer lacks what was asked"
        );
        LeaseStatus::Settled
    }

    /// Hands back a lease whose request the sync abandoned (the work went away, another peer
    /// answered it first, the sync is stopping): the slot is freed, nothing is measured, and
    /// the response is still taken to occupy the peer's link (it is on its way).
    pub fn cancel(&mut self, lease: Lease) -> LeaseStatus {
        let lease = lease.hand_back();
        match outstanding(&mut self.peers, &lease) {
            Some((state, pending)) => {
                state.record_cancel(&pending);
                LeaseStatus::Settled
            }
            None => stale(&lease, "cancelled"),
        }
    }

    /// The latest prediction of when outstanding `lease`'s response arrives (it moves as
    /// responses before it arrive and as response sizes are learnt); `None` if the lease is
    /// stale or its peer is unmeasured.
    pub fn expected_arrival(&self, lease: &Lease) -> Option<Instant> {
        self.peers.get(&lease.peer())?.expected_at(lease.id(), &self.sizes)
    }

    // --- introspection ---

    /// Requests in flight, all peers and kinds.
    pub fn in_flight(&self) -> usize {
        self.peers.values().map(PeerState::in_flight).sum()
    }

    /// The earliest end of a peer's rest after `now`, when a peer may become available
    /// without any lease being handed back; `None` if no peer is resting.
    pub fn next_rest_end(&self, now: Instant) -> Option<Instant> {
        self.peers.values().filter_map(|state| state.next_rest_end(now)).min()
    }

    /// The earliest time after `now` at which a peer may be able to take a request for `key`
    /// without any lease being handed back: a rest ends, or a link's queue becomes short
    /// enough for another request. `None` if only a handed back lease can open a slot. A
    /// caller waiting for a lease sleeps until then (or until a lease is handed back).
    pub fn next_opening(&self, key: impl Into<Availability>, now: Instant) -> Option<Instant> {
        let key = key.into();
        self.peers
            .values()
            .filter_map(|state| state.next_room(&key, &self.sizes, now, &self.config))
            .min()
    }

    /// A snapshot of every peer in the set at `now`, in id order.
    pub fn stats(&self, now: Instant) -> Vec<PeerStats> {
        self.peers
            .iter()
            .map(|(peer, state)| {
                state.stats(*peer, self.pivot_root, &self.sizes, now, &self.config)
            })
            .collect()
    }

    /// A snapshot of `peer` at `now`, if it is in the set.
    pub fn peer_stats(&self, peer: PeerId, now: Instant) -> Option<PeerStats> {
        let state = self.peers.get(&peer)?;
        Some(state.stats(peer, self.pivot_root, &self.sizes, now, &self.config))
    }
}

/// The state of the lease's peer and what it had pending, with the lease released, if the
/// lease was outstanding.
fn outstanding<'a>(
    peers: &'a mut BTreeMap<PeerId, PeerState>,
    lease: &LeaseTerms,
) -> Option<(&'a mut PeerState, Pending)> {
    let state = peers.get_mut(&lease.peer)?;
    let pending = state.release(lease.id)?;
    Some((state, pending))
}

/// Logs a lease handed back after its peer left or was banned.
fn stale(lease: &LeaseTerms, outcome: &str) -> LeaseStatus {
    tracing::trace!(
        target: TARGET,
        peer = %lease.peer,
        lease = %lease.id,
        outcome,
        "stale lease ignored"
    );
    LeaseStatus::Stale
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
