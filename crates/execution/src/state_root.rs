//! [`StateRoot`]: the state root after a block, recomputed from the changed keys and the stored
//! trie nodes, rehashing only the paths that changed, and the changed nodes written.
//!
//! # How
//!
//! The store keeps the hashed nodes of the account trie and of each storage trie by their path
//! (the root at the empty path), as snap sync and [`rebuild_state_trie`] leave them: every node
//! but the leaf nodes below the root, which the flat tables hold (a missing leaf node is read as
//! its leaf, below). A block
//! changes a few leaves. The trie is walked from its root with the sorted set of changed keys:
//!
//! - a branch node whose path is a prefix of no changed key is an unchanged subtree: its hash
//!   goes into the trie builder as is ([`TrieBuilder::add_hashed_subtree`]), nothing below it is
//!   read;
//! - a branch on a changed path is descended child by child (each stored child checked against
//!   the hash its parent names); when no key under it was removed it keeps every child, so its
//!   unchanged children keep their places and hashes whatever their kind: the hash it names goes
//!   into the builder and they are not read at all (nor are its empty, unchanged slots);
//! - an extension is descended to its child (keys that now diverge inside it are read from the
//!   flat table beside it);
//! - below a leaf, an inline or empty child, or a missing or stale node, the leaves are read from
//!   the flat table (a handful: only those under that path).
//!
//! Under a branch that may lose children (a removed key below it), only branch nodes are used as
//! hashed subtrees: a branch can hang from any parent, so the builder may collapse the nodes
//! above it (a deleted sibling) without knowing what is below; a leaf or extension could not be
//! merged that way, which is why those are re-read there. This is
//! the prefix-set walk of reth's `TrieWalker` over alloy-trie's `HashBuilder`, on this store's
//! node-by-path layout and snapsync's own [`TrieBuilder`] (which emits the nodes it hashes).
//!
//! The nodes the builder emits replace the stored nodes on the changed paths; stored nodes on
//! those paths that no longer exist (a collapsed branch, the nodes under a re-read path) are
//! deleted. The cost is proportional to the changed keys times the trie depth, not to the
//! state. A store with no stored trie is the degenerate case: every leaf is read (a full build).
//!
//! [`rebuild_state_trie`]: snapsync_storage::rebuild_state_trie

use crate::{BlockError, Touched};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, SlotHash};
use snapsync_storage::{
    KeyRange, StateError, StateWrite, StoreError, account_storage_nodes, keys_under,
};
use snapsync_trie::{ChildRef, StoredNodes, TrieBuilder, TrieNodeRef, VecSink, decode_node};
use std::{
    collections::{BTreeSet, HashSet},
    ops::Bound,
};

/// The state root of a store after writes. See the module docs.
#[derive(Debug, Clone, Copy)]
pub struct StateRoot;

impl StateRoot {
    /// Updates the storage trie of `account` after its slots `changed` were written: the new
    /// storage root, its changed nodes written.
    ///
    /// # Errors
    /// Store failures.
    pub fn update_storage<W: StateWrite + ?Sized>(
        txn: &mut W,
        account: AccountHash,
        changed: &BTreeSet<SlotHash>,
    ) -> Result<B256, BlockError> {
        let changed: BTreeSet<B256> = changed.iter().map(|slot| slot.0).collect();
        update(txn, &StorageTrie(account), &changed)
    }

    /// Updates the account trie after the accounts `changed` were written: the new state root,
    /// its changed nodes written. Their storage roots must be written already.
    ///
    /// # Errors
    /// Store failures.
    pub fn update_accounts<W: StateWrite + ?Sized>(
        txn: &mut W,
        changed: &BTreeSet<AccountHash>,
    ) -> Result<B256, BlockError> {
        let changed: BTreeSet<B256> = changed.iter().map(|account| account.0).collect();
        update(txn, &AccountTrie, &changed)
    }

