//! Errors of the trie core.

use alloy_primitives::B256;
use alloy_trie::Nibbles;

/// Why a range of leaves was not accepted by [`verify_range_proof`](crate::verify_range_proof).
///
/// Every variant means the peer's reply is wrong (or the request was); none is a local failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeProofError {
    /// `keys` and `values` have different lengths.
    #[error("inconsistent range data: {keys} keys, {values} values")]
    LengthMismatch {
        /// Number of keys.
        keys: usize,
        /// Number of values.
        values: usize,
    },
    /// `keys[index]` is not strictly greater than `keys[index - 1]`.
    #[error("range is not strictly increasing at index {index}")]
    KeysNotIncreasing {
        /// Index of the first key that is not greater than its predecessor.
        index: usize,
    },
    /// `values[index]` is empty: a range cannot carry a deletion.
    #[error("range contains a deletion (empty value) at index {index}")]
    EmptyValue {
        /// Index of the empty value.
        index: usize,
    },
    /// A key is longer than 32 bytes, or its length differs from the first key's.
    #[error("key at index {index:?} is {len} bytes; expected {expected}")]
    KeyLength {
        /// Index of the key (`None` for the first key / origin).
        index: Option<usize>,
        /// Its length in bytes.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// The requested origin lies after the first returned key, or after the last one.
    #[error("invalid edge keys: origin {first_key} is after the {which} returned key")]
    InvalidEdgeKeys {
        /// The origin, hex.
        first_key: String,
        /// `"first"` or `"last"`.
        which: &'static str,
    },
    /// The proof holds more nodes than [`ProofLimits::max_nodes`](crate::ProofLimits).
    #[error("proof has {count} nodes, more than the limit of {max}")]
    TooManyProofNodes {
        /// Nodes in the proof.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The proof is larger than [`ProofLimits::max_bytes`](crate::ProofLimits).
    #[error("proof is {bytes} bytes, more than the limit of {max}")]
    ProofTooLarge {
        /// Total bytes of all proof nodes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A node on an edge path is referenced by hash but not in the proof.
    #[error("proof is missing node {hash} at path {path:?}")]
    MissingNode {
        /// Path of the missing node.
        path: Nibbles,
        /// Hash the parent references it by.
        hash: B256,
    },
    /// A node on an edge path could not be decoded, or is not valid for a fixed-length-key trie.
    #[error("invalid node at path {path:?}: {reason}")]
    InvalidNode {
        /// Path of the node.
        path: Nibbles,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// Zero keys were returned but the proof shows entries at or after the origin.
    #[error("empty range, but the proof shows entries at or after the origin")]
    MoreEntriesAvailable,
    /// The root recomputed from the proof edges and the given leaves is not the trusted root.
    #[error("root mismatch: expected {expected}, computed {computed}")]
    RootMismatch {
        /// The trusted root.
        expected: B256,
        /// The root the range and proof hash to.
        computed: B256,
    },
}

/// Why [`TrieBuilder`](crate::TrieBuilder) refused a leaf, or its sink failed.
#[derive(Debug, thiserror::Error)]
pub enum TrieBuildError {
    /// Leaves must arrive in strictly increasing key order.
    #[error("leaf keys out of order: {key} after {previous}")]
    Unsorted {
        /// The previous key, hex.
        previous: String,
        /// The offending key, hex.
        key: String,
    },
    /// Keys are at most 32 bytes (64 nibbles).
    #[error("key of {len} bytes is longer than 32 bytes")]
    KeyTooLong {
        /// Key length in bytes.
        len: usize,
    },
    /// Leaf values must be non-empty (an empty value is a deletion).
    #[error("empty value for key {key}")]
    EmptyValue {
        /// The key, hex.
        key: String,
    },
    /// The node sink failed.
    #[error("node sink failed: {0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a proof could not be read from a stored trie.
#[derive(Debug, thiserror::Error)]
pub enum StoredProofError {
    /// The stored trie's root node is missing or is not the requested root.
    #[error("root {root} is not the stored trie's root")]
    RootNotStored {
        /// The requested root.
        root: B256,
    },
    /// A node its parent references is not stored.
    #[error("stored trie is missing node {hash} at path {path:?}")]
    MissingNode {
        /// Path of the missing node.
        path: Nibbles,
        /// Hash the parent references.
        hash: B256,
    },
    /// The node stored at a path does not hash to its parent's reference.
    #[error("stored node at path {path:?} does not hash to {expected}")]
    StaleNode {
        /// Path of the node.
        path: Nibbles,
        /// Hash the parent references.
        expected: B256,
    },
    /// A stored node does not decode.
    #[error("stored node at path {path:?} is invalid: {reason}")]
    InvalidNode {
        /// Path of the node.
        path: Nibbles,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Keys are at most 32 bytes.
    #[error("key of {len} bytes is longer than 32 bytes")]
    KeyTooLong {
        /// Key length in bytes.
        len: usize,
    },
    /// The node storage failed.
    #[error("node storage failed: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
}
