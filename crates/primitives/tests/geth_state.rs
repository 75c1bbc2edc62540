//! Keys, accounts and messages against go-ethereum's hive snap fixture
//! (`geth-hive/headstate.json`, `geth-hive/snap-cases.json`).
//!
//! The state root of the dump is rebuilt from this crate's [`AccountHash`] and [`TrieAccount`]
//! encoding, every storage root from [`SlotHash`] and [`StorageSlot`] data, and the hive
//! account-range cases are replayed with go-ethereum's byte accounting over [`SlimAccount`]
//! encodings, which pins both encodings to what go-ethereum produces.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::PathBuf, str::FromStr};

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_trie::HashBuilder;
use serde_json::Value;
use snapsync_primitives::{
    AccountHash, FromRlp, GetTrieNodes, KECCAK_EMPTY, PathSetError, RawTrieNodePathSet,
    SlimAccount, SlotHash, SnapMessage, StorageRanges, StorageSlot, TrieAccount,
};

const HEAD_STATE: &str = "geth-hive/headstate.json";
const SNAP_CASES: &str = "geth-hive/snap-cases.json";

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn b256(value: &Value) -> B256 {
    B256::from_str(value.as_str().unwrap()).unwrap()
}

/// An account of the dump, keyed by its hash.
struct DumpedAccount {
    hash: AccountHash,
    account: TrieAccount,
    code: Option<Bytes>,
    /// Slot key → value.
    storage: Vec<(B256, U256)>,
}

