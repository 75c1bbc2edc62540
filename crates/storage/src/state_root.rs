//! The state root, recomputed from the hashed tables, and the trie nodes written by path.
//!
//! One pass walks the accounts and all slots (in (account, slot) order) side by side (both are ordered by
//! account hash first, so this is a merge-join, not a seek per account): each account's slots go
//! through a storage [`TrieBuilder`] whose root is compared with the account's `storage_root`, and
//! each account's RLP goes into the account trie's builder. The builders hand every hashed node to
//! a sink: dropped for [`compute_state_root`], collected for [`rebuild_state_trie`] (all but the
//! leaf nodes below the root, which the stored tries derive from the leaves).
//!
//! The builders emit nodes children first (post-order), which is not key order: a node's path
//! is a prefix of its children's and must sort first. So [`rebuild_state_trie`] sorts them through
//! `snapsync_etl::Collector`s (bounded memory, spilling sorted runs to disk) and then bulk-appends
//! the sorted streams into the store's account and storage nodes.

use crate::{
    AccountNodes, KeyRange, SlotEntry, SortedCollector, StateError, StateRead, StateWrite,
    StorageNodes, StoreError, account_slots,
};
use alloy_primitives::B256;
use alloy_trie::Nibbles;
use snapsync_etl::{CollectorConfig, EtlError};
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_trie::{NodeSink, NoopSink, StoredNodes, TrieBuilder};
use std::{convert::Infallible, iter::Peekable};

/// An account whose stored `storage_root` is not the root of its stored slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageRootMismatch {
    /// The account.
    pub account: AccountHash,
    /// The storage root its account entry holds.
    pub stored: B256,
    /// The root of its stored slots.
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
    /// Account hashes that have stored slots but no account entry.
    pub orphan_storages: Vec<AccountHash>,
}

impl StateReport {
    /// Whether every storage root matched and no slot is orphaned: the stored state is one
    /// consistent trie with root [`state_root`](Self::state_root).
    pub fn is_consistent(&self) -> bool {
        self.storage_mismatches.is_empty() && self.orphan_storages.is_empty()
    }
}

/// Recomputes the state root and every storage root from the accounts and slots of `view`.
///
/// # Errors
/// Store failures (including corrupt entries) and [`StateError::Trie`]; mismatching storage
/// roots are not errors but are listed in the report.
pub fn compute_state_root<R: StateRead + ?Sized>(view: &R) -> Result<StateReport, StateError> {
    compute_state_root_visiting(view, |_, _| Ok(()))
}

/// [`compute_state_root`], handing each stored account to `visit` on the way (in hash order,
/// after its slots were hashed): checks that need every account ride on the one pass instead of
/// scanning the accounts again.
///
/// # Errors
/// As [`compute_state_root`], and `visit`'s errors.
pub fn compute_state_root_visiting<R, F>(view: &R, visit: F) -> Result<StateReport, StateError>
where
    R: StateRead + ?Sized,
    F: FnMut(AccountHash, &TrieAccount) -> Result<(), StoreError>,
{
    let (report, NoopSink) =
        walk_state_in(view, AccountSpan::All, NoopSink, &mut NoStorageNodes, visit)?;
    Ok(report)
}

/// The root of one account's storage trie over its stored slots.
///
/// # Errors
/// Store failures and [`StateError::Trie`].
pub fn compute_storage_root<R: StateRead + ?Sized>(
    view: &R,
    account: AccountHash,
) -> Result<B256, StateError> {
    let slots = view.all_slots(storage_bounds(account))?.peekable();
    let mut walk = StorageWalk { slots, leaf: Vec::new(), slots_seen: 0 };
    walk.storage_root(account, &mut NoStorageNodes)
}

