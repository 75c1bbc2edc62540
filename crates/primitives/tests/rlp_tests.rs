//! The ethereum/tests RLP vectors (`RLPTests/rlptest.json`, `RLPTests/invalidRLPTest.json`)
//! against [`RlpItem`].

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use alloy_primitives::{Bytes, U512, hex};
use serde_json::Value;
use snapsync_primitives::{DecodeError, FromRlp, RlpItem};

fn load(path: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(cases) => cases,
        other => panic!("{}: expected an object of cases, found {other}", path.display()),
    }
}

fn out_bytes(case: &Value) -> Vec<u8> {
    hex::decode(case["out"].as_str().expect("`out` is a hex string")).expect("`out` is hex")
}

fn integer_bytes(value: U512) -> Bytes {
    value.to_be_bytes_trimmed_vec().into()
}

/// The item a JSON `in` value stands for: strings are their UTF-8 bytes, `#123` strings and
/// numbers are big-endian integers without leading zeros, arrays are lists.
fn json_to_item(value: &Value) -> RlpItem {
    match value {
        Value::String(s) => match s.strip_prefix('#') {
            Some(decimal) => {
                RlpItem::Bytes(integer_bytes(U512::from_str_radix(decimal, 10).unwrap()))
            }
            None => RlpItem::Bytes(Bytes::copy_from_slice(s.as_bytes())),
        },
        Value::Number(n) => RlpItem::Bytes(integer_bytes(U512::from(n.as_u64().unwrap()))),
        Value::Array(items) => RlpItem::List(items.iter().map(json_to_item).collect()),
        other => panic!("unsupported `in` value {other}"),
    }
}

#[test]
fn valid_vectors_encode_and_decode_byte_exact() {
    let Some(path) = snapsync_primitives::test_utils::require_fixture(
        "rlp_tests::valid",
        "ethereum-tests/RLPTests/rlptest.json",
    ) else {
        return;
    };
    let cases = load(&path);
    assert!(!cases.is_empty());
    for (name, case) in &cases {
        let expected = out_bytes(case);
        let item = json_to_item(&case["in"]);
        assert_eq!(alloy_rlp::encode(&item), expected, "{name}: encoding");
        assert_eq!(alloy_rlp::Encodable::length(&item), expected.len(), "{name}: length");
        let decoded = RlpItem::from_rlp(&expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, item, "{name}: decoded item");
        assert_eq!(alloy_rlp::encode(&decoded), expected, "{name}: re-encoding");
    }
    eprintln!("checked {} valid RLP vectors", cases.len());
}

/// The rejection reason a family of invalid vectors is about, where the name says it.
fn expected_reason(name: &str) -> Option<alloy_rlp::Error> {
    let families = [
        ("bytesShouldBeSingleByte", alloy_rlp::Error::NonCanonicalSingleByte),
        ("leadingZeros", alloy_rlp::Error::LeadingZero),
        ("nonOptimal", alloy_rlp::Error::NonCanonicalSize),
        ("lessThan", alloy_rlp::Error::InputTooShort),
        ("emptyEncoding", alloy_rlp::Error::InputTooShort),
    ];
    families.into_iter().find(|(prefix, _)| name.starts_with(prefix)).map(|(_, reason)| reason)
}

#[test]
fn invalid_vectors_are_rejected() {
    let Some(path) = snapsync_primitives::test_utils::require_fixture(
        "rlp_tests::invalid",
        "ethereum-tests/RLPTests/invalidRLPTest.json",
    ) else {
        return;
    };
    let cases = load(&path);
    assert!(!cases.is_empty());
    for (name, case) in &cases {
        let bytes = out_bytes(case);
        let result = RlpItem::from_rlp(&bytes);
        assert!(result.is_err(), "{name}: {} decoded to {result:?}", hex::encode(&bytes));
        if let (Some(reason), Err(error)) = (expected_reason(name), &result) {
            assert!(
                matches!(error, DecodeError::Rlp { source, .. } if *source == reason),
                "{name}: rejected for {error:?}, expected {reason:?}"
            );
        }
        // The alloy-rlp adapter rejects them too.
        assert!(alloy_rlp::decode_exact::<RlpItem>(&bytes).is_err(), "{name}: via Decodable");
    }
    eprintln!("checked {} invalid RLP vectors", cases.len());
}
