//! One suite, run against both backends: every test below is instantiated once for the in-memory
//! backend and once for redb (in a temporary directory), by `backend_tests!`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, U256, keccak256};
use proptest::{prelude::*, test_runner::TestRunner};
use snapsync_db::test_utils::{TestDb, memory_db as memory, redb_db as redb};
use snapsync_db::{
    AccountTrieNodes, Bodies, Bytecodes, DbError, DecodeError, Durability, HashedAccounts,
    HashedStorages, HeaderNumbers, Headers, RedbDatabase, RedbOptions, SnapProgress,
    StageCheckpoints, StorageTrieNodes, Table, TableRead, compute_state_root,
};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{
    AccountTrie, StorageTrie, compute_storage_root, prove_account_range, prove_storage_range,
    rebuild_state_trie,
};
use snapsync_trie::{
    EMPTY_ROOT_HASH, Nibbles, NodeSource, StoredProofError, TrieBuilder, TrieNodeRef, VecSink,
    decode_node, trie_root, verify_range_proof,
};
use std::ops::RangeBounds;
use std::{
    collections::BTreeMap,
    ops::Bound,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

macro_rules! backend_tests {
    ($($test:ident),+ $(,)?) => {
        mod memory {
            $(#[test] fn $test() { super::$test(super::memory); })+
        }
        mod redb {
            $(#[test] fn $test() { super::$test(super::redb); })+
        }
    };
}

backend_tests!(
    put_get_delete,
    zero_storage_value_is_never_stored,
    range_order_both_directions,
    model_of_random_operations,
    snapshot_isolation,
    abort_on_drop,
    one_writer_at_a_time,
    bulk_append_into_empty_table,
    bulk_append_merges_into_existing_entries,
    bulk_append_rejects_unsorted_and_absent,
    typed_tables_round_trip,
    corrupt_entries_are_errors,
    durability_levels_commit_alike,
    state_root_of_random_states,
    storage_root_mismatches_and_orphans_are_reported,
    stored_trie_nodes_by_path_and_proofs,
    leaf_nodes_not_stored_are_derived_from_the_leaves,
    path_keys_iterate_in_trie_order,
    stale_or_foreign_roots_are_refused,
);

fn account(seed: u64) -> TrieAccount {
    TrieAccount {
        nonce: seed,
        balance: U256::from(seed) * U256::from(1_000_000_007u64),
        storage_root: EMPTY_ROOT_HASH,
        code_hash: keccak256(seed.to_be_bytes()),
    }
}

fn hash(seed: u64) -> AccountHash {
    AccountHash(keccak256(seed.to_be_bytes()))
}

fn put_get_delete(open: fn() -> TestDb) {
    let db = open();
    let mut txn = db.write().unwrap();
    txn.put::<HashedAccounts>(&hash(1), &account(1)).unwrap();
    txn.put::<Headers>(&7, &Bytes::from_static(b"header")).unwrap();
    assert_eq!(txn.get::<HashedAccounts>(&hash(1)).unwrap(), Some(account(1)), "read own write");
    txn.commit().unwrap();

    let view = db.view().unwrap();
    assert_eq!(view.get::<HashedAccounts>(&hash(1)).unwrap(), Some(account(1)));
    assert_eq!(view.get::<HashedAccounts>(&hash(2)).unwrap(), None);
    assert_eq!(view.get::<Headers>(&7).unwrap(), Some(Bytes::from_static(b"header")));
    assert_eq!(view.get::<Bodies>(&7).unwrap(), None, "a table never written is empty");

    let mut txn = db.write().unwrap();
    txn.put::<HashedAccounts>(&hash(1), &account(2)).unwrap();
    assert!(txn.delete::<Headers>(&7).unwrap());
    assert!(!txn.delete::<Headers>(&7).unwrap());
    assert!(!txn.delete::<Headers>(&8).unwrap());
    txn.commit().unwrap();
    let view = db.view().unwrap();
    assert_eq!(view.get::<HashedAccounts>(&hash(1)).unwrap(), Some(account(2)), "replaced");
    assert_eq!(view.get::<Headers>(&7).unwrap(), None);
}

fn zero_storage_value_is_never_stored(open: fn() -> TestDb) {
    let db = open();
    let key = (hash(1), SlotHash(B256::repeat_byte(3)));
    let mut txn = db.write().unwrap();
    txn.put::<HashedStorages>(&key, &U256::from(5)).unwrap();
    txn.commit().unwrap();
    let mut txn = db.write().unwrap();
    txn.put::<HashedStorages>(&key, &U256::ZERO).unwrap();
    assert_eq!(txn.get::<HashedStorages>(&key).unwrap(), None);
    txn.commit().unwrap();
    let view = db.view().unwrap();
    assert_eq!(view.get::<HashedStorages>(&key).unwrap(), None);
    assert_eq!(view.iter::<HashedStorages>().unwrap().count(), 0);
}

/// Keys put in random order come back sorted, both ways, over any bounds, and across the
/// backends' internal batch boundaries.
fn range_order_both_directions(open: fn() -> TestDb) {
    let db = open();
    let keys: Vec<u64> = (0..3000u64).map(|i| (i * 7919) % 5003).collect();
    let mut txn = db.write().unwrap();
    for key in &keys {
        txn.put::<Headers>(key, &Bytes::from(key.to_le_bytes().to_vec())).unwrap();
    }
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    let check = |read: &dyn Fn(Bound<u64>, Bound<u64>, bool) -> Vec<u64>| {
        assert_eq!(read(Bound::Unbounded, Bound::Unbounded, false), sorted);
        let mut reversed = sorted.clone();
        reversed.reverse();
        assert_eq!(read(Bound::Unbounded, Bound::Unbounded, true), reversed);
        for (lo, hi) in [(0, 0), (10, 20), (100, 4000), (4999, 6000), (20, 10)] {
            for (start, end) in [
                (Bound::Included(lo), Bound::Included(hi)),
                (Bound::Excluded(lo), Bound::Excluded(hi)),
                (Bound::Included(lo), Bound::Unbounded),
                (Bound::Unbounded, Bound::Excluded(hi)),
            ] {
                let expected: Vec<u64> = sorted
                    .iter()
                    .copied()
                    .filter(|k| RangeBounds::contains(&(start, end), k))
                    .collect();
                assert_eq!(read(start, end, false), expected, "{start:?}..{end:?}");
                let mut back = read(start, end, true);
                back.reverse();
                assert_eq!(back, expected, "reverse {start:?}..{end:?}");
            }
        }
    };
    // Inside the write transaction (reads merge its uncommitted writes) ...
    check(&|start, end, reverse| {
        let iter = if reverse {
            txn.range_rev::<Headers>((start, end)).unwrap()
        } else {
            txn.range::<Headers>((start, end)).unwrap()
        };
        iter.map(|e| e.unwrap().0).collect()
    });
    assert_eq!(txn.first::<Headers>().unwrap().unwrap().0, sorted[0]);
    txn.commit().unwrap();
    // ... and in a view of the commit.
    let view = db.view().unwrap();
    check(&|start, end, reverse| {
        let iter = if reverse {
            view.range_rev::<Headers>((start, end)).unwrap()
        } else {
            view.range::<Headers>((start, end)).unwrap()
        };
        iter.map(|e| e.unwrap().0).collect()
    });
    assert_eq!(view.first::<Headers>().unwrap().unwrap().0, sorted[0]);
    assert_eq!(view.last::<Headers>().unwrap().unwrap().0, *sorted.last().unwrap());
    assert_eq!(view.first::<Bodies>().unwrap(), None);
    assert_eq!(view.last::<Bodies>().unwrap(), None);
}

#[derive(Debug, Clone)]
enum Op {
    Put(u64, u8),
    Delete(u64),
    DeleteRange(u64, u64),
    Append(Vec<(u64, u8)>),
    Clear,
    Commit,
    Abort,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u64..64, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0u64..64).prop_map(Op::Delete),
        2 => (0u64..64, 0u64..64).prop_map(|(a, b)| Op::DeleteRange(a.min(b), a.max(b))),
        2 => prop::collection::btree_map(0u64..64, any::<u8>(), 0..20)
            .prop_map(|m| Op::Append(m.into_iter().collect())),
        1 => Just(Op::Clear),
        2 => Just(Op::Commit),
        1 => Just(Op::Abort),
    ]
}

fn contents(read: &impl TableRead) -> Vec<(u64, Bytes)> {
    read.iter::<Headers>().unwrap().map(Result::unwrap).collect()
}

/// Random puts, deletes, range deletes, appends, clears, commits and aborts behave like a `BTreeMap` with
/// transactions: the write transaction sees its own state, a view sees the last commit.
fn model_of_random_operations(open: fn() -> TestDb) {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(&prop::collection::vec(op(), 1..60), |ops| {
            let db = open();
            let mut committed: BTreeMap<u64, Bytes> = BTreeMap::new();
            let mut pending = committed.clone();
            let mut txn = db.write().unwrap();
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        txn.put::<Headers>(&k, &Bytes::from(vec![v])).unwrap();
                        pending.insert(k, Bytes::from(vec![v]));
                    }
                    Op::Delete(k) => {
                        let existed = txn.delete::<Headers>(&k).unwrap();
                        prop_assert_eq!(existed, pending.remove(&k).is_some());
                    }
                    Op::DeleteRange(first, last) => {
                        let removed = txn.delete_range::<Headers>(first..=last).unwrap();
                        let before = pending.len();
                        pending.retain(|key, _| !(first..=last).contains(key));
                        prop_assert_eq!(removed, (before - pending.len()) as u64);
                    }
                    Op::Append(entries) => {
                        let entries: Vec<(u64, Bytes)> =
                            entries.into_iter().map(|(k, v)| (k, Bytes::from(vec![v]))).collect();
                        let count = txn.append_sorted::<Headers, _, _, _>(entries.clone()).unwrap();
                        prop_assert_eq!(count, entries.len() as u64);
                        pending.extend(entries);
                    }
                    Op::Clear => {
                        txn.clear::<Headers>().unwrap();
                        pending.clear();
                    }
                    Op::Commit => {
                        txn.commit().unwrap();
                        committed = pending.clone();
                        txn = db.write().unwrap();
                    }
                    Op::Abort => {
                        drop(txn);
                        pending = committed.clone();
                        txn = db.write().unwrap();
                    }
                }
                let expected: Vec<_> = pending.clone().into_iter().collect();
                prop_assert_eq!(contents(&txn), expected);
                prop_assert_eq!(txn.count::<Headers>().unwrap(), pending.len() as u64);
                let mut reversed: Vec<_> =
                    txn.range_rev::<Headers>(..).unwrap().map(Result::unwrap).collect();
                reversed.reverse();
                prop_assert_eq!(reversed, contents(&txn));
            }
            drop(txn);
            let expected: Vec<_> = committed.into_iter().collect();
            prop_assert_eq!(db.view().unwrap().count::<Headers>().unwrap(), expected.len() as u64);
            prop_assert_eq!(contents(&db.view().unwrap()), expected);
            Ok(())
        })
        .unwrap();
}

