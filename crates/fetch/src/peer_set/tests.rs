use std::time::Duration;

use alloy_primitives::B256;
use tokio::time::Instant;

use super::sim::{SimPeer, Simulation, Tally};
use crate::{
    ConfigError, Lease, LeaseStatus, PeerId, PeerSet, PeerSetConfig, RequestKind, RequestKind::*,
    peer_state::PROBES,
};

const MB: f64 = 1_000_000.0;
const ROOT: B256 = B256::repeat_byte(0x11);
const OTHER_ROOT: B256 = B256::repeat_byte(0x22);

fn peer(index: u64) -> PeerId {
    PeerId::from_index(index)
}

/// The defaults with 2 MiB responses (go-ethereum's most), for the pipelining model at link
/// rates whose budget (rate × target round trip) is above the default 512 KiB cap, and
/// bandwidth-delay products beyond what `max_in_flight_per_peer` × 512 KiB covers.
fn large_responses() -> PeerSetConfig {
    PeerSetConfig { max_request_bytes: 2 * 1024 * 1024, ..PeerSetConfig::default() }
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
/// every lease handed back; every response fills its budget.
fn simulate(
    config: PeerSetConfig,
    peers: &[(Duration, f64)],
    kind: RequestKind,
    leases: u64,
) -> (Simulation, Tally) {
    simulate_capped(config, peers, kind, leases, u64::MAX)
}

/// As [`simulate`], every response carrying its budget but at most `cap` bytes.
fn simulate_capped(
    config: PeerSetConfig,
    peers: &[(Duration, f64)],
    kind: RequestKind,
    leases: u64,
    cap: u64,
) -> (Simulation, Tally) {
    let start = Instant::now();
    let peers = (0..)
        .zip(peers)
        .map(|(index, (latency, bandwidth))| SimPeer::new(index, *latency, *bandwidth, start))
        .collect();
    let mut sim =
        Simulation::new(PeerSet::new(config).unwrap(), peers, start).with_response_cap(cap);
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
fn unmeasured_peers_are_probed_with_a_few_minimal_requests_each() {
    let mut set = set_of(2);
    let now = Instant::now();
    let probes: Vec<_> =
        std::iter::from_fn(|| set.acquire(StorageRanges, ROOT, now)).take(100).collect();
    assert_eq!(probes.len(), 2 * PROBES, "{PROBES} probes per peer");
    let peers: Vec<_> = probes.iter().map(Lease::peer).collect();
    assert_eq!(peers[..4], [peer(0), peer(1), peer(0), peer(1)], "spread over the peers");
    let first = &probes[0];
    assert_eq!(first.response_bytes(), PeerSetConfig::DEFAULT_MIN_REQUEST_BYTES);
    assert_eq!(first.timeout(), PeerSetConfig::DEFAULT_TIMEOUT_MAX);
    assert_eq!(first.deadline(), now + PeerSetConfig::DEFAULT_TIMEOUT_MAX);
    assert_eq!((first.expected_arrival(), first.overdue_at()), (None, None));
    // The link is measured for all kinds at once: other kinds wait for the probes too.
    assert!(set.acquire(ByteCodes, ROOT, now).is_none());
    assert_eq!(set.in_flight(), 2 * PROBES);
}

#[test]
fn budget_converges_to_what_the_peer_delivers_in_the_target_round_trip() {
    let (sim, tally) = simulate(large_responses(), &[(ms(40), 1.5 * MB)], AccountRange, 300);
    let stats = sim.set.peer_stats(peer(0), sim.now).unwrap();
    let budget = stats.kind(AccountRange).next_budget as f64;
    // Pipelining hides the latency: the link's bandwidth × the target round trip.
    let expected = 1.5 * MB * PeerSetConfig::DEFAULT_TARGET_ROUND_TRIP.as_secs_f64();
    assert!((budget - expected).abs() / expected < 0.02, "budget {budget}, expected {expected}");
    let rate = stats.rate.unwrap();
    assert!((rate - 1.5 * MB).abs() / (1.5 * MB) < 0.01, "rate {rate}");
    let latency = stats.latency.unwrap().as_secs_f64();
    assert!((latency - 0.04).abs() < 0.002, "latency {latency}");
    assert!(tally.most_in_flight_of(peer(0)) >= 2, "{tally:?}");
}

#[test]
fn with_the_default_cap_links_up_to_its_bandwidth_delay_product_stay_busy() {
    // 8 in flight × 512 KiB cover 4 MiB on the way: 10 MB/s at 250 ms (2.5 MB) and 1 MB/s at
    // any of these latencies.
    for (latency, bandwidth) in [(ms(100), 10.0 * MB), (ms(250), 10.0 * MB), (ms(1_000), MB)] {
        let peers = [(latency, bandwidth)];
        let (_, tally) = simulate(PeerSetConfig::default(), &peers, AccountRange, 400);
        let busy = tally.busy_fraction_of(peer(0));
        assert!(busy > 0.97, "{latency:?}, {bandwidth} B/s: link busy {busy}");
    }
}

#[test]
fn pipelining_keeps_links_busy_whatever_their_latency() {
    for latency in [ms(0), ms(10), ms(100), ms(250), ms(1_000)] {
        for bandwidth in [0.1 * MB, MB, 10.0 * MB] {
            let peers = [(latency, bandwidth)];
            let (_, tally) = simulate(large_responses(), &peers, AccountRange, 200);
            // After the probes, the link never waits for a request.
            let busy = tally.busy_fraction_of(peer(0));
            assert!(busy > 0.97, "{latency:?}, {bandwidth} B/s: link busy {busy}");
        }
    }
}

#[test]
fn small_responses_are_pipelined_deeper() {
    // Responses of 100 kB whatever their budget (a storage batch of small contracts, the end
    // of a range) on a 250 ms, 1 MB/s link: 1 + 250/100 must be on their way at once to keep
    // it busy.
    let peers = [(ms(250), MB)];
    let config = PeerSetConfig { max_in_flight_per_peer: 16, ..PeerSetConfig::default() };
    let (_, tally) = simulate_capped(config, &peers, StorageRanges, 300, 100_000);
    let busy = tally.busy_fraction_of(peer(0));
    assert!(busy > 0.97, "link busy {busy}");
    let deepest = tally.most_in_flight_of(peer(0));
    assert!((4..=6).contains(&deepest), "{tally:?}");
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
fn each_peer_gets_the_pipelining_its_bandwidth_delay_product_needs() {
    let peers = [(ms(200), 20.0 * MB), (ms(200), 0.5 * MB)];
    let (sim, tally) = simulate(large_responses(), &peers, AccountRange, 500);
    // 2 MiB take 105 ms at 20 MB/s: 1 + 200/105 ≈ 3 keep the fast link busy.
    let fast = kind_stats(&sim, 0, AccountRange);
    assert_eq!(fast.next_budget, 2 * 1024 * 1024);
    assert!((3..=4).contains(&tally.most_in_flight_of(peer(0))), "{tally:?}");
    // 250 kB take 500 ms at 0.5 MB/s: two are enough.
    assert!(tally.most_in_flight_of(peer(1)) <= 3, "{tally:?}");
    for index in 0..2 {
        assert!(tally.busy_fraction_of(peer(index)) > 0.97, "{tally:?}");
    }
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
    // The slow peer's next request: its latency, then a 500 ms budget; 3 × 0.8 s.
    assert!(slow.next_timeout > ms(2_300) && slow.next_timeout < ms(2_600), "{slow:?}");
    // The fast peer's are capped at 2 MiB, pipelined, and answered in a fraction of that.
    assert!(fast.next_timeout < slow.next_timeout / 2, "{fast:?}");
    assert!(fast.next_timeout >= ms(100));
}

#[test]
fn a_request_queued_behind_others_waits_for_them_before_it_times_out() {
    let config = PeerSetConfig { timeout_min: ms(100), ..PeerSetConfig::default() };
    let (mut sim, _) = simulate(config, &[(ms(100), MB)], ByteCodes, 100);
    let first = sim.set.acquire(ByteCodes, ROOT, sim.now).unwrap();
    let second = sim.set.acquire(ByteCodes, ROOT, sim.now).unwrap();
    // Each has a 500 ms budget: the second starts after the first.
    let (one, two) = (first.timeout().as_secs_f64(), second.timeout().as_secs_f64());
    assert!((one - 3.0 * 0.6).abs() < 0.05, "{one} {two}");
    assert!((two - 3.0 * 1.1).abs() < 0.05, "{one} {two}");
    assert!(first.expected_arrival() < second.expected_arrival());
    assert!(first.overdue_at() < second.overdue_at());
    sim.set.cancel(first);
    sim.set.cancel(second);
}

#[test]
fn a_timeout_shrinks_the_budget_and_rests_the_peer() {
    let config = PeerSetConfig { timeout_min: ms(100), ..PeerSetConfig::default() };
    let (mut sim, _) = simulate(config, &[(ms(100), MB)], ByteCodes, 100);
    let before = kind_stats(&sim, 0, ByteCodes);
    let lease = sim.set.acquire(ByteCodes, ROOT, sim.now).unwrap();
    assert_eq!(lease.timeout(), before.next_timeout);
    sim.now = lease.deadline();
    assert_eq!(sim.set.timed_out(lease, sim.now), LeaseStatus::Settled);
    let after = kind_stats(&sim, 0, ByteCodes);
    assert!(after.next_budget < before.next_budget * 6 / 10, "{before:?} → {after:?}");
    assert_eq!(after.timed_out, 1);
    assert!(sim.set.peer_stats(peer(0), sim.now).unwrap().resting_until.is_some());
    assert!(sim.set.acquire(ByteCodes, ROOT, sim.now).is_none());
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

/// A node that advertises snap/1 and never answers it (ethereumjs) still serves the chain.
#[test]
fn a_peer_stalling_on_snap_still_serves_eth() {
    let mut set = set_of(1);
    let mut now = Instant::now();
    let headers = snapsync_net::Availability::Headers { from: ROOT, count: 4 };
    for _ in 0..PeerSet::STALLED_AFTER {
        now = set.next_rest_end(now).unwrap_or(now);
        let lease = set.acquire(AccountRange, ROOT, now).unwrap();
        set.timed_out(lease, now);
    }
    assert!(set.acquire(AccountRange, ROOT, now).is_none(), "resting on snap");
    assert_eq!(set.peers_serving(ROOT), 0, "stalled on the state");
    assert_eq!(set.peers_serving(headers), 1, "but not on the chain");
    let lease = set.acquire(BlockHeaders, headers, now).expect("eth does not rest");
    let bytes = lease.response_bytes();
    set.complete(lease, bytes, now + ms(50));
    // An eth answer ends no snap rest.
    assert!(set.acquire(AccountRange, ROOT, now + ms(50)).is_none());
    let stats = set.peer_stats(peer(0), now + ms(50)).unwrap();
    assert_eq!(stats.consecutive_failures, PeerSet::STALLED_AFTER);
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
    assert_eq!(set.unavailable(lease, now), LeaseStatus::Settled);
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
        set.unavailable(lease, now + ms(80));
    }
    assert_eq!(set.peers_serving(ROOT), 0);
    assert!(set.acquire(TrieNodes, ROOT, now).is_none());
    let stats = set.peer_stats(peer(0), now).unwrap();
    assert_eq!((stats.kind(TrieNodes).empty, stats.kind(TrieNodes).completed), (1, 1));
    assert_eq!(stats.rate, None, "an empty response measures no rate");
}

#[test]
fn bans_are_permanent() {
    let mut set = set_of(2);
    let now = Instant::now();
    let lease = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(lease.peer(), peer(0));
    let fault = crate::Fault::Snap(crate::InvalidResponse::Oversized { bytes: 9, budget: 4 });
    let ban = crate::Ban { kind: AccountRange, fault: fault.clone() };
    assert!(set.ban(peer(0), AccountRange, fault));
    assert!(!set.ban(peer(0), TrieNodes, crate::Fault::Malformed));
    assert_eq!(set.ban_reason(peer(0)), Some(&ban));
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
    assert_eq!(set.banned().collect::<Vec<_>>(), [(peer(0), &ban)]);
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
    set.sync_peers(&[] as &[PeerId]);
    let mut leases = leases.into_iter();
    let mut next = || leases.next().unwrap();
    assert_eq!(set.failed(next(), now), LeaseStatus::Stale);
    assert_eq!(set.timed_out(next(), now), LeaseStatus::Stale);
    assert_eq!(set.unavailable(next(), now), LeaseStatus::Stale);
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

/// Requests go only to peers whose capabilities cover them, and only those count as serving;
/// a peer listed again with other capabilities is asked accordingly.
#[test]
fn requests_go_only_to_peers_speaking_their_protocol() {
    use snapsync_net::{Availability, Capabilities, PeerInfo};
    let mut set = set_of(0);
    let eth = PeerInfo::new(peer(0), Capabilities::ETH);
    let snap = PeerInfo::new(peer(1), Capabilities::SNAP);
    set.sync_peers(&[eth, snap]);
    let now = Instant::now();
    let blocks = Availability::Headers { from: ROOT, count: 4 };
    for _ in 0..PROBES * 2 {
        if let Some(lease) = set.acquire(AccountRange, ROOT, now) {
            assert_eq!(lease.peer(), peer(1), "state from the snap peer only");
            set.cancel(lease);
        }
        if let Some(lease) = set.acquire(BlockHeaders, blocks, now) {
            assert_eq!(lease.peer(), peer(0), "headers from the eth peer only");
            set.cancel(lease);
        }
    }
    assert_eq!((set.peers_serving(ROOT), set.peers_serving(blocks)), (1, 1));
    set.sync_peers(&[PeerInfo::new(peer(0), Capabilities::ETH_AND_SNAP), snap]);
    assert_eq!(set.peers_serving(ROOT), 2);
    set.sync_peers(&[PeerInfo::new(peer(0), Capabilities::default())]);
    assert_eq!(set.peers_serving(ROOT) + set.peers_serving(blocks), 0);
    assert!(set.acquire(TrieNodes, ROOT, now).is_none());
    assert!(set.acquire(BlockBodies, blocks, now).is_none());
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
    assert_eq!(stats.rate, Some(200_000.0));
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

/// A set of `peers`, each measured by four 64 kB probes answered over a 100 ms, 1 MB/s link.
fn measured_set(peers: u64, now: Instant) -> PeerSet {
    let mut set = set_of(peers);
    let mut probes = Vec::new();
    while let Some(lease) = set.acquire(AccountRange, ROOT, now) {
        probes.push(lease);
    }
    for lease in probes {
        let position = probes_before(&set, &lease);
        let arrival = now + ms(100) + ms(64) * (position + 1);
        set.complete(lease, 64_000, arrival);
    }
    set
}

/// How many of `lease`'s peer's probes were granted before it (probe ids are in grant order,
/// spread over the peers in turn).
fn probes_before(set: &PeerSet, lease: &Lease) -> u32 {
    let peers = u32::try_from(set.len()).unwrap();
    let id: u32 = lease.id().to_string().trim_start_matches('#').parse().unwrap();
    id / peers
}

#[test]
fn probes_measure_the_link() {
    let now = Instant::now();
    let set = measured_set(2, now);
    let stats = set.peer_stats(peer(1), now + secs(1)).unwrap();
    let rate = stats.rate.unwrap();
    assert!((rate - MB).abs() / MB < 0.01, "{stats:?}");
    let latency = stats.latency.unwrap();
    assert!(latency > ms(99) && latency < ms(101), "{stats:?}");
}

#[test]
fn a_link_gets_another_request_when_its_queue_runs_short() {
    let start = Instant::now();
    let mut set = measured_set(1, start);
    let now = start + secs(1);
    // A 500 kB budget: 100 ms of latency, then 500 ms on the link.
    let first = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(first.response_bytes(), 500_000);
    let second = set.acquire(AccountRange, ROOT, now).unwrap();
    assert!(set.acquire(AccountRange, ROOT, now).is_none(), "two are always in flight");
    // The queue ends 1.1 s from now: the third goes 150 ms (latency + slack) before.
    let opening = set.next_opening(ROOT, now).unwrap();
    let expected = now + ms(1_100) - ms(150);
    assert!(opening.duration_since(expected) < ms(2), "{:?}", opening - now);
    assert!(set.acquire(AccountRange, ROOT, opening - ms(5)).is_none());
    let third = set.acquire(AccountRange, ROOT, opening).unwrap();
    // Its response starts when the second's ends.
    let arrival = third.expected_arrival().unwrap();
    assert!(arrival.duration_since(now + ms(1_600)) < ms(2), "{:?}", arrival - now);
    for lease in [first, second, third] {
        set.cancel(lease);
    }
}

#[test]
fn a_lagging_peer_gets_no_more_work_and_its_request_is_hedged() {
    let start = Instant::now();
    let mut set = measured_set(2, start);
    let now = start + secs(1);
    let stalled = set.acquire(AccountRange, ROOT, now).unwrap();
    let stalled_peer = stalled.peer();
    let overdue = stalled.overdue_at().unwrap();
    // Due 600 ms after the grant at the latest (100 ms, then a 500 kB budget): overdue at
    // twice that.
    assert!(overdue.duration_since(now + ms(1_200)) < ms(2), "{:?}", overdue - now);
    assert!(set.hedge(&stalled, overdue - ms(1), true).is_none(), "not lost yet");
    assert!(set.hedge(&stalled, overdue - ms(1), false).is_none(), "the other is no faster");
    // Overdue: the peer gets nothing new, and the request goes to the other peer too.
    let late = overdue + ms(1);
    let lease = set.acquire(AccountRange, ROOT, late).unwrap();
    assert_ne!(lease.peer(), stalled_peer);
    set.cancel(lease);
    let hedge = set.hedge(&stalled, late, true).unwrap();
    assert!(hedge.lost);
    assert_ne!(hedge.lease.peer(), stalled_peer);
    assert_eq!(set.timed_out(stalled, late), LeaseStatus::Settled);
    set.cancel(hedge.lease);
}

#[test]
fn a_short_request_is_overdue_after_half_the_shortest_timeout() {
    let start = Instant::now();
    let mut set = measured_set(1, start);
    let now = start + secs(1);
    // 100 ms of latency and a 500 kB budget: 600 ms at the latest, overdue after 1.2 s.
    let long = set.acquire(ByteCodes, ROOT, now).unwrap();
    assert!(long.overdue_at().unwrap().duration_since(now + ms(1_200)) < ms(2));
    set.cancel(long);
    // A 100 kB budget takes 200 ms: twice that is jitter, which a timeout tolerates too.
    let config = PeerSetConfig { max_request_bytes: 100_000, ..PeerSetConfig::default() };
    let mut set = PeerSet::new(config).unwrap();
    set.sync_peers(&[peer(0)]);
    let probes: Vec<_> = std::iter::from_fn(|| set.acquire(ByteCodes, ROOT, start)).collect();
    for (position, probe) in (1..).zip(probes) {
        set.complete(probe, 64_000, start + ms(100) + ms(64) * position);
    }
    let short = set.acquire(ByteCodes, ROOT, now).unwrap();
    assert_eq!(short.overdue_at(), Some(now + PeerSetConfig::DEFAULT_TIMEOUT_MIN / 2));
    set.cancel(short);
}

#[test]
fn a_slow_peer_s_request_is_hedged_on_an_idle_faster_one_when_no_work_waits() {
    let start = Instant::now();
    let mut set = set_of(2);
    // Peer 0 answers its probes at 1 MB/s, peer 1 at 20 kB/s.
    let mut probes = Vec::new();
    while let Some(lease) = set.acquire(AccountRange, ROOT, start) {
        probes.push(lease);
    }
    for lease in probes {
        let position = probes_before(&set, &lease) + 1;
        let per_probe = if lease.peer() == peer(0) { ms(64) } else { ms(3_200) };
        set.complete(lease, 64_000, start + ms(100) + per_probe * position);
    }
    let now = start + secs(15);
    // Peer 0 busy with two requests, so the next goes to the slow peer.
    let busy: Vec<_> = (0..2).map(|_| set.acquire(AccountRange, ROOT, now).unwrap()).collect();
    assert!(busy.iter().all(|lease| lease.peer() == peer(0)));
    let slow = set.acquire(AccountRange, ROOT, now).unwrap();
    assert_eq!(slow.peer(), peer(1));
    // While peer 0 is busy, its link is not spent on a duplicate.
    assert!(set.hedge(&slow, now + ms(200), false).is_none(), "no idle peer: no hedge");
    // Once peer 0 is free (its responses were short), it would deliver the request in a
    // fraction of the 3.3 s the slow peer needs.
    for lease in busy {
        set.complete(lease, 100_000, now + ms(300));
    }
    let later = now + ms(300);
    assert!(set.hedge(&slow, later, true).is_none(), "work is waiting: no hedge");
    let hedge = set.hedge(&slow, later, false).unwrap();
    assert!(!hedge.lost, "merely slow");
    assert_eq!(hedge.lease.peer(), peer(0));
    set.cancel(slow);
    set.cancel(hedge.lease);
}

#[test]
fn a_stalled_unmeasured_peer_is_hedged_once_far_behind_a_measured_one() {
    let start = Instant::now();
    let mut set = set_of(2);
    let probes: Vec<_> = std::iter::from_fn(|| set.acquire(AccountRange, ROOT, start)).collect();
    let (live, stalled): (Vec<_>, Vec<_>) =
        probes.into_iter().partition(|lease| lease.peer() == peer(0));
    for (position, lease) in (1..).zip(live) {
        set.complete(lease, 64_000, start + ms(100) + ms(64) * position);
    }
    let stalled = &stalled[0];
    // Peer 0 would deliver the next response in 228 ms (100 ms, then twice the largest probe
    // response: sizes are not known yet): the probe is lost after twice that, but not before
    // half timeout_min.
    let lost_after = start + PeerSetConfig::DEFAULT_TIMEOUT_MIN / 2;
    assert!(set.hedge(stalled, lost_after - ms(5), true).is_none());
    let hedge = set.hedge(stalled, lost_after + ms(5), true).unwrap();
    assert!(hedge.lost);
    assert_eq!(hedge.lease.peer(), peer(0));
    set.cancel(hedge.lease);
}

#[test]
fn unanswered_snap_probes_leave_room_for_eth_probes() {
    let mut set = set_of(1);
    let now = Instant::now();
    let headers = snapsync_net::Availability::Headers { from: ROOT, count: 4 };
    // An unmeasured peer given its probes on snap, none of them answered yet.
    let probes: Vec<_> =
        std::iter::from_fn(|| set.acquire(AccountRange, ROOT, now)).take(8).collect();
    assert!(!probes.is_empty() && probes.len() < 8, "probes are bounded: {}", probes.len());
    assert!(set.acquire(StorageRanges, ROOT, now).is_none(), "no more snap probes");
    // eth is probed as well.
    let lease = set.acquire(BlockHeaders, headers, now).expect("eth probes have their own room");
    let bytes = lease.response_bytes();
    set.complete(lease, bytes, now + ms(50));
    for probe in probes {
        set.cancel(probe);
    }
}
