//! `sync --history`: the headers are synced down to block 1 whatever the setting; bodies and
//! receipts below the pivot as the setting says (those above it are execution's: it stores the
//! receipts of every block it executes); an unknown setting refused.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

/// Runs a small sync with `--history history`: its JSON report and its `chain (history …)`
/// line's three spans (`count (low..=high)` or `none`).
fn sync(history: &str) -> (Value, [String; 3]) {
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["sync", "--memory", "--accounts", "3000", "--json", "--history", history])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["verified"], true);
    let prefix = format!("chain (history {history}): ");
    let line = stderr.lines().find_map(|line| line.strip_prefix(&prefix)).expect(&stderr);
    let span = |name: &str| {
        let rest = line.split(&format!("{name} ")).nth(1).unwrap();
        rest.split(", ").next().unwrap().to_owned()
    };
    (report, [span("headers"), span("bodies"), span("receipts")])
}

#[test]
fn history_all_keeps_bodies_and_receipts_from_block_one() {
    let (report, [headers, bodies, receipts]) = sync("all");
    let pivot = report["pivot_block"].as_u64().unwrap();
    let tip = headers.rsplit("..=").next().unwrap().trim_end_matches(')').parse::<u64>().unwrap();
    assert!(tip > pivot);
    assert_eq!(headers, format!("{tip} (1..={tip})"));
    assert_eq!(bodies, format!("{tip} (1..={tip})"));
    // Up to the pivot from the receipts stage, above it from execution.
    assert_eq!(receipts, format!("{tip} (1..={tip})"));
    assert_eq!(report["blocks_executed"].as_u64(), Some(tip - pivot));
}

#[test]
fn history_none_keeps_headers_down_to_one_but_no_bodies_or_receipts_below_the_pivot() {
    let (report, [headers, bodies, receipts]) = sync("none");
    let pivot = report["pivot_block"].as_u64().unwrap();
    let tip = headers.rsplit("..=").next().unwrap().trim_end_matches(')').parse::<u64>().unwrap();
    assert_eq!(headers, format!("{tip} (1..={tip})"));
    assert_eq!(bodies, format!("{} ({}..={tip})", tip - pivot, pivot + 1));
    // Only execution's, above the pivot.
    assert_eq!(receipts, format!("{} ({}..={tip})", tip - pivot, pivot + 1));
}

#[test]
fn an_unknown_history_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .args(["sync", "--memory", "--history", "most"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("none, post-merge, all"), "{stderr}");
}