/// Recomputes the state from the accounts and slots of `view` (as [`compute_state_root`]) and replaces
/// the account and storage-trie nodes of `txn` with every hashed node
/// of the account trie and of each storage trie, by path, but the leaf nodes below the root (a
/// lookup derives those from the leaves, see [`AccountTrie`](crate::AccountTrie)). The nodes
/// are sorted through ETL
/// collectors configured by `etl`, so memory stays bounded whatever the state size.
///
/// `view` is read as a snapshot; the caller commits `txn`.
///
/// # Errors
/// As [`compute_state_root`], and [`StateError::Etl`] / store failures while sorting or
/// writing the nodes.
pub fn rebuild_state_trie<R: StateRead + ?Sized, W: StateWrite + ?Sized>(
    view: &R,
    txn: &mut W,
    etl: &CollectorConfig,
) -> Result<RebuiltTrie, StateError> {
    let (report, mut account_nodes, mut storage_nodes) = collect_nodes(view, etl)?;
    write_nodes(txn, report, &mut account_nodes, &mut storage_nodes)
}

/// [`rebuild_state_trie`] reading the leaves from `txn` itself (its own writes included): one
/// transaction is read and written, so nothing can disagree. The walk finishes (its nodes
/// sorted into ETL collectors) before the first node is written.
///
/// # Errors
/// As [`rebuild_state_trie`].
pub fn rebuild_state_trie_in<W: StateWrite + ?Sized>(
    txn: &mut W,
    etl: &CollectorConfig,
) -> Result<RebuiltTrie, StateError> {
    let (report, mut account_nodes, mut storage_nodes) = collect_nodes(&*txn, etl)?;
    write_nodes(txn, report, &mut account_nodes, &mut storage_nodes)
}

type Collected = (StateReport, SortedCollector<AccountNodes>, SortedCollector<StorageNodes>);

/// The walk of a rebuild: the report and every node, sorted.
fn collect_nodes<R: StateRead + ?Sized>(
    view: &R,
    etl: &CollectorConfig,
) -> Result<Collected, StateError> {
    let account_nodes = StoredNodes(SortedCollector::<AccountNodes>::new(etl.clone()));
    let mut storage_nodes = SortedCollector::<StorageNodes>::new(etl.clone());
    let (report, StoredNodes(account_nodes)) =
        walk_state_in(view, AccountSpan::All, account_nodes, &mut storage_nodes, |_, _| Ok(()))?;
    Ok((report, account_nodes, storage_nodes))
}

/// The writes of a rebuild: the stored nodes replaced by the collected ones.
fn write_nodes<W: StateWrite + ?Sized>(
    txn: &mut W,
    report: StateReport,
    account_nodes: &mut SortedCollector<AccountNodes>,
    storage_nodes: &mut SortedCollector<StorageNodes>,
) -> Result<RebuiltTrie, StateError> {
    txn.clear_trie_nodes()?;
    let account_nodes = account_nodes.append_into(txn)?;
    let storage_nodes = storage_nodes.append_into(txn)?;
    tracing::debug!(
        target: "sync::store",
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
    /// Account-trie nodes written.
    pub account_nodes: u64,
    /// Storage-trie nodes written (all accounts).
    pub storage_nodes: u64,
}

/// The key range of one account's entries in the (account, slot) order.
fn storage_bounds(account: AccountHash) -> KeyRange<(AccountHash, SlotHash)> {
    account_slots(account, KeyRange::all())
}

/// Receives the hashed nodes a store keeps of every storage trie (see [`StoredNodes`]).
pub(crate) trait StorageNodeSink {
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
pub(crate) struct NoStorageNodes;

impl StorageNodeSink for NoStorageNodes {
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

impl<S: StorageNodeSink> NodeSink for OneStorage<'_, S> {
    type Error = S::Error;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), S::Error> {
        self.nodes.on_storage_node(self.account, path, rlp)
    }
}

impl NodeSink for SortedCollector<AccountNodes> {
    type Error = EtlError;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), EtlError> {
        self.insert(path, rlp)
    }
}

