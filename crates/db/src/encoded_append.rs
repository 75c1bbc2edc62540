//! The collector encoding taken as it is: snapsync-db's tables encode the five state
//! collections exactly as [`SortedCollector`](snapsync_storage::SortedCollector) does (hashes
//! as 32 bytes, paths one byte per nibble, accounts as RLP, slots big-endian without leading
//! zeros, codes and nodes as they are), so a collector's merge is copied into the backend's
//! buffers without decoding and re-encoding each entry. The tests below hold the two encodings
//! equal.

use crate::{
    AccountTrieNodes, Bytecodes, DbError, EntrySource, HashedAccounts, HashedStorages,
    StorageTrieNodes, Table, WriteTxn,
};
use snapsync_storage::{EncodedEntries, SortedCollection, StoreError};

impl WriteTxn {
    /// Appends entries in the collector encoding to the table of `collection`, copying their
    /// bytes.
    ///
    /// Only the shape the backend needs is checked here (key lengths, no zero slot); a value
    /// is not decoded, so bytes that are not the collector's own surface as a corrupt entry
    /// when read.
    pub(crate) fn append_collector_encoded(
        &mut self,
        collection: SortedCollection,
        entries: &mut dyn EncodedEntries,
    ) -> Result<u64, StoreError> {
        let mut source = PassThrough { entries, collection, failure: None };
        let written = match collection {
            SortedCollection::Accounts => self.append_sorted_source::<HashedAccounts>(&mut source),
            SortedCollection::Slots => self.append_sorted_source::<HashedStorages>(&mut source),
            SortedCollection::Codes => self.append_sorted_source::<Bytecodes>(&mut source),
            SortedCollection::AccountNodes => {
                self.append_sorted_source::<AccountTrieNodes>(&mut source)
            }
            SortedCollection::StorageNodes => {
                self.append_sorted_source::<StorageTrieNodes>(&mut source)
            }
        };
        match (written, source.failure) {
            (_, Some(failure)) => Err(failure),
            (written, None) => Ok(written?),
        }
    }
}

/// Encoded entries as the backend's entry source. A failure of the entries (or a shape the
/// table cannot hold) is kept as the interface error it is and stops the append.
struct PassThrough<'a> {
    entries: &'a mut dyn EncodedEntries,
    collection: SortedCollection,
    failure: Option<StoreError>,
}

/// Why `key` and `value` cannot be an entry of `collection`'s table, if they cannot.
fn shape_error(collection: SortedCollection, key: &[u8], value: &[u8]) -> Option<StoreError> {
    let sorted = collection;
    let collection = sorted.collection();
    let key_fits = match sorted {
        SortedCollection::Accounts | SortedCollection::Codes => key.len() == 32,
        SortedCollection::Slots => key.len() == 64,
        SortedCollection::AccountNodes => key.len() <= 64,
        SortedCollection::StorageNodes => (32..=96).contains(&key.len()),
    };
    let key_hex = || alloy_primitives::hex::encode_prefixed(key);
    if !key_fits {
        return Some(StoreError::Corrupt {
            collection,
            key: key_hex(),
            reason: "not a key of the collector encoding".into(),
        });
    }
    (sorted == SortedCollection::Slots && value.is_empty())
        .then(|| StoreError::ZeroValue { collection, key: key_hex() })
}

impl EntrySource for PassThrough<'_> {
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        let failure = match self.entries.next_encoded() {
            Ok(None) => return Ok(false),
            Ok(Some((k, v))) => match shape_error(self.collection, k, v) {
                None => {
                    key.clear();
                    key.extend_from_slice(k);
                    value.clear();
                    value.extend_from_slice(v);
                    return Ok(true);
                }
                Some(error) => error,
            },
            Err(error) => error,
        };
        let table = collection_table(self.collection);
        let stopped = DbError::Source { table, source: failure.to_string().into() };
        self.failure = Some(failure);
        Err(stopped)
    }
}

