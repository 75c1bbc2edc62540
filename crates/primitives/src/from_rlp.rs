//! The crate's decoding trait: RLP decoding with errors that name the failing field.

use crate::{DecodeError, decoder};

/// Decoding from RLP with [`DecodeError`]s that say which field failed and why.
///
/// Every type of the crate that can be decoded implements both this trait and
/// [`alloy_rlp::Decodable`]; the latter is a thin adapter over [`FromRlp::decode_prefix`] for
/// interoperability, whose error type cannot carry the field names.
pub trait FromRlp: Sized {
    /// What the type is called in errors.
    const NAME: &'static str;

    /// Decodes one value from the front of `buf`, advancing `buf` past it. Bytes after the
    /// value are left in `buf`.
    ///
    /// # Errors
    ///
    /// When the bytes are not a canonical RLP encoding of the type; see [`DecodeError`].
    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError>;

    /// Decodes `bytes` as exactly one value.
    ///
    /// # Errors
    ///
    /// Those of [`FromRlp::decode_prefix`], and [`DecodeError::TrailingBytes`] when bytes
    /// follow the value.
    fn from_rlp(bytes: &[u8]) -> Result<Self, DecodeError> {
        decoder::decode_exact(bytes, Self::NAME, Self::decode_prefix)
    }
}

/// Implements [`alloy_rlp::Decodable`] for types implementing [`FromRlp`].
macro_rules! decodable_via_from_rlp {
    ($($type:ty),+ $(,)?) => {$(
        impl alloy_rlp::Decodable for $type {
            fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
                <$type as $crate::FromRlp>::decode_prefix(buf).map_err(alloy_rlp::Error::from)
            }
        }
    )+};
}
pub(crate) use decodable_via_from_rlp;
