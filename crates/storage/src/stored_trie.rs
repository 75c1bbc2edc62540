//! The stored trie read back by path: node lookups for healing and proofs for serving.
//!
//! [`AccountTrie`] and [`StorageTrie`] are `snapsync_trie::NodeSource`s over any
//! [`StateRead`] (a snapshot or a write transaction): its account and storage-trie nodes; `prove_stored` walks them
//! from the root down the two edge paths of a range, checking each node against its parent's
//! hash, so a stale node is reported rather than served.

use crate::{StateRead, StoreError};
use alloy_primitives::{B256, Bytes};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_trie::{NodeSource, StoredProofError, prove_stored};

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
        self.view.account_node(path)
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
        self.view.storage_node(&self.account, path)
    }
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
