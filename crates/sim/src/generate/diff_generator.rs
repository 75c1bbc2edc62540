//! Random per-block [`StateDiff`]s: the state churn between a sync's pivot and the chain head.
//!
//! Each block is a number of operations drawn like mainnet traffic: mostly transfers (a nonce
//! and two balances; one in five pays a fresh account into existence), contract calls writing a
//! few slots (modified, added and cleared), now and then a deployment (a popular code or a new
//! one, with a few slots) and, rarely, a self-destruct of a small contract. One large contract is
//! called every block, so the deep storage tries change too. Existing accounts and slots are
//! picked as the first key at or after a random hash, an `O(log n)` lookup.

use crate::GeneratedState;
use crate::generate::state_diff::StateDiff;
use crate::generate::state_generator::random_storage;
use crate::generate::state_values::{bytecode, random_hash, slot_value};
use alloy_primitives::{Bytes, U256};
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{AccountHash, SlotHash};
use std::collections::{BTreeMap, HashMap};

/// Contracts with at least this many slots are "large": one is called every block and none is
/// ever destroyed.
const LARGE_STORAGE: usize = 1_000;

/// Draws the diffs of consecutive blocks.
#[derive(Debug, Clone)]
pub(crate) struct DiffGenerator {
    rng: TestRng,
    /// Contracts with small storage, deployed ones included: called, sometimes destroyed.
    small_contracts: Vec<AccountHash>,
    /// Contracts with large storage: one is called every block.
    large_contracts: Vec<AccountHash>,
    /// Codes shared by several contracts of the initial state, redeployed now and then.
    popular_codes: Vec<Bytes>,
}

impl DiffGenerator {
    /// A generator over the contracts of `state`, drawing from `seed`.
    pub(crate) fn new(seed: u64, state: &GeneratedState) -> Self {
        let mut small_contracts = Vec::new();
        let mut large_contracts = Vec::new();
        let mut code_users: HashMap<_, (usize, &Bytes)> = HashMap::new();
        for (hash, account) in state.accounts().iter().filter(|(_, a)| a.has_code()) {
            if account.storage().len() >= LARGE_STORAGE {
                large_contracts.push(*hash);
            } else {
                small_contracts.push(*hash);
            }
            code_users.entry(account.code_hash()).or_insert((0, account.code())).0 += 1;
        }
        let popular: BTreeMap<_, _> =
            code_users.into_iter().filter(|(_, (users, _))| *users > 1).collect();
        let popular_codes = popular.into_values().map(|(_, code)| code.clone()).collect();
        Self { rng: TestRng::new(seed), small_contracts, large_contracts, popular_codes }
    }

    /// The diff of the next block on top of `state`: one large-contract call (when there is a
    /// large contract) and `operations` random operations; nothing when `operations` is 0.
    pub(crate) fn next_diff(&mut self, state: &GeneratedState, operations: usize) -> StateDiff {
        let mut diff = StateDiff::default();
        if operations == 0 {
            return diff;
        }
        if let Some(&contract) = self.rng.pick(&self.large_contracts) {
            self.call(state, &mut diff, contract, 5..=50);
        }
        for _ in 0..operations {
            match self.rng.below(100) {
                0..60 => self.transfer(state, &mut diff),
                60..96 => match self.rng.pick(&self.small_contracts) {
                    Some(&contract) => self.call(state, &mut diff, contract, 1..=6),
                    None => self.transfer(state, &mut diff),
                },
                96..99 => self.deploy(state, &mut diff),
                _ => self.self_destruct(state, &mut diff),
            }
        }
        diff
    }

    /// A sender pays part of its balance to an existing account or to a fresh one.
    fn transfer(&mut self, state: &GeneratedState, diff: &mut StateDiff) {
        let Some(sender) = self.existing_account(state) else { return };
        let divisor = U256::from(self.rng.in_range(2..=1_000));
        let Some(from) = diff.update(state, sender) else { return };
        let amount = from.balance / divisor;
        from.balance -= amount;
        from.nonce = from.nonce.saturating_add(1);
        let recipient = if self.rng.chance(1, 5) {
            AccountHash::new(random_hash(&mut self.rng))
        } else {
            self.existing_account(state).unwrap_or(sender)
        };
        if let Some(to) = diff.update(state, recipient) {
            to.balance = to.balance.saturating_add(amount);
        }
    }

