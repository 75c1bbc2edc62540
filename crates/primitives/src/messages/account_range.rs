//! The account range exchange: [`GetAccountRange`] (0x00) and [`AccountRange`] (0x01).

use alloy_primitives::{B256, Bytes};
use alloy_rlp::RlpEncodable;

use crate::{
    AccountHash, DecodeError, FromRlp, SlimAccount,
    decoder::{self, ListReader},
    from_rlp::decodable_via_from_rlp,
};

/// Request for the accounts of the state trie rooted at `root_hash` whose hashes lie in
/// `starting_hash..=limit_hash`, up to about `response_bytes` of data.
///
/// `[reqID: P, rootHash: B_32, startingHash: B_32, limitHash: B_32, responseBytes: P]`
#[derive(Clone, Debug, PartialEq, Eq, Hash, RlpEncodable)]
pub struct GetAccountRange {
    /// Request ID, echoed by the response.
    pub request_id: u64,
    /// State root of the account trie to serve.
    pub root_hash: B256,
    /// Hash of the first account to return (proven even if absent).
    pub starting_hash: AccountHash,
    /// Hash after which to stop returning accounts.
    pub limit_hash: AccountHash,
    /// Soft limit of the response size in bytes.
    pub response_bytes: u64,
}

impl GetAccountRange {
    /// The snap/1 message code.
    pub const ID: u8 = 0x00;
}

impl FromRlp for GetAccountRange {
    const NAME: &'static str = "GetAccountRange";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 5)?;
        let message = Self {
            request_id: list.u64("GetAccountRange.request_id")?,
            root_hash: list.b256("GetAccountRange.root_hash")?,
            starting_hash: AccountHash(list.b256("GetAccountRange.starting_hash")?),
            limit_hash: AccountHash(list.b256("GetAccountRange.limit_hash")?),
            response_bytes: list.u64("GetAccountRange.response_bytes")?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// Consecutive accounts of the state trie with the boundary proof of the range.
///
/// `[reqID: P, accounts: [[accHash: B_32, accBody: B], ...], proof: [node: B, ...]]`
///
/// `accBody` is the [`SlimAccount`] RLP list embedded as is (go-ethereum's
/// `rlp.RawValue`), not wrapped in a byte string as the spec's `B` might suggest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct AccountRange {
    /// ID of the request this answers.
    pub request_id: u64,
    /// The accounts, in increasing hash order.
    pub accounts: Vec<AccountEntry>,
    /// Trie nodes proving the first (requested origin) and last returned paths.
    pub proof: Vec<Bytes>,
}

impl AccountRange {
    /// The snap/1 message code.
    pub const ID: u8 = 0x01;
}

impl FromRlp for AccountRange {
    const NAME: &'static str = "AccountRange";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 3)?;
        let message = Self {
            request_id: list.u64("AccountRange.request_id")?,
            accounts: list.list("AccountRange.accounts", AccountEntry::decode_prefix)?,
            proof: list
                .list("AccountRange.proof", |buf| decoder::decode_bytes(buf, "proof node"))?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// One account of an [`AccountRange`]: `[accHash: B_32, accBody]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, RlpEncodable)]
pub struct AccountEntry {
    /// The account's key in the state trie.
    pub hash: AccountHash,
    /// The account.
    pub account: SlimAccount,
}

impl FromRlp for AccountEntry {
    const NAME: &'static str = "AccountEntry";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 2)?;
        let entry = Self {
            hash: AccountHash(list.b256("AccountEntry.hash")?),
            account: list.next(SlimAccount::decode_prefix)?,
        };
        list.finish()?;
        Ok(entry)
    }
}

decodable_via_from_rlp!(GetAccountRange, AccountRange, AccountEntry);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::{U256, hex};

    #[test]
    fn get_account_range_is_byte_exact() {
        let message = GetAccountRange {
            request_id: 0x1234,
            root_hash: B256::repeat_byte(0x11),
            starting_hash: AccountHash::ZERO,
            limit_hash: AccountHash::MAX,
            response_bytes: 500_000,
        };
        let expected = [
            &hex!("f86a 821234 a0")[..],
            &[0x11; 32],
            &[0xa0],
            &[0x00; 32],
            &[0xa0],
            &[0xff; 32],
            &hex!("8307a120"),
        ]
        .concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(GetAccountRange::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn account_body_is_embedded_as_a_list() {
        let message = AccountRange {
            request_id: 7,
            accounts: vec![AccountEntry {
                hash: AccountHash(B256::repeat_byte(0xaa)),
                account: SlimAccount { nonce: 1, balance: U256::from(2), ..SlimAccount::EMPTY },
            }],
            proof: vec![Bytes::from_static(&hex!("c0")), Bytes::from_static(&[0xde; 3])],
        };
        // [7, [[hash, [1, 2, "", ""]]], [0xc0, 0xdedede]]
        let expected = [
            &hex!("f0 07 e7 e6 a0")[..],
            &[0xaa; 32],
            &hex!("c4 01 02 80 80"),
            &hex!("c6 81c0 83dedede"),
        ]
        .concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(AccountRange::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn account_body_wrapped_in_a_string_is_rejected() {
        // The body as the byte string 0x85c401028080 instead of the list itself.
        let wrapped =
            [&hex!("eb 07 e8 e7 a0")[..], &[0xaa; 32], &hex!("85 c4 01 02 80 80"), &hex!("c0")]
                .concat();
        let error = AccountRange::from_rlp(&wrapped).unwrap_err();
        assert!(
            matches!(error, DecodeError::InList { list: "AccountRange.accounts", index: 0, .. }),
            "{error}"
        );
        assert!(matches!(
            error.root_cause(),
            DecodeError::Rlp { field: "SlimAccount", source: alloy_rlp::Error::UnexpectedString }
        ));
    }

    #[test]
    fn rejects_short_hashes_and_missing_fields() {
        let short_root = hex!("c7 01 82abcd 80 80 80");
        assert_eq!(
            GetAccountRange::from_rlp(&short_root),
            Err(DecodeError::WrongLength {
                field: "GetAccountRange.root_hash",
                expected: 32,
                got: 2
            })
        );
        assert_eq!(
            AccountRange::from_rlp(&hex!("c201c0")),
            Err(DecodeError::ListLength { list: "AccountRange", expected: 3, got: 2 })
        );
    }
}
