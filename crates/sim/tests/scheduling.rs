//! The client side's scheduling against simulated links with latency and bandwidth: work spread
//! over many concurrent requests keeps every peer's link busy, and a request a peer stalls on
//! is taken over by another peer before it times out. Time is paused, so runs are exact.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, U256};
use snapsync_db::MemoryDatabase;
use snapsync_etl::CollectorConfig;
use snapsync_fetch::{
    AccountRangeRequest, FetchConfig, FetchError, Fetcher, PeerSet, PeerSetConfig,
};
use snapsync_net::{PeerId, Penalty};
use snapsync_primitives::AccountHash;
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_sim::{Behaviour, Link, SimNetwork, SimPeer};
use snapsync_sim::{GeneratedState, StateSpec};
use std::sync::Arc;
use tokio::{task::JoinSet, time::Instant};

/// Bytes per second of an 8 Mbit/s link.
const LINK_RATE: f64 = 1_000_000.0;

struct World {
    net: Arc<SimNetwork>,
    fetcher: Arc<Fetcher>,
    state: GeneratedState,
    root: B256,
}

fn world(accounts: usize, peers: Vec<SimPeer>) -> World {
    world_with(accounts, peers, FetchConfig::default())
}

fn world_with(accounts: usize, peers: Vec<SimPeer>, config: FetchConfig) -> World {
    let state = GeneratedState::generate(3, &StateSpec::small().with_accounts(accounts));
    let db = Arc::new(MemoryDatabase::new());
    let root = state.import_into(db.as_ref(), &CollectorConfig::default()).unwrap().state_root;
    let server = SnapServer::new(ServerLimits::default());
    server.add_state(root, db).unwrap();
    let net = Arc::new(SimNetwork::new(Arc::new(server), peers));
    let peer_set = PeerSet::new(PeerSetConfig::default()).unwrap();
    let fetcher = Arc::new(Fetcher::new(net.clone(), peer_set, config));
    fetcher.set_pivot_root(root);
    World { net, fetcher, state, root }
}

/// Every account, as `chains` concurrent chains of range requests over equal parts of the
/// hash space; returns how many were fetched.
async fn fetch_accounts_in_chains(world: &World, chains: u64) -> usize {
    let step = U256::MAX / U256::from(chains);
    let mut tasks = JoinSet::new();
    for chain in 0..chains {
        let first = step * U256::from(chain) + U256::from(chain.min(1));
        let last = if chain + 1 == chains { U256::MAX } else { step * U256::from(chain + 1) };
        let (fetcher, root) = (Arc::clone(&world.fetcher), world.root);
        tasks.spawn(async move {
            let limit = AccountHash::from(B256::from(last));
            let mut origin = AccountHash::from(B256::from(first));
            let mut fetched = 0;
            loop {
                let request = AccountRangeRequest { root, origin, limit, response_bytes: 0 };
                let range = fetcher.account_range(request).await.unwrap();
                fetched += range.accounts().iter().filter(|(hash, _)| *hash <= limit).count();
                match range.last().filter(|last| range.has_more() && *last < limit) {
                    Some(last) => origin = last.checked_next().unwrap(),
                    None => return fetched,
                }
            }
        });
    }
    tasks.join_all().await.into_iter().sum()
}

/// With 100 ms of latency on 8 Mbit/s links, enough concurrent requests keep the links busy:
/// one request at a time per peer (the schedule before pipelining) would leave them idle for
/// the latency of every response.
#[tokio::test(start_paused = true)]
async fn pipelined_requests_keep_every_link_busy() {
    let peers = (0..4).map(|_| SimPeer::honest(Link::new(100, 8))).collect();
    let world = world(60_000, peers);
    let started = Instant::now();
    let fetched = fetch_accounts_in_chains(&world, 32).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(fetched, world.state.len());
    let bytes = world.net.bytes_sent() as f64;
    let used = bytes / (4.0 * LINK_RATE * elapsed);
    // The first response needs a round trip, the probes another, and the last responses end
    // at different times: 77% here, where one request per peer at a time got 45%.
    assert!(used > 0.7, "{bytes} B in {elapsed:.3} s: {:.1}% of the links", used * 100.0);
    for index in 0..4 {
        let share = world.net.bytes_sent_by(PeerId::from_index(index)) as f64 / bytes;
        assert!((0.2..0.3).contains(&share), "peer {index} carried {share:.3} of the bytes");
    }
}

