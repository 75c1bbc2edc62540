//! [`GeneratedState`]: a whole Ethereum state held in memory as plain maps, the reference a sync
//! test compares its result against.
//!
//! The model is deliberately naive: accounts by hash in a sorted map, each with its code and its
//! storage in full. Its [`state_root`](GeneratedState::state_root) rebuilds every trie from
//! scratch with `snapsync_trie::trie_root`, sharing no code with the incremental roots of
//! [`GeneratedChain`](crate::GeneratedChain) or with the database, so that agreement between
//! them means something. Memory is about 150 bytes per account and 100 per slot plus the codes:
//! fine up to a few million leaves.

use crate::GeneratedAccount;
use crate::generate::generated_account::sorted_trie_root;
use alloy_primitives::{B256, Bytes, U256};
use snapsync_genesis::StateCounts;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use std::collections::{BTreeMap, btree_map};

/// A whole state: accounts by hashed address, each with nonce, balance, code and storage.
///
/// Built by [`GeneratedState::generate`] from a seed, by
/// [`GeneratedState::from_state_file`] from a genesis file or dump, by hand with
/// [`insert_account`](Self::insert_account), or by [`GeneratedChain::state_at`](
/// crate::GeneratedChain::state_at).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratedState {
    accounts: BTreeMap<AccountHash, GeneratedAccount>,
}

impl GeneratedState {
    /// The empty state.
    pub const fn new() -> Self {
        Self { accounts: BTreeMap::new() }
    }

    /// The accounts in trie order.
    pub const fn accounts(&self) -> &BTreeMap<AccountHash, GeneratedAccount> {
        &self.accounts
    }

    /// The accounts in trie order, the state consumed.
    pub fn into_accounts(self) -> BTreeMap<AccountHash, GeneratedAccount> {
        self.accounts
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the state has no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The account at `hash`.
    pub fn account(&self, hash: &AccountHash) -> Option<&GeneratedAccount> {
        self.accounts.get(hash)
    }

    /// The account at `hash`, to change it.
    pub fn account_mut(&mut self, hash: &AccountHash) -> Option<&mut GeneratedAccount> {
        self.accounts.get_mut(hash)
    }

    /// The account at `hash`, created empty if missing.
    pub fn account_entry(&mut self, hash: AccountHash) -> &mut GeneratedAccount {
        self.accounts.entry(hash).or_default()
    }

    /// Inserts or replaces the account at `hash`, returning the previous one.
    pub fn insert_account(
        &mut self,
        hash: AccountHash,
        account: GeneratedAccount,
    ) -> Option<GeneratedAccount> {
        self.accounts.insert(hash, account)
    }

    /// Removes the account at `hash` with its storage, returning it.
    pub fn remove_account(&mut self, hash: &AccountHash) -> Option<GeneratedAccount> {
        self.accounts.remove(hash)
    }

    /// The value of `slot` in the storage of `account`; `None` when either is absent (a zero
    /// value is never stored).
    pub fn storage_value(&self, account: &AccountHash, slot: &SlotHash) -> Option<U256> {
        self.account(account)?.slot(slot)
    }

    /// Every distinct non-empty code by its hash: what a sync downloads.
    pub fn bytecodes(&self) -> BTreeMap<B256, Bytes> {
        self.accounts
            .values()
            .filter(|account| account.has_code())
            .map(|account| (account.code_hash(), account.code().clone()))
            .collect()
    }

    /// Accounts, non-zero slots and distinct non-empty codes, counted as
    /// `snapsync_genesis::StateRootReport` counts a file.
    pub fn counts(&self) -> StateCounts {
        let storage_slots = self.accounts.values().map(|account| account.storage().len()).sum();
        StateCounts { accounts: self.len(), storage_slots, bytecodes: self.bytecodes().len() }
    }

    /// The state-trie leaf of the account at `hash` (its storage root built from scratch).
    pub fn trie_account(&self, hash: &AccountHash) -> Option<TrieAccount> {
        self.account(hash).map(GeneratedAccount::trie_account)
    }

    /// Every state-trie leaf in trie order, each storage root built as the walk reaches it.
    pub fn trie_accounts(&self) -> impl Iterator<Item = (AccountHash, TrieAccount)> + '_ {
        self.accounts.iter().map(|(hash, account)| (*hash, account.trie_account()))
    }

    /// The state root, every trie built from scratch: each storage trie over
    /// `keccak256(slot)` → RLP of the value, then the account trie over `keccak256(address)` →
    /// RLP of the [`TrieAccount`]. Linear in the number of leaves.
    pub fn state_root(&self) -> B256 {
        sorted_trie_root(
            self.trie_accounts().map(|(hash, account)| (hash, alloy_rlp::encode(account))),
        )
    }

    /// Every account, mutably, in trie order (for tests that reshape or corrupt a state).
    pub fn accounts_mut(&mut self) -> btree_map::IterMut<'_, AccountHash, GeneratedAccount> {
        self.accounts.iter_mut()
    }
}

impl FromIterator<(AccountHash, GeneratedAccount)> for GeneratedState {
    /// A state of these accounts; a repeated hash keeps its last account.
    fn from_iter<I: IntoIterator<Item = (AccountHash, GeneratedAccount)>>(accounts: I) -> Self {
        Self { accounts: accounts.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use snapsync_primitives::EMPTY_ROOT_HASH;

    fn hash(byte: u8) -> AccountHash {
        AccountHash::new(B256::repeat_byte(byte))
    }

    #[test]
    fn root_counts_and_lookups() {
        let mut state = GeneratedState::new();
        assert_eq!(state.state_root(), EMPTY_ROOT_HASH);
        let code = Bytes::from_static(&[0x60, 0x01]);
        let slot = SlotHash::new(B256::repeat_byte(9));
        state.insert_account(hash(1), GeneratedAccount::new(1, U256::from(10)));
        state.insert_account(
            hash(2),
            GeneratedAccount::new(1, U256::ZERO)
                .with_code(code.clone())
                .with_storage([(slot, U256::from(3))]),
        );
        state.insert_account(hash(3), GeneratedAccount::new(0, U256::ZERO).with_code(code.clone()));

        let counts = state.counts();
        assert_eq!((counts.accounts, counts.storage_slots, counts.bytecodes), (3, 1, 1));
        assert_eq!(state.bytecodes().get(&keccak256(&code)), Some(&code));
        assert_eq!(state.storage_value(&hash(2), &slot), Some(U256::from(3)));
        assert_eq!(state.storage_value(&hash(1), &slot), None);
        assert!(state.trie_account(&hash(2)).unwrap().has_storage());

        // The same leaves through alloy-trie's HashBuilder, an independent implementation.
        let mut storage = alloy_trie::HashBuilder::default();
        storage.add_leaf(alloy_trie::Nibbles::unpack(slot), &alloy_rlp::encode(U256::from(3)));
        let storage_root = storage.root();
        let mut builder = alloy_trie::HashBuilder::default();
        for (key, account) in state.accounts() {
            let root = if account.storage().is_empty() { EMPTY_ROOT_HASH } else { storage_root };
            let leaf = account.trie_account_with_storage_root(root);
            builder.add_leaf(alloy_trie::Nibbles::unpack(key), &alloy_rlp::encode(leaf));
        }
        assert_eq!(state.state_root(), builder.root());
    }
}
