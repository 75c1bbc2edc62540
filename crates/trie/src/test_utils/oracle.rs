//! Baselines from alloy-trie, to measure and check snapsync's trie code against.

use alloy_primitives::B256;
use alloy_trie::{HashBuilder, Nibbles};

/// The root alloy-trie's `HashBuilder` computes over sorted fixed-length `leaves`: the bare
/// hashing pass every benchmark of ours is compared with.
///
/// # Panics
/// When the keys are not strictly increasing or longer than 32 bytes (`HashBuilder` asserts).
pub fn hash_builder_root<K: AsRef<[u8]>, V: AsRef<[u8]>>(leaves: &[(K, V)]) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), value.as_ref());
    }
    builder.root()
}
