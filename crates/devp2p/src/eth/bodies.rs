//! `GetBlockBodies` (0x05) and `BlockBodies` (0x06).

use super::{
    limits::{MAX_BODIES, MAX_HASHES},
    rlp::{bounded_list, field, finish, list_payload, with_request_id},
};
use crate::EthWireError;
use alloy_primitives::B256;
use snapsync_net::EthBlockBody;

/// `GetBlockBodies`: `[request_id, [hash...]]`, at most [`MAX_HASHES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlockBodies {
    /// The request id the answer echoes.
    pub request_id: u64,
    /// The blocks' hashes.
    pub hashes: Vec<B256>,
}

impl GetBlockBodies {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        with_request_id(self.request_id, &self.hashes)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP or more than [`MAX_HASHES`] hashes.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        let (request_id, hashes) = decode_hashes("GetBlockBodies", payload)?;
        Ok(Self { request_id, hashes })
    }
}

/// `[request_id, [hash...]]` of `GetBlockBodies` and `GetReceipts`.
pub(super) fn decode_hashes(
    name: &'static str,
    payload: &[u8],
) -> Result<(u64, Vec<B256>), EthWireError> {
    let mut input = payload;
    let mut fields = list_payload(&mut input, name)?;
    finish(input, name)?;
    let request_id = field(&mut fields, name)?;
    let hashes = bounded_list(&mut fields, name, MAX_HASHES, |item| field(item, name))?;
    finish(fields, name)?;
    Ok((request_id, hashes))
}

/// `BlockBodies`: `[request_id, [[transactions, ommers, withdrawals?]...]]`, at most
/// [`MAX_BODIES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBodies {
    /// The request id of the request answered.
    pub request_id: u64,
    /// The bodies, in the order asked (the peer may stop early).
    pub bodies: Vec<EthBlockBody>,
}

impl BlockBodies {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        with_request_id(self.request_id, &self.bodies)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP or more than [`MAX_BODIES`] bodies.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "BlockBodies";
        let mut input = payload;
        let mut fields = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let request_id = field(&mut fields, NAME)?;
        let bodies = bounded_list(&mut fields, NAME, MAX_BODIES, |item| field(item, NAME))?;
        finish(fields, NAME)?;
        Ok(Self { request_id, bodies })
    }
}
