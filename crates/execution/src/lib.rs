//! Block execution on revm over the storage seam.
//!
//! A snap-synced state is only useful if blocks can be executed on it, and executing a real
//! chain against its headers is the strongest check that the state is exactly right. This crate
//! executes Ethereum blocks with alloy-evm's Ethereum block executor on revm (the EVM reth
//! runs), reading the state straight from the store's hashed tables and writing each block's
//! effects back through [`StateWrite`](snapsync_storage::StateWrite):
//!
//! - [`ChainRules`]: the fork rules (Frontier through Osaka and the blob-parameter-only forks,
//!   the DAO fork, blob parameters, deposit contract), from a
//!   [`ChainSpec`](snapsync_genesis::ChainSpec) or an ethereum/tests network name.
//! - [`HashedStateDb`]: revm's database over a [`StateRead`](snapsync_storage::StateRead):
//!   addresses and slots hashed on access, codes by hash, BLOCKHASH from the stored headers.
//! - [`validate_header`]: the consensus checks of a header against its parent.
//! - [`EvmExecutor`]: one block, checked against its header (gas used, blob gas used, receipts
//!   root, logs bloom, requests hash, state root): a disagreement is a [`BlockError`] naming the
//!   block and the [`HeaderField`], and the caller drops the transaction holding its writes.
//! - [`EvmExecutor::build`]: a new block from a [`BlockTemplate`] (the proposer's choices and
//!   signed transactions), executed by the same EVM run and sealed with the roots it gave.
//! - [`write_changes`], [`ChangeSet`], [`revert_changes`]: a block's writes and the values
//!   they replaced, so it can be reverted exactly.
//! - [`StateRoot`]: the root after a block's writes.
//! - [`StageExecutor`]: the executor behind the chain stages' `ExecutionStage`, storing a change
//!   set per block so the stage unwinds exactly.
//! - [`seed_state`]: a state (a genesis `alloc`, a test's pre-state) written into an empty store.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod builder;
mod changes;
mod collision;
mod database;
mod error;
mod executor;
mod rules;
mod seed;
mod senders;
mod stage;
mod state_root;
mod validate;

pub use builder::{BlockTemplate, BuiltBlock};
pub use changes::{ChangeSet, Touched, Written, revert_changes, write_changes};
pub use database::HashedStateDb;
pub use error::{BlockError, DatabaseError, HeaderField};
pub use executor::{EvmExecutor, ExecutedBlock, SkippedTransaction};
pub use rules::ChainRules;
pub use seed::seed_state;
pub use stage::{ExecutionStats, StageExecutor, change_set_key};
pub use state_root::StateRoot;
pub use validate::{
    GAS_LIMIT_BOUND_DIVISOR, MAX_EXTRA_DATA, MAX_RLP_BLOCK_SIZE, MIN_GAS_LIMIT,
    validate_block_size, validate_header,
};
