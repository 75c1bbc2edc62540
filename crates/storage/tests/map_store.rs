//! The storage seam's two implementations mean the same thing: random sequences of interface
//! operations run against [`MapStore`] (ordered maps), snapsync-db's `MemoryDatabase` and a
//! redb file, and every read (inside the transaction and after commit) must agree.
#![allow(unused_crate_dependencies, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use proptest::{collection::vec, prelude::*};
use snapsync_db::{MemoryDatabase, RedbDatabase, RedbOptions};
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::test_utils::MapStore;
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite, StoreError};
use std::ops::Bound;

fn hash(x: u8) -> B256 {
    B256::with_last_byte(x)
}
fn acct(x: u8) -> AccountHash {
    AccountHash(hash(x))
}
fn slot(x: u8) -> SlotHash {
    SlotHash(hash(x))
}
fn account(seed: u8) -> TrieAccount {
    TrieAccount { nonce: u64::from(seed), balance: U256::from(seed) << 70, ..TrieAccount::EMPTY }
}
fn path(nibbles: &[u8]) -> Nibbles {
    Nibbles::from_nibbles(nibbles)
}
fn node(seed: u8) -> Bytes {
    Bytes::from(vec![seed; usize::from(seed % 5) + 1])
}

/// One interface operation, over small key spaces so operations collide.
#[derive(Debug, Clone)]
enum Op {
    AppendAccounts(Vec<(u8, u8)>),
    PutAccount(u8, u8),
    DeleteAccount(u8),
    DeleteAccounts(u8, u8),
    AppendSlots(Vec<(u8, u8, u8)>),
    PutSlot(u8, u8, u8),
    DeleteSlots(u8, u8, u8, u8),
    AppendCodes(Vec<(u8, u8)>),
    PutCode(u8, u8),
    AppendAccountNodes(Vec<(Vec<u8>, u8)>),
    PutAccountNode(Vec<u8>, u8),
    DeleteAccountNodes(Vec<u8>, Vec<u8>),
    AppendStorageNodes(Vec<(u8, Vec<u8>, u8)>),
    PutStorageNode(u8, Vec<u8>, u8),
    DeleteStorageNodes(u8, Vec<u8>, u8, Vec<u8>),
    ClearState,
    PutHeader(u8, u8),
    DeleteHeader(u8, u8),
    PutBody(u8, u8),
    DeleteBody(u8),
    SetCheckpoint(u8, u8),
    DeleteCheckpoint(u8),
    SetProgress(u8, u8),
    DeleteProgress(u8),
    Commit,
    Abort,
}

