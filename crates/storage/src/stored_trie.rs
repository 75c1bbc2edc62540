//! The stored trie read back by path: node lookups for healing and proofs for serving.
//!
//! [`AccountTrie`] and [`StorageTrie`] are `snapsync_trie::NodeSource`s over any
//! [`StateRead`] (a snapshot or a write transaction): its account and storage-trie nodes;
//! `prove_stored` walks them from the root down the two edge paths of a range, checking each
//! node against its parent's hash, so a stale node is reported rather than served.
//!
//! # Leaf nodes need not be stored
//!
//! A leaf node is nothing but its leaf's key (past its path) and value, which the flat tables
//! hold anyway. So where no node is stored at a path, the lookup derives the leaf node there
//! from the flat table: the path holds a leaf node exactly when one key lies under it and at
//! least two under its parent's path (the parent is then a branch, and the key its only leaf
//! below that nibble). The derived node is byte for byte the one a trie build emits, and it is
//! checked against its parent's hash like a stored one: a flat leaf that changed since the
//! parent was written gives a stale node, reported, not served. Two range reads of at most two
//! entries each decide it; an embedded leaf (under 32 bytes, inside its parent) is never a
//! stored node, so none is derived.

use crate::{KeyRange, StateRead, StoreError};
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Encodable;
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_trie::{NodeSource, StoredProofError, leaf_node, prove_stored};

/// The stored account trie of a [`StateRead`], as a [`NodeSource`].
#[derive(Debug, Clone, Copy)]
pub struct AccountTrie<'a, R: ?Sized> {
    view: &'a R,
}

impl<'a, R: StateRead + ?Sized> AccountTrie<'a, R> {
    /// The account trie of `view`.
    pub const fn new(view: &'a R) -> Self {
        Self { view }
    }
}

impl<R: StateRead + ?Sized> NodeSource for AccountTrie<'_, R> {
    type Error = StoreError;

    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, StoreError> {
        match self.view.account_node(path)? {
            Some(node) => Ok(Some(node)),
            None => derive_leaf_node(path, |range, limit| {
                self.view.accounts(range.map(AccountHash))?.take(limit).map(leaf_entry).collect()
            }),
        }
    }
}

/// One account's stored storage trie, as a [`NodeSource`].
#[derive(Debug, Clone, Copy)]
pub struct StorageTrie<'a, R: ?Sized> {
    view: &'a R,
    account: AccountHash,
}

impl<'a, R: StateRead + ?Sized> StorageTrie<'a, R> {
    /// The storage trie of `account` in `view`.
    pub const fn new(view: &'a R, account: AccountHash) -> Self {
        Self { view, account }
    }
}

impl<R: StateRead + ?Sized> NodeSource for StorageTrie<'_, R> {
    type Error = StoreError;

    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, StoreError> {
        match self.view.storage_node(&self.account, path)? {
            Some(node) => Ok(Some(node)),
            None => derive_leaf_node(path, |range, limit| {
                let slots = self.view.slots(&self.account, range.map(SlotHash))?;
                slots.take(limit).map(leaf_entry).collect()
            }),
        }
    }
}

/// A leaf's key and its value RLP-encoded, as its leaf node holds them.
type LeafEntry = (B256, Vec<u8>);

/// `entry` of a flat table as a leaf: its key as bytes, its value RLP-encoded.
fn leaf_entry<K: Into<B256>, V: Encodable>(
    entry: Result<(K, V), StoreError>,
) -> Result<LeafEntry, StoreError> {
    let (key, value) = entry?;
    Ok((key.into(), alloy_rlp::encode(value)))
}

/// The leaf node at `path` derived from the flat table (see the module docs), where `leaves`
/// gives the first `limit` leaves of a key range; `None` when no hashed leaf node is there.
fn derive_leaf_node(
    path: &Nibbles,
    leaves: impl Fn(KeyRange<B256>, usize) -> Result<Vec<LeafEntry>, StoreError>,
) -> Result<Option<Bytes>, StoreError> {
    let (first, last) = keys_under(path);
    let mut under = leaves(KeyRange::from(first..=last), 2)?;
    if under.len() != 1 {
        return Ok(None);
    }
    if let Some(parent) = path.len().checked_sub(1).map(|len| path.slice(..len)) {
        // The parent is a branch only if a second key lies under it.
        let (first, last) = keys_under(&parent);
        if leaves(KeyRange::from(first..=last), 2)?.len() < 2 {
            return Ok(None);
        }
    }
    let Some((key, value)) = under.pop() else { return Ok(None) };
    let mut node = Vec::with_capacity(value.len() + 40);
    leaf_node(path, &Nibbles::unpack(key), &value, &mut node);
    // An embedded node lives inside its parent, never at a path of its own (the root aside).
    Ok((node.len() >= 32 || path.is_empty()).then(|| Bytes::from(node)))
}