    /// Updates every storage trie in `touched.slots`, then the account trie: the state root
    /// after leaves were written by something that did not update the tries (a revert). Each
    /// storage root must equal the one the written account holds.
    ///
    /// # Errors
    /// Store failures; [`BlockError::Internal`] when a storage root disagrees with its account.
    pub fn update<W: StateWrite + ?Sized>(
        txn: &mut W,
        touched: &Touched,
    ) -> Result<B256, BlockError> {
        for (account, slots) in &touched.slots {
            let root = Self::update_storage(txn, *account, slots)?;
            let stored = txn.account(account)?.map(|account| account.storage_root);
            match stored {
                None => {
                    txn.delete_storage_nodes(account_storage_nodes(*account, KeyRange::all()))?;
                }
                Some(stored) if stored != root => {
                    return Err(BlockError::Internal {
                        number: 0,
                        reason: format!(
                            "account {account}'s storage root {stored} is not its slots' {root}"
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        Self::update_accounts(txn, &touched.accounts)
    }

    /// The state root of `txn` with the account trie built from the leaves where none is
    /// stored (a seeded state, whose storage tries were built as it was written).
    ///
    /// # Errors
    /// Store failures.
    pub fn rebuild<W: StateWrite + ?Sized>(txn: &mut W) -> Result<B256, BlockError> {
        let accounts: BTreeSet<AccountHash> = txn
            .accounts(KeyRange::all())?
            .map(|entry| entry.map(|(hash, _)| hash))
            .collect::<Result<_, _>>()?;
        Self::update_accounts(txn, &accounts)
    }
}

/// What [`TrieTable::leaves`] calls with each leaf: its key and RLP-encoded value.
type LeafVisitor<'a> = dyn FnMut(B256, &[u8]) -> Result<(), BlockError> + 'a;

/// One trie of the store: its nodes by path and its leaves by key.
trait TrieTable {
    fn node<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        path: &Nibbles,
    ) -> Result<Option<Bytes>, StoreError>;

    /// Whether the leaf `key` is stored.
    fn contains<W: StateWrite + ?Sized>(&self, txn: &W, key: B256) -> Result<bool, StoreError>;

    /// Calls `leaf` with each leaf whose key is in `range`, ascending, its value RLP-encoded.
    fn leaves<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        range: KeyRange<B256>,
        leaf: &mut LeafVisitor<'_>,
    ) -> Result<(), BlockError>;

    fn delete_nodes<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        range: KeyRange<Nibbles>,
    ) -> Result<(), StoreError>;

    fn put_node<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        path: &Nibbles,
        rlp: &Bytes,
    ) -> Result<(), StoreError>;
}

/// Hands each entry of `entries` to `leaf`: its key as bytes, its value RLP-encoded.
fn encode_leaves<K, V: alloy_rlp::Encodable>(
    entries: impl Iterator<Item = Result<(K, V), StoreError>>,
    key: impl Fn(K) -> B256,
    leaf: &mut LeafVisitor<'_>,
) -> Result<(), BlockError> {
    let mut value = Vec::with_capacity(128);
    for entry in entries {
        let (k, v) = entry?;
        value.clear();
        v.encode(&mut value);
        leaf(key(k), &value)?;
    }
    Ok(())
}

/// The account trie.
struct AccountTrie;

impl TrieTable for AccountTrie {
    fn node<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        path: &Nibbles,
    ) -> Result<Option<Bytes>, StoreError> {
        txn.account_node(path)
    }

    fn contains<W: StateWrite + ?Sized>(&self, txn: &W, key: B256) -> Result<bool, StoreError> {
        Ok(txn.account(&AccountHash(key))?.is_some())
    }

    fn leaves<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        range: KeyRange<B256>,
        leaf: &mut LeafVisitor<'_>,
    ) -> Result<(), BlockError> {
        let range = KeyRange::new(range.start.map(AccountHash), range.end.map(AccountHash));
        encode_leaves(txn.accounts(range)?, |hash| hash.0, leaf)
    }

    fn delete_nodes<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        range: KeyRange<Nibbles>,
    ) -> Result<(), StoreError> {
        txn.delete_account_nodes(range).map(drop)
    }

    fn put_node<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        path: &Nibbles,
        rlp: &Bytes,
    ) -> Result<(), StoreError> {
        txn.put_account_node(path, rlp)
    }
}

/// One account's storage trie.
struct StorageTrie(AccountHash);

