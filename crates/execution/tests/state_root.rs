//! The incremental state root against a full rebuild: random states changed at random (new,
//! updated and removed accounts and slots, storages emptied), the root and every stored node
//! after each round equal to what `rebuild_state_trie_in` makes from the leaves alone.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_etl::CollectorConfig;
use snapsync_execution::StateRoot;
use snapsync_primitives::{
    AccountHash, EMPTY_ROOT_HASH, SlotHash, TrieAccount, test_utils::TestRng,
};
use snapsync_storage::{
    KeyRange, StateRead, StateStore, StateWrite, compute_state_root, rebuild_state_trie_in,
    test_utils::MapStore,
};
use std::collections::{BTreeMap, BTreeSet};

fn hash(rng: &mut TestRng) -> B256 {
    B256::from_slice(&rng.bytes(32))
}

type Nodes = (Vec<(Nibbles, Bytes)>, Vec<(AccountHash, Nibbles, Bytes)>);

fn nodes(view: &impl StateRead) -> Nodes {
    let accounts = view.account_nodes(KeyRange::all()).unwrap().collect::<Result<_, _>>().unwrap();
    let storage =
        view.all_storage_nodes(KeyRange::all()).unwrap().collect::<Result<_, _>>().unwrap();
    (accounts, storage)
}

/// Applies one round of random changes through the incremental update; the keys changed.
fn change<W: StateWrite>(txn: &mut W, rng: &mut TestRng, accounts: &mut Vec<AccountHash>) -> B256 {
    let mut changed_accounts = BTreeSet::new();
    let rounds = rng.in_range(1..=40);
    for _ in 0..rounds {
        let account = if accounts.is_empty() || rng.chance(1, 4) {
            let new = AccountHash(hash(rng));
            accounts.push(new);
            new
        } else {
            accounts[rng.below(accounts.len())]
        };
        changed_accounts.insert(account);
        if rng.chance(1, 10) {
            // Removed with its storage.
            txn.delete_account(&account).unwrap();
            let slots: BTreeSet<SlotHash> = txn
                .slots(&account, KeyRange::all())
                .unwrap()
                .map(|entry| entry.unwrap().0)
                .collect();
            for slot in &slots {
                txn.put_slot(&account, slot, U256::ZERO).unwrap();
            }
            StateRoot::update_storage(txn, account, &slots).unwrap();
            accounts.retain(|kept| *kept != account);
            continue;
        }
        let existing: Vec<SlotHash> =
            txn.slots(&account, KeyRange::all()).unwrap().map(|entry| entry.unwrap().0).collect();
        let mut slots = BTreeSet::new();
        for _ in 0..rng.below(12) {
            let slot = if existing.is_empty() || rng.chance(1, 2) {
                SlotHash(hash(rng))
            } else {
                existing[rng.below(existing.len())]
            };
            let value = if rng.chance(1, 4) { U256::ZERO } else { U256::from(rng.next_u64()) };
            txn.put_slot(&account, &slot, value).unwrap();
            slots.insert(slot);
        }
        let storage_root = StateRoot::update_storage(txn, account, &slots).unwrap();
        let account_value = TrieAccount {
            nonce: rng.next_u64() % 5,
            balance: U256::from(rng.next_u64()),
            storage_root,
            ..TrieAccount::default()
        };
        txn.put_account(&account, &account_value).unwrap();
    }
    StateRoot::update_accounts(txn, &changed_accounts).unwrap()
}

#[test]
fn incremental_updates_leave_the_root_and_nodes_of_a_full_rebuild() {
    let etl = CollectorConfig::new(1 << 20);
    for seed in 0..12 {
        let mut rng = TestRng::new(seed);
        let store = MapStore::new();
        let mut accounts = Vec::new();
        for round in 0..15 {
            let mut txn = store.writer().unwrap();
            let root = change(&mut txn, &mut rng, &mut accounts);
            txn.commit().unwrap();

            let view = store.reader().unwrap();
            let report = compute_state_root(&view).unwrap();
            assert!(report.is_consistent(), "seed {seed} round {round}: {report:?}");
            assert_eq!(root, report.state_root, "seed {seed} round {round}");
            let incremental = nodes(&view);
            drop(view);
            let mut txn = store.writer().unwrap();
            let rebuilt = rebuild_state_trie_in(&mut txn, &etl).unwrap();
            assert_eq!(rebuilt.report.state_root, root);
            assert_eq!(nodes(&txn), incremental, "seed {seed} round {round}");
            // Dropped: the next round continues from the incrementally written nodes.
        }
        let _ = EMPTY_ROOT_HASH;
        let _: BTreeMap<u8, u8> = BTreeMap::new();
    }
}

/// An account with a distinct balance, and its hash with first nibble `nibble`.
fn account_at(nibble: u8, balance: u64) -> (AccountHash, TrieAccount) {
    let mut hash = [0x11; 32];
    hash[0] = nibble << 4 | 0x01;
    let account = TrieAccount { balance: U256::from(balance), ..TrieAccount::default() };
    (AccountHash(B256::from(hash)), account)
}

#[test]
fn a_branch_losing_a_child_collapses_into_its_unchanged_leaf() {
    let etl = CollectorConfig::new(1 << 20);
    let store = MapStore::new();
    let [a, b, c] = [account_at(0x1, 1), account_at(0x2, 2), account_at(0x3, 3)];
    let mut txn = store.writer().unwrap();
    for (hash, account) in [&a, &b, &c] {
        txn.put_account(hash, account).unwrap();
    }
    StateRoot::update_accounts(&mut txn, &[a.0, b.0, c.0].into()).unwrap();
    txn.commit().unwrap();

    // Changing `a` leaves the root a branch: `b` and `c` are taken by the hashes it names.
    let mut txn = store.writer().unwrap();
    let a_changed = TrieAccount { nonce: 1, ..a.1 };
    txn.put_account(&a.0, &a_changed).unwrap();
    let root = StateRoot::update_accounts(&mut txn, &[a.0].into()).unwrap();
    txn.commit().unwrap();
    assert_eq!(root, compute_state_root(&store.reader().unwrap()).unwrap().state_root);

    // Removing `a` and `b`: the root branch keeps one child, the leaf `c`, which must become the
    // root leaf with its whole key (its stored node, at path [3], hashes a shorter key).
    let mut txn = store.writer().unwrap();
    txn.delete_account(&a.0).unwrap();
    txn.delete_account(&b.0).unwrap();
    let root = StateRoot::update_accounts(&mut txn, &[a.0, b.0].into()).unwrap();
    let incremental = nodes(&txn);
    let rebuilt = rebuild_state_trie_in(&mut txn, &etl).unwrap();
    assert_eq!(root, rebuilt.report.state_root);
    assert_eq!(nodes(&txn), incremental);
    assert_eq!(incremental.0.len(), 1, "one node, the root leaf: {incremental:?}");
}
