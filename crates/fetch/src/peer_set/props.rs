//! Random event sequences against a model of which leases are outstanding.

use std::time::Duration;

use alloy_primitives::B256;
use proptest::prelude::*;
use tokio::time::Instant;

use crate::{Lease, LeaseStatus, PeerId, PeerSet, PeerSetConfig, RequestKind, peer_state::PROBES};

const PEERS: u64 = 5;
const ROOTS: [B256; 2] = [B256::repeat_byte(1), B256::repeat_byte(2)];

#[derive(Clone, Copy, Debug)]
enum Event {
    /// Connected peers, as a bit mask over `0..PEERS`.
    Sync(u8),
    Acquire {
        kind: usize,
        root: usize,
    },
    Complete {
        lease: usize,
        bytes: u64,
    },
    TimedOut {
        lease: usize,
    },
    Failed {
        lease: usize,
    },
    Empty {
        lease: usize,
    },
    Cancel {
        lease: usize,
    },
    Hedge {
        lease: usize,
        others_waiting: bool,
    },
    Ban {
        peer: u64,
    },
    Pivot {
        root: usize,
    },
    Advance {
        millis: u64,
    },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        1 => any::<u8>().prop_map(Event::Sync),
        6 => (0..4usize, 0..2usize).prop_map(|(kind, root)| Event::Acquire { kind, root }),
        4 => (any::<usize>(), 0..3_000_000u64)
            .prop_map(|(lease, bytes)| Event::Complete { lease, bytes }),
        1 => any::<usize>().prop_map(|lease| Event::TimedOut { lease }),
        1 => any::<usize>().prop_map(|lease| Event::Failed { lease }),
        1 => any::<usize>().prop_map(|lease| Event::Empty { lease }),
        1 => any::<usize>().prop_map(|lease| Event::Cancel { lease }),
        2 => (any::<usize>(), any::<bool>())
            .prop_map(|(lease, others_waiting)| Event::Hedge { lease, others_waiting }),
        1 => (0..PEERS + 1).prop_map(|peer| Event::Ban { peer }),
        1 => (0..2usize).prop_map(|root| Event::Pivot { root }),
        3 => (0..5_000u64).prop_map(|millis| Event::Advance { millis }),
    ]
}

/// The peer set under test, the leases the test holds, and whether each is outstanding.
struct Harness {
    set: PeerSet,
    held: Vec<(Lease, bool)>,
    now: Instant,
}

