//! Shared test machinery for the snapsync workspace.
//!
//! Every crate's tests reach external fixtures, random tries and other helpers through this
//! crate, so that no test file carries its own copy of them:
//!
//! - [`TestRng`]: a seeded, dependency-free PRNG, so every generated trie is reproducible;
//! - leaf generators ([`random_leaves`], [`inline_heavy_leaves`], [`clustered_leaves`], geth's
//!   [`geth_random_leaves`] and [`geth_non_random_leaves`]) and proptest strategies
//!   ([`leaf_set`], [`any_leaf_set`]);
//! - key arithmetic ([`increase_key`], [`random_key_between`], …) and [`mutate_byte`];
//! - range-proof cases ([`TestTrie`], [`RangeCase`], [`Mutation`]);
//! - account-trie-shaped streams for benchmarks ([`SortedAccountLeaves`]);
//! - an independent node decoder and trie walker ([`decode_node`], [`trie_leaves`],
//!   [`prove_key`]) to check the trie code without trusting it;
//! - whole states for sync tests: [`GeneratedState`] (accounts with code and storage, in memory)
//!   drawn from a seed and a [`StateSpec`] or loaded from a genesis file or state dump, with its
//!   root, counts, import into a database and comparison with one ([`StateMismatch`]); and
//!   [`GeneratedChain`], headers and empty bodies over that state changing block by block
//!   ([`StateDiff`]), with the state at any block.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod accounts;
mod chain;
mod chain_fixture;
mod db_check;
mod diff_generator;
mod fixtures;
mod generated_account;
mod generated_state;
mod incremental_root;
mod keys;
mod leaves;
mod nodes;
mod range;
mod rng;
mod state_diff;
mod state_file;
mod state_generator;
mod state_import;
mod state_spec;
mod state_values;
mod strategies;
mod trie_cache;

pub use accounts::{SortedAccountLeaves, random_account_rlp};
pub use chain::GeneratedChain;
pub use chain_fixture::{ChainFixture, ChainFixtureError};
pub use db_check::StateMismatch;
pub use fixtures::{fixture_path, fixtures_dir, require_fixture};
pub use generated_account::GeneratedAccount;
pub use generated_state::GeneratedState;
pub use keys::{
    checked_decrease_key, checked_increase_key, decrease_key, increase_key, mutate_byte,
    random_key_between,
};
pub use leaves::{
    Leaf, clustered_leaves, geth_non_random_leaves, geth_random_leaves, inline_heavy_leaves,
    random_leaves, sorted_leaves,
};
pub use nodes::{ChildRef, DecodedNode, decode_node, prove_key, trie_leaves};
pub use range::{Mutation, RangeCase, TestTrie, replace_node_rehashed, union_proofs};
pub use rng::TestRng;
pub use state_diff::{AccountChange, AccountUpdate, StateDiff};
pub use state_spec::StateSpec;
pub use strategies::{any_leaf_set, leaf_set};

mod oracle;
pub use oracle::hash_builder_root;

mod test_db;
pub use test_db::{TestDb, memory_db, redb_db};
