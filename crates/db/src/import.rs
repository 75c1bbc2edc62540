//! Importing a whole state into an empty database: see [`import_state`].
//!
//! The input is a stream of accounts by hashed key, each with its code and storage, in any order
//! (a genesis file, a state dump, a generated test state). Nothing derived is taken on trust:
//! every storage root is built from the account's slots and every code hash from its code.
//!
//! # How
//!
//! One pass over the input, then one write transaction:
//!
//! 1. **Collect.** Each account's slots (zeros dropped) are sorted in memory and fed to a storage
//!    [`TrieBuilder`], whose root becomes the account's storage root and whose hashed nodes go to
//!    an ETL collector keyed like [`StorageTrieNodes`]. Accounts (keyed by hash and input
//!    position, so that duplicates survive the sort and are caught), slots and codes go to their
//!    own collectors, encoded as their tables store them.
//! 2. **Write.** The sorted accounts stream into [`HashedAccounts`] and, in the same pass, into the
//!    account trie's builder, whose nodes go to a fifth collector. Then slots, codes (one entry per
//!    distinct code) and the two node collectors are bulk-appended, and the transaction commits
//!    once: a crash leaves the database empty, never half imported.
//!
//! The nodes written are exactly those [`rebuild_state_trie`](snapsync_storage::rebuild_state_trie) would
//! write for the same tables (the tests check it). They are built during the import rather than by
//! a second pass because that pass would read the tables back from the transaction it writes.
//!
//! Memory is bounded by the collectors' buffers plus the largest single account (its slots are
//! sorted in place).

use crate::{
    AccountTrieNodes, Bytecodes, Database, HashedAccounts, HashedStorages, ImportError,
    STATE_TABLES, StorageTrieNodes, Table, TableKey, TableRead, TableValue, WriteTxn,
};
use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_trie::Nibbles;
use snapsync_etl::{Collector, CollectorConfig, EtlError};
use snapsync_primitives::{AccountHash, KECCAK_EMPTY, SlotHash, TrieAccount};
use snapsync_storage::StateError;
use snapsync_trie::{NodeSink, StoredNodes, TrieBuildError, TrieBuilder};
use std::convert::Infallible;

/// One account of a state to import, by hashed key. Storage root and code hash are computed, never
/// taken on trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportAccount {
    /// The account's key in the state trie (keccak256 of its address).
    pub hash: AccountHash,
    /// The nonce.
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// The contract code; empty for an account without code.
    pub code: Bytes,
    /// The storage slots by hashed slot key, in any order. Zero values are skipped.
    pub storage: Vec<(SlotHash, U256)>,
}

/// What [`import_state`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// The root of the imported state trie.
    pub state_root: B256,
    /// Accounts written.
    pub accounts: u64,
    /// Non-zero storage slots written.
    pub storage_slots: u64,
    /// Distinct non-empty codes written.
    pub bytecodes: u64,
}

/// Imports a whole state into an empty database (accounts and slots in any order; zero slot
/// values skipped; duplicate account hashes are an error): the hashed tables, the bytecodes (by
/// keccak256, deduplicated), every storage root computed, and every hashed node of the account
/// and storage tries by path (as [`rebuild_state_trie`](snapsync_storage::rebuild_state_trie) writes them),
/// in sorted bulk writes through ETL collectors configured by `etl`, and one commit.
///
/// # Errors
/// [`ImportError::NotEmpty`] when a state table of `db` already has entries;
/// [`ImportError::DuplicateAccount`] and [`ImportError::DuplicateSlot`] for ambiguous input;
/// [`ImportError::State`] when sorting fails (I/O of the collectors' run files); database
/// failures. Nothing is committed on error.
pub fn import_state<I: IntoIterator<Item = ImportAccount>>(
    db: &dyn Database,
    accounts: I,
    etl: &CollectorConfig,
) -> Result<ImportReport, ImportError> {
    // Fail fast, before the collection pass; checked again under the write lock.
    ensure_empty(&db.view()?)?;
    let mut collected = Collected::new(etl);
    for (position, account) in (0u64..).zip(accounts) {
        collected.add(account, position)?;
    }
    let mut txn = db.write()?;
    ensure_empty(&txn)?;
    let report = collected.write_into(&mut txn, etl)?;
    txn.commit()?;
    tracing::info!(
        target: "sync::db",
        state_root = %report.state_root,
        accounts = report.accounts,
        storage_slots = report.storage_slots,
        bytecodes = report.bytecodes,
        "imported state"
    );
    Ok(report)
}

