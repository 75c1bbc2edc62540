//! State-root computation and its report.
//!
//! Each account's storage trie is built as soon as the account is reached, from its slots hashed
//! and sorted; only the account's leaf (hashed address, RLP of the account) is kept. The leaves
//! are then sorted and streamed into the trie builder. Beyond the parsed input, memory is one
//! leaf per account plus the slots of the largest single account.

use crate::{AccountId, GenesisError};
use alloy_primitives::{B256, U256, keccak256};
use snapsync_primitives::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use snapsync_trie::trie_root;
use std::{
    collections::{BTreeMap, HashSet},
    fmt,
};

/// What a state holds, as counted while computing its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Accounts (leaves of the state trie).
    pub accounts: usize,
    /// Non-zero storage slots, over all accounts whose storage is listed.
    pub storage_slots: usize,
    /// Distinct non-empty code hashes: the bytecodes the state refers to, each counted once
    /// however many accounts share it. For a dump that omits code, the `codeHash` fields count.
    pub bytecodes: usize,
}

/// Which claim of a state dump disagrees with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchField {
    /// The account's `root` (storage root).
    StorageRoot,
    /// The account's `codeHash`.
    CodeHash,
    /// The account's `key` (account hash).
    Key,
}

impl MismatchField {
    /// The field's name in a geth dump.
    pub const fn json_name(self) -> &'static str {
        match self {
            Self::StorageRoot => "root",
            Self::CodeHash => "codeHash",
            Self::Key => "key",
        }
    }
}

/// A hash a state dump claims for an account that differs from the one its data hashes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountMismatch {
    /// The account.
    pub account: AccountId,
    /// The field holding the claim.
    pub field: MismatchField,
    /// The value of the field.
    pub in_file: B256,
    /// The value computed from the account's data.
    pub computed: B256,
}

impl fmt::Display for AccountMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account {}: field \"{}\" is {} but the data hashes to {}",
            self.account,
            self.field.json_name(),
            self.in_file,
            self.computed
        )
    }
}

/// The computed state root, what went into it, and how it compares with the file's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRootReport {
    /// The root computed from the accounts.
    pub state_root: B256,
    /// What the state holds.
    pub counts: StateCounts,
    /// The root the file claims (a dump's `root`, a genesis file's `stateRoot`), if any.
    pub claimed_root: Option<B256>,
    /// Per-account claims that disagree with the data, in account order.
    pub mismatches: Vec<AccountMismatch>,
    /// Accounts whose non-empty storage root was taken from the file because their storage is
    /// not listed (a dump made without storage): their storage is not verified.
    pub storage_roots_from_file: usize,
    /// Accounts whose non-empty code hash was taken from the file because their code is not
    /// listed (a dump made without code): their code is not verified.
    pub code_hashes_from_file: usize,
}

impl StateRootReport {
    /// `Some(true)` when the file claims a root and it is the computed one, `Some(false)` when
    /// it claims another, `None` when it claims none.
    pub fn claimed_root_matches(&self) -> Option<bool> {
        self.claimed_root.map(|claimed| claimed == self.state_root)
    }

    /// Whether every claim of the file agrees with the computed values.
    pub fn is_consistent(&self) -> bool {
        self.mismatches.is_empty() && self.claimed_root_matches() != Some(false)
    }
}

/// Collects account leaves and counts, then builds the state trie.
#[derive(Debug)]
pub(crate) struct StateRootBuilder {
    /// `(keccak256(address), RLP(account))`, in input order until [`Self::finish`] sorts them.
    leaves: Vec<(B256, Vec<u8>)>,
    code_hashes: HashSet<B256>,
    storage_slots: usize,
    mismatches: Vec<AccountMismatch>,
    storage_roots_from_file: usize,
    code_hashes_from_file: usize,
}

impl StateRootBuilder {
    /// A builder for `accounts` accounts.
    pub(crate) fn with_capacity(accounts: usize) -> Self {
        Self {
            leaves: Vec::with_capacity(accounts),
            code_hashes: HashSet::new(),
            storage_slots: 0,
            mismatches: Vec::new(),
            storage_roots_from_file: 0,
            code_hashes_from_file: 0,
        }
    }

    /// The root of an account's storage trie (its non-zero slots), counting the slots.
    pub(crate) fn storage_root(
        &mut self,
        storage: &BTreeMap<B256, U256>,
    ) -> Result<B256, GenesisError> {
        let mut leaves: Vec<(B256, Vec<u8>)> = storage
            .iter()
            .filter(|(_, value)| !value.is_zero())
            .map(|(slot, value)| (keccak256(slot), alloy_rlp::encode(value)))
            .collect();
        self.storage_slots += leaves.len();
        if leaves.is_empty() {
            return Ok(EMPTY_ROOT_HASH);
        }
        leaves.sort_unstable_by_key(|leaf| leaf.0);
        Ok(trie_root(leaves.iter().map(|(key, value)| (key, value)))?)
    }

    /// The hash of an account's code, recording it as a bytecode when non-empty.
    pub(crate) fn code_hash(&mut self, code: &[u8]) -> B256 {
        if code.is_empty() {
            return KECCAK_EMPTY;
        }
        let hash = keccak256(code);
        self.code_hashes.insert(hash);
        hash
    }

    /// Records that a storage root was taken from the file.
    pub(crate) const fn storage_root_from_file(&mut self) {
        self.storage_roots_from_file += 1;
    }

    /// Records that a code hash was taken from the file.
    pub(crate) fn code_hash_from_file(&mut self, hash: B256) {
        if hash != KECCAK_EMPTY {
            self.code_hashes_from_file += 1;
            self.code_hashes.insert(hash);
        }
    }

    /// Records a claim of the file that the data contradicts.
    pub(crate) fn mismatch(&mut self, mismatch: AccountMismatch) {
        self.mismatches.push(mismatch);
    }

    /// Adds an account's leaf.
    pub(crate) fn push_account(
        &mut self,
        hashed_key: B256,
        nonce: u64,
        balance: U256,
        storage_root: B256,
        code_hash: B256,
    ) {
        let account = TrieAccount { nonce, balance, storage_root, code_hash };
        self.leaves.push((hashed_key, alloy_rlp::encode(account)));
    }

    /// Builds the state trie and reports, comparing with `claimed_root`.
    pub(crate) fn finish(
        mut self,
        claimed_root: Option<B256>,
    ) -> Result<StateRootReport, GenesisError> {
        self.leaves.sort_unstable_by_key(|leaf| leaf.0);
        if let Some(pair) = self.leaves.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(GenesisError::DuplicateAccountHash { hash: pair[0].0 });
        }
        let state_root = trie_root(self.leaves.iter().map(|(key, value)| (key, value)))?;
        Ok(StateRootReport {
            state_root,
            counts: StateCounts {
                accounts: self.leaves.len(),
                storage_slots: self.storage_slots,
                bytecodes: self.code_hashes.len(),
            },
            claimed_root,
            mismatches: self.mismatches,
            storage_roots_from_file: self.storage_roots_from_file,
            code_hashes_from_file: self.code_hashes_from_file,
        })
    }
}
