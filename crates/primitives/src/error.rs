//! Errors of decoding and validation.
//!
//! Every variant names what was being decoded (a field, a list, a message) and carries the
//! observed facts (lengths, counts, the offending byte), so a caller can log a useful line or
//! decide how to penalise the peer that sent the bytes without re-parsing them.

/// Why bytes could not be decoded into one of this crate's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The RLP structure of `field` is malformed or non-canonical (see [`alloy_rlp::Error`]):
    /// input too short, a list where a string was expected, a leading zero, an integer
    /// overflow, a non-canonical length or single byte.
    #[error("{field}: {source}")]
    Rlp {
        /// The field, list or item being decoded.
        field: &'static str,
        /// The RLP-level error.
        source: alloy_rlp::Error,
    },
    /// A list holding a fixed set of fields had the wrong number of items.
    #[error("{list}: expected {expected} items, found {got}")]
    ListLength {
        /// The list being decoded.
        list: &'static str,
        /// How many items the list must have.
        expected: usize,
        /// How many items it has (a lower bound when the surplus is itself malformed).
        got: usize,
    },
    /// A byte string of fixed size had another length.
    #[error("{field}: expected {expected} bytes, found {got}")]
    WrongLength {
        /// The field being decoded.
        field: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// A byte string that must be either empty or a 32-byte hash had another length.
    #[error("{field}: expected an empty string or 32 bytes, found {got} bytes")]
    NotEmptyOrHash {
        /// The field being decoded.
        field: &'static str,
        /// The length found.
        got: usize,
    },
    /// Bytes followed a complete item that must make up the whole input.
    #[error("{count} trailing bytes after {item}")]
    TrailingBytes {
        /// The item that was decoded.
        item: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// An item of a homogeneous list failed to decode.
    #[error("{list}[{index}]: {source}")]
    InList {
        /// The list being decoded.
        list: &'static str,
        /// The position of the failing item in the list.
        index: usize,
        /// Why the item failed.
        source: Box<DecodeError>,
    },
    /// The message code is not one of the eight snap/1 messages (`0x00..=0x07`).
    #[error("unknown snap/1 message id {id:#04x}")]
    UnknownMessageId {
        /// The message code received.
        id: u8,
    },
    /// Lists were nested deeper than the decoder allows.
    #[error("RLP lists nested deeper than {max_depth}")]
    TooDeep {
        /// The maximum nesting depth that was exceeded.
        max_depth: usize,
    },
}

impl DecodeError {
    /// Wraps the error of item `index` of `list`.
    pub(crate) fn in_list(self, list: &'static str, index: usize) -> Self {
        Self::InList { list, index, source: Box::new(self) }
    }

    /// The innermost error: the one that is not an [`DecodeError::InList`] wrapper.
    pub fn root_cause(&self) -> &Self {
        let mut error = self;
        while let Self::InList { source, .. } = error {
            error = source;
        }
        error
    }
}

/// Lossy conversion for the [`alloy_rlp::Decodable`] implementations, whose error type cannot
/// carry field names.
impl From<DecodeError> for alloy_rlp::Error {
    fn from(error: DecodeError) -> Self {
        match error.root_cause() {
            DecodeError::Rlp { source, .. } => *source,
            DecodeError::ListLength { expected, got, .. } => {
                Self::ListLengthMismatch { expected: *expected, got: *got }
            }
            DecodeError::WrongLength { .. }
            | DecodeError::NotEmptyOrHash { .. }
            | DecodeError::TrailingBytes { .. } => Self::UnexpectedLength,
            DecodeError::UnknownMessageId { .. } => Self::Custom("unknown snap/1 message id"),
            DecodeError::TooDeep { .. } => Self::Custom("RLP lists nested too deep"),
            // `root_cause` never returns a wrapper.
            DecodeError::InList { .. } => Self::Custom("invalid list item"),
        }
    }
}

/// Why bytes are not a valid compact (hex-prefix) encoded nibble path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompactPathError {
    /// The input is empty: even the empty path encodes to one byte (`0x00`).
    #[error("compact path is empty (the empty path encodes as 0x00)")]
    Empty,
    /// The high nibble of the first byte is not one of the four flags `0..=3`.
    #[error("compact path flag nibble {flag:#x} is not one of 0, 1, 2, 3")]
    InvalidFlag {
        /// The flag nibble found.
        flag: u8,
    },
    /// An even-length path whose padding nibble (low nibble of the first byte) is not zero.
    #[error("compact path of even length has non-zero padding nibble {nibble:#x}")]
    NonZeroPadding {
        /// The padding nibble found.
        nibble: u8,
    },
    /// The path has more nibbles than a 32-byte key.
    #[error("compact path has {nibbles} nibbles, more than the maximum of 64")]
    TooLong {
        /// How many nibbles the encoding holds.
        nibbles: usize,
    },
}

