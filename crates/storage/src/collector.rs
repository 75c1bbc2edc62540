//! [`SortedCollector`]: entries in any order in, one sorted bulk append into a store out.
//!
//! Verified ranges arrive in any order (peers answer out of order, healing finds nodes
//! anywhere); the store wants them sorted, in bulk. A collector buffers entries through an ETL
//! [`Collector`] (sorted runs spilled to disk, bounded memory) and
//! [`append_into`](SortedCollector::append_into) streams the merge straight into the store's
//! [`StateWrite::append_encoded`].
//!
//! # The collector encoding
//!
//! Entries are kept as bytes that sort exactly as the typed keys order: hashes as their 32
//! bytes, paths one byte per nibble, composite keys concatenated; values are an account's RLP,
//! a slot's big-endian bytes without leading zeros, a code's or a node's bytes as they are.
//! The encoding is part of the interface ([`CollectedKind`] defines it) so that a store whose
//! own keys and values are these bytes can take the merge without decoding and re-encoding
//! every entry; any other store gets typed entries through the provided
//! [`append_encoded`](StateWrite::append_encoded).

use crate::{Collection, SlotEntry, Sorted, StateWrite, StorageNodeEntry, StoreError};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_etl::{Collector, CollectorConfig, EtlError, Iter};
use snapsync_primitives::{AccountHash, FromRlp, SlotHash, TrieAccount};
use std::fmt;

/// The collections that take sorted bulk appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortedCollection {
    /// Accounts by hash.
    Accounts,
    /// Storage slots by (account hash, slot hash).
    Slots,
    /// Contract codes by code hash.
    Codes,
    /// Account-trie nodes by path.
    AccountNodes,
    /// Storage-trie nodes by (account hash, path).
    StorageNodes,
}

impl SortedCollection {
    /// The collection, for errors.
    pub const fn collection(self) -> Collection {
        match self {
            Self::Accounts => Collection::Accounts,
            Self::Slots => Collection::Slots,
            Self::Codes => Collection::Codes,
            Self::AccountNodes => Collection::AccountNodes,
            Self::StorageNodes => Collection::StorageNodes,
        }
    }
}

/// One entry in the collector encoding: its key bytes and its value bytes.
pub type EncodedEntry<'a> = (&'a [u8], &'a [u8]);

/// Entries in the collector encoding, in strictly increasing key order, lent one at a time
/// (a merge of sorted runs hands out slices of its own buffers: no entry is allocated).
pub trait EncodedEntries {
    /// The next entry's key and value bytes; `None` at the end.
    ///
    /// # Errors
    /// [`StoreError::Source`] when producing the entries fails (a spilled run reads back
    /// damaged).
    fn next_encoded(&mut self) -> Result<Option<EncodedEntry<'_>>, StoreError>;
}

/// What a [`SortedCollector`] collects: one collection of the store, its typed key and value,
/// their collector encoding (key bytes that sort as the typed keys do), and the typed sorted
/// append.
pub trait CollectedKind {
    /// The collection.
    const SORTED: SortedCollection;
    /// The collection, for errors.
    const COLLECTION: Collection = Self::SORTED.collection();
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
    const SORTED: SortedCollection = SortedCollection::Accounts;
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
    const SORTED: SortedCollection = SortedCollection::Slots;
    type Key = (AccountHash, SlotHash);
    type Value = U256;
    type Entry = SlotEntry;

    fn encode_key((account, slot): &(AccountHash, SlotHash), out: &mut Vec<u8>) {
        out.extend_from_slice(account.as_ref());
        out.extend_from_slice(slot.as_ref());
    }
    fn encode_value(value: &U256, out: &mut Vec<u8>) {
        let bytes = value.to_be_bytes::<32>();
        let zeros = bytes.iter().take_while(|b| **b == 0).count();
        out.extend_from_slice(&bytes[zeros..]);
    }
    fn decode(key: &[u8], value: &[u8]) -> Option<Self::Entry> {
        let (account, slot) = key.split_at_checked(32)?;
        let value = U256::try_from_be_slice(value)?;
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
    const SORTED: SortedCollection = SortedCollection::Codes;
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
    const SORTED: SortedCollection = SortedCollection::AccountNodes;
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
    const SORTED: SortedCollection = SortedCollection::StorageNodes;
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

    /// Streams the collected entries, sorted, into the store's
    /// [`append_encoded`](StateWrite::append_encoded) for this collection, then empties the
    /// collector. Returns how many entries landed.
    ///
    /// # Errors
    /// [`StoreError::Source`] when reading the sorted runs back fails; the append's errors.
    pub fn append_into<W: StateWrite + ?Sized>(&mut self, txn: &mut W) -> Result<u64, StoreError> {
        let written = {
            let entries =
                self.collector.iter().map_err(|e| StoreError::source(K::COLLECTION, e))?;
            txn.append_encoded(K::SORTED, &mut Merged { entries, collection: K::COLLECTION })?
        };
        self.collector.clear().map_err(|e| StoreError::source(K::COLLECTION, e))?;
        Ok(written)
    }
}

/// The merge of a collector's runs, lent entry by entry.
struct Merged<'a> {
    entries: Iter<'a, Vec<u8>, Vec<u8>>,
    collection: Collection,
}

impl EncodedEntries for Merged<'_> {
    fn next_encoded(&mut self) -> Result<Option<EncodedEntry<'_>>, StoreError> {
        self.entries.next_raw().map_err(|e| StoreError::source(self.collection, e))
    }
}

/// Encoded entries as the typed entries of `K`.
struct Decoded<'a, K> {
    entries: &'a mut dyn EncodedEntries,
    failed: bool,
    kind: std::marker::PhantomData<fn() -> K>,
}

/// An entry in the collector encoding does not decode (a damaged spill file).
#[derive(Debug, thiserror::Error)]
#[error("a collected entry does not decode (key {key})")]
struct Undecodable {
    key: String,
}

impl<K: CollectedKind> Iterator for Decoded<'_, K> {
    type Item = Result<K::Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = match self.entries.next_encoded() {
            Ok(None) => return None,
            Err(error) => Err(error),
            Ok(Some((key, value))) => K::decode(key, value).ok_or_else(|| {
                let key = alloy_primitives::hex::encode_prefixed(key);
                StoreError::source(K::COLLECTION, Undecodable { key })
            }),
        };
        self.failed = result.is_err();
        Some(result)
    }
}

fn append_as<K: CollectedKind, W: StateWrite + ?Sized>(
    txn: &mut W,
    entries: &mut dyn EncodedEntries,
) -> Result<u64, StoreError> {
    K::append(txn, &mut Decoded::<K> { entries, failed: false, kind: std::marker::PhantomData })
}

/// Decodes each encoded entry and appends it through the typed append of `collection`: what
/// [`StateWrite::append_encoded`] does unless a store overrides it.
///
/// # Errors
/// [`StoreError::Source`] for an entry that does not decode; the append's errors.
pub fn append_decoded<W: StateWrite + ?Sized>(
    txn: &mut W,
    collection: SortedCollection,
    entries: &mut dyn EncodedEntries,
) -> Result<u64, StoreError> {
    match collection {
        SortedCollection::Accounts => append_as::<Accounts, W>(txn, entries),
        SortedCollection::Slots => append_as::<Slots, W>(txn, entries),
        SortedCollection::Codes => append_as::<Codes, W>(txn, entries),
        SortedCollection::AccountNodes => append_as::<AccountNodes, W>(txn, entries),
        SortedCollection::StorageNodes => append_as::<StorageNodes, W>(txn, entries),
    }
}
