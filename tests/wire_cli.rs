//! Two `snapsync` processes on loopback: `import` the hive fixture (genesis, 600 blocks, the
//! head's state dump) into one data directory, `serve` it, and `sync` another data directory
//! from it over RLPx with `--tip <block 600> --pivot-distance 0`: verified, block 600's state
//! root, every header down to block 1; then SIGTERM stops the server cleanly.
//!
//! The history is `none`: `import` stores no receipts (that needs execution), so the receipts
//! of blocks below the pivot cannot be served by a `serve` process yet.
//!
//! `serve --withhold headers` of an executed import: our own connection gets an empty
//! `BlockHeaders` while bodies, receipts and the state over snap/1 are still served; a kind
//! `--withhold` does not know is refused with exit code 2.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use std::process::Command;
use support::{Hive, Server};

#[test]
fn sync_from_a_serve_process_ends_verified_at_block_600() {
    let Some(hive) = Hive::load("sync_from_a_serve_process_ends_verified_at_block_600") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    hive.import(&a);

    let server = Server::start(&a);
    let sync = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["sync", "--json", "--history", "none", "--pivot-distance", "0", "--datadir"])
        .arg(&b)
        .arg("--genesis")
        .arg(&hive.genesis)
        .args(["--peer", &server.enode, "--tip", Hive::HEAD_HASH])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sync.stderr);
    assert!(sync.status.success(), "{stderr}");
    let stdout = String::from_utf8(sync.stdout).unwrap();
    let json: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["verified"], true, "{stdout}");
    assert_eq!(json["state_root"], Hive::HEAD_ROOT);
    assert_eq!(json["pivot_block"], 600);
    assert_eq!(json["accounts"], 194);
    assert_eq!(json["storage_slots"], 2164);
    assert_eq!(json["bytecodes"], 65);
    assert_eq!(json["tip_on_trust"], false);
    let peer = &json["peers"][0];
    assert!(peer["GetAccountRange"]["items"].as_u64().unwrap() >= 194, "{peer}");
    assert_eq!(peer["GetBlockHeaders"]["items"], 601, "the pivot's header and 600 down to 1");
    assert!(stderr.contains("headers 600 (1..=600)"), "{stderr}");

    let (status, server_log) = server.stop();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}\n{server_log}");
    assert!(server_log.contains("shutting down"), "{server_log}");
    assert!(server_log.contains("served "), "{server_log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn withheld_headers_are_answered_empty_while_the_rest_is_served() {
    use alloy_consensus::proofs::calculate_receipt_root;
    use snapsync_devp2p::{ChainStatus, Network, NetworkConfig, NodeKey};
    use snapsync_net::{HeadersRequest, PeerRequestsExt};
    use snapsync_primitives::{AccountHash, GetAccountRange};
    let test = "withheld_headers_are_answered_empty_while_the_rest_is_served";
    let Some(hive) = Hive::load(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    // Executed from the genesis: the blocks' receipts are stored, and the head state.
    hive.import_executed(&a);
    let server = Server::start_with(&a, &["--withhold", "headers"]);

    let spec = snapsync_genesis::ChainSpec::load(&hive.genesis).unwrap();
    let chain = snapsync_sim::ChainFixture::load(&hive.chain).unwrap();
    let network =
        Network::new(NodeKey::generate(), ChainStatus::at_genesis(&spec), NetworkConfig::default());
    let peer = network.dial(server.enode.parse().unwrap()).await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let headers = network.get_headers(peer, HeadersRequest::rising(1, 10), deadline).await;
    assert_eq!(headers.unwrap().data, Vec::new(), "headers are withheld");
    let hashes: Vec<_> = (1..=10).map(|n| chain.header(n).unwrap().hash()).collect();
    let bodies = network.get_block_bodies(peer, hashes.clone(), deadline).await.unwrap().data;
    assert_eq!(bodies.len(), 10, "bodies are served");
    for (body, number) in bodies.iter().zip(1..) {
        assert_eq!(body, chain.body(number).unwrap(), "body {number}");
    }
    let receipts = network.get_receipts(peer, hashes, deadline).await.unwrap().data;
    assert_eq!(receipts.len(), 10, "receipts are served");
    for (block, number) in receipts.iter().zip(1..) {
        let root = chain.header(number).unwrap().receipts_root;
        assert_eq!(calculate_receipt_root(block), root, "receipts {number}");
    }
    let request = GetAccountRange {
        request_id: 0,
        root_hash: Hive::HEAD_ROOT.parse().unwrap(),
        starting_hash: AccountHash::default(),
        limit_hash: AccountHash::MAX,
        response_bytes: 512 * 1024,
    };
    let accounts = network.get_account_range(peer, request, deadline).await.unwrap().data;
    assert_eq!(accounts.accounts.len(), 194, "the state is served over snap/1");
    network.shutdown().await;

    let (status, server_log) = server.stop();
    assert!(status.success(), "{server_log}");
    assert!(
        server_log.contains("withholding headers: answered with empty replies"),
        "{server_log}"
    );
}

#[test]
fn an_unknown_kind_to_withhold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["serve", "--listen", "127.0.0.1:0", "--withhold", "headers,state", "--datadir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(serve.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(stderr.contains("invalid value 'state' for '--withhold <KIND>'"), "{stderr}");
    assert!(stderr.contains("[possible values: headers, bodies, receipts]"), "{stderr}");
}
