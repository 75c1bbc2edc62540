//! [`seed_state`]: a whole state (a genesis `alloc`, a test's pre-state) written into an empty
//! store through the seam, with its stored trie.

use crate::{BlockError, StateRoot};
use alloy_primitives::{B256, keccak256};
use snapsync_genesis::HashedAccount;
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, KECCAK_EMPTY, SlotHash, TrieAccount};
use snapsync_storage::StateWrite;
use std::collections::BTreeSet;

/// Writes `accounts` (hashed keys) with their codes and slots into `txn`, then every trie node;
/// returns the state root. The store's state must be empty: with no trie stored, every trie is
/// built from its leaves.
///
/// # Errors
/// Store failures.
pub fn seed_state<W: StateWrite + ?Sized>(
    txn: &mut W,
    accounts: impl IntoIterator<Item = HashedAccount>,
) -> Result<B256, BlockError> {
    for account in accounts {
        let hash = AccountHash(account.hash);
        let code_hash = if account.code.is_empty() {
            KECCAK_EMPTY
        } else {
            let code_hash = keccak256(&account.code);
            txn.put_code(&code_hash, &account.code)?;
            code_hash
        };
        let mut slots = BTreeSet::new();
        for (slot, value) in &account.storage {
            txn.put_slot(&hash, &SlotHash(*slot), *value)?;
            slots.insert(SlotHash(*slot));
        }
        let storage_root = if slots.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            StateRoot::update_storage(txn, hash, &slots)?
        };
        let trie_account =
            TrieAccount { nonce: account.nonce, balance: account.balance, storage_root, code_hash };
        txn.put_account(&hash, &trie_account)?;
    }
    StateRoot::rebuild(txn)
}