/// The first and last 32-byte keys under the nibble path `path`: `path` followed by zeros, and
/// by `f`s (a [`Nibbles`] holds at most the 64 nibbles of a key).
pub fn keys_under(path: &Nibbles) -> (B256, B256) {
    let mut first = [0u8; 32];
    let mut last = [0xffu8; 32];
    path.pack_to(&mut first);
    path.pack_to(&mut last);
    if !path.len().is_multiple_of(2) {
        last[path.len() / 2] |= 0x0f;
    }
    (B256::from(first), B256::from(last))
}

/// The proof nodes of the account range `origin..=last` from the stored account trie with root
/// `root`, as a snap/1 server sends them (`last` is `None` for a range that proves absence).
///
/// # Errors
/// [`StoredProofError::RootNotStored`] when `root` is not the stored trie's root, missing or
/// stale nodes, and store failures ([`StoredProofError::Source`]).
pub fn prove_account_range<R: StateRead + ?Sized>(
    view: &R,
    root: B256,
    origin: AccountHash,
    last: Option<AccountHash>,
) -> Result<Vec<Bytes>, StoredProofError> {
    let last = last.map(|last| last.0);
    prove_stored(
        &AccountTrie::new(view),
        root,
        origin.as_ref(),
        last.as_ref().map(|l| l.as_slice()),
    )
}

/// The proof nodes of the storage range `origin..=last` of `account`, from its stored storage
/// trie with root `root`.
///
/// # Errors
/// As [`prove_account_range`].
pub fn prove_storage_range<R: StateRead + ?Sized>(
    view: &R,
    account: AccountHash,
    root: B256,
    origin: SlotHash,
    last: Option<SlotHash>,
) -> Result<Vec<Bytes>, StoredProofError> {
    let last = last.map(|last| last.0);
    prove_stored(
        &StorageTrie::new(view, account),
        root,
        origin.as_ref(),
        last.as_ref().map(|l| l.as_slice()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StateStore, StateWrite, test_utils::MapStore};
    use alloy_primitives::U256;
    use snapsync_trie::{TrieBuilder, VecSink};

    /// Two slots whose keys differ in the last nibble only hang from a branch 63 nibbles deep,
    /// each a leaf node of no key left and a one-byte value: embedded in the branch, so no
    /// node is at their paths, stored or derived; the branch's own path, with two keys under
    /// it, holds no leaf either.
    #[test]
    fn embedded_leaves_are_not_derived() {
        let store = MapStore::new();
        let account = AccountHash(B256::repeat_byte(7));
        let keys = [B256::repeat_byte(0x11) ^ B256::with_last_byte(1), B256::repeat_byte(0x11)];
        let mut txn = store.writer().unwrap();
        for key in keys {
            txn.put_slot(&account, &SlotHash(key), U256::from(5)).unwrap();
        }
        txn.commit().unwrap();
        let view = store.reader().unwrap();
        let trie = StorageTrie::new(&view, account);

        let mut builder = TrieBuilder::new(VecSink::default());
        for key in keys {
            builder.add_leaf(key.as_slice(), &alloy_rlp::encode(U256::from(5))).unwrap();
        }
        let (_, emitted) = builder.finish().unwrap();
        let leaf_path = |key: B256| Nibbles::unpack(key);
        let branch = leaf_path(keys[0]).slice(..63);
        assert!(emitted.nodes.iter().all(|(path, _)| path.len() < 63), "{:?}", emitted.nodes);
        for key in keys {
            assert_eq!(trie.node(&leaf_path(key)).unwrap(), None);
        }
        assert_eq!(trie.node(&branch).unwrap(), None);
    }
}
