//! Block bodies: `GetBlockBodies` by hash, each body checked against its header.
//!
//! A header commits to its body through three fields: `transactions_root` (the ordered trie of
//! the EIP-2718 encoded transactions), `ommers_hash` (keccak of the RLP ommer list) and, from
//! Shanghai, `withdrawals_root` (the ordered trie of the withdrawals). A body matching all three
//! is the block's body, whoever sent it; one that differs in any is wrong.

use crate::{Answer, BlockBodiesRequest};
use alloy_consensus::{Header, proofs::calculate_transaction_root};
use snapsync_net::{BodiesFault, BodyField, BodyMismatch, EthBlockBody};

/// The bodies of a prefix of the requested blocks (at least the first), each matching its
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBodies {
    bodies: Vec<EthBlockBody>,
}

impl VerifiedBodies {
    /// The bodies, in request order: the `i`th belongs to the `i`th requested header.
    pub fn bodies(&self) -> &[EthBlockBody] {
        &self.bodies
    }

    /// Takes the bodies, in request order.
    pub fn into_bodies(self) -> Vec<EthBlockBody> {
        self.bodies
    }

    /// Number of bodies (at least one).
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Always `false`: an empty reply is [`Answer::Unavailable`]. For symmetry with
    /// [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// Checks a reply to `request`: no more bodies than hashes asked, the `i`th matching the `i`th
/// header ([`verify_body`]). A shorter reply (the peer lacks the later blocks) verifies as the
/// prefix it is; an empty one is [`Answer::Unavailable`].
///
/// # Errors
/// [`BodiesFault::TooMany`], or [`BodiesFault::Mismatch`] for the first body that does not
/// match its header.
pub fn verify_block_bodies(
    request: &BlockBodiesRequest,
    bodies: Vec<EthBlockBody>,
) -> Result<Answer<VerifiedBodies>, BodiesFault> {
    let asked = request.headers.len();
    if bodies.len() > asked {
        return Err(BodiesFault::TooMany { asked, got: bodies.len() });
    }
    if bodies.is_empty() {
        return Ok(Answer::Unavailable);
    }
    for (header, body) in request.headers.iter().zip(&bodies) {
        verify_body(header, body).map_err(|mismatch| BodiesFault::Mismatch {
            number: header.number,
            hash: header.hash(),
            mismatch,
        })?;
    }
    Ok(Answer::Verified(VerifiedBodies { bodies }))
}

/// Checks `body` against `header`'s transactions root, ommers hash and withdrawals root.
///
/// # Errors
/// The first commitment that differs, with both values.
pub fn verify_body(header: &Header, body: &EthBlockBody) -> Result<(), BodyMismatch> {
    let transactions_root = calculate_transaction_root(&body.transactions);
    if transactions_root != header.transactions_root {
        return Err(BodyMismatch {
            field: BodyField::TransactionsRoot,
            expected: Some(header.transactions_root),
            got: Some(transactions_root),
        });
    }
    let ommers_hash = body.calculate_ommers_root();
    if ommers_hash != header.ommers_hash {
        return Err(BodyMismatch {
            field: BodyField::OmmersHash,
            expected: Some(header.ommers_hash),
            got: Some(ommers_hash),
        });
    }
    let withdrawals_root = body.calculate_withdrawals_root();
    if withdrawals_root != header.withdrawals_root {
        return Err(BodyMismatch {
            field: BodyField::WithdrawalsRoot,
            expected: header.withdrawals_root,
            got: withdrawals_root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH;
    use alloy_primitives::Sealable;
    use alloy_primitives::Sealed;

    /// A header committing to an empty body (no withdrawals).
    fn empty_block(number: u64) -> Sealed<Header> {
        let header = Header {
            number,
            transactions_root: calculate_transaction_root::<alloy_consensus::TxEnvelope>(&[]),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            ..Header::default()
        };
        header.seal_slow()
    }

    #[test]
    fn matching_bodies_verify_a_prefix_and_none_is_unavailable() {
        let request = BlockBodiesRequest::new(vec![empty_block(1), empty_block(2)]);
        assert_eq!(request.hashes().len(), 2);
        let all = verify_block_bodies(&request, vec![EthBlockBody::default(); 2]).unwrap();
        assert_eq!(all.verified().map(|bodies| bodies.len()), Some(2));
        let prefix = verify_block_bodies(&request, vec![EthBlockBody::default()]).unwrap();
        assert_eq!(prefix.verified().map(|bodies| bodies.len()), Some(1));
        assert!(verify_block_bodies(&request, Vec::new()).unwrap().is_unavailable());
        let too_many = verify_block_bodies(&request, vec![EthBlockBody::default(); 3]);
        assert_eq!(too_many, Err(BodiesFault::TooMany { asked: 2, got: 3 }));
    }

    #[test]
    fn a_body_that_differs_from_its_header_names_the_field() {
        let request = BlockBodiesRequest::new(vec![empty_block(1), empty_block(2)]);
        let with_withdrawals =
            EthBlockBody { withdrawals: Some(Vec::new().into()), ..Default::default() };
        let error = verify_block_bodies(&request, vec![EthBlockBody::default(), with_withdrawals])
            .unwrap_err();
        let BodiesFault::Mismatch { number, mismatch, .. } = error else { panic!("{error}") };
        assert_eq!((number, mismatch.field), (2, BodyField::WithdrawalsRoot));
        assert_eq!(mismatch.expected, None);
    }
}