fn snapshot_isolation(open: fn() -> TestDb) {
    let db = open();
    let mut txn = db.write().unwrap();
    txn.append_sorted::<Headers, _, _, _>((0..100u64).map(|n| (n, Bytes::from(vec![1])))).unwrap();
    txn.commit().unwrap();
    let before = db.view().unwrap();

    let mut txn = db.write().unwrap();
    txn.put::<Headers>(&500, &Bytes::from(vec![2])).unwrap();
    txn.delete::<Headers>(&0).unwrap();
    txn.clear::<Bodies>().unwrap();
    let during = db.view().unwrap();
    assert_eq!(during.get::<Headers>(&500).unwrap(), None, "uncommitted write is invisible");
    assert!(during.get::<Headers>(&0).unwrap().is_some(), "uncommitted delete is invisible");
    txn.commit().unwrap();

    let mut txn = db.write().unwrap();
    txn.clear::<Headers>().unwrap();
    txn.commit().unwrap();

    for view in [&before, &during] {
        assert_eq!(view.iter::<Headers>().unwrap().count(), 100, "later commits are invisible");
        assert_eq!(view.get::<Headers>(&500).unwrap(), None);
        assert_eq!(view.get::<Headers>(&0).unwrap(), Some(Bytes::from(vec![1])));
    }
    assert_eq!(db.view().unwrap().iter::<Headers>().unwrap().count(), 0);

    // Views are shareable across threads.
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(before.last::<Headers>().unwrap().unwrap().0, 99));
    });
}

