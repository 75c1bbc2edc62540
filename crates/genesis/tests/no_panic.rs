//! No input makes reading or hashing panic: garbage, near-valid JSON, and JSON of the right
//! shape with wrong values all end in `Ok` or `Err`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use snapsync_genesis::StateFile;

/// Reads `input` and, when that works, computes its root: neither may panic.
fn read_and_hash(input: &[u8]) {
    if let Ok(file) = StateFile::from_slice(input) {
        let _ = file.state_root();
    }
    if let Ok(file) = StateFile::from_reader(input) {
        let _ = file.state_root();
    }
}

/// Field names the readers look for, and a few they don't.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "alloc",
            "accounts",
            "root",
            "stateRoot",
            "balance",
            "nonce",
            "code",
            "storage",
            "codeHash",
            "key",
            "address",
            "secretKey",
            "config",
        ])
        .prop_map(str::to_owned),
        "0x[0-9a-fA-F]{0,66}",
        "pre\\(0x[0-9a-f]{64}\\)",
        "[0-9a-fA-Fx]{38,42}",
        ".{0,8}",
    ]
}

/// Strings that are almost numbers or hex, and some that are not.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "(0[xX])?[0-9a-fA-F]{0,70}".prop_map(Value::from),
        "-?[0-9]{0,90}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

/// JSON of roughly the shape of a state file, with arbitrary values anywhere.
fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A document with a top-level `alloc` or `accounts` holding account-like objects.
fn state_file_like() -> impl Strategy<Value = String> {
    let account = prop::collection::vec((field_name(), json_value()), 0..6)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()));
    let accounts = prop::collection::vec((field_name(), account), 0..5)
        .prop_map(|entries| Value::Object(entries.into_iter().collect()));
    (prop::sample::select(vec!["alloc", "accounts"]), accounts, json_value()).prop_map(
        |(top, accounts, root)| {
            let mut object = Map::new();
            object.insert(top.to_owned(), accounts);
            object.insert("root".to_owned(), root.clone());
            object.insert("stateRoot".to_owned(), root);
            Value::Object(object).to_string()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..256)) {
        read_and_hash(&input);
    }

    #[test]
    fn arbitrary_json(value in json_value()) {
        read_and_hash(value.to_string().as_bytes());
    }

    #[test]
    fn state_file_shaped_json(text in state_file_like()) {
        read_and_hash(text.as_bytes());
    }

    /// Valid-looking documents cut short or with a byte changed.
    #[test]
    fn damaged_documents(text in state_file_like(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = text.into_bytes();
        let at = cut.index(bytes.len().max(1));
        let mut changed = bytes.clone();
        if let Some(b) = changed.get_mut(at) {
            *b = byte;
        }
        read_and_hash(&changed);
        bytes.truncate(at);
        read_and_hash(&bytes);
    }
}
