//! [`StateDiff`]: what one block changes in a state, as post-block values.
//!
//! A diff lists each touched account once, with its values after the block: removed, or its new
//! nonce and balance, its new code if the block deployed one, and the storage slots the block
//! wrote (zero clears a slot). Applying diffs in order replays a chain's states from its genesis
//! state, and the touched keys are exactly what the incremental roots must recompute.

use crate::{GeneratedAccount, GeneratedState};
use alloy_primitives::{Bytes, U256};
use snapsync_primitives::{AccountHash, SlotHash};
use std::collections::BTreeMap;

/// The changes of one block, by account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    changes: BTreeMap<AccountHash, AccountChange>,
}

/// What a block did to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// The account is gone with its storage (as a pre-Cancun `SELFDESTRUCT` did).
    Removed,
    /// The account exists after the block (created if it did not) with these values.
    Updated(AccountUpdate),
}

/// An account's values after a block that touched it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    /// The new nonce.
    pub nonce: u64,
    /// The new balance.
    pub balance: U256,
    /// The new code, when the block deployed one.
    pub code: Option<Bytes>,
    /// The slots written, with their new values; zero clears the slot.
    pub storage: BTreeMap<SlotHash, U256>,
}

impl StateDiff {
    /// The changes by account, in trie order.
    pub const fn changes(&self) -> &BTreeMap<AccountHash, AccountChange> {
        &self.changes
    }

    /// Number of accounts touched.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the diff touches nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Records that `account` is removed; replaces any earlier change of it.
    pub fn remove(&mut self, account: AccountHash) {
        self.changes.insert(account, AccountChange::Removed);
    }

    /// The update of `account`, started from its current values in `state` (or an empty
    /// account) if the diff does not touch it yet; `None` when the diff removes it.
    pub fn update(
        &mut self,
        state: &GeneratedState,
        account: AccountHash,
    ) -> Option<&mut AccountUpdate> {
        let change = self.changes.entry(account).or_insert_with(|| {
            let (nonce, balance) =
                state.account(&account).map_or((0, U256::ZERO), |a| (a.nonce, a.balance));
            AccountChange::Updated(AccountUpdate { nonce, balance, ..AccountUpdate::default() })
        });
        match change {
            AccountChange::Updated(update) => Some(update),
            AccountChange::Removed => None,
        }
    }

    /// Whether the diff touches `account`.
    pub fn touches(&self, account: &AccountHash) -> bool {
        self.changes.contains_key(account)
    }
}

impl GeneratedState {
    /// Applies a block's changes.
    pub fn apply(&mut self, diff: &StateDiff) {
        for (hash, change) in diff.changes() {
            match change {
                AccountChange::Removed => {
                    self.remove_account(hash);
                }
                AccountChange::Updated(update) => update.apply_to(self.account_entry(*hash)),
            }
        }
    }
}

impl AccountUpdate {
    fn apply_to(&self, account: &mut GeneratedAccount) {
        account.nonce = self.nonce;
        account.balance = self.balance;
        if let Some(code) = &self.code {
            account.set_code(code.clone());
        }
        for (slot, value) in &self.storage {
            account.set_slot(*slot, *value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::B256;

    #[test]
    fn apply_writes_post_values() {
        let a = AccountHash::new(B256::repeat_byte(1));
        let b = AccountHash::new(B256::repeat_byte(2));
        let fresh = AccountHash::new(B256::repeat_byte(3));
        let slot = SlotHash::new(B256::repeat_byte(4));
        let mut state: GeneratedState = [
            (a, GeneratedAccount::new(1, U256::from(10)).with_storage([(slot, U256::from(1))])),
            (b, GeneratedAccount::new(2, U256::from(20))),
        ]
        .into_iter()
        .collect();

        let mut diff = StateDiff::default();
        let update = diff.update(&state, a).unwrap();
        assert_eq!((update.nonce, update.balance), (1, U256::from(10)), "starts from the state");
        update.nonce = 2;
        update.storage.insert(slot, U256::ZERO);
        diff.update(&state, fresh).unwrap().code = Some(Bytes::from_static(&[1]));
        diff.remove(b);
        assert!(diff.update(&state, b).is_none(), "a removed account stays removed");
        assert!(diff.touches(&fresh) && diff.len() == 3);

        state.apply(&diff);
        assert_eq!(state.account(&a), Some(&GeneratedAccount::new(2, U256::from(10))));
        assert!(state.account(&b).is_none());
        assert!(state.account(&fresh).unwrap().has_code());
    }
}
