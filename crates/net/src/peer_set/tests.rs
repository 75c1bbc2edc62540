use std::time::Duration;

use alloy_primitives::B256;
use tokio::time::Instant;

use super::sim::{SimPeer, Simulation, Tally};
use crate::{
    ConfigError, LeaseStatus, PeerId, PeerSet, PeerSetConfig, RequestKind, RequestKind::*,
};

const MB: f64 = 1_000_000.0;
const ROOT: B256 = B256::repeat_byte(0x11);
const OTHER_ROOT: B256 = B256::repeat_byte(0x22);

fn peer(index: u64) -> PeerId {
    PeerId::from_index(index)
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn set_with(config: PeerSetConfig, peers: u64) -> PeerSet {
    let mut set = PeerSet::new(config).unwrap();
    let ids: Vec<PeerId> = (0..peers).map(peer).collect();
    set.sync_peers(&ids);
    set
}

fn set_of(peers: u64) -> PeerSet {
    set_with(PeerSetConfig::default(), peers)
}

/// A simulation of `peers` (latency, bandwidth) run for `leases` responses of `kind`, with
/// every lease handed back.
fn simulate(
    config: PeerSetConfig,
    peers: &[(Duration, f64)],
    kind: RequestKind,
    leases: u64,
) -> (Simulation, Tally) {
    let start = Instant::now();
    let peers = (0..)
        .zip(peers)
        .map(|(index, (latency, bandwidth))| SimPeer::new(index, *latency, *bandwidth, start))
        .collect();
    let mut sim = Simulation::new(PeerSet::new(config).unwrap(), peers, start);
    let tally = sim.run(kind, leases);
    sim.drain();
    (sim, tally)
}

/// The simulated peer `index`'s statistics for `kind`.
fn kind_stats(sim: &Simulation, index: u64, kind: RequestKind) -> crate::KindStats {
    sim.set.peer_stats(peer(index), sim.now).unwrap().kind(kind).clone()
}

#[test]
fn new_rejects_an_invalid_config() {
    let config = PeerSetConfig { max_in_flight_per_peer: 0, ..PeerSetConfig::default() };
    assert_eq!(
        PeerSet::new(config).unwrap_err(),
        ConfigError::Zero { field: "max_in_flight_per_peer" }
    );
}

#[test]
fn empty_set_grants_nothing() {
    let mut set = set_of(0);
    assert!(set.is_empty());
    assert!(set.acquire(AccountRange, ROOT, Instant::now()).is_none());
}

#[test]
fn unmeasured_peers_are_probed_with_one_minimal_request_each() {
    let mut set = set_of(2);
    let now = Instant::now();
    let first = set.acquire(StorageRanges, ROOT, now).unwrap();
    let second = set.acquire(StorageRanges, ROOT, now).unwrap();
    assert_eq!((first.peer(), second.peer()), (peer(0), peer(1)));
    assert_eq!(first.response_bytes(), PeerSetConfig::DEFAULT_MIN_REQUEST_BYTES);
    assert_eq!(first.timeout(), PeerSetConfig::DEFAULT_TIMEOUT_MAX);
    assert_eq!(first.deadline(), now + PeerSetConfig::DEFAULT_TIMEOUT_MAX);
    assert!(set.acquire(StorageRanges, ROOT, now).is_none(), "one probe per peer");
    // Other kinds are measured separately, so they probe too.
    assert!(set.acquire(ByteCodes, ROOT, now).is_some());
    assert_eq!(set.in_flight(), 3);
}

#[test]
fn budget_converges_to_what_the_peer_delivers_in_the_target_round_trip() {
    let (sim, _) = simulate(PeerSetConfig::default(), &[(ms(40), 1.5 * MB)], AccountRange, 300);
    let stats = kind_stats(&sim, 0, AccountRange);
    let budget = stats.next_budget as f64;
    // Bandwidth × (target round trip − latency).
    let expected = 1.5 * MB * (1.0 - 0.04);
    assert!((budget - expected).abs() / expected < 0.02, "budget {budget}, expected {expected}");
    assert_eq!(stats.in_flight_limit, 1);
}

#[test]
fn first_lease_goes_to_the_fastest_idle_peer() {
    let mut set = set_of(3);
    let now = Instant::now();
    let probes: Vec<_> = (0..3).map(|_| set.acquire(TrieNodes, ROOT, now).unwrap()).collect();
    // Peer 1 answers its probe 4 times faster than peers 0 and 2.
    for (probe, elapsed) in probes.into_iter().zip([ms(400), ms(100), ms(400)]) {
        let bytes = probe.response_bytes();
        assert_eq!(set.complete(probe, bytes, now + elapsed), LeaseStatus::Settled);
    }
    let lease = set.acquire(TrieNodes, ROOT, now + secs(1)).unwrap();
    assert_eq!(lease.peer(), peer(1));
}

#[test]
fn faster_peer_gets_proportionally_more_work() {
    let peers = [(ms(50), 8.0 * MB), (ms(50), 2.0 * MB)];
    let (_, tally) = simulate(PeerSetConfig::default(), &peers, AccountRange, 2_000);
    let bytes_ratio = tally.bytes_of(peer(0)) as f64 / tally.bytes_of(peer(1)) as f64;
    assert!((3.0..=4.5).contains(&bytes_ratio), "bandwidths are 4:1, bytes {bytes_ratio}");
    assert!(tally.leases_of(peer(0)) > tally.leases_of(peer(1)), "{tally:?}");
}

#[test]
fn equal_peers_share_work_equally() {
    let peers = [(ms(80), MB); 3];
    let (_, tally) = simulate(PeerSetConfig::default(), &peers, ByteCodes, 900);
    for index in 0..3 {
        let leases = tally.leases_of(peer(index));
        assert!((280..=320).contains(&leases), "peer {index}: {tally:?}");
    }
}

#[test]
fn fast_peer_is_pipelined_and_slow_peer_is_not() {
    let peers = [(ms(200), 50.0 * MB), (ms(200), 0.5 * MB)];
    let (sim, tally) = simulate(PeerSetConfig::default(), &peers, AccountRange, 500);
    let max_in_flight = PeerSetConfig::DEFAULT_MAX_IN_FLIGHT_PER_PEER;
    assert!((2..=max_in_flight).contains(&tally.most_in_flight_of(peer(0))), "{tally:?}");
    assert_eq!(tally.most_in_flight_of(peer(1)), 1, "{tally:?}");
    let fast = kind_stats(&sim, 0, AccountRange);
    assert_eq!(fast.next_budget, PeerSetConfig::DEFAULT_MAX_REQUEST_BYTES);
    assert!(fast.in_flight_limit > 1, "{fast:?}");
}

#[test]
fn in_flight_limit_spans_all_kinds() {
    let config = PeerSetConfig { max_in_flight_per_peer: 2, ..PeerSetConfig::default() };
    let mut set = set_with(config, 1);
    let now = Instant::now();
    let leases: Vec<_> =
        RequestKind::ALL.iter().filter_map(|kind| set.acquire(*kind, ROOT, now)).collect();
    assert_eq!(leases.len(), 2);
    assert_eq!(set.peer_stats(peer(0), now).unwrap().in_flight, 2);
    for lease in leases {
        assert_eq!(set.cancel(lease), LeaseStatus::Settled);
    }
    assert_eq!(set.in_flight(), 0);
}

#[test]
fn timeouts_adapt_to_the_peer() {
    let config = PeerSetConfig { timeout_min: ms(100), ..PeerSetConfig::default() };
    let peers = [(ms(30), 20.0 * MB), (ms(300), 0.2 * MB)];
    let (sim, _) = simulate(config, &peers, AccountRange, 400);
    let (fast, slow) = (kind_stats(&sim, 0, AccountRange), kind_stats(&sim, 1, AccountRange));
    // The slow peer's requests settle at the 1 s target round trip: 3 × 1 s.
    assert!(slow.next_timeout > ms(2_800) && slow.next_timeout < ms(3_200), "{slow:?}");
    // The fast peer's are capped at 2 MiB, pipelined, and answered in a fraction of that.
    assert!(fast.next_timeout < slow.next_timeout / 2, "{fast:?}");
    assert!(fast.next_timeout >= ms(100));
}

#[test]
fn a_timeout_lengthens_the_next_timeout_and_shrinks_the_budget() {
    let config = PeerSetConfig { timeout_min: ms(100), ..PeerSetConfig::default() };
    let (mut sim, _) = simulate(config, &[(ms(100), MB)], ByteCodes, 100);
    let before = kind_stats(&sim, 0, ByteCodes);
    let lease = sim.set.acquire(ByteCodes, ROOT, sim.now).unwrap();
    assert_eq!(lease.timeout(), before.next_timeout);
    sim.now = lease.deadline();
    assert_eq!(sim.set.timed_out(lease, sim.now), LeaseStatus::Settled);
    let after = kind_stats(&sim, 0, ByteCodes);
    assert!(after.next_timeout > before.next_timeout, "{before:?} → {after:?}");
    assert!(after.next_budget < before.next_budget * 6 / 10, "{before:?} → {after:?}");
    assert_eq!(after.timed_out, 1);
}

#[test]
fn backoff_grows_with_each_failure_and_expires() {
    let config =
        PeerSetConfig { backoff_base: secs(1), backoff_cap: secs(5), ..PeerSetConfig::default() };
    let mut set = set_with(config, 1);
    let mut now = Instant::now();
    let mut rests = Vec::new();
    for _ in 0..5 {
        let lease = set.acquire(StorageRanges, ROOT, now).unwrap();
        assert_eq!(set.failed(lease, now), LeaseStatus::Settled);
        assert!(set.acquire(StorageRanges, ROOT, now).is_none(), "resting");
        let rest_end = set.next_rest_end(now).unwrap();
        rests.push(rest_end - now);
        assert!(set.acquire(StorageRanges, ROOT, rest_end - ms(1)).is_none());
        now = rest_end;
        assert_eq!(set.next_rest_end(now), None);
    }
    assert_eq!(rests, [secs(1), secs(2), secs(4), secs(5), secs(5)]);
    assert_eq!(set.peer_stats(peer(0), now).unwrap().consecutive_failures, 5);
}

#[test]
fn a_response_ends_the_backoff_streak() {
    let mut set = set_of(1);
    let now = Instant::now();
    let lease = set.acquire(AccountRange, ROOT, now).unwrap();
    let other = set.acquire(StorageRanges, ROOT, now).unwrap();
    set.failed(lease, now);
    assert!(set.acquire(TrieNodes, ROOT, now).is_none());
    // The older request still answers: the peer is healthy after all.
    let bytes = other.response_bytes();
    set.complete(other, bytes, now + ms(300));
    let stats = set.peer_stats(peer(0), now + ms(300)).unwrap();
    assert_eq!((stats.consecutive_failures, stats.resting_until), (0, None));
    assert!(set.acquire(TrieNodes, ROOT, now + ms(300)).is_some());
}

#[test]
fn stateless_peer_is_skipped_for_its_root_until_the_pivot_moves() {
    let mut set = set_of(2);
    assert!(set.set_pivot_root(ROOT));
    let now = Instant::now();
    let lease = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(lease.peer(), peer(0));
    assert_eq!(set.empty_for_root(lease), LeaseStatus::Settled);
    assert_eq!(set.peers_serving(ROOT), 1);
    assert!(set.peer_stats(peer(0), now).unwrap().stateless_for_pivot);
    // Peer 0 is skipped for the root, for every kind, but still serves other roots.
    for kind in RequestKind::ALL {
        let lease = set.acquire(kind, ROOT, now).unwrap();
        assert_eq!(lease.peer(), peer(1), "{kind}");
        set.cancel(lease);
    }
    let other = set.acquire(AccountRange, OTHER_ROOT, now).unwrap();
    assert_eq!(other.peer(), peer(0));
    set.cancel(other);
    // Setting the same pivot again clears nothing; a new pivot clears the marks.
    assert!(!set.set_pivot_root(ROOT));
    assert_eq!(set.peers_serving(ROOT), 1);
    assert!(set.set_pivot_root(OTHER_ROOT));
    assert_eq!(set.peers_serving(ROOT), 2);
    assert_eq!(set.acquire(AccountRange, ROOT, now).unwrap().peer(), peer(0));
}

#[test]
fn all_peers_stateless_leaves_no_one_serving() {
    let mut set = set_of(2);
    let now = Instant::now();
    for _ in 0..2 {
        let lease = set.acquire(TrieNodes, ROOT, now).unwrap();
        set.empty_for_root(lease);
    }
    assert_eq!(set.peers_serving(ROOT), 0);
    assert!(set.acquire(TrieNodes, ROOT, now).is_none());
    let stats = set.peer_stats(peer(0), now).unwrap();
    assert_eq!((stats.kind(TrieNodes).empty, stats.kind(TrieNodes).completed), (1, 1));
    assert_eq!(stats.kind(TrieNodes).throughput, None, "an empty response measures nothing");
}

#[test]
fn bans_are_permanent() {
    let mut set = set_of(2);
    let now = Instant::now();
    let lease = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(lease.peer(), peer(0));
    assert!(set.ban(peer(0), "range proof does not verify"));
    assert!(!set.ban(peer(0), "again"));
    assert_eq!(set.ban_reason(peer(0)), Some("range proof does not verify"));
    assert_eq!(set.complete(lease, 1_000, now + ms(10)), LeaseStatus::Stale);
    // Reconnecting does not bring it back.
    let changes = set.sync_peers(&[peer(0), peer(1)]);
    assert!(changes.is_empty(), "{changes:?}");
    assert!(!set.add_peer(peer(0)));
    assert!(!set.contains(peer(0)) && set.is_banned(peer(0)));
    assert!(set.set_pivot_root(OTHER_ROOT));
    for _ in 0..10 {
        let lease = set.acquire(AccountRange, ROOT, now + secs(1000)).unwrap();
        assert_eq!(lease.peer(), peer(1));
        set.cancel(lease);
    }
    assert_eq!(set.banned().collect::<Vec<_>>(), [(peer(0), "range proof does not verify")]);
}

#[test]
fn leases_of_departed_peers_are_stale_and_harmless() {
    let mut set = set_of(2);
    let now = Instant::now();
    let lease = set.acquire(StorageRanges, ROOT, now).unwrap();
    assert_eq!(lease.peer(), peer(0));
    let changes = set.sync_peers(&[peer(1)]);
    assert_eq!(changes.left, [peer(0)]);
    assert_eq!(set.in_flight(), 0);
    // It comes back before the old response does: the old lease must not free a new slot.
    set.sync_peers(&[peer(0), peer(1)]);
    let fresh = set.acquire(StorageRanges, ROOT, now).unwrap();
    assert_eq!(fresh.peer(), peer(0));
    assert_eq!(set.complete(lease, 5_000, now + ms(100)), LeaseStatus::Stale);
    let stats = set.peer_stats(peer(0), now).unwrap();
    assert_eq!((stats.in_flight, stats.kind(StorageRanges).completed), (1, 0));
    set.remove_peer(peer(0));
    assert_eq!(set.timed_out(fresh, now + secs(60)), LeaseStatus::Stale);
    assert!(!set.remove_peer(peer(0)));
}

#[test]
fn every_outcome_of_a_stale_lease_is_ignored() {
    let mut set = set_of(1);
    let now = Instant::now();
    let leases: Vec<_> =
        RequestKind::ALL.iter().filter_map(|kind| set.acquire(*kind, ROOT, now)).collect();
    assert_eq!(leases.len(), 4);
    set.sync_peers(&[]);
    let mut leases = leases.into_iter();
    let mut next = || leases.next().unwrap();
    assert_eq!(set.failed(next(), now), LeaseStatus::Stale);
    assert_eq!(set.timed_out(next(), now), LeaseStatus::Stale);
    assert_eq!(set.empty_for_root(next()), LeaseStatus::Stale);
    assert_eq!(set.cancel(next()), LeaseStatus::Stale);
    assert!(set.stats(now).is_empty());
}

#[test]
fn sync_peers_reports_joins_and_departures() {
    let mut set = set_of(0);
    let changes = set.sync_peers(&[peer(2), peer(1)]);
    assert_eq!(changes.joined, [peer(2), peer(1)]);
    assert!(changes.left.is_empty());
    let changes = set.sync_peers(&[peer(1), peer(3), peer(3)]);
    assert_eq!((changes.joined, changes.left), (vec![peer(3)], vec![peer(2)]));
    assert_eq!(set.peer_ids().collect::<Vec<_>>(), [peer(1), peer(3)]);
    assert_eq!(set.len(), 2);
}

#[test]
fn stats_count_outcomes_and_bytes() {
    let mut set = set_of(1);
    let now = Instant::now();
    let lease = set.acquire(ByteCodes, ROOT, now).unwrap();
    set.complete(lease, 50_000, now + ms(250));
    let lease = set.acquire(ByteCodes, ROOT, now + secs(1)).unwrap();
    set.failed(lease, now + secs(1));
    let stats = set.peer_stats(peer(0), now + secs(1)).unwrap();
    let codes = stats.kind(ByteCodes);
    assert_eq!((codes.completed, codes.failed, codes.timed_out), (1, 1, 0));
    assert_eq!(codes.bytes_received, 50_000);
    assert_eq!(stats.bytes_received(), 50_000);
    assert_eq!(codes.throughput, Some(200_000.0));
    assert_eq!(codes.rtt, Some(ms(250)));
    assert_eq!(stats.resting_until, Some(now + secs(2)));
    assert_eq!(set.peer_stats(peer(9), now), None);
}

/// The sync's loop in miniature, under paused tokio time: requests bounded by their lease
/// deadline, a silent peer timing out and resting while a live one keeps working.
#[tokio::test(start_paused = true)]
async fn lease_deadlines_drive_timeouts_under_paused_time() {
    let mut set = set_of(2);
    let silent = peer(0);
    let start = Instant::now();
    let lease = set.acquire(AccountRange, ROOT, start).unwrap();
    assert_eq!(lease.peer(), silent);
    let never = std::future::pending::<u64>();
    let outcome = tokio::time::timeout_at(lease.deadline(), never).await;
    assert!(outcome.is_err());
    let now = Instant::now();
    assert_eq!(now - start, PeerSetConfig::DEFAULT_TIMEOUT_MAX);
    assert_eq!(set.timed_out(lease, now), LeaseStatus::Settled);

    let lease = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(lease.peer(), peer(1), "the silent peer rests");
    let answer = async {
        tokio::time::sleep(ms(120)).await;
        64 * 1024
    };
    let bytes = tokio::time::timeout_at(lease.deadline(), answer).await.unwrap();
    assert_eq!(set.complete(lease, bytes, Instant::now()), LeaseStatus::Settled);

    tokio::time::advance(PeerSetConfig::DEFAULT_BACKOFF_BASE).await;
    let lease = set.acquire(AccountRange, ROOT, Instant::now()).unwrap();
    assert_eq!(lease.peer(), silent, "rest over, and still unmeasured");
    set.cancel(lease);
}
