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

    /// When the response to a request of `bytes` sent at `now` arrives: half the latency out,
    /// the wait for the link, the transfer, half the latency back.
    fn respond_at(&mut self, bytes: u64, now: Instant) -> Instant {
        let arrives = now + self.latency / 2;
        let transfer = Duration::from_secs_f64(bytes as f64 / self.bandwidth);
        let sent = arrives.max(self.link_free_at) + transfer;
        self.link_free_at = sent;
        sent + self.latency / 2
    }
}

/// What each peer served in a simulation.
#[derive(Clone, Debug, Default)]
pub(super) struct Tally {
    pub(super) leases: BTreeMap<PeerId, u64>,
    pub(super) bytes: BTreeMap<PeerId, u64>,
    pub(super) most_in_flight: BTreeMap<PeerId, usize>,
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
}

/// Keeps every peer as busy as the peer set allows, with unlimited work of one kind, every
/// response filling its budget.
pub(super) struct Simulation {
    pub(super) set: PeerSet,
    pub(super) peers: Vec<SimPeer>,
    pub(super) now: Instant,
    pending: Vec<(Instant, Lease)>,
}

impl Simulation {
    pub(super) fn new(mut set: PeerSet, peers: Vec<SimPeer>, now: Instant) -> Self {
        let ids: Vec<PeerId> = peers.iter().map(|peer| peer.id).collect();
        set.sync_peers(&ids);
        Self { set, peers, now, pending: Vec::new() }
    }

    /// Runs until `leases` responses were handed back.
    pub(super) fn run(&mut self, kind: RequestKind, leases: u64) -> Tally {
        let mut tally = Tally::default();
        for _ in 0..leases {
            self.fill(kind, &mut tally);
            if !self.complete_next(&mut tally) {
                break;
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
    fn fill(&mut self, kind: RequestKind, tally: &mut Tally) {
        while let Some(lease) = self.set.acquire(kind, B256::ZERO, self.now) {
            let peer = lease.peer();
            let Some(sim_peer) = self.peers.iter_mut().find(|sim_peer| sim_peer.id == peer) else {
                panic!("lease for a peer outside the simulation: {peer}");
            };
            let arrival = sim_peer.respond_at(lease.response_bytes(), self.now);
            self.pending.push((arrival, lease));
            let in_flight = self.pending.iter().filter(|(_, lease)| lease.peer() == peer).count();
            let most = tally.most_in_flight.entry(peer).or_default();
            *most = (*most).max(in_flight);
        }
    }

    /// Advances to the earliest response and hands its lease back; `false` if none.
    fn complete_next(&mut self, tally: &mut Tally) -> bool {
        let Some(index) = (0..self.pending.len()).min_by_key(|index| self.pending[*index].0) else {
            return false;
        };
        let (arrival, lease) = self.pending.swap_remove(index);
        self.now = arrival;
        let (peer, bytes) = (lease.peer(), lease.response_bytes());
        self.set.complete(lease, bytes, arrival);
        *tally.leases.entry(peer).or_default() += 1;
        *tally.bytes.entry(peer).or_default() += bytes;
        true
    }
}
