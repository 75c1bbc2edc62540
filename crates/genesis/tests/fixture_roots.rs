//! State roots of real files, against the roots their networks published.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, U256, b256, keccak256};
use alloy_rlp::{Encodable, Header};
use alloy_trie::EMPTY_ROOT_HASH;
use snapsync_genesis::{Format, GenesisState, StateDump, StateFile};
use snapsync_primitives::test_utils::require_fixture;

/// Loads a network genesis fixture and checks its computed root (and the file's own `stateRoot`,
/// when it has one).
fn check_network_genesis(test: &str, fixture: &str, expected: B256, accounts: usize) {
    let Some(path) = require_fixture(test, fixture) else { return };
    let file = StateFile::load(&path).unwrap();
    assert_eq!(file.format(), Format::Genesis);
    let report = file.state_root().unwrap();
    assert_eq!(report.state_root, expected, "{fixture}");
    assert_eq!(report.counts.accounts, accounts, "{fixture}");
    assert!(report.mismatches.is_empty());
    assert_ne!(report.claimed_root_matches(), Some(false), "{fixture}: stateRoot field differs");
    assert!(report.is_consistent());
}

#[test]
fn mainnet_genesis_root() {
    let root = b256!("d7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544");
    check_network_genesis("mainnet_genesis_root", "genesis/mainnet.json", root, 8893);
}

#[test]
fn mainnet_genesis_claims_its_root() {
    let Some(path) = require_fixture("mainnet_genesis_claims_its_root", "genesis/mainnet.json")
    else {
        return;
    };
    let report = GenesisState::load(path).unwrap().state_root().unwrap();
    assert_eq!(report.claimed_root_matches(), Some(true));
    assert_eq!(report.counts.storage_slots, 0);
    assert_eq!(report.counts.bytecodes, 0);
}

#[test]
fn sepolia_genesis_root() {
    let root = b256!("5eb6e371a698b8d68f665192350ffcecbbbf322916f4b51bd79bb6887da3f494");
    check_network_genesis("sepolia_genesis_root", "genesis/sepolia.json", root, 15);
}

#[test]
fn holesky_genesis_root() {
    let root = b256!("69d8c9d72f6fa4ad42d4702b433707212f90db395eb54dc20bc85de253788783");
    check_network_genesis("holesky_genesis_root", "genesis/holesky.json", root, 317);
}

#[test]
fn hoodi_genesis_root() {
    let root = b256!("da87d7f5f91c51508791bbcbd4aa5baf04917830b86985eeb9ad3d5bfb657576");
    check_network_genesis("hoodi_genesis_root", "genesis/hoodi.json", root, 335);
}

#[test]
fn hive_head_state_dump_root() {
    let Some(path) = require_fixture("hive_head_state_dump_root", "geth-hive/headstate.json")
    else {
        return;
    };
    let dump = StateDump::load(&path).unwrap();
    let report = dump.state_root().unwrap();
    let expected = b256!("8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b");
    assert_eq!(report.state_root, expected);
    assert_eq!(report.claimed_root, Some(expected));
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert!(report.is_consistent());
    assert_eq!(report.storage_roots_from_file, 0);
    assert_eq!(report.code_hashes_from_file, 0);
    assert_eq!(report.counts.accounts, 194);
    assert_eq!(report.counts.storage_slots, 2164);
    let codes: std::collections::HashSet<_> =
        dump.accounts.values().filter_map(|a| a.code.clone()).filter(|c| !c.is_empty()).collect();
    assert_eq!(report.counts.bytecodes, codes.len());
}

#[test]
fn hive_head_state_dump_in_memory_equals_streamed() {
    let Some(path) = require_fixture("hive_head_state_dump_in_memory", "geth-hive/headstate.json")
    else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(StateFile::from_slice(&bytes).unwrap(), StateFile::load(&path).unwrap());
}

