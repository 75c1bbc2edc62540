//! Why a request is refused, why a state cannot be served, and why serving from a held state
//! failed.

use alloy_primitives::B256;
use snapsync_storage::StoreError;
use snapsync_trie::StoredProofError;

/// Why a request is refused outright. go-ethereum disconnects the peer for these; the caller
/// should penalise it rather than answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    /// A `GetTrieNodes` path set has no items: neither an account path nor an account hash.
    #[error("GetTrieNodes request {request_id}: path set {index} is empty")]
    EmptyPathSet {
        /// The request's ID.
        request_id: u64,
        /// The position of the empty set among the request's path sets.
        index: usize,
    },
}

/// Why a state was not added to a [`SnapServer`](crate::SnapServer).
#[derive(Debug, thiserror::Error)]
pub enum AddStateError {
    /// The store's stored account trie does not have the root it is offered for (`stored` is
    /// `None` when no root node is stored at all).
    #[error(
        "state {root}: the store's stored account trie has root {}",
        stored.map_or_else(|| "none (no root node)".to_owned(), |stored| stored.to_string())
    )]
    RootMismatch {
        /// The root the state was offered for.
        root: B256,
        /// The keccak256 of the stored root node.
        stored: Option<B256>,
    },
    /// Reading the store failed.
    #[error("state {root}: {source}")]
    Store {
        /// The root the state was offered for.
        root: B256,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// Why a request for a held state could not be served (it is then answered empty, as
/// go-ethereum does, and logged).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored trie could not prove a range (a missing or stale node).
    #[error(transparent)]
    Proof(#[from] StoredProofError),
}