fn abort_on_drop(open: fn() -> TestDb) {
    let db = open();
    let mut txn = db.write().unwrap();
    txn.put::<StageCheckpoints>(&"kept".to_owned(), &Bytes::from_static(b"1")).unwrap();
    txn.commit().unwrap();
    {
        let mut txn = db.write().unwrap();
        txn.put::<StageCheckpoints>(&"lost".to_owned(), &Bytes::from_static(b"2")).unwrap();
        txn.delete::<StageCheckpoints>(&"kept".to_owned()).unwrap();
        txn.append_sorted::<Headers, _, _, _>([(1u64, Bytes::from_static(b"h"))]).unwrap();
    }
    let view = db.view().unwrap();
    assert_eq!(view.get::<StageCheckpoints>(&"lost".to_owned()).unwrap(), None);
    assert!(view.get::<StageCheckpoints>(&"kept".to_owned()).unwrap().is_some());
    assert_eq!(view.iter::<Headers>().unwrap().count(), 0);
    // The writer slot was released by the drop.
    db.write().unwrap().commit().unwrap();
}

fn one_writer_at_a_time(open: fn() -> TestDb) {
    let db = open();
    let first = db.write().unwrap();
    let second_began = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut txn = db.write().unwrap();
            second_began.store(true, Ordering::SeqCst);
            txn.put::<Headers>(&2, &Bytes::from_static(b"b")).unwrap();
            txn.commit().unwrap();
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!second_began.load(Ordering::SeqCst), "a second writer began while one is open");
        drop(first);
    });
    assert!(second_began.load(Ordering::SeqCst));
    assert!(db.view().unwrap().get::<Headers>(&2).unwrap().is_some());
}

fn bulk_append_into_empty_table(open: fn() -> TestDb) {
    let db = open();
    let entries: Vec<(AccountHash, TrieAccount)> = {
        let mut v: Vec<_> = (0..20_000u64).map(|i| (hash(i), account(i))).collect();
        v.sort_by_key(|(h, _)| *h);
        v
    };
    let mut txn = db.write().unwrap();
    let count = txn.append_sorted::<HashedAccounts, _, _, _>(entries.iter().map(|(h, a)| (h, a)));
    assert_eq!(count.unwrap(), 20_000);
    txn.commit().unwrap();
    let view = db.view().unwrap();
    let stored: Vec<_> = view.iter::<HashedAccounts>().unwrap().map(Result::unwrap).collect();
    assert_eq!(stored, entries);
    assert_eq!(view.get::<HashedAccounts>(&entries[777].0).unwrap(), Some(entries[777].1));
}

fn bulk_append_merges_into_existing_entries(open: fn() -> TestDb) {
    let db = open();
    let value = |n: u64, tag: u8| Bytes::from(vec![tag; usize::try_from(n % 7).unwrap() + 1]);
    let mut model = BTreeMap::new();
    let mut txn = db.write().unwrap();
    // Even keys first, then a sorted stream of multiples of 3: it interleaves with them,
    // replaces the multiples of 6 and extends past the end.
    let evens: Vec<_> = (0..3000u64).map(|n| (2 * n, value(n, 1))).collect();
    txn.append_sorted::<Headers, _, _, _>(evens.clone()).unwrap();
    model.extend(evens);
    txn.commit().unwrap();
    let mut txn = db.write().unwrap();
    let threes: Vec<_> = (0..4000u64).map(|n| (3 * n, value(n, 2))).collect();
    assert_eq!(txn.append_sorted::<Headers, _, _, _>(threes.clone()).unwrap(), 4000);
    model.extend(threes);
    txn.commit().unwrap();
    let stored: BTreeMap<_, _> =
        db.view().unwrap().iter::<Headers>().unwrap().map(Result::unwrap).collect();
    assert_eq!(stored, model);
}

