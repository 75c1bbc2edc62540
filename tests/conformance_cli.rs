//! `snapsync conformance`, run as a process on the geth hive fixture: every case passes, a wrong
//! expectation fails with its line, unusable input exits 2.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_primitives::test_utils::require_fixture;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicUsize, Ordering},
};

fn conformance(fixture: &Path, cases: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync"))
        .arg("conformance")
        .arg("--fixture")
        .arg(fixture)
        .arg("--cases")
        .arg(cases)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A cases file in the temp directory, removed when dropped.
struct TempCases(PathBuf);

impl TempCases {
    fn new(contents: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "snapsync-conformance-cli-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempCases {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn every_hive_case_passes() {
    let Some(dir) = require_fixture("every_hive_case_passes", "geth-hive") else { return };
    let output = conformance(&dir, &dir.join("snap-cases.json"));
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(out, "36 passed, 0 failed\n");
}

#[test]
fn a_wrong_expectation_fails_with_its_line() {
    let Some(dir) = require_fixture("a_wrong_expectation_fails", "geth-hive") else { return };
    let mut cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("snap-cases.json")).unwrap()).unwrap();
    let case = cases["cases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|case| case["name"] == "acct-4000")
        .unwrap();
    assert_eq!(case["expect"]["count"], 68);
    case["expect"]["count"] = 69.into();
    let file = TempCases::new(&cases.to_string());
    let output = conformance(&dir, &file.0);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}{}", stderr(&output));
    assert_eq!(out, "FAIL acct-4000: expected 69 accounts, got 68\n35 passed, 1 failed\n");
}

#[test]
fn unusable_input_exits_2_naming_the_case_and_field() {
    let Some(dir) = require_fixture("unusable_input_exits_2", "geth-hive") else { return };
    let malformed = TempCases::new(
        r#"{"cases": [{"name": "broken", "kind": "bytecodes", "hashes": ["0x12"], "bytes": 1,
            "expect": {"count": 0}}]}"#,
    );
    let output = conformance(&dir, &malformed.0);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(
        message.contains("case broken: field \"hashes[0]\": expected 32 bytes of hex, found 1"),
        "{message}"
    );

    let unknown_state = TempCases::new(
        r#"{"cases": [{"name": "pivot", "kind": "trie_nodes", "root": "pivot", "paths": [],
            "expect": {"node_hashes": []}}]}"#,
    );
    let output = conformance(&dir, &unknown_state.0);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("case pivot: field \"root\""), "{}", stderr(&output));

    let missing = conformance(&dir.join("no-such-dir"), &dir.join("snap-cases.json"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("headstate.json"), "{}", stderr(&missing));
}
