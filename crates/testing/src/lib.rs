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
//! - fuzz-test machinery: [`fuzz_config`] (case counts `PROPTEST_CASES` overrides), byte and
//!   RLP-tree mutations ([`ByteEdit`], [`RlpEdit`]), non-canonical RLP ([`encode_with_quirk`]),
//!   snap/1 message strategies ([`any_snap_message`]), node re-encoding and node-shaped garbage
//!   ([`encode_trie_node`], [`garbage_proof`]) and the checks of accepted ranges
//!   ([`TestTrie::check_accepted`], [`check_range_nodes`]);
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
mod db_compare;
mod diff_generator;
mod file_damage;
mod fixtures;
mod fuzz;
mod generated_account;
mod generated_state;
mod incremental_root;
mod keys;
mod leaves;
mod map_store;
mod node_fuzz;
mod nodes;
mod range;
mod rng;
mod snap_messages;
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
pub use db_compare::{TableDifference, table_differences};
pub use file_damage::Damage;
pub use fixtures::{fixture_path, fixtures_dir, require_fixture};
pub use fuzz::{
    ByteEdit, HeaderQuirk, RlpEdit, any_rlp_item, apply_byte_edit, apply_byte_edits,
    apply_rlp_edit, byte_edit, byte_edits, encode_with_quirk, fuzz_config, header_quirk, rlp_bytes,
    rlp_edit, rlp_node_count,
};
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
pub use map_store::{MapReader, MapState, MapStore, MapWriter};
pub use node_fuzz::{
    all_trie_nodes, check_range_nodes, encode_trie_node, garbage_proof, node_item, node_shaped_rlp,
};
pub use nodes::{ChildRef, DecodedNode, decode_node, prove_key, trie_leaves};
pub use range::{Mutation, RangeCase, TestTrie, replace_node_rehashed, union_proofs};
pub use rng::TestRng;
pub use snap_messages::{
    any_account_range, any_b256, any_byte_codes, any_bytes, any_get_account_range,
    any_get_byte_codes, any_get_storage_ranges, any_get_trie_nodes, any_nibbles, any_path_set,
    any_raw_path_set, any_snap_message, any_storage_ranges, any_trie_account, any_trie_nodes,
    any_u64, any_u256, hash_or,
};
pub use state_diff::{AccountChange, AccountUpdate, StateDiff};
pub use state_spec::StateSpec;
pub use strategies::{any_leaf_set, fuzz_leaf_set, leaf_set};

mod oracle;
pub use oracle::hash_builder_root;

mod test_db;
pub use test_db::{TestDb, memory_db, redb_db};
