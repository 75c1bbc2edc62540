//! Walking the stored accounts from a cursor, a bounded number at a time.
//!
//! The storage and bytecode phases both find their work by reading `HashedAccounts` in hash
//! order from a cursor kept in the progress record; this is that walk, once.

use crate::SnapSyncError;
use snapsync_db::{HashedAccounts, TableRead};
use snapsync_primitives::{AccountHash, TrieAccount};
use std::ops::ControlFlow;

/// Reads at most `limit` stored accounts from `from` on, handing each to `visit` until it breaks.
/// Returns where the next scan starts, or `None` when this one read the last stored account
/// (so the walk is finished).
pub(crate) fn scan_accounts(
    view: &impl TableRead,
    from: AccountHash,
    limit: usize,
    mut visit: impl FnMut(AccountHash, &TrieAccount) -> Result<ControlFlow<()>, SnapSyncError>,
) -> Result<Option<AccountHash>, SnapSyncError> {
    let (mut read, mut last, mut stopped) = (0, None, false);
    for entry in view.range::<HashedAccounts>(from..)?.take(limit) {
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
