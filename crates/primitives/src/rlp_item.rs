//! [`RlpItem`]: any RLP value, decoded strictly and with bounded nesting.

use alloy_primitives::Bytes;
use alloy_rlp::{BufMut, Encodable, Header};

use crate::{DecodeError, FromRlp, from_rlp::decodable_via_from_rlp};

/// An RLP value of unknown shape: a byte string or a list of values.
///
/// Decoding accepts exactly the canonical encodings (every value has one), so for any input
/// that decodes, encoding the result gives the input back. Lists may nest at most
/// [`RlpItem::MAX_DEPTH`] deep, so hostile input cannot exhaust the stack; memory stays
/// proportional to the input, since every item consumes at least one input byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RlpItem {
    /// A byte string.
    Bytes(Bytes),
    /// A list of items.
    List(Vec<RlpItem>),
}

impl RlpItem {
    /// The deepest list nesting [`FromRlp`] and [`alloy_rlp::Decodable`] accept: a list
    /// counts one level, a byte string none.
    pub const MAX_DEPTH: usize = 64;

    /// Decodes one item from the front of `buf`, allowing lists nested up to `max_depth`
    /// deep, and advances `buf` past it.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Rlp`] for malformed or non-canonical RLP (including a length that runs
    /// past the end of the input or of the enclosing list), [`DecodeError::TooDeep`] for
    /// lists nested deeper than `max_depth`.
    pub fn decode_with_max_depth(buf: &mut &[u8], max_depth: usize) -> Result<Self, DecodeError> {
        decode_item(buf, max_depth, max_depth)
    }

    /// The payload length of the item's encoding (without its header).
    fn payload_length(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::List(items) => items.iter().map(Encodable::length).sum(),
        }
    }
}

fn decode_item(
    buf: &mut &[u8],
    depth_left: usize,
    max_depth: usize,
) -> Result<RlpItem, DecodeError> {
    let rlp_error = |source| DecodeError::Rlp { field: RlpItem::NAME, source };
    let header = Header::decode(buf).map_err(rlp_error)?;
    // `Header::decode` checked the payload is present; a single byte below 0x80 is its own
    // payload and was not consumed.
    let (mut payload, rest) = buf
        .split_at_checked(header.payload_length)
        .ok_or(rlp_error(alloy_rlp::Error::InputTooShort))?;
    *buf = rest;
    if !header.list {
        return Ok(RlpItem::Bytes(Bytes::copy_from_slice(payload)));
    }
    let depth_left = depth_left.checked_sub(1).ok_or(DecodeError::TooDeep { max_depth })?;
    let mut items = Vec::new();
    while !payload.is_empty() {
        items.push(decode_item(&mut payload, depth_left, max_depth)?);
    }
    Ok(RlpItem::List(items))
}

impl Encodable for RlpItem {
    fn encode(&self, out: &mut dyn BufMut) {
        match self {
            Self::Bytes(bytes) => bytes.encode(out),
            Self::List(items) => {
                Header { list: true, payload_length: self.payload_length() }.encode(out);
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    fn length(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.length(),
            Self::List(_) => {
                let payload_length = self.payload_length();
                payload_length + alloy_rlp::length_of_length(payload_length)
            }
        }
    }
}

impl FromRlp for RlpItem {
    const NAME: &'static str = "RLP item";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        Self::decode_with_max_depth(buf, Self::MAX_DEPTH)
    }
}

decodable_via_from_rlp!(RlpItem);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::hex;

    fn bytes(data: &[u8]) -> RlpItem {
        RlpItem::Bytes(Bytes::copy_from_slice(data))
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut encoded = vec![0xc0];
        for _ in 1..depth {
            let mut outer = Vec::new();
            Header { list: true, payload_length: encoded.len() }.encode(&mut outer);
            outer.extend_from_slice(&encoded);
            encoded = outer;
        }
        encoded
    }

    #[test]
    fn decodes_strings_and_lists() {
        assert_eq!(RlpItem::from_rlp(&hex!("80")), Ok(bytes(&[])));
        assert_eq!(RlpItem::from_rlp(&hex!("00")), Ok(bytes(&[0])));
        assert_eq!(RlpItem::from_rlp(&hex!("83646f67")), Ok(bytes(b"dog")));
        assert_eq!(
            RlpItem::from_rlp(&hex!("c6827a77c10401")),
            Ok(RlpItem::List(vec![bytes(b"zw"), RlpItem::List(vec![bytes(&[4])]), bytes(&[1])]))
        );
    }

    #[test]
    fn encoding_round_trips() {
        for encoded in [&hex!("c7c0c1c0c3c0c1c0")[..], &hex!("c0"), &hex!("7f")] {
            let item = RlpItem::from_rlp(encoded).unwrap();
            assert_eq!(alloy_rlp::encode(&item), encoded);
            assert_eq!(item.length(), encoded.len());
        }
        let long = bytes(&[7; 100]);
        let list = RlpItem::List(vec![long.clone(), long]);
        let encoded = alloy_rlp::encode(&list);
        assert_eq!(encoded[..3], hex!("f8ccb8"));
        assert_eq!(RlpItem::from_rlp(&encoded), Ok(list));
    }

    #[test]
    fn nesting_is_bounded() {
        assert!(RlpItem::from_rlp(&nested(RlpItem::MAX_DEPTH)).is_ok());
        assert_eq!(
            RlpItem::from_rlp(&nested(RlpItem::MAX_DEPTH + 1)),
            Err(DecodeError::TooDeep { max_depth: RlpItem::MAX_DEPTH })
        );
        assert_eq!(
            RlpItem::decode_with_max_depth(&mut &hex!("c1c0")[..], 1),
            Err(DecodeError::TooDeep { max_depth: 1 })
        );
        assert_eq!(RlpItem::decode_with_max_depth(&mut &hex!("80")[..], 0), Ok(bytes(&[])));
        // Far deeper nesting fails at the limit, without recursing further.
        assert_eq!(
            RlpItem::from_rlp(&nested(2_000)),
            Err(DecodeError::TooDeep { max_depth: RlpItem::MAX_DEPTH })
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            RlpItem::from_rlp(&hex!("c0 80")),
            Err(DecodeError::TrailingBytes { item: "RLP item", count: 1 })
        );
        assert!(alloy_rlp::decode_exact::<RlpItem>(hex!("8180 00")).is_err());
        // Decoding a prefix leaves the rest for the caller.
        let mut buf = &hex!("01 02")[..];
        assert_eq!(RlpItem::decode_prefix(&mut buf), Ok(bytes(&[1])));
        assert_eq!(buf, [2]);
    }

    #[test]
    fn item_running_past_its_list_is_rejected() {
        // The list claims 2 payload bytes, its string item claims 3.
        assert!(matches!(
            RlpItem::from_rlp(&hex!("c2 83 0102 03")),
            Err(DecodeError::Rlp { source: alloy_rlp::Error::InputTooShort, .. })
        ));
    }
}
