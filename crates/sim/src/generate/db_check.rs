//! Comparing a database's state tables with a [`GeneratedState`]: the "nothing missing, nothing
//! invalid stored" check that ends a sync test.
//!
//! A matching state root proves the account trie is right, but a sync also leaves the flat
//! tables behind (accounts, slots, codes) and serves from them. This walk compares all three
//! with the model, entry by entry, as two sorted streams merged in one pass: every account with
//! its storage root (rebuilt from the model's slots), every slot, every code. Memory stays at
//! one account's storage.

use crate::GeneratedState;
use alloy_primitives::{B256, Bytes, U256};
use snapsync_db::Database;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{KeyRange, StateRead, StoreError};
use std::{cmp::Ordering, iter::Peekable};

/// One entry on which a database and the model disagree; `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateMismatch {
    /// A `HashedAccounts` entry (the storage root included).
    Account {
        /// The account.
        hash: AccountHash,
        /// The model's leaf.
        expected: Option<TrieAccount>,
        /// The stored leaf.
        stored: Option<TrieAccount>,
    },
    /// A `HashedStorages` entry.
    Slot {
        /// The account.
        account: AccountHash,
        /// The slot.
        slot: SlotHash,
        /// The model's value.
        expected: Option<U256>,
        /// The stored value.
        stored: Option<U256>,
    },
    /// A `Bytecodes` entry.
    Bytecode {
        /// The code hash.
        hash: B256,
        /// The model's code.
        expected: Option<Bytes>,
        /// The stored code.
        stored: Option<Bytes>,
    },
}

impl GeneratedState {
    /// The first `limit` entries of `db`'s `HashedAccounts`, `HashedStorages` and `Bytecodes`
    /// tables that differ from the model (missing, unexpected or different), in table then key
    /// order; empty when the database holds exactly this state.
    ///
    /// # Errors
    /// Database failures and undecodable stored entries.
    pub fn compare_with_db(
        &self,
        db: &dyn Database,
        limit: usize,
    ) -> Result<Vec<StateMismatch>, StoreError> {
        self.compare_with_store(&db.view()?, limit)
    }

    /// [`compare_with_db`](Self::compare_with_db) over any store's snapshot (or transaction),
    /// through the storage seam.
    ///
    /// # Errors
    /// Store failures and undecodable stored entries.
    pub fn compare_with_store(
        &self,
        view: &(impl StateRead + ?Sized),
        limit: usize,
    ) -> Result<Vec<StateMismatch>, StoreError> {
        let mut found = Vec::new();
        // Records a mismatch; `false` once the limit is reached, which ends the walk.
        let mut report = |mismatch| {
            found.push(mismatch);
            found.len() < limit
        };
        let accounts = view.accounts(KeyRange::all())?;
        let slots = view
            .all_slots(KeyRange::all())?
            .map(|entry| entry.map(|(account, slot, value)| ((account, slot), value)));
        let codes = view.codes(KeyRange::all())?;
        let _walked_to_the_end = limit > 0
            && compare_sorted(self.trie_accounts(), accounts, |hash, expected, stored| {
                report(StateMismatch::Account { hash, expected, stored })
            })?
            && compare_sorted(self.slots(), slots, |(account, slot), expected, stored| {
                report(StateMismatch::Slot { account, slot, expected, stored })
            })?
            && compare_sorted(self.bytecodes().into_iter(), codes, |hash, expected, stored| {
                report(StateMismatch::Bytecode { hash, expected, stored })
            })?;
        Ok(found)
    }

    /// Every slot of every account, in `HashedStorages` order.
    fn slots(&self) -> impl Iterator<Item = ((AccountHash, SlotHash), U256)> + '_ {
        self.accounts().iter().flat_map(|(hash, account)| {
            account.storage().iter().map(move |(slot, value)| ((*hash, *slot), *value))
        })
    }
}

