//! Resolving the pivot from the trusted tip against simulated peers serving the real hive chain
//! (`geth-hive/chain.rlp`, 600 blocks): through honest peers and around hostile ones, and failing
//! clearly, in bounded time, when no peer delivers.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::B256;
use snapsync_fetch::{FetchConfig, FetchError, Fetcher, PeerSet, PeerSetConfig};
use snapsync_net::{Fault, PeerId, Penalty, RequestKind};
use snapsync_primitives::test_utils::require_fixture;
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_sim::ChainFixture;
use snapsync_sim::{Behaviour, Link, SimNetwork, SimPeer};
use snapsync_snap_sync::{PivotError, resolve_pivot};
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;

fn fixture(test: &str) -> Option<Arc<ChainFixture>> {
    let path = require_fixture(test, "geth-hive/chain.rlp")?;
    Some(Arc::new(ChainFixture::load(path).unwrap()))
}

fn network(chain: &Arc<ChainFixture>, behaviours: &[Behaviour]) -> Arc<SimNetwork> {
    let peers = (0u64..)
        .zip(behaviours)
        .map(|(seed, behaviour)| SimPeer::new(Link::new(50, 100), behaviour.clone(), seed))
        .collect();
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    Arc::new(SimNetwork::new(server, peers).with_blocks(chain.clone()))
}

/// The longest a request waits for its peer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A fetcher timing requests out after [`TIMEOUT`] at the latest.
fn fetcher(net: &Arc<SimNetwork>) -> Arc<Fetcher> {
    let config = PeerSetConfig { timeout_max: TIMEOUT, ..PeerSetConfig::default() };
    let peers = PeerSet::new(config).unwrap();
    Arc::new(Fetcher::new(net.clone(), peers, FetchConfig::default()))
}

fn tip_of(chain: &ChainFixture, number: u64) -> B256 {
    chain.header(number).unwrap().hash()
}

/// The pivot 64 (and 200, over two requests) below the trusted tip, through honest peers and
/// around a peer that breaks the hash chain; its state root is the chain's.
#[tokio::test(start_paused = true)]
async fn resolves_the_pivot_from_the_tip() {
    let Some(chain) = fixture("resolves_the_pivot_from_the_tip") else { return };
    let net = network(&chain, &[Behaviour::BrokenLink, Behaviour::Honest, Behaviour::Honest]);
    let tip = tip_of(&chain, 600);
    let fetcher = fetcher(&net);
    for distance in [64, 200] {
        let pivot = resolve_pivot(&fetcher, tip, distance).await.unwrap();
        let expected = chain.header(600 - distance).unwrap();
        assert_eq!(pivot.hash(), expected.hash());
        assert_eq!(pivot.state_root, expected.state_root);
    }
    let penalties = net.penalties_of(PeerId::from_index(0));
    assert!(
        matches!(
            penalties.as_slice(),
            [Penalty::InvalidData { kind: RequestKind::BlockHeaders, fault: Fault::Headers(_) }]
        ),
        "{penalties:?}"
    );
}

