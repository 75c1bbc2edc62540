//! `GetAccountRange`: consecutive accounts from the origin, with the proof of both edges.
//!
//! go-ethereum's accounting: each account costs 32 bytes plus its slim RLP; the walk stops after
//! the first account whose hash reaches the limit, or after the one that takes the size past the
//! budget. Both are included, so a request always gets at least one account when any exists at or
//! after the origin, even with a budget of 0.

use crate::{ReadError, ServerLimits};
use alloy_rlp::Encodable;
use snapsync_primitives::{AccountEntry, AccountRange, GetAccountRange};
use snapsync_storage::{StateRead, prove_account_range};

/// The answer to `request` from `view`, whose account trie has root `request.root_hash`.
pub(crate) fn serve_account_range<R: StateRead + ?Sized>(
    view: &R,
    request: &GetAccountRange,
    limits: &ServerLimits,
) -> Result<AccountRange, ReadError> {
    let budget = limits.response_bytes(request.response_bytes);
    let mut accounts = Vec::new();
    let mut size = 0u64;
    for entry in view.accounts((request.starting_hash..).into())? {
        let (hash, account) = entry?;
        let entry = AccountEntry { hash, account: account.to_slim() };
        size = size.saturating_add(32 + entry.account.length() as u64);
        accounts.push(entry);
        if hash >= request.limit_hash || size > budget {
            break;
        }
    }
    let last = accounts.last().map(|entry| entry.hash);
    let proof = prove_account_range(view, request.root_hash, request.starting_hash, last)?;
    Ok(AccountRange { request_id: request.request_id, accounts, proof })
}
