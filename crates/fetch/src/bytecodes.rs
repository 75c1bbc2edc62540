//! Bytecodes: `GetByteCodes` asked by hash, every returned code checked by hash.

use crate::{Answer, InvalidResponse, budget::check_budget};
use alloy_primitives::{B256, Bytes, keccak256};
use snapsync_primitives::{ByteCodes, GetByteCodes};

/// What was asked: the codes with these hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteCodesRequest {
    /// Code hashes, in the order asked.
    pub hashes: Vec<B256>,
    /// Byte budget of the reply.
    pub response_bytes: u64,
}

impl ByteCodesRequest {
    /// The wire message for this request.
    pub fn to_message(&self, request_id: u64) -> GetByteCodes {
        GetByteCodes {
            request_id,
            hashes: self.hashes.clone(),
            response_bytes: self.response_bytes,
        }
    }
}

/// Codes proven by hash; the requested hashes not among them were not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedByteCodes {
    codes: Vec<(B256, Bytes)>,
}

impl VerifiedByteCodes {
    /// `(hash, code)` pairs, in request order.
    pub fn codes(&self) -> &[(B256, Bytes)] {
        &self.codes
    }

    /// Takes the codes.
    pub fn into_codes(self) -> Vec<(B256, Bytes)> {
        self.codes
    }
}

/// Checks a `ByteCodes` reply: servers return the codes they have in request order, skipping
/// the ones they lack, so each code must hash to a requested hash after the previous one's.
///
/// # Errors
/// [`InvalidResponse`] for a code matching no requested hash at or after its position, more codes
/// than hashes, or a reply that ignores the byte budget.
pub fn verify_byte_codes(
    request: &ByteCodesRequest,
    reply: ByteCodes,
) -> Result<Answer<VerifiedByteCodes>, InvalidResponse> {
    if reply.codes.is_empty() {
        return Ok(Answer::Unavailable);
    }
    if reply.codes.len() > request.hashes.len() {
        return Err(InvalidResponse::TooManyItems {
            kind: "bytecodes",
            got: reply.codes.len(),
            requested: request.hashes.len(),
        });
    }
    check_budget(reply.codes.iter().map(|code| code.len()), request.response_bytes)?;
    let mut wanted = request.hashes.iter();
    let mut codes = Vec::with_capacity(reply.codes.len());
    for (index, code) in reply.codes.into_iter().enumerate() {
        let hash = keccak256(&code);
        if !wanted.any(|requested| *requested == hash) {
            return Err(InvalidResponse::UnrequestedCode { index, hash });
        }
        codes.push((hash, code));
    }
    Ok(Answer::Verified(VerifiedByteCodes { codes }))
}
