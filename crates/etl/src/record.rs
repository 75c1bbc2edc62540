//! The record format, shared by the in-memory buffer and the run files.
//!
//! ```text
//! record = varint(key_len) varint(value_len) key value
//! ```
//!
//! Lengths are unsigned LEB128 varints of at most 5 bytes holding a `u32` (7 bits per byte, low
//! bits first, high bit set on every byte but the last). A 32-byte key with a 100-byte value costs
//! 2 bytes of framing. A run file is its records back to back, sorted by key, one record per key;
//! the record count and the longest key and value live in memory beside the file, so a damaged
//! file is detected rather than believed.

use crate::{EtlError, error::EntryPart};
use std::io::{self, Read};

/// Longest varint encoding of a `u32`.
const MAX_VARINT_LEN: usize = 5;

/// Longest record header: two varints.
const MAX_HEADER_LEN: usize = 2 * MAX_VARINT_LEN;

/// Largest key or value a record can describe.
pub(crate) const MAX_PART_LEN: usize = u32::MAX as usize;

/// The lengths that start a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    /// Length of the key in bytes.
    pub(crate) key_len: u32,
    /// Length of the value in bytes.
    pub(crate) value_len: u32,
}

/// A header encoded into a stack buffer.
pub(crate) struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl EncodedHeader {
    /// The encoded bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl RecordHeader {
    /// The header for a key and value of the given lengths.
    ///
    /// # Errors
    ///
    /// [`EtlError::TooLarge`] if either does not fit in a `u32`.
    pub(crate) fn new(key_len: usize, value_len: usize) -> Result<Self, EtlError> {
        Ok(Self {
            key_len: part_len(EntryPart::Key, key_len)?,
            value_len: part_len(EntryPart::Value, value_len)?,
        })
    }

    /// Bytes of the header alone.
    pub(crate) fn header_len(self) -> usize {
        varint_len(self.key_len) + varint_len(self.value_len)
    }

    /// Bytes of the whole record: header, key and value.
    pub(crate) fn record_len(self) -> usize {
        self.header_len() + to_usize(self.key_len) + to_usize(self.value_len)
    }

    /// The header's bytes.
    pub(crate) fn encode(self) -> EncodedHeader {
        let mut bytes = [0; MAX_HEADER_LEN];
        let key_end = write_varint(self.key_len, &mut bytes[..MAX_VARINT_LEN]);
        let len = key_end + write_varint(self.value_len, &mut bytes[key_end..]);
        EncodedHeader { bytes, len }
    }

    /// Parses a header at the start of `bytes`; returns it with its length, or `None` if `bytes`
    /// does not start with two valid varints.
    pub(crate) fn decode_prefix(bytes: &[u8]) -> Option<(Self, usize)> {
        let (key_len, key_bytes) = decode_varint(bytes)?;
        let (value_len, value_bytes) = decode_varint(bytes.get(key_bytes..)?)?;
        Some((Self { key_len, value_len }, key_bytes + value_bytes))
    }
}

/// `len` as a record length field, or [`EtlError::TooLarge`].
fn part_len(part: EntryPart, len: usize) -> Result<u32, EtlError> {
    u32::try_from(len).map_err(|_| EtlError::TooLarge { part, len, max: MAX_PART_LEN })
}

/// A `u32` length as `usize` (lossless on the 32- and 64-bit targets this crate builds for).
pub(crate) fn to_usize(len: u32) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

/// Bytes the varint encoding of `value` takes.
fn varint_len(value: u32) -> usize {
    let significant_bits = 32 - value.leading_zeros();
    to_usize(significant_bits.div_ceil(7).max(1))
}

/// The low 7 bits of `value` as a byte.
fn low_seven_bits(value: u32) -> u8 {
    value.to_le_bytes()[0] & 0x7f
}

/// Writes the varint of `value` to the start of `out` (at least [`MAX_VARINT_LEN`] bytes) and
/// returns its length.
fn write_varint(mut value: u32, out: &mut [u8]) -> usize {
    let mut written = 0;
    for byte in out.iter_mut() {
        written += 1;
        if value < 0x80 {
            *byte = low_seven_bits(value);
            break;
        }
        *byte = low_seven_bits(value) | 0x80;
        value >>= 7;
    }
    written
}

/// Folds varint byte number `index` into `value`; `None` if it overflows a `u32`.
fn fold_varint_byte(value: u32, index: usize, byte: u8) -> Option<u32> {
    let bits = u32::from(byte & 0x7f);
    if index == MAX_VARINT_LEN - 1 && bits > 0x0f {
        return None;
    }
    Some(value | bits << (7 * index))
}

/// Parses a varint at the start of `bytes`; returns it with its length.
fn decode_varint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0;
    for (index, &byte) in bytes.iter().take(MAX_VARINT_LEN).enumerate() {
        value = fold_varint_byte(value, index, byte)?;
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

/// Reads a varint from `reader`: `Ok(None)` if the bytes are not a valid `u32` varint, an error of
/// kind [`io::ErrorKind::UnexpectedEof`] if the input ends inside it.
pub(crate) fn read_varint(reader: &mut impl Read) -> io::Result<Option<u32>> {
    let mut value = 0;
    for index in 0..MAX_VARINT_LEN {
        let mut byte = [0; 1];
        reader.read_exact(&mut byte)?;
        let Some(folded) = fold_varint_byte(value, index, byte[0]) else {
            return Ok(None);
        };
        value = folded;
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_lengths_match_leb128() {
        for (value, len) in [(0, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (u32::MAX, 5)] {
            assert_eq!(varint_len(value), len, "{value}");
            let mut out = [0; MAX_VARINT_LEN];
            assert_eq!(write_varint(value, &mut out), len, "{value}");
        }
    }

    #[test]
    fn typical_record_has_two_bytes_of_framing() {
        let header = RecordHeader::new(32, 100).unwrap();
        assert_eq!(header.encode().as_slice(), &[32, 100]);
        assert_eq!(header.record_len(), 134);
    }

    #[test]
    fn overlong_and_overflowing_varints_are_rejected() {
        // Six bytes with the continuation bit.
        assert_eq!(decode_varint(&[0x80; 6]), None);
        // Five bytes whose last one carries more than the 4 bits a u32 has left.
        assert_eq!(decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]), None);
        assert_eq!(decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Some((u32::MAX, 5)));
        // Ends inside the varint.
        assert_eq!(decode_varint(&[0x80]), None);
        assert_eq!(read_varint(&mut &[0x80_u8; 6][..]).unwrap(), None);
        let eof = read_varint(&mut &[0x80_u8][..]).unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    proptest! {
        #[test]
        fn header_round_trips(key_len: u32, value_len: u32) {
            let header = RecordHeader { key_len, value_len };
            let encoded = header.encode();
            prop_assert_eq!(encoded.as_slice().len(), header.header_len());
            prop_assert_eq!(
                RecordHeader::decode_prefix(encoded.as_slice()),
                Some((header, header.header_len()))
            );
            let mut reader = encoded.as_slice();
            prop_assert_eq!(read_varint(&mut reader).unwrap(), Some(key_len));
            prop_assert_eq!(read_varint(&mut reader).unwrap(), Some(value_len));
        }
    }
}