fn small_path() -> impl Strategy<Value = Vec<u8>> {
    vec(0u8..3, 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0u8..12;
    prop_oneof![
        vec((k(), any::<u8>()), 0..6).prop_map(Op::AppendAccounts),
        (k(), any::<u8>()).prop_map(|(a, b)| Op::PutAccount(a, b)),
        k().prop_map(Op::DeleteAccount),
        (k(), k()).prop_map(|(a, b)| Op::DeleteAccounts(a, b)),
        vec((0u8..4, k(), 0u8..4), 0..6).prop_map(Op::AppendSlots),
        (0u8..4, k(), 0u8..4).prop_map(|(a, s, v)| Op::PutSlot(a, s, v)),
        (0u8..4, k(), 0u8..4, k()).prop_map(|(a, s, b, t)| Op::DeleteSlots(a, s, b, t)),
        vec((k(), any::<u8>()), 0..4).prop_map(Op::AppendCodes),
        (k(), any::<u8>()).prop_map(|(a, b)| Op::PutCode(a, b)),
        vec((small_path(), any::<u8>()), 0..6).prop_map(Op::AppendAccountNodes),
        (small_path(), any::<u8>()).prop_map(|(p, n)| Op::PutAccountNode(p, n)),
        (small_path(), small_path()).prop_map(|(a, b)| Op::DeleteAccountNodes(a, b)),
        vec((0u8..3, small_path(), any::<u8>()), 0..6).prop_map(Op::AppendStorageNodes),
        (0u8..3, small_path(), any::<u8>()).prop_map(|(a, p, n)| Op::PutStorageNode(a, p, n)),
        (0u8..3, small_path(), 0u8..3, small_path())
            .prop_map(|(a, p, b, q)| Op::DeleteStorageNodes(a, p, b, q)),
        Just(Op::ClearState),
        (k(), any::<u8>()).prop_map(|(n, h)| Op::PutHeader(n, h)),
        (k(), any::<u8>()).prop_map(|(n, h)| Op::DeleteHeader(n, h)),
        (k(), any::<u8>()).prop_map(|(n, b)| Op::PutBody(n, b)),
        k().prop_map(Op::DeleteBody),
        (0u8..3, any::<u8>()).prop_map(|(s, r)| Op::SetCheckpoint(s, r)),
        (0u8..3).prop_map(Op::DeleteCheckpoint),
        (0u8..3, any::<u8>()).prop_map(|(s, r)| Op::SetProgress(s, r)),
        (0u8..3).prop_map(Op::DeleteProgress),
        Just(Op::Commit),
        Just(Op::Abort),
    ]
}

/// Mostly sorted (so most appends succeed), sometimes as generated (so `Unsorted` is checked).
fn maybe_sorted<T: Ord + Clone>(mut entries: Vec<T>, key: impl Fn(&T) -> Vec<u8>) -> Vec<T> {
    let raw = entries.clone();
    entries.sort();
    entries.dedup_by(|a, b| key(a) == key(b));
    if raw.len() % 4 == 3 { raw } else { entries }
}

fn all<T>(iter: Result<snapsync_storage::StoreIter<'_, T>, StoreError>) -> Vec<T> {
    iter.unwrap().map(Result::unwrap).collect()
}

/// Everything a reader can tell, through every read method.
fn dump(r: &dyn StateRead) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String| out.push_str(&format!("{name}: {value}\n"));
    line("accounts", format!("{:?}", all(r.accounts(KeyRange::all()))));
    line("accounts 3..=7", format!("{:?}", all(r.accounts((acct(3)..=acct(7)).into()))));
    line("accounts 7..3", format!("{:?}", all(r.accounts((acct(7)..acct(3)).into()))));
    line("slots", format!("{:?}", all(r.all_slots(KeyRange::all()))));
    for a in 0..4 {
        let from = KeyRange::from(slot(4)..);
        line("slots of", format!("{:?}", all(r.slots(&acct(a), from))));
        for s in 0..12 {
            line("slot", format!("{:?}", r.slot(&acct(a), &slot(s)).unwrap()));
        }
    }
    for x in 0..12 {
        line("account", format!("{:?}", r.account(&acct(x)).unwrap()));
        line("code", format!("{:?}", r.code(&hash(x)).unwrap()));
        line("header", format!("{:?}", r.header(u64::from(x)).unwrap()));
        line("body", format!("{:?}", r.body(u64::from(x)).unwrap()));
    }
    line("codes", format!("{:?}", all(r.codes((hash(2)..hash(9)).into()))));
    line("account nodes", format!("{:?}", all(r.account_nodes(KeyRange::all()))));
    let under_1 = KeyRange::from(path(&[1])..path(&[2]));
    line("account nodes 1", format!("{:?}", all(r.account_nodes(under_1.clone()))));
    line("storage nodes", format!("{:?}", all(r.all_storage_nodes(KeyRange::all()))));
    for a in 0..3 {
        line("storage nodes of", format!("{:?}", all(r.storage_nodes(&acct(a), under_1.clone()))));
        line("storage node", format!("{:?}", r.storage_node(&acct(a), &path(&[1, 0])).unwrap()));
    }
    line("account node", format!("{:?}", r.account_node(&path(&[])).unwrap()));
    line("headers", format!("{:?}", all(r.headers((3..).into()))));
    line("bodies", format!("{:?}", all(r.bodies(KeyRange::all()))));
    line("first header", format!("{:?}", r.first_header().unwrap()));
    line("last header", format!("{:?}", r.last_header().unwrap()));
    line("last body", format!("{:?}", r.last_body().unwrap()));
    for h in [0u8, 1, 2, 200] {
        line("number", format!("{:?}", r.header_number(&hash(h)).unwrap()));
    }
    for s in 0..3 {
        line("checkpoint", format!("{:?}", r.checkpoint(&format!("stage-{s}")).unwrap()));
        line("progress", format!("{:?}", r.progress(&format!("key-{s}")).unwrap()));
    }
    line("progress records", format!("{:?}", all(r.progress_records())));
    line(
        "counts",
        format!(
            "{} {} {}",
            r.count_account_nodes().unwrap(),
            r.count_storage_nodes().unwrap(),
            r.is_state_empty().unwrap()
        ),
    );
    out
}

