//! Two `snapsync` processes on loopback: `import` the hive fixture (genesis, 600 blocks, the
//! head's state dump) into one data directory, `serve` it, and `sync` another data directory
//! from it over RLPx with `--tip <block 600> --pivot-distance 0`: verified, block 600's state
//! root, every header down to block 1; then SIGTERM stops the server cleanly.
//!
//! The history is `none`: `import` stores no receipts (that needs execution), so the receipts
//! of blocks below the pivot cannot be served by a `serve` process yet.

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
