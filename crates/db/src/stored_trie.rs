//! The stored trie read back by path: node lookups for healing and proofs for serving.
//!
//! [`AccountTrie`] and [`StorageTrie`] are `snapsync_trie::NodeSource`s over a read view (or a
//! write transaction) of [`AccountTrieNodes`] and [`StorageTrieNodes`]; `prove_stored` walks them
//! from the root down the two edge paths of a range, checking each node against its parent's
//! hash, so a stale node is reported rather than served.

use crate::{AccountTrieNodes, DbError, StorageTrieNodes, TableRead};
use alloy_primitives::{B256, Bytes};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_trie::{NodeSource, StoredProofError, prove_stored};

/// The account trie stored in [`AccountTrieNodes`], as a [`NodeSource`].
#[derive(Debug, Clone, Copy)]
pub struct AccountTrie<'a, R> {
    view: &'a R,
}

impl<'a, R: TableRead> AccountTrie<'a, R> {
    /// The account trie of `view`.
    pub const fn new(view: &'a R) -> Self {
        Self { view }
    }
}

impl<R: TableRead> NodeSource for AccountTrie<'_, R> {
    type Error = DbError;

    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, DbError> {
        self.view.get::<AccountTrieNodes>(path)
    }
}

/// One account's storage trie stored in [`StorageTrieNodes`], as a [`NodeSource`].
#[derive(Debug, Clone, Copy)]
pub struct StorageTrie<'a, R> {
    view: &'a R,
    account: AccountHash,
}

impl<'a, R: TableRead> StorageTrie<'a, R> {
    /// The storage trie of `account` in `view`.
    pub const fn new(view: &'a R, account: AccountHash) -> Self {
        Self { view, account }
    }
}

impl<R: TableRead> NodeSource for StorageTrie<'_, R> {
    type Error = DbError;

    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, DbError> {
        self.view.get::<StorageTrieNodes>(&(self.account, *path))
    }
}

/// The proof nodes of the account range `origin..=last` from the stored account trie with root
/// `root`, as a snap/1 server sends them (`last` is `None` for a range that proves absence).
///
/// # Errors
/// [`StoredProofError::RootNotStored`] when `root` is not the stored trie's root, missing or
/// stale nodes, and database failures ([`StoredProofError::Source`]).
pub fn prove_account_range(
    view: &impl TableRead,
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
pub fn prove_storage_range(
    view: &impl TableRead,
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
