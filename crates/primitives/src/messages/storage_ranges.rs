//! The storage range exchange: [`GetStorageRanges`] (0x02) and [`StorageRanges`] (0x03).

use alloy_primitives::{B256, Bytes, U256};
use alloy_rlp::{BufMut, Encodable, Header, RlpEncodable};

use crate::{
    AccountHash, DecodeError, FromRlp, SlotHash,
    decoder::{self, ListReader},
    from_rlp::decodable_via_from_rlp,
};

/// Request for the storage slots of the accounts `account_hashes` in the state rooted at
/// `root_hash`, up to about `response_bytes` of data.
///
/// `[reqID: P, rootHash: B_32, accountHashes: [B_32], startingHash: B, limitHash: B,
/// responseBytes: P]`
///
/// The starting and limit hashes are either empty (encoded `0x80`, meaning the start and the
/// end of the trie) or 32 bytes; they matter when a single large storage trie is fetched in
/// chunks. go-ethereum also pads or truncates other lengths; they are rejected here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GetStorageRanges {
    /// Request ID, echoed by the response.
    pub request_id: u64,
    /// State root of the account trie the storage tries belong to.
    pub root_hash: B256,
    /// The accounts whose storage to return, in order.
    pub account_hashes: Vec<AccountHash>,
    /// Hash of the first slot to return; `None` (empty on the wire) for the first slot.
    pub starting_hash: Option<SlotHash>,
    /// Hash after which to stop; `None` (empty on the wire) for no limit.
    pub limit_hash: Option<SlotHash>,
    /// Soft limit of the response size in bytes.
    pub response_bytes: u64,
}

impl GetStorageRanges {
    /// The snap/1 message code.
    pub const ID: u8 = 0x02;

    /// The first slot hash requested: [`SlotHash::ZERO`] when the starting hash is empty.
    pub fn origin(&self) -> SlotHash {
        self.starting_hash.unwrap_or(SlotHash::ZERO)
    }

    /// The last slot hash requested: [`SlotHash::MAX`] when the limit hash is empty.
    pub fn limit(&self) -> SlotHash {
        self.limit_hash.unwrap_or(SlotHash::MAX)
    }

    fn payload_length(&self) -> usize {
        self.request_id.length()
            + self.root_hash.length()
            + self.account_hashes.length()
            + optional_hash_length(self.starting_hash.as_ref())
            + optional_hash_length(self.limit_hash.as_ref())
            + self.response_bytes.length()
    }
}

fn optional_hash_length(hash: Option<&SlotHash>) -> usize {
    hash.map_or(1, Encodable::length)
}

fn encode_optional_hash(hash: Option<&SlotHash>, out: &mut dyn BufMut) {
    match hash {
        Some(hash) => hash.encode(out),
        None => out.put_u8(alloy_rlp::EMPTY_STRING_CODE),
    }
}

impl Encodable for GetStorageRanges {
    fn encode(&self, out: &mut dyn BufMut) {
        Header { list: true, payload_length: self.payload_length() }.encode(out);
        self.request_id.encode(out);
        self.root_hash.encode(out);
        self.account_hashes.encode(out);
        encode_optional_hash(self.starting_hash.as_ref(), out);
        encode_optional_hash(self.limit_hash.as_ref(), out);
        self.response_bytes.encode(out);
    }

    fn length(&self) -> usize {
        let payload_length = self.payload_length();
        payload_length + alloy_rlp::length_of_length(payload_length)
    }
}

