//! [`IncrementalStateRoot`]: the state root of a [`GeneratedState`] kept up to date block by
//! block, at a cost proportional to each block's changes.
//!
//! It holds one [`TrieNodeCache`] for the account trie and one per account with storage, plus
//! each such account's current storage root (the account trie's leaves need it whenever a branch
//! above them is rebuilt). After a block, [`IncrementalStateRoot::update`] invalidates the
//! touched accounts and slots, recomputes the touched storage roots, then the account trie's
//! root. The model's own [`GeneratedState::state_root`] builds everything from scratch and is the
//! reference the tests compare with.

use crate::generate::state_diff::{AccountChange, StateDiff};
use crate::generate::trie_cache::TrieNodeCache;
use crate::{GeneratedAccount, GeneratedState};
use alloy_primitives::{B256, U256};
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, SlotHash};
use std::collections::HashMap;

/// Cached tries of one state, followed through its diffs.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncrementalStateRoot {
    accounts: TrieNodeCache,
    storages: HashMap<AccountHash, StorageTrie>,
    root: B256,
}

/// One account's storage trie cache and its current root.
#[derive(Debug, Clone, Default)]
struct StorageTrie {
    nodes: TrieNodeCache,
    root: B256,
}

impl IncrementalStateRoot {
    /// Builds every trie of `state` (linear in its leaves) and keeps their nodes.
    pub(crate) fn new(state: &GeneratedState) -> Self {
        let mut roots = Self::default();
        for (hash, account) in state.accounts() {
            if !account.storage().is_empty() {
                let mut storage = StorageTrie::default();
                storage.root = storage.nodes.root(account.storage(), storage_leaf);
                roots.storages.insert(*hash, storage);
            }
        }
        roots.recompute_account_root(state);
        roots
    }

    /// The current state root.
    pub(crate) const fn root(&self) -> B256 {
        self.root
    }

    /// Follows `diff`, which turned the previous state into `state`, and returns the new root.
    pub(crate) fn update(&mut self, state: &GeneratedState, diff: &StateDiff) -> B256 {
        for (hash, change) in diff.changes() {
            self.accounts.invalidate(hash.as_b256());
            match (change, state.account(hash)) {
                (AccountChange::Updated(update), Some(account)) if !update.storage.is_empty() => {
                    self.update_storage(*hash, account, update.storage.keys());
                }
                (AccountChange::Removed, _) => {
                    self.storages.remove(hash);
                }
                _ => {}
            }
        }
        self.recompute_account_root(state);
        self.root
    }

    /// Recomputes the storage root of `account` after writes to `slots`.
    fn update_storage<'a>(
        &mut self,
        hash: AccountHash,
        account: &GeneratedAccount,
        slots: impl Iterator<Item = &'a SlotHash>,
    ) {
        if account.storage().is_empty() {
            self.storages.remove(&hash);
            return;
        }
        let storage = self.storages.entry(hash).or_default();
        for slot in slots {
            storage.nodes.invalidate(slot.as_b256());
        }
        storage.root = storage.nodes.root(account.storage(), storage_leaf);
    }

    fn recompute_account_root(&mut self, state: &GeneratedState) {
        let storages = &self.storages;
        self.root = self.accounts.root(state.accounts(), |hash, account| {
            let storage_root = storages.get(hash).map_or(EMPTY_ROOT_HASH, |storage| storage.root);
            alloy_rlp::encode(account.trie_account_with_storage_root(storage_root))
        });
    }
}

/// A storage trie's leaf value: the RLP of the slot's value.
fn storage_leaf(_: &SlotHash, value: &U256) -> Vec<u8> {
    alloy_rlp::encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateSpec;
    use crate::generate::diff_generator::DiffGenerator;

    #[test]
    fn follows_generated_diffs() {
        let spec = StateSpec::small().with_accounts(500).with_huge_contracts(1, 3_000);
        let mut state = GeneratedState::generate(8, &spec);
        let mut roots = IncrementalStateRoot::new(&state);
        assert_eq!(roots.root(), state.state_root());
        let mut generator = DiffGenerator::new(9, &state);
        for block in 0..30 {
            let diff = generator.next_diff(&state, 40);
            state.apply(&diff);
            assert_eq!(roots.update(&state, &diff), state.state_root(), "block {block}");
        }
    }
}