/// [`ImportError::NotEmpty`] for the first state table of `reader` that has an entry.
fn ensure_empty(reader: &impl TableRead) -> Result<(), ImportError> {
    for table in STATE_TABLES {
        let mut entries =
            reader.kv().range(table, crate::KeyBounds::all(), crate::Direction::Forward)?;
        if entries.next().transpose()?.is_some() {
            return Err(ImportError::NotEmpty { table });
        }
    }
    Ok(())
}

/// Everything of the input, collected for sorting, before the write transaction.
struct Collected {
    /// `hash ++ input position (big-endian)` → account RLP.
    accounts: Collector<[u8; 40], Vec<u8>>,
    /// `(account, slot)` key encoding → value encoding.
    slots: Collector<[u8; 64], Vec<u8>>,
    /// Code hash → code.
    codes: Collector<B256, Bytes>,
    /// `(account, path)` key encoding → node RLP.
    storage_nodes: Collector<Vec<u8>, Vec<u8>>,
    /// Scratch buffer for encodings.
    scratch: Vec<u8>,
}

impl Collected {
    fn new(etl: &CollectorConfig) -> Self {
        Self {
            accounts: Collector::new(etl.clone()),
            slots: Collector::new(etl.clone()),
            codes: Collector::new(etl.clone()),
            storage_nodes: Collector::new(etl.clone()),
            scratch: Vec::with_capacity(128),
        }
    }

    /// Collects one account, the `position`-th of the input.
    fn add(&mut self, account: ImportAccount, position: u64) -> Result<(), ImportError> {
        let ImportAccount { hash, nonce, balance, code, storage } = account;
        let storage_root = self.add_storage(hash, storage)?;
        let code_hash = self.add_code(&code)?;
        self.scratch.clear();
        TrieAccount { nonce, balance, storage_root, code_hash }.encode_value(&mut self.scratch);
        let mut key = [0u8; 40];
        key[..32].copy_from_slice(hash.as_ref());
        key[32..].copy_from_slice(&position.to_be_bytes());
        self.accounts.insert(&key, &self.scratch).map_err(etl_error(HashedAccounts::NAME))?;
        Ok(())
    }

