//! snapsync-db as a [`StateStore`]: the storage seam over the typed tables.
//!
//! [`ReadView`] and [`WriteTxn`] implement [`StateRead`], [`WriteTxn`] implements
//! [`StateWrite`], and [`RedbDatabase`], [`MemoryDatabase`] and `dyn Database` implement
//! [`StateStore`] with them. Each interface collection is one table
//! ([`HashedAccounts`], [`HashedStorages`], ...); sorted appends go through
//! [`WriteTxn::try_append_sorted`], the backend's bulk path, encoding each entry once.
//! A client's own tables live beside them in the same database, written through the same
//! [`WriteTxn`].

use crate::{
    AccountTrieNodes, Bodies, Bytecodes, Database, DbError, HashedAccounts, HashedStorages,
    HeaderNumbers, Headers, MemoryDatabase, ReadView, Receipts, RedbDatabase, SnapProgress,
    StageCheckpoints, StorageTrieNodes, Table, TableIter, TableRead, WriteTxn,
};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{
    Collection, Durability, EncodedEntries, KeyRange, SlotEntry, Sorted, SortedCollection,
    StateRead, StateStore, StateWrite, StorageNodeEntry, StoreError, StoreIter,
};

/// The interface collection a table of this crate holds, or [`Collection::Other`].
pub fn collection_of(table: &'static str) -> Collection {
    match table {
        HashedAccounts::NAME => Collection::Accounts,
        HashedStorages::NAME => Collection::Slots,
        Bytecodes::NAME => Collection::Codes,
        AccountTrieNodes::NAME => Collection::AccountNodes,
        StorageTrieNodes::NAME => Collection::StorageNodes,
        Headers::NAME => Collection::Headers,
        HeaderNumbers::NAME => Collection::HeaderNumbers,
        Bodies::NAME => Collection::Bodies,
        StageCheckpoints::NAME => Collection::Checkpoints,
        SnapProgress::NAME => Collection::Progress,
        other => Collection::Other(other),
    }
}

impl From<DbError> for StoreError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::CorruptKey { table, key, reason }
            | DbError::CorruptValue { table, key, reason } => {
                Self::Corrupt { collection: collection_of(table), key, reason: reason.to_string() }
            }
            DbError::Corrupted { backend, operation, table, detail } => Self::Damaged {
                backend,
                detail: match table {
                    Some(table) => format!("{operation} on table {table}: {detail}"),
                    None => format!("{operation}: {detail}"),
                },
            },
            DbError::Unsorted { table, previous, key } => {
                Self::Unsorted { collection: collection_of(table), previous, key }
            }
            DbError::AbsentValue { table, key } => {
                Self::ZeroValue { collection: collection_of(table), key }
            }
            DbError::Source { table, source } => match source.downcast::<StoreError>() {
                Ok(inner) => *inner,
                Err(source) => Self::Source { collection: collection_of(table), source },
            },
            error @ DbError::Backend { backend, .. } => Self::backend(backend, error),
            error
            @ (DbError::Open { .. } | DbError::ReadOnly { .. } | DbError::NotEmpty { .. }) => {
                Self::backend("snapsync-db", error)
            }
        }
    }
}

fn boxed<'a, T: Table, U>(
    iter: TableIter<'a, T>,
    f: impl Fn((T::Key, T::Value)) -> U + Send + 'a,
) -> StoreIter<'a, U> {
    Box::new(iter.map(move |entry| entry.map(&f).map_err(StoreError::from)))
}

fn first<T>(iter: StoreIter<'_, T>) -> Result<Option<T>, StoreError> {
    let mut iter = iter;
    iter.next().transpose()
}

