//! The ethereum/tests `TrieTests` vectors: every case's operations applied in order must give the
//! case's root, the emitted nodes must walk back to exactly the remaining entries, and
//! `prove_range` must agree with a proof walked through those nodes.
//!
//! `trietestnextprev.json` has no roots: it lists keys and, for probe keys, the previous and next
//! key in the trie. It is checked by walking the built trie's nodes in key order and looking the
//! neighbours up in that order.
//!
//! Skipped, loudly, when `../shared/fixtures` is absent.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, hex, keccak256};
use serde_json::Value;
use snapsync_primitives::test_utils::require_fixture;
use snapsync_trie::test_utils::{prove_key, trie_leaves};
use snapsync_trie::{TrieBuilder, VecSink, prove_range, trie_root};
use std::{collections::BTreeMap, path::Path};

/// A fixture string: `0x…` is hex, anything else its UTF-8 bytes.
fn bytes_of(s: &str) -> Vec<u8> {
    match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}")),
        None => s.as_bytes().to_vec(),
    }
}

/// The `(key, value)` operations of a case, in order (`None` deletes).
fn operations(input: &Value) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let op = |k: &str, v: &Value| -> (Vec<u8>, Option<Vec<u8>>) {
        let value = match v {
            Value::Null => None,
            Value::String(s) => Some(bytes_of(s)),
            other => panic!("unexpected value {other}"),
        };
        (bytes_of(k), value)
    };
    match input {
        Value::Array(pairs) => pairs
            .iter()
            .map(|pair| {
                let pair = pair.as_array().expect("[key, value]");
                op(pair[0].as_str().expect("string key"), &pair[1])
            })
            .collect(),
        // The `anyorder` files: the result does not depend on the order, and a key appears once.
        Value::Object(map) => map.iter().map(|(k, v)| op(k, v)).collect(),
        other => panic!("unexpected `in`: {other}"),
    }
}

fn build(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> (B256, Vec<Bytes>) {
    let mut builder = TrieBuilder::new(VecSink::default());
    for (k, v) in map {
        builder.add_leaf(k, v).unwrap();
    }
    let (root, sink) = builder.finish().unwrap();
    (root, sink.nodes.into_iter().map(|(_, node)| node).collect())
}

/// Runs every case of one root-vector file; returns how many ran.
fn run_root_file(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let secure = name.to_ascii_lowercase().contains("securetrie");
    let cases: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (case, body) in &cases {
        let ctx = format!("{name} / {case}");
        let mut map = BTreeMap::new();
        for (key, value) in operations(&body["in"]) {
            let key = if secure { keccak256(&key).to_vec() } else { key };
            match value {
                Some(value) if !value.is_empty() => {
                    map.insert(key, value);
                }
                _ => {
                    map.remove(&key);
                }
            }
        }
        let expected: B256 = body["root"].as_str().expect("root").parse().unwrap();
        assert_eq!(trie_root(&map).unwrap(), expected, "{ctx}: trie_root");

        let (root, nodes) = build(&map);
        assert_eq!(root, expected, "{ctx}: TrieBuilder");
        let walked = trie_leaves(root, &nodes).unwrap_or_else(|e| panic!("{ctx}: walk: {e}"));
        let entries: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(walked, entries, "{ctx}: the emitted nodes hold exactly the entries");

        // Proofs of every key and of a few absent ones, against a walk through the nodes.
        let mut probes: Vec<Vec<u8>> = map.keys().cloned().collect();
        probes.extend([vec![], vec![0x00], vec![0xff; 32], b"doge\x00".to_vec()]);
        for key in probes.iter().filter(|k| k.len() <= 32) {
            let proof = prove_range(&map, key, None).unwrap();
            assert_eq!(
                proof,
                prove_key(root, &nodes, key).unwrap(),
                "{ctx}: proof of {}",
                hex::encode(key)
            );
        }
    }
    cases.len()
}

#[test]
fn root_vectors() {
    let Some(dir) = require_fixture("root_vectors", "ethereum-tests/TrieTests") else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().contains("nextprev"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the five root-vector files, found {files:?}");
    let mut total = 0;
    for file in &files {
        let n = run_root_file(file);
        assert!(n > 0, "{} has no cases", file.display());
        eprintln!("{}: {n} cases", file.display());
        total += n;
    }
    eprintln!("TrieTests: {total} root vectors in {} files", files.len());
}

/// `trietestnextprev.json`: `in` is a list of keys; each test is `[probe, prev, next]`, the
/// greatest key below the probe and the smallest above it (`""` for none).
#[test]
fn next_prev_vectors() {
    let Some(path) =
        require_fixture("next_prev_vectors", "ethereum-tests/TrieTests/trietestnextprev.json")
    else {
        return;
    };
    let cases: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut checked = 0;
    for (case, body) in &cases {
        let keys: Vec<Vec<u8>> =
            body["in"].as_array().unwrap().iter().map(|k| bytes_of(k.as_str().unwrap())).collect();
        // Each key's value is the key itself (values must be non-empty).
        let map: BTreeMap<Vec<u8>, Vec<u8>> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
        let (root, nodes) = build(&map);
        // The trie's own order, read back from its nodes.
        let order: Vec<Vec<u8>> =
            trie_leaves(root, &nodes).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(order, map.keys().cloned().collect::<Vec<_>>(), "{case}: walk order");
        for test in body["tests"].as_array().unwrap() {
            let test: Vec<&str> =
                test.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            let probe = bytes_of(test[0]);
            let prev = order.iter().rev().find(|k| **k < probe).cloned().unwrap_or_default();
            let next = order.iter().find(|k| **k > probe).cloned().unwrap_or_default();
            assert_eq!(prev, bytes_of(test[1]), "{case}: prev of {:?}", test[0]);
            assert_eq!(next, bytes_of(test[2]), "{case}: next of {:?}", test[0]);
            checked += 1;
        }
    }
    assert!(checked > 0);
    eprintln!("trietestnextprev.json: {checked} lookups");
}
