//! Drawing a [`GeneratedState`] of a [`StateSpec`]'s shape from a seed.
//!
//! Accounts are generated class by class (huge, large and small contracts, then externally owned
//! accounts) under uniformly random hashes, so the classes are spread evenly over the trie. Each
//! storage is drawn as a list of random slot hashes and bulk-built into its map, and the popular
//! codes are drawn once and shared (cloning a [`Bytes`] shares its buffer). Time and memory are
//! linear in the number of leaves: about half a second for the default 300,000 accounts in a
//! release build.

use crate::generate::state_spec::{non_empty, share_of};
use crate::generate::state_values::{
    bytecode_of_len, contract_balance, contract_nonce, eoa_balance, eoa_nonce, random_hash,
    slot_value,
};
use crate::{GeneratedAccount, GeneratedState, StateSpec};
use alloy_primitives::{Bytes, U256};
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{AccountHash, SlotHash};

/// What kind of account to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountClass {
    HugeContract,
    LargeContract,
    SmallContract,
    ExternallyOwned,
}

/// Draws the accounts of one state.
struct StateGenerator<'a> {
    rng: TestRng,
    spec: &'a StateSpec,
    /// The popular codes, most popular first.
    code_pool: Vec<Bytes>,
}

impl GeneratedState {
    /// A state of `spec`'s shape, entirely determined by `seed`.
    ///
    /// The state has exactly `spec.accounts` accounts (barring a collision of random 256-bit
    /// hashes) and the contract classes of [`StateSpec::contracts`]; see [`StateSpec`].
    pub fn generate(seed: u64, spec: &StateSpec) -> Self {
        let mut generator = StateGenerator::new(seed, spec);
        let mut state = Self::new();
        let classes = [
            (AccountClass::HugeContract, spec.huge()),
            (AccountClass::LargeContract, spec.large_contracts()),
            (AccountClass::SmallContract, spec.small_contracts()),
            (AccountClass::ExternallyOwned, spec.accounts - spec.contracts()),
        ];
        for (class, count) in classes {
            for _ in 0..count {
                let account = generator.account(class);
                generator.insert_under_new_hash(&mut state, account);
            }
        }
        state
    }
}

impl<'a> StateGenerator<'a> {
    fn new(seed: u64, spec: &'a StateSpec) -> Self {
        let mut rng = TestRng::new(seed);
        let code_pool = (0..spec.code_pool).map(|_| code_of_spec(&mut rng, spec)).collect();
        Self { rng, spec, code_pool }
    }

    fn account(&mut self, class: AccountClass) -> GeneratedAccount {
        let rng = &mut self.rng;
        let slots = match class {
            AccountClass::ExternallyOwned => {
                return GeneratedAccount::new(eoa_nonce(rng), eoa_balance(rng));
            }
            AccountClass::HugeContract => self.spec.huge_storage,
            AccountClass::LargeContract => rng.in_range(non_empty(&self.spec.large_storage)),
            AccountClass::SmallContract => {
                self.spec.small_storage_distribution.draw(rng, &self.spec.small_storage)
            }
        };
        let account = GeneratedAccount::new(contract_nonce(rng), contract_balance(rng));
        let code = self.contract_code();
        account.with_code(code).with_storage(random_storage(&mut self.rng, slots))
    }

    /// A popular code (the first ones more often) for `shared_code_ratio` of the contracts, a
    /// fresh one for the others.
    fn contract_code(&mut self) -> Bytes {
        let shared = share_of(1_000_000, self.spec.shared_code_ratio);
        if !self.code_pool.is_empty() && self.rng.chance(shared, 1_000_000) {
            let rank = self.rng.below(self.code_pool.len());
            let index = self.rng.below(rank + 1);
            return self.code_pool[index].clone();
        }
        code_of_spec(&mut self.rng, self.spec)
    }

    /// Inserts `account` under a random hash not yet in `state`.
    fn insert_under_new_hash(&mut self, state: &mut GeneratedState, account: GeneratedAccount) {
        loop {
            let hash = AccountHash::new(random_hash(&mut self.rng));
            if state.account(&hash).is_none() {
                state.insert_account(hash, account);
                return;
            }
        }
    }
}

/// A fresh bytecode, its size drawn as `spec` says.
fn code_of_spec(rng: &mut TestRng, spec: &StateSpec) -> Bytes {
    let len = spec.code_size_distribution.draw(rng, &spec.code_size);
    bytecode_of_len(rng, len)
}

/// `count` random slots with plausible non-zero values.
pub(crate) fn random_storage(
    rng: &mut TestRng,
    count: usize,
) -> impl Iterator<Item = (SlotHash, U256)> + '_ {
    (0..count).map(|_| (SlotHash::new(random_hash(rng)), slot_value(rng)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_shapes_the_state() {
        let spec = StateSpec::small();
        let state = GeneratedState::generate(11, &spec);
        assert_eq!(state.len(), spec.accounts);
        let mut sizes: Vec<usize> = state
            .accounts()
            .values()
            .filter(|account| account.has_code())
            .map(|account| account.storage().len())
            .collect();
        assert_eq!(sizes.len(), spec.contracts());
        sizes.sort_unstable();
        assert_eq!(*sizes.last().unwrap(), spec.huge_storage);
        let large = sizes.iter().filter(|size| (1_000..=2_000).contains(*size)).count();
        assert_eq!(large, spec.large_contracts());
        assert!(sizes[..spec.small_contracts()].iter().all(|size| (1..=20).contains(size)));

        let eoas = state.accounts().values().filter(|account| !account.has_code());
        assert!(eoas.clone().all(|account| account.storage().is_empty()));
        assert!(eoas.clone().any(|account| account.nonce == 0));
        assert!(eoas.clone().any(|account| account.nonce > 100));

        let counts = state.counts();
        assert!(counts.bytecodes > spec.code_pool, "unique codes besides the pool");
        assert!(counts.bytecodes < spec.contracts(), "some codes are shared");
    }

    #[test]
    fn the_seed_decides() {
        let spec = StateSpec::small().with_accounts(300).with_huge_contracts(1, 300);
        let state = GeneratedState::generate(5, &spec);
        assert_eq!(state, GeneratedState::generate(5, &spec));
        assert_ne!(state.state_root(), GeneratedState::generate(6, &spec).state_root());
    }

    #[test]
    fn degenerate_specs_generate() {
        let empty = GeneratedState::generate(1, &StateSpec::default().with_accounts(0));
        assert!(empty.is_empty());
        let no_pool = StateSpec::small().with_accounts(50).with_code_pool(0, 1.0);
        let state = GeneratedState::generate(1, &no_pool.with_huge_contracts(0, 0));
        assert_eq!(state.len(), 50);
    }
}
