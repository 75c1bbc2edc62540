//! Hex strings as the two formats write them: with or without `0x`, in any case.
//!
//! Errors give positions in the string as written, so they point at the character to fix.

use crate::ValueError;
use alloy_primitives::{Address, B256, Bytes};

/// Splits off an optional `0x`/`0X` prefix: `(prefix length, digits)`.
pub(crate) fn strip_prefix(s: &str) -> (usize, &str) {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(digits) => (2, digits),
        None => (0, s),
    }
}

/// The value of one hex digit.
pub(crate) const fn nibble(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The error for the character at byte `index` of `s`, which is not a hex digit.
///
/// Every byte before `index` is an ASCII hex digit, so `index` is a character boundary.
pub(crate) fn invalid_hex_digit(s: &str, index: usize) -> ValueError {
    let ch = s.get(index..).and_then(|rest| rest.chars().next()).unwrap_or('?');
    ValueError::InvalidHexDigit { ch, position: index }
}

/// Decodes the digits of `s` after its prefix into `out`, right-aligned: an odd count gets a
/// leading zero nibble. `out` must be able to hold them (checked by the callers).
fn decode_right_aligned(s: &str, prefix: usize, out: &mut [u8]) -> Result<(), ValueError> {
    let digits = &s.as_bytes()[prefix..];
    let mut bytes = out.len();
    let mut low = true;
    for (offset, &digit) in digits.iter().enumerate().rev() {
        let value = nibble(digit).ok_or_else(|| invalid_hex_digit(s, prefix + offset))?;
        if low {
            // Callers size `out` for the digits; running out is reported, never a panic.
            bytes = bytes.checked_sub(1).ok_or(ValueError::TooLong { digits: digits.len() })?;
            out[bytes] = value;
        } else {
            out[bytes] |= value << 4;
        }
        low = !low;
    }
    Ok(())
}

/// Reports the first invalid digit (in reading order) rather than the last one found by a
/// right-to-left decode.
fn first_invalid_digit(s: &str, prefix: usize) -> Option<ValueError> {
    s.as_bytes()[prefix..]
        .iter()
        .position(|&digit| nibble(digit).is_none())
        .map(|offset| invalid_hex_digit(s, prefix + offset))
}

/// Decodes a byte string of any length (contract code). An empty string or a bare `0x` is empty.
///
/// # Errors
/// [`ValueError::InvalidHexDigit`], [`ValueError::OddLength`].
pub(crate) fn decode_bytes(s: &str) -> Result<Bytes, ValueError> {
    let (prefix, digits) = strip_prefix(s);
    if let Some(error) = first_invalid_digit(s, prefix) {
        return Err(error);
    }
    if !digits.len().is_multiple_of(2) {
        return Err(ValueError::OddLength { digits: digits.len() });
    }
    let mut out = vec![0; digits.len() / 2];
    decode_right_aligned(s, prefix, &mut out)?;
    Ok(out.into())
}

/// Decodes exactly `N` bytes (`2 * N` hex digits).
fn decode_exact<const N: usize>(s: &str) -> Result<[u8; N], ValueError> {
    let (prefix, digits) = strip_prefix(s);
    if let Some(error) = first_invalid_digit(s, prefix) {
        return Err(error);
    }
    if digits.len() != 2 * N {
        return Err(ValueError::WrongLength { expected: 2 * N, found: digits.len() });
    }
    let mut out = [0; N];
    decode_right_aligned(s, prefix, &mut out)?;
    Ok(out)
}

/// Decodes an address: exactly 40 hex digits, any case (checksums are not checked).
///
/// # Errors
/// [`ValueError::InvalidHexDigit`], [`ValueError::WrongLength`].
pub(crate) fn decode_address(s: &str) -> Result<Address, ValueError> {
    decode_exact::<20>(s).map(Address::from)
}

/// Decodes a hash: exactly 64 hex digits.
///
/// # Errors
/// [`ValueError::InvalidHexDigit`], [`ValueError::WrongLength`].
pub(crate) fn decode_hash(s: &str) -> Result<B256, ValueError> {
    decode_exact::<32>(s).map(B256::from)
}

/// Decodes a storage word: up to 64 hex digits, odd counts allowed, left-padded with zeros to 32
/// bytes (`0x1` is slot 1). An empty string or a bare `0x` is zero.
///
/// # Errors
/// [`ValueError::InvalidHexDigit`], [`ValueError::TooLong`].
pub(crate) fn decode_word(s: &str) -> Result<B256, ValueError> {
    let (prefix, digits) = strip_prefix(s);
    if let Some(error) = first_invalid_digit(s, prefix) {
        return Err(error);
    }
    if digits.len() > 64 {
        return Err(ValueError::TooLong { digits: digits.len() });
    }
    let mut out = [0; 32];
    decode_right_aligned(s, prefix, &mut out)?;
    Ok(B256::from(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use alloy_primitives::{address, b256, bytes};

    #[test]
    fn bytes_with_and_without_prefix() {
        assert_eq!(decode_bytes("0x60ff").unwrap(), bytes!("60ff"));
        assert_eq!(decode_bytes("60FF").unwrap(), bytes!("60ff"));
        assert_eq!(decode_bytes("0X").unwrap(), Bytes::new());
        assert_eq!(decode_bytes("").unwrap(), Bytes::new());
    }

    #[test]
    fn bytes_errors_point_at_the_digit() {
        assert_eq!(decode_bytes("0x6g"), Err(ValueError::InvalidHexDigit { ch: 'g', position: 3 }));
        assert_eq!(decode_bytes("0x6é"), Err(ValueError::InvalidHexDigit { ch: 'é', position: 3 }));
        assert_eq!(decode_bytes("0x600"), Err(ValueError::OddLength { digits: 3 }));
        assert_eq!(decode_bytes("0x 0"), Err(ValueError::InvalidHexDigit { ch: ' ', position: 2 }));
    }

    #[test]
    fn addresses_need_forty_digits() {
        let expected = address!("00000961ef480eb55e80d19ad83579a64c007002");
        assert_eq!(decode_address("0x00000961Ef480Eb55e80D19ad83579A64c007002").unwrap(), expected);
        assert_eq!(decode_address("00000961ef480eb55e80d19ad83579a64c007002").unwrap(), expected);
        assert_eq!(
            decode_address("0x1234"),
            Err(ValueError::WrongLength { expected: 40, found: 4 })
        );
    }

    #[test]
    fn hashes_need_sixty_four_digits() {
        let hash = "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
        let expected = b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
        assert_eq!(decode_hash(hash).unwrap(), expected);
        assert_eq!(decode_hash(&format!("0x{hash}")).unwrap(), expected);
        assert_eq!(decode_hash("0x00"), Err(ValueError::WrongLength { expected: 64, found: 2 }));
    }

    #[test]
    fn words_are_left_padded() {
        assert_eq!(decode_word("0x1").unwrap(), B256::with_last_byte(1));
        assert_eq!(decode_word("01").unwrap(), B256::with_last_byte(1));
        assert_eq!(decode_word("0x").unwrap(), B256::ZERO);
        assert_eq!(decode_word("0x123").unwrap().0[30..], [0x01, 0x23]);
        assert_eq!(decode_word(&"f".repeat(64)).unwrap(), B256::repeat_byte(0xff));
        assert_eq!(decode_word(&"0".repeat(65)), Err(ValueError::TooLong { digits: 65 }));
        assert_eq!(decode_word("0xz1"), Err(ValueError::InvalidHexDigit { ch: 'z', position: 2 }));
    }
}
