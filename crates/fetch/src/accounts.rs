//! Account ranges: `GetAccountRange` asked, `AccountRange` checked against the state root.

use crate::{AccountList, Answer, InvalidResponse, budget::check_budget};
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use snapsync_primitives::{AccountHash, AccountRange, GetAccountRange, TrieAccount};
use snapsync_trie::{Nibbles, NodeList, ProofLimits, StoredNodes, verify_range_proof_into};

/// What was asked: the accounts of the trie with root `root` from `origin` to `limit`, about
/// `response_bytes` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRangeRequest {
    /// The trusted state root.
    pub root: B256,
    /// First account hash of the range.
    pub origin: AccountHash,
    /// Last account hash of the range (servers include the first account past it).
    pub limit: AccountHash,
    /// Byte budget of the reply.
    pub response_bytes: u64,
}

impl AccountRangeRequest {
    /// The wire message for this request.
    pub const fn to_message(&self, request_id: u64) -> GetAccountRange {
        GetAccountRange {
            request_id,
            root_hash: self.root,
            starting_hash: self.origin,
            limit_hash: self.limit,
            response_bytes: self.response_bytes,
        }
    }
}

/// Accounts proven to be exactly the state trie's accounts from the request's origin up to the
/// last one returned, with the trie nodes their verification computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccountRange {
    accounts: AccountList,
    has_more: bool,
    nodes: NodeList,
}

impl VerifiedAccountRange {
    /// The accounts, in hash order, held compactly until they are read (see [`AccountList`]).
    pub const fn accounts(&self) -> &AccountList {
        &self.accounts
    }

    /// Takes the accounts.
    pub fn into_accounts(self) -> AccountList {
        self.accounts
    }

    /// Whether the trie holds accounts after the last one returned.
    pub const fn has_more(&self) -> bool {
        self.has_more
    }

    /// The last account hash covered: the last returned, or `None` for an empty range.
    pub fn last(&self) -> Option<AccountHash> {
        self.accounts.hashes().last().copied()
    }

    /// The hashed nodes of the state trie (the request's root) that verification computed and
    /// a store keeps: the nodes above the returned accounts and along the proof's edges (see
    /// `snapsync_trie::verify_range_proof_into`), but the leaf nodes below the root, which a
    /// store derives from its accounts (see [`StoredNodes`]). They are real nodes of the trusted
    /// trie, so a client that stores them need not hash the accounts again; the nodes of ranges
    /// covering the whole hash space, with the accounts, together are the whole trie.
    pub const fn nodes(&self) -> &NodeList {
        &self.nodes
    }

    /// Hands `f` each of [`nodes`](Self::nodes) with its path.
    ///
    /// # Errors
    /// The first error of `f`; the nodes after it are not visited.
    pub fn for_each_stored_node<E>(
        &self,
        mut f: impl FnMut(&Nibbles, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.nodes.iter().try_for_each(|(path, rlp)| f(path, rlp))
    }
}

/// Checks an `AccountRange` reply against its request.
///
/// # Errors
/// [`InvalidResponse`] when the proof fails or the reply ignores the byte budget.
pub fn verify_account_range(
    request: &AccountRangeRequest,
    reply: AccountRange,
) -> Result<Answer<VerifiedAccountRange>, InvalidResponse> {
    if reply.accounts.is_empty() && reply.proof.is_empty() {
        return Ok(Answer::Unavailable);
    }
    check_budget(
        reply.accounts.iter().map(|entry| 32 + entry.account.length()),
        request.response_bytes,
    )?;
    // One pass over the reply: each account into the compact list the verified range keeps
    // and its leaf into one buffer (one allocation, not one per account); the decoded reply
    // is freed before the proof is checked.
    let AccountRange { accounts: entries, proof, .. } = reply;
    let mut accounts = AccountList::with_capacity(entries.len());
    let mut encoded = Vec::with_capacity(entries.len() * 112);
    let mut ends = Vec::with_capacity(entries.len());
    for entry in entries {
        let account = TrieAccount::from(entry.account);
        account.encode(&mut encoded);
        ends.push(encoded.len());
        accounts.push(entry.hash, &account);
    }
    let values: Vec<&[u8]> = ends
        .iter()
        .scan(0, |start, &end| {
            let value = &encoded[*start..end];
            *start = end;
            Some(value)
        })
        .collect();
    let (has_more, StoredNodes(mut nodes)) = verify_range_proof_into(
        request.root,
        request.origin.as_ref(),
        accounts.hashes(),
        &values,
        &proof,
        ProofLimits::default(),
        StoredNodes(NodeList::default()),
    )?;
    // The reply is held until a step takes it: with its nodes only, not their growth slack.
    nodes.shrink_to_fit();
    accounts.shrink_to_fit();
    Ok(Answer::Verified(VerifiedAccountRange { accounts, has_more, nodes }))
}