/// With only chain-breaking peers, no pivot is trusted: a clear error, in bounded time.
#[tokio::test(start_paused = true)]
async fn no_pivot_without_an_honest_peer() {
    let Some(chain) = fixture("no_pivot_without_an_honest_peer") else { return };
    let net = network(&chain, &[Behaviour::BrokenLink, Behaviour::BrokenLink]);
    let started = Instant::now();
    let error = resolve_pivot(&fetcher(&net), tip_of(&chain, 600), 64).await.unwrap_err();
    assert!(matches!(error, PivotError { source: FetchError::NoPeerServes { .. }, .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(60));
    for peer in [0, 1] {
        assert_eq!(net.penalties_of(PeerId::from_index(peer)).len(), 1, "peer {peer}");
        assert!(!net.is_connected(PeerId::from_index(peer)));
    }
}

/// With only stalling peers, each header request ends at its timeout and the peer rests; the
/// request fails once every peer has timed out `PeerSet::STALLED_AFTER` times in a row (none
/// counts as serving any more), or after the fetcher's attempts at the latest: each timeout is
/// reported as a light penalty, the peers stay connected, and the whole wait is bounded by the
/// timeouts one after another (hedged attempts overlap; the rests pass while other peers are
/// asked).
#[tokio::test(start_paused = true)]
async fn stalling_peers_time_out_in_bounded_time() {
    let Some(chain) = fixture("stalling_peers_time_out_in_bounded_time") else { return };
    let net = network(&chain, &[Behaviour::Stall, Behaviour::Stall, Behaviour::Stall]);
    let started = Instant::now();
    let error = resolve_pivot(&fetcher(&net), tip_of(&chain, 600), 64).await.unwrap_err();
    assert!(
        matches!(&error, PivotError { source: FetchError::NoPeerServes { .. }, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("no peer delivered headers"), "{error}");
    let timeouts = net.timeouts();
    let attempts = u64::from(FetchConfig::default().max_attempts);
    assert!((3 * u64::from(PeerSet::STALLED_AFTER)..=attempts).contains(&timeouts), "{timeouts}");
    assert_eq!(net.reports().len() as u64, timeouts);
    // At most the timeouts one after another; less, as a stalled attempt is hedged to another
    // peer before it times out and the two wait together.
    let waited = started.elapsed();
    assert!(waited <= TIMEOUT * u32::try_from(timeouts).unwrap(), "waited {waited:?}");
    assert!(waited >= TIMEOUT * u32::try_from(timeouts / 3).unwrap(), "waited {waited:?}");
    for peer in 0..3 {
        let penalties = net.penalties_of(PeerId::from_index(peer));
        assert!(penalties.len() >= PeerSet::STALLED_AFTER as usize, "peer {peer}: {penalties:?}");
        assert!(
            penalties.iter().all(|p| matches!(
                p,
                Penalty::Timeout { kind: RequestKind::BlockHeaders, elapsed } if *elapsed == TIMEOUT
            )),
            "peer {peer}: {penalties:?}"
        );
        assert!(net.is_connected(PeerId::from_index(peer)));
    }
}

/// A request whose future is dropped while its peer is still answering (a sync giving up on
/// work it no longer wants) hands the peer's slot back: the next request gets that peer at once
/// instead of waiting for a slot that never frees and failing with "no peer free".
#[tokio::test(start_paused = true)]
async fn a_dropped_request_frees_its_peers_slot() {
    let Some(chain) = fixture("a_dropped_request_frees_its_peers_slot") else { return };
    let peers = vec![SimPeer::new(Link::new(2_000, 100), Behaviour::Honest, 0)];
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    let net = Arc::new(SimNetwork::new(server, peers).with_blocks(chain.clone()));
    let config = PeerSetConfig {
        max_in_flight_per_peer: 1,
        timeout_max: TIMEOUT,
        ..PeerSetConfig::default()
    };
    let fetch = FetchConfig { peer_wait: Duration::from_secs(30), ..FetchConfig::default() };
    let fetcher = Arc::new(Fetcher::new(net.clone(), PeerSet::new(config).unwrap(), fetch));
    let request = |number: u64| {
        snapsync_fetch::BlockHeadersRequest::falling(tip_of(&chain, number), Some(number), 1)
    };

    let first = tokio::spawn({
        let fetcher = fetcher.clone();
        let request = request(600);
        async move { fetcher.block_headers(request).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fetcher.peer_stats()[0].in_flight, 1, "the first request holds the only slot");
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());

    let started = Instant::now();
    let headers = fetcher.block_headers(request(599)).await.unwrap();
    assert_eq!(headers.headers()[0].hash(), tip_of(&chain, 599));
    // One round trip on the slow link (the dropped reply still occupies it), not `peer_wait`.
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

/// The pivot's headers are the sync's first requests, when no peer is measured yet: a first
/// peer that stalls costs half the shortest timeout before another peer is asked too, not the
/// whole timeout.
#[tokio::test(start_paused = true)]
async fn a_stalled_first_peer_is_hedged_before_its_timeout() {
    let Some(chain) = fixture("a_stalled_first_peer_is_hedged_before_its_timeout") else {
        return;
    };
    let net = network(&chain, &[Behaviour::Stall, Behaviour::Honest, Behaviour::Honest]);
    let fetcher = fetcher(&net);
    let started = Instant::now();
    let pivot = resolve_pivot(&fetcher, tip_of(&chain, 600), 64).await.unwrap();
    assert_eq!(pivot.hash(), chain.header(536).unwrap().hash());
    let waited = started.elapsed();
    let hedge_after = PeerSetConfig::default().timeout_min / 2;
    // The stalled request is hedged after `hedge_after` (checked at the fetcher's hedge poll),
    // then an honest peer answers in a round trip on its 50 ms, 100 Mbit/s link.
    assert!(waited < hedge_after + Duration::from_secs(1), "waited {waited:?}");
    assert!(waited < TIMEOUT / 2, "waited {waited:?}");
}