fn bulk_append_rejects_unsorted_and_absent(open: fn() -> TestDb) {
    let db = open();
    let mut txn = db.write().unwrap();
    let unsorted = [(5u64, Bytes::new()), (4, Bytes::new())];
    let err = txn.append_sorted::<Headers, _, _, _>(unsorted).unwrap_err();
    assert!(
        matches!(&err, DbError::Unsorted { table: "Headers", key, .. } if key == "0x0000000000000004"),
        "{err}"
    );
    drop(txn);
    let mut txn = db.write().unwrap();
    let duplicate = [(5u64, Bytes::new()), (5, Bytes::new())];
    assert!(matches!(
        txn.append_sorted::<Headers, _, _, _>(duplicate),
        Err(DbError::Unsorted { .. })
    ));
    drop(txn);
    let mut txn = db.write().unwrap();
    let zero = [((hash(1), SlotHash::ZERO), U256::ZERO)];
    assert!(matches!(
        txn.append_sorted::<HashedStorages, _, _, _>(zero),
        Err(DbError::AbsentValue { table: "HashedStorages", .. })
    ));
    // A failing source is reported with the table.
    let failing = [Ok((1u64, Bytes::new())), Err(std::io::Error::other("disk on fire"))];
    let err = txn.try_append_sorted::<Headers, _, _, _, _>(failing).unwrap_err();
    assert!(matches!(err, DbError::Source { table: "Headers", .. }), "{err}");
    drop(txn);
    assert_eq!(db.view().unwrap().iter::<Headers>().unwrap().count(), 0);
}

fn nibbles() -> impl Strategy<Value = Nibbles> {
    prop::collection::vec(0u8..16, 0..=64).prop_map(Nibbles::from_nibbles_unchecked)
}

fn b256() -> impl Strategy<Value = B256> + Clone {
    any::<[u8; 32]>().prop_map(B256::from)
}

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..600).prop_map(Bytes::from)
}

/// Writes `key → value` into `T` and reads it back, through `get` and through iteration.
fn round_trip<T: Table>(db: &TestDb, key: &T::Key, value: &T::Value) -> Result<(), TestCaseError>
where
    T::Key: PartialEq + std::fmt::Debug,
    T::Value: PartialEq + std::fmt::Debug,
{
    let mut txn = db.write().unwrap();
    txn.clear::<T>().unwrap();
    txn.put::<T>(key, value).unwrap();
    txn.commit().unwrap();
    let view = db.view().unwrap();
    let stored = view.get::<T>(key).unwrap();
    prop_assert_eq!(stored.as_ref(), Some(value));
    let all: Vec<_> = view.iter::<T>().unwrap().map(Result::unwrap).collect();
    prop_assert_eq!(all.len(), 1);
    prop_assert_eq!(&all[0].0, key);
    Ok(())
}

fn typed_tables_round_trip(open: fn() -> TestDb) {
    let db = open();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(32));
    let strategy = (
        (b256(), b256(), any::<u64>(), b256(), b256()),
        (1u64..u64::MAX, any::<u64>(), nibbles(), bytes(), ".{0,40}"),
    );
    runner
        .run(&strategy, |((a, s, nonce, root, code), (slot_value, number, path, blob, name))| {
            let (a, s) = (AccountHash(a), SlotHash(s));
            let account = TrieAccount {
                nonce,
                balance: U256::from(number),
                storage_root: root,
                code_hash: code,
            };
            round_trip::<HashedAccounts>(&db, &a, &account)?;
            round_trip::<HashedStorages>(&db, &(a, s), &(U256::from(slot_value) << 100))?;
            round_trip::<Bytecodes>(&db, &code, &blob)?;
            round_trip::<AccountTrieNodes>(&db, &path, &blob)?;
            round_trip::<StorageTrieNodes>(&db, &(a, path), &blob)?;
            round_trip::<Headers>(&db, &number, &blob)?;
            round_trip::<HeaderNumbers>(&db, &root, &number)?;
            round_trip::<Bodies>(&db, &number, &blob)?;
            round_trip::<StageCheckpoints>(&db, &name, &blob)?;
            round_trip::<SnapProgress>(&db, &name, &blob)?;
            Ok(())
        })
        .unwrap();
}

/// Bytes that are not a table's encoding, written through the byte-level API, are reported
/// with table and key on read, never a panic.
fn corrupt_entries_are_errors(open: fn() -> TestDb) {
    let db = open();
    let key = hash(9);
    let mut raw = db.begin_write().unwrap();
    raw.put(HashedAccounts::NAME, key.as_ref(), b"\xc3\x01\x02\x03").unwrap();
    raw.put(HashedStorages::NAME, &[7; 64], &[0, 1]).unwrap();
    raw.put(AccountTrieNodes::NAME, &[1, 2, 0x20], b"node").unwrap();
    raw.put(Headers::NAME, &[1, 2, 3], b"short key").unwrap();
    raw.commit().unwrap();

    let view = db.view().unwrap();
    let err = view.get::<HashedAccounts>(&key).unwrap_err();
    let DbError::CorruptValue { table, key: shown, reason: DecodeError::Rlp(_) } = &err else {
        panic!("{err}")
    };
    assert_eq!((*table, shown.as_str()), ("HashedAccounts", key.to_string().as_str()));
    assert!(err.to_string().contains("HashedAccounts"), "{err}");
    let err = view.iter::<HashedStorages>().unwrap().next().unwrap().unwrap_err();
    assert!(matches!(err, DbError::CorruptValue { reason: DecodeError::NonCanonicalInteger, .. }));
    let err = view.iter::<AccountTrieNodes>().unwrap().next().unwrap().unwrap_err();
    assert!(matches!(
        err,
        DbError::CorruptKey { table: "AccountTrieNodes", reason: DecodeError::Nibble { .. }, .. }
    ));
    let err = view.first::<Headers>().unwrap_err();
    assert!(matches!(err, DbError::CorruptKey { reason: DecodeError::Length { got: 3, .. }, .. }));
    // A pass over the state reports the corrupt account instead of computing a root.
    assert!(compute_state_root(&view).is_err());
}

