//! The state root, recomputed from the hashed tables, and the trie nodes written by path.
//!
//! One pass walks [`HashedAccounts`] and [`HashedStorages`] side by side (both are ordered by
//! account hash first, so this is a merge-join, not a seek per account): each account's slots go
//! through a storage [`TrieBuilder`] whose root is compared with the account's `storage_root`, and
//! each account's RLP goes into the account trie's builder. The builders hand every hashed node to
//! a sink: dropped for [`compute_state_root`], collected for [`rebuild_state_trie`].
//!
//! The builders emit nodes children first (post-order), which is not key order: a node's path
//! is a prefix of its children's and must sort first. So [`rebuild_state_trie`] sorts them through
//! `snapsync_etl::Collector`s (bounded memory, spilling sorted runs to disk) and then bulk-appends
//! the sorted streams into [`AccountTrieNodes`] and [`StorageTrieNodes`].

use crate::{
    AccountTrieNodes, DbError, HashedAccounts, HashedStorages, StateError, StorageTrieNodes,
    TableCollector, TableRead, WriteTxn,
};
use alloy_primitives::{B256, U256};
use alloy_trie::Nibbles;
use snapsync_etl::{CollectorConfig, EtlError};
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_trie::{NodeSink, NoopSink, TrieBuilder};
use std::{convert::Infallible, iter::Peekable};

/// An account whose stored `storage_root` is not the root of its stored slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageRootMismatch {
    /// The account.
    pub account: AccountHash,
    /// The storage root its [`HashedAccounts`] entry holds.
    pub stored: B256,
    /// The root of its [`HashedStorages`] entries.
    pub computed: B256,
}

/// What a pass over the hashed state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateReport {
    /// The root of the account trie over the stored accounts (as stored, whatever their storage
    /// roots).
    pub state_root: B256,
    /// Accounts walked.
    pub accounts: u64,
    /// Storage slots walked (including those of orphans).
    pub storage_slots: u64,
    /// Accounts whose storage root disagrees with their slots, in account order.
    pub storage_mismatches: Vec<StorageRootMismatch>,
    /// Account hashes that have slots in [`HashedStorages`] but no [`HashedAccounts`] entry.
    pub orphan_storages: Vec<AccountHash>,
}

impl StateReport {
    /// Whether every storage root matched and no slot is orphaned: the stored state is one
    /// consistent trie with root [`state_root`](Self::state_root).
    pub fn is_consistent(&self) -> bool {
        self.storage_mismatches.is_empty() && self.orphan_storages.is_empty()
    }
}

/// Recomputes the state root and every storage root from the hashed tables of `view`.
///
/// # Errors
/// Database failures (including corrupt entries) and [`StateError::Trie`]; mismatching storage
/// roots are not errors but are listed in the report.
pub fn compute_state_root(view: &impl TableRead) -> Result<StateReport, StateError> {
    let (report, NoopSink) = walk_state(view, NoopSink, &mut NoStorageNodes)?;
    Ok(report)
}

/// The root of one account's storage trie over its stored slots.
///
/// # Errors
/// Database failures and [`StateError::Trie`].
pub fn compute_storage_root(
    view: &impl TableRead,
    account: AccountHash,
) -> Result<B256, StateError> {
    let slots = view.range::<HashedStorages>(storage_bounds(account))?.peekable();
    let mut walk = StorageWalk { slots, leaf: Vec::new(), slots_seen: 0 };
    walk.storage_root(account, &mut NoStorageNodes)
}

/// Recomputes the state from the hashed tables of `view` (as [`compute_state_root`]) and replaces
/// the contents of [`AccountTrieNodes`] and [`StorageTrieNodes`] in `txn` with every hashed node
/// of the account trie and of each storage trie, by path. The nodes are sorted through ETL
/// collectors configured by `etl`, so memory stays bounded whatever the state size.
///
/// `view` is read as a snapshot; the caller commits `txn`.
///
/// # Errors
/// As [`compute_state_root`], and [`StateError::Etl`] / database failures while sorting or
/// writing the nodes.
pub fn rebuild_state_trie(
    view: &impl TableRead,
    txn: &mut WriteTxn,
    etl: &CollectorConfig,
) -> Result<RebuiltTrie, StateError> {
    let account_nodes = TableCollector::<AccountTrieNodes>::new(etl.clone());
    let mut storage_nodes = TableCollector::<StorageTrieNodes>::new(etl.clone());
    let (report, mut account_nodes) = walk_state(view, account_nodes, &mut storage_nodes)?;
    txn.clear::<AccountTrieNodes>()?;
    txn.clear::<StorageTrieNodes>()?;
    let account_nodes = account_nodes.append_into(txn)?;
    let storage_nodes = storage_nodes.append_into(txn)?;
    tracing::debug!(
        target: "sync::db",
        state_root = %report.state_root,
        accounts = report.accounts,
        account_nodes,
        storage_nodes,
        "rebuilt the stored state trie"
    );
    Ok(RebuiltTrie { report, account_nodes, storage_nodes })
}

/// What [`rebuild_state_trie`] found and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuiltTrie {
    /// The pass over the hashed state, as [`compute_state_root`] reports it.
    pub report: StateReport,
    /// Nodes written to [`AccountTrieNodes`].
    pub account_nodes: u64,
    /// Nodes written to [`StorageTrieNodes`] (all accounts).
    pub storage_nodes: u64,
}