impl TrieTable for StorageTrie {
    fn node<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        path: &Nibbles,
    ) -> Result<Option<Bytes>, StoreError> {
        txn.storage_node(&self.0, path)
    }

    fn contains<W: StateWrite + ?Sized>(&self, txn: &W, key: B256) -> Result<bool, StoreError> {
        Ok(txn.slot(&self.0, &SlotHash(key))?.is_some())
    }

    fn leaves<W: StateWrite + ?Sized>(
        &self,
        txn: &W,
        range: KeyRange<B256>,
        leaf: &mut LeafVisitor<'_>,
    ) -> Result<(), BlockError> {
        let range = KeyRange::new(range.start.map(SlotHash), range.end.map(SlotHash));
        encode_leaves(txn.slots(&self.0, range)?, |slot| slot.0, leaf)
    }

    fn delete_nodes<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        range: KeyRange<Nibbles>,
    ) -> Result<(), StoreError> {
        txn.delete_storage_nodes(account_storage_nodes(self.0, range)).map(drop)
    }

    fn put_node<W: StateWrite + ?Sized>(
        &self,
        txn: &mut W,
        path: &Nibbles,
        rlp: &Bytes,
    ) -> Result<(), StoreError> {
        txn.put_storage_node(&self.0, path, rlp)
    }
}

/// The new root of `table` after the leaves `changed` were written, its nodes updated.
fn update<W: StateWrite + ?Sized, T: TrieTable>(
    txn: &mut W,
    table: &T,
    changed: &BTreeSet<B256>,
) -> Result<B256, BlockError> {
    let root_node = table.node(txn, &Nibbles::new())?;
    if changed.is_empty() {
        return Ok(root_node.map_or(EMPTY_ROOT_HASH, |rlp| keccak256(&rlp)));
    }
    let removed = removed_keys(txn, table, changed)?;
    let mut walk = Walk {
        txn: &*txn,
        table,
        changed,
        removed: &removed,
        builder: TrieBuilder::new(StoredNodes(VecSink::default())),
        delete_exact: Vec::new(),
        delete_under: Vec::new(),
    };
    match root_node {
        Some(rlp) => walk.visit(Nibbles::new(), &rlp, None)?,
        None => walk.leaves_under(Nibbles::new())?,
    }
    let Walk { builder, delete_exact, delete_under, .. } = walk;
    let (root, StoredNodes(sink)) = builder.finish().map_err(trie_error)?;
    for path in replaced_nowhere(delete_exact, &sink.nodes) {
        table.delete_nodes(txn, KeyRange::new(Bound::Included(path), Bound::Included(path)))?;
    }
    for path in delete_under {
        table.delete_nodes(txn, under(&path))?;
    }
    for (path, rlp) in &sink.nodes {
        table.put_node(txn, path, rlp)?;
    }
    Ok(root)
}

/// The keys of `changed` that are no longer stored (removed, or written empty).
fn removed_keys<W: StateWrite + ?Sized, T: TrieTable>(
    txn: &W,
    table: &T,
    changed: &BTreeSet<B256>,
) -> Result<BTreeSet<B256>, StoreError> {
    let mut removed = BTreeSet::new();
    for key in changed {
        if !table.contains(txn, *key)? {
            removed.insert(*key);
        }
    }
    Ok(removed)
}

/// The paths of `replaced` at which the builder emitted no node in `emitted`: only those need a
/// delete, the others are overwritten by the new node at the same path (a changed branch mostly
/// stays where it was; deleting it first would cost a range deletion per visited node).
fn replaced_nowhere(mut replaced: Vec<Nibbles>, emitted: &[(Nibbles, Bytes)]) -> Vec<Nibbles> {
    let emitted: HashSet<&Nibbles> = emitted.iter().map(|(path, _)| path).collect();
    replaced.retain(|path| !emitted.contains(path));
    replaced
}

fn trie_error(source: snapsync_trie::TrieBuildError) -> BlockError {
    BlockError::State(StateError::Trie { account: None, source })
}

/// The paths `path` and all below it, in trie order: up to the full path of the last key
/// under it.
fn under(path: &Nibbles) -> KeyRange<Nibbles> {
    let (_, last) = keys_under(path);
    KeyRange::new(Bound::Included(*path), Bound::Included(Nibbles::unpack(last)))
}

/// Whether a key of `keys` starts with `prefix`.
fn any_under(keys: &BTreeSet<B256>, prefix: &Nibbles) -> bool {
    let (low, high) = keys_under(prefix);
    keys.range(low..=high).next().is_some()
}

/// One walk of a trie with its changed keys. See the module docs.
struct Walk<'a, W: ?Sized, T> {
    txn: &'a W,
    table: &'a T,
    changed: &'a BTreeSet<B256>,
    /// The keys of `changed` no longer stored.
    removed: &'a BTreeSet<B256>,
    builder: TrieBuilder<StoredNodes<VecSink>>,
    /// Stored nodes replaced (or removed) at exactly these paths.
    delete_exact: Vec<Nibbles>,
    /// Stored nodes removed at and below these paths.
    delete_under: Vec<Nibbles>,
}

