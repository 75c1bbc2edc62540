//! The incremental state root against a full recomputation, at about a million leaves.
//!
//! The state: 1,000,000 accounts (random hashes) in an in-memory snapsync database with its
//! stored trie. A "block" changes 300 accounts (balances and nonces) and the slots of 20
//! contracts; `incremental` updates the storage tries and the account trie from the stored
//! nodes ([`StateRoot`]), `full` recomputes the root from every leaf (`compute_state_root`).
//! Each iteration runs in a write transaction that is dropped, so every block starts from the
//! same state.
//!
//! `cargo bench -p snapsync-execution --bench state_root` (setup takes ~10 s).

#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{B256, U256, keccak256};
use criterion::{Criterion, criterion_group, criterion_main};
use snapsync_db::{Database, MemoryDatabase};
use snapsync_etl::CollectorConfig;
use snapsync_execution::StateRoot;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{
    StateRead, StateStore, StateWrite, compute_state_root, rebuild_state_trie_in,
};
use std::collections::BTreeSet;

const ACCOUNTS: u64 = 1_000_000;
const CONTRACTS: u64 = 1_000;
const SLOTS_PER_CONTRACT: u64 = 50;
const CHANGED_ACCOUNTS: u64 = 300;
const CHANGED_CONTRACTS: u64 = 20;
const CHANGED_SLOTS: u64 = 10;

fn account_hash(index: u64) -> AccountHash {
    AccountHash(keccak256(index.to_be_bytes()))
}

fn slot_hash(contract: u64, slot: u64) -> SlotHash {
    SlotHash(keccak256([contract.to_be_bytes(), slot.to_be_bytes()].concat()))
}

/// A million accounts, a thousand of them with 50 slots, with every trie node stored.
fn state() -> MemoryDatabase {
    let db = MemoryDatabase::new();
    let mut txn = StateStore::writer(&db).unwrap();
    let mut accounts: Vec<_> = (0..ACCOUNTS).map(|i| (account_hash(i), i)).collect();
    accounts.sort_unstable();
    let mut entries = accounts.iter().map(|(hash, i)| {
        Ok((*hash, TrieAccount { nonce: *i, balance: U256::from(*i), ..TrieAccount::default() }))
    });
    txn.append_accounts(&mut entries).unwrap();
    for contract in 0..CONTRACTS {
        for slot in 0..SLOTS_PER_CONTRACT {
            txn.put_slot(&account_hash(contract), &slot_hash(contract, slot), U256::from(slot + 1))
                .unwrap();
        }
    }
    // Storage roots into the accounts, then every node.
    for contract in 0..CONTRACTS {
        let slots: BTreeSet<SlotHash> =
            (0..SLOTS_PER_CONTRACT).map(|slot| slot_hash(contract, slot)).collect();
        let root = StateRoot::update_storage(&mut txn, account_hash(contract), &slots).unwrap();
        let hash = account_hash(contract);
        let mut account = txn.account(&hash).unwrap().unwrap();
        account.storage_root = root;
        txn.put_account(&hash, &account).unwrap();
    }
    rebuild_state_trie_in(&mut txn, &CollectorConfig::new(256 << 20)).unwrap();
    txn.commit().unwrap();
    db
}

/// One block's writes: changed balances and slots, the storage roots updated incrementally.
fn block_writes<W: StateWrite + ?Sized>(txn: &mut W, block: u64) -> BTreeSet<AccountHash> {
    let mut changed = BTreeSet::new();
    for contract in 0..CHANGED_CONTRACTS {
        let contract = (block * 7 + contract * 13) % CONTRACTS;
        let hash = account_hash(contract);
        let slots: BTreeSet<SlotHash> = (0..CHANGED_SLOTS)
            .map(|slot| slot_hash(contract, (slot + block) % (SLOTS_PER_CONTRACT * 2)))
            .collect();
        for slot in &slots {
            txn.put_slot(&hash, slot, U256::from(block + 1000)).unwrap();
        }
        let root = StateRoot::update_storage(txn, hash, &slots).unwrap();
        let mut account = txn.account(&hash).unwrap().unwrap();
        account.storage_root = root;
        txn.put_account(&hash, &account).unwrap();
        changed.insert(hash);
    }
    for i in 0..CHANGED_ACCOUNTS {
        let hash = account_hash((block * 1_009 + i * 3_331) % ACCOUNTS);
        let mut account = txn.account(&hash).unwrap().unwrap();
        account.balance += U256::from(1);
        account.nonce += 1;
        txn.put_account(&hash, &account).unwrap();
        changed.insert(hash);
    }
    changed
}

fn state_root(c: &mut Criterion) {
    let db = state();
    let mut group = c.benchmark_group("state_root_1m");
    group.sample_size(10);
    let mut block = 0;
    group.bench_function("incremental_block", |b| {
        b.iter(|| {
            block += 1;
            let mut txn = db.write().unwrap();
            let changed = block_writes(&mut txn, block);
            StateRoot::update_accounts(&mut txn, &changed).unwrap()
        });
    });
    group.bench_function("full_recompute_block", |b| {
        b.iter(|| {
            block += 1;
            let mut txn = db.write().unwrap();
            block_writes(&mut txn, block);
            compute_state_root(&txn).unwrap().state_root
        });
    });
    group.finish();
    let _: B256 = B256::ZERO;
}

criterion_group!(benches, state_root);
criterion_main!(benches);
