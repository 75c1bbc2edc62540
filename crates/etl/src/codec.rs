//! How keys and values become bytes, and back.
//!
//! The collector stores and sorts bytes only. For keys, the encoding is the order: the merged
//! stream yields entries in the byte order of their encoded keys, which is the order a key-value
//! database (redb, MDBX) keeps its keys in. An encoding whose byte order differs from the type's
//! `Ord` (little-endian integers, say) is sorted by its bytes, not by `Ord`.

use crate::DecodeError;
use alloy_primitives::{Address, Bytes, FixedBytes};

/// A key or value the collector can store.
///
/// For keys, the encoded bytes define the sort order of the merged stream (byte-wise, shorter
/// before longer on a common prefix). Encode integers big-endian to keep numeric order.
pub trait Encode {
    /// The number of bytes [`encode_to`](Encode::encode_to) appends.
    fn encoded_len(&self) -> usize;

    /// Appends the encoding, exactly [`encoded_len`](Encode::encoded_len) bytes, to `out`.
    ///
    /// An implementation that appends another number of bytes makes the insert fail with
    /// [`EtlError::EncodedLenMismatch`](crate::EtlError::EncodedLenMismatch).
    fn encode_to(&self, out: &mut Vec<u8>);
}

/// A key or value the collector can give back.
///
/// `Decode::decode` of an [`Encode::encode_to`] output must return an equal value.
pub trait Decode: Sized {
    /// Rebuilds the value from its encoding.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] if `bytes` is not an encoding of `Self`, e.g. has the wrong length.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Copies `bytes` into an `N`-byte array, or says why it cannot.
fn fixed<const N: usize>(bytes: &[u8], type_name: &'static str) -> Result<[u8; N], DecodeError> {
    <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::Length {
        type_name,
        expected: N,
        actual: bytes.len(),
    })
}

impl Encode for Vec<u8> {
    fn encoded_len(&self) -> usize {
        self.len()
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Decode for Vec<u8> {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encoded_len(&self) -> usize {
        N
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed(bytes, std::any::type_name::<Self>())
    }
}

impl<const N: usize> Encode for FixedBytes<N> {
    fn encoded_len(&self) -> usize {
        N
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }
}

impl<const N: usize> Decode for FixedBytes<N> {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed(bytes, "FixedBytes").map(Self::new)
    }
}

impl Encode for Address {
    fn encoded_len(&self) -> usize {
        Self::len_bytes()
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }
}

impl Decode for Address {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed(bytes, "Address").map(Self::new)
    }
}

impl Encode for Bytes {
    fn encoded_len(&self) -> usize {
        self.len()
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Decode for Bytes {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self::copy_from_slice(bytes))
    }
}

/// Big-endian, so that byte order is numeric order.
impl Encode for u64 {
    fn encoded_len(&self) -> usize {
        size_of::<Self>()
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl Decode for u64 {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed(bytes, "u64").map(Self::from_be_bytes)
    }
}

/// Zero bytes: a collector of `(K, ())` is a sorted, deduplicated set of keys.
impl Encode for () {
    fn encoded_len(&self) -> usize {
        0
    }

    fn encode_to(&self, _out: &mut Vec<u8>) {}
}

impl Decode for () {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fixed::<0>(bytes, "()").map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::B256;
    use proptest::prelude::*;

    fn encoded<T: Encode>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        value.encode_to(&mut out);
        assert_eq!(out.len(), value.encoded_len());
        out
    }

    fn round_trips<T: Encode + Decode + PartialEq + std::fmt::Debug>(value: &T) {
        assert_eq!(&T::decode(&encoded(value)).unwrap(), value);
    }

    #[test]
    fn every_implementation_round_trips() {
        round_trips(&vec![1_u8, 2, 3]);
        round_trips(&Vec::<u8>::new());
        round_trips(&[7_u8; 5]);
        round_trips(&B256::repeat_byte(0xab));
        round_trips(&Address::repeat_byte(0x11));
        round_trips(&Bytes::from_static(b"bytes"));
        round_trips(&0x0102_0304_0506_0708_u64);
        round_trips(&());
    }

    #[test]
    fn fixed_size_types_reject_other_lengths() {
        assert_eq!(
            B256::decode(&[0; 31]),
            Err(DecodeError::Length { type_name: "FixedBytes", expected: 32, actual: 31 })
        );
        assert_eq!(
            <[u8; 4]>::decode(&[0; 5]),
            Err(DecodeError::Length { type_name: "[u8; 4]", expected: 4, actual: 5 })
        );
        assert!(Address::decode(&[0; 32]).is_err());
        assert!(u64::decode(&[0; 7]).is_err());
        assert!(<()>::decode(&[0]).is_err());
    }

    proptest! {
        #[test]
        fn u64_byte_order_is_numeric_order(a: u64, b: u64) {
            prop_assert_eq!(encoded(&a).cmp(&encoded(&b)), a.cmp(&b));
        }

        #[test]
        fn b256_byte_order_is_its_order(a: [u8; 32], b: [u8; 32]) {
            let (a, b) = (B256::new(a), B256::new(b));
            prop_assert_eq!(encoded(&a).cmp(&encoded(&b)), a.cmp(&b));
        }
    }
}
