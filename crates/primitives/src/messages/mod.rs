//! The eight snap/1 messages and [`SnapMessage`], the sum of them.

mod account_range;
mod byte_codes;
mod storage_ranges;
mod trie_nodes;

pub use account_range::{AccountEntry, AccountRange, GetAccountRange};
pub use byte_codes::{ByteCodes, GetByteCodes};
pub use storage_ranges::{GetStorageRanges, StorageRanges, StorageSlot};
pub use trie_nodes::{GetTrieNodes, TrieNodes};

use alloy_rlp::{BufMut, Encodable};

use crate::{DecodeError, FromRlp};

/// Any snap/1 message.
///
/// The message code is not part of the RLP: devp2p frames carry it (offset by the codes of
/// the capabilities before snap), so it is given to [`SnapMessage::decode`] separately and
/// obtained from [`SnapMessage::id`] when sending.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SnapMessage {
    /// `GetAccountRange` (0x00).
    GetAccountRange(GetAccountRange),
    /// `AccountRange` (0x01).
    AccountRange(AccountRange),
    /// `GetStorageRanges` (0x02).
    GetStorageRanges(GetStorageRanges),
    /// `StorageRanges` (0x03).
    StorageRanges(StorageRanges),
    /// `GetByteCodes` (0x04).
    GetByteCodes(GetByteCodes),
    /// `ByteCodes` (0x05).
    ByteCodes(ByteCodes),
    /// `GetTrieNodes` (0x06).
    GetTrieNodes(GetTrieNodes),
    /// `TrieNodes` (0x07).
    TrieNodes(TrieNodes),
}

/// Calls `$body` with the message inside any variant bound to `$message`.
macro_rules! with_message {
    ($value:expr, $message:ident => $body:expr) => {
        match $value {
            SnapMessage::GetAccountRange($message) => $body,
            SnapMessage::AccountRange($message) => $body,
            SnapMessage::GetStorageRanges($message) => $body,
            SnapMessage::StorageRanges($message) => $body,
            SnapMessage::GetByteCodes($message) => $body,
            SnapMessage::ByteCodes($message) => $body,
            SnapMessage::GetTrieNodes($message) => $body,
            SnapMessage::TrieNodes($message) => $body,
        }
    };
}

impl SnapMessage {
    /// The snap/1 message code, `0x00..=0x07`.
    pub const fn id(&self) -> u8 {
        match self {
            Self::GetAccountRange(_) => GetAccountRange::ID,
            Self::AccountRange(_) => AccountRange::ID,
            Self::GetStorageRanges(_) => GetStorageRanges::ID,
            Self::StorageRanges(_) => StorageRanges::ID,
            Self::GetByteCodes(_) => GetByteCodes::ID,
            Self::ByteCodes(_) => ByteCodes::ID,
            Self::GetTrieNodes(_) => GetTrieNodes::ID,
            Self::TrieNodes(_) => TrieNodes::ID,
        }
    }

    /// The request ID the message carries (responses echo their request's).
    pub const fn request_id(&self) -> u64 {
        with_message!(self, message => message.request_id)
    }

    /// Whether the message is a request (an even code) rather than a response.
    pub const fn is_request(&self) -> bool {
        self.id().is_multiple_of(2)
    }

    /// Writes the RLP of the message (without the message code) to `out`.
    pub fn encode(&self, out: &mut dyn BufMut) {
        with_message!(self, message => message.encode(out));
    }

    /// The length of the RLP [`SnapMessage::encode`] writes.
    pub fn length(&self) -> usize {
        with_message!(self, message => message.length())
    }

