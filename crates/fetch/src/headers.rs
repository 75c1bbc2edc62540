//! Block headers: `GetBlockHeaders` falling from a hash, the reply checked by hash links.
//!
//! A header that hashes to the requested hash is that block's header whoever sent it, and so is
//! each next one (walking down) that hashes to the parent hash of the one before it. So a reply
//! that links all the way from a trusted hash is trusted; one that breaks a link is proof of a
//! bad peer.

use crate::Answer;
use alloy_consensus::Header;
use alloy_primitives::{B256, Sealable, Sealed};
use snapsync_net::{Availability, HeadersFault, HeadersRequest};

/// What was asked: up to `limit` consecutive headers falling from the block with hash `from`
/// (block `number`, when known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeadersRequest {
    /// The hash of the highest header asked: a trusted hash (the tip, or the parent hash of a
    /// verified header).
    pub from: B256,
    /// Its block number, when known: the first header must then carry it.
    pub number: Option<u64>,
    /// Most headers to return (at least one is asked).
    pub limit: u64,
}

impl BlockHeadersRequest {
    /// Up to `limit` headers falling from `from`, whose number is `number` if known.
    pub const fn falling(from: B256, number: Option<u64>, limit: u64) -> Self {
        Self { from, number, limit }
    }

    /// The eth request for this.
    pub fn to_message(&self) -> HeadersRequest {
        HeadersRequest::falling(self.from, self.limit.max(1))
    }

    /// What a peer answering with no header lacks.
    pub const fn availability(&self) -> Availability {
        Availability::Headers { from: self.from, count: self.limit }
    }
}

/// Headers falling from the requested hash, each linked by hash to the one above it (the first
/// to the requested hash) and numbered one below it; at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeaders {
    headers: Vec<Sealed<Header>>,
}

impl VerifiedHeaders {
    /// The headers, highest first.
    pub fn headers(&self) -> &[Sealed<Header>] {
        &self.headers
    }

    /// Takes the headers, highest first.
    pub fn into_headers(self) -> Vec<Sealed<Header>> {
        self.headers
    }

    /// The lowest header.
    pub fn lowest(&self) -> Option<&Sealed<Header>> {
        self.headers.last()
    }

    /// Number of headers (at least one).
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Always `false`: an empty reply is [`Answer::Unavailable`]. For symmetry with
    /// [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

/// Checks a reply to `request`: at most `limit` headers, the first hashing to `from` (with
/// `number`, when known), each next one hashing to the parent hash of the one before it and
/// numbered one below it. An empty reply is [`Answer::Unavailable`] (the peer lacks the block).
///
/// # Errors
/// The first [`HeadersFault`] found.
pub fn verify_block_headers(
    request: &BlockHeadersRequest,
    headers: Vec<Header>,
) -> Result<Answer<VerifiedHeaders>, HeadersFault> {
    if headers.is_empty() {
        return Ok(Answer::Unavailable);
    }
    if u64::try_from(headers.len()).map_or(true, |len| len > request.limit.max(1)) {
        return Err(HeadersFault::TooMany { limit: request.limit, got: headers.len() });
    }
    let mut sealed: Vec<Sealed<Header>> = Vec::with_capacity(headers.len());
    for header in headers {
        let header = header.seal_slow();
        match sealed.last() {
            None => {
                if header.hash() != request.from {
                    return Err(HeadersFault::WrongStart {
                        expected: request.from,
                        got: header.hash(),
                    });
                }
                if let Some(expected) = request.number.filter(|&expected| expected != header.number)
                {
                    return Err(HeadersFault::NotConsecutive { expected, got: header.number });
                }
            }
            Some(child) => {
                if header.hash() != child.parent_hash {
                    return Err(HeadersFault::BrokenLink {
                        number: header.number,
                        expected: child.parent_hash,
                        got: header.hash(),
                    });
                }
                if child.number.checked_sub(1) != Some(header.number) {
                    return Err(HeadersFault::NotConsecutive {
                        expected: child.number.saturating_sub(1),
                        got: header.number,
                    });
                }
            }
        }
        sealed.push(header);
    }
    Ok(Answer::Verified(VerifiedHeaders { headers: sealed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers `0..count`, each the parent of the next.
    fn chain(count: u64) -> Vec<Header> {
        let mut headers: Vec<Header> = Vec::new();
        for number in 0..count {
            let parent_hash = headers.last().map_or(B256::ZERO, Header::hash_slow);
            headers.push(Header { number, parent_hash, ..Header::default() });
        }
        headers
    }

    fn falling(chain: &[Header], from: u64, count: usize) -> Vec<Header> {
        let top = usize::try_from(from).unwrap();
        chain[..=top].iter().rev().take(count).cloned().collect()
    }

    #[test]
    fn a_linked_reply_verifies_and_an_empty_one_is_unavailable() {
        let chain = chain(10);
        let request = BlockHeadersRequest::falling(chain[9].hash_slow(), Some(9), 4);
        let verified = verify_block_headers(&request, falling(&chain, 9, 4)).unwrap();
        let verified = verified.verified().unwrap();
        let numbers: Vec<u64> = verified.headers().iter().map(|header| header.number).collect();
        assert_eq!(numbers, [9, 8, 7, 6]);
        assert_eq!(verified.lowest().map(|header| header.hash()), Some(chain[6].hash_slow()));
        let short = verify_block_headers(&request, falling(&chain, 9, 2)).unwrap();
        assert_eq!(short.verified().map(|headers| headers.len()), Some(2));
        assert!(verify_block_headers(&request, Vec::new()).unwrap().is_unavailable());
    }

    #[test]
    fn each_fault_is_named() {
        let chain = chain(10);
        let from = chain[9].hash_slow();
        let request = BlockHeadersRequest::falling(from, Some(9), 3);
        let too_many = verify_block_headers(&request, falling(&chain, 9, 4)).unwrap_err();
        assert_eq!(too_many, HeadersFault::TooMany { limit: 3, got: 4 });
        let wrong_start = verify_block_headers(&request, falling(&chain, 8, 3)).unwrap_err();
        assert!(
            matches!(wrong_start, HeadersFault::WrongStart { expected, .. } if expected == from)
        );
        let mut broken = falling(&chain, 9, 3);
        broken[2].gas_used = 1;
        let error = verify_block_headers(&request, broken).unwrap_err();
        assert!(matches!(error, HeadersFault::BrokenLink { number: 7, .. }), "{error}");
        let unnumbered = BlockHeadersRequest::falling(from, Some(5), 3);
        let error = verify_block_headers(&unnumbered, falling(&chain, 9, 3)).unwrap_err();
        assert_eq!(error, HeadersFault::NotConsecutive { expected: 5, got: 9 });
    }
}
