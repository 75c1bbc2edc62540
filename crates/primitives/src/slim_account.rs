//! [`SlimAccount`]: an account in the snap/1 slim encoding.

use alloy_primitives::{B256, U256};
use alloy_rlp::{BufMut, Encodable, Header};

use crate::{
    DecodeError, EMPTY_ROOT_HASH, FromRlp, KECCAK_EMPTY, TrieAccount, decoder::ListReader,
    from_rlp::decodable_via_from_rlp,
};

/// An account as snap/1 transfers it (`accBody` of `AccountRange`).
///
/// The fields are the same as [`TrieAccount`]'s and always hold real hashes; only the encoding
/// differs: a storage root equal to [`EMPTY_ROOT_HASH`] and a code hash equal to
/// [`KECCAK_EMPTY`] are encoded as the empty byte string (`0x80`) instead of 32 bytes, which
/// saves 64 bytes for every plain account.
///
/// # Decoding
///
/// Decoding accepts, for each of the two hashes, either the empty string or any 32-byte
/// string, *including* the 32-byte form of the empty root or empty code hash. That is what
/// go-ethereum does (`types.FullAccount` only special-cases the empty string), so a peer
/// sending the long form is still understood; both forms denote the same account, have the
/// same full encoding and so verify against the same range proof. Re-encoding always
/// produces the canonical short form. Anything else is rejected, where go-ethereum is laxer:
/// a hash of another length (go-ethereum pads or truncates it), an empty list `0xc0` (which
/// the snap spec's wording "empty list" might suggest, but no client sends), a fifth field or
/// trailing bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlimAccount {
    /// Number of transactions sent (or contracts created) by the account.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Root hash of the account's storage trie ([`EMPTY_ROOT_HASH`] when it has no storage).
    pub storage_root: B256,
    /// Keccak-256 of the account's code ([`KECCAK_EMPTY`] when it has no code).
    pub code_hash: B256,
}

impl SlimAccount {
    /// The account that has never been touched; encodes as `0xc4 80 80 80 80`.
    pub const EMPTY: Self = TrieAccount::EMPTY.to_slim();

    /// The same account in the full consensus form.
    pub const fn into_full(self) -> TrieAccount {
        TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root: self.storage_root,
            code_hash: self.code_hash,
        }
    }

    /// The slim form of `account`.
    pub const fn from_full(account: TrieAccount) -> Self {
        account.to_slim()
    }

    fn payload_length(&self) -> usize {
        self.nonce.length()
            + self.balance.length()
            + slim_hash_length(&self.storage_root, &EMPTY_ROOT_HASH)
            + slim_hash_length(&self.code_hash, &KECCAK_EMPTY)
    }
}

/// [`SlimAccount::EMPTY`], not all-zero hashes.
impl Default for SlimAccount {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl From<TrieAccount> for SlimAccount {
    fn from(account: TrieAccount) -> Self {
        account.to_slim()
    }
}

/// The encoded length of `hash` in slim form: 1 for the empty string, 33 otherwise.
fn slim_hash_length(hash: &B256, empty: &B256) -> usize {
    if hash == empty { 1 } else { hash.length() }
}

fn encode_slim_hash(hash: &B256, empty: &B256, out: &mut dyn BufMut) {
    if hash == empty {
        out.put_u8(alloy_rlp::EMPTY_STRING_CODE);
    } else {
        hash.encode(out);
    }
}

impl Encodable for SlimAccount {
    fn encode(&self, out: &mut dyn BufMut) {
        Header { list: true, payload_length: self.payload_length() }.encode(out);
        self.nonce.encode(out);
        self.balance.encode(out);
        encode_slim_hash(&self.storage_root, &EMPTY_ROOT_HASH, out);
        encode_slim_hash(&self.code_hash, &KECCAK_EMPTY, out);
    }

    fn length(&self) -> usize {
        let payload_length = self.payload_length();
        payload_length + alloy_rlp::length_of_length(payload_length)
    }
}

impl FromRlp for SlimAccount {
    const NAME: &'static str = "SlimAccount";

    /// Lenient about the long form of empty hashes only; see [the type's docs](SlimAccount).
    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 4)?;
        let account = Self {
            nonce: list.u64("SlimAccount.nonce")?,
            balance: list.u256("SlimAccount.balance")?,
            storage_root: list
                .optional_b256("SlimAccount.storage_root")?
                .unwrap_or(EMPTY_ROOT_HASH),
            code_hash: list.optional_b256("SlimAccount.code_hash")?.unwrap_or(KECCAK_EMPTY),
        };
        list.finish()?;
        Ok(account)
    }
}

