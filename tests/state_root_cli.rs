//! `snapsync state-root`, run as a process: outputs, exit codes and messages.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use snapsync_primitives::test_utils::require_fixture;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicUsize, Ordering},
};

const MAINNET_ROOT: &str = "0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544";
const HEAD_ROOT: &str = "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";
const ADDRESS: &str = "0x00000961Ef480Eb55e80D19ad83579A64c007002";

fn snapsync(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).args(args).arg(file).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "snapsync-state-root-cli-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `state-root` on `contents` and checks it failed as malformed input: exit code 2, nothing
/// on stdout, and a message on stderr containing every one of `needles`.
fn assert_rejected(contents: &str, needles: &[&str]) {
    let file = TempFile::new(contents);
    for args in [&[][..], &["--json"][..]] {
        let mut all = vec!["state-root"];
        all.extend_from_slice(args);
        let output = snapsync(&all, &file.0);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{contents}: {message}");
        assert!(output.stdout.is_empty(), "{contents}");
        assert!(message.starts_with("error: "), "{message}");
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} not in {message:?}");
        }
    }
}

#[test]
fn mainnet_genesis_human() {
    let Some(path) = require_fixture("mainnet_genesis_human", "genesis/mainnet.json") else {
        return;
    };
    let output = snapsync(&["state-root"], &path);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().last(), Some(MAINNET_ROOT));
    assert!(text.lines().next().unwrap().contains("8893 accounts"), "{text}");
    assert!(output.stderr.is_empty());
}

#[test]
fn mainnet_genesis_json() {
    let Some(path) = require_fixture("mainnet_genesis_json", "genesis/mainnet.json") else {
        return;
    };
    let output = snapsync(&["state-root", "--json"], &path);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "state_root": MAINNET_ROOT, "accounts": 8893, "storage_slots": 0, "bytecodes": 0
        })
    );
    assert!(text.starts_with(r#"{"state_root":"0x"#), "field order: {text}");
}

#[test]
fn head_state_dump_json() {
    let Some(path) = require_fixture("head_state_dump_json", "geth-hive/headstate.json") else {
        return;
    };
    let output = snapsync(&["state-root", "--json"], &path);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["state_root"], HEAD_ROOT);
    assert_eq!(value["accounts"], 194);
    assert_eq!(value["storage_slots"], 2164);
    assert!(value["bytecodes"].as_u64().unwrap() > 0);
    assert!(output.stderr.is_empty());
}

#[test]
fn head_state_dump_with_a_false_root_exits_1_and_still_prints_the_root() {
    let Some(path) = require_fixture("head_state_dump_false_root", "geth-hive/headstate.json")
    else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let false_root = "11".repeat(32);
    let tampered = text.replacen(HEAD_ROOT.trim_start_matches("0x"), &false_root, 1);
    let file = TempFile::new(&tampered);
    let output = snapsync(&["state-root"], &file.0);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).lines().last(), Some(HEAD_ROOT));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "computed root {HEAD_ROOT} differs from the file's root 0x{false_root}"
        )),
        "{message}"
    );
}

#[test]
fn false_code_hash_is_warned_about() {
    let dump = format!(
        r#"{{"accounts": {{"{ADDRESS}": {{"balance": "1", "nonce": 0, "code": "0x00",
            "codeHash": "0x{}"}}}}}}"#,
        "22".repeat(32)
    );
    let file = TempFile::new(&dump);
    let output = snapsync(&["state-root", "--json"], &file.0);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!("warning: account {ADDRESS}: field \"codeHash\"")),
        "{message}"
    );
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["bytecodes"], 1);
}

#[test]
fn small_genesis_without_claim() {
    let file = TempFile::new(&format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0x1"}}}}}}"#));
    let output = snapsync(&["state-root"], &file.0);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let root = text.lines().last().unwrap();
    assert!(root.starts_with("0x") && root.len() == 66, "{text}");
}

#[test]
fn malformed_json_exits_2() {
    assert_rejected("{\"alloc\": {", &["invalid JSON", "line 1"]);
    assert_rejected("", &["invalid JSON"]);
    assert_rejected("[]", &["top level"]);
    assert_rejected(r#"{"config": {}}"#, &["unknown format"]);
}

#[test]
fn malformed_fields_exit_2_naming_account_and_field() {
    let account = format!(r#"account "{ADDRESS}""#);
    assert_rejected(
        &format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0xzz"}}}}}}"#),
        &[&account, r#"field "balance""#, "invalid hex digit 'z'"],
    );
    assert_rejected(
        &format!(
            r#"{{"alloc": {{"{ADDRESS}": {{"balance": "1", "nonce": "0x1ffffffffffffffff"}}}}}}"#
        ),
        &[&account, r#"field "nonce""#, "64 bits"],
    );
    assert_rejected(
        &format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": 1e30}}}}}}"#),
        &[&account, r#"field "balance""#],
    );
    assert_rejected(
        &format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "1", "code": "0x123"}}}}}}"#),
        &[&account, r#"field "code""#, "odd number"],
    );
    assert_rejected(
        &format!(
            r#"{{"alloc": {{"{ADDRESS}": {{"balance": "1", "storage": {{"0x1": "0xg"}}}}}}}}"#
        ),
        &[&account, r#"field "storage""#, r#"slot "0x1""#, "value"],
    );
    assert_rejected(&format!(r#"{{"alloc": {{"{ADDRESS}": {{}}}}}}"#), &[&account, r#""balance""#]);
    assert_rejected(r#"{"alloc": {"0xabc": {"balance": "1"}}}"#, &[r#"account "0xabc""#]);
    assert_rejected(
        &format!(r#"{{"accounts": {{"{ADDRESS}": {{"balance": "1", "root": "0x12"}}}}}}"#),
        &[&account, r#"field "root""#],
    );
}

#[test]
fn missing_file_exits_2() {
    let path = std::env::temp_dir().join("snapsync-state-root-cli-missing.json");
    let output = snapsync(&["state-root"], &path);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.contains("cannot read") && message.contains("cli-missing.json"), "{message}");
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync")).arg("state-root").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(env!("CARGO_BIN_EXE_snapsync")).arg("no-such").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