/// Merges two streams sorted by key and calls `report(key, expected, stored)` for each key on
/// which they differ, until it returns `false`. Returns whether the walk went to the end.
fn compare_sorted<K: Ord, V: PartialEq>(
    expected: impl Iterator<Item = (K, V)>,
    stored: impl Iterator<Item = Result<(K, V), StoreError>>,
    mut report: impl FnMut(K, Option<V>, Option<V>) -> bool,
) -> Result<bool, StoreError> {
    let mut expected = expected.peekable();
    let mut stored = stored.peekable();
    loop {
        let order = match (expected.peek(), peek_ok(&mut stored)?) {
            (None, None) => return Ok(true),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((want, _)), Some((have, _))) => want.cmp(have),
        };
        let (key, want, have) = match order {
            Ordering::Less => {
                let Some((key, want)) = expected.next() else { return Ok(true) };
                (key, Some(want), None)
            }
            Ordering::Greater => {
                let Some((key, have)) = stored.next().transpose()? else { return Ok(true) };
                (key, None, Some(have))
            }
            Ordering::Equal => {
                let (Some((key, want)), Some((_, have))) =
                    (expected.next(), stored.next().transpose()?)
                else {
                    return Ok(true);
                };
                if want == have {
                    continue;
                }
                (key, Some(want), Some(have))
            }
        };
        if !report(key, want, have) {
            return Ok(false);
        }
    }
}

/// The next stored entry, an error surfaced as soon as it is peeked.
fn peek_ok<I, T>(stored: &mut Peekable<I>) -> Result<Option<&T>, StoreError>
where
    I: Iterator<Item = Result<T, StoreError>>,
{
    if matches!(stored.peek(), Some(Err(_)))
        && let Some(Err(error)) = stored.next()
    {
        return Err(error);
    }
    Ok(stored.peek().and_then(|entry| entry.as_ref().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GeneratedAccount, StateSpec};
    use snapsync_db::MemoryDatabase;
    use snapsync_etl::CollectorConfig;

    #[test]
    fn reports_missing_unexpected_and_different_entries() {
        let state = GeneratedState::generate(31, &StateSpec::small().with_accounts(300));
        let db = MemoryDatabase::new();
        state.import_into(&db, &CollectorConfig::new(1 << 20)).unwrap();
        assert_eq!(state.compare_with_db(&db, 100).unwrap(), vec![]);

        // The model, not the database, changes: one account less, one balance and one slot
        // different, one extra account.
        let mut model = state;
        let (&removed, _) = model.accounts().iter().next().unwrap();
        model.remove_account(&removed);
        let (&contract, _) = model.accounts().iter().find(|(_, a)| a.storage().len() > 1).unwrap();
        let (&slot, _) = model.account(&contract).unwrap().storage().iter().next().unwrap();
        let account = model.account_mut(&contract).unwrap();
        account.balance += U256::from(1);
        account.set_slot(slot, U256::from(12_345));
        let extra = AccountHash::new(B256::repeat_byte(0xff));
        model.insert_account(extra, GeneratedAccount::new(1, U256::from(1)));

        let mismatches = model.compare_with_db(&db, 100).unwrap();
        let accounts: Vec<_> = mismatches
            .iter()
            .filter_map(|m| match m {
                StateMismatch::Account { hash, expected, stored } => {
                    Some((*hash, expected.is_some(), stored.is_some()))
                }
                _ => None,
            })
            .collect();
        assert!(accounts.contains(&(removed, false, true)), "{mismatches:?}");
        assert!(accounts.contains(&(contract, true, true)));
        assert!(accounts.contains(&(extra, true, false)));
        assert!(mismatches.iter().any(|m| matches!(m,
            StateMismatch::Slot { account, slot: s, expected: Some(_), stored: Some(_) }
                if *account == contract && *s == slot)));
        assert_eq!(model.compare_with_db(&db, 2).unwrap().len(), 2, "the limit holds");
    }
}