impl FromRlp for GetStorageRanges {
    const NAME: &'static str = "GetStorageRanges";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 6)?;
        let message = Self {
            request_id: list.u64("GetStorageRanges.request_id")?,
            root_hash: list.b256("GetStorageRanges.root_hash")?,
            account_hashes: list.list("GetStorageRanges.account_hashes", |buf| {
                decoder::decode_b256(buf, "account hash").map(AccountHash)
            })?,
            starting_hash: list.optional_b256("GetStorageRanges.starting_hash")?.map(SlotHash),
            limit_hash: list.optional_b256("GetStorageRanges.limit_hash")?.map(SlotHash),
            response_bytes: list.u64("GetStorageRanges.response_bytes")?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// Consecutive storage slots of the requested accounts, with a boundary proof for the last
/// account's range if it is incomplete.
///
/// `[reqID: P, slots: [[[slotHash: B_32, slotData: B], ...], ...], proof: [node: B, ...]]`
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct StorageRanges {
    /// ID of the request this answers.
    pub request_id: u64,
    /// One list of slots per served account, in request order; each in increasing hash order.
    pub slots: Vec<Vec<StorageSlot>>,
    /// Trie nodes proving the last account's range, empty when every range is complete.
    pub proof: Vec<Bytes>,
}

impl StorageRanges {
    /// The snap/1 message code.
    pub const ID: u8 = 0x03;
}

impl FromRlp for StorageRanges {
    const NAME: &'static str = "StorageRanges";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 3)?;
        let message = Self {
            request_id: list.u64("StorageRanges.request_id")?,
            slots: list.list("StorageRanges.slots", |buf| {
                decoder::decode_list(buf, "account slots", StorageSlot::decode_prefix)
            })?,
            proof: list
                .list("StorageRanges.proof", |buf| decoder::decode_bytes(buf, "proof node"))?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// One slot of a [`StorageRanges`] response: `[slotHash: B_32, slotData: B]`.
///
/// `data` is what the storage trie's leaf holds: the RLP encoding of the slot value with
/// leading zeros trimmed (go-ethereum sends its snapshot's value bytes, which are exactly
/// that). It is kept raw so the leaf can be rebuilt byte for byte; [`StorageSlot::value`]
/// decodes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, RlpEncodable)]
pub struct StorageSlot {
    /// The slot's key in the storage trie.
    pub hash: SlotHash,
    /// The RLP-encoded slot value.
    pub data: Bytes,
}

impl StorageSlot {
    /// A slot holding `value`, encoded as the trie stores it.
    pub fn from_value(hash: SlotHash, value: U256) -> Self {
        Self { hash, data: alloy_rlp::encode(value).into() }
    }

    /// The slot value decoded from [`StorageSlot::data`].
    ///
    /// # Errors
    ///
    /// When `data` is not exactly one canonical RLP integer of at most 32 bytes.
    pub fn value(&self) -> Result<U256, DecodeError> {
        decoder::decode_exact(&self.data, "StorageSlot.data", |buf| {
            decoder::decode_u256(buf, "StorageSlot.data")
        })
    }
}

impl FromRlp for StorageSlot {
    const NAME: &'static str = "StorageSlot";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 2)?;
        let slot = Self {
            hash: SlotHash(list.b256("StorageSlot.hash")?),
            data: list.next(|buf| decoder::decode_bytes(buf, "StorageSlot.data"))?,
        };
        list.finish()?;
        Ok(slot)
    }
}

decodable_via_from_rlp!(GetStorageRanges, StorageRanges, StorageSlot);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::hex;

    fn request(starting_hash: Option<SlotHash>, limit_hash: Option<SlotHash>) -> GetStorageRanges {
        GetStorageRanges {
            request_id: 1,
            root_hash: B256::repeat_byte(0x11),
            account_hashes: vec![AccountHash(B256::repeat_byte(0x22))],
            starting_hash,
            limit_hash,
            response_bytes: 0x80,
        }
    }

    #[test]
    fn empty_bounds_are_empty_strings() {
        let message = request(None, None);
        // [1, root, [account], "", "", 0x80]
        let expected = [
            &hex!("f848 01 a0")[..],
            &[0x11; 32],
            &hex!("e1 a0"),
            &[0x22; 32],
            &hex!("80 80 8180"),
        ]
        .concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(message.length(), expected.len());
        assert_eq!(GetStorageRanges::from_rlp(&expected), Ok(message.clone()));
        assert_eq!(message.origin(), SlotHash::ZERO);
        assert_eq!(message.limit(), SlotHash::MAX);
    }

    #[test]
    fn explicit_bounds_are_32_bytes() {
        let start = SlotHash(B256::repeat_byte(0x33));
        let message = request(Some(start), Some(SlotHash::ZERO));
        let encoded = alloy_rlp::encode(&message);
        assert_eq!(encoded.len(), 2 + 1 + 33 + 34 + 33 + 33 + 2);
        assert_eq!(GetStorageRanges::from_rlp(&encoded), Ok(message.clone()));
        assert_eq!(message.origin(), start);
        assert_eq!(message.limit(), SlotHash::ZERO);
    }

    #[test]
    fn rejects_bounds_of_other_lengths() {
        let mut encoded = alloy_rlp::encode(request(None, None));
        // Replace the empty starting hash (third-last field) by a 1-byte string.
        let position = encoded.len() - 4;
        assert_eq!(encoded[position], 0x80);
        encoded.splice(position..=position, hex!("8180"));
        encoded[1] += 1;
        assert_eq!(
            GetStorageRanges::from_rlp(&encoded),
            Err(DecodeError::NotEmptyOrHash { field: "GetStorageRanges.starting_hash", got: 1 })
        );
    }

    #[test]
    fn storage_ranges_nest_slot_lists() {
        let slot = StorageSlot::from_value(SlotHash(B256::repeat_byte(0x44)), U256::from(0x1234));
        assert_eq!(slot.data.as_ref(), hex!("821234"));
        assert_eq!(slot.value(), Ok(U256::from(0x1234)));
        let message =
            StorageRanges { request_id: 2, slots: vec![vec![slot], vec![]], proof: vec![] };
        // [2, [[[hash, 0x821234]], []], []]
        let expected =
            [&hex!("eb 02 e8 e6 e5 a0")[..], &[0x44; 32], &hex!("83821234 c0 c0")].concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(StorageRanges::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn slot_value_must_be_one_canonical_integer() {
        let slot =
            |data: &[u8]| StorageSlot { hash: SlotHash::ZERO, data: Bytes::copy_from_slice(data) };
        assert_eq!(slot(&hex!("05")).value(), Ok(U256::from(5)));
        assert!(slot(&hex!("0505")).value().is_err());
        assert!(slot(&hex!("820005")).value().is_err());
        assert!(slot(&[]).value().is_err());
    }

    #[test]
    fn nested_slot_errors_name_both_positions() {
        // [2, [[], [[hash-too-short, 0x01]]], []]
        let bytes = hex!("ca 02 c7 c0 c5 c4 82abcd 01 c0");
        let error = StorageRanges::from_rlp(&bytes).unwrap_err();
        let DecodeError::InList { list: "StorageRanges.slots", index: 1, source } = &error else {
            panic!("unexpected {error:?}");
        };
        assert!(matches!(**source, DecodeError::InList { list: "account slots", index: 0, .. }));
        assert_eq!(
            *error.root_cause(),
            DecodeError::WrongLength { field: "StorageSlot.hash", expected: 32, got: 2 }
        );
    }
}
