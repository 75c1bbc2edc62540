//! [`StateWrite`]: one atomic write transaction of a store.

use crate::{
    EncodedEntries, KeyRange, SlotEntry, SortedCollection, StateRead, StorageNodeEntry, StoreError,
    collector::append_decoded,
};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};

/// The input of a sorted bulk append: entries in strictly increasing key order (an ETL
/// collector's merge streams exactly this). A source that fails yields
/// [`StoreError::Source`]; the append stops there.
pub type Sorted<'a, T> = &'a mut dyn Iterator<Item = Result<T, StoreError>>;

/// How hard a commit tries to reach the disk.
///
/// Whatever the level, a commit is atomic: after a crash the store holds exactly the state of
/// some earlier commit, never part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The commit is on disk (fsynced) when `commit` returns. The default.
    #[default]
    Immediate,
    /// The commit is visible to new readers at once but reaches the disk only with the next
    /// [`Durability::Immediate`] commit; a crash before that rolls back to the last durable commit.
    ///
    /// For bulk loads made of many batches: commit each batch `Deferred` and every N-th (and the
    /// last) `Immediate`, keeping the stage checkpoint in the same transactions as the data, so a
    /// crash only loses progress since the last durable commit, never consistency.
    Deferred,
}

/// One atomic write transaction: reads see its own writes; [`commit`](Self::commit) applies
/// all of them or none; dropping it aborts.
///
/// Sorted bulk appends take entries in strictly increasing key order and replace entries with
/// equal keys: they are the fast path every verified range of a sync lands through. Single
/// puts and deletes are for the few entries healing and the chain stages touch. A zero slot
/// is never stored: [`put_slot`](Self::put_slot) with zero deletes.
///
/// # Errors
/// Every method fails with [`StoreError`] on a backend failure; appends also with
/// [`StoreError::Unsorted`] (a key not above its predecessor: abort the transaction),
/// [`StoreError::ZeroValue`] and [`StoreError::Source`].
pub trait StateWrite: StateRead {
    /// Appends accounts in strictly increasing hash order; returns how many.
    fn append_accounts(
        &mut self,
        entries: Sorted<'_, (AccountHash, TrieAccount)>,
    ) -> Result<u64, StoreError>;

