//! [`MapStore`]: a second implementation of the storage seam, over plain ordered maps.
//!
//! It shares no code with snapsync-db (no byte keys, no codec, no tables): every collection is
//! a `BTreeMap` of typed keys and values. Test suites run against it beside snapsync-db's
//! backends to prove that snap sync and the stages reach storage only through
//! [`StateStore`], and that both implementations mean the same thing by it.
//!
//! Semantics, as the interface asks: readers are snapshots (an `Arc` of the committed maps);
//! one writer at a time (a second [`StateStore::writer`] call waits for the first to commit or
//! drop); a writer works on its own copy of the maps it touches and [`StateWrite::commit`]
//! swaps them in atomically; dropping a writer aborts it.

use crate::{
    Collection, Durability, KeyRange, SlotEntry, Sorted, StateRead, StateStore, StateWrite,
    StorageNodeEntry, StoreError, StoreIter,
};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use std::{
    collections::BTreeMap,
    fmt::Debug,
    sync::{Arc, Condvar, Mutex, PoisonError},
};

/// The committed maps; each behind an `Arc` so a writer copies only the maps it changes.
#[derive(Debug, Clone, Default)]
pub struct MapState {
    accounts: Arc<BTreeMap<AccountHash, TrieAccount>>,
    slots: Arc<BTreeMap<(AccountHash, SlotHash), U256>>,
    codes: Arc<BTreeMap<B256, Bytes>>,
    account_nodes: Arc<BTreeMap<Nibbles, Bytes>>,
    storage_nodes: Arc<BTreeMap<(AccountHash, Nibbles), Bytes>>,
    headers: Arc<BTreeMap<u64, Bytes>>,
    header_numbers: Arc<BTreeMap<B256, u64>>,
    bodies: Arc<BTreeMap<u64, Bytes>>,
    receipts: Arc<BTreeMap<u64, Bytes>>,
    checkpoints: Arc<BTreeMap<String, Bytes>>,
    progress: Arc<BTreeMap<String, Bytes>>,
}

/// A state store over ordered maps, in memory. Cheap to clone (clones share the store).
#[derive(Debug, Clone, Default)]
pub struct MapStore {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    committed: Mutex<Arc<MapState>>,
    writing: Mutex<bool>,
    writer_done: Condvar,
    on_commit: Option<CommitHook>,
}

/// A function every commit calls first (a test's slow disk, or its probe of what runs
/// meanwhile).
struct CommitHook(Box<dyn Fn() + Send + Sync>);

impl Debug for CommitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitHook")
    }
}