fn durability_levels_commit_alike(open: fn() -> TestDb) {
    let db = open();
    for (n, durability) in [(1u64, Durability::Deferred), (2, Durability::Immediate)] {
        let mut txn = db.write().unwrap();
        txn.set_durability(durability).unwrap();
        txn.put::<Headers>(&n, &Bytes::from_static(b"h")).unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(db.view().unwrap().iter::<Headers>().unwrap().count(), 2);
}

/// A random state: accounts with random storage, storage roots set to the true roots.
#[derive(Debug, Clone)]
struct State {
    accounts: BTreeMap<AccountHash, TrieAccount>,
    storages: BTreeMap<AccountHash, BTreeMap<SlotHash, U256>>,
}

fn rlp<T: alloy_rlp::Encodable>(value: &T) -> Vec<u8> {
    alloy_rlp::encode(value)
}

fn storage_leaves(slots: &BTreeMap<SlotHash, U256>) -> Vec<(SlotHash, Vec<u8>)> {
    slots.iter().map(|(s, v)| (*s, rlp(v))).collect()
}

fn account_leaves(state: &State) -> Vec<(AccountHash, Vec<u8>)> {
    state.accounts.iter().map(|(h, a)| (*h, rlp(a))).collect()
}

fn state() -> impl Strategy<Value = State> {
    state_of(b256(), 40, 80)
}

/// States of fewer than `accounts` accounts with fewer than `slots` slots each, all keys drawn
/// from `keys`.
fn state_of(
    keys: impl Strategy<Value = B256> + Clone,
    slots: usize,
    accounts: usize,
) -> impl Strategy<Value = State> {
    let slots = prop::collection::btree_map(
        keys.clone().prop_map(SlotHash),
        any::<u128>().prop_map(|v| U256::from(v | 1)),
        0..slots,
    );
    prop::collection::btree_map(keys.prop_map(AccountHash), (any::<u64>(), slots), 0..accounts)
        .prop_map(|raw| {
            let mut accounts = BTreeMap::new();
            let mut storages = BTreeMap::new();
            for (hash, (nonce, slots)) in raw {
                let storage_root = trie_root(storage_leaves(&slots)).unwrap();
                accounts.insert(hash, TrieAccount { nonce, storage_root, ..account(nonce) });
                if !slots.is_empty() {
                    storages.insert(hash, slots);
                }
            }
            State { accounts, storages }
        })
}

fn load(db: &TestDb, state: &State) {
    let mut txn = db.write().unwrap();
    txn.clear::<HashedAccounts>().unwrap();
    txn.clear::<HashedStorages>().unwrap();
    txn.append_sorted::<HashedAccounts, _, _, _>(&state.accounts).unwrap();
    let slots = state
        .storages
        .iter()
        .flat_map(|(account, slots)| slots.iter().map(|(slot, value)| ((*account, *slot), *value)));
    txn.append_sorted::<HashedStorages, _, _, _>(slots).unwrap();
    txn.commit().unwrap();
}

fn state_root_of_random_states(open: fn() -> TestDb) {
    let db = open();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(&state(), |state| {
            load(&db, &state);
            let view = db.view().unwrap();
            let report = compute_state_root(&view).unwrap();
            prop_assert_eq!(report.state_root, trie_root(account_leaves(&state)).unwrap());
            prop_assert!(report.is_consistent(), "{:?}", report);
            prop_assert_eq!(report.accounts, state.accounts.len() as u64);
            let slots: usize = state.storages.values().map(BTreeMap::len).sum();
            prop_assert_eq!(report.storage_slots, slots as u64);
            for (account, slots) in &state.storages {
                let root = compute_storage_root(&view, *account).unwrap();
                prop_assert_eq!(root, trie_root(storage_leaves(slots)).unwrap());
            }
            Ok(())
        })
        .unwrap();
}

fn storage_root_mismatches_and_orphans_are_reported(open: fn() -> TestDb) {
    let db = open();
    let mut state = State { accounts: BTreeMap::new(), storages: BTreeMap::new() };
    for i in 0..10u64 {
        let slots: BTreeMap<_, _> =
            (0..i).map(|s| (SlotHash(keccak256(s.to_be_bytes())), U256::from(s + 1))).collect();
        let storage_root = trie_root(storage_leaves(&slots)).unwrap();
        state.accounts.insert(hash(i), TrieAccount { storage_root, ..account(i) });
        state.storages.insert(hash(i), slots);
    }
    let victim = *state.accounts.keys().nth(4).unwrap();
    let true_root = state.accounts[&victim].storage_root;
    state.accounts.get_mut(&victim).unwrap().storage_root = B256::repeat_byte(0xee);
    let orphan = *state.accounts.keys().nth(6).unwrap();
    state.accounts.remove(&orphan);
    load(&db, &state);

    let report = compute_state_root(&db.view().unwrap()).unwrap();
    assert_eq!(report.storage_mismatches.len(), 1);
    let mismatch = report.storage_mismatches[0];
    assert_eq!(
        (mismatch.account, mismatch.stored, mismatch.computed),
        (victim, B256::repeat_byte(0xee), true_root)
    );
    let orphans_expected: Vec<_> =
        if state.storages[&orphan].is_empty() { vec![] } else { vec![orphan] };
    assert_eq!(report.orphan_storages, orphans_expected);
    assert!(!report.is_consistent());
    assert_eq!(report.state_root, trie_root(account_leaves(&state)).unwrap());
}

/// Builds the nodes `TrieBuilder` emits for `leaves`, by path.
fn expected_nodes<K: AsRef<[u8]>>(leaves: &[(K, Vec<u8>)]) -> (B256, BTreeMap<Nibbles, Bytes>) {
    let mut builder = TrieBuilder::new(VecSink::default());
    for (key, value) in leaves {
        builder.add_leaf(key.as_ref(), value).unwrap();
    }
    let (root, sink) = builder.finish().unwrap();
    (root, sink.nodes.into_iter().collect())
}

/// Checks that `proof` proves that `leaves` are the trie's entries from `origin` to the last one.
fn check_proof<K: AsRef<[u8]>>(
    root: B256,
    origin: &[u8],
    leaves: &[(K, Vec<u8>)],
    proof: &[Bytes],
) -> Result<(), TestCaseError> {
    let keys: Vec<&[u8]> = leaves.iter().map(|(k, _)| k.as_ref()).collect();
    let values: Vec<&[u8]> = leaves.iter().map(|(_, v)| v.as_slice()).collect();
    let verified = verify_range_proof(root, origin, &keys, &values, proof);
    prop_assert!(verified.is_ok(), "proof rejected: {:?}", verified);
    Ok(())
}

fn stored_trie_nodes_by_path_and_proofs(open: fn() -> TestDb) {
    let db = open();
    let etl = CollectorConfig::new(4096);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(16));
    runner
        .run(
            &(state(), any::<prop::sample::Index>(), any::<prop::sample::Index>()),
            |(state, i, j)| {
                load(&db, &state);
                let mut txn = db.write().unwrap();
                let report =
                    rebuild_state_trie(&db.view().unwrap(), &mut txn, &etl).unwrap().report;
                txn.commit().unwrap();
                let view = db.view().unwrap();

                // Every node the builder emits but the leaf nodes below the root is stored at
                // its path, and nothing else is; each is found at its path.
                let leaves = account_leaves(&state);
                let (root, nodes) = expected_nodes(&leaves);
                prop_assert_eq!(report.state_root, root);
                let stored: BTreeMap<_, _> =
                    view.iter::<AccountTrieNodes>().unwrap().map(Result::unwrap).collect();
                prop_assert_eq!(&stored, &without_leaf_nodes(&nodes));
                for (path, node) in &nodes {
                    let stored = AccountTrie::new(&view).node(path).unwrap();
                    prop_assert_eq!(stored.as_ref(), Some(node));
                }
                let mut storage_nodes = 0;
                for (account, slots) in &state.storages {
                    let (storage_root, nodes) = expected_nodes(&storage_leaves(slots));
                    prop_assert_eq!(storage_root, state.accounts[account].storage_root);
                    for (path, node) in &nodes {
                        let stored = StorageTrie::new(&view, *account).node(path).unwrap();
                        prop_assert_eq!(stored.as_ref(), Some(node));
                    }
                    storage_nodes += without_leaf_nodes(&nodes).len();
                }
                prop_assert_eq!(view.iter::<StorageTrieNodes>().unwrap().count(), storage_nodes);

                // Range proofs served from the stored trie verify.
                if !leaves.is_empty() {
                    let (a, b) = (i.index(leaves.len()), j.index(leaves.len()));
                    let (from, to) = (a.min(b), a.max(b));
                    let range = &leaves[from..=to];
                    let proof = prove_account_range(
                        &view,
                        root,
                        range[0].0,
                        Some(range[range.len() - 1].0),
                    )
                    .unwrap();
                    check_proof(root, range[0].0.as_ref(), range, &proof)?;
                    // A proof from the origin 0x00.. covers the leaves up to `to`.
                    let proof =
                        prove_account_range(&view, root, AccountHash::ZERO, Some(leaves[to].0))
                            .unwrap();
                    check_proof(root, AccountHash::ZERO.as_ref(), &leaves[..=to], &proof)?;
                }
                if let Some((account, slots)) = state.storages.iter().next() {
                    let leaves = storage_leaves(slots);
                    let root = state.accounts[account].storage_root;
                    let last = leaves[leaves.len() / 2].0;
                    let proof =
                        prove_storage_range(&view, *account, root, SlotHash::ZERO, Some(last))
                            .unwrap();
                    check_proof(
                        root,
                        SlotHash::ZERO.as_ref(),
                        &leaves[..=leaves.len() / 2],
                        &proof,
                    )?;
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Keys that share prefixes often: the first two bytes from a few values each, so the tries
/// have extensions and branches a few nibbles deep, and leaves beside them.
fn clustered_key() -> impl Strategy<Value = B256> + Clone {
    (prop::sample::select(vec![0x00u8, 0x01, 0x10, 0xff]), 0u8..3, any::<[u8; 30]>()).prop_map(
        |(first, second, rest)| {
            let mut key = [0u8; 32];
            key[0] = first;
            key[1] = second;
            key[2..].copy_from_slice(&rest);
            B256::from(key)
        },
    )
}

/// The paths of the leaf nodes below the root among `nodes`.
fn leaf_paths(nodes: &BTreeMap<Nibbles, Bytes>) -> Vec<Nibbles> {
    nodes
        .iter()
        .filter(|(path, node)| {
            !path.is_empty() && matches!(decode_node(node), Ok(TrieNodeRef::Leaf { .. }))
        })
        .map(|(path, _)| *path)
        .collect()
}

/// `nodes` without the leaf nodes below the root: what a store keeps of them.
fn without_leaf_nodes(nodes: &BTreeMap<Nibbles, Bytes>) -> BTreeMap<Nibbles, Bytes> {
    let mut kept = nodes.clone();
    for path in leaf_paths(nodes) {
        kept.remove(&path);
    }
    kept
}

/// `trie` finds exactly `nodes`: each at its path, and nothing at any other child path of the
/// root or of a node.
fn finds_exactly(
    trie: &impl NodeSource<Error = snapsync_storage::StoreError>,
    nodes: &BTreeMap<Nibbles, Bytes>,
) -> Result<(), TestCaseError> {
    for (path, node) in nodes {
        let found = trie.node(path).unwrap();
        prop_assert_eq!(found.as_ref(), Some(node), "at {:?}", path);
    }
    for parent in nodes.keys().chain(std::iter::once(&Nibbles::new())) {
        for nibble in 0..16 {
            let mut path = *parent;
            path.push(nibble);
            if !nodes.contains_key(&path) {
                prop_assert_eq!(trie.node(&path).unwrap(), None, "at {:?}", path);
            }
        }
    }
    Ok(())
}

/// Leaf nodes below the root are not stored (a rebuild writes none): each node a trie build
/// emits is still found at its path (the leaf nodes derived from the flat tables), nothing is
/// found at the other paths, and a table that holds the leaf nodes too (stored by a version
/// that kept them, or by execution's writes) finds and proves exactly the same.
fn leaf_nodes_not_stored_are_derived_from_the_leaves(open: fn() -> TestDb) {
    let db = open();
    let etl = CollectorConfig::new(4096);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(&(state_of(clustered_key(), 24, 48), any::<prop::sample::Index>()), |(state, at)| {
            load(&db, &state);
            let mut txn = db.write().unwrap();
            txn.clear::<AccountTrieNodes>().unwrap();
            txn.clear::<StorageTrieNodes>().unwrap();
            rebuild_state_trie(&db.view().unwrap(), &mut txn, &etl).unwrap();
            txn.commit().unwrap();
            let leaves = account_leaves(&state);
            let (root, nodes) = expected_nodes(&leaves);
            let storage_nodes: BTreeMap<_, _> = state
                .storages
                .iter()
                .map(|(account, slots)| (*account, expected_nodes(&storage_leaves(slots)).1))
                .collect();
            let last = (!leaves.is_empty()).then(|| leaves[at.index(leaves.len())].0);
            let prove = |view: &_| {
                last.map(|last| {
                    prove_account_range(view, root, AccountHash::ZERO, Some(last)).unwrap()
                })
            };
            let finds_all = |view: &_| -> Result<(), TestCaseError> {
                finds_exactly(&AccountTrie::new(view), &nodes)?;
                for (account, nodes) in &storage_nodes {
                    finds_exactly(&StorageTrie::new(view, *account), nodes)?;
                }
                Ok(())
            };
            let view = db.view().unwrap();
            let stored = view.iter::<AccountTrieNodes>().unwrap().count();
            prop_assert_eq!(stored, without_leaf_nodes(&nodes).len());
            finds_all(&view)?;
            let proof = prove(&view);
            drop(view);

            let mut txn = db.write().unwrap();
            for path in leaf_paths(&nodes) {
                txn.put::<AccountTrieNodes>(&path, &nodes[&path]).unwrap();
            }
            for (account, nodes) in &storage_nodes {
                for path in leaf_paths(nodes) {
                    txn.put::<StorageTrieNodes>(&(*account, path), &nodes[&path]).unwrap();
                }
            }
            txn.commit().unwrap();
            let view = db.view().unwrap();
            prop_assert_eq!(view.iter::<AccountTrieNodes>().unwrap().count(), nodes.len());
            finds_all(&view)?;
            prop_assert_eq!(prove(&view), proof);
            Ok(())
        })
        .unwrap();
}

/// Paths stored in random order iterate in trie order (Nibbles order: a prefix before its
/// extensions, siblings by nibble), in both tables that hold them.
fn path_keys_iterate_in_trie_order(open: fn() -> TestDb) {
    let db = open();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(16));
    runner
        .run(&prop::collection::vec(nibbles(), 1..200), |paths| {
            let account = hash(3);
            let mut txn = db.write().unwrap();
            txn.clear::<AccountTrieNodes>().unwrap();
            txn.clear::<StorageTrieNodes>().unwrap();
            for path in &paths {
                let node = Bytes::from(path.to_vec());
                txn.put::<AccountTrieNodes>(path, &node).unwrap();
                txn.put::<StorageTrieNodes>(&(account, *path), &node).unwrap();
                txn.put::<StorageTrieNodes>(&(hash(4), *path), &node).unwrap();
            }
            txn.commit().unwrap();
            let mut expected = paths.clone();
            expected.sort();
            expected.dedup();
            let view = db.view().unwrap();
            let stored: Vec<Nibbles> =
                view.iter::<AccountTrieNodes>().unwrap().map(|e| e.unwrap().0).collect();
            prop_assert_eq!(&stored, &expected);
            let first = (account, Nibbles::new());
            let storage: Vec<Nibbles> = view
                .range::<StorageTrieNodes>(first..(hash(3).checked_next().unwrap(), Nibbles::new()))
                .unwrap()
                .map(|e| e.unwrap().0.1)
                .collect();
            prop_assert_eq!(&storage, &expected);
            Ok(())
        })
        .unwrap();
}

fn stale_or_foreign_roots_are_refused(open: fn() -> TestDb) {
    let db = open();
    let mut state = State { accounts: BTreeMap::new(), storages: BTreeMap::new() };
    for i in 0..500u64 {
        state.accounts.insert(hash(i), account(i));
    }
    load(&db, &state);
    let mut txn = db.write().unwrap();
    let report = rebuild_state_trie(&db.view().unwrap(), &mut txn, &CollectorConfig::new(1 << 20));
    let root = report.unwrap().report.state_root;
    txn.commit().unwrap();
    let (first, last) = (hash(0).min(hash(1)), hash(0).max(hash(1)));
    assert!(prove_account_range(&db.view().unwrap(), root, first, Some(last)).is_ok());
    assert!(matches!(
        prove_account_range(&db.view().unwrap(), B256::repeat_byte(1), first, None),
        Err(StoredProofError::RootNotStored { .. })
    ));
    // Overwrite a node below the root with another valid-looking node: served proofs notice.
    let view = db.view().unwrap();
    let nodes: Vec<_> = view.iter::<AccountTrieNodes>().unwrap().map(Result::unwrap).collect();
    let (path, _) = nodes.iter().find(|(p, _)| p.len() == 1).unwrap().clone();
    let other = nodes.iter().find(|(p, _)| p.len() == 1 && *p != path).unwrap().1.clone();
    let mut txn = db.write().unwrap();
    txn.put::<AccountTrieNodes>(&path, &other).unwrap();
    txn.commit().unwrap();
    // A range starting under the overwritten node walks through it.
    let mut origin = [0u8; 32];
    origin[0] = path.get(0).unwrap() << 4;
    let origin = AccountHash(B256::from(origin));
    let err = prove_account_range(&db.view().unwrap(), root, origin, None).unwrap_err();
    assert!(matches!(err, StoredProofError::StaleNode { .. }), "{err}");
}

/// A client's own redb file: snapsync's tables are created inside it beside the client's, and
/// the state written through the storage seam reads back through a fresh handle.
#[test]
fn from_redb_shares_the_clients_file() {
    use ::redb::ReadableDatabase as _;
    use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.redb");
    let client_table: ::redb::TableDefinition<'_, u64, u64> =
        ::redb::TableDefinition::new("client");
    let handle = ::redb::Database::create(&path).unwrap();
    {
        let txn = handle.begin_write().unwrap();
        txn.open_table(client_table).unwrap().insert(7, 49).unwrap();
        txn.commit().unwrap();
    }
    let db = RedbDatabase::from_redb(handle, RedbOptions::default()).unwrap();
    let mut txn = db.writer().unwrap();
    let hash = snapsync_primitives::AccountHash::ZERO;
    txn.append_accounts(&mut [Ok((hash, snapsync_primitives::TrieAccount::EMPTY))].into_iter())
        .unwrap();
    StateWrite::commit(txn).unwrap();
    drop(db);

    let handle = ::redb::Database::create(&path).unwrap();
    {
        let txn = handle.begin_read().unwrap();
        assert_eq!(txn.open_table(client_table).unwrap().get(7).unwrap().unwrap().value(), 49);
    }
    let db = RedbDatabase::from_redb(handle, RedbOptions::default()).unwrap();
    let accounts: Vec<_> =
        db.reader().unwrap().accounts(KeyRange::all()).unwrap().map(Result::unwrap).collect();
    assert_eq!(accounts, [(hash, snapsync_primitives::TrieAccount::EMPTY)]);
}

/// A fork of the in-memory database keeps the state it was made from while both go on
/// committing: neither sees the other's later writes.
#[test]
fn a_memory_fork_is_independent_of_later_commits() {
    use snapsync_db::Database as _;
    let db = snapsync_db::MemoryDatabase::new();
    let mut txn = db.write().unwrap();
    txn.append_sorted::<Headers, _, _, _>((0..10u64).map(|n| (n, Bytes::from(vec![1])))).unwrap();
    txn.commit().unwrap();
    let fork = db.fork();

    let mut txn = db.write().unwrap();
    txn.put::<Headers>(&20, &Bytes::from(vec![2])).unwrap();
    txn.delete::<Headers>(&0).unwrap();
    txn.commit().unwrap();
    let mut txn = fork.write().unwrap();
    txn.put::<Headers>(&30, &Bytes::from(vec![3])).unwrap();
    txn.commit().unwrap();

    let (original, forked) = (db.view().unwrap(), fork.view().unwrap());
    assert_eq!(original.get::<Headers>(&0).unwrap(), None);
    assert_eq!(original.get::<Headers>(&20).unwrap(), Some(Bytes::from(vec![2])));
    assert_eq!(original.get::<Headers>(&30).unwrap(), None);
    assert_eq!(forked.get::<Headers>(&0).unwrap(), Some(Bytes::from(vec![1])));
    assert_eq!(forked.get::<Headers>(&20).unwrap(), None);
    assert_eq!(forked.get::<Headers>(&30).unwrap(), Some(Bytes::from(vec![3])));
    assert_eq!(forked.iter::<Headers>().unwrap().count(), 11);
}
