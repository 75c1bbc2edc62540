//! `import_state` against both backends: random states in random order give the root computed
//! independently from the same leaves, the stored view recomputes to it, and the nodes written are
//! exactly those `rebuild_state_trie` writes.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, U256, keccak256};
use proptest::{prelude::*, test_runner::TestRunner};
use snapsync_db::test_utils::{TestDb, memory_db as memory, redb_db as redb};
use snapsync_db::{
    AccountTrieNodes, Bytecodes, HashedAccounts, HashedStorages, ImportAccount, ImportError,
    StorageTrieNodes, Table, TableRead, compute_state_root, import_state,
};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, KECCAK_EMPTY, SlotHash, TrieAccount};
use snapsync_storage::{prove_account_range, rebuild_state_trie};
use snapsync_trie::{trie_root, verify_range_proof};
use std::collections::BTreeMap;

/// A small collector buffer, so the import spills sorted runs to disk and merges them.
fn spilling_etl() -> CollectorConfig {
    CollectorConfig::new(4 * 1024)
}

/// A random state: up to 60 accounts, some sharing codes (from a pool of four, one of them empty),
/// some with up to 40 slots of which some are zero.
fn state() -> impl Strategy<Value = Vec<ImportAccount>> {
    let code = prop_oneof![
        Just(Bytes::new()),
        Just(Bytes::from_static(&[0x60, 0x00])),
        Just(Bytes::from_static(&[0x5f; 40])),
        prop::collection::vec(any::<u8>(), 1..100).prop_map(Bytes::from),
    ];
    let value = prop_oneof![
        Just(U256::ZERO),
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes)
    ];
    let storage = prop::collection::btree_map(any::<[u8; 32]>(), value, 0..40)
        .prop_map(|slots| slots.into_iter().map(|(k, v)| (SlotHash(B256::from(k)), v)).collect());
    let account =
        (any::<u64>(), any::<u128>(), code, storage).prop_map(|(nonce, balance, code, storage)| {
            ImportAccount {
                hash: AccountHash::ZERO,
                nonce,
                balance: U256::from(balance),
                code,
                storage,
            }
        });
    prop::collection::btree_map(any::<[u8; 32]>(), account, 0..60).prop_flat_map(|accounts| {
        let accounts: Vec<_> = accounts
            .into_iter()
            .map(|(hash, account)| ImportAccount { hash: AccountHash(B256::from(hash)), ..account })
            .collect();
        Just(accounts).prop_shuffle()
    })
}

/// The state root of `accounts`, computed from the leaves with `trie_root` alone.
fn expected_root(accounts: &[ImportAccount]) -> B256 {
    let leaves: BTreeMap<B256, Vec<u8>> = accounts
        .iter()
        .map(|account| {
            let slots: BTreeMap<B256, Vec<u8>> = account
                .storage
                .iter()
                .filter(|(_, value)| !value.is_zero())
                .map(|(slot, value)| (slot.0, alloy_rlp::encode(value)))
                .collect();
            let code_hash =
                if account.code.is_empty() { KECCAK_EMPTY } else { keccak256(&account.code) };
            let full = TrieAccount {
                nonce: account.nonce,
                balance: account.balance,
                storage_root: trie_root(&slots).unwrap(),
                code_hash,
            };
            (account.hash.0, alloy_rlp::encode(full))
        })
        .collect();
    trie_root(&leaves).unwrap()
}