impl MapStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose every commit first calls `hook`, on the committing thread (a
    /// hook that sleeps makes commits slow, as a slow disk would).
    pub fn with_commit_hook(hook: impl Fn() + Send + Sync + 'static) -> Self {
        let shared = Shared { on_commit: Some(CommitHook(Box::new(hook))), ..Shared::default() };
        Self { shared: Arc::new(shared) }
    }

    fn committed(&self) -> Arc<MapState> {
        Arc::clone(&self.shared.committed.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl StateStore for MapStore {
    type Reader = MapReader;
    type Writer = MapWriter;

    fn backend_name(&self) -> &'static str {
        "map"
    }

    fn reader(&self) -> Result<MapReader, StoreError> {
        Ok(MapReader { state: self.committed() })
    }

    fn writer(&self) -> Result<MapWriter, StoreError> {
        let mut writing = self.shared.writing.lock().unwrap_or_else(PoisonError::into_inner);
        while *writing {
            writing = self.shared.writer_done.wait(writing).unwrap_or_else(PoisonError::into_inner);
        }
        *writing = true;
        drop(writing);
        let state = MapState::clone(&self.committed());
        Ok(MapWriter { state, shared: Arc::clone(&self.shared) })
    }
}

/// A snapshot of a [`MapStore`].
#[derive(Debug, Clone)]
pub struct MapReader {
    state: Arc<MapState>,
}

impl MapReader {
    fn state(&self) -> &MapState {
        &self.state
    }
}

/// The write transaction of a [`MapStore`]; dropping it aborts.
#[derive(Debug)]
pub struct MapWriter {
    state: MapState,
    shared: Arc<Shared>,
}

impl MapWriter {
    fn state(&self) -> &MapState {
        &self.state
    }
}

impl Drop for MapWriter {
    fn drop(&mut self) {
        *self.shared.writing.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.shared.writer_done.notify_one();
    }
}

fn range<'a, K: Ord + Clone + Send + Sync, V: Clone + Send + Sync, T: 'a>(
    map: &'a BTreeMap<K, V>,
    range: KeyRange<K>,
    f: impl Fn(&K, &V) -> T + Send + 'a,
) -> StoreIter<'a, T> {
    if range.is_empty() {
        return Box::new(std::iter::empty());
    }
    Box::new(map.range(range).map(move |(k, v)| Ok(f(k, v))))
}

fn last<K: Ord + Clone, V: Clone>(map: &BTreeMap<K, V>) -> Option<(K, V)> {
    map.last_key_value().map(|(k, v)| (k.clone(), v.clone()))
}

macro_rules! map_read {
    ($ty:ty) => {
        impl StateRead for $ty {
            fn account(&self, hash: &AccountHash) -> Result<Option<TrieAccount>, StoreError> {
                Ok(self.state().accounts.get(hash).copied())
            }

            fn accounts(
                &self,
                r: KeyRange<AccountHash>,
            ) -> Result<StoreIter<'_, (AccountHash, TrieAccount)>, StoreError> {
                Ok(range(&self.state().accounts, r, |k, v| (*k, *v)))
            }

            fn slot(
                &self,
                account: &AccountHash,
                slot: &SlotHash,
            ) -> Result<Option<U256>, StoreError> {
                Ok(self.state().slots.get(&(*account, *slot)).copied())
            }

            fn slots(
                &self,
                account: &AccountHash,
                r: KeyRange<SlotHash>,
            ) -> Result<StoreIter<'_, (SlotHash, U256)>, StoreError> {
                let r = crate::account_slots(*account, r);
                Ok(range(&self.state().slots, r, |(_, s), v| (*s, *v)))
            }

            fn all_slots(
                &self,
                r: KeyRange<(AccountHash, SlotHash)>,
            ) -> Result<StoreIter<'_, SlotEntry>, StoreError> {
                Ok(range(&self.state().slots, r, |(a, s), v| (*a, *s, *v)))
            }

            fn code(&self, hash: &B256) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().codes.get(hash).cloned())
            }

            fn codes(&self, r: KeyRange<B256>) -> Result<StoreIter<'_, (B256, Bytes)>, StoreError> {
                Ok(range(&self.state().codes, r, |k, v| (*k, v.clone())))
            }

            fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().account_nodes.get(path).cloned())
            }

            fn account_nodes(
                &self,
                r: KeyRange<Nibbles>,
            ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError> {
                Ok(range(&self.state().account_nodes, r, |k, v| (*k, v.clone())))
            }

            fn storage_node(
                &self,
                account: &AccountHash,
                path: &Nibbles,
            ) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().storage_nodes.get(&(*account, *path)).cloned())
            }

            fn storage_nodes(
                &self,
                account: &AccountHash,
                r: KeyRange<Nibbles>,
            ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError> {
                let r = crate::account_storage_nodes(*account, r);
                Ok(range(&self.state().storage_nodes, r, |(_, p), v| (*p, v.clone())))
            }

            fn all_storage_nodes(
                &self,
                r: KeyRange<(AccountHash, Nibbles)>,
            ) -> Result<StoreIter<'_, StorageNodeEntry>, StoreError> {
                Ok(range(&self.state().storage_nodes, r, |(a, p), v| (*a, *p, v.clone())))
            }

            fn header(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().headers.get(&number).cloned())
            }

            fn headers(&self, r: KeyRange<u64>) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(range(&self.state().headers, r, |k, v| (*k, v.clone())))
            }

            fn header_number(&self, hash: &B256) -> Result<Option<u64>, StoreError> {
                Ok(self.state().header_numbers.get(hash).copied())
            }

            fn last_header(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
                Ok(last(&self.state().headers))
            }

            fn body(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().bodies.get(&number).cloned())
            }

            fn bodies(&self, r: KeyRange<u64>) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(range(&self.state().bodies, r, |k, v| (*k, v.clone())))
            }

            fn last_body(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
                Ok(last(&self.state().bodies))
            }

            fn block_receipts(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().receipts.get(&number).cloned())
            }

            fn block_receipts_range(
                &self,
                r: KeyRange<u64>,
            ) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(range(&self.state().receipts, r, |k, v| (*k, v.clone())))
            }

            fn checkpoint(&self, stage: &str) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().checkpoints.get(stage).cloned())
            }

            fn progress(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
                Ok(self.state().progress.get(key).cloned())
            }

            fn progress_records(&self) -> Result<StoreIter<'_, (String, Bytes)>, StoreError> {
                Ok(range(&self.state().progress, KeyRange::all(), |k, v| (k.clone(), v.clone())))
            }
        }
    };
}

