//! `snapsync import` on hive's chain (genesis, 600 blocks, the head's state dump): stored and
//! verified, idempotent, `verify` agreeing; executed from the genesis without the dump, to
//! the head's root; a dump of another root, a damaged chain file and a
//! data directory of another chain refused.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use snapsync_genesis::ChainFile;
use std::{
    path::Path,
    process::{Command, Output},
};
use support::Hive;

const HEAD_HASH: &str = Hive::HEAD_HASH;
const HEAD_ROOT: &str = Hive::HEAD_ROOT;

fn hive(test: &str) -> Option<Hive> {
    Hive::load(test)
}

fn snapsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).args(args).output().unwrap()
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn import(datadir: &Path, genesis: &Path, chain: &Path, state: Option<&Path>) -> Output {
    let mut args = vec![
        "import",
        "--json",
        "--datadir",
        path(datadir),
        "--genesis",
        path(genesis),
        "--chain",
        path(chain),
    ];
    if let Some(state) = state {
        args.extend(["--state", path(state)]);
    }
    snapsync(&args)
}

/// The JSON line of stdout after checking the exit code.
fn json(output: &Output, code: i32) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

fn refused(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn hive_chain_and_head_state_import_verified_and_again_without_rewriting() {
    let Some(hive) = hive("hive_chain_and_head_state_import_verified") else { return };
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let first = json(&import(&datadir, &hive.genesis, &hive.chain, Some(&hive.state)), 0);
    assert_eq!(first["head_block"], 600);
    assert_eq!(first["head_hash"], HEAD_HASH);
    assert_eq!(first["state_root"], HEAD_ROOT);
    assert_eq!(first["verified"], true);
    assert_eq!(first["state_imported"], true);
    assert_eq!(first["blocks_written"], 601);
    assert_eq!(first["accounts"], 194);
    assert_eq!(first["storage_slots"], 2164);

    let again = json(&import(&datadir, &hive.genesis, &hive.chain, Some(&hive.state)), 0);
    assert_eq!(
        (&again["blocks_written"], &again["blocks_already_stored"]),
        (&0.into(), &601.into())
    );
    assert_eq!(again["accounts"], 194);

    // `verify` hashes the stored leaves again, independently of the import.
    let verdict = json(&snapsync(&["verify", "--json", "--datadir", path(&datadir)]), 0);
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["state_root"], HEAD_ROOT);
    assert_eq!(verdict["pivot_block"], 600);
}

#[test]
fn without_a_state_the_chain_is_executed_from_the_genesis_to_the_heads_root() {
    let Some(hive) = hive("without_a_state_the_chain_is_executed") else { return };
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let output = import(&datadir, &hive.genesis, &hive.chain, None);
    let report = json(&output, 0);
    assert_eq!(report["state_imported"], false);
    assert_eq!(report["verified"], true);
    assert_eq!(report["head_hash"], HEAD_HASH);
    assert_eq!(report["state_root"], HEAD_ROOT);
    // Every block executed, each checked against its header before it was committed (gas
    // used, receipts root, logs bloom, state root), and the gas the headers declare.
    assert_eq!(report["blocks_executed"], 600);
    let declared: u64 =
        ChainFile::open(&hive.chain).unwrap().map(|block| block.unwrap().header.gas_used).sum();
    assert_eq!(report["gas_used"], declared);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("blocks 1..=600 executed from the genesis"), "{stderr}");

    // Recorded as the head's state: `verify` hashes the stored leaves to the head's root.
    let verdict = json(&snapsync(&["verify", "--json", "--datadir", path(&datadir)]), 0);
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["state_root"], HEAD_ROOT);
    assert_eq!(verdict["pivot_block"], 600);

    // Again: nothing left to execute, the same root.
    let again = json(&import(&datadir, &hive.genesis, &hive.chain, None), 0);
    assert_eq!(again["blocks_executed"], 0);
    assert_eq!(again["blocks_already_stored"], 601);
    assert_eq!(again["verified"], true);
}

#[test]
fn a_head_state_import_and_execution_do_not_mix_in_one_datadir() {
    let Some(hive) = hive("a_head_state_import_and_execution_do_not_mix") else { return };
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    json(&import(&datadir, &hive.genesis, &hive.chain, Some(&hive.state)), 0);
    let message = refused(&import(&datadir, &hive.genesis, &hive.chain, None));
    assert!(message.contains("execution did not write"), "{message}");
}

#[test]
fn a_dump_of_another_root_is_refused_and_nothing_of_it_written() {
    let Some(hive) = hive("a_dump_of_another_root_is_refused") else { return };
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    // The genesis file is a state too: block 0's, not block 600's.
    let report = json(&import(&datadir, &hive.genesis, &hive.chain, Some(&hive.genesis)), 1);
    assert_eq!(report["verified"], false);
    assert_eq!(report["state_imported"], false);
    let verify = snapsync(&["verify", "--json", "--datadir", path(&datadir)]);
    assert_ne!(verify.status.code(), Some(0), "no state was recorded");
}

#[test]
fn a_damaged_chain_file_is_refused_naming_where() {
    let Some(hive) = hive("a_damaged_chain_file_is_refused") else { return };
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&hive.chain).unwrap();

    let truncated = dir.path().join("truncated.rlp");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let message = refused(&import(&dir.path().join("a"), &hive.genesis, &truncated, None));
    assert!(message.contains("ends inside the block at byte"), "{message}");

    // A changed byte inside a block with blocks after it: it no longer decodes, its body no
    // longer matches its header, or its child no longer links to it; whichever, refused. (The
    // last block's header links to nothing: the file alone cannot anchor it, which is why the
    // head hash is reported.)
    let last_block = ChainFile::new(&bytes[..]).last().unwrap().unwrap().offset;
    let last_block = usize::try_from(last_block).unwrap();
    for (case, at) in (0..last_block).step_by(last_block / 12).enumerate() {
        let changed = dir.path().join(format!("changed-{case}.rlp"));
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x55;
        std::fs::write(&changed, &damaged).unwrap();
        let datadir = dir.path().join(format!("b-{case}"));
        let message = refused(&import(&datadir, &hive.genesis, &changed, None));
        assert!(message.contains("--chain: "), "byte {at}: {message}");
    }
}

#[test]
fn a_datadir_of_another_chain_is_refused() {
    let Some(hive) = hive("a_datadir_of_another_chain_is_refused") else { return };
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    json(&import(&datadir, &hive.genesis, &hive.chain, None), 0);
    // Another genesis: the same file with another timestamp.
    let text = std::fs::read_to_string(&hive.genesis).unwrap();
    let mut other: Value = serde_json::from_str(&text).unwrap();
    other["timestamp"] = Value::from("0x1234");
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let message = refused(&import(&datadir, &other_path, &hive.chain, None));
    assert!(message.contains("another chain"), "{message}");
}
