//! `snapsync sync --genesis G --from-chain CHAIN.rlp --pivot-distance N`: the hive chain's
//! pivot state snap-synced from simulated peers, then the blocks above it executed; at pivot
//! distances 64 and 300 the run ends at the head's state root.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use snapsync_primitives::test_utils::require_fixture;
use std::process::Command;

const HEAD_ROOT: &str = "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";

fn sync_from_chain(test: &str, distance: u64) -> Option<Value> {
    let genesis = require_fixture(test, "geth-hive/genesis.json")?;
    let chain = require_fixture(test, "geth-hive/chain.rlp")?;
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["sync", "--memory", "--json", "--genesis"])
        .arg(&genesis)
        .arg("--from-chain")
        .arg(&chain)
        .args(["--pivot-distance", &distance.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    Some(serde_json::from_str(stdout.lines().last().unwrap()).unwrap())
}

#[test]
fn hive_synced_at_two_pivot_distances_ends_at_the_heads_root() {
    for distance in [64, 300] {
        let Some(report) = sync_from_chain("hive_synced_at_two_pivot_distances", distance) else {
            return;
        };
        assert_eq!(report["verified"], true, "{report}");
        assert_eq!(report["state_root"], HEAD_ROOT, "{report}");
        assert_eq!(report["pivot_block"], 600 - distance);
        assert_eq!(report["blocks_executed"], distance);
    }
}

#[test]
fn a_pivot_distance_beyond_the_chain_is_refused() {
    let Some(genesis) =
        require_fixture("a_pivot_distance_beyond_the_chain", "geth-hive/genesis.json")
    else {
        return;
    };
    let Some(chain) = require_fixture("a_pivot_distance_beyond_the_chain", "geth-hive/chain.rlp")
    else {
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["sync", "--memory", "--genesis"])
        .arg(&genesis)
        .arg("--from-chain")
        .arg(&chain)
        .args(["--pivot-distance", "600"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--pivot-distance 600"), "{stderr}");
}
