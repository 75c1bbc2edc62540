//! Why a reply is refused.

use alloy_primitives::B256;
use snapsync_net::RequestKind;
use snapsync_primitives::PathSetError;
use snapsync_trie::RangeProofError;
use std::time::Duration;

/// Proof that a peer sent bad data: any of these justifies penalising (banning) it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResponse {
    /// The range and its proof do not verify against the trusted root.
    #[error("range proof failed: {0}")]
    RangeProof(#[from] RangeProofError),
    /// The slots of `account` (the `index`th set) do not verify against its storage root.
    #[error("storage range of account {account} (set {index}) failed: {source}")]
    StorageProof {
        /// The account whose storage failed.
        account: B256,
        /// Its position in the reply.
        index: usize,
        /// Why the range failed.
        #[source]
        source: RangeProofError,
    },
    /// More bytes than the request allows (items before the last, beyond twice the budget).
    #[error("reply of {bytes} bytes exceeds the budget of {budget} bytes")]
    Oversized {
        /// Bytes of the reply's items.
        bytes: u64,
        /// The requested budget.
        budget: u64,
    },
    /// More items than requested (slot sets beyond the requested accounts, nodes beyond the
    /// requested paths, codes beyond the requested hashes).
    #[error("{kind}: {got} items returned for {requested} requested")]
    TooManyItems {
        /// Which list.
        kind: &'static str,
        /// Items returned.
        got: usize,
        /// Items requested.
        requested: usize,
    },
    /// A proof was attached to a slot set that is not the last one of the reply.
    #[error("storage reply carries a proof but {sets} sets, and only the last may be partial")]
    ProofNotLast {
        /// Sets in the reply.
        sets: usize,
    },
    /// A bytecode that hashes to no requested hash (at or after its position).
    #[error("bytecode {index} hashes to {hash}, which was not requested there")]
    UnrequestedCode {
        /// Position in the reply.
        index: usize,
        /// Its keccak256.
        hash: B256,
    },
    /// A trie node that does not hash to the hash expected at its path.
    #[error("trie node {index} hashes to {got}, expected {expected}")]
    WrongNode {
        /// Position in the reply.
        index: usize,
        /// Its keccak256.
        got: B256,
        /// The hash its parent references.
        expected: B256,
    },
    /// A proven storage value that is not the RLP of a non-zero integer.
    #[error("slot {slot} of account {account} holds an invalid value")]
    InvalidSlotValue {
        /// The account.
        account: B256,
        /// The slot.
        slot: B256,
    },
}

/// Why the [`Fetcher`](crate::Fetcher) gave a request up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Every connected peer is banned or has answered this root with nothing: the root is
    /// gone from the network (move the pivot) or no honest peer remains.
    #[error("no peer serves root {root} for {kind:?} requests")]
    NoPeerServes {
        /// What was asked.
        kind: RequestKind,
        /// The root no peer serves.
        root: B256,
    },
    /// Peers serve the root but none became free in time.
    #[error("no peer free for {kind:?} requests after {waited:?}")]
    NoPeerAvailable {
        /// What was asked.
        kind: RequestKind,
        /// How long the request waited.
        waited: Duration,
    },
    /// Every attempt failed.
    #[error("{kind:?} request failed {attempts} times; last: {last}")]
    AttemptsExhausted {
        /// What was asked.
        kind: RequestKind,
        /// Attempts made.
        attempts: u32,
        /// What went wrong last.
        last: String,
    },
    /// The request was given up unsent: its caller's stop signal came while it waited for its
    /// first peer (see [`Fetcher::account_range_until`](crate::Fetcher::account_range_until)).
    /// Nothing was asked of any peer and no peer is at fault; the work is still to do.
    #[error("{kind:?} request given up unsent after waiting {waited:?} for a peer")]
    NotStarted {
        /// What was asked.
        kind: RequestKind,
        /// How long the request waited for a peer.
        waited: Duration,
    },
    /// The request cannot be put on the wire.
    #[error("invalid trie node request: {0}")]
    InvalidRequest(PathSetError),
}
