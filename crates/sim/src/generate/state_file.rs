//! Loading a real state (a genesis file or a geth state dump) into a [`GeneratedState`], so that
//! tests run on real data through the same model as on generated data.
//!
//! The keys are hashed by `snapsync_genesis` ([`StateFile::hashed_accounts`]): accounts by
//! `keccak256(address)` (or the hash a dump gives for an account without address), slots by
//! `keccak256(slot)`. The model needs every account in full, so a dump made without storage or
//! code (geth's `--nostorage`, `--nocode`), whose entries claim a non-empty storage root or code
//! hash they do not list, is refused naming the first such account. Claimed hashes are not
//! checked here: compare [`GeneratedState::state_root`] with the file's root for that.

use crate::{GeneratedAccount, GeneratedState};
use snapsync_genesis::{GenesisError, HashedAccount, StateFile};
use snapsync_primitives::{AccountHash, SlotHash};

impl GeneratedState {
    /// The state of a genesis file or a geth state dump, keys hashed.
    ///
    /// # Errors
    /// [`GenesisError::MissingField`] for the first dump entry without the storage or code it
    /// claims; [`GenesisError::DuplicateAccountHash`] when an account is listed both by address
    /// and by hash.
    pub fn from_state_file(file: &StateFile) -> Result<Self, GenesisError> {
        let mut state = Self::new();
        for account in file.hashed_accounts() {
            let account = account?;
            let hash = AccountHash::new(account.hash);
            if state.insert_account(hash, model_account(account)).is_some() {
                return Err(GenesisError::DuplicateAccountHash { hash: hash.into_b256() });
            }
        }
        Ok(state)
    }
}

fn model_account(account: HashedAccount) -> GeneratedAccount {
    let storage = account.storage.into_iter().map(|(slot, value)| (SlotHash::new(slot), value));
    GeneratedAccount::new(account.nonce, account.balance)
        .with_code(account.code)
        .with_storage(storage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, B256, U256, b256, keccak256};
    use snapsync_genesis::{AccountId, DumpAccount, StateDump};
    use snapsync_primitives::test_utils::require_fixture;

    fn load(test: &str, relative: &str) -> Option<(GeneratedState, StateFile)> {
        let path = require_fixture(test, relative)?;
        let file = StateFile::load(&path).unwrap();
        Some((GeneratedState::from_state_file(&file).unwrap(), file))
    }

    #[test]
    fn geth_hive_dump_has_its_known_root() {
        let test = "geth_hive_dump_has_its_known_root";
        let Some((state, file)) = load(test, "geth-hive/headstate.json") else { return };
        assert_eq!(
            state.state_root(),
            b256!("8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b")
        );
        assert_eq!(state.counts(), file.state_root().unwrap().counts);

        // A real state makes a chain's genesis as well as a generated one.
        let chain = crate::GeneratedChain::from_genesis_state(1, state, 8, 20);
        for number in [0, 8] {
            let header = chain.header(number).unwrap();
            assert_eq!(chain.state_at(number).unwrap().state_root(), header.state_root);
        }
    }

    #[test]
    fn mainnet_genesis_has_its_known_root() {
        let test = "mainnet_genesis_has_its_known_root";
        let Some((state, file)) = load(test, "genesis/mainnet.json") else { return };
        assert_eq!(
            state.state_root(),
            b256!("d7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544")
        );
        assert_eq!(state.counts(), file.state_root().unwrap().counts);
    }

    #[test]
    fn genesis_keys_are_hashed() {
        let json = br#"{"alloc":{"0x0000000000000000000000000000000000000002":{"balance":"0x0",
            "code":"0x6000","storage":{"0x01":"0x05","0x02":"0x00"}}}}"#;
        let file = StateFile::from_slice(json).unwrap();
        let state = GeneratedState::from_state_file(&file).unwrap();
        let account = state.account(&AccountHash::of(&Address::with_last_byte(2))).unwrap();
        let slot = SlotHash::of(&B256::with_last_byte(1));
        assert_eq!(account.storage().iter().collect::<Vec<_>>(), vec![(&slot, &U256::from(5))]);
        assert_eq!(state.state_root(), file.state_root().unwrap().state_root);
    }

    #[test]
    fn incomplete_or_ambiguous_dumps_are_refused_naming_the_account() {
        let address = Address::with_last_byte(1);
        let no_storage =
            DumpAccount { storage_root: Some(B256::repeat_byte(0x11)), ..Default::default() };
        let dump = |accounts: Vec<(AccountId, DumpAccount)>| {
            StateFile::Dump(StateDump { root: None, accounts: accounts.into_iter().collect() })
        };
        let err =
            GeneratedState::from_state_file(&dump(vec![(AccountId::Address(address), no_storage)]))
                .unwrap_err();
        assert!(matches!(err, GenesisError::MissingField { field: "storage", .. }), "{err}");
        assert!(err.to_string().contains(&address.to_string()), "{err}");

        let twice = dump(vec![
            (AccountId::Address(address), DumpAccount::default()),
            (AccountId::Hash(keccak256(address)), DumpAccount::default()),
        ]);
        assert!(matches!(
            GeneratedState::from_state_file(&twice),
            Err(GenesisError::DuplicateAccountHash { hash }) if hash == keccak256(address)
        ));
    }
}
