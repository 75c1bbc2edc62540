//! [`GeneratedAccount`]: one account of a [`GeneratedState`](crate::GeneratedState), with its
//! code and storage in full, as a test expects to find it after a sync.

use alloy_primitives::{B256, Bytes, U256, keccak256};
use snapsync_primitives::{KECCAK_EMPTY, SlotHash, TrieAccount};
use snapsync_trie::trie_root;
use std::collections::BTreeMap;

/// An account in full: nonce, balance, code and storage by hashed slot key.
///
/// The code hash is kept with the code and the storage holds no zero value (writing zero
/// clears the slot), so the account always describes a valid state-trie leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedAccount {
    /// The nonce.
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    code: Bytes,
    code_hash: B256,
    storage: BTreeMap<SlotHash, U256>,
}

impl Default for GeneratedAccount {
    /// The empty account: no nonce, balance, code or storage.
    fn default() -> Self {
        Self::new(0, U256::ZERO)
    }
}

impl GeneratedAccount {
    /// An account without code or storage.
    pub const fn new(nonce: u64, balance: U256) -> Self {
        Self {
            nonce,
            balance,
            code: Bytes::new(),
            code_hash: KECCAK_EMPTY,
            storage: BTreeMap::new(),
        }
    }

    /// The account with `code`.
    #[must_use]
    pub fn with_code(mut self, code: Bytes) -> Self {
        self.set_code(code);
        self
    }

    /// The account with the non-zero slots of `storage` added (zero values are dropped; a
    /// repeated slot keeps its last value).
    #[must_use]
    pub fn with_storage(mut self, storage: impl IntoIterator<Item = (SlotHash, U256)>) -> Self {
        if self.storage.is_empty() {
            self.storage = storage.into_iter().filter(|(_, value)| !value.is_zero()).collect();
        } else {
            for (slot, value) in storage {
                self.set_slot(slot, value);
            }
        }
        self
    }

    /// The code; empty for an account without code.
    pub const fn code(&self) -> &Bytes {
        &self.code
    }

    /// keccak256 of the code ([`KECCAK_EMPTY`] without code).
    pub const fn code_hash(&self) -> B256 {
        self.code_hash
    }

    /// Whether the account has code.
    pub fn has_code(&self) -> bool {
        !self.code.is_empty()
    }

    /// Replaces the code.
    pub fn set_code(&mut self, code: Bytes) {
        self.code_hash = if code.is_empty() { KECCAK_EMPTY } else { keccak256(&code) };
        self.code = code;
    }

    /// The non-zero storage slots by hashed slot key.
    pub const fn storage(&self) -> &BTreeMap<SlotHash, U256> {
        &self.storage
    }

    /// The value of `slot`, `None` when it is zero (not stored).
    pub fn slot(&self, slot: &SlotHash) -> Option<U256> {
        self.storage.get(slot).copied()
    }

    /// Writes `value` to `slot`; zero clears it.
    pub fn set_slot(&mut self, slot: SlotHash, value: U256) {
        if value.is_zero() {
            self.storage.remove(&slot);
        } else {
            self.storage.insert(slot, value);
        }
    }

    /// The root of the storage trie, built from scratch (`keccak256(slot)` → RLP of the value).
    pub fn storage_root(&self) -> B256 {
        sorted_trie_root(self.storage.iter().map(|(slot, value)| (slot, alloy_rlp::encode(value))))
    }

    /// The state-trie leaf of the account (its storage root built from scratch).
    pub fn trie_account(&self) -> TrieAccount {
        self.trie_account_with_storage_root(self.storage_root())
    }

    /// The state-trie leaf of the account, given its storage root.
    pub(crate) const fn trie_account_with_storage_root(&self, storage_root: B256) -> TrieAccount {
        TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root,
            code_hash: self.code_hash,
        }
    }
}

/// The root of a trie over leaves sorted by strictly increasing 32-byte keys, with non-empty
/// values.
pub(crate) fn sorted_trie_root<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    leaves: impl IntoIterator<Item = (K, V)>,
) -> B256 {
    #[expect(
        clippy::expect_used,
        reason = "the builder fails only on unsorted keys, keys over 32 bytes or empty values; \
                  callers pass the hashes of a sorted map with RLP values, never empty"
    )]
    trie_root(leaves).expect("sorted 32-byte keys with non-empty values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_primitives::EMPTY_ROOT_HASH;

    #[test]
    fn zero_writes_clear_and_code_hash_follows_code() {
        let slot = SlotHash::new(B256::repeat_byte(1));
        let mut account = GeneratedAccount::new(1, U256::from(5))
            .with_storage([(slot, U256::from(7)), (SlotHash::ZERO, U256::ZERO)]);
        assert_eq!(account.storage().len(), 1);
        assert_eq!(account.slot(&slot), Some(U256::from(7)));
        account.set_slot(slot, U256::ZERO);
        assert_eq!(account.slot(&slot), None);
        assert_eq!(account.storage_root(), EMPTY_ROOT_HASH);

        assert_eq!(account.code_hash(), KECCAK_EMPTY);
        account.set_code(Bytes::from_static(&[0x60, 0x00]));
        assert!(account.has_code());
        assert_eq!(account.code_hash(), keccak256([0x60, 0x00]));
        account.set_code(Bytes::new());
        assert_eq!(
            account.trie_account(),
            TrieAccount { nonce: 1, balance: U256::from(5), ..TrieAccount::EMPTY }
        );
    }
}
