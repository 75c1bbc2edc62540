//! Test machinery for the trie code, behind the `test-utils` feature (and in this crate's own
//! unit tests): generators of tries, oracles to check the trie code against, and the fuzz
//! machinery of the decoder and verifier fuzz tests.
//!
//! - leaf generators ([`random_leaves`], [`inline_heavy_leaves`], [`clustered_leaves`], geth's
//!   [`geth_random_leaves`] and [`geth_non_random_leaves`]) and proptest strategies
//!   ([`leaf_set`], [`any_leaf_set`], [`fuzz_leaf_set`]);
//! - key arithmetic ([`increase_key`], [`random_key_between`], …) and [`mutate_byte`];
//! - range-proof cases ([`TestTrie`], [`RangeCase`], [`Mutation`]), and the check of an accepted
//!   range ([`TestTrie::check_accepted`]);
//! - account-trie-shaped streams for benchmarks ([`SortedAccountLeaves`]) and alloy-trie's
//!   `HashBuilder` root as their baseline ([`hash_builder_root`]);
//! - oracles: an independent node decoder and trie walker ([`decode_node`], [`trie_leaves`]) and
//!   the proof of one key ([`prove_key`]);
//! - node fuzzing: node re-encoding ([`encode_trie_node`]), node-shaped garbage
//!   ([`node_shaped_rlp`], [`garbage_proof`]), every node of a trie ([`all_trie_nodes`]) and the
//!   check of the nodes the verifier emits ([`check_range_nodes`]).
//!
//! The feature turns `proptest` into a dependency, and `snapsync-primitives`' own `test-utils`
//! (its [`TestRng`](snapsync_primitives::test_utils::TestRng) seeds every generator here).

mod accounts;
mod keys;
mod leaves;
mod node_fuzz;
mod nodes;
mod oracle;
mod range;
mod strategies;

pub use accounts::{SortedAccountLeaves, random_account_rlp};
pub use keys::{
    checked_decrease_key, checked_increase_key, decrease_key, increase_key, mutate_byte,
    random_key_between,
};
pub use leaves::{
    Leaf, clustered_leaves, geth_non_random_leaves, geth_random_leaves, inline_heavy_leaves,
    random_leaves, sorted_leaves,
};
pub use node_fuzz::{
    all_trie_nodes, check_range_nodes, encode_trie_node, garbage_proof, node_item, node_shaped_rlp,
};
pub use nodes::{ChildRef, DecodedNode, decode_node, prove_key, trie_leaves};
pub use oracle::hash_builder_root;
pub use range::{Mutation, RangeCase, TestTrie, replace_node_rehashed, union_proofs};
pub use strategies::{any_leaf_set, fuzz_leaf_set, leaf_set};