    /// Collects the non-zero slots of `account` and its storage trie's nodes; returns its root.
    fn add_storage(
        &mut self,
        account: AccountHash,
        mut slots: Vec<(SlotHash, U256)>,
    ) -> Result<B256, ImportError> {
        slots.retain(|(_, value)| !value.is_zero());
        slots.sort_unstable_by_key(|(slot, _)| *slot);
        if let Some(pair) = slots.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(ImportError::DuplicateSlot { account, slot: pair[0].0 });
        }
        let sink = NodeCollector { nodes: &mut self.storage_nodes, account: Some(account) };
        let mut builder = TrieBuilder::new(StoredNodes(sink));
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(account.as_ref());
        for (slot, value) in &slots {
            self.scratch.clear();
            alloy_rlp::Encodable::encode(value, &mut self.scratch);
            builder.add_leaf(slot.as_ref(), &self.scratch).map_err(trie_error(Some(account)))?;
            self.scratch.clear();
            value.encode_value(&mut self.scratch);
            key[32..].copy_from_slice(slot.as_ref());
            self.slots.insert(&key, &self.scratch).map_err(etl_error(HashedStorages::NAME))?;
        }
        let (root, _) = builder.finish().map_err(trie_error(Some(account)))?;
        Ok(root)
    }

    /// Collects `code` unless empty; returns its hash.
    fn add_code(&mut self, code: &Bytes) -> Result<B256, ImportError> {
        if code.is_empty() {
            return Ok(KECCAK_EMPTY);
        }
        let hash = keccak256(code);
        self.codes.insert(&hash, code).map_err(etl_error(Bytecodes::NAME))?;
        Ok(hash)
    }

    /// Writes everything collected into `txn` (which the caller commits). Each collector is
    /// dropped once written, so its buffer is freed before the next table grows.
    fn write_into(
        self,
        txn: &mut WriteTxn,
        etl: &CollectorConfig,
    ) -> Result<ImportReport, ImportError> {
        let Self { accounts: mut sorted, mut slots, mut codes, mut storage_nodes, .. } = self;
        let mut account_nodes = Collector::new(etl.clone());
        let (state_root, accounts) = write_accounts(&mut sorted, &mut account_nodes, txn)?;
        drop(sorted);
        let storage_slots = append::<HashedStorages, _, _>(&mut slots, txn)?;
        drop(slots);
        let bytecodes = append::<Bytecodes, _, _>(&mut codes, txn)?;
        drop(codes);
        append::<AccountTrieNodes, _, _>(&mut account_nodes, txn)?;
        drop(account_nodes);
        append::<StorageTrieNodes, _, _>(&mut storage_nodes, txn)?;
        Ok(ImportReport { state_root, accounts, storage_slots, bytecodes })
    }
}

/// Streams the sorted accounts into [`HashedAccounts`] and into the account trie's builder, whose
/// nodes go to `nodes`. Returns the state root and the number of accounts.
fn write_accounts(
    sorted: &mut Collector<[u8; 40], Vec<u8>>,
    nodes: &mut Collector<Vec<u8>, Vec<u8>>,
    txn: &mut WriteTxn,
) -> Result<(B256, u64), ImportError> {
    let mut builder = TrieBuilder::new(StoredNodes(NodeCollector { nodes, account: None }));
    let mut failure = None;
    let stream = AccountStream {
        sorted: sorted.iter().map_err(etl_error(HashedAccounts::NAME))?,
        builder: &mut builder,
        previous: None,
        failure: &mut failure,
    };
    let accounts = txn.append_sorted_encoded::<HashedAccounts, _, _, _, _>(stream)?;
    if let Some(error) = failure {
        return Err(error);
    }
    let (root, _) = builder.finish().map_err(trie_error(None))?;
    Ok((root, accounts))
}

/// Bulk-appends the sorted, already encoded entries of `collector` into table `T`.
fn append<T: Table, K, V>(
    collector: &mut Collector<K, V>,
    txn: &mut WriteTxn,
) -> Result<u64, ImportError>
where
    K: snapsync_etl::Encode + snapsync_etl::Decode + AsRef<[u8]>,
    V: snapsync_etl::Encode + snapsync_etl::Decode + AsRef<[u8]>,
{
    let sorted = collector.iter().map_err(etl_error(T::NAME))?;
    Ok(txn.append_sorted_encoded::<T, _, _, _, _>(sorted)?)
}

/// An account as appended: its hash and its RLP.
type AccountEntry = ([u8; 32], Vec<u8>);

/// The sorted accounts as `(hash, RLP)`, each also added to the account trie. The first failure
/// (a duplicate hash, a collector or builder error) ends the stream and is kept in `failure`.
struct AccountStream<'a, I, S> {
    sorted: I,
    builder: &'a mut TrieBuilder<S>,
    previous: Option<[u8; 32]>,
    failure: &'a mut Option<ImportError>,
}

