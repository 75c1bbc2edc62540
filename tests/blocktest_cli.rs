//! `snapsync blocktest` over the ethereum/tests BlockchainTests fixture (559 Cancun cases):
//! every case passes, counted per directory; hostile files are failures, not panics.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use snapsync_primitives::test_utils::require_fixture;
use std::{
    collections::BTreeMap,
    path::Path,
    process::{Command, Output},
};

fn blocktest(paths: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).arg("blocktest").args(paths).output().unwrap()
}

/// `N passed, M failed` parsed from a line.
fn counts(line: &str) -> (u64, u64) {
    let (passed, failed) = line.split_once(" passed, ").unwrap();
    let failed = failed.strip_suffix(" failed").unwrap();
    (passed.rsplit(' ').next().unwrap().parse().unwrap(), failed.parse().unwrap())
}

#[test]
fn every_cancun_blockchain_test_passes() {
    let Some(dir) =
        require_fixture("every_cancun_blockchain_test_passes", "ethereum-tests/BlockchainTests")
    else {
        return;
    };
    let output = blocktest(&[&dir]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    // The per-directory counts, for the log.
    eprintln!("{stderr}");
    let per_dir: BTreeMap<&str, (u64, u64)> = stderr
        .lines()
        .filter_map(|line| line.rsplit_once(": ").map(|(dir, counts_)| (dir, counts(counts_))))
        .collect();
    assert_eq!(per_dir.len(), 15, "{stderr}");
    let (passed, failed) = counts(stdout.lines().last().unwrap());
    assert_eq!(passed + failed, 559, "{stdout}");
    assert_eq!(per_dir.values().map(|(p, f)| p + f).sum::<u64>(), 559);
    assert_eq!((passed, failed), (559, 0), "{stdout}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn failures_name_the_case_block_and_field_and_exit_1() {
    let Some(file) = require_fixture(
        "failures_name_the_case_block_and_field",
        "ethereum-tests/BlockchainTests/ValidBlocks/bcExample/basefeeExample.json",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The valid block's state root changed in its RLP would no longer link to `lastblockhash`;
    // instead the expected post state is changed: the executed state no longer matches it.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let case = json.as_object_mut().unwrap().values_mut().next().unwrap();
    let post = case["postState"].as_object_mut().unwrap();
    let account = post.values_mut().next().unwrap();
    account["nonce"] = serde_json::Value::from("0x77");
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, json.to_string()).unwrap();
    // A block marked as to be rejected that is valid: accepted, a failure.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let case = json.as_object_mut().unwrap().values_mut().next().unwrap();
    case["blocks"][0]["expectException"] = serde_json::Value::from("BlockException.SOMETHING");
    let expected_invalid = dir.path().join("expected-invalid.json");
    std::fs::write(&expected_invalid, json.to_string()).unwrap();

    let output = blocktest(&[&changed, &expected_invalid]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("changed.json::") && lines[0].contains("postState"), "{stdout}");
    assert!(lines[0].contains("nonce"), "{stdout}");
    assert!(
        lines[1].contains("expected-invalid.json::") && lines[1].contains("block 0: accepted"),
        "{stdout}"
    );
    assert_eq!(lines[2], "0 passed, 2 failed");
}

#[test]
fn hostile_files_are_failures_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("not-json.json", "{{{".to_owned()),
        ("wrong-shape.json", r#"{"case": {"blocks": 5}}"#.to_owned()),
        ("deep.json", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))),
        ("bad-rlp.json", bad_rlp_case()),
    ];
    let mut paths = Vec::new();
    for (name, text) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let refs: Vec<&Path> = paths.iter().map(|path| path.as_path()).collect();
    let output = blocktest(&refs);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines.iter().any(|line| line.contains("bad-rlp.json::case: genesisRLP")), "{stdout}");
    assert!(
        lines.iter().filter(|line| line.contains("not a BlockchainTests file")).count() == 3,
        "{stdout}"
    );
    assert_eq!(lines[4], "0 passed, 4 failed");

    let missing = blocktest(&[&dir.path().join("absent.json")]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A case whose genesis RLP does not decode.
fn bad_rlp_case() -> String {
    let header = r#"{"bloom":"0x00","coinbase":"0x0000000000000000000000000000000000000000","difficulty":"0x00","extraData":"0x","gasLimit":"0x01","gasUsed":"0x00","hash":"0x0000000000000000000000000000000000000000000000000000000000000000","mixHash":"0x0000000000000000000000000000000000000000000000000000000000000000","nonce":"0x0000000000000000","number":"0x00","parentHash":"0x0000000000000000000000000000000000000000000000000000000000000000","receiptTrie":"0x0000000000000000000000000000000000000000000000000000000000000000","stateRoot":"0x0000000000000000000000000000000000000000000000000000000000000000","timestamp":"0x00","transactionsTrie":"0x0000000000000000000000000000000000000000000000000000000000000000","uncleHash":"0x0000000000000000000000000000000000000000000000000000000000000000"}"#;
    format!(
        r#"{{"case":{{"genesisBlockHeader":{header},"genesisRLP":"0xf9ffff","blocks":[],"pre":{{}},"lastblockhash":"0x0000000000000000000000000000000000000000000000000000000000000000","network":"Cancun"}}}}"#
    )
}
