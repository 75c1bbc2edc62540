//! A discrete-event simulation of synthetic peers serving a [`PeerSet`]'s leases.

use std::{collections::BTreeMap, time::Duration};

use alloy_primitives::B256;
use tokio::time::Instant;

use crate::{Lease, PeerId, PeerSet, RequestKind};

/// A peer with fixed latency and bandwidth over one link: transfers queue behind each other.
#[derive(Clone, Debug)]
pub(super) struct SimPeer {
    pub(super) id: PeerId,
    latency: Duration,
    bandwidth: f64,
    link_free_at: Instant,
}

impl SimPeer {
    /// Peer `index` with round-trip `latency` and `bandwidth` in bytes per second.
    pub(super) fn new(index: u64, latency: Duration, bandwidth: f64, start: Instant) -> Self {
        Self { id: PeerId::from_index(index), latency, bandwidth, link_free_at: start }
    }

    /// When the response to a request of `bytes` sent at `now` crosses the link and arrives:
    /// half the latency out, the wait for the link, the transfer, half the latency back.
    fn respond_at(&mut self, bytes: u64, now: Instant) -> (Instant, Instant, Instant) {
        let arrives = now + self.latency / 2;
        let transfer = Duration::from_secs_f64(bytes as f64 / self.bandwidth);
        let start = arrives.max(self.link_free_at);
        let sent = start + transfer;
        self.link_free_at = sent;
        (start, sent, sent + self.latency / 2)
    }
}

/// What each peer served in a simulation.
#[derive(Clone, Default)]
pub(super) struct Tally {
    pub(super) leases: BTreeMap<PeerId, u64>,
    pub(super) bytes: BTreeMap<PeerId, u64>,
    /// Per peer, the most requests in flight from its twentieth request on (past its probes
    /// and the first measurements).
    pub(super) most_in_flight: BTreeMap<PeerId, usize>,
    /// Per peer, when each response crossed its link, in order.
    pub(super) transfers: BTreeMap<PeerId, Vec<(Instant, Instant)>>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let busy: BTreeMap<PeerId, f64> =
            self.transfers.keys().map(|peer| (*peer, self.busy_fraction_of(*peer))).collect();
        f.debug_struct("Tally")
            .field("leases", &self.leases)
            .field("bytes", &self.bytes)
            .field("most_in_flight", &self.most_in_flight)
            .field("busy", &busy)
            .finish()
    }
}

impl Tally {
    pub(super) fn leases_of(&self, peer: PeerId) -> u64 {
        self.leases.get(&peer).copied().unwrap_or(0)
    }

    pub(super) fn bytes_of(&self, peer: PeerId) -> u64 {
        self.bytes.get(&peer).copied().unwrap_or(0)
    }

    pub(super) fn most_in_flight_of(&self, peer: PeerId) -> usize {
        self.most_in_flight.get(&peer).copied().unwrap_or(0)
    }

    /// The fraction of the time `peer`'s link carried a response, from the start of its
    /// twentieth response (past the probes and the first measurements) to the end of its last.
    pub(super) fn busy_fraction_of(&self, peer: PeerId) -> f64 {
        let Some(transfers) = self.transfers.get(&peer) else { return 0.0 };
        let settled = transfers.get(19..).unwrap_or_default();
        let (Some(first), Some(last)) = (settled.first(), settled.last()) else { return 0.0 };
        let busy: f64 = settled.iter().map(|(start, end)| (*end - *start).as_secs_f64()).sum();
        busy / (last.1 - first.0).as_secs_f64()
    }
}

/// Keeps every peer as busy as the peer set allows, with unlimited work of one kind, every
/// response carrying its budget (up to a cap).
pub(super) struct Simulation {
    pub(super) set: PeerSet,
    pub(super) peers: Vec<SimPeer>,
    pub(super) now: Instant,
    /// Most bytes a response carries (short of its budget beyond this).
    cap: u64,
    /// Leases sent, with when and how large their responses arrive.
    pending: Vec<(Instant, u64, Lease)>,
}

impl Simulation {
    pub(super) fn new(mut set: PeerSet, peers: Vec<SimPeer>, now: Instant) -> Self {
        let ids: Vec<PeerId> = peers.iter().map(|peer| peer.id).collect();
        set.sync_peers(&ids);
        Self { set, peers, now, cap: u64::MAX, pending: Vec::new() }
    }

    /// The simulation with every response carrying at most `cap` bytes.
    pub(super) const fn with_response_cap(mut self, cap: u64) -> Self {
        self.cap = cap;
        self
    }

    /// Runs until `leases` responses were handed back.
    pub(super) fn run(&mut self, kind: RequestKind, leases: u64) -> Tally {
        let mut tally = Tally::default();
        let mut completed = 0;
        while completed < leases {
            self.send_all(kind, &mut tally);
            let arrival = self.pending.iter().map(|(arrival, _, _)| *arrival).min();
            let opening = self.set.next_opening(B256::ZERO, self.now);
            match (arrival, opening) {
                // A link gets room before the next response: send then.
                (Some(arrival), Some(opening)) if opening < arrival => self.now = opening,
                (None, Some(opening)) => self.now = opening,
                _ if self.complete_next(&mut tally) => completed += 1,
                _ => break,
            }
        }
        tally
    }

    /// Hands back every pending lease, in arrival order.
    pub(super) fn drain(&mut self) {
        let mut ignored = Tally::default();
        while self.complete_next(&mut ignored) {}
    }

    /// Acquires leases until no peer has room, sending each to its peer.
    fn send_all(&mut self, kind: RequestKind, tally: &mut Tally) {
        while let Some(lease) = self.set.acquire(kind, B256::ZERO, self.now) {
            let peer = lease.peer();
            let Some(sim_peer) = self.peers.iter_mut().find(|sim_peer| sim_peer.id == peer) else {
                panic!("lease for a peer outside the simulation: {peer}");
            };
            let bytes = lease.response_bytes().min(self.cap);
            let (start, end, arrival) = sim_peer.respond_at(bytes, self.now);
            tally.transfers.entry(peer).or_default().push((start, end));
            self.pending.push((arrival, bytes, lease));
            if tally.transfers.get(&peer).is_none_or(|transfers| transfers.len() < 20) {
                continue;
            }
            let in_flight =
                self.pending.iter().filter(|(_, _, lease)| lease.peer() == peer).count();
            let most = tally.most_in_flight.entry(peer).or_default();
            *most = (*most).max(in_flight);
        }
    }

    /// Advances to the earliest response and hands its lease back; `false` if none.
    fn complete_next(&mut self, tally: &mut Tally) -> bool {
        let Some(index) = (0..self.pending.len()).min_by_key(|index| self.pending[*index].0) else {
            return false;
        };
        let (arrival, bytes, lease) = self.pending.swap_remove(index);
        self.now = arrival;
        let peer = lease.peer();
        self.set.complete(lease, bytes, arrival);
        *tally.leases.entry(peer).or_default() += 1;
        *tally.bytes.entry(peer).or_default() += bytes;
        true
    }
}