/// Why a wire [`RawTrieNodePathSet`](crate::RawTrieNodePathSet) is not a valid request for
/// trie nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathSetError {
    /// The set has no paths at all (servers reject such requests).
    #[error("trie node path set is empty")]
    Empty,
    /// A storage path set was built with no storage trie paths.
    #[error("storage trie path set has no storage paths")]
    NoStoragePaths,
    /// The first item of a storage path set is not a plain 32-byte account hash.
    #[error("account hash of a storage path set has {got} bytes, expected 32")]
    AccountHashLength {
        /// The length found.
        got: usize,
    },
    /// A path is not valid compact encoding.
    #[error("path {index} of the set: {source}")]
    InvalidPath {
        /// The position of the path in the wire set (0 is the account path).
        index: usize,
        /// Why the path is invalid.
        source: CompactPathError,
    },
    /// A path carries the leaf flag: it ends in a value, not at a trie node.
    #[error("path {index} of the set has the leaf flag; node paths have none")]
    LeafPath {
        /// The position of the path in the wire set (0 is the account path).
        index: usize,
    },
}

impl PathSetError {
    /// Whether go-ethereum refuses the whole `GetTrieNodes` request for this error. It does
    /// only for an empty set; for the others it serves no node (or an empty one) for the
    /// affected paths and goes on, and the hive snap suite expects that.
    pub const fn rejects_request(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_facts() {
        let error =
            DecodeError::WrongLength { field: "TrieAccount.code_hash", expected: 32, got: 31 }
                .in_list("AccountRange.accounts", 4);
        assert_eq!(
            error.to_string(),
            "AccountRange.accounts[4]: TrieAccount.code_hash: expected 32 bytes, found 31"
        );
        assert_eq!(
            DecodeError::UnknownMessageId { id: 9 }.to_string(),
            "unknown snap/1 message id 0x09"
        );
        assert_eq!(
            PathSetError::InvalidPath {
                index: 1,
                source: CompactPathError::InvalidFlag { flag: 7 }
            }
            .to_string(),
            "path 1 of the set: compact path flag nibble 0x7 is not one of 0, 1, 2, 3"
        );
    }

    #[test]
    fn conversion_to_alloy_keeps_what_it_can() {
        let nested = DecodeError::ListLength { list: "SlimAccount", expected: 4, got: 5 }
            .in_list("AccountRange.accounts", 0);
        assert_eq!(
            alloy_rlp::Error::from(nested),
            alloy_rlp::Error::ListLengthMismatch { expected: 4, got: 5 }
        );
        let rlp = DecodeError::Rlp { field: "x", source: alloy_rlp::Error::LeadingZero };
        assert_eq!(alloy_rlp::Error::from(rlp), alloy_rlp::Error::LeadingZero);
        let trailing = DecodeError::TrailingBytes { item: "x", count: 1 };
        assert_eq!(alloy_rlp::Error::from(trailing), alloy_rlp::Error::UnexpectedLength);
    }
}