map_read!(MapReader);
map_read!(MapWriter);

/// Appends `entries` (strictly increasing keys, no zero value) into `map`.
fn append<K: Ord + Clone + Debug, V: Clone, T>(
    map: &mut Arc<BTreeMap<K, V>>,
    collection: Collection,
    entries: Sorted<'_, T>,
    split: impl Fn(T) -> (K, V),
    is_zero: impl Fn(&V) -> bool,
) -> Result<u64, StoreError> {
    let map = Arc::make_mut(map);
    let mut previous: Option<K> = None;
    let mut count = 0;
    for entry in entries {
        let (key, value) = split(entry?);
        if is_zero(&value) {
            return Err(StoreError::ZeroValue { collection, key: format!("{key:?}") });
        }
        if let Some(previous) = &previous
            && *previous >= key
        {
            return Err(StoreError::Unsorted {
                collection,
                previous: format!("{previous:?}"),
                key: format!("{key:?}"),
            });
        }
        map.insert(key.clone(), value);
        previous = Some(key);
        count += 1;
    }
    Ok(count)
}

/// Removes the keys of `map` in `r`; how many went.
fn delete_range<K: Ord + Clone, V: Clone>(map: &mut Arc<BTreeMap<K, V>>, r: KeyRange<K>) -> u64 {
    if r.is_empty() {
        return 0;
    }
    let doomed: Vec<K> = map.range(r).map(|(k, _)| k.clone()).collect();
    let map = Arc::make_mut(map);
    for key in &doomed {
        map.remove(key);
    }
    doomed.len() as u64
}

const fn never_zero<V>(_: &V) -> bool {
    false
}

impl StateWrite for MapWriter {
    fn append_accounts(
        &mut self,
        entries: Sorted<'_, (AccountHash, TrieAccount)>,
    ) -> Result<u64, StoreError> {
        append(&mut self.state.accounts, Collection::Accounts, entries, |e| e, never_zero)
    }

    fn append_slots(&mut self, entries: Sorted<'_, SlotEntry>) -> Result<u64, StoreError> {
        let split = |(a, s, v)| ((a, s), v);
        append(&mut self.state.slots, Collection::Slots, entries, split, U256::is_zero)
    }

    fn append_codes(&mut self, entries: Sorted<'_, (B256, Bytes)>) -> Result<u64, StoreError> {
        append(&mut self.state.codes, Collection::Codes, entries, |e| e, never_zero)
    }

    fn append_account_nodes(
        &mut self,
        entries: Sorted<'_, (Nibbles, Bytes)>,
    ) -> Result<u64, StoreError> {
        let map = &mut self.state.account_nodes;
        append(map, Collection::AccountNodes, entries, |e| e, never_zero)
    }

    fn append_storage_nodes(
        &mut self,
        entries: Sorted<'_, StorageNodeEntry>,
    ) -> Result<u64, StoreError> {
        let map = &mut self.state.storage_nodes;
        append(map, Collection::StorageNodes, entries, |(a, p, n)| ((a, p), n), never_zero)
    }