/// Reads through the typed tables, for any [`TableRead`].
macro_rules! state_read {
    ($ty:ty) => {
        impl StateRead for $ty {
            fn account(&self, hash: &AccountHash) -> Result<Option<TrieAccount>, StoreError> {
                Ok(self.get::<HashedAccounts>(hash)?)
            }

            fn accounts(
                &self,
                range: KeyRange<AccountHash>,
            ) -> Result<StoreIter<'_, (AccountHash, TrieAccount)>, StoreError> {
                Ok(boxed(self.range::<HashedAccounts>(range)?, |entry| entry))
            }

            fn slot(
                &self,
                account: &AccountHash,
                slot: &SlotHash,
            ) -> Result<Option<U256>, StoreError> {
                Ok(self.get::<HashedStorages>(&(*account, *slot))?)
            }

            fn slots(
                &self,
                account: &AccountHash,
                range: KeyRange<SlotHash>,
            ) -> Result<StoreIter<'_, (SlotHash, U256)>, StoreError> {
                let range = snapsync_storage::account_slots(*account, range);
                Ok(boxed(self.range::<HashedStorages>(range)?, |((_, slot), value)| (slot, value)))
            }

            fn all_slots(
                &self,
                range: KeyRange<(AccountHash, SlotHash)>,
            ) -> Result<StoreIter<'_, SlotEntry>, StoreError> {
                Ok(boxed(self.range::<HashedStorages>(range)?, |((a, s), v)| (a, s, v)))
            }

            fn code(&self, hash: &B256) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<Bytecodes>(hash)?)
            }

            fn codes(
                &self,
                range: KeyRange<B256>,
            ) -> Result<StoreIter<'_, (B256, Bytes)>, StoreError> {
                Ok(boxed(self.range::<Bytecodes>(range)?, |entry| entry))
            }

            fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<AccountTrieNodes>(path)?)
            }

            fn account_nodes(
                &self,
                range: KeyRange<Nibbles>,
            ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError> {
                Ok(boxed(self.range::<AccountTrieNodes>(range)?, |entry| entry))
            }

            fn storage_node(
                &self,
                account: &AccountHash,
                path: &Nibbles,
            ) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<StorageTrieNodes>(&(*account, *path))?)
            }

            fn storage_nodes(
                &self,
                account: &AccountHash,
                range: KeyRange<Nibbles>,
            ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError> {
                let range = snapsync_storage::account_storage_nodes(*account, range);
                Ok(boxed(self.range::<StorageTrieNodes>(range)?, |((_, path), node)| (path, node)))
            }

            fn all_storage_nodes(
                &self,
                range: KeyRange<(AccountHash, Nibbles)>,
            ) -> Result<StoreIter<'_, StorageNodeEntry>, StoreError> {
                Ok(boxed(self.range::<StorageTrieNodes>(range)?, |((a, p), n)| (a, p, n)))
            }

            fn header(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<Headers>(&number)?)
            }

            fn headers(
                &self,
                range: KeyRange<u64>,
            ) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(boxed(self.range::<Headers>(range)?, |entry| entry))
            }

            fn header_number(&self, hash: &B256) -> Result<Option<u64>, StoreError> {
                Ok(self.get::<HeaderNumbers>(hash)?)
            }

            fn last_header(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
                first(boxed(self.range_rev::<Headers>(..)?, |entry| entry))
            }

            fn body(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<Bodies>(&number)?)
            }

            fn bodies(
                &self,
                range: KeyRange<u64>,
            ) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(boxed(self.range::<Bodies>(range)?, |entry| entry))
            }

            fn last_body(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
                first(boxed(self.range_rev::<Bodies>(..)?, |entry| entry))
            }

            fn block_receipts(&self, number: u64) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<Receipts>(&number)?)
            }

            fn block_receipts_range(
                &self,
                range: KeyRange<u64>,
            ) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError> {
                Ok(boxed(self.range::<Receipts>(range)?, |entry| entry))
            }

            fn checkpoint(&self, stage: &str) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<StageCheckpoints>(&stage.to_owned())?)
            }

            fn progress(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
                Ok(self.get::<SnapProgress>(&key.to_owned())?)
            }

            fn progress_records(&self) -> Result<StoreIter<'_, (String, Bytes)>, StoreError> {
                Ok(boxed(self.range::<SnapProgress>(..)?, |entry| entry))
            }

            fn count_account_nodes(&self) -> Result<u64, StoreError> {
                Ok(self.count::<AccountTrieNodes>()?)
            }

            fn count_storage_nodes(&self) -> Result<u64, StoreError> {
                Ok(self.count::<StorageTrieNodes>()?)
            }
        }
    };
}

state_read!(ReadView);
state_read!(WriteTxn);

impl StateWrite for WriteTxn {
    fn append_encoded(
        &mut self,
        collection: SortedCollection,
        entries: &mut dyn EncodedEntries,
    ) -> Result<u64, StoreError> {
        self.append_collector_encoded(collection, entries)
    }

    fn append_accounts(
        &mut self,
        entries: Sorted<'_, (AccountHash, TrieAccount)>,
    ) -> Result<u64, StoreError> {
        Ok(self.try_append_sorted::<HashedAccounts, _, _, _, _>(entries)?)
    }

    fn append_slots(&mut self, entries: Sorted<'_, SlotEntry>) -> Result<u64, StoreError> {
        let entries = entries.map(|entry| entry.map(|(a, s, v)| ((a, s), v)));
        Ok(self.try_append_sorted::<HashedStorages, _, _, _, _>(entries)?)
    }

    fn append_codes(&mut self, entries: Sorted<'_, (B256, Bytes)>) -> Result<u64, StoreError> {
        Ok(self.try_append_sorted::<Bytecodes, _, _, _, _>(entries)?)
    }

    fn append_account_nodes(
        &mut self,
        entries: Sorted<'_, (Nibbles, Bytes)>,
    ) -> Result<u64, StoreError> {
        Ok(self.try_append_sorted::<AccountTrieNodes, _, _, _, _>(entries)?)
    }

    fn append_storage_nodes(
        &mut self,
        entries: Sorted<'_, StorageNodeEntry>,
    ) -> Result<u64, StoreError> {
        let entries = entries.map(|entry| entry.map(|(a, p, n)| ((a, p), n)));
        Ok(self.try_append_sorted::<StorageTrieNodes, _, _, _, _>(entries)?)
    }

    fn put_account(&mut self, hash: &AccountHash, account: &TrieAccount) -> Result<(), StoreError> {
        Ok(self.put::<HashedAccounts>(hash, account)?)
    }