/// A faster link gets proportionally more of the work.
#[tokio::test(start_paused = true)]
async fn a_faster_link_carries_more() {
    let peers = vec![SimPeer::honest(Link::new(50, 24)), SimPeer::honest(Link::new(50, 8))];
    let world = world(40_000, peers);
    assert_eq!(fetch_accounts_in_chains(&world, 16).await, world.state.len());
    let fast = world.net.bytes_sent_by(PeerId::from_index(0)) as f64;
    let slow = world.net.bytes_sent_by(PeerId::from_index(1)) as f64;
    let ratio = fast / slow;
    assert!((2.4..3.6).contains(&ratio), "bandwidths are 3:1, bytes {ratio:.2}:1");
}

/// A peer that stops answering mid-run: a request it holds is sent to the other peer as well
/// once overdue (twice the longest it should take, at least half the shortest timeout), well
/// before the request times out, and the staller is penalised for a timeout.
#[tokio::test(start_paused = true)]
async fn a_stalled_request_is_taken_over_before_its_timeout() {
    let peers = vec![SimPeer::honest(Link::new(20, 80)), SimPeer::honest(Link::new(20, 8))];
    let world = world(20_000, peers);
    // Measure both links.
    assert_eq!(fetch_accounts_in_chains(&world, 8).await, world.state.len());
    let staller = PeerId::from_index(0);
    world.net.set_behaviour(staller, Behaviour::Stall);
    // The next request goes to the faster peer, which no longer answers.
    let started = Instant::now();
    let request = AccountRangeRequest {
        root: world.root,
        origin: AccountHash::ZERO,
        limit: AccountHash::MAX,
        response_bytes: 0,
    };
    let range = world.fetcher.account_range(request).await.unwrap();
    let elapsed = started.elapsed();
    assert!(!range.accounts().is_empty());
    // Taken for lost after 1 s (half the 2 s shortest timeout), then answered by the other
    // peer in 20 ms and 500 kB at 1 MB/s; a timeout alone would take 2 s before the retry.
    assert!(elapsed < PeerSetConfig::DEFAULT_TIMEOUT_MIN, "{elapsed:?}");
    // The stalled attempt itself runs on to its deadline, and times out there.
    tokio::time::sleep(PeerSetConfig::DEFAULT_TIMEOUT_MAX).await;
    let penalties = world.net.penalties_of(staller);
    assert!(penalties.iter().any(|p| matches!(p, Penalty::Timeout { .. })), "{penalties:?}");
    assert!(world.fetcher.banned().is_empty());
}

/// A peer twenty times slower than the other: when the work runs out (or it has been far too
/// long on a probe), its requests are sent to the fast peer too, which answers them long before
/// it would.
#[tokio::test(start_paused = true)]
async fn a_slow_peer_does_not_hold_up_the_end_of_the_work() {
    let mut elapsed = Vec::new();
    for hedge in [false, true] {
        let peers = vec![
            SimPeer::honest(Link::new(20, 8)),
            SimPeer::new(Link::new(20, 8), Behaviour::Slow { factor: 20 }, 0),
        ];
        let world = world_with(20_000, peers, FetchConfig { hedge, ..FetchConfig::default() });
        let started = Instant::now();
        assert_eq!(fetch_accounts_in_chains(&world, 8).await, world.state.len());
        elapsed.push(started.elapsed());
    }
    // The slow peer's four probes alone take 5 s to cross its link (1.6 s with hedges,
    // 6.2 s without, here).
    let (without, with) = (elapsed[0], elapsed[1]);
    assert!(with * 2 < without, "with hedges {with:?}, without {without:?}");
}

