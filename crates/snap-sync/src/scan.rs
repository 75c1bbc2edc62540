//! Walking the stored accounts from a cursor, a bounded number at a time, and the codes they
//! name that are not stored.
//!
//! The verifying step and healing read `HashedAccounts` in hash order; this is that walk, once.

use crate::SnapSyncError;
use alloy_primitives::B256;
use alloy_trie::KECCAK_EMPTY;
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_storage::{StateRead, StoreError};
use std::{collections::HashSet, ops::ControlFlow};

/// Reads at most `limit` stored accounts from `from` on, handing each to `visit` until it breaks.
/// Returns where the next scan starts, or `None` when this one read the last stored account
/// (so the walk is finished).
pub(crate) fn scan_accounts(
    view: &(impl StateRead + ?Sized),
    from: AccountHash,
    limit: usize,
    mut visit: impl FnMut(AccountHash, &TrieAccount) -> Result<ControlFlow<()>, SnapSyncError>,
) -> Result<Option<AccountHash>, SnapSyncError> {
    let (mut read, mut last, mut stopped) = (0, None, false);
    for entry in view.accounts((from..).into())?.take(limit) {
        let (account, trie_account) = entry?;
        (read, last) = (read + 1, Some(account));
        if visit(account, &trie_account)?.is_break() {
            stopped = true;
            break;
        }
    }
    let reached_end = !stopped && read < limit;
    Ok(last.filter(|_| !reached_end).and_then(|last| last.checked_next()))
}

/// Code hashes of stored accounts whose code is not stored (each once; memory in proportion to
/// the missing ones only).
pub(crate) fn missing_codes(view: &(impl StateRead + ?Sized)) -> Result<Vec<B256>, SnapSyncError> {
    let mut missing = MissingCodes::default();
    scan_accounts(view, AccountHash::ZERO, usize::MAX, |_, account| {
        missing.check(view, account)?;
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(missing.into_vec())
}

/// The codes that accounts checked one by one name and `view` does not hold, each once: the
/// check [`missing_codes`] makes in its own walk, for a walk that does more.
#[derive(Debug, Default)]
pub(crate) struct MissingCodes {
    missing: HashSet<B256>,
}

impl MissingCodes {
    /// Notes `account`'s code if it is neither empty nor stored.
    ///
    /// # Errors
    /// Store failures.
    pub(crate) fn check(
        &mut self,
        view: &(impl StateRead + ?Sized),
        account: &TrieAccount,
    ) -> Result<(), StoreError> {
        let code = account.code_hash;
        if code != KECCAK_EMPTY && !self.missing.contains(&code) && view.code(&code)?.is_none() {
            self.missing.insert(code);
        }
        Ok(())
    }

    /// Adds the missing codes `other` found.
    pub(crate) fn merge(&mut self, other: Self) {
        self.missing.extend(other.missing);
    }

    /// Forgets the codes `view` holds now.
    ///
    /// # Errors
    /// Store failures.
    pub(crate) fn keep_unstored(
        &mut self,
        view: &(impl StateRead + ?Sized),
    ) -> Result<(), StoreError> {
        let mut unstored = HashSet::with_capacity(self.missing.len());
        for code in self.missing.drain() {
            if view.code(&code)?.is_none() {
                unstored.insert(code);
            }
        }
        self.missing = unstored;
        Ok(())
    }

    /// The missing codes found.
    pub(crate) fn into_vec(self) -> Vec<B256> {
        self.missing.into_iter().collect()
    }
}
