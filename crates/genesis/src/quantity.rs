//! Numbers (balances, nonces) in the forms genesis files and dumps write them.
//!
//! Accepted: a hex string (`"0x1f"`, a bare `"0x"` is zero), a decimal string (`"31"`), or a JSON
//! integer up to `u64::MAX`. JSON integers above that are rejected rather than silently rounded:
//! JSON parsers read them as floats.

use crate::{
    ValueError,
    hex::{invalid_hex_digit, nibble, strip_prefix},
    json::JsonScalar,
};
use alloy_primitives::U256;

/// What the quantity fields accept, for type errors.
const EXPECTED: &str = "a hex string, a decimal string or an integer";

/// Reads a 256-bit quantity (a balance).
///
/// # Errors
/// A [`ValueError`] saying what is wrong with the value.
pub(crate) fn quantity_u256(value: &JsonScalar<'_>) -> Result<U256, ValueError> {
    match value {
        JsonScalar::Str(s) => parse_quantity_str(s),
        JsonScalar::Unsigned(n) => Ok(U256::from(*n)),
        JsonScalar::Negative(_) => Err(ValueError::Negative),
        JsonScalar::Float(f) => Err(float_error(*f)),
        other => Err(ValueError::WrongType { expected: EXPECTED, found: other.kind() }),
    }
}

/// Reads a 64-bit quantity (a nonce).
///
/// # Errors
/// A [`ValueError`] saying what is wrong with the value; [`ValueError::Overflow`] above
/// `u64::MAX`.
pub(crate) fn quantity_u64(value: &JsonScalar<'_>) -> Result<u64, ValueError> {
    let wide = quantity_u256(value)?;
    u64::try_from(wide).map_err(|_| ValueError::Overflow { bits: 64 })
}

/// Why a JSON float is not an acceptable quantity.
fn float_error(value: f64) -> ValueError {
    // 2^64: serde_json reads integers at or above it as floats.
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if value < 0.0 {
        ValueError::Negative
    } else if value.fract() == 0.0 && value >= TWO_POW_64 {
        ValueError::NumberTooLarge { value }
    } else {
        ValueError::NotAnInteger { value }
    }
}

/// Parses a quantity written as a string: hex with a `0x` prefix, decimal without.
fn parse_quantity_str(s: &str) -> Result<U256, ValueError> {
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    if s.starts_with('-') {
        return Err(ValueError::Negative);
    }
    match strip_prefix(s) {
        (0, _) => parse_decimal(s),
        (prefix, _) => parse_hex(s, prefix),
    }
}

/// Parses the hex digits of `s` after `prefix`; any number of leading zeros is fine.
fn parse_hex(s: &str, prefix: usize) -> Result<U256, ValueError> {
    let mut value = U256::ZERO;
    let mut significant = 0usize;
    for (index, &digit) in s.as_bytes().iter().enumerate().skip(prefix) {
        let nibble = nibble(digit).ok_or_else(|| invalid_hex_digit(s, index))?;
        if significant > 0 || nibble != 0 {
            significant += 1;
        }
        if significant > 64 {
            return Err(ValueError::Overflow { bits: 256 });
        }
        value = (value << 4) | U256::from(nibble);
    }
    Ok(value)
}

/// Parses a decimal number.
fn parse_decimal(s: &str) -> Result<U256, ValueError> {
    let ten = U256::from(10u8);
    let mut value = U256::ZERO;
    for (index, ch) in s.char_indices() {
        let digit =
            ch.to_digit(10).ok_or(ValueError::InvalidDecimalDigit { ch, position: index })?;
        value = value
            .checked_mul(ten)
            .and_then(|v| v.checked_add(U256::from(digit)))
            .ok_or(ValueError::Overflow { bits: 256 })?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::borrow::Cow;

    fn string(s: &str) -> JsonScalar<'_> {
        JsonScalar::Str(Cow::Borrowed(s))
    }

    #[test]
    fn every_written_form() {
        assert_eq!(quantity_u256(&string("0x1f")).unwrap(), U256::from(31));
        assert_eq!(quantity_u256(&string("0X1F")).unwrap(), U256::from(31));
        assert_eq!(quantity_u256(&string("0x")).unwrap(), U256::ZERO);
        assert_eq!(quantity_u256(&string("31")).unwrap(), U256::from(31));
        assert_eq!(quantity_u256(&string("0031")).unwrap(), U256::from(31));
        assert_eq!(quantity_u256(&JsonScalar::Unsigned(31)).unwrap(), U256::from(31));
        assert_eq!(quantity_u256(&JsonScalar::Unsigned(u64::MAX)).unwrap(), U256::from(u64::MAX));
    }

    #[test]
    fn full_width_values() {
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(quantity_u256(&string(&max)).unwrap(), U256::MAX);
        let padded = format!("0x000{}", "f".repeat(64));
        assert_eq!(quantity_u256(&string(&padded)).unwrap(), U256::MAX);
        assert_eq!(quantity_u256(&string(&U256::MAX.to_string())).unwrap(), U256::MAX);
    }

    #[test]
    fn overflow() {
        let hex = format!("0x1{}", "0".repeat(64));
        assert_eq!(quantity_u256(&string(&hex)), Err(ValueError::Overflow { bits: 256 }));
        let decimal = format!("{}0", U256::MAX);
        assert_eq!(quantity_u256(&string(&decimal)), Err(ValueError::Overflow { bits: 256 }));
        assert_eq!(
            quantity_u64(&string("0x10000000000000000")),
            Err(ValueError::Overflow { bits: 64 })
        );
        assert_eq!(quantity_u64(&string("0xffffffffffffffff")).unwrap(), u64::MAX);
    }

    #[test]
    fn malformed() {
        assert_eq!(quantity_u256(&string("")), Err(ValueError::Empty));
        assert_eq!(quantity_u256(&string("-1")), Err(ValueError::Negative));
        assert_eq!(
            quantity_u256(&string("0x1g")),
            Err(ValueError::InvalidHexDigit { ch: 'g', position: 3 })
        );
        assert_eq!(
            quantity_u256(&string("12a")),
            Err(ValueError::InvalidDecimalDigit { ch: 'a', position: 2 })
        );
        assert_eq!(
            quantity_u256(&string("1 ")),
            Err(ValueError::InvalidDecimalDigit { ch: ' ', position: 1 })
        );
        assert_eq!(quantity_u256(&JsonScalar::Negative(-1)), Err(ValueError::Negative));
        assert_eq!(quantity_u256(&JsonScalar::Float(-0.5)), Err(ValueError::Negative));
        assert_eq!(
            quantity_u256(&JsonScalar::Float(1.5)),
            Err(ValueError::NotAnInteger { value: 1.5 })
        );
        assert_eq!(
            quantity_u256(&JsonScalar::Float(1e20)),
            Err(ValueError::NumberTooLarge { value: 1e20 })
        );
        assert_eq!(
            quantity_u256(&JsonScalar::Bool),
            Err(ValueError::WrongType { expected: EXPECTED, found: "a boolean" })
        );
        assert_eq!(
            quantity_u256(&JsonScalar::Null),
            Err(ValueError::WrongType { expected: EXPECTED, found: "null" })
        );
    }
}