decodable_via_from_rlp!(SlimAccount);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::{b256, hex};

    #[test]
    fn empty_account_is_four_empty_strings() {
        assert_eq!(alloy_rlp::encode(SlimAccount::EMPTY), hex!("c480808080"));
        assert_eq!(SlimAccount::from_rlp(&hex!("c480808080")), Ok(SlimAccount::EMPTY));
        assert_eq!(SlimAccount::default().into_full(), TrieAccount::EMPTY);
    }

    #[test]
    fn only_empty_hashes_are_shortened() {
        let storage_root =
            b256!("0ed2d94007a0eecee7c27c531d1249a18f6c48fe86c6d6e87c50b6943a5f015a");
        let account = SlimAccount {
            nonce: 1,
            balance: U256::from(0x0102),
            storage_root,
            ..SlimAccount::EMPTY
        };
        let encoded = alloy_rlp::encode(account);
        let mut expected = hex!("e6 01 820102 a0").to_vec();
        expected.extend_from_slice(storage_root.as_slice());
        expected.push(0x80);
        assert_eq!(encoded, expected);
        assert_eq!(account.length(), encoded.len());
        assert_eq!(SlimAccount::from_rlp(&encoded), Ok(account));

        let with_code = SlimAccount { code_hash: B256::repeat_byte(0x11), ..SlimAccount::EMPTY };
        let encoded = alloy_rlp::encode(with_code);
        assert_eq!(encoded.len(), 1 + 3 + 33);
        assert_eq!(SlimAccount::from_rlp(&encoded), Ok(with_code));
    }

    #[test]
    fn conversions_preserve_every_field() {
        let full = TrieAccount {
            nonce: 7,
            balance: U256::MAX,
            storage_root: B256::repeat_byte(2),
            code_hash: B256::repeat_byte(3),
        };
        let slim = SlimAccount::from(full);
        assert_eq!(slim.into_full(), full);
        assert_eq!(TrieAccount::from(slim), full);
        assert_eq!(SlimAccount::from_full(full), slim);
    }

    #[test]
    fn accepts_the_long_form_of_empty_hashes_like_geth() {
        let mut long_form = vec![0xf8, 0x44, 0x80, 0x80, 0xa0];
        long_form.extend_from_slice(EMPTY_ROOT_HASH.as_slice());
        long_form.push(0xa0);
        long_form.extend_from_slice(KECCAK_EMPTY.as_slice());
        let account = SlimAccount::from_rlp(&long_form).unwrap();
        assert_eq!(account, SlimAccount::EMPTY);
        // Re-encoding gives the canonical short form.
        assert_eq!(alloy_rlp::encode(account), hex!("c480808080"));
        // The long form is exactly the full encoding, which is what proofs are checked against.
        assert_eq!(alloy_rlp::encode(account.into_full()), long_form);
    }

    #[test]
    fn rejects_other_hash_lengths_and_lists() {
        assert_eq!(
            SlimAccount::from_rlp(&hex!("c6 80 80 820102 80")),
            Err(DecodeError::NotEmptyOrHash { field: "SlimAccount.storage_root", got: 2 })
        );
        assert!(matches!(
            SlimAccount::from_rlp(&hex!("c4 80 80 80 c0")),
            Err(DecodeError::Rlp {
                field: "SlimAccount.code_hash",
                source: alloy_rlp::Error::UnexpectedList
            })
        ));
    }

    #[test]
    fn rejects_wrong_item_counts_and_trailing_bytes() {
        assert_eq!(
            SlimAccount::from_rlp(&hex!("c3808080")),
            Err(DecodeError::ListLength { list: "SlimAccount", expected: 4, got: 3 })
        );
        assert_eq!(
            SlimAccount::from_rlp(&hex!("c58080808080")),
            Err(DecodeError::ListLength { list: "SlimAccount", expected: 4, got: 5 })
        );
        assert_eq!(
            SlimAccount::from_rlp(&hex!("c48080808000")),
            Err(DecodeError::TrailingBytes { item: "SlimAccount", count: 1 })
        );
    }
}
