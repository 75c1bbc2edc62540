//! The genesis-file model: `alloc`, address by address.

use crate::{
    Format, GenesisAccount, GenesisError, StateFile, StateRootReport, root::StateRootBuilder,
};
use alloy_primitives::{Address, B256};
use std::{collections::BTreeMap, io, path::Path};

/// The accounts of a genesis file (geth or reth style), and the state root it claims, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenesisState {
    /// The `alloc` accounts by address.
    pub accounts: BTreeMap<Address, GenesisAccount>,
    /// The top-level `stateRoot` field, which some genesis files carry (reth's do).
    pub state_root: Option<B256>,
}

impl GenesisState {
    /// Reads a genesis file held in memory.
    ///
    /// # Errors
    /// See [`StateFile::from_slice`]; [`GenesisError::WrongFormat`] for a state dump.
    pub fn from_slice(json: &[u8]) -> Result<Self, GenesisError> {
        StateFile::from_slice(json)?.into_genesis()
    }

    /// Reads a genesis file from a reader (buffer it: it is read in small pieces).
    ///
    /// # Errors
    /// See [`StateFile::from_reader`]; [`GenesisError::WrongFormat`] for a state dump.
    pub fn from_reader<R: io::Read>(reader: R) -> Result<Self, GenesisError> {
        StateFile::from_reader(reader)?.into_genesis()
    }

    /// Reads a genesis file from disk.
    ///
    /// # Errors
    /// See [`StateFile::load`]; [`GenesisError::WrongFormat`] for a state dump.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GenesisError> {
        StateFile::load(path)?.into_genesis()
    }

    /// Computes the state root of the `alloc` accounts, and compares it with the file's
    /// `stateRoot`, if any (a difference is reported, not an error).
    ///
    /// # Errors
    /// Only [`GenesisError::Trie`], which would be a bug.
    pub fn state_root(&self) -> Result<StateRootReport, GenesisError> {
        let mut builder = StateRootBuilder::with_capacity(self.accounts.len());
        for (address, account) in &self.accounts {
            let storage_root = builder.storage_root(&account.storage)?;
            let code_hash = builder.code_hash(&account.code);
            builder.push_account(
                alloy_primitives::keccak256(address),
                account.nonce,
                account.balance,
                storage_root,
                code_hash,
            );
        }
        builder.finish(self.state_root)
    }
}

impl StateFile {
    fn into_genesis(self) -> Result<GenesisState, GenesisError> {
        match self {
            Self::Genesis(genesis) => Ok(genesis),
            Self::Dump(_) => {
                Err(GenesisError::WrongFormat { expected: Format::Genesis, found: Format::Dump })
            }
        }
    }
}
