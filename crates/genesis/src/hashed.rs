//! The accounts of a state file by hashed key, as a state import takes them.

use crate::{AccountId, DumpAccount, GenesisAccount, GenesisError, StateFile};
use alloy_primitives::{B256, Bytes, U256, keccak256};
use snapsync_primitives::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use std::collections::BTreeMap;

/// One account of a state file keyed as the state trie keys it: its account hash, and its storage
/// by hashed slot. Nothing derived (storage root, code hash) is carried: an importer computes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashedAccount {
    /// The account's key in the state trie: `keccak256(address)`, or the hash a dump gives.
    pub hash: B256,
    /// The nonce.
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// The contract code; empty for an account without code.
    pub code: Bytes,
    /// The non-zero storage slots as `(keccak256(slot), value)`, in slot order (not hash order).
    pub storage: Vec<(B256, U256)>,
}

impl StateFile {
    /// The accounts of the file by hashed key, in the file's account order.
    ///
    /// A state dump entry must carry everything the state is made of: an entry without `code`
    /// whose `codeHash` is not the empty-code hash (geth's `--nocode`), or without `storage` whose
    /// `root` is not the empty root (`--nostorage`), yields [`GenesisError::MissingField`] naming
    /// the account and the field, rather than being skipped: skipping would silently import
    /// another state than the file's. An entry that omits empty code or storage is complete.
    ///
    /// # Errors
    /// [`GenesisError::MissingField`] per incomplete dump entry, as described; the iterator goes
    /// on with the next account after an error.
    pub fn hashed_accounts(&self) -> impl Iterator<Item = Result<HashedAccount, GenesisError>> {
        let (genesis, dump) = match self {
            Self::Genesis(genesis) => (Some(&genesis.accounts), None),
            Self::Dump(dump) => (None, Some(&dump.accounts)),
        };
        let genesis = genesis
            .into_iter()
            .flatten()
            .map(|(address, account)| Ok(hashed_genesis_account(keccak256(address), account)));
        let dump =
            dump.into_iter().flatten().map(|(id, account)| hashed_dump_account(*id, account));
        genesis.chain(dump)
    }
}

fn hashed_genesis_account(hash: B256, account: &GenesisAccount) -> HashedAccount {
    HashedAccount {
        hash,
        nonce: account.nonce,
        balance: account.balance,
        code: account.code.clone(),
        storage: hashed_storage(&account.storage),
    }
}

fn hashed_dump_account(
    id: AccountId,
    account: &DumpAccount,
) -> Result<HashedAccount, GenesisError> {
    let missing = |field| GenesisError::MissingField { account: id.to_string(), field };
    let code = match &account.code {
        Some(code) => code.clone(),
        None if account.code_hash.is_none_or(|hash| hash == KECCAK_EMPTY) => Bytes::new(),
        None => return Err(missing("code")),
    };
    let storage = match &account.storage {
        Some(storage) => hashed_storage(storage),
        None if account.storage_root.is_none_or(|root| root == EMPTY_ROOT_HASH) => Vec::new(),
        None => return Err(missing("storage")),
    };
    Ok(HashedAccount {
        hash: id.hashed_key(),
        nonce: account.nonce,
        balance: account.balance,
        code,
        storage,
    })
}

/// The non-zero slots keyed by `keccak256(slot)`.
fn hashed_storage(storage: &BTreeMap<B256, U256>) -> Vec<(B256, U256)> {
    storage
        .iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(slot), *value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn genesis_accounts_are_hashed_with_their_slots() {
        let json = br#"{"alloc": {"0x0000000000000000000000000000000000000001":
            {"balance": "0x10", "nonce": "0x2", "code": "0x6000", "storage": {"0x01": "0x05", "0x02": "0x00"}}}}"#;
        let file = StateFile::from_slice(json).unwrap();
        let accounts: Vec<_> = file.hashed_accounts().collect::<Result<_, _>>().unwrap();
        let address = address!("0000000000000000000000000000000000000001");
        assert_eq!(
            accounts,
            vec![HashedAccount {
                hash: keccak256(address),
                nonce: 2,
                balance: U256::from(16),
                code: Bytes::from_static(&[0x60, 0x00]),
                storage: vec![(keccak256(B256::with_last_byte(1)), U256::from(5))],
            }]
        );
    }

    #[test]
    fn dump_entries_without_code_or_storage_are_errors_unless_empty() {
        let complete = r#""0x0000000000000000000000000000000000000001": {"balance": "1", "nonce": 0,
            "root": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "codeHash": "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"}"#;
        let no_code = r#""0x0000000000000000000000000000000000000002": {"balance": "1", "nonce": 0,
            "codeHash": "0x1111111111111111111111111111111111111111111111111111111111111111"}"#;
        let no_storage = r#""0x0000000000000000000000000000000000000003": {"balance": "1", "nonce": 0,
            "root": "0x2222222222222222222222222222222222222222222222222222222222222222"}"#;
        let json = format!(r#"{{"accounts": {{{complete}, {no_code}, {no_storage}}}}}"#);
        let file = StateFile::from_slice(json.as_bytes()).unwrap();
        let results: Vec<_> = file.hashed_accounts().collect();
        assert!(results[0].is_ok());
        let messages: Vec<_> =
            results[1..].iter().map(|r| r.as_ref().unwrap_err().to_string()).collect();
        assert!(messages[0].contains("0x0000000000000000000000000000000000000002"), "{messages:?}");
        assert!(messages[0].contains("missing field \"code\""), "{messages:?}");
        assert!(messages[1].contains("missing field \"storage\""), "{messages:?}");
    }
}
