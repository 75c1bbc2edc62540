//! Test machinery for snapsync's tests, behind the `test-utils` feature (and in this crate's own
//! unit tests): what every crate's tests share, kept at the bottom of the dependency graph.
//!
//! - [`TestRng`]: a seeded, dependency-free PRNG, so every generated value is reproducible;
//! - [`fixtures_dir`], [`fixture_path`] and [`require_fixture`]: locating the shared external
//!   fixtures (`../shared/fixtures` beside the repository, or `SNAPSYNC_FIXTURES`), with a loud
//!   `SKIPPED` line when one is absent;
//! - fuzz-test machinery for the decoders: [`fuzz_config`] (case counts `PROPTEST_CASES`
//!   overrides), byte and RLP-tree mutations ([`ByteEdit`], [`RlpEdit`]), non-canonical RLP
//!   ([`encode_with_quirk`]) and arbitrary RLP trees ([`any_rlp_item`]);
//! - proptest strategies for the snap/1 values and messages ([`any_snap_message`] and the
//!   per-message `any_*`).
//!
//! The feature turns `proptest` into a dependency of this crate; the library itself never uses
//! it, and the facade's lean build (`.ci/check-lean-deps`) checks that the feature stays off.

mod fixtures;
mod fuzz;
mod rng;
mod snap_messages;

pub use fixtures::{fixture_path, fixtures_dir, require_fixture};
pub use fuzz::{
    ByteEdit, HeaderQuirk, RlpEdit, any_rlp_item, apply_byte_edit, apply_byte_edits,
    apply_rlp_edit, byte_edit, byte_edits, encode_with_quirk, fuzz_config, header_quirk, rlp_bytes,
    rlp_edit, rlp_node_count,
};
pub use rng::TestRng;
pub use snap_messages::{
    any_account_range, any_b256, any_byte_codes, any_bytes, any_get_account_range,
    any_get_byte_codes, any_get_storage_ranges, any_get_trie_nodes, any_nibbles, any_path_set,
    any_raw_path_set, any_snap_message, any_storage_ranges, any_trie_account, any_trie_nodes,
    any_u64, any_u256, hash_or,
};
