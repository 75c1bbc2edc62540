//! What was wrong with a peer's reply: the typed fault carried by
//! [`Penalty::InvalidData`](crate::Penalty::InvalidData) to the embedding network and kept with
//! a ban in the `snapsync_fetch::PeerSet`.
//!
//! Every variant is proof of a bad peer, found by checking the reply against what was asked:
//! snap replies against the trusted state root and hashes ([`InvalidResponse`]), header replies
//! by hash links from the requested hash ([`HeadersFault`]), bodies against their headers'
//! roots ([`BodiesFault`]), receipts against their headers' receipts roots ([`ReceiptsFault`]).
//! The checks themselves are in `snapsync-fetch`.

use alloy_primitives::B256;
use snapsync_trie::RangeProofError;

/// Why a peer's reply was refused, per kind of request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The network could not turn the answer into a reply of the kind asked (undecodable RLP,
    /// the wrong message, over the protocol's size limit:
    /// [`RequestError::InvalidResponse`](crate::RequestError::InvalidResponse)).
    #[error("the answer is not a decodable reply")]
    Malformed,
    /// A snap/1 reply failed verification.
    #[error(transparent)]
    Snap(#[from] InvalidResponse),
    /// A `BlockHeaders` reply failed verification.
    #[error(transparent)]
    Headers(#[from] HeadersFault),
    /// A `BlockBodies` reply failed verification.
    #[error(transparent)]
    Bodies(#[from] BodiesFault),
    /// A `Receipts` reply failed verification.
    #[error(transparent)]
    Receipts(#[from] ReceiptsFault),
}

/// Why a snap/1 reply was refused: proof that a peer sent bad data, any of which justifies
/// penalising (banning) it.
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

/// Why a `BlockHeaders` reply to a request for headers falling from a hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadersFault {
    /// More headers than asked for.
    #[error("{got} headers for a request of {limit}")]
    TooMany {
        /// The request's limit.
        limit: u64,
        /// Headers received.
        got: usize,
    },
    /// The first header is not the one requested.
    #[error("asked for header {expected}, the first sent hashes to {got}")]
    WrongStart {
        /// The requested hash.
        expected: B256,
        /// The hash of the first header sent.
        got: B256,
    },
    /// A header's hash is not its child's parent hash.
    #[error("header {number} hashes to {got}, but its child's parent hash is {expected}")]
    BrokenLink {
        /// The number the header claims.
        number: u64,
        /// The child's parent hash.
        expected: B256,
        /// The header's hash.
        got: B256,
    },
    /// A header's number is not the one it must have: the requested number for the first, one
    /// below its child's for the others.
    #[error("header {got} is where header {expected} belongs")]
    NotConsecutive {
        /// The number the header must have.
        expected: u64,
        /// The number it has.
        got: u64,
    },
}

/// Which commitment of a header a body fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyField {
    /// The transactions root.
    TransactionsRoot,
    /// The ommers hash.
    OmmersHash,
    /// The withdrawals root (present in one of header and body only, or different).
    WithdrawalsRoot,
}

impl std::fmt::Display for BodyField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TransactionsRoot => "transactions root",
            Self::OmmersHash => "ommers hash",
            Self::WithdrawalsRoot => "withdrawals root",
        })
    }
}

/// A body that does not match its header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: header has {expected:?}, body gives {got:?}")]
pub struct BodyMismatch {
    /// The commitment that differs.
    pub field: BodyField,
    /// The header's value (`None`: the header has no withdrawals root).
    pub expected: Option<B256>,
    /// The body's value (`None`: the body has no withdrawals list).
    pub got: Option<B256>,
}

/// Why a `BlockBodies` reply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodiesFault {
    /// More bodies than hashes asked.
    #[error("{got} bodies for {asked} hashes")]
    TooMany {
        /// Hashes asked.
        asked: usize,
        /// Bodies received.
        got: usize,
    },
    /// A body does not match its header.
    #[error("body of block {number} ({hash}) does not match: {mismatch}")]
    Mismatch {
        /// The block.
        number: u64,
        /// The block's hash.
        hash: B256,
        /// What differs.
        mismatch: BodyMismatch,
    },
}

/// Why a `Receipts` reply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptsFault {
    /// More receipt lists than hashes asked.
    #[error("{got} receipt lists for {asked} hashes")]
    TooMany {
        /// Hashes asked.
        asked: usize,
        /// Lists received.
        got: usize,
    },
    /// A block's receipts do not make its header's receipts root.
    #[error("receipts of block {number} ({hash}) make root {got}, the header has {expected}")]
    Mismatch {
        /// The block.
        number: u64,
        /// The block's hash.
        hash: B256,
        /// The header's receipts root.
        expected: B256,
        /// The root the receipts make.
        got: B256,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_name_the_facts() {
        let link = Fault::from(HeadersFault::BrokenLink {
            number: 7,
            expected: B256::repeat_byte(1),
            got: B256::repeat_byte(2),
        });
        assert!(link.to_string().starts_with("header 7 hashes to 0x0202"), "{link}");
        let body = Fault::from(BodiesFault::Mismatch {
            number: 9,
            hash: B256::ZERO,
            mismatch: BodyMismatch { field: BodyField::OmmersHash, expected: None, got: None },
        });
        assert!(body.to_string().contains("does not match: ommers hash"), "{body}");
        let codes = Fault::from(InvalidResponse::Oversized { bytes: 10, budget: 4 });
        assert_eq!(codes.to_string(), "reply of 10 bytes exceeds the budget of 4 bytes");
    }
}