fn parse_account(address: &str, fields: &Value) -> DumpedAccount {
    let address = Address::from_str(address).unwrap();
    let hash = AccountHash::of(&address);
    assert_eq!(hash.0, b256(&fields["key"]), "{address}: key");
    let account = TrieAccount {
        nonce: fields["nonce"].as_u64().unwrap(),
        balance: U256::from_str_radix(fields["balance"].as_str().unwrap(), 10).unwrap(),
        storage_root: b256(&fields["root"]),
        code_hash: b256(&fields["codeHash"]),
    };
    let code = fields.get("code").map(|code| hex::decode(code.as_str().unwrap()).unwrap().into());
    let storage = fields
        .get("storage")
        .and_then(Value::as_object)
        .map(|slots| {
            slots
                .iter()
                .map(|(key, value)| {
                    let value = value.as_str().unwrap();
                    let value = value.strip_prefix("0x").unwrap_or(value);
                    (B256::from_str(key).unwrap(), U256::from_str_radix(value, 16).unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    DumpedAccount { hash, account, code, storage }
}

/// The dump's root and its accounts in trie order, or `None` when the fixture is absent.
fn head_state(test: &str) -> Option<(B256, Vec<DumpedAccount>)> {
    let dump = read_json(snapsync_primitives::test_utils::require_fixture(test, HEAD_STATE)?);
    let mut accounts: Vec<_> = dump["accounts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(address, fields)| parse_account(address, fields))
        .collect();
    accounts.sort_by_key(|account| account.hash);
    Some((b256(&dump["root"]), accounts))
}

fn trie_root<'a>(leaves: impl IntoIterator<Item = (B256, &'a [u8])>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(alloy_trie::Nibbles::unpack(key), value);
    }
    builder.root()
}

#[test]
fn full_account_encoding_rebuilds_the_state_root() {
    let Some((root, accounts)) = head_state("geth_state::state_root") else { return };
    let leaves: Vec<_> =
        accounts.iter().map(|a| (a.hash.0, alloy_rlp::encode(a.account))).collect();
    assert_eq!(trie_root(leaves.iter().map(|(key, value)| (*key, value.as_slice()))), root);
    for (account, (_, encoded)) in accounts.iter().zip(&leaves) {
        assert_eq!(TrieAccount::from_rlp(encoded), Ok(account.account));
    }
}

#[test]
fn slim_encoding_round_trips_and_shortens_only_empty_hashes() {
    let Some((_, accounts)) = head_state("geth_state::slim") else { return };
    let mut plain = 0;
    for DumpedAccount { hash, account, .. } in &accounts {
        let slim = SlimAccount::from(*account);
        let encoded = alloy_rlp::encode(slim);
        assert_eq!(SlimAccount::from_rlp(&encoded), Ok(slim), "{hash}");
        assert_eq!(slim.into_full(), *account);
        let full_length = alloy_rlp::encode(account).len();
        let saved = 32 * (usize::from(!account.has_storage()) + usize::from(!account.has_code()));
        // Each shortened hash saves 32 bytes; the list header may shrink by one more.
        let difference = full_length - encoded.len();
        assert!(difference == saved || difference == saved + 1, "{hash}: {difference} vs {saved}");
        plain += usize::from(!account.has_storage() && !account.has_code());
    }
    assert!(plain > 0, "the dump has plain accounts");
}

#[test]
fn storage_slots_rebuild_every_storage_root_and_codes_their_hash() {
    let Some((_, accounts)) = head_state("geth_state::storage") else { return };
    let mut with_storage = 0;
    for account in &accounts {
        if let Some(code) = &account.code {
            assert_eq!(keccak256(code), account.account.code_hash, "{}: code hash", account.hash);
        }
        if account.storage.is_empty() {
            continue;
        }
        with_storage += 1;
        let mut slots: Vec<_> = account
            .storage
            .iter()
            .map(|(key, value)| StorageSlot::from_value(SlotHash::of(key), *value))
            .collect();
        slots.sort_by_key(|slot| slot.hash);
        for (slot, (_, value)) in slots.iter().zip(&account.storage) {
            assert!(slot.value().is_ok(), "{}: {value}", slot.hash);
        }
        let root = trie_root(slots.iter().map(|slot| (slot.hash.0, slot.data.as_ref())));
        assert_eq!(root, account.account.storage_root, "{}: storage root", account.hash);
    }
    assert!(with_storage > 0, "the dump has storage");
}

/// go-ethereum's `ServiceGetAccountRangeQuery` over the dump: accounts from `origin` on, each
/// costing 32 bytes plus its slim encoding, stopping after the first at or past `limit` or
/// once the size exceeds the budget.
fn serve_account_range(
    accounts: &[DumpedAccount],
    origin: AccountHash,
    limit: AccountHash,
    budget: u64,
) -> Vec<AccountHash> {
    let mut served = Vec::new();
    let mut size = 0u64;
    for account in accounts.iter().filter(|account| account.hash >= origin) {
        served.push(account.hash);
        size += 32 + alloy_rlp::encode(SlimAccount::from(account.account)).len() as u64;
        if account.hash >= limit || size > budget {
            break;
        }
    }
    served
}

fn cases(test: &str, kind: &str) -> Option<Vec<Value>> {
    let fixture = read_json(snapsync_primitives::test_utils::require_fixture(test, SNAP_CASES)?);
    let cases = fixture["cases"].as_array().unwrap();
    Some(cases.iter().filter(|case| case["kind"] == kind).cloned().collect())
}

#[test]
fn hive_account_range_cases_match_geth_byte_accounting() {
    let Some((_, accounts)) = head_state("geth_state::account_range") else { return };
    let Some(cases) = cases("geth_state::account_range", "account_range") else { return };
    let mut replayed = 0;
    for case in cases.iter().filter(|case| case["root"] == "head") {
        let name = case["name"].as_str().unwrap();
        let served = serve_account_range(
            &accounts,
            AccountHash(b256(&case["origin"])),
            AccountHash(b256(&case["limit"])),
            case["bytes"].as_u64().unwrap(),
        );
        let expect = &case["expect"];
        assert_eq!(served.len() as u64, expect["count"].as_u64().unwrap(), "{name}: count");
        if let (Some(first), Some(last)) = (served.first(), served.last()) {
            assert_eq!(first.0, b256(&expect["first"]), "{name}: first");
            assert_eq!(last.0, b256(&expect["last"]), "{name}: last");
        }
        replayed += 1;
    }
    assert!(replayed > 5);
}

#[test]
fn hive_storage_range_values_survive_a_storage_ranges_message() {
    let Some(cases) = cases("geth_state::storage_ranges", "storage_ranges") else { return };
    assert!(!cases.is_empty());
    for (request_id, case) in (0u64..).zip(&cases) {
        let expected = case["expect"]["slots"].as_array().unwrap();
        let slots: Vec<Vec<StorageSlot>> = expected
            .iter()
            .map(|account| {
                let account = account.as_array().unwrap();
                account
                    .iter()
                    .map(|slot| {
                        let value = U256::from_str(slot["value"].as_str().unwrap()).unwrap();
                        StorageSlot::from_value(SlotHash(b256(&slot["hash"])), value)
                    })
                    .collect()
            })
            .collect();
        let message = SnapMessage::from(StorageRanges { request_id, slots, proof: vec![] });
        let decoded = SnapMessage::decode(StorageRanges::ID, &message.to_rlp()).unwrap();
        assert_eq!(decoded, message, "{}", case["name"]);
    }
}

#[test]
fn hive_trie_node_path_sets_decode_and_validate() {
    let Some(cases) = cases("geth_state::trie_nodes", "trie_nodes") else { return };
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let paths: Vec<RawTrieNodePathSet> = case["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|set| {
                let items = set.as_array().unwrap();
                RawTrieNodePathSet(
                    items
                        .iter()
                        .map(|item| hex::decode(item.as_str().unwrap()).unwrap().into())
                        .collect(),
                )
            })
            .collect();
        let request =
            GetTrieNodes { request_id: 1, root_hash: B256::ZERO, paths, response_bytes: 1 };
        let encoded = alloy_rlp::encode(&request);
        assert_eq!(GetTrieNodes::from_rlp(&encoded).as_ref(), Ok(&request), "{name}");

        let typed: Vec<_> = request.paths.iter().map(RawTrieNodePathSet::to_typed).collect();
        if case["expect"]["reject"] == true {
            assert!(typed.iter().any(|t| t.as_ref().is_err_and(PathSetError::rejects_request)));
            continue;
        }
        // Each set answers with one node per path past the account hash, or one for an
        // account path; go-ethereum answers an invalid path with an empty node.
        let mut node_hashes = case["expect"]["node_hashes"].as_array().unwrap().iter().map(b256);
        for (raw, typed) in request.paths.iter().zip(typed) {
            let nodes = if raw.0.len() == 1 { 1 } else { raw.0.len() - 1 };
            let hashes: Vec<_> = node_hashes.by_ref().take(nodes).collect();
            match typed {
                Ok(set) => {
                    assert_eq!(&set.to_raw(), raw, "{name}: canonical paths");
                    assert_eq!(set.node_count(), nodes);
                }
                Err(error) => {
                    assert!(!error.rejects_request(), "{name}: {error}");
                    assert_eq!(hashes, vec![KECCAK_EMPTY; nodes], "{name}: {error}");
                }
            }
        }
        assert_eq!(node_hashes.next(), None, "{name}: nodes left over");
    }
}