/// What an operation returned: a count or flag, or the kind of error.
fn outcome<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(StoreError::Unsorted { collection, .. }) => format!("unsorted {collection}"),
        Err(StoreError::ZeroValue { collection, .. }) => format!("zero {collection}"),
        Err(error) => panic!("unexpected store error: {error}"),
    }
}

fn ok<T>(iter: Vec<T>) -> impl Iterator<Item = Result<T, StoreError>> {
    iter.into_iter().map(Ok)
}

fn apply<W: StateWrite>(txn: &mut W, op: &Op) -> String {
    match op.clone() {
        Op::AppendAccounts(e) => {
            let e = maybe_sorted(e, |(a, _)| vec![*a]);
            outcome(
                txn.append_accounts(&mut ok(e
                    .iter()
                    .map(|&(a, s)| (acct(a), account(s)))
                    .collect())),
            )
        }
        Op::PutAccount(a, s) => outcome(txn.put_account(&acct(a), &account(s))),
        Op::DeleteAccount(a) => outcome(txn.delete_account(&acct(a))),
        Op::DeleteAccounts(a, b) => outcome(txn.delete_accounts((acct(a)..=acct(b)).into())),
        Op::AppendSlots(e) => {
            let e = maybe_sorted(e, |(a, s, _)| vec![*a, *s]);
            let e = e.iter().map(|&(a, s, v)| (acct(a), slot(s), U256::from(v))).collect();
            outcome(txn.append_slots(&mut ok(e)))
        }
        Op::PutSlot(a, s, v) => outcome(txn.put_slot(&acct(a), &slot(s), U256::from(v))),
        Op::DeleteSlots(a, s, b, t) => {
            outcome(txn.delete_slots(((acct(a), slot(s))..(acct(b), slot(t))).into()))
        }
        Op::AppendCodes(e) => {
            let e = maybe_sorted(e, |(h, _)| vec![*h]);
            outcome(txn.append_codes(&mut ok(e.iter().map(|&(h, c)| (hash(h), node(c))).collect())))
        }
        Op::PutCode(h, c) => outcome(txn.put_code(&hash(h), &node(c))),
        Op::AppendAccountNodes(e) => {
            let e = maybe_sorted(e, |(p, _)| p.clone());
            let e = e.iter().map(|(p, n)| (path(p), node(*n))).collect();
            outcome(txn.append_account_nodes(&mut ok(e)))
        }
        Op::PutAccountNode(p, n) => outcome(txn.put_account_node(&path(&p), &node(n))),
        Op::DeleteAccountNodes(p, q) => outcome(txn.delete_account_nodes(KeyRange::new(
            Bound::Excluded(path(&p)),
            Bound::Included(path(&q)),
        ))),
        Op::AppendStorageNodes(e) => {
            let e = maybe_sorted(e, |(a, p, _)| [vec![*a], p.clone()].concat());
            let e = e.iter().map(|(a, p, n)| (acct(*a), path(p), node(*n))).collect();
            outcome(txn.append_storage_nodes(&mut ok(e)))
        }
        Op::PutStorageNode(a, p, n) => outcome(txn.put_storage_node(&acct(a), &path(&p), &node(n))),
        Op::DeleteStorageNodes(a, p, b, q) => {
            outcome(txn.delete_storage_nodes(((acct(a), path(&p))..=(acct(b), path(&q))).into()))
        }
        Op::ClearState => outcome(txn.clear_state()),
        Op::PutHeader(n, h) => outcome(txn.put_header(u64::from(n), &hash(h), &node(h))),
        Op::DeleteHeader(n, h) => outcome(txn.delete_header(u64::from(n), &hash(h))),
        Op::PutBody(n, b) => outcome(txn.put_body(u64::from(n), &node(b))),
        Op::DeleteBody(n) => outcome(txn.delete_body(u64::from(n))),
        Op::SetCheckpoint(s, r) => outcome(txn.set_checkpoint(&format!("stage-{s}"), &node(r))),
        Op::DeleteCheckpoint(s) => outcome(txn.delete_checkpoint(&format!("stage-{s}"))),
        Op::SetProgress(s, r) => outcome(txn.set_progress(&format!("key-{s}"), &node(r))),
        Op::DeleteProgress(s) => outcome(txn.delete_progress(&format!("key-{s}"))),
        Op::Commit | Op::Abort => unreachable!("handled by the driver"),
    }
}

