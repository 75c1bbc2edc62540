//! [`SortedCollector`]: entries in any order in, one sorted bulk append into a store out.
//!
//! Verified ranges arrive in any order (peers answer out of order, healing finds nodes
//! anywhere); the store wants them sorted, in bulk. A collector buffers entries through an ETL
//! [`Collector`] (sorted runs spilled to disk, bounded memory) and
//! [`append_into`](SortedCollector::append_into) streams the merge straight into one of the
//! store's sorted appends. The byte encoding here is private to the collector: it sorts
//! exactly as the typed keys order (hashes as their 32 bytes, paths one byte per nibble,
//! composite keys concatenated), and entries are typed again before they reach the store.

use crate::{Collection, SlotEntry, Sorted, StateWrite, StorageNodeEntry, StoreError};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_etl::{Collector, CollectorConfig, EtlError, Iter};
use snapsync_primitives::{AccountHash, FromRlp, SlotHash, TrieAccount};
use std::fmt;

/// What a [`SortedCollector`] collects: one collection of the store, its typed key and value,
/// and the sorted append it ends in.
pub trait CollectedKind {
    /// The collection, for errors.
    const COLLECTION: Collection;
    /// The key.
    type Key;
    /// The value (`[u8]` for RLP nodes and codes, which are stored as they are).
    type Value: ?Sized;
    /// The entry the store's append takes.
    type Entry;

    /// Appends the key's sortable bytes.
    fn encode_key(key: &Self::Key, out: &mut Vec<u8>);
    /// Appends the value's bytes.
    fn encode_value(value: &Self::Value, out: &mut Vec<u8>);
    /// The entry back from the bytes written above; `None` if they are not such bytes.
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry>;
    /// The store's sorted append for this collection.
    ///
    /// # Errors
    /// What the append fails with.
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError>;
}

/// Accounts by hash.
#[derive(Debug, Clone, Copy)]
pub struct Accounts;
/// Storage slots by (account, slot).
#[derive(Debug, Clone, Copy)]
pub struct Slots;
/// Codes by hash.
#[derive(Debug, Clone, Copy)]
pub struct Codes;
/// Account-trie nodes by path.
#[derive(Debug, Clone, Copy)]
pub struct AccountNodes;
/// Storage-trie nodes by (account, path).
#[derive(Debug, Clone, Copy)]
pub struct StorageNodes;

fn hash32(bytes: &[u8]) -> Option<B256> {
    <[u8; 32]>::try_from(bytes).ok().map(B256::from)
}

fn path(bytes: &[u8]) -> Option<Nibbles> {
    (bytes.len() <= 64 && bytes.iter().all(|b| *b < 16)).then(|| Nibbles::from_nibbles(bytes))
}

impl CollectedKind for Accounts {
    const COLLECTION: Collection = Collection::Accounts;
    type Key = AccountHash;
    type Value = TrieAccount;
    type Entry = (AccountHash, TrieAccount);

    fn encode_key(key: &AccountHash, out: &mut Vec<u8>) {
        out.extend_from_slice(key.as_ref());
    }
    fn encode_value(value: &TrieAccount, out: &mut Vec<u8>) {
        alloy_rlp::Encodable::encode(value, out);
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        Some((AccountHash(hash32(key)?), TrieAccount::from_rlp(value).ok()?))
    }
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError> {
        txn.append_accounts(entries)
    }
}

impl CollectedKind for Slots {
    const COLLECTION: Collection = Collection::Slots;
    type Key = (AccountHash, SlotHash);
    type Value = U256;
    type Entry = SlotEntry;

    fn encode_key((account, slot): &(AccountHash, SlotHash), out: &mut Vec<u8>) {
        out.extend_from_slice(account.as_ref());
        out.extend_from_slice(slot.as_ref());
    }
    fn encode_value(value: &U256, out: &mut Vec<u8>) {
        out.extend_from_slice(&value.to_be_bytes::<32>());
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        let (account, slot) = key.split_at_checked(32)?;
        let value = U256::from_be_bytes(<[u8; 32]>::try_from(value).ok()?);
        Some((AccountHash(hash32(account)?), SlotHash(hash32(slot)?), value))
    }
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError> {
        txn.append_slots(entries)
    }
}

impl CollectedKind for Codes {
    const COLLECTION: Collection = Collection::Codes;
    type Key = B256;
    type Value = [u8];
    type Entry = (B256, Bytes);

    fn encode_key(key: &B256, out: &mut Vec<u8>) {
        out.extend_from_slice(key.as_slice());
    }
    fn encode_value(value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(value);
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        Some((hash32(key)?, Bytes::copy_from_slice(value)))
    }
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError> {
        txn.append_codes(entries)
    }
}