/// Requests that must start before a stop signal: those a peer took by then run to their end,
/// the rest are given up unsent (nothing asked of any peer, nobody penalised).
#[tokio::test(start_paused = true)]
async fn requests_still_waiting_for_a_peer_at_the_stop_are_given_up_unsent() {
    let world = world(20_000, vec![SimPeer::honest(Link::new(20, 1))]);
    let stop_at = Instant::now() + std::time::Duration::from_millis(300);
    let mut tasks = JoinSet::new();
    for chunk in 0..16u8 {
        let origin = AccountHash::from(B256::repeat_byte(chunk << 4));
        let request = AccountRangeRequest {
            root: world.root,
            origin,
            limit: AccountHash::MAX,
            response_bytes: 0,
        };
        let fetcher = Arc::clone(&world.fetcher);
        let stop = tokio::time::sleep_until(stop_at);
        tasks.spawn(async move { fetcher.account_range_until(request, stop).await });
    }
    let results = tasks.join_all().await;
    let verified = results.iter().filter(|result| result.is_ok()).count();
    let unsent = results
        .iter()
        .filter(|result| matches!(result, Err(FetchError::NotStarted { .. })))
        .count();
    // One 1 Mbit/s link pipelines two or so 64 KiB replies: most requests are still waiting.
    assert!(verified >= 1 && unsent >= 8, "{verified} verified, {unsent} unsent: {results:?}");
    assert_eq!(verified + unsent, 16, "{results:?}");
    assert_eq!(world.net.requests(), verified as u64, "an unsent request reached the peer");
    assert!(world.net.reports().is_empty(), "{:?}", world.net.reports());
    // A stop that never comes changes nothing.
    let request = AccountRangeRequest {
        root: world.root,
        origin: AccountHash::ZERO,
        limit: AccountHash::MAX,
        response_bytes: 0,
    };
    let never = std::future::pending();
    assert!(world.fetcher.account_range_until(request, never).await.is_ok());
}

/// A peer that is merely slow is not taken for one that stalls: its requests, sent to the fast
/// peer too once taken for lost, are still awaited until their own deadline, and its answers
/// measure it rather than rest it (no timeout counted or reported).
#[tokio::test(start_paused = true)]
async fn a_slow_peers_late_answers_to_hedged_requests_measure_it_instead_of_resting_it() {
    let peers = vec![
        SimPeer::honest(Link::new(20, 8)),
        SimPeer::new(Link::new(20, 8), Behaviour::Slow { factor: 20 }, 0),
    ];
    let world = world(20_000, peers);
    assert_eq!(fetch_accounts_in_chains(&world, 8).await, world.state.len());
    // The attempts taken for lost run on until answered, within their deadline.
    tokio::time::sleep(PeerSetConfig::DEFAULT_TIMEOUT_MAX).await;
    let slow = PeerId::from_index(1);
    let penalties = world.net.penalties_of(slow);
    assert!(!penalties.iter().any(|p| matches!(p, Penalty::Timeout { .. })), "{penalties:?}");
    let stats = world.fetcher.peer_stats().into_iter().find(|s| s.peer == slow).unwrap();
    let ranges = stats.kind(snapsync_net::RequestKind::AccountRange);
    assert!(ranges.completed > 0, "its answers measured it: {stats:?}");
    assert_eq!((ranges.timed_out, stats.in_flight), (0, 0), "{stats:?}");
    assert!(stats.rate.is_some(), "{stats:?}");
}

/// A link without latency or bandwidth limit delivers its reply within the request's first
/// poll, so no built reply waits (counted in the requester's memory) for the runtime to turn its
/// timers, which a busy runtime does late; a link with latency holds the reply until it is due.
#[tokio::test]
async fn an_instant_link_delivers_on_the_first_poll() {
    use snapsync_net::{PeerRequests, Request, Response};
    use snapsync_primitives::GetAccountRange;
    use std::{
        pin::pin,
        task::{Context, Poll, Waker},
        time::Duration,
    };

    let world = world(300, vec![SimPeer::honest(Link::INSTANT), SimPeer::honest(Link::new(20, 8))]);
    let [instant, delayed] = world.net.peer_ids()[..] else { panic!("two peers") };
    let ask = || {
        Request::AccountRange(GetAccountRange {
            request_id: 1,
            root_hash: world.root,
            starting_hash: AccountHash::ZERO,
            limit_hash: AccountHash::MAX,
            response_bytes: 64 * 1024,
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut context = Context::from_waker(Waker::noop());

    let mut now = pin!(world.net.request(instant, ask(), deadline));
    let Poll::Ready(reply) = now.as_mut().poll(&mut context) else {
        panic!("an instant link's reply was not delivered on the first poll")
    };
    let Response::AccountRange(range) = reply.unwrap().data else { panic!("not accounts") };
    assert!(!range.accounts.is_empty());

    let mut later = pin!(world.net.request(delayed, ask(), deadline));
    assert!(later.as_mut().poll(&mut context).is_pending(), "a 20 ms link delivered at once");
    let Response::AccountRange(range) = later.await.unwrap().data else { panic!("not accounts") };
    assert!(!range.accounts.is_empty());
}
