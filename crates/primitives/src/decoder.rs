//! Field-level RLP decoding helpers shared by every type of the crate.
//!
//! They sit on top of [`alloy_rlp::Header`], which already enforces canonical RLP (no leading
//! zeros in lengths, no long form for short payloads, no single byte below `0x80` wrapped as a
//! string) and checks every payload length against the bytes actually present. Nothing here
//! allocates from a length field: lists grow one decoded item at a time, and every item
//! consumes at least one input byte.

use alloy_primitives::{B256, Bytes, U256};
use alloy_rlp::{Decodable, Header};

use crate::DecodeError;

/// Decodes the header of a byte string and returns its payload, advancing `buf` past it.
pub(crate) fn decode_string<'a>(
    buf: &mut &'a [u8],
    field: &'static str,
) -> Result<&'a [u8], DecodeError> {
    Header::decode_bytes(buf, false).map_err(|source| DecodeError::Rlp { field, source })
}

/// Decodes a canonical RLP integer that fits in 64 bits.
pub(crate) fn decode_u64(buf: &mut &[u8], field: &'static str) -> Result<u64, DecodeError> {
    u64::decode(buf).map_err(|source| DecodeError::Rlp { field, source })
}

/// Decodes a canonical RLP integer that fits in 256 bits.
pub(crate) fn decode_u256(buf: &mut &[u8], field: &'static str) -> Result<U256, DecodeError> {
    U256::decode(buf).map_err(|source| DecodeError::Rlp { field, source })
}

/// Decodes a byte string of exactly 32 bytes.
pub(crate) fn decode_b256(buf: &mut &[u8], field: &'static str) -> Result<B256, DecodeError> {
    let bytes = decode_string(buf, field)?;
    B256::try_from(bytes).map_err(|_| DecodeError::WrongLength {
        field,
        expected: 32,
        got: bytes.len(),
    })
}

/// Decodes a byte string that is either empty or exactly 32 bytes.
pub(crate) fn decode_optional_b256(
    buf: &mut &[u8],
    field: &'static str,
) -> Result<Option<B256>, DecodeError> {
    let bytes = decode_string(buf, field)?;
    match bytes.len() {
        0 => Ok(None),
        32 => Ok(Some(B256::from_slice(bytes))),
        got => Err(DecodeError::NotEmptyOrHash { field, got }),
    }
}

/// Decodes a byte string of any length.
pub(crate) fn decode_bytes(buf: &mut &[u8], field: &'static str) -> Result<Bytes, DecodeError> {
    decode_string(buf, field).map(Bytes::copy_from_slice)
}

/// Decodes a list whose items all have the same type, wrapping an item's error with its index.
pub(crate) fn decode_list<'a, T>(
    buf: &mut &'a [u8],
    list: &'static str,
    mut decode_item: impl FnMut(&mut &'a [u8]) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut payload = Header::decode_bytes(buf, true)
        .map_err(|source| DecodeError::Rlp { field: list, source })?;
    let mut items = Vec::new();
    while !payload.is_empty() {
        let index = items.len();
        items.push(decode_item(&mut payload).map_err(|error| error.in_list(list, index))?);
    }
    Ok(items)
}

/// Reads the fields of a list that has a fixed number of items, in order.
pub(crate) struct ListReader<'a> {
    payload: &'a [u8],
    list: &'static str,
    expected: usize,
    read: usize,
}

impl<'a> ListReader<'a> {
    /// Decodes the list header from `buf`, advancing `buf` past the whole list.
    pub(crate) fn open(
        buf: &mut &'a [u8],
        list: &'static str,
        expected: usize,
    ) -> Result<Self, DecodeError> {
        let payload = Header::decode_bytes(buf, true)
            .map_err(|source| DecodeError::Rlp { field: list, source })?;
        Ok(Self { payload, list, expected, read: 0 })
    }

    /// Decodes the next field with `decode`.
    pub(crate) fn next<T>(
        &mut self,
        decode: impl FnOnce(&mut &'a [u8]) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        if self.payload.is_empty() {
            return Err(self.length_error(self.read));
        }
        let value = decode(&mut self.payload)?;
        self.read += 1;
        Ok(value)
    }