/// Every entry of table `T`, as stored bytes.
fn table<T: Table>(reader: &impl TableRead) -> Vec<(Vec<u8>, Vec<u8>)> {
    reader
        .kv()
        .range(T::NAME, snapsync_db::KeyBounds::all(), snapsync_db::Direction::Forward)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn check_random_states(open: fn() -> TestDb) {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(&state(), |accounts| {
            let test = open();
            let report = import_state(&*test.db, accounts.clone(), &spilling_etl()).unwrap();
            let expected = expected_root(&accounts);
            prop_assert_eq!(report.state_root, expected);
            prop_assert_eq!(report.accounts, accounts.len() as u64);
            let slots = accounts
                .iter()
                .flat_map(|a| &a.storage)
                .filter(|(_, value)| !value.is_zero())
                .count();
            prop_assert_eq!(report.storage_slots, slots as u64);
            let codes: std::collections::BTreeSet<_> =
                accounts.iter().filter(|a| !a.code.is_empty()).map(|a| &a.code).collect();
            prop_assert_eq!(report.bytecodes, codes.len() as u64);

            let view = test.db.view().unwrap();
            let recomputed = compute_state_root(&view).unwrap();
            prop_assert!(recomputed.is_consistent());
            prop_assert_eq!(recomputed.state_root, expected);
            for code in codes {
                let stored = view.get::<Bytecodes>(&keccak256(code)).unwrap();
                prop_assert_eq!(stored.as_ref(), Some(code));
            }

            // The nodes are exactly those a rebuild writes (the rebuild is dropped, not committed).
            let mut txn = test.db.write().unwrap();
            rebuild_state_trie(&view, &mut txn, &spilling_etl()).unwrap();
            prop_assert_eq!(table::<AccountTrieNodes>(&view), table::<AccountTrieNodes>(&txn));
            prop_assert_eq!(table::<StorageTrieNodes>(&view), table::<StorageTrieNodes>(&txn));
            drop(txn);

            // And they serve proofs that verify against the root.
            let all: Vec<_> = view.iter::<HashedAccounts>().unwrap().map(Result::unwrap).collect();
            if let (Some(first), Some(last)) = (all.first(), all.last()) {
                let proof = prove_account_range(&view, expected, first.0, Some(last.0)).unwrap();
                let keys: Vec<_> = all.iter().map(|(hash, _)| hash.0).collect();
                let values: Vec<_> = all.iter().map(|(_, a)| alloy_rlp::encode(a)).collect();
                let has_more =
                    verify_range_proof(expected, first.0.as_ref(), &keys, &values, &proof);
                prop_assert_eq!(has_more, Ok(false));
            } else {
                prop_assert_eq!(expected, EMPTY_ROOT_HASH);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_states_memory() {
    check_random_states(memory);
}

#[test]
fn random_states_redb() {
    check_random_states(redb);
}

#[test]
fn zero_slots_are_skipped_and_codes_stored_once() {
    for open in [memory as fn() -> TestDb, redb] {
        let test = open();
        let code = Bytes::from_static(&[0x60, 0x01, 0x60, 0x02]);
        let slot = |byte| SlotHash(B256::repeat_byte(byte));
        let accounts = vec![
            ImportAccount {
                hash: AccountHash(B256::repeat_byte(2)),
                code: code.clone(),
                storage: vec![(slot(1), U256::ZERO), (slot(2), U256::from(7))],
                ..ImportAccount::default()
            },
            ImportAccount {
                hash: AccountHash(B256::repeat_byte(1)),
                code: code.clone(),
                storage: vec![(slot(3), U256::ZERO)],
                ..ImportAccount::default()
            },
        ];
        let report = import_state(&*test.db, accounts, &spilling_etl()).unwrap();
        assert_eq!((report.accounts, report.storage_slots, report.bytecodes), (2, 1, 1));
        let view = test.db.view().unwrap();
        let slots: Vec<_> = view.iter::<HashedStorages>().unwrap().map(Result::unwrap).collect();
        assert_eq!(slots, vec![((AccountHash(B256::repeat_byte(2)), slot(2)), U256::from(7))]);
        let only_zeros = view.get::<HashedAccounts>(&AccountHash(B256::repeat_byte(1))).unwrap();
        assert_eq!(only_zeros.unwrap().storage_root, EMPTY_ROOT_HASH);
        assert_eq!(table::<Bytecodes>(&view).len(), 1);
    }
}

#[test]
fn an_empty_state_imports_to_the_empty_root() {
    let test = redb();
    let report = import_state(&*test.db, Vec::new(), &spilling_etl()).unwrap();
    assert_eq!(report.state_root, EMPTY_ROOT_HASH);
    assert!(table::<AccountTrieNodes>(&test.db.view().unwrap()).is_empty());
}

#[test]
fn duplicate_accounts_are_refused_on_redb_too() {
    let test = redb();
    let account = ImportAccount { hash: AccountHash(B256::repeat_byte(5)), ..Default::default() };
    let error =
        import_state(&*test.db, vec![account.clone(), account], &spilling_etl()).unwrap_err();
    assert!(matches!(error, ImportError::DuplicateAccount { .. }), "{error}");
    assert!(table::<HashedAccounts>(&test.db.view().unwrap()).is_empty());
}
