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
//!   [`prove_key`]) to check the trie code without trusting it.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod accounts;
mod fixtures;
mod keys;
mod leaves;
mod nodes;
mod range;
mod rng;
mod strategies;

pub use accounts::{SortedAccountLeaves, random_account_rlp};
pub use fixtures::{fixture_path, fixtures_dir, require_fixture};
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
pub use strategies::{any_leaf_set, leaf_set};

mod oracle;
pub use oracle::hash_builder_root;