const fn collection_table(collection: SortedCollection) -> &'static str {
    match collection {
        SortedCollection::Accounts => HashedAccounts::NAME,
        SortedCollection::Slots => HashedStorages::NAME,
        SortedCollection::Codes => Bytecodes::NAME,
        SortedCollection::AccountNodes => AccountTrieNodes::NAME,
        SortedCollection::StorageNodes => StorageTrieNodes::NAME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryDatabase, TableKey, TableValue};
    use alloy_primitives::{B256, Bytes, U256};
    use alloy_trie::Nibbles;
    use proptest::prelude::*;
    use snapsync_etl::CollectorConfig;
    use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
    use snapsync_storage::{
        AccountNodes, Accounts, Codes, CollectedKind, EncodedEntry, KeyRange, Slots,
        SortedCollector, StateRead, StateStore, StateWrite, StorageNodes, test_utils::MapStore,
    };

    fn b256() -> impl Strategy<Value = B256> {
        any::<[u8; 32]>().prop_map(B256::from)
    }

    /// Values from zero to full width, so leading zeros of every length occur.
    fn u256() -> impl Strategy<Value = U256> {
        (any::<[u8; 32]>(), 0..=32usize).prop_map(|(bytes, zeros)| {
            let mut bytes = bytes;
            bytes[..zeros].fill(0);
            U256::from_be_bytes(bytes)
        })
    }

    fn path() -> impl Strategy<Value = Nibbles> {
        proptest::collection::vec(0u8..16, 0..=64).prop_map(|n| Nibbles::from_nibbles(&n))
    }

    fn account() -> impl Strategy<Value = TrieAccount> {
        (any::<u64>(), u256(), b256(), b256()).prop_map(|(nonce, balance, storage_root, code)| {
            TrieAccount { nonce, balance, storage_root, code_hash: code }
        })
    }

    fn collector_bytes<K: CollectedKind>(key: &K::Key, value: &K::Value) -> (Vec<u8>, Vec<u8>) {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        K::encode_key(key, &mut k);
        K::encode_value(value, &mut v);
        (k, v)
    }

    fn table_bytes<T: Table>(key: &T::Key, value: &T::Value) -> (Vec<u8>, Vec<u8>) {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        key.encode_key(&mut k);
        value.encode_value(&mut v);
        (k, v)
    }

    proptest! {
        /// The pass-through is only right while the two encodings are one.
        #[test]
        fn collector_and_table_encodings_agree(
            hash in b256(), slot in b256(), account in account(), value in u256(),
            path in path(), code in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let (hash, slot) = (AccountHash(hash), SlotHash(slot));
            prop_assert_eq!(
                collector_bytes::<Accounts>(&hash, &account),
                table_bytes::<HashedAccounts>(&hash, &account)
            );
            if !value.is_zero() {
                prop_assert_eq!(
                    collector_bytes::<Slots>(&(hash, slot), &value),
                    table_bytes::<HashedStorages>(&(hash, slot), &value)
                );
            }
            let code = Bytes::from(code);
            prop_assert_eq!(
                collector_bytes::<Codes>(&hash.0, &code),
                table_bytes::<Bytecodes>(&hash.0, &code)
            );
            prop_assert_eq!(
                collector_bytes::<AccountNodes>(&path, &code),
                table_bytes::<AccountTrieNodes>(&path, &code)
            );
            prop_assert_eq!(
                collector_bytes::<StorageNodes>(&(hash, path), &code),
                table_bytes::<StorageTrieNodes>(&(hash, path), &code)
            );
        }

        /// Collected entries land the same through the byte path (snapsync-db) as through the
        /// typed path (a store without an override).
        #[test]
        fn bytes_and_types_store_the_same_entries(
            accounts in proptest::collection::vec((b256(), account()), 0..40),
            slots in proptest::collection::vec((b256(), b256(), u256()), 0..40),
            nodes in proptest::collection::vec((b256(), path(), b256()), 0..40),
        ) {
            let db = MemoryDatabase::new();
            let map = MapStore::new();
            let mut db_txn = db.writer().unwrap();
            let mut map_txn = map.writer().unwrap();
            let config = || CollectorConfig::new(1 << 20);

            let mut collected = SortedCollector::<Accounts>::new(config());
            for (hash, account) in &accounts {
                collected.insert(&AccountHash(*hash), account).unwrap();
            }
            let mut again = SortedCollector::<Accounts>::new(config());
            for (hash, account) in &accounts {
                again.insert(&AccountHash(*hash), account).unwrap();
            }
            prop_assert_eq!(
                collected.append_into(&mut db_txn).unwrap(),
                again.append_into(&mut map_txn).unwrap()
            );

            let mut collected = SortedCollector::<Slots>::new(config());
            let mut again = SortedCollector::<Slots>::new(config());
            for (account, slot, value) in slots.iter().filter(|(_, _, v)| !v.is_zero()) {
                let key = (AccountHash(*account), SlotHash(*slot));
                collected.insert(&key, value).unwrap();
                again.insert(&key, value).unwrap();
            }
            prop_assert_eq!(
                collected.append_into(&mut db_txn).unwrap(),
                again.append_into(&mut map_txn).unwrap()
            );

            let mut collected = SortedCollector::<StorageNodes>::new(config());
            let mut again = SortedCollector::<StorageNodes>::new(config());
            for (account, path, node) in &nodes {
                let key = (AccountHash(*account), *path);
                collected.insert(&key, node.as_slice()).unwrap();
                again.insert(&key, node.as_slice()).unwrap();
            }
            prop_assert_eq!(
                collected.append_into(&mut db_txn).unwrap(),
                again.append_into(&mut map_txn).unwrap()
            );

            let read = |txn: &dyn StateRead| {
                let accounts: Vec<_> =
                    txn.accounts(KeyRange::all()).unwrap().collect::<Result<_, _>>().unwrap();
                let slots: Vec<_> =
                    txn.all_slots(KeyRange::all()).unwrap().collect::<Result<_, _>>().unwrap();
                let nodes: Vec<_> = txn
                    .all_storage_nodes(KeyRange::all())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                (accounts, slots, nodes)
            };
            prop_assert_eq!(read(&db_txn), read(&map_txn));
        }
    }

    type GivenEntry = Result<(Vec<u8>, Vec<u8>), StoreError>;

    /// Entries given as bytes, for the shapes a collector never writes.
    struct Given(std::vec::IntoIter<GivenEntry>, Vec<Vec<u8>>);

    impl Given {
        fn new(entries: Vec<GivenEntry>) -> Self {
            Self(entries.into_iter(), Vec::new())
        }
    }

    impl EncodedEntries for Given {
        fn next_encoded(&mut self) -> Result<Option<EncodedEntry<'_>>, StoreError> {
            match self.0.next() {
                None => Ok(None),
                Some(Err(error)) => Err(error),
                Some(Ok((key, value))) => {
                    self.1 = vec![key, value];
                    Ok(Some((&self.1[0], &self.1[1])))
                }
            }
        }
    }

    fn append(collection: SortedCollection, entries: Given) -> Result<u64, StoreError> {
        let db = MemoryDatabase::new();
        let mut txn = db.writer().unwrap();
        txn.append_encoded(collection, &mut { entries })
    }

    #[test]
    fn shapes_no_table_holds_are_refused() {
        let zero_slot = Given::new(vec![Ok((vec![1; 64], vec![]))]);
        assert!(matches!(
            append(SortedCollection::Slots, zero_slot),
            Err(StoreError::ZeroValue { collection: snapsync_storage::Collection::Slots, .. })
        ));
        let short_key = Given::new(vec![Ok((vec![1; 31], vec![0xc0]))]);
        assert!(matches!(
            append(SortedCollection::Accounts, short_key),
            Err(StoreError::Corrupt { .. })
        ));
        let unsorted = Given::new(vec![Ok((vec![2; 32], vec![1])), Ok((vec![1; 32], vec![1]))]);
        assert!(matches!(
            append(SortedCollection::Codes, unsorted),
            Err(StoreError::Unsorted { .. })
        ));
    }

    #[test]
    fn a_failing_source_stops_the_append_with_its_own_error() {
        let failing = Given::new(vec![
            Ok((vec![1; 32], vec![1])),
            Err(StoreError::source(snapsync_storage::Collection::Codes, "spill file damaged")),
        ]);
        let error = append(SortedCollection::Codes, failing).unwrap_err();
        assert!(matches!(error, StoreError::Source { .. }), "{error}");
        assert!(error.to_string().contains("spill file damaged"), "{error}");
    }
}
