//! The verified-trie core of snapsync.
//!
//! Everything a snap sync stores comes from untrusted peers. This crate holds the pieces that make
//! that safe and the pieces that turn verified data into a persisted trie:
//!
//! - [`verify_range_proof`]: accepts a range of leaves only if it provably belongs to the trie with
//!   a trusted root (geth's `VerifyRangeProof` contract), streaming the proof's edge subtrees and the
//!   given leaves into alloy-trie's `HashBuilder` instead of rebuilding a trie in memory.
//! - [`prove_range`]: the server side, the proof nodes for a range, as geth sends them.
//! - [`TrieBuilder`]: a streaming builder over sorted leaves that returns the root and emits every
//!   hashed node with its path to a [`NodeSink`], so a synced trie can be stored, served and healed.
//! - [`prove_stored`]: range proofs read from such a stored trie by path ([`NodeSource`]).
//! - [`decode_node`]: a strict decoder for nodes received from peers.
//!
//! With the `test-utils` feature (off by default; dev-dependencies turn it on), `test_utils`
//! holds the trie generators, range-proof cases, oracles and fuzz machinery the workspace's tests
//! use to check this crate.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod builder;
mod error;
mod leaf_node;
mod node;
mod path_walk;
mod prove;
mod stored;
mod verify;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use builder::{
    CountingSink, NodeList, NodeSink, NoopSink, StoredNodes, TrieBuilder, VecSink, trie_root,
};
pub use error::{RangeProofError, StoredProofError, TrieBuildError};
pub use leaf_node::leaf_node;
pub use node::{ChildRef, TrieNodeRef, decode_node};
pub use path_walk::{PathEnd, Step, walk_path};
pub use prove::prove_range;
pub use stored::{NodeSource, prove_stored};
pub use verify::{
    ProofLimits, RangeNodes, verify_range_proof, verify_range_proof_into, verify_range_proof_nodes,
    verify_range_proof_with_limits,
};

pub use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