impl Harness {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Sync(mask) => self.sync(mask),
            Event::Acquire { kind, root } => self.acquire(RequestKind::ALL[kind], ROOTS[root]),
            Event::Complete { lease, bytes } => {
                let now = self.now;
                self.resolve(lease, |set, lease| set.complete(lease, bytes, now));
            }
            Event::TimedOut { lease } => {
                let now = self.now;
                self.resolve(lease, |set, lease| set.timed_out(lease, now));
            }
            Event::Failed { lease } => {
                let now = self.now;
                self.resolve(lease, |set, lease| set.failed(lease, now));
            }
            Event::Empty { lease } => {
                let now = self.now;
                self.resolve(lease, |set, lease| set.unavailable(lease, now));
            }
            Event::Cancel { lease } => self.resolve(lease, PeerSet::cancel),
            Event::Hedge { lease, others_waiting } => self.hedge(lease, others_waiting),
            Event::Ban { peer } => {
                let peer = PeerId::from_index(peer);
                self.set.ban(peer, RequestKind::AccountRange, crate::Fault::Malformed);
                self.forget_leases_of(peer);
            }
            Event::Pivot { root } => {
                self.set.set_pivot_root(ROOTS[root]);
            }
            Event::Advance { millis } => self.now += Duration::from_millis(millis),
        }
    }

    fn sync(&mut self, mask: u8) {
        let connected: Vec<PeerId> =
            (0..PEERS).filter(|index| mask & (1 << index) != 0).map(PeerId::from_index).collect();
        let changes = self.set.sync_peers(&connected);
        for peer in changes.left {
            self.forget_leases_of(peer);
        }
    }

    fn forget_leases_of(&mut self, peer: PeerId) {
        for (lease, outstanding) in &mut self.held {
            if lease.peer() == peer {
                *outstanding = false;
            }
        }
    }

    fn acquire(&mut self, kind: RequestKind, root: B256) {
        let before = self.set.stats(self.now);
        let Some(lease) = self.set.acquire(kind, root, self.now) else {
            return;
        };
        let peer = lease.peer();
        assert!(!self.set.is_banned(peer));
        let Some(stats) = before.iter().find(|stats| stats.peer == peer) else {
            panic!("lease for {peer}, not in the set");
        };
        assert!(stats.resting_until.is_none(), "lease for a resting peer: {stats:?}");
        assert!(stats.in_flight < self.set.config().max_in_flight_per_peer, "{stats:?}");
        if stats.rate.is_none() {
            assert!(stats.in_flight < PROBES, "an unmeasured peer gets {PROBES} probes");
        }
        let kind_stats = stats.kind(kind);
        assert_eq!(lease.response_bytes(), kind_stats.next_budget);
        assert_eq!(lease.timeout(), kind_stats.next_timeout);
        // Predicted only for a measured peer, and in order: expected, then overdue.
        assert_eq!(lease.expected_arrival().is_some(), stats.latency.is_some(), "{stats:?}");
        assert_eq!(lease.overdue_at().is_some(), lease.expected_arrival().is_some());
        if let (Some(expected), Some(overdue)) = (lease.expected_arrival(), lease.overdue_at()) {
            assert!(self.now <= expected && expected < overdue, "{lease:?}");
        }
        if self.set.pivot_root() == Some(root) {
            assert!(!stats.stateless_for_pivot, "lease for a stateless peer: {stats:?}");
        }
        self.held.push((lease, true));
    }

    fn hedge(&mut self, index: usize, others_waiting: bool) {
        if self.held.is_empty() {
            return;
        }
        let (lease, _) = &self.held[index % self.held.len()];
        let before = self.set.stats(self.now);
        let Some(hedge) = self.set.hedge(lease, self.now, others_waiting) else {
            return;
        };
        assert_ne!(hedge.lease.peer(), lease.peer(), "a hedge goes to another peer");
        assert_eq!(
            (hedge.lease.kind(), hedge.lease.availability()),
            (lease.kind(), lease.availability())
        );
        if others_waiting {
            assert!(hedge.lost, "with requests waiting, only a lost request is hedged");
        }
        if let (true, Some(overdue)) = (hedge.lost, lease.overdue_at()) {
            assert!(self.now >= overdue, "taken for lost before it was overdue: {lease:?}");
        }
        let stats = before.iter().find(|stats| stats.peer == hedge.lease.peer()).unwrap();
        assert!(stats.resting_until.is_none(), "hedge on a resting peer: {stats:?}");
        assert!(stats.in_flight < self.set.config().max_in_flight_per_peer, "{stats:?}");
        self.held.push((hedge.lease, true));
    }

    fn resolve(
        &mut self,
        index: usize,
        hand_back: impl FnOnce(&mut PeerSet, Lease) -> LeaseStatus,
    ) {
        if self.held.is_empty() {
            return;
        }
        let (lease, outstanding) = self.held.swap_remove(index % self.held.len());
        let expected = if outstanding { LeaseStatus::Settled } else { LeaseStatus::Stale };
        assert_eq!(hand_back(&mut self.set, lease), expected);
    }

    fn check_invariants(&self) {
        let config = self.set.config();
        let outstanding = self.held.iter().filter(|(_, outstanding)| *outstanding).count();
        assert_eq!(self.set.in_flight(), outstanding);
        for stats in self.set.stats(self.now) {
            assert!(stats.in_flight <= config.max_in_flight_per_peer, "{stats:?}");
            let by_kind: usize = stats.kinds.iter().map(|kind| kind.in_flight).sum();
            assert_eq!(by_kind, stats.in_flight);
            assert_eq!(stats.rate.is_some(), stats.latency.is_some(), "{stats:?}");
            if let Some(rate) = stats.rate {
                assert!(rate.is_finite() && rate > 0.0, "{stats:?}");
            }
            for kind in &stats.kinds {
                let budgets = config.min_request_bytes..=config.max_request_bytes;
                assert!(budgets.contains(&kind.next_budget), "{kind:?}");
                let timeouts = config.timeout_min..=config.timeout_max;
                assert!(timeouts.contains(&kind.next_timeout), "{kind:?}");
                assert!((1..=kind.next_budget).contains(&kind.expected_bytes), "{kind:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_events_keep_the_books_straight(events in proptest::collection::vec(event(), 1..200)) {
        let config = PeerSetConfig { max_in_flight_per_peer: 3, ..PeerSetConfig::default() };
        let mut harness =
            Harness { set: PeerSet::new(config).unwrap(), held: Vec::new(), now: Instant::now() };
        harness.set.sync_peers(&(0..PEERS).map(PeerId::from_index).collect::<Vec<_>>());
        for event in events {
            harness.apply(event);
            harness.check_invariants();
        }
    }
}
