//! Every form the two formats write values in is read, and means the same.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, Bytes, U256, address, b256, bytes, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount, root::state_root_unhashed};
use proptest::prelude::*;
use snapsync_genesis::{AccountId, Format, GenesisAccount, GenesisState, StateDump, StateFile};
use std::collections::BTreeMap;

const ADDRESS: Address = address!("00000961ef480eb55e80d19ad83579a64c007002");

fn genesis(json: &str) -> GenesisState {
    GenesisState::from_slice(json.as_bytes()).unwrap()
}

fn only_account(state: &GenesisState) -> &GenesisAccount {
    assert_eq!(state.accounts.len(), 1);
    state.accounts.values().next().unwrap()
}

#[test]
fn alloc_keys_with_or_without_prefix_in_any_case() {
    for key in [
        "0x00000961ef480eb55e80d19ad83579a64c007002",
        "00000961ef480eb55e80d19ad83579a64c007002",
        "0x00000961Ef480Eb55e80D19ad83579A64c007002",
        "0X00000961EF480EB55E80D19AD83579A64C007002",
    ] {
        let state = genesis(&format!(r#"{{"alloc": {{"{key}": {{"balance": "0x1"}}}}}}"#));
        assert_eq!(state.accounts.keys().collect::<Vec<_>>(), [&ADDRESS], "{key}");
    }
}

#[test]
fn balances_in_hex_decimal_and_number_form() {
    for (balance, expected) in [
        (r#""0x2a""#, U256::from(42)),
        (r#""0X2A""#, U256::from(42)),
        (r#""42""#, U256::from(42)),
        ("42", U256::from(42)),
        (r#""0x""#, U256::ZERO),
        ("18446744073709551615", U256::from(u64::MAX)),
        (
            r#""115792089237316195423570985008687907853269984665640564039457584007913129639935""#,
            U256::MAX,
        ),
    ] {
        let state = genesis(&format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": {balance}}}}}}}"#));
        assert_eq!(only_account(&state).balance, expected, "{balance}");
    }
}

#[test]
fn nonces_in_hex_decimal_and_number_form_default_zero() {
    for (nonce, expected) in [
        (r#""0x10""#, 16),
        (r#""16""#, 16),
        ("16", 16),
        ("null", 0),
        (r#""0xffffffffffffffff""#, u64::MAX),
    ] {
        let json = format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "1", "nonce": {nonce}}}}}}}"#);
        assert_eq!(only_account(&genesis(&json)).nonce, expected, "{nonce}");
    }
    let json = format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "1"}}}}}}"#);
    assert_eq!(only_account(&genesis(&json)).nonce, 0);
}

#[test]
fn code_with_or_without_prefix() {
    for (code, expected) in [
        (r#""0x6001600155""#, bytes!("6001600155")),
        (r#""6001600155""#, bytes!("6001600155")),
        (r#""0x""#, Bytes::new()),
        (r#""""#, Bytes::new()),
        ("null", Bytes::new()),
    ] {
        let json = format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0", "code": {code}}}}}}}"#);
        assert_eq!(only_account(&genesis(&json)).code, expected, "{code}");
    }
}

#[test]
fn storage_words_of_any_length_are_left_padded() {
    let json = format!(
        r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0", "storage": {{
            "0x01": "0x02",
            "3": "0x0000000000000000000000000000000000000000000000000000000000000004",
            "0x0000000000000000000000000000000000000000000000000000000000000005": "6",
            "0X7": "0x123"
        }}}}}}}}"#
    );
    let state = genesis(&json);
    let storage = &only_account(&state).storage;
    let expected: BTreeMap<B256, U256> = [
        (B256::with_last_byte(1), U256::from(2)),
        (B256::with_last_byte(3), U256::from(4)),
        (B256::with_last_byte(5), U256::from(6)),
        (B256::with_last_byte(7), U256::from(0x123)),
    ]
    .into();
    assert_eq!(storage, &expected);
}