    /// A transaction from a random sender writes `writes` slots of `contract`: 40% modify an
    /// existing slot, 35% add a new one, 25% clear an existing one.
    fn call(
        &mut self,
        state: &GeneratedState,
        diff: &mut StateDiff,
        contract: AccountHash,
        writes: std::ops::RangeInclusive<usize>,
    ) {
        self.bump_sender_nonce(state, diff);
        let writes = self.rng.in_range(writes);
        let empty = BTreeMap::new();
        let storage = state.account(&contract).map_or(&empty, |account| account.storage());
        let rng = &mut self.rng;
        let Some(update) = diff.update(state, contract) else { return };
        for _ in 0..writes {
            let op = rng.below(20);
            let existing = existing_slot(rng, storage);
            match (op, existing) {
                (0..8, Some(slot)) => update.storage.insert(slot, slot_value(rng)),
                (15.., Some(slot)) => update.storage.insert(slot, U256::ZERO),
                _ => update.storage.insert(SlotHash::new(random_hash(rng)), slot_value(rng)),
            };
        }
    }

    /// A new contract with a popular or new code and a few slots.
    fn deploy(&mut self, state: &GeneratedState, diff: &mut StateDiff) {
        self.bump_sender_nonce(state, diff);
        let code = match self.rng.pick(&self.popular_codes) {
            Some(code) if self.rng.chance(1, 2) => code.clone(),
            _ => bytecode(&mut self.rng, 64..=4_096),
        };
        let contract = AccountHash::new(random_hash(&mut self.rng));
        let slots = self.rng.in_range(1..=20);
        let storage: BTreeMap<_, _> = random_storage(&mut self.rng, slots).collect();
        let Some(update) = diff.update(state, contract) else { return };
        update.nonce = 1;
        update.code = Some(code);
        update.storage = storage;
        self.small_contracts.push(contract);
    }

    /// A small contract not otherwise touched by this block disappears with its storage.
    fn self_destruct(&mut self, state: &GeneratedState, diff: &mut StateDiff) {
        let index = self.rng.below(self.small_contracts.len());
        let Some(&contract) = self.small_contracts.get(index) else { return };
        if diff.touches(&contract) || state.account(&contract).is_none() {
            return;
        }
        self.small_contracts.swap_remove(index);
        diff.remove(contract);
    }

    /// The sender of a transaction: a random account's nonce goes up.
    fn bump_sender_nonce(&mut self, state: &GeneratedState, diff: &mut StateDiff) {
        if let Some(sender) = self.existing_account(state)
            && let Some(update) = diff.update(state, sender)
        {
            update.nonce = update.nonce.saturating_add(1);
        }
    }

    /// A random account of `state`: the first at or after a random hash.
    fn existing_account(&mut self, state: &GeneratedState) -> Option<AccountHash> {
        let probe = AccountHash::new(random_hash(&mut self.rng));
        let accounts = state.accounts();
        accounts.range(probe..).next().or_else(|| accounts.first_key_value()).map(|(hash, _)| *hash)
    }
}

/// A random slot of `storage`: the first at or after a random hash.
fn existing_slot(rng: &mut TestRng, storage: &BTreeMap<SlotHash, U256>) -> Option<SlotHash> {
    let probe = SlotHash::new(random_hash(rng));
    storage.range(probe..).next().or_else(|| storage.first_key_value()).map(|(slot, _)| *slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::state_diff::AccountChange;
    use crate::{GeneratedState, StateSpec};

    #[test]
    fn diffs_mix_every_kind_of_change() {
        let mut state = GeneratedState::generate(2, &StateSpec::small());
        let mut generator = DiffGenerator::new(3, &state);
        assert_eq!(generator.large_contracts.len(), 1 + StateSpec::small().large_contracts());
        assert!(!generator.popular_codes.is_empty());
        let (mut created, mut removed, mut cleared, mut deployed, mut large_writes) =
            (0, 0, 0, 0, 0);
        for _ in 0..50 {
            let diff = generator.next_diff(&state, 100);
            for (hash, change) in diff.changes() {
                match change {
                    AccountChange::Removed => removed += 1,
                    AccountChange::Updated(update) => {
                        let before = state.account(hash);
                        created += usize::from(before.is_none());
                        deployed += usize::from(update.code.is_some());
                        cleared += update.storage.values().filter(|v| v.is_zero()).count();
                        if before.is_some_and(|a| a.storage().len() >= LARGE_STORAGE) {
                            large_writes += update.storage.len();
                        }
                    }
                }
            }
            state.apply(&diff);
        }
        assert!(
            created > 100 && removed > 0 && cleared > 100 && deployed > 20,
            "{created} {removed} {cleared} {deployed}"
        );
        assert!(large_writes >= 50 * 5, "a large contract is written every block");
        assert!(generator.next_diff(&state, 0).is_empty());
    }
}