impl CollectedKind for AccountNodes {
    const COLLECTION: Collection = Collection::AccountNodes;
    type Key = Nibbles;
    type Value = [u8];
    type Entry = (Nibbles, Bytes);

    fn encode_key(key: &Nibbles, out: &mut Vec<u8>) {
        out.extend(key.iter());
    }
    fn encode_value(value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(value);
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        Some((path(key)?, Bytes::copy_from_slice(value)))
    }
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError> {
        txn.append_account_nodes(entries)
    }
}

impl CollectedKind for StorageNodes {
    const COLLECTION: Collection = Collection::StorageNodes;
    type Key = (AccountHash, Nibbles);
    type Value = [u8];
    type Entry = StorageNodeEntry;

    fn encode_key((account, path): &(AccountHash, Nibbles), out: &mut Vec<u8>) {
        out.extend_from_slice(account.as_ref());
        out.extend(path.iter());
    }
    fn encode_value(value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(value);
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        let (account, nibbles) = key.split_at_checked(32)?;
        Some((AccountHash(hash32(account)?), path(nibbles)?, Bytes::copy_from_slice(value)))
    }
    fn append<W: StateWrite + ?Sized>(
        txn: &mut W,
        entries: Sorted<'_, Self::Entry>,
    ) -> Result<u64, StoreError> {
        txn.append_storage_nodes(entries)
    }
}

/// Entries of one collection in any order, sorted through ETL into one bulk append.
pub struct SortedCollector<K> {
    collector: Collector<Vec<u8>, Vec<u8>>,
    key: Vec<u8>,
    value: Vec<u8>,
    kind: std::marker::PhantomData<fn() -> K>,
}

impl<K> fmt::Debug for SortedCollector<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SortedCollector")
            .field("collector", &self.collector)
            .finish_non_exhaustive()
    }
}

impl<K: CollectedKind> SortedCollector<K> {
    /// An empty collector spilling as `config` says.
    pub fn new(config: CollectorConfig) -> Self {
        Self {
            collector: Collector::new(config),
            key: Vec::with_capacity(96),
            value: Vec::with_capacity(128),
            kind: std::marker::PhantomData,
        }
    }

    /// Adds an entry (a later entry with an equal key replaces an earlier one when they land).
    ///
    /// # Errors
    /// Spilling a sorted run to disk failed.
    pub fn insert(&mut self, key: &K::Key, value: &K::Value) -> Result<(), EtlError> {
        self.key.clear();
        K::encode_key(key, &mut self.key);
        self.value.clear();
        K::encode_value(value, &mut self.value);
        self.collector.insert(&self.key, &self.value)
    }

    /// How many entries are collected.
    pub fn len(&self) -> usize {
        self.collector.len()
    }

    /// Whether nothing is collected.
    pub fn is_empty(&self) -> bool {
        self.collector.is_empty()
    }

    /// Streams the collected entries, sorted, into the store's sorted append for this
    /// collection, then empties the collector. Returns how many entries landed.
    ///
    /// # Errors
    /// [`StoreError::Source`] when reading the sorted runs back fails; the append's errors.
    pub fn append_into<W: StateWrite + ?Sized>(&mut self, txn: &mut W) -> Result<u64, StoreError> {
        let written = {
            let entries =
                self.collector.iter().map_err(|e| StoreError::source(K::COLLECTION, e))?;
            K::append(
                txn,
                &mut Drain::<K> { entries, failed: false, kind: std::marker::PhantomData },
            )?
        };
        self.collector.clear().map_err(|e| StoreError::source(K::COLLECTION, e))?;
        Ok(written)
    }
}

/// The merge of a collector's runs as typed entries.
struct Drain<'a, K> {
    entries: Iter<'a, Vec<u8>, Vec<u8>>,
    failed: bool,
    kind: std::marker::PhantomData<fn() -> K>,
}

/// An entry the collector wrote does not read back (a damaged spill file).
#[derive(Debug, thiserror::Error)]
#[error("a collected entry does not decode (key {key})")]
struct Undecodable {
    key: String,
}

impl<K: CollectedKind> Iterator for Drain<'_, K> {
    type Item = Result<K::Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = match self.entries.next_raw() {
            Ok(None) => return None,
            Err(error) => Err(StoreError::source(K::COLLECTION, error)),
            Ok(Some((key, value))) => K::decode(key, value).ok_or_else(|| {
                let key = alloy_primitives::hex::encode_prefixed(key);
                StoreError::source(K::COLLECTION, Undecodable { key })
            }),
        };
        self.failed = result.is_err();
        Some(result)
    }
}