    fn put_account(&mut self, hash: &AccountHash, account: &TrieAccount) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.accounts).insert(*hash, *account);
        Ok(())
    }

    fn delete_account(&mut self, hash: &AccountHash) -> Result<bool, StoreError> {
        Ok(Arc::make_mut(&mut self.state.accounts).remove(hash).is_some())
    }

    fn delete_accounts(&mut self, r: KeyRange<AccountHash>) -> Result<u64, StoreError> {
        Ok(delete_range(&mut self.state.accounts, r))
    }

    fn put_slot(
        &mut self,
        account: &AccountHash,
        slot: &SlotHash,
        value: U256,
    ) -> Result<(), StoreError> {
        let slots = Arc::make_mut(&mut self.state.slots);
        if value.is_zero() {
            slots.remove(&(*account, *slot));
        } else {
            slots.insert((*account, *slot), value);
        }
        Ok(())
    }

    fn delete_slots(&mut self, r: KeyRange<(AccountHash, SlotHash)>) -> Result<u64, StoreError> {
        Ok(delete_range(&mut self.state.slots, r))
    }

    fn put_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.codes).insert(*hash, code.clone());
        Ok(())
    }

    fn put_account_node(&mut self, path: &Nibbles, node: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.account_nodes).insert(*path, node.clone());
        Ok(())
    }

    fn delete_account_nodes(&mut self, r: KeyRange<Nibbles>) -> Result<u64, StoreError> {
        Ok(delete_range(&mut self.state.account_nodes, r))
    }

    fn put_storage_node(
        &mut self,
        account: &AccountHash,
        path: &Nibbles,
        node: &Bytes,
    ) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.storage_nodes).insert((*account, *path), node.clone());
        Ok(())
    }

    fn delete_storage_nodes(
        &mut self,
        r: KeyRange<(AccountHash, Nibbles)>,
    ) -> Result<u64, StoreError> {
        Ok(delete_range(&mut self.state.storage_nodes, r))
    }

    fn clear_state(&mut self) -> Result<(), StoreError> {
        let state = &mut self.state;
        state.accounts = Arc::default();
        state.slots = Arc::default();
        state.account_nodes = Arc::default();
        state.storage_nodes = Arc::default();
        Ok(())
    }

    fn clear_trie_nodes(&mut self) -> Result<(), StoreError> {
        self.state.account_nodes = Arc::default();
        self.state.storage_nodes = Arc::default();
        Ok(())
    }

    fn put_header(&mut self, number: u64, hash: &B256, header: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.headers).insert(number, header.clone());
        Arc::make_mut(&mut self.state.header_numbers).insert(*hash, number);
        Ok(())
    }

    fn delete_header(&mut self, number: u64, hash: &B256) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.headers).remove(&number);
        Arc::make_mut(&mut self.state.header_numbers).remove(hash);
        Ok(())
    }

    fn put_body(&mut self, number: u64, body: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.bodies).insert(number, body.clone());
        Ok(())
    }

    fn delete_body(&mut self, number: u64) -> Result<bool, StoreError> {
        Ok(Arc::make_mut(&mut self.state.bodies).remove(&number).is_some())
    }

    fn put_block_receipts(&mut self, number: u64, receipts: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.receipts).insert(number, receipts.clone());
        Ok(())
    }

    fn delete_block_receipts(&mut self, number: u64) -> Result<bool, StoreError> {
        Ok(Arc::make_mut(&mut self.state.receipts).remove(&number).is_some())
    }

    fn set_checkpoint(&mut self, stage: &str, record: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.checkpoints).insert(stage.to_owned(), record.clone());
        Ok(())
    }

    fn delete_checkpoint(&mut self, stage: &str) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.checkpoints).remove(stage);
        Ok(())
    }

    fn set_progress(&mut self, key: &str, record: &Bytes) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.progress).insert(key.to_owned(), record.clone());
        Ok(())
    }

    fn delete_progress(&mut self, key: &str) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.state.progress).remove(key);
        Ok(())
    }

    fn set_durability(&mut self, _durability: Durability) -> Result<(), StoreError> {
        Ok(())
    }

    fn commit(mut self) -> Result<(), StoreError> {
        if let Some(CommitHook(hook)) = &self.shared.on_commit {
            hook();
        }
        let state = std::mem::take(&mut self.state);
        *self.shared.committed.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
        Ok(())
    }
}