    /// Appends slots (never zero) in strictly increasing (account, slot) order.
    fn append_slots(&mut self, entries: Sorted<'_, SlotEntry>) -> Result<u64, StoreError>;

    /// Appends codes in strictly increasing hash order.
    fn append_codes(&mut self, entries: Sorted<'_, (B256, Bytes)>) -> Result<u64, StoreError>;

    /// Appends account-trie nodes in strictly increasing path (trie) order.
    fn append_account_nodes(
        &mut self,
        entries: Sorted<'_, (Nibbles, Bytes)>,
    ) -> Result<u64, StoreError>;

    /// Appends storage-trie nodes in strictly increasing (account, path) order.
    fn append_storage_nodes(
        &mut self,
        entries: Sorted<'_, StorageNodeEntry>,
    ) -> Result<u64, StoreError>;

    /// Appends entries of `collection` given in the collector encoding (see
    /// [`SortedCollector`](crate::SortedCollector)), in strictly increasing key order; returns
    /// how many. This is how a [`SortedCollector`](crate::SortedCollector) lands.
    ///
    /// The provided implementation decodes each entry and calls the collection's typed append.
    /// A store whose own byte encoding of the collection is the collector encoding overrides it
    /// to copy the bytes through (snapsync-db does), saving a decode and an encode per entry.
    fn append_encoded(
        &mut self,
        collection: SortedCollection,
        entries: &mut dyn EncodedEntries,
    ) -> Result<u64, StoreError> {
        append_decoded(self, collection, entries)
    }

    /// Inserts or replaces an account.
    fn put_account(&mut self, hash: &AccountHash, account: &TrieAccount) -> Result<(), StoreError>;

    /// Removes an account (not its slots); whether it was there.
    fn delete_account(&mut self, hash: &AccountHash) -> Result<bool, StoreError>;

    /// Removes the accounts whose hash is in `range` (not their slots); how many went.
    fn delete_accounts(&mut self, range: KeyRange<AccountHash>) -> Result<u64, StoreError>;

    /// Sets a slot; zero deletes it.
    fn put_slot(
        &mut self,
        account: &AccountHash,
        slot: &SlotHash,
        value: U256,
    ) -> Result<(), StoreError>;

    /// Removes the slots in `range` of the global (account, slot) order (one account's:
    /// [`account_slots`](crate::account_slots)); how many went.
    fn delete_slots(&mut self, range: KeyRange<(AccountHash, SlotHash)>)
    -> Result<u64, StoreError>;

    /// Inserts a code under its hash.
    fn put_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StoreError>;

    /// Inserts or replaces the account-trie node at `path`.
    fn put_account_node(&mut self, path: &Nibbles, node: &Bytes) -> Result<(), StoreError>;

    /// Removes the account-trie nodes whose path is in `range`; how many went.
    fn delete_account_nodes(&mut self, range: KeyRange<Nibbles>) -> Result<u64, StoreError>;

    /// Inserts or replaces the storage-trie node of `account` at `path`.
    fn put_storage_node(
        &mut self,
        account: &AccountHash,
        path: &Nibbles,
        node: &Bytes,
    ) -> Result<(), StoreError>;

    /// Removes the storage-trie nodes in `range` of the global (account, path) order.
    fn delete_storage_nodes(
        &mut self,
        range: KeyRange<(AccountHash, Nibbles)>,
    ) -> Result<u64, StoreError>;

    /// Removes every account, slot and trie node. Codes stay: they are keyed by their own hash
    /// and valid under any state root.
    fn clear_state(&mut self) -> Result<(), StoreError>;

    /// Removes every account-trie and storage-trie node (before a rebuild of the stored trie).
    fn clear_trie_nodes(&mut self) -> Result<(), StoreError>;

    /// Stores the header of block `number` with hash `hash` (its RLP), and the number by hash.
    fn put_header(&mut self, number: u64, hash: &B256, header: &Bytes) -> Result<(), StoreError>;

    /// Removes the header of block `number` and the number stored under `hash`.
    fn delete_header(&mut self, number: u64, hash: &B256) -> Result<(), StoreError>;

    /// Stores the body of block `number` (its RLP).
    fn put_body(&mut self, number: u64, body: &Bytes) -> Result<(), StoreError>;

    /// Removes the body of block `number`; whether it was there.
    fn delete_body(&mut self, number: u64) -> Result<bool, StoreError>;

    /// Stores the receipts of block `number` (the RLP list of its receipts).
    fn put_block_receipts(&mut self, number: u64, receipts: &Bytes) -> Result<(), StoreError>;

    /// Removes the receipts of block `number`; whether they were there.
    fn delete_block_receipts(&mut self, number: u64) -> Result<bool, StoreError>;

    /// Stores the checkpoint record of stage `stage`.
    fn set_checkpoint(&mut self, stage: &str, record: &Bytes) -> Result<(), StoreError>;

    /// Removes the checkpoint of stage `stage`.
    fn delete_checkpoint(&mut self, stage: &str) -> Result<(), StoreError>;

    /// Stores the progress record under `key`.
    fn set_progress(&mut self, key: &str, record: &Bytes) -> Result<(), StoreError>;

    /// Removes the progress record under `key`.
    fn delete_progress(&mut self, key: &str) -> Result<(), StoreError>;

    /// How hard this transaction's commit works to survive a crash (a hint: a store without
    /// deferred commits may ignore it).
    fn set_durability(&mut self, durability: Durability) -> Result<(), StoreError>;

    /// Applies every write of the transaction atomically.
    fn commit(self) -> Result<(), StoreError>
    where
        Self: Sized;
}
