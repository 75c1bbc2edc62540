//! The bytecode exchange: [`GetByteCodes`] (0x04) and [`ByteCodes`] (0x05).

use alloy_primitives::{B256, Bytes};
use alloy_rlp::RlpEncodable;

use crate::{
    DecodeError, FromRlp,
    decoder::{self, ListReader},
    from_rlp::decodable_via_from_rlp,
};

/// Request for contract codes by code hash, up to about `response_bytes` of data.
///
/// `[reqID: P, hashes: [hash: B_32, ...], bytes: P]`
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct GetByteCodes {
    /// Request ID, echoed by the response.
    pub request_id: u64,
    /// Keccak-256 hashes of the codes wanted.
    pub hashes: Vec<B256>,
    /// Soft limit of the response size in bytes.
    pub response_bytes: u64,
}

impl GetByteCodes {
    /// The snap/1 message code.
    pub const ID: u8 = 0x04;
}

impl FromRlp for GetByteCodes {
    const NAME: &'static str = "GetByteCodes";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 3)?;
        let message = Self {
            request_id: list.u64("GetByteCodes.request_id")?,
            hashes: list
                .list("GetByteCodes.hashes", |buf| decoder::decode_b256(buf, "code hash"))?,
            response_bytes: list.u64("GetByteCodes.response_bytes")?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// Contract codes, in request order, with unavailable ones skipped.
///
/// `[reqID: P, codes: [code: B, ...]]`
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct ByteCodes {
    /// ID of the request this answers.
    pub request_id: u64,
    /// The codes.
    pub codes: Vec<Bytes>,
}

impl ByteCodes {
    /// The snap/1 message code.
    pub const ID: u8 = 0x05;
}

impl FromRlp for ByteCodes {
    const NAME: &'static str = "ByteCodes";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 2)?;
        let message = Self {
            request_id: list.u64("ByteCodes.request_id")?,
            codes: list.list("ByteCodes.codes", |buf| decoder::decode_bytes(buf, "code"))?,
        };
        list.finish()?;
        Ok(message)
    }
}

decodable_via_from_rlp!(GetByteCodes, ByteCodes);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn get_byte_codes_is_byte_exact() {
        let message = GetByteCodes {
            request_id: 0,
            hashes: vec![B256::repeat_byte(0xc5), B256::repeat_byte(0x01)],
            response_bytes: 1,
        };
        let expected =
            [&hex!("f846 80 f842 a0")[..], &[0xc5; 32], &hex!("a0"), &[0x01; 32], &hex!("01")]
                .concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(GetByteCodes::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn byte_codes_is_byte_exact() {
        let message = ByteCodes {
            request_id: 9,
            codes: vec![
                Bytes::new(),
                Bytes::from_static(&hex!("6000")),
                Bytes::from_static(&hex!("00")),
            ],
        };
        let expected = hex!("c7 09 c5 80 826000 00");
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(ByteCodes::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn rejects_a_list_as_code_and_a_fourth_field() {
        let error = ByteCodes::from_rlp(&hex!("c4 09 c2 80 c0")).unwrap_err();
        assert!(matches!(error, DecodeError::InList { list: "ByteCodes.codes", index: 1, .. }));
        assert_eq!(
            GetByteCodes::from_rlp(&hex!("c4 01 c0 01 01")),
            Err(DecodeError::ListLength { list: "GetByteCodes", expected: 3, got: 4 })
        );
    }
}