impl StorageNodeSink for SortedCollector<StorageNodes> {
    type Error = EtlError;

    fn on_storage_node(
        &mut self,
        account: AccountHash,
        path: &Nibbles,
        rlp: &[u8],
    ) -> Result<(), EtlError> {
        self.insert(&(account, *path), rlp)
    }
}

/// The walk over all slots, advanced account by account.
struct StorageWalk<I: Iterator> {
    slots: Peekable<I>,
    /// Scratch buffer for leaf values.
    leaf: Vec<u8>,
    slots_seen: u64,
}

type SlotItem = Result<SlotEntry, StoreError>;

impl<I: Iterator<Item = SlotItem>> StorageWalk<I> {
    /// The account of the next slot, if any.
    fn next_account(&mut self) -> Result<Option<AccountHash>, StoreError> {
        match self.slots.peek() {
            None => Ok(None),
            Some(Ok((account, _, _))) => Ok(Some(*account)),
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
    ) -> Result<(), StoreError> {
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
    fn storage_root<S: StorageNodeSink>(
        &mut self,
        account: AccountHash,
        nodes: &mut S,
    ) -> Result<B256, StateError> {
        let trie_error = |source| StateError::Trie { account: Some(account), source };
        let mut builder = TrieBuilder::new(StoredNodes(OneStorage { nodes, account }));
        while self.next_account()? == Some(account) {
            let Some(Ok((_, slot, value))) = self.slots.next() else { break };
            self.leaf.clear();
            alloy_rlp::Encodable::encode(&value, &mut self.leaf);
            builder.add_leaf(slot.as_ref(), &self.leaf).map_err(trie_error)?;
            self.slots_seen += 1;
        }
        builder.finish().map(|(root, _)| root).map_err(trie_error)
    }
}

/// A span of account hashes and the slots of the accounts in it: everything, or from one hash
/// (included) up to another (excluded) or to the end.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccountSpan {
    /// Every account.
    All,
    /// From `start` on, before `end` if any.
    From {
        /// The first hash in the span.
        start: AccountHash,
        /// The first hash after it, `None`: the span runs to the end.
        end: Option<AccountHash>,
    },
}

impl AccountSpan {
    /// The accounts of the span.
    pub(crate) fn accounts(self) -> KeyRange<AccountHash> {
        match self {
            Self::All => KeyRange::all(),
            Self::From { start, end } => KeyRange::new(
                std::ops::Bound::Included(start),
                end.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            ),
        }
    }

    fn slots(self) -> KeyRange<(AccountHash, SlotHash)> {
        self.accounts().map(|account| (account, SlotHash::ZERO))
    }
}

/// The pass shared by [`compute_state_root`], [`rebuild_state_trie`] and the parts of
/// [`compute_state_root_split`](crate::compute_state_root_split): the accounts of `span` and
/// their slots (the slots in the span without an account are its orphans).
pub(crate) fn walk_state_in<R, A, S, F>(
    view: &R,
    span: AccountSpan,
    account_nodes: A,
    storage_nodes: &mut S,
    mut visit: F,
) -> Result<(StateReport, A), StateError>
where
    R: StateRead + ?Sized,
    A: NodeSink,
    S: StorageNodeSink,
    F: FnMut(AccountHash, &TrieAccount) -> Result<(), StoreError>,
{
    let trie_error = |source| StateError::Trie { account: None, source };
    let mut storages = StorageWalk {
        slots: view.all_slots(span.slots())?.peekable(),
        leaf: Vec::new(),
        slots_seen: 0,
    };
    let mut builder = TrieBuilder::new(account_nodes);
    let (mut accounts, mut storage_mismatches, mut orphan_storages) = (0, Vec::new(), Vec::new());
    let mut leaf = Vec::with_capacity(110);
    for entry in view.accounts(span.accounts())? {
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
        visit(hash, &account)?;
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