/// The key range of one account's entries in a table keyed by `(AccountHash, SlotHash)`.
fn storage_bounds(account: AccountHash) -> std::ops::RangeInclusive<(AccountHash, SlotHash)> {
    (account, SlotHash::ZERO)..=(account, SlotHash::MAX)
}

/// Receives the hashed nodes of every storage trie.
trait StorageNodes {
    /// What the sink fails with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Receives the node at `path` of `account`'s storage trie.
    fn on_storage_node(
        &mut self,
        account: AccountHash,
        path: &Nibbles,
        rlp: &[u8],
    ) -> Result<(), Self::Error>;
}

/// Drops every storage node.
struct NoStorageNodes;

impl StorageNodes for NoStorageNodes {
    type Error = Infallible;

    fn on_storage_node(&mut self, _: AccountHash, _: &Nibbles, _: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

/// The [`NodeSink`] of one account's storage trie.
struct OneStorage<'a, S> {
    nodes: &'a mut S,
    account: AccountHash,
}

impl<S: StorageNodes> NodeSink for OneStorage<'_, S> {
    type Error = S::Error;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), S::Error> {
        self.nodes.on_storage_node(self.account, path, rlp)
    }
}

impl NodeSink for TableCollector<AccountTrieNodes> {
    type Error = EtlError;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), EtlError> {
        self.insert_encoded(path, rlp)
    }
}

impl StorageNodes for TableCollector<StorageTrieNodes> {
    type Error = EtlError;

    fn on_storage_node(
        &mut self,
        account: AccountHash,
        path: &Nibbles,
        rlp: &[u8],
    ) -> Result<(), EtlError> {
        self.insert_encoded(&(account, *path), rlp)
    }
}

/// The walk over [`HashedStorages`], advanced account by account.
struct StorageWalk<I: Iterator> {
    slots: Peekable<I>,
    /// Scratch buffer for leaf values.
    leaf: Vec<u8>,
    slots_seen: u64,
}

type SlotEntry = Result<((AccountHash, SlotHash), U256), DbError>;

impl<I: Iterator<Item = SlotEntry>> StorageWalk<I> {
    /// The account of the next slot, if any.
    fn next_account(&mut self) -> Result<Option<AccountHash>, DbError> {
        match self.slots.peek() {
            None => Ok(None),
            Some(Ok(((account, _), _))) => Ok(Some(*account)),
            Some(Err(_)) => match self.slots.next() {
                Some(Err(err)) => Err(err),
                _ => Ok(None),
            },
        }
    }

    /// Skips the slots of accounts before `before` (all, if `None`), returning those accounts.
    fn skip_orphans(
        &mut self,
        before: Option<AccountHash>,
        orphans: &mut Vec<AccountHash>,
    ) -> Result<(), DbError> {
        while let Some(account) = self.next_account()? {
            if before.is_some_and(|before| account >= before) {
                break;
            }
            if orphans.last() != Some(&account) {
                orphans.push(account);
            }
            self.slots.next();
            self.slots_seen += 1;
        }
        Ok(())
    }

    /// Consumes the slots of `account` into a storage trie and returns its root.
    fn storage_root<S: StorageNodes>(
        &mut self,
        account: AccountHash,
        nodes: &mut S,
    ) -> Result<B256, StateError> {
        let trie_error = |source| StateError::Trie { account: Some(account), source };
        let mut builder = TrieBuilder::new(OneStorage { nodes, account });
        while self.next_account()? == Some(account) {
            let Some(Ok(((_, slot), value))) = self.slots.next() else { break };
            self.leaf.clear();
            alloy_rlp::Encodable::encode(&value, &mut self.leaf);
            builder.add_leaf(slot.as_ref(), &self.leaf).map_err(trie_error)?;
            self.slots_seen += 1;
        }
        builder.finish().map(|(root, _)| root).map_err(trie_error)
    }
}

/// The pass shared by [`compute_state_root`] and [`rebuild_state_trie`].
fn walk_state<R: TableRead, A: NodeSink, S: StorageNodes>(
    view: &R,
    account_nodes: A,
    storage_nodes: &mut S,
) -> Result<(StateReport, A), StateError> {
    let trie_error = |source| StateError::Trie { account: None, source };
    let mut storages = StorageWalk {
        slots: view.iter::<HashedStorages>()?.peekable(),
        leaf: Vec::new(),
        slots_seen: 0,
    };
    let mut builder = TrieBuilder::new(account_nodes);
    let (mut accounts, mut storage_mismatches, mut orphan_storages) = (0, Vec::new(), Vec::new());
    let mut leaf = Vec::with_capacity(110);
    for entry in view.iter::<HashedAccounts>()? {
        let (hash, account) = entry?;
        storages.skip_orphans(Some(hash), &mut orphan_storages)?;
        let computed = storages.storage_root(hash, storage_nodes)?;
        if computed != account.storage_root {
            storage_mismatches.push(StorageRootMismatch {
                account: hash,
                stored: account.storage_root,
                computed,
            });
        }
        leaf.clear();
        alloy_rlp::Encodable::encode(&account, &mut leaf);
        builder.add_leaf(hash.as_ref(), &leaf).map_err(trie_error)?;
        accounts += 1;
    }
    storages.skip_orphans(None, &mut orphan_storages)?;
    let (state_root, account_nodes) = builder.finish().map_err(trie_error)?;
    let report = StateReport {
        state_root,
        accounts,
        storage_slots: storages.slots_seen,
        storage_mismatches,
        orphan_storages,
    };
    Ok((report, account_nodes))
}
