//! Malformed inputs are rejected with an error that names the account and the field.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{B256, address, keccak256};
use snapsync_genesis::{
    AccountId, Format, GenesisError, GenesisState, SlotPart, StateDump, StateFile, ValueError,
};

const KEY: &str = "0x00000961Ef480Eb55e80D19ad83579A64c007002";

fn error_of(json: &str) -> GenesisError {
    StateFile::from_slice(json.as_bytes()).unwrap_err()
}

/// A genesis file with one account whose fields are `fields`.
fn genesis_account(fields: &str) -> String {
    format!(r#"{{"config": {{}}, "alloc": {{"{KEY}": {{{fields}}}}}}}"#)
}

/// A state dump with one account whose fields are `fields`.
fn dump_account(fields: &str) -> String {
    format!(r#"{{"root": null, "accounts": {{"{KEY}": {{{fields}}}}}}}"#)
}

/// Asserts that `fields` in a genesis account fail on `field` with `reason`, and that the
/// message names both the account and the field.
fn assert_field_error(fields: &str, field: &str, reason: &ValueError) {
    let error = error_of(&genesis_account(fields));
    let message = error.to_string();
    match error {
        GenesisError::InvalidField { account, field: got, reason: got_reason } => {
            assert_eq!(account, format!("\"{KEY}\""));
            assert_eq!(got, field, "{fields}");
            assert_eq!(&got_reason, reason, "{fields}");
        }
        other => {
            assert!(matches!(other, GenesisError::InvalidField { .. }), "{fields}: got {other:?}");
        }
    }
    assert!(message.starts_with(&format!("account \"{KEY}\": field \"{field}\": ")), "{message}");
}

#[test]
fn message_format() {
    let message = error_of(&genesis_account(r#""balance": "0x1g""#)).to_string();
    assert_eq!(
        message,
        format!("account \"{KEY}\": field \"balance\": invalid hex digit 'g' at position 3")
    );
}

#[test]
fn bad_balances() {
    let hex_digit = ValueError::InvalidHexDigit { ch: 'g', position: 3 };
    assert_field_error(r#""balance": "0x1g""#, "balance", &hex_digit);
    let decimal_digit = ValueError::InvalidDecimalDigit { ch: 'x', position: 1 };
    assert_field_error(r#""balance": "1x""#, "balance", &decimal_digit);
    assert_field_error(r#""balance": """#, "balance", &ValueError::Empty);
    assert_field_error(r#""balance": -1"#, "balance", &ValueError::Negative);
    assert_field_error(r#""balance": "-1""#, "balance", &ValueError::Negative);
    assert_field_error(r#""balance": 1.5"#, "balance", &ValueError::NotAnInteger { value: 1.5 });
    let too_large = ValueError::NumberTooLarge { value: 1e20 };
    assert_field_error(r#""balance": 100000000000000000000"#, "balance", &too_large);
    let overflow = format!(r#""balance": "0x1{}""#, "0".repeat(64));
    assert_field_error(&overflow, "balance", &ValueError::Overflow { bits: 256 });
    for (json, found) in
        [("true", "a boolean"), ("[]", "an array"), ("{}", "an object"), ("null", "null")]
    {
        let expected = "a hex string, a decimal string or an integer";
        let reason = ValueError::WrongType { expected, found };
        assert_field_error(&format!(r#""balance": {json}"#), "balance", &reason);
    }
}

#[test]
fn missing_balance() {
    let error = error_of(&genesis_account(r#""nonce": "0x1""#));
    assert!(
        matches!(&error, GenesisError::MissingField { field: "balance", account } if account.contains(KEY)),
        "{error:?}"
    );
    assert_eq!(error.to_string(), format!("account \"{KEY}\": missing field \"balance\""));
}

#[test]
fn bad_nonces() {
    let fields = r#""balance": "1", "nonce": "0x10000000000000000""#;
    assert_field_error(fields, "nonce", &ValueError::Overflow { bits: 64 });
    let fields = r#""balance": "1", "nonce": 18446744073709551616"#;
    let reason = ValueError::NumberTooLarge { value: 18446744073709551616.0 };
    assert_field_error(fields, "nonce", &reason);
    let fields = r#""balance": "1", "nonce": "0xq""#;
    let reason = ValueError::InvalidHexDigit { ch: 'q', position: 2 };
    assert_field_error(fields, "nonce", &reason);
}

#[test]
fn bad_code() {
    let fields = r#""balance": "1", "code": "0x600""#;
    assert_field_error(fields, "code", &ValueError::OddLength { digits: 3 });
    let fields = r#""balance": "1", "code": "0x60zz""#;
    let reason = ValueError::InvalidHexDigit { ch: 'z', position: 4 };
    assert_field_error(fields, "code", &reason);
    let fields = r#""balance": "1", "code": 96"#;
    let reason = ValueError::WrongType { expected: "a hex string", found: "a number" };
    assert_field_error(fields, "code", &reason);
}

#[test]
fn bad_storage() {
    let fields = r#""balance": "1", "storage": []"#;
    let reason = ValueError::WrongType { expected: "an object", found: "an array" };
    assert_field_error(fields, "storage", &reason);

    let long_key = format!("0x{}", "1".repeat(66));
    let error = error_of(&genesis_account(&format!(
        r#""balance": "1", "storage": {{"{long_key}": "0x1"}}"#
    )));
    assert!(
        matches!(
            &error,
            GenesisError::InvalidStorage {
                part: SlotPart::Key,
                reason: ValueError::TooLong { digits: 66 },
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("account \"{KEY}\": field \"storage\", slot \"0x111")),
        "{message}"
    );

    let error = error_of(&genesis_account(r#""balance": "1", "storage": {"0x01": "0xzz"}"#));
    assert_eq!(
        error.to_string(),
        format!(
            "account \"{KEY}\": field \"storage\", slot \"0x01\": value: invalid hex digit 'z' at \
             position 2"
        )
    );
    let error = error_of(&genesis_account(r#""balance": "1", "storage": {"0x01": 1}"#));
    assert!(
        matches!(error, GenesisError::InvalidStorage { part: SlotPart::Value, .. }),
        "{error:?}"
    );
}

#[test]
fn duplicate_slot() {
    let error =
        error_of(&genesis_account(r#""balance": "1", "storage": {"0x1": "0x1", "01": "0x2"}"#));
    assert!(
        matches!(&error, GenesisError::DuplicateSlot { slot, .. } if *slot == B256::with_last_byte(1)),
        "{error:?}"
    );
    assert!(error.to_string().contains("field \"storage\""));
}

#[test]
fn duplicate_field_in_an_account() {
    let error = error_of(&genesis_account(r#""balance": "1", "balance": "2""#));
    assert!(matches!(error, GenesisError::DuplicateField { field: "balance", .. }), "{error:?}");
}

#[test]
fn duplicate_account_in_another_spelling() {
    let json = format!(
        r#"{{"alloc": {{"{KEY}": {{"balance": "1"}}, "{}": {{"balance": "2"}}}}}}"#,
        KEY.trim_start_matches("0x").to_lowercase()
    );
    let error = error_of(&json);
    let address = address!("00000961ef480eb55e80d19ad83579a64c007002");
    assert!(
        matches!(error, GenesisError::DuplicateAccount { id: AccountId::Address(a), .. } if a == address),
        "{error:?}"
    );
}

#[test]
fn bad_alloc_keys_and_entries() {
    let error = error_of(r#"{"alloc": {"0x1234": {"balance": "1"}}}"#);
    assert!(
        matches!(
            &error,
            GenesisError::InvalidAccountKey { account, reason: ValueError::WrongLength { expected: 40, found: 4 } }
                if account == "\"0x1234\""
        ),
        "{error:?}"
    );
    let error = error_of(&format!(r#"{{"alloc": {{"{KEY}": "0x1"}}}}"#));
    assert!(
        matches!(error, GenesisError::NotAnAccountObject { found: "a string", .. }),
        "{error:?}"
    );
    let error = error_of(&format!(r#"{{"alloc": {{"{KEY}": null}}}}"#));
    assert!(matches!(error, GenesisError::NotAnAccountObject { found: "null", .. }), "{error:?}");
    let error = error_of(r#"{"alloc": [1]}"#);
    assert!(matches!(error, GenesisError::InvalidTopField { field: "alloc", .. }), "{error:?}");
}

#[test]
fn bad_documents() {
    assert!(matches!(error_of(""), GenesisError::Json(_)));
    assert!(matches!(error_of(r#"{"alloc": {}"#), GenesisError::Json(_)));
    assert!(matches!(error_of(r#"{"alloc": {}} x"#), GenesisError::Json(_)));
    let error = error_of("{\n\"alloc\": {,}}");
    assert!(error.to_string().contains("line 2"), "{error}");
    assert!(matches!(error_of("[]"), GenesisError::NotAnObject { found: "an array" }));
    assert!(matches!(error_of("7"), GenesisError::NotAnObject { found: "a number" }));
    assert!(matches!(error_of(r#"{"config": {}}"#), GenesisError::UnknownFormat));
    assert!(matches!(error_of(r#"{"alloc": {}, "accounts": {}}"#), GenesisError::AmbiguousFormat));
    let error = error_of(r#"{"alloc": {}, "alloc": {}}"#);
    assert!(matches!(error, GenesisError::DuplicateTopField { field: "alloc" }));
    let error = error_of(r#"{"alloc": {}, "stateRoot": "0x12"}"#);
    assert!(matches!(error, GenesisError::InvalidTopField { field: "stateRoot", .. }), "{error:?}");
    let error = error_of(r#"{"accounts": {}, "root": 12}"#);
    assert!(matches!(error, GenesisError::InvalidTopField { field: "root", .. }), "{error:?}");
}

#[test]
fn wrong_format_for_the_typed_readers() {
    let error = GenesisState::from_slice(br#"{"accounts": {}}"#).unwrap_err();
    assert!(matches!(
        error,
        GenesisError::WrongFormat { expected: Format::Genesis, found: Format::Dump }
    ));
    let error = StateDump::from_slice(br#"{"alloc": {}}"#).unwrap_err();
    assert!(matches!(
        error,
        GenesisError::WrongFormat { expected: Format::Dump, found: Format::Genesis }
    ));
}

#[test]
fn missing_file() {
    let path = std::env::temp_dir().join("snapsync-genesis-no-such-file.json");
    let error = StateFile::load(&path).unwrap_err();
    assert!(matches!(error, GenesisError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("snapsync-genesis-no-such-file.json"), "{error}");
}

#[test]
fn bad_dump_fields_name_the_account() {
    for (fields, field) in [
        (r#""balance": "1", "root": "0x12""#, "root"),
        (r#""balance": "1", "codeHash": 5"#, "codeHash"),
        (r#""balance": "1", "key": "zz""#, "key"),
        (r#""balance": "1", "address": "0x12""#, "address"),
        (r#""balance": "1", "nonce": -3"#, "nonce"),
    ] {
        let error = error_of(&dump_account(fields));
        assert!(
            matches!(&error, GenesisError::InvalidField { field: f, .. } if *f == field),
            "{fields}: {error:?}"
        );
        assert!(error.to_string().contains(&format!("account \"{KEY}\": field \"{field}\"")));
    }
}

#[test]
fn dump_address_field_contradicting_the_key() {
    let other = "0x0000000000000000000000000000000000000001";
    let error = error_of(&dump_account(&format!(r#""balance": "1", "address": "{other}""#)));
    assert!(matches!(error, GenesisError::AddressMismatch { .. }), "{error:?}");
}

#[test]
fn dump_entry_without_identity() {
    let error = error_of(r#"{"accounts": {"somebody": {"balance": "1"}}}"#);
    assert!(
        matches!(&error, GenesisError::MissingIdentity { account } if account == "\"somebody\""),
        "{error:?}"
    );
}

#[test]
fn dump_account_listed_by_address_and_by_hash() {
    let hash = keccak256(address!("00000961ef480eb55e80d19ad83579a64c007002"));
    let json = format!(
        r#"{{"accounts": {{"{KEY}": {{"balance": "1"}}, "pre({hash})": {{"balance": "1"}}}}}}"#
    );
    let dump = StateDump::from_slice(json.as_bytes()).unwrap();
    let error = dump.state_root().unwrap_err();
    assert!(
        matches!(error, GenesisError::DuplicateAccountHash { hash: h } if h == hash),
        "{error:?}"
    );
}

#[test]
fn weird_keys_are_escaped_and_shortened_in_messages() {
    let key = format!("bad\\n\\u0007{}", "k".repeat(500));
    let error = error_of(&format!(r#"{{"alloc": {{"{key}": {{"balance": "1"}}}}}}"#));
    let message = error.to_string();
    assert!(message.starts_with("account \"bad\\n\\u{7}kkk"), "{message}");
    assert!(message.len() < 200, "{message}");
}