    /// The RLP of the message (without the message code).
    pub fn to_rlp(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length());
        self.encode(&mut out);
        out
    }

    /// Decodes the message with code `id` from `bytes`, which must hold exactly its RLP.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnknownMessageId`] for a code above `0x07`;
    /// [`DecodeError::TrailingBytes`] when bytes follow the message; otherwise the error of
    /// the message type's [`FromRlp`] implementation, naming the failing field.
    pub fn decode(id: u8, bytes: &[u8]) -> Result<Self, DecodeError> {
        match id {
            GetAccountRange::ID => GetAccountRange::from_rlp(bytes).map(Self::GetAccountRange),
            AccountRange::ID => AccountRange::from_rlp(bytes).map(Self::AccountRange),
            GetStorageRanges::ID => GetStorageRanges::from_rlp(bytes).map(Self::GetStorageRanges),
            StorageRanges::ID => StorageRanges::from_rlp(bytes).map(Self::StorageRanges),
            GetByteCodes::ID => GetByteCodes::from_rlp(bytes).map(Self::GetByteCodes),
            ByteCodes::ID => ByteCodes::from_rlp(bytes).map(Self::ByteCodes),
            GetTrieNodes::ID => GetTrieNodes::from_rlp(bytes).map(Self::GetTrieNodes),
            TrieNodes::ID => TrieNodes::from_rlp(bytes).map(Self::TrieNodes),
            _ => Err(DecodeError::UnknownMessageId { id }),
        }
    }
}

macro_rules! from_message {
    ($($variant:ident),+) => {$(
        impl From<$variant> for SnapMessage {
            fn from(message: $variant) -> Self {
                Self::$variant(message)
            }
        }
    )+};
}

from_message!(
    GetAccountRange,
    AccountRange,
    GetStorageRanges,
    StorageRanges,
    GetByteCodes,
    ByteCodes,
    GetTrieNodes,
    TrieNodes
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::{B256, hex};

    fn one_of_each() -> Vec<SnapMessage> {
        vec![
            GetAccountRange {
                request_id: 1,
                root_hash: B256::repeat_byte(1),
                starting_hash: crate::AccountHash::ZERO,
                limit_hash: crate::AccountHash::MAX,
                response_bytes: 2,
            }
            .into(),
            AccountRange { request_id: 2, ..Default::default() }.into(),
            GetStorageRanges {
                request_id: 3,
                root_hash: B256::ZERO,
                account_hashes: vec![],
                starting_hash: None,
                limit_hash: None,
                response_bytes: 0,
            }
            .into(),
            StorageRanges { request_id: 4, ..Default::default() }.into(),
            GetByteCodes { request_id: 5, ..Default::default() }.into(),
            ByteCodes { request_id: 6, ..Default::default() }.into(),
            GetTrieNodes { request_id: 7, ..Default::default() }.into(),
            TrieNodes { request_id: 8, ..Default::default() }.into(),
        ]
    }

    #[test]
    fn ids_are_the_spec_codes_in_order() {
        for (code, message) in (0u8..).zip(one_of_each()) {
            assert_eq!(message.id(), code);
            assert_eq!(message.request_id(), u64::from(code) + 1);
            assert_eq!(message.is_request(), code % 2 == 0);
            let encoded = message.to_rlp();
            assert_eq!(encoded.len(), message.length());
            assert_eq!(SnapMessage::decode(code, &encoded), Ok(message));
        }
    }

    #[test]
    fn rejects_unknown_ids_and_trailing_bytes() {
        let encoded = TrieNodes::default();
        let bytes = alloy_rlp::encode(&encoded);
        assert_eq!(SnapMessage::decode(8, &bytes), Err(DecodeError::UnknownMessageId { id: 8 }));
        assert_eq!(
            SnapMessage::decode(0xff, &bytes),
            Err(DecodeError::UnknownMessageId { id: 0xff })
        );
        let mut trailing = bytes.clone();
        trailing.push(0x80);
        assert_eq!(
            SnapMessage::decode(TrieNodes::ID, &trailing),
            Err(DecodeError::TrailingBytes { item: "TrieNodes", count: 1 })
        );
        assert_eq!(bytes, hex!("c280c0"));
    }

    #[test]
    fn a_message_under_the_wrong_id_fails_to_decode() {
        let request = GetByteCodes { request_id: 5, ..Default::default() };
        let bytes = alloy_rlp::encode(&request);
        assert!(SnapMessage::decode(ByteCodes::ID, &bytes).is_err());
        assert!(SnapMessage::decode(GetAccountRange::ID, &bytes).is_err());
    }
}
