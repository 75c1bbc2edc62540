//! The simulated headers and bodies faults (`Behaviour::BrokenLink`, `Behaviour::BadBody`)
//! produce replies the stages must reject, and only for their own request kind.

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
async fn broken_link_and_bad_body_corrupt_replies() {
    use alloy_consensus::proofs::calculate_transaction_root;
    use snapsync_sim::Behaviour;
    let chain = Arc::new(GeneratedChain::new(3, &StateSpec::small().with_accounts(100), 8, 5));
    let server = Arc::new(SnapServer::<snapsync_db::MemoryDatabase>::new(ServerLimits::default()));
    let peers = vec![
        SimPeer::new(Link::new(50, 10), Behaviour::BrokenLink, 1),
        SimPeer::new(Link::new(50, 10), Behaviour::BadBody, 2),
    ];
    let net = SimNetwork::new(server, peers).with_blocks(chain.clone());
    let tip = chain.header(8).unwrap().hash();

    let headers =
        net.get_headers(PeerId::from_index(0), HeadersRequest::falling(tip, 4), far()).await;
    let headers = headers.unwrap().data;
    assert_eq!(headers.len(), 4);
    assert!(headers.windows(2).any(|pair| pair[0].parent_hash != pair[1].hash_slow()));

    let hashes: Vec<_> = (5..=8).map(|n| chain.header(n).unwrap().hash()).collect();
    let bodies = net.get_block_bodies(PeerId::from_index(1), hashes, far()).await.unwrap().data;
    assert_eq!(bodies.len(), 4);
    let mismatched = (5..=8).zip(&bodies).filter(|(number, body)| {
        let header = chain.header(*number).unwrap();
        calculate_transaction_root(&body.transactions) != header.transactions_root
            || body.calculate_ommers_root() != header.ommers_hash
            || body.calculate_withdrawals_root() != header.withdrawals_root
    });
    assert_eq!(mismatched.count(), 1);
    // Headers from a BadBody peer are honest.
    let honest =
        net.get_headers(PeerId::from_index(1), HeadersRequest::falling(tip, 4), far()).await;
    let honest = honest.unwrap().data;
    assert!(honest.windows(2).all(|pair| pair[0].parent_hash == pair[1].hash_slow()));
}

/// A deadline the simulated requests never reach.
fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
}