#[test]
fn zero_storage_values_are_not_state() {
    let with_zero = genesis(&format!(
        r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0", "storage": {{"0x1": "0x0", "0x2": "0x", "0x3": "0x05"}}}}}}}}"#
    ));
    let without = genesis(&format!(
        r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0", "storage": {{"0x3": "0x05"}}}}}}}}"#
    ));
    assert_eq!(only_account(&with_zero).storage.len(), 1);
    let (a, b) = (with_zero.state_root().unwrap(), without.state_root().unwrap());
    assert_eq!(a.state_root, b.state_root);
    assert_eq!(a.counts.storage_slots, 1);

    let all_zero = genesis(&format!(
        r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0", "storage": {{"0x1": "0x00"}}}}}}}}"#
    ));
    let none = genesis(&format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0"}}}}}}"#));
    assert_eq!(all_zero.state_root().unwrap().state_root, none.state_root().unwrap().state_root);
}

#[test]
fn unknown_and_other_fields_are_ignored() {
    let json = format!(
        r#"{{"config": {{"chainId": 1}}, "nonce": "0x42", "timestamp": "0x0", "root": 7,
            "alloc": {{"{ADDRESS}": {{"balance": "0x1", "secretKey": "0x00", "root": [1, 2],
            "codeHash": {{}}, "extra": null}}}}, "whatever": [{{"alloc": 1}}]}}"#
    );
    let state = genesis(&json);
    assert_eq!(only_account(&state).balance, U256::from(1));
    assert_eq!(state.state_root, None);
}

