//! Peers listed with their capabilities: the fetcher sends snap requests only to snap peers and
//! eth block requests only to eth peers, so an eth-only peer serves the chain and a snap-only
//! peer serves the state, each never asked for the other.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use snapsync_db::MemoryDatabase;
use snapsync_etl::CollectorConfig;
use snapsync_fetch::{
    AccountRangeRequest, BlockBodiesRequest, BlockHeadersRequest, FetchConfig, FetchError, Fetcher,
    PeerSet, PeerSetConfig,
};
use snapsync_net::{Capabilities, PeerId, PeerRequests, PeerSource, RequestKind};
use snapsync_primitives::AccountHash;
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, SimNetwork, SimPeer};
use std::sync::Arc;

const SNAP_KINDS: [RequestKind; 4] = [
    RequestKind::AccountRange,
    RequestKind::StorageRanges,
    RequestKind::ByteCodes,
    RequestKind::TrieNodes,
];

/// A chain served by peer 0 (eth only) and its head state by peer 1 (snap only), fetched
/// through one fetcher holding the network as trait objects.
#[tokio::test(start_paused = true)]
async fn eth_only_peers_serve_blocks_and_snap_only_peers_serve_state() {
    let chain = Arc::new(GeneratedChain::new(5, &StateSpec::small().with_accounts(200), 12, 4));
    let state = chain.state_at(chain.head_number()).unwrap();
    let db = Arc::new(MemoryDatabase::new());
    let root = state.import_into(db.as_ref(), &CollectorConfig::default()).unwrap().state_root;
    let server = SnapServer::new(ServerLimits::default());
    server.add_state(root, db).unwrap();
    let peers = vec![
        SimPeer::honest(Link::new(40, 10)).with_capabilities(Capabilities::ETH),
        SimPeer::honest(Link::new(40, 10)).with_capabilities(Capabilities::SNAP),
    ];
    let net = Arc::new(SimNetwork::new(Arc::new(server), peers).with_blocks(chain.clone()));
    let (source, requests): (Arc<dyn PeerSource>, Arc<dyn PeerRequests>) =
        (net.clone(), net.clone());
    let peer_set = PeerSet::new(PeerSetConfig::default()).unwrap();
    let fetcher = Fetcher::with_parts(source, requests, peer_set, FetchConfig::default());
    fetcher.set_pivot_root(root);
    let (eth, snap) = (PeerId::from_index(0), PeerId::from_index(1));

    // The state, from the snap peer alone.
    let mut origin = AccountHash::ZERO;
    let mut accounts = 0;
    loop {
        let request =
            AccountRangeRequest { root, origin, limit: AccountHash::MAX, response_bytes: 0 };
        let range = fetcher.account_range(request).await.unwrap();
        accounts += range.accounts().len();
        match range.last().and_then(|last| last.checked_next()) {
            Some(next) if range.has_more() => origin = next,
            _ => break,
        }
    }
    assert_eq!(accounts, state.accounts().len());

    // The chain's top headers and their bodies, from the eth peer alone.
    let head = chain.head();
    let request = BlockHeadersRequest::falling(head.hash(), Some(head.number), 8);
    let headers = fetcher.block_headers(request).await.unwrap();
    assert_eq!(headers.len(), 8);
    let sealed = headers.into_headers().into_iter().rev().collect();
    let bodies = fetcher.block_bodies(BlockBodiesRequest::new(sealed)).await.unwrap();
    assert!(!bodies.is_empty());

    for kind in SNAP_KINDS {
        assert_eq!(net.requests_of(eth, kind), 0, "the eth-only peer was asked {kind}");
    }
    for kind in [RequestKind::BlockHeaders, RequestKind::BlockBodies] {
        assert_eq!(net.requests_of(snap, kind), 0, "the snap-only peer was asked {kind}");
        assert!(net.requests_of(eth, kind) > 0, "the eth-only peer served no {kind}");
    }
    assert!(net.requests_of(snap, RequestKind::AccountRange) > 0);
    assert!(net.reports().is_empty(), "no peer was penalised: {:?}", net.reports());
}

/// With only eth peers connected, a state request fails at once as served by no peer instead of
/// waiting for one: the eth peers do not count as serving state.
#[tokio::test(start_paused = true)]
async fn with_no_snap_peer_state_is_served_by_no_one() {
    let chain = Arc::new(GeneratedChain::new(5, &StateSpec::small().with_accounts(20), 3, 2));
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    let peers = vec![SimPeer::honest(Link::new(40, 10)).with_capabilities(Capabilities::ETH)];
    let net = Arc::new(SimNetwork::new(server, peers).with_blocks(chain));
    let peer_set = PeerSet::new(PeerSetConfig::default()).unwrap();
    let fetcher = Fetcher::new(net.clone(), peer_set, FetchConfig::default());
    let root = alloy_primitives::B256::repeat_byte(7);
    let request = AccountRangeRequest {
        root,
        origin: AccountHash::ZERO,
        limit: AccountHash::MAX,
        response_bytes: 0,
    };
    let error = fetcher.account_range(request).await.unwrap_err();
    assert!(matches!(error, FetchError::NoPeerServes { kind: RequestKind::AccountRange, .. }));
    assert_eq!(net.requests(), 0);
}

/// A transport of its own in front of the simulated one, recording each request's deadline.
struct Recorder {
    inner: Arc<SimNetwork>,
    deadlines: std::sync::Mutex<Vec<(RequestKind, tokio::time::Instant)>>,
}

impl PeerRequests for Recorder {
    fn request(
        &self,
        peer: PeerId,
        request: snapsync_net::Request,
        deadline: tokio::time::Instant,
    ) -> snapsync_net::BoxFuture<'_, snapsync_net::PeerResult<snapsync_net::Response>> {
        self.deadlines.lock().unwrap().push((request.kind(), deadline));
        self.inner.request(peer, request, deadline)
    }
}

/// The fetcher hands each request the deadline of its lease: after the send, and no later than
/// the longest timeout. The peer list and the transport come from different values.
#[tokio::test(start_paused = true)]
async fn each_request_carries_its_leases_deadline() {
    let chain = Arc::new(GeneratedChain::new(5, &StateSpec::small().with_accounts(20), 6, 2));
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    let peers = vec![SimPeer::honest(Link::new(40, 10)); 2];
    let net = Arc::new(SimNetwork::new(server, peers).with_blocks(chain.clone()));
    let recorder = Arc::new(Recorder { inner: net.clone(), deadlines: Default::default() });
    let config = PeerSetConfig::default();
    let timeout_max = config.timeout_max;
    let peer_set = PeerSet::new(config).unwrap();
    let fetcher = Fetcher::with_parts(net, recorder.clone(), peer_set, FetchConfig::default());
    let head = chain.head();
    let started = tokio::time::Instant::now();
    let request = BlockHeadersRequest::falling(head.hash(), Some(head.number), 4);
    assert_eq!(fetcher.block_headers(request).await.unwrap().len(), 4);
    let deadlines = recorder.deadlines.lock().unwrap().clone();
    assert!(!deadlines.is_empty());
    for (kind, deadline) in deadlines {
        assert_eq!(kind, RequestKind::BlockHeaders);
        assert!(deadline > started && deadline <= started + timeout_max, "{deadline:?}");
    }
}
