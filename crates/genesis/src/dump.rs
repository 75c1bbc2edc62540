//! The state-dump model: geth's `dump` output, account by account.

use crate::{
    AccountId, AccountMismatch, Format, GenesisError, MismatchField, StateFile, StateRootReport,
    root::StateRootBuilder,
};
use alloy_primitives::{B256, Bytes, U256};
use snapsync_primitives::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use std::{collections::BTreeMap, io, path::Path};

/// One account of a state dump: its state, and the hashes the dump claims for it.
///
/// `code` and `storage` are `None` when the dump does not list them (geth's `--nocode` and
/// `--nostorage`; geth also omits empty ones). The state root then takes the account's code hash
/// and storage root from the `codeHash` and `root` fields instead of computing them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpAccount {
    /// The nonce.
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// The contract code, if listed.
    pub code: Option<Bytes>,
    /// The non-zero storage slots by slot (not hashed), if listed. Zero values are dropped.
    pub storage: Option<BTreeMap<B256, U256>>,
    /// The `root` field: the storage root the dump claims.
    pub storage_root: Option<B256>,
    /// The `codeHash` field: the code hash the dump claims.
    pub code_hash: Option<B256>,
    /// The `key` field: the account hash the dump claims.
    pub key: Option<B256>,
}

/// A geth state dump: `{"root": …, "accounts": {…}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDump {
    /// The top-level `root`: the state root the dump claims.
    pub root: Option<B256>,
    /// The accounts, by address or, when the dump lacks it, by account hash.
    pub accounts: BTreeMap<AccountId, DumpAccount>,
}

impl StateDump {
    /// Reads a state dump held in memory.
    ///
    /// # Errors
    /// See [`StateFile::from_slice`]; [`GenesisError::WrongFormat`] for a genesis file.
    pub fn from_slice(json: &[u8]) -> Result<Self, GenesisError> {
        StateFile::from_slice(json)?.into_dump()
    }

    /// Reads a state dump from a reader (buffer it: it is read in small pieces).
    ///
    /// # Errors
    /// See [`StateFile::from_reader`]; [`GenesisError::WrongFormat`] for a genesis file.
    pub fn from_reader<R: io::Read>(reader: R) -> Result<Self, GenesisError> {
        StateFile::from_reader(reader)?.into_dump()
    }

    /// Reads a state dump from disk.
    ///
    /// # Errors
    /// See [`StateFile::load`]; [`GenesisError::WrongFormat`] for a genesis file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GenesisError> {
        StateFile::load(path)?.into_dump()
    }

    /// Computes the state root, cross-checking every claim of the dump on the way: each
    /// account's `root`, `codeHash` and `key` against the computed ones, and the top-level
    /// `root` against the computed root. Differences are reported in the
    /// [`StateRootReport`], not as errors.
    ///
    /// # Errors
    /// [`GenesisError::DuplicateAccountHash`] when an account listed by hash is also listed by
    /// address; [`GenesisError::Trie`] would be a bug.
    pub fn state_root(&self) -> Result<StateRootReport, GenesisError> {
        let mut builder = StateRootBuilder::with_capacity(self.accounts.len());
        for (id, account) in &self.accounts {
            let storage_root = Self::account_storage_root(&mut builder, *id, account)?;
            let code_hash = Self::account_code_hash(&mut builder, *id, account);
            let hashed_key = id.hashed_key();
            if let (Some(claimed), AccountId::Address(_)) = (account.key, id)
                && claimed != hashed_key
            {
                builder.mismatch(AccountMismatch {
                    account: *id,
                    field: MismatchField::Key,
                    in_file: claimed,
                    computed: hashed_key,
                });
            }
            builder.push_account(
                hashed_key,
                account.nonce,
                account.balance,
                storage_root,
                code_hash,
            );
        }
        builder.finish(self.root)
    }

    /// The storage root computed from the listed storage (checked against `root`), or the
    /// `root` field when no storage is listed.
    fn account_storage_root(
        builder: &mut StateRootBuilder,
        id: AccountId,
        account: &DumpAccount,
    ) -> Result<B256, GenesisError> {
        let Some(storage) = &account.storage else {
            let root = account.storage_root.unwrap_or(EMPTY_ROOT_HASH);
            if root != EMPTY_ROOT_HASH {
                builder.storage_root_from_file();
            }
            return Ok(root);
        };
        let computed = builder.storage_root(storage)?;
        if let Some(claimed) = account.storage_root
            && claimed != computed
        {
            builder.mismatch(AccountMismatch {
                account: id,
                field: MismatchField::StorageRoot,
                in_file: claimed,
                computed,
            });
        }
        Ok(computed)
    }

    /// The hash of the listed code (checked against `codeHash`), or the `codeHash` field when
    /// no code is listed.
    fn account_code_hash(
        builder: &mut StateRootBuilder,
        id: AccountId,
        account: &DumpAccount,
    ) -> B256 {
        let Some(code) = &account.code else {
            let hash = account.code_hash.unwrap_or(KECCAK_EMPTY);
            builder.code_hash_from_file(hash);
            return hash;
        };
        let computed = builder.code_hash(code);
        if let Some(claimed) = account.code_hash
            && claimed != computed
        {
            builder.mismatch(AccountMismatch {
                account: id,
                field: MismatchField::CodeHash,
                in_file: claimed,
                computed,
            });
        }
        computed
    }
}

impl StateFile {
    fn into_dump(self) -> Result<StateDump, GenesisError> {
        match self {
            Self::Dump(dump) => Ok(dump),
            Self::Genesis(_) => {
                Err(GenesisError::WrongFormat { expected: Format::Dump, found: Format::Genesis })
            }
        }
    }
}