#[test]
fn empty_alloc_has_the_empty_root() {
    let report = genesis(r#"{"alloc": {}}"#).state_root().unwrap();
    assert_eq!(report.state_root, EMPTY_ROOT_HASH);
    assert_eq!(report.counts.accounts, 0);
}

#[test]
fn escaped_strings_are_read_too() {
    // `\u0030` is '0': serde hands such strings over as owned copies rather than borrowed.
    let json =
        r#"{"alloc": {"\u00300000961ef480eb55e80d19ad83579a64c007002": {"balance": "\u0030x2a"}}}"#;
    let state = genesis(json);
    assert_eq!(state.accounts[&ADDRESS].balance, U256::from(42));
}

#[test]
fn reader_and_slice_agree() {
    let json = format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0x1", "code": "0x00"}}}}}}"#);
    let from_reader = GenesisState::from_reader(json.as_bytes()).unwrap();
    assert_eq!(from_reader, genesis(&json));
}

#[test]
fn genesis_state_root_claim_is_read_and_compared() {
    let json = format!(
        r#"{{"stateRoot": "0x{}", "alloc": {{"{ADDRESS}": {{"balance": "1"}}}}}}"#,
        "11".repeat(32)
    );
    let report = genesis(&json).state_root().unwrap();
    assert_eq!(report.claimed_root, Some(B256::repeat_byte(0x11)));
    assert_eq!(report.claimed_root_matches(), Some(false));
    assert!(!report.is_consistent());
}

#[test]
fn format_detection() {
    let genesis = StateFile::from_slice(br#"{"alloc": {}}"#).unwrap();
    assert_eq!(genesis.format(), Format::Genesis);
    let dump = StateFile::from_slice(br#"{"accounts": {}, "root": null}"#).unwrap();
    assert_eq!(dump.format(), Format::Dump);
}

fn dump(json: &str) -> StateDump {
    StateDump::from_slice(json.as_bytes()).unwrap()
}

#[test]
fn dump_entries_by_address_key_address_field_or_hash() {
    let hash = keccak256(ADDRESS);
    let by_key =
        dump(&format!(r#"{{"accounts": {{"{ADDRESS}": {{"balance": "1", "nonce": 0}}}}}}"#));
    let by_field = dump(&format!(
        r#"{{"accounts": {{"anything": {{"balance": "1", "nonce": 0, "address": "{ADDRESS}"}}}}}}"#
    ));
    let by_key_field = dump(&format!(
        r#"{{"accounts": {{"pre({hash})": {{"balance": "1", "nonce": 0, "key": "{hash}"}}}}}}"#
    ));
    let by_hash_key = dump(&format!(r#"{{"accounts": {{"pre({hash})": {{"balance": "1"}}}}}}"#));
    let by_bare_hash = dump(&format!(r#"{{"accounts": {{"{hash}": {{"balance": "1"}}}}}}"#));

    assert_eq!(by_key.accounts.keys().collect::<Vec<_>>(), [&AccountId::Address(ADDRESS)]);
    assert_eq!(by_field.accounts.keys().collect::<Vec<_>>(), [&AccountId::Address(ADDRESS)]);
    for hashed in [&by_key_field, &by_hash_key, &by_bare_hash] {
        assert_eq!(hashed.accounts.keys().collect::<Vec<_>>(), [&AccountId::Hash(hash)]);
    }
    let root = by_key.state_root().unwrap().state_root;
    for other in [&by_field, &by_key_field, &by_hash_key, &by_bare_hash] {
        assert_eq!(other.state_root().unwrap().state_root, root);
    }
}

#[test]
fn dump_key_claim_is_checked_against_the_address() {
    let wrong = B256::repeat_byte(9);
    let report =
        dump(&format!(r#"{{"accounts": {{"{ADDRESS}": {{"balance": "1", "key": "{wrong}"}}}}}}"#))
            .state_root()
            .unwrap();
    assert_eq!(report.mismatches.len(), 1);
    assert_eq!(report.mismatches[0].computed, keccak256(ADDRESS));
    let text = report.mismatches[0].to_string();
    assert!(text.contains("\"key\""), "{text}");
}

#[test]
fn dump_values_as_geth_writes_them() {
    // geth: decimal balance, numeric nonce, storage values trimmed hex without `0x`.
    let state = dump(&format!(
        r#"{{"root": "{root}", "accounts": {{"{ADDRESS}": {{"balance": "1000000001", "nonce": 3,
            "root": "0x{root}", "codeHash": "0x{empty}",
            "storage": {{"0x0000000000000000000000000000000000000000000000000000000000000004": "7435ed"}},
            "address": "{ADDRESS:?}", "key": "{key}"}}}}}}"#,
        root = "00".repeat(32),
        empty = hex(KECCAK_EMPTY),
        key = keccak256(ADDRESS),
    ));
    let account = &state.accounts[&AccountId::Address(ADDRESS)];
    assert_eq!(account.balance, U256::from(1_000_000_001));
    assert_eq!(account.nonce, 3);
    assert_eq!(account.code, None);
    assert_eq!(account.storage.as_ref().unwrap()[&B256::with_last_byte(4)], U256::from(0x7435ed));
    let report = state.state_root().unwrap();
    // The all-zero storage `root` and top-level `root` claims are false: both are reported.
    assert_eq!(report.mismatches.len(), 1);
    assert_eq!(report.claimed_root_matches(), Some(false));
}

fn hex(hash: B256) -> String {
    format!("{hash:x}").trim_start_matches("0x").to_owned()
}

#[test]
fn known_single_account_root() {
    // One account, no code, no storage: the root is checked against alloy-trie's own builder.
    let state = genesis(&format!(r#"{{"alloc": {{"{ADDRESS}": {{"balance": "0x1"}}}}}}"#));
    let expected = state_root_unhashed([(
        ADDRESS,
        TrieAccount::new(0, U256::from(1), EMPTY_ROOT_HASH, KECCAK_EMPTY),
    )]);
    assert_eq!(state.state_root().unwrap().state_root, expected);
    assert_ne!(expected, b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"));
}

/// A random account and the several ways a genesis file may write it.
#[derive(Debug, Clone)]
struct Written {
    nonce: u64,
    balance: U256,
    code: Vec<u8>,
    storage: BTreeMap<B256, U256>,
    style: u8,
}

fn written() -> impl Strategy<Value = Written> {
    let storage = prop::collection::btree_map(
        any::<[u8; 32]>().prop_map(|b| {
            B256::from((U256::from_be_bytes(b) >> (8 * (b[0] as usize % 32))).to_be_bytes::<32>())
        }),
        prop_oneof![
            Just(U256::ZERO),
            any::<u64>().prop_map(U256::from),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes)
        ],
        0..6,
    );
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec(any::<u8>(), 0..40),
        storage,
        any::<u8>(),
    )
        .prop_map(|(nonce, balance, code, storage, style)| Written {
            nonce,
            balance: U256::from_be_bytes(balance) >> (balance[0] as usize),
            code,
            storage,
            style,
        })
}

/// The account as JSON, its numbers and words written in a style picked by `style`'s bits.
fn to_json(account: &Written) -> String {
    let quantity = |value: U256, bit: u8| match (account.style >> bit) & 3 {
        0 => format!("\"{value:#x}\""),
        1 => format!("\"{value}\""),
        2 if value <= U256::from(u64::MAX) => format!("{value}"),
        _ => format!("\"0x{value:0>70x}\"").replace("0x000000", "0x"),
    };
    let word = |value: B256, bare: bool| {
        let trimmed = format!("{:x}", U256::from_be_bytes(value.0));
        if bare { trimmed } else { format!("0x{trimmed}") }
    };
    let storage: Vec<String> = account
        .storage
        .iter()
        .map(|(slot, value)| {
            format!(
                "\"{}\": \"{}\"",
                word(*slot, account.style & 4 != 0),
                word(B256::from(value.to_be_bytes::<32>()), account.style & 8 != 0)
            )
        })
        .collect();
    format!(
        r#"{{"balance": {}, "nonce": {}, "code": "{}{}", "storage": {{{}}}}}"#,
        quantity(account.balance, 0),
        quantity(U256::from(account.nonce), 2),
        if account.style & 16 != 0 { "0x" } else { "" },
        alloy_primitives::hex::encode(&account.code),
        storage.join(", ")
    )
}

proptest! {
    /// Random states, written in random styles, read back to the same accounts, and hash to the
    /// root alloy-trie's independent builder computes.
    #[test]
    fn random_states_match_alloy_trie(
        accounts in prop::collection::btree_map(any::<[u8; 20]>().prop_map(Address::from), written(), 0..8),
        bare_keys in any::<bool>(),
    ) {
        let entries: Vec<String> = accounts
            .iter()
            .map(|(address, account)| {
                let key = format!("{address:?}");
                let key = if bare_keys { key.trim_start_matches("0x").to_owned() } else { key };
                format!("\"{key}\": {}", to_json(account))
            })
            .collect();
        let json = format!(r#"{{"alloc": {{{}}}}}"#, entries.join(", "));
        let state = GenesisState::from_slice(json.as_bytes()).unwrap();
        prop_assert_eq!(state.accounts.len(), accounts.len());
        for (address, account) in &accounts {
            let read = &state.accounts[address];
            prop_assert_eq!(read.nonce, account.nonce);
            prop_assert_eq!(read.balance, account.balance);
            prop_assert_eq!(&read.code[..], &account.code[..]);
            let nonzero: BTreeMap<_, _> =
                account.storage.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&read.storage, &nonzero);
        }
        let expected = state_root_unhashed(accounts.iter().map(|(address, account)| {
            let storage_root = alloy_trie::root::storage_root_unhashed(
                account.storage.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (*k, *v)),
            );
            let code_hash = if account.code.is_empty() { KECCAK_EMPTY } else { keccak256(&account.code) };
            (*address, TrieAccount::new(account.nonce, account.balance, storage_root, code_hash))
        }));
        let report = state.state_root().unwrap();
        prop_assert_eq!(report.state_root, expected);
        prop_assert_eq!(report.counts.accounts, accounts.len());
    }
}
