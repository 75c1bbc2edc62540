//! Figures for the transport: the time of a dial (TCP, ECIES handshake, Hello, Status), and the
//! throughput of snap/1 account-range replies through RLPx on loopback against the in-process
//! simulated network (`snapsync-sim`, an instant link) serving the same state from the same
//! server.
//!
//! ```sh
//! cargo run --release -p snapsync-devp2p --example wire_figures -- [ACCOUNTS] [DIALS]
//! ```
//!
//! Both transports are driven the same way: the account key space in 16 ranges, 4 requests in
//! flight, 512 KiB per reply, every range walked to its end; bytes are the replies' RLP.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use snapsync_devp2p::{ChainHead, ChainStatus, Network, NetworkConfig, NodeKey, StoreHandler};
use snapsync_net::{PeerId, PeerRequests, PeerRequestsExt, PeerSource};
use snapsync_primitives::{AccountHash, GetAccountRange};
use snapsync_server::ServerLimits;
use snapsync_sim::{GeneratedChain, Link, SimNetwork, SimPeer, StateSpec};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const PARTS: u64 = 16;
const IN_FLIGHT: usize = 4;
const REPLY_BYTES: u64 = 512 * 1024;

/// Walks every account range through `network`'s `peer`; bytes and accounts received.
async fn walk_accounts(network: Arc<dyn PeerRequests>, peer: PeerId, root: B256) -> (u64, u64) {
    let step = U256::MAX / U256::from(PARTS);
    let ranges: Vec<(U256, U256)> = (0..PARTS)
        .map(|i| {
            let start = step * U256::from(i);
            let end = if i + 1 == PARTS { U256::MAX } else { start + step - U256::from(1) };
            (start, end)
        })
        .collect();
    let ranges = Arc::new(std::sync::Mutex::new(ranges));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (network, ranges) = (Arc::clone(&network), Arc::clone(&ranges));
            tokio::spawn(async move {
                let (mut bytes, mut accounts) = (0u64, 0u64);
                loop {
                    let Some((mut start, end)) = ranges.lock().unwrap().pop() else { break };
                    loop {
                        let request = GetAccountRange {
                            request_id: 0,
                            root_hash: root,
                            starting_hash: AccountHash::from(B256::from(start)),
                            limit_hash: AccountHash::from(B256::from(end)),
                            response_bytes: REPLY_BYTES,
                        };
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                        let reply =
                            network.get_account_range(peer, request, deadline).await.unwrap().data;
                        bytes += reply.length() as u64;
                        accounts += reply.accounts.len() as u64;
                        let Some(last) = reply.accounts.last() else { break };
                        let last = U256::from_be_bytes(B256::from(last.hash).0);
                        if last >= end {
                            break;
                        }
                        start = last + U256::from(1);
                    }
                }
                (bytes, accounts)
            })
        })
        .collect();
    let mut total = (0, 0);
    for worker in workers {
        let (bytes, accounts) = worker.await.unwrap();
        total = (total.0 + bytes, total.1 + accounts);
    }
    total
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let accounts: usize = args.next().map_or(200_000, |a| a.parse().expect("ACCOUNTS"));
    let dials: u32 = args.next().map_or(50, |d| d.parse().expect("DIALS"));
    let chain = GeneratedChain::new(3, &StateSpec::small().with_accounts(accounts), 1, 0);
    let head = chain.head();
    let root = head.state_root;
    let (db, snap) = common::serving_store(&chain, 1);
    let spec = common::spec(7, 30_000_000, 100);
    let chain_head = ChainHead {
        number: head.number,
        hash: head.hash(),
        timestamp: head.timestamp,
        total_difficulty: U256::ZERO,
    };
    let handler = StoreHandler::new(db, Arc::clone(&snap), ServerLimits::default());
    let server = Network::serving(
        NodeKey::generate(),
        ChainStatus::new(&spec, chain_head),
        NetworkConfig::default(),
        Arc::new(handler),
    );
    let enode = server.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let status = ChainStatus::at_genesis(&spec);

    // Dials: TCP, auth/ack, Hello, Status; each from a fresh node, disconnected after.
    let mut took = Duration::ZERO;
    for _ in 0..dials {
        let client = Network::new(NodeKey::generate(), status.clone(), NetworkConfig::default());
        let started = Instant::now();
        client.dial(enode).await.unwrap();
        took += started.elapsed();
        client.shutdown().await;
    }
    println!(
        "dial (TCP + ECIES handshake + Hello + Status) on loopback: {:.2} ms mean over {dials}",
        took.as_secs_f64() * 1e3 / f64::from(dials)
    );

    let client = Arc::new(Network::new(NodeKey::generate(), status, NetworkConfig::default()));
    let peer = client.dial(enode).await.unwrap();
    let started = Instant::now();
    let (bytes, got) = walk_accounts(client.clone(), peer, root).await;
    let rlpx = started.elapsed();
    println!(
        "RLPx loopback: {got} accounts, {:.1} MB in {:.2} s: {:.1} MB/s",
        bytes as f64 / 1e6,
        rlpx.as_secs_f64(),
        mb_per_s(bytes, rlpx)
    );

    let sim = Arc::new(SimNetwork::new(snap, vec![SimPeer::honest(Link::INSTANT)]));
    let sim_peer = sim.peers()[0].id;
    let started = Instant::now();
    let (sim_bytes, sim_got) = walk_accounts(sim, sim_peer, root).await;
    let in_process = started.elapsed();
    println!(
        "in-process simulated network: {sim_got} accounts, {:.1} MB in {:.2} s: {:.1} MB/s",
        sim_bytes as f64 / 1e6,
        in_process.as_secs_f64(),
        mb_per_s(sim_bytes, in_process)
    );
    assert_eq!((bytes, got), (sim_bytes, sim_got), "both transports carried the same replies");
    println!(
        "RLPx (encryption, MACs, snappy, framing, RLP, TCP) costs {:.0}% over the in-process path",
        (rlpx.as_secs_f64() / in_process.as_secs_f64() - 1.0) * 100.0
    );
    server.shutdown().await;
}
