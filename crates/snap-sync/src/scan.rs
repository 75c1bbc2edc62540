//! Walking the stored accounts from a cursor, a bounded number at a time.
//!
//! The storage and bytecode phases both find their work by reading `HashedAccounts` in hash
//! order from a cursor kept in the progress record; this is that walk, once.

use crate::SnapSyncError;
use alloy_primitives::B256;
use alloy_trie::KECCAK_EMPTY;
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_storage::StateRead;
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
    let mut missing = HashSet::new();
    scan_accounts(view, AccountHash::ZERO, usize::MAX, |_, account| {
        let code = account.code_hash;
        if code != KECCAK_EMPTY && !missing.contains(&code) && view.code(&code)?.is_none() {
            missing.insert(code);
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(missing.into_iter().collect())
}