impl<I, S> AccountStream<'_, I, S>
where
    I: Iterator<Item = Result<([u8; 40], Vec<u8>), EtlError>>,
    S: NodeSink,
{
    fn next_account(&mut self) -> Result<Option<AccountEntry>, ImportError> {
        let Some(entry) = self.sorted.next() else { return Ok(None) };
        let (key, rlp) = entry.map_err(etl_error(HashedAccounts::NAME))?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&key[..32]);
        if self.previous == Some(hash) {
            return Err(ImportError::DuplicateAccount { hash: AccountHash(B256::from(hash)) });
        }
        self.previous = Some(hash);
        self.builder.add_leaf(&hash, &rlp).map_err(trie_error(None))?;
        Ok(Some((hash, rlp)))
    }
}

impl<I, S> Iterator for AccountStream<'_, I, S>
where
    I: Iterator<Item = Result<([u8; 40], Vec<u8>), EtlError>>,
    S: NodeSink,
{
    type Item = Result<AccountEntry, Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failure.is_some() {
            return None;
        }
        match self.next_account() {
            Ok(account) => account.map(Ok),
            Err(error) => {
                *self.failure = Some(error);
                None
            }
        }
    }
}

/// A [`NodeSink`] into a collector keyed like [`AccountTrieNodes`] (`account` is `None`) or
/// [`StorageTrieNodes`].
struct NodeCollector<'a> {
    nodes: &'a mut Collector<Vec<u8>, Vec<u8>>,
    account: Option<AccountHash>,
}

impl NodeSink for NodeCollector<'_> {
    type Error = EtlError;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), EtlError> {
        let mut key = Vec::with_capacity(32 + path.len());
        match self.account {
            Some(account) => (account, *path).encode_key(&mut key),
            None => path.encode_key(&mut key),
        }
        self.nodes.insert(&key, &rlp.to_vec())
    }
}

/// Maps a collector failure while sorting for `table`.
fn etl_error(table: &'static str) -> impl Fn(EtlError) -> ImportError {
    move |source| {
        ImportError::State(StateError::Etl { collection: crate::collection_of(table), source })
    }
}

/// Maps a trie builder failure (a bug: its input is sorted and non-empty by construction, or the
/// node collector failed).
fn trie_error(account: Option<AccountHash>) -> impl Fn(TrieBuildError) -> ImportError {
    move |source| ImportError::State(StateError::Trie { account, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryDatabase;

    fn account(byte: u8) -> ImportAccount {
        ImportAccount {
            hash: AccountHash(B256::repeat_byte(byte)),
            nonce: u64::from(byte),
            balance: U256::from(byte),
            ..ImportAccount::default()
        }
    }

    #[test]
    fn duplicate_accounts_and_slots_are_refused_and_nothing_is_written() {
        let db = MemoryDatabase::new();
        let config = CollectorConfig::new(1 << 16);
        let error = import_state(&db, [account(1), account(2), account(1)], &config).unwrap_err();
        assert!(matches!(error, ImportError::DuplicateAccount { hash } if hash == account(1).hash));
        assert!(db.view().unwrap().first::<HashedAccounts>().unwrap().is_none());

        let slot = SlotHash(B256::repeat_byte(9));
        let twice = ImportAccount {
            storage: vec![(slot, U256::from(1)), (slot, U256::from(2))],
            ..account(3)
        };
        let error = import_state(&db, [twice], &config).unwrap_err();
        assert!(matches!(error, ImportError::DuplicateSlot { slot: s, .. } if s == slot));
    }

    #[test]
    fn a_non_empty_database_is_refused() {
        let db = MemoryDatabase::new();
        let config = CollectorConfig::new(1 << 16);
        import_state(&db, [account(1)], &config).unwrap();
        let error = import_state(&db, [account(2)], &config).unwrap_err();
        assert!(matches!(error, ImportError::NotEmpty { table: "HashedAccounts" }), "{error}");
    }
}