/// A tampered dump still yields the root of its data, and every false claim is reported.
#[test]
fn hive_head_state_dump_tampered_claims_are_reported() {
    let Some(path) = require_fixture("hive_head_state_dump_tampered", "geth-hive/headstate.json")
    else {
        return;
    };
    let mut dump = StateDump::load(&path).unwrap();
    let honest = dump.state_root().unwrap().state_root;
    dump.root = Some(B256::repeat_byte(1));
    let account = dump.accounts.values_mut().find(|a| a.code.is_some()).unwrap();
    account.code_hash = Some(B256::repeat_byte(2));
    account.storage_root = Some(B256::repeat_byte(3));
    let report = dump.state_root().unwrap();
    assert_eq!(report.state_root, honest);
    assert_eq!(report.claimed_root_matches(), Some(false));
    assert_eq!(report.mismatches.len(), 2);
    assert!(!report.is_consistent());
}

/// A dump made without storage or code: the `root` and `codeHash` claims stand in for them, so the
/// root is still the chain's.
#[test]
fn hive_head_state_dump_without_storage_and_code() {
    let Some(path) = require_fixture("hive_head_state_dump_no_storage", "geth-hive/headstate.json")
    else {
        return;
    };
    let mut dump = StateDump::load(&path).unwrap();
    let expected = dump.state_root().unwrap().state_root;
    let with_storage = dump.accounts.values().filter(|a| a.storage_root != Some(EMPTY_ROOT_HASH));
    let with_storage = with_storage.count();
    for account in dump.accounts.values_mut() {
        account.storage = None;
        account.code = None;
    }
    let report = dump.state_root().unwrap();
    assert_eq!(report.state_root, expected);
    assert_eq!(report.storage_roots_from_file, with_storage);
    assert!(report.code_hashes_from_file > 0);
    assert_eq!(report.counts.storage_slots, 0);
    assert!(report.is_consistent());
}

/// The hive chain's genesis: its header, rebuilt around the computed state root, must hash to
/// block 1's `parentHash`.
#[test]
fn hive_genesis_root_matches_the_chain() {
    let test = "hive_genesis_root_matches_the_chain";
    let Some(genesis_path) = require_fixture(test, "geth-hive/genesis.json") else { return };
    let Some(chain_path) = require_fixture(test, "geth-hive/chain.rlp") else { return };
    let report = GenesisState::load(genesis_path).unwrap().state_root().unwrap();
    assert_eq!(report.counts.accounts, 27);
    let chain = std::fs::read(chain_path).unwrap();
    assert_eq!(hive_genesis_hash(report.state_root), first_parent_hash(&chain));
}

/// The hash of the hive genesis header (London base fee and Shanghai withdrawals root at genesis;
/// Cancun starts later), with `state_root`. Field values are those of `genesis.json`.
fn hive_genesis_hash(state_root: B256) -> B256 {
    let empty_ommers = b256!("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");
    let mut payload = Vec::new();
    B256::ZERO.encode(&mut payload); // parent hash
    empty_ommers.encode(&mut payload);
    Address::ZERO.encode(&mut payload); // coinbase
    state_root.encode(&mut payload);
    EMPTY_ROOT_HASH.encode(&mut payload); // transactions
    EMPTY_ROOT_HASH.encode(&mut payload); // receipts
    [0u8; 256].as_slice().encode(&mut payload); // logs bloom
    U256::from(0x20000).encode(&mut payload); // difficulty
    0u64.encode(&mut payload); // number
    0x11e1_a300u64.encode(&mut payload); // gas limit
    0u64.encode(&mut payload); // gas used
    0u64.encode(&mut payload); // timestamp
    b"hivechain".as_slice().encode(&mut payload); // extra data
    B256::ZERO.encode(&mut payload); // mix hash
    [0u8; 8].as_slice().encode(&mut payload); // nonce
    0x3b9a_ca00u64.encode(&mut payload); // base fee
    EMPTY_ROOT_HASH.encode(&mut payload); // withdrawals root
    let mut header = Vec::new();
    Header { list: true, payload_length: payload.len() }.encode(&mut header);
    header.extend_from_slice(&payload);
    keccak256(header)
}

/// The `parentHash` of the first block of an RLP block stream: the first field of its header.
fn first_parent_hash(mut chain: &[u8]) -> B256 {
    let block = Header::decode(&mut chain).unwrap();
    assert!(block.list);
    let header = Header::decode(&mut chain).unwrap();
    assert!(header.list);
    let parent: B256 = alloy_rlp::Decodable::decode(&mut chain).unwrap();
    parent
}
