//! `GetBlockHeaders` (0x03) and `BlockHeaders` (0x04).

use super::{
    limits::MAX_HEADERS,
    rlp::{bounded_list, field, finish, list_payload, with_request_id, wrap_list},
};
use crate::EthWireError;
use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use snapsync_net::{BlockHashOrNumber, HeadersDirection, HeadersRequest};

/// `GetBlockHeaders`: `[request_id, [start, limit, skip, reverse]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetBlockHeaders {
    /// The request id the answer echoes.
    pub request_id: u64,
    /// Which headers.
    pub request: HeadersRequest,
}

impl GetBlockHeaders {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut query = Vec::new();
        match self.request.start {
            BlockHashOrNumber::Hash(hash) => hash.encode(&mut query),
            BlockHashOrNumber::Number(number) => number.encode(&mut query),
        }
        self.request.limit.encode(&mut query);
        self.request.skip.encode(&mut query);
        (self.request.direction == HeadersDirection::Falling).encode(&mut query);
        let mut fields = Vec::new();
        self.request_id.encode(&mut fields);
        fields.extend_from_slice(&wrap_list(&query));
        wrap_list(&fields)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP or a start that is neither a number nor a hash.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "GetBlockHeaders";
        let mut input = payload;
        let mut fields = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let request_id = field(&mut fields, NAME)?;
        let mut query = list_payload(&mut fields, NAME)?;
        finish(fields, NAME)?;
        // A 32-byte string is a hash; anything else must be a canonical 64-bit number.
        let mut peek = query;
        let start = alloy_rlp::Header::decode_bytes(&mut peek, false)
            .map_err(|source| EthWireError::Rlp { message: NAME, source })?;
        let start = if start.len() == 32 {
            query = peek;
            BlockHashOrNumber::Hash(B256::from_slice(start))
        } else {
            BlockHashOrNumber::Number(field(&mut query, NAME)?)
        };
        let limit = field(&mut query, NAME)?;
        let skip = field(&mut query, NAME)?;
        let reverse: bool = field(&mut query, NAME)?;
        finish(query, NAME)?;
        let direction = if reverse { HeadersDirection::Falling } else { HeadersDirection::Rising };
        Ok(Self { request_id, request: HeadersRequest { start, limit, skip, direction } })
    }
}

/// `BlockHeaders`: `[request_id, [header...]]`, at most [`MAX_HEADERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeaders {
    /// The request id of the request answered.
    pub request_id: u64,
    /// The headers, in the order asked.
    pub headers: Vec<Header>,
}

impl BlockHeaders {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        with_request_id(self.request_id, &self.headers)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP or more than [`MAX_HEADERS`] headers.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "BlockHeaders";
        let mut input = payload;
        let mut fields = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let request_id = field(&mut fields, NAME)?;
        let headers = bounded_list(&mut fields, NAME, MAX_HEADERS, |item| field(item, NAME))?;
        finish(fields, NAME)?;
        Ok(Self { request_id, headers })
    }
}