impl<W: StateWrite + ?Sized, T: TrieTable> Walk<'_, W, T> {
    /// Whether a changed key lies under `path`.
    fn dirty(&self, path: &Nibbles) -> bool {
        any_under(self.changed, path)
    }

    /// Whether a removed key lies under `path`: only then can a branch there lose children and
    /// collapse into its last one.
    fn loses_keys(&self, path: &Nibbles) -> bool {
        any_under(self.removed, path)
    }

    /// The stored node at `path` (hashed, `rlp`), whose hash `hash` its parent named and the
    /// caller checked (`None` for the root, which has no parent).
    fn visit(&mut self, path: Nibbles, rlp: &[u8], hash: Option<B256>) -> Result<(), BlockError> {
        let Ok(node) = decode_node(rlp) else { return self.leaves_under(path) };
        match (node, hash) {
            (TrieNodeRef::Branch { .. }, Some(hash)) if !self.dirty(&path) => {
                self.builder.add_hashed_subtree(path, hash).map_err(trie_error)
            }
            (TrieNodeRef::Branch { children, .. }, _) => {
                self.delete_exact.push(path);
                let stays_a_branch = !self.loses_keys(&path);
                for (nibble, child) in (0u8..).zip(children) {
                    let mut child_path = path;
                    child_path.push(nibble);
                    self.branch_child(child_path, child, stays_a_branch)?;
                }
                Ok(())
            }
            (TrieNodeRef::Extension { key, child }, _) => {
                self.delete_exact.push(path);
                let mut child_path = path;
                child_path.extend(&key);
                let (low, high) = keys_under(&path);
                let (child_low, child_high) = keys_under(&child_path);
                self.leaves_in(KeyRange::new(Bound::Included(low), Bound::Excluded(child_low)))?;
                self.child(child_path, child)?;
                self.leaves_in(KeyRange::new(Bound::Excluded(child_high), Bound::Included(high)))
            }
            (TrieNodeRef::Leaf { .. }, _) => self.leaves_under(path),
        }
    }

    /// The child at `path` of a visited branch on a changed path; `stays_a_branch` when no key
    /// under that branch was removed, so it keeps every child it had (and at least two).
    ///
    /// An unchanged child of a branch that stays one keeps its place and its hash, whatever its
    /// kind: the builder takes the hash the branch names, nothing is read. Under a branch that
    /// may collapse, an unchanged child is read to learn its kind (see [`Self::visit`]).
    fn branch_child(
        &mut self,
        path: Nibbles,
        child: ChildRef<'_>,
        stays_a_branch: bool,
    ) -> Result<(), BlockError> {
        if self.dirty(&path) {
            return self.child(path, child);
        }
        match child {
            // Nothing was there, and nothing was added.
            ChildRef::Empty => Ok(()),
            ChildRef::Hash(hash) if stays_a_branch => {
                self.builder.add_hashed_subtree(path, hash).map_err(trie_error)
            }
            _ => self.child(path, child),
        }
    }

    /// The child at `path` a visited node names.
    fn child(&mut self, path: Nibbles, child: ChildRef<'_>) -> Result<(), BlockError> {
        let ChildRef::Hash(hash) = child else { return self.leaves_under(path) };
        match self.table.node(self.txn, &path)? {
            Some(rlp) if keccak256(&rlp) == hash => self.visit(path, &rlp, Some(hash)),
            // Missing or stale: the flat leaves are the truth.
            _ => self.leaves_under(path),
        }
    }

    /// Every leaf under `path` from the flat table; every stored node there is replaced.
    fn leaves_under(&mut self, path: Nibbles) -> Result<(), BlockError> {
        self.delete_under.push(path);
        let (low, high) = keys_under(&path);
        self.leaves_in(KeyRange::new(Bound::Included(low), Bound::Included(high)))
    }

    fn leaves_in(&mut self, range: KeyRange<B256>) -> Result<(), BlockError> {
        let builder = &mut self.builder;
        self.table.leaves(self.txn, range, &mut |key, value| {
            builder.add_leaf(key.as_slice(), value).map_err(trie_error)
        })
    }
}