/// One store under test, with its open transaction.
trait Driver {
    fn step(&mut self, op: &Op) -> String;
    fn dump_txn(&self) -> String;
    fn dump_committed(&self) -> String;
}

struct Harness<S: StateStore> {
    store: S,
    txn: Option<S::Writer>,
}

impl<S: StateStore> Harness<S> {
    fn new(store: S) -> Self {
        let txn = Some(store.writer().unwrap());
        Self { store, txn }
    }
}

impl<S: StateStore> Driver for Harness<S> {
    fn step(&mut self, op: &Op) -> String {
        match op {
            Op::Commit => {
                self.txn.take().unwrap().commit().unwrap();
                self.txn = Some(self.store.writer().unwrap());
                "committed".into()
            }
            Op::Abort => {
                self.txn = None;
                self.txn = Some(self.store.writer().unwrap());
                "aborted".into()
            }
            op => {
                let result = apply(self.txn.as_mut().unwrap(), op);
                if !result.starts_with("ok") {
                    // A failed append leaves part of it in the transaction: abort, as callers must.
                    self.txn = None;
                    self.txn = Some(self.store.writer().unwrap());
                }
                result
            }
        }
    }

    fn dump_txn(&self) -> String {
        dump(self.txn.as_ref().unwrap())
    }

    fn dump_committed(&self) -> String {
        dump(&self.store.reader().unwrap())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn map_store_memory_and_redb_agree_on_every_read(ops in vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let redb = RedbDatabase::open(dir.path().join("db.redb"), RedbOptions::default()).unwrap();
        let mut drivers: Vec<(&str, Box<dyn Driver>)> = vec![
            ("map", Box::new(Harness::new(MapStore::new()))),
            ("memory", Box::new(Harness::new(MemoryDatabase::new()))),
            ("redb", Box::new(Harness::new(redb))),
        ];
        for (i, op) in ops.iter().enumerate() {
            let results: Vec<String> = drivers.iter_mut().map(|(_, d)| d.step(op)).collect();
            for (name, result) in drivers.iter().map(|(n, _)| n).zip(&results).skip(1) {
                prop_assert_eq!(&results[0], result, "op {} {:?}: map vs {}", i, op, name);
            }
            let txn: Vec<String> = drivers.iter().map(|(_, d)| d.dump_txn()).collect();
            let committed: Vec<String> = drivers.iter().map(|(_, d)| d.dump_committed()).collect();
            for k in 1..drivers.len() {
                prop_assert_eq!(&txn[0], &txn[k], "txn reads after op {} {:?}: map vs {}", i, op, drivers[k].0);
                prop_assert_eq!(&committed[0], &committed[k], "snapshot after op {} {:?}: map vs {}", i, op, drivers[k].0);
            }
        }
    }
}

/// A reader is a snapshot, a dropped writer leaves nothing, a second writer waits for the first.
#[test]
fn map_store_snapshots_abort_and_single_writer() {
    let store = MapStore::new();
    let mut txn = store.writer().unwrap();
    txn.put_account(&acct(1), &account(1)).unwrap();
    drop(txn);
    assert_eq!(store.reader().unwrap().account(&acct(1)).unwrap(), None);

    let before = store.reader().unwrap();
    let mut txn = store.writer().unwrap();
    txn.put_account(&acct(1), &account(1)).unwrap();
    let waiter = {
        let store = store.clone();
        std::thread::spawn(move || store.writer().unwrap().account(&acct(1)).unwrap())
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!waiter.is_finished(), "a second writer must wait for the first");
    txn.commit().unwrap();
    assert_eq!(waiter.join().unwrap(), Some(account(1)), "the second writer sees the commit");
    assert_eq!(before.account(&acct(1)).unwrap(), None, "an older snapshot is unchanged");
    assert_eq!(store.reader().unwrap().account(&acct(1)).unwrap(), Some(account(1)));
}
