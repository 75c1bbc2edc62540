//! Simulated peers serve a generated chain's headers and bodies through the request seam.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use snapsync_net::{HeadersRequest, PeerId, PeerRequestsExt};
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, SimNetwork, SimPeer};
use std::sync::Arc;

#[tokio::test(start_paused = true)]
async fn headers_and_bodies_of_a_generated_chain() {
    let chain = Arc::new(GeneratedChain::new(3, &StateSpec::small().with_accounts(100), 40, 5));
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    let net = SimNetwork::new(server, vec![SimPeer::honest(Link::new(50, 10))])
        .with_blocks(chain.clone());
    let peer = PeerId::from_index(0);
    let tip = chain.head_number();

    let request = HeadersRequest::falling(chain.header(tip).unwrap().hash(), 10);
    let headers = net.get_headers(peer, request, far()).await.unwrap().data;
    assert_eq!(headers.len(), 10);
    for pair in headers.windows(2) {
        assert_eq!(pair[0].parent_hash, pair[1].hash_slow());
        assert_eq!(pair[0].number, pair[1].number + 1);
    }

    let hashes: Vec<_> = headers.iter().map(|header| header.hash_slow()).collect();
    let bodies = net.get_block_bodies(peer, hashes, far()).await.unwrap().data;
    assert_eq!(bodies.len(), 10);
    assert_eq!(bodies[0], chain.body(tip).unwrap());

    // Past the tip: nothing.
    let beyond = HeadersRequest::rising(tip + 1, 5);
    assert!(net.get_headers(peer, beyond, far()).await.unwrap().data.is_empty());
}

/// A deadline the simulated requests never reach.
fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
}
