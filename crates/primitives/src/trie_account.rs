//! [`TrieAccount`]: an account as the state trie stores it.

use alloy_primitives::{B256, U256};
use alloy_rlp::RlpEncodable;

use crate::{
    DecodeError, EMPTY_ROOT_HASH, FromRlp, KECCAK_EMPTY, SlimAccount, decoder::ListReader,
    from_rlp::decodable_via_from_rlp,
};

/// An account in the consensus encoding of the state trie's leaves:
/// `[nonce: P, balance: P, storageRoot: B_32, codeHash: B_32]`.
///
/// The storage root and code hash are always full 32-byte hashes here; snap/1 transfers the
/// same data in the [`SlimAccount`] form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, RlpEncodable)]
pub struct TrieAccount {
    /// Number of transactions sent (or contracts created) by the account.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Root hash of the account's storage trie ([`EMPTY_ROOT_HASH`] when it has no storage).
    pub storage_root: B256,
    /// Keccak-256 of the account's code ([`KECCAK_EMPTY`] when it has no code).
    pub code_hash: B256,
}

impl TrieAccount {
    /// The account that has never been touched: no nonce, balance, storage or code.
    pub const EMPTY: Self = Self {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    };

    /// Whether the account is empty in the sense of EIP-161: zero nonce, zero balance and no
    /// code. The storage root is not considered.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && !self.has_code()
    }

    /// Whether the account has a non-empty storage trie.
    pub fn has_storage(&self) -> bool {
        self.storage_root != EMPTY_ROOT_HASH
    }

    /// Whether the account has code.
    pub fn has_code(&self) -> bool {
        self.code_hash != KECCAK_EMPTY
    }

    /// The same account in the snap/1 slim form.
    pub const fn to_slim(self) -> SlimAccount {
        SlimAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root: self.storage_root,
            code_hash: self.code_hash,
        }
    }
}

/// [`TrieAccount::EMPTY`], not all-zero hashes.
impl Default for TrieAccount {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl From<SlimAccount> for TrieAccount {
    fn from(account: SlimAccount) -> Self {
        account.into_full()
    }
}

impl FromRlp for TrieAccount {
    const NAME: &'static str = "TrieAccount";

    /// Strict: both hashes must be 32-byte strings, integers canonical, exactly four fields.
    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 4)?;
        let account = Self {
            nonce: list.u64("TrieAccount.nonce")?,
            balance: list.u256("TrieAccount.balance")?,
            storage_root: list.b256("TrieAccount.storage_root")?,
            code_hash: list.b256("TrieAccount.code_hash")?,
        };
        list.finish()?;
        Ok(account)
    }
}

decodable_via_from_rlp!(TrieAccount);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::{b256, hex};

    fn contract() -> TrieAccount {
        TrieAccount {
            nonce: 1,
            balance: U256::from(1_000_000_001u64),
            storage_root: b256!("0ed2d94007a0eecee7c27c531d1249a18f6c48fe86c6d6e87c50b6943a5f015a"),
            code_hash: b256!("0345a365d2f4c5975b9f1599abe0a2ee76b7a3a731bc68781bd04c84e4858f50"),
        }
    }

    #[test]
    fn empty_account_encoding_is_the_well_known_70_bytes() {
        let encoded = alloy_rlp::encode(TrieAccount::EMPTY);
        let expected = hex!(
            "f8448080a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
            "a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(encoded, expected);
        assert_eq!(TrieAccount::from_rlp(&expected), Ok(TrieAccount::EMPTY));
        assert_eq!(TrieAccount::default(), TrieAccount::EMPTY);
    }

    #[test]
    fn round_trips_through_rlp() {
        let account = contract();
        let encoded = alloy_rlp::encode(account);
        assert_eq!(alloy_rlp::Encodable::length(&account), encoded.len());
        assert_eq!(TrieAccount::from_rlp(&encoded), Ok(account));
        assert_eq!(alloy_rlp::decode_exact::<TrieAccount>(&encoded), Ok(account));
    }

    #[test]
    fn emptiness_follows_eip_161() {
        assert!(TrieAccount::EMPTY.is_empty());
        assert!(!TrieAccount::EMPTY.has_storage());
        assert!(!TrieAccount::EMPTY.has_code());
        let with_storage_only =
            TrieAccount { storage_root: B256::repeat_byte(1), ..TrieAccount::EMPTY };
        assert!(with_storage_only.is_empty());
        assert!(with_storage_only.has_storage());
        assert!(!contract().is_empty());
        assert!(!TrieAccount { nonce: 1, ..TrieAccount::EMPTY }.is_empty());
    }

    #[test]
    fn rejects_wrong_item_counts_naming_the_list() {
        // [0, 0, emptyRoot] (three items).
        let mut three = vec![0xe3, 0x80, 0x80, 0xa0];
        three.extend_from_slice(EMPTY_ROOT_HASH.as_slice());
        assert_eq!(
            TrieAccount::from_rlp(&three),
            Err(DecodeError::ListLength { list: "TrieAccount", expected: 4, got: 3 })
        );
        // Five items: a trailing 0x80.
        let mut five = alloy_rlp::encode(TrieAccount::EMPTY);
        five[1] += 1;
        five.push(0x80);
        assert_eq!(
            TrieAccount::from_rlp(&five),
            Err(DecodeError::ListLength { list: "TrieAccount", expected: 4, got: 5 })
        );
    }

    #[test]
    fn rejects_bad_fields_naming_them() {
        // Slim-style empty storage root is not valid in the full encoding.
        let slim_root =
            hex!("e4 80 80 80 a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        assert_eq!(
            TrieAccount::from_rlp(&slim_root),
            Err(DecodeError::WrongLength {
                field: "TrieAccount.storage_root",
                expected: 32,
                got: 0
            })
        );
        // Nonce with a leading zero byte.
        let mut leading_zero = alloy_rlp::encode(TrieAccount::EMPTY);
        leading_zero.splice(2..3, [0x82, 0x00, 0x01]);
        leading_zero[1] += 2;
        assert!(matches!(
            TrieAccount::from_rlp(&leading_zero),
            Err(DecodeError::Rlp {
                field: "TrieAccount.nonce",
                source: alloy_rlp::Error::LeadingZero
            })
        ));
        // Nonce above u64::MAX.
        let mut overflow = alloy_rlp::encode(TrieAccount::EMPTY);
        overflow.splice(2..3, hex!("89010000000000000000"));
        overflow[1] += 9;
        assert!(matches!(
            TrieAccount::from_rlp(&overflow),
            Err(DecodeError::Rlp {
                field: "TrieAccount.nonce",
                source: alloy_rlp::Error::Overflow
            })
        ));
    }

    #[test]
    fn rejects_trailing_bytes_and_strings() {
        let mut trailing = alloy_rlp::encode(contract());
        trailing.extend_from_slice(&[0xc0, 0x80]);
        assert_eq!(
            TrieAccount::from_rlp(&trailing),
            Err(DecodeError::TrailingBytes { item: "TrieAccount", count: 2 })
        );
        assert!(matches!(
            TrieAccount::from_rlp(&hex!("80")),
            Err(DecodeError::Rlp {
                field: "TrieAccount",
                source: alloy_rlp::Error::UnexpectedString
            })
        ));
    }
}