    /// Decodes the next field as a 64-bit integer.
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.next(|buf| decode_u64(buf, field))
    }

    /// Decodes the next field as a 256-bit integer.
    pub(crate) fn u256(&mut self, field: &'static str) -> Result<U256, DecodeError> {
        self.next(|buf| decode_u256(buf, field))
    }

    /// Decodes the next field as a 32-byte string.
    pub(crate) fn b256(&mut self, field: &'static str) -> Result<B256, DecodeError> {
        self.next(|buf| decode_b256(buf, field))
    }

    /// Decodes the next field as a byte string that is empty or 32 bytes long.
    pub(crate) fn optional_b256(
        &mut self,
        field: &'static str,
    ) -> Result<Option<B256>, DecodeError> {
        self.next(|buf| decode_optional_b256(buf, field))
    }

    /// Decodes the next field as a homogeneous list.
    pub(crate) fn list<T>(
        &mut self,
        list: &'static str,
        decode_item: impl FnMut(&mut &'a [u8]) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        self.next(|buf| decode_list(buf, list, decode_item))
    }

    /// Checks that every item of the list was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.payload.is_empty() {
            return Ok(());
        }
        Err(self.length_error(self.read + count_items(self.payload)))
    }

    fn length_error(&self, got: usize) -> DecodeError {
        DecodeError::ListLength { list: self.list, expected: self.expected, got }
    }
}

/// Counts the RLP items in a list payload, stopping at the first malformed one (which counts).
fn count_items(mut payload: &[u8]) -> usize {
    let mut count = 0;
    while !payload.is_empty() {
        count += 1;
        let skipped = Header::decode(&mut payload)
            .ok()
            .and_then(|header| payload.get(header.payload_length..));
        match skipped {
            Some(rest) => payload = rest,
            None => break,
        }
    }
    count
}

/// Decodes `bytes` with `decode`, which must consume all of them.
pub(crate) fn decode_exact<T>(
    bytes: &[u8],
    item: &'static str,
    decode: impl FnOnce(&mut &[u8]) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut buf = bytes;
    let value = decode(&mut buf)?;
    if buf.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::TrailingBytes { item, count: buf.len() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn count_items_counts_well_formed_and_stops_at_malformed() {
        assert_eq!(count_items(&hex!("")), 0);
        assert_eq!(count_items(&hex!("01 80 c0 820102")), 4);
        // A string header claiming two bytes with one present counts once and stops.
        assert_eq!(count_items(&hex!("01 8201")), 2);
    }

    #[test]
    fn list_reader_reports_missing_and_surplus_items() {
        let missing = hex!("c20102");
        let mut buf = &missing[..];
        let mut list = ListReader::open(&mut buf, "pair", 3).unwrap();
        list.u64("a").unwrap();
        list.u64("b").unwrap();
        assert_eq!(
            list.u64("c"),
            Err(DecodeError::ListLength { list: "pair", expected: 3, got: 2 })
        );

        let surplus = hex!("c3010203");
        let mut buf = &surplus[..];
        let mut list = ListReader::open(&mut buf, "pair", 2).unwrap();
        list.u64("a").unwrap();
        list.u64("b").unwrap();
        assert_eq!(
            list.finish(),
            Err(DecodeError::ListLength { list: "pair", expected: 2, got: 3 })
        );
    }

    #[test]
    fn b256_requires_exactly_32_bytes() {
        let short = hex!("8401020304");
        assert_eq!(
            decode_b256(&mut &short[..], "hash"),
            Err(DecodeError::WrongLength { field: "hash", expected: 32, got: 4 })
        );
        let mut long = vec![0xa1];
        long.extend_from_slice(&[7; 33]);
        assert_eq!(
            decode_b256(&mut &long[..], "hash"),
            Err(DecodeError::WrongLength { field: "hash", expected: 32, got: 33 })
        );
    }

    #[test]
    fn list_item_errors_carry_the_index() {
        // [0x01, 0x8100]: the second item is a non-canonical single byte.
        let bytes = hex!("c3 01 8100");
        let error =
            decode_list(&mut &bytes[..], "numbers", |buf| decode_u64(buf, "number")).unwrap_err();
        assert!(matches!(error, DecodeError::InList { list: "numbers", index: 1, .. }));
        assert!(matches!(error.root_cause(), DecodeError::Rlp { field: "number", .. }));
    }

    #[test]
    fn decode_exact_rejects_trailing_bytes() {
        assert_eq!(
            decode_exact(&hex!("0102"), "number", |buf| decode_u64(buf, "number")),
            Err(DecodeError::TrailingBytes { item: "number", count: 1 })
        );
    }
}
