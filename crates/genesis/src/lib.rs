//! Genesis files and state dumps: reading them, and computing their state root.
//!
//! snap/1 sync ends with a state trie whose root must equal a header's `stateRoot`. This crate
//! produces such roots from data other clients publish, so the trie code can be checked against
//! them and a user can check a file: a network's genesis file (geth or reth style, with `alloc`)
//! or a geth state dump (`{"root", "accounts"}`).
//!
//! # Reading
//!
//! [`StateFile::load`] detects the format ([`Format`]) and reads the file in one pass, turning
//! each account into the model ([`GenesisState`] of [`GenesisAccount`]s, or [`StateDump`] of
//! [`DumpAccount`]s) as soon as its object ends. The forms accepted are those real files use:
//! addresses with or without `0x` in any case; balances and nonces as hex strings, decimal
//! strings or JSON integers; code as hex; storage keys and values as hex words of any length up
//! to 32 bytes, left-padded. Unknown fields are ignored. Anything else is an error that names the
//! account and the field ([`GenesisError`], [`ValueError`]); nothing panics on any input, and
//! memory stays proportional to the input. [`StateFile::load`] refuses a file larger than
//! [`StateFile::MAX_FILE_BYTES`] (256 MiB); [`CappedInput`] and [`read_capped`] are the capped
//! reading every input file of snapsync goes through.
//!
//! # The state root
//!
//! [`StateFile::state_root`] builds each account's storage trie (`keccak256(slot)` →
//! RLP of the non-zero value), hashes its code, and builds the state trie over
//! `keccak256(address)` → RLP of the account, with the streaming builder of `snapsync-trie`.
//! A dump's own claims (`root`, `codeHash`, `key` per account, `root` at the top) and a genesis
//! file's `stateRoot` are compared with the computed values; the [`StateRootReport`] lists every
//! disagreement instead of failing, since the computed root is the answer either way.
//! [`StateFile::check_claims`] lists every contradicted claim, the file's root included
//! ([`ClaimCheck`]): it is the one check both `snapsync state-root` and `snapsync sync
//! --from-dump` judge a file by.
//!
//! The counts of the report are accounts, non-zero storage slots, and distinct non-empty code
//! hashes ("bytecodes": what a snap sync downloads, each once however many accounts share it).
//!
//! # State dumps without storage or code
//!
//! A dump entry without a `storage` object (geth's `--nostorage`, or an account without storage)
//! takes its storage root from its `root` field, and one without `code` (`--nocode`) its code hash
//! from `codeHash`; the report counts the non-empty ones taken so, since they are not verified.
//! When `storage` or `code` is listed, the computed value is used and the field only checked.
//!
//! # State dumps without addresses
//!
//! geth lists an account whose address preimage it lacks under `pre(0x<hash>)` with only a `key`
//! (account hash) field. Such an account is identified by [`AccountId::Hash`]: its leaf key is the
//! hash itself, which is all the root needs. An entry is identified by its `address` field, else
//! its key if that is an address, else its `key` field, else its key if that is a hash.

//!
//! # Chain rules
//!
//! [`ChainSpec`] is the rest of a genesis file: the chain id and fork schedule ([`ForkSchedule`],
//! from `config` as `alloy-genesis` reads it, or, for reth's config-less public-network files,
//! from [`KnownNetwork`] via `alloy-hardforks`), and the genesis header built from the header
//! fields ([`GenesisFields`]) with the fields of the forks active at genesis, and its hash.
//! [`ChainSpec::fork_filter`] computes and checks EIP-2124 fork ids (`alloy-eip2124`). Those
//! crates are re-exported where their types are part of this API.
//!
//! # Chain files
//!
//! [`ChainFile`] reads an RLP chain file (geth's `export` format) one block at a time, each
//! block's length bounded before it is read and each block checked to be the child of the one
//! before it ([`ChainLink`]); `snapsync import` stores such a file after the genesis.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod account;
mod chain_file;
mod chain_spec;
mod claims;
mod dump;
mod error;
mod fork_schedule;
mod genesis;
mod genesis_fields;
mod hashed;
mod hex;
mod input;
mod json;
mod known_network;
mod quantity;
mod reader;
mod root;
mod state_file;

pub use account::{AccountId, GenesisAccount};
pub use chain_file::{ChainBlock, ChainFile, ChainLink};
pub use chain_spec::ChainSpec;
pub use claims::{ClaimCheck, ClaimMismatch};
pub use dump::{DumpAccount, StateDump};
pub use error::{ChainFileError, ChainSpecError, GenesisError, SlotPart, ValueError};
pub use fork_schedule::ForkSchedule;
pub use genesis_fields::GenesisFields;
pub use known_network::KnownNetwork;
// The types of the chain rules' public API, so users need not name these crates.
pub use alloy_eip2124::{
    ForkFilter, ForkFilterKey, ForkHash, ForkId, Head, ValidationError as ForkIdError,
};
pub use alloy_genesis::ChainConfig;
pub use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
pub use genesis::GenesisState;
pub use hashed::HashedAccount;
pub use input::{CappedInput, InputTooLarge, read_capped, read_capped_string};
pub use root::{AccountMismatch, MismatchField, StateCounts, StateRootReport};
pub use state_file::{Format, StateFile};