    fn delete_account(&mut self, hash: &AccountHash) -> Result<bool, StoreError> {
        Ok(self.delete::<HashedAccounts>(hash)?)
    }

    fn delete_accounts(&mut self, range: KeyRange<AccountHash>) -> Result<u64, StoreError> {
        Ok(self.delete_range::<HashedAccounts>(range)?)
    }

    fn put_slot(
        &mut self,
        account: &AccountHash,
        slot: &SlotHash,
        value: U256,
    ) -> Result<(), StoreError> {
        Ok(self.put::<HashedStorages>(&(*account, *slot), &value)?)
    }

    fn delete_slots(
        &mut self,
        range: KeyRange<(AccountHash, SlotHash)>,
    ) -> Result<u64, StoreError> {
        Ok(self.delete_range::<HashedStorages>(range)?)
    }

    fn put_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<Bytecodes>(hash, code)?)
    }

    fn put_account_node(&mut self, path: &Nibbles, node: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<AccountTrieNodes>(path, node)?)
    }

    fn delete_account_nodes(&mut self, range: KeyRange<Nibbles>) -> Result<u64, StoreError> {
        Ok(self.delete_range::<AccountTrieNodes>(range)?)
    }

    fn put_storage_node(
        &mut self,
        account: &AccountHash,
        path: &Nibbles,
        node: &Bytes,
    ) -> Result<(), StoreError> {
        Ok(self.put::<StorageTrieNodes>(&(*account, *path), node)?)
    }

    fn delete_storage_nodes(
        &mut self,
        range: KeyRange<(AccountHash, Nibbles)>,
    ) -> Result<u64, StoreError> {
        Ok(self.delete_range::<StorageTrieNodes>(range)?)
    }

    fn clear_state(&mut self) -> Result<(), StoreError> {
        self.clear::<HashedAccounts>()?;
        self.clear::<HashedStorages>()?;
        self.clear::<AccountTrieNodes>()?;
        Ok(self.clear::<StorageTrieNodes>()?)
    }

    fn clear_trie_nodes(&mut self) -> Result<(), StoreError> {
        self.clear::<AccountTrieNodes>()?;
        Ok(self.clear::<StorageTrieNodes>()?)
    }

    fn put_header(&mut self, number: u64, hash: &B256, header: &Bytes) -> Result<(), StoreError> {
        self.put::<Headers>(&number, header)?;
        Ok(self.put::<HeaderNumbers>(hash, &number)?)
    }

    fn delete_header(&mut self, number: u64, hash: &B256) -> Result<(), StoreError> {
        self.delete::<Headers>(&number)?;
        self.delete::<HeaderNumbers>(hash)?;
        Ok(())
    }

    fn put_body(&mut self, number: u64, body: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<Bodies>(&number, body)?)
    }

    fn delete_body(&mut self, number: u64) -> Result<bool, StoreError> {
        Ok(self.delete::<Bodies>(&number)?)
    }

    fn put_block_receipts(&mut self, number: u64, receipts: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<Receipts>(&number, receipts)?)
    }

    fn delete_block_receipts(&mut self, number: u64) -> Result<bool, StoreError> {
        Ok(self.delete::<Receipts>(&number)?)
    }

    fn set_checkpoint(&mut self, stage: &str, record: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<StageCheckpoints>(&stage.to_owned(), record)?)
    }

    fn delete_checkpoint(&mut self, stage: &str) -> Result<(), StoreError> {
        self.delete::<StageCheckpoints>(&stage.to_owned())?;
        Ok(())
    }

    fn set_progress(&mut self, key: &str, record: &Bytes) -> Result<(), StoreError> {
        Ok(self.put::<SnapProgress>(&key.to_owned(), record)?)
    }

    fn delete_progress(&mut self, key: &str) -> Result<(), StoreError> {
        self.delete::<SnapProgress>(&key.to_owned())?;
        Ok(())
    }

    fn set_durability(&mut self, durability: Durability) -> Result<(), StoreError> {
        Ok(WriteTxn::set_durability(self, durability)?)
    }

    fn commit(self) -> Result<(), StoreError> {
        Ok(WriteTxn::commit(self)?)
    }
}

/// [`StateStore`] for a [`Database`] type: snapshots are [`ReadView`]s, writers [`WriteTxn`]s.
macro_rules! state_store {
    ($ty:ty) => {
        impl StateStore for $ty {
            type Reader = ReadView;
            type Writer = WriteTxn;

            fn backend_name(&self) -> &'static str {
                Database::backend(self)
            }

            fn reader(&self) -> Result<ReadView, StoreError> {
                Ok(self.view()?)
            }

            fn writer(&self) -> Result<WriteTxn, StoreError> {
                Ok(self.write()?)
            }
        }
    };
}

state_store!(RedbDatabase);
state_store!(MemoryDatabase);
state_store!(dyn Database);

impl From<DbError> for snapsync_storage::StateError {
    fn from(error: DbError) -> Self {
        Self::Store(error.into())
    }
}
