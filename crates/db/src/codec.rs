//! How typed keys and values become bytes, and back: see [`TableKey`] and [`TableValue`].

use crate::DecodeError;
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, FromRlp, SlotHash, TrieAccount};

/// The most nibbles a trie path has (a 32-byte key).
pub const MAX_PATH_NIBBLES: usize = 64;

/// A key type of a table: encodes to bytes whose bytewise order is the key order.
///
/// Keys are compared bytewise by every backend, so each key encoding is chosen so that **byte
/// order is the order the type is meant to be walked in**:
///
/// - hashes ([`B256`], [`AccountHash`], [`SlotHash`]): their 32 bytes, big-endian by nature;
/// - block numbers (`u64`): 8 bytes big-endian;
/// - strings: their UTF-8 bytes;
/// - nibble paths ([`Nibbles`]): **one byte per nibble** (`0x00..=0x0f`), 0 to 64 bytes. Bytewise
///   comparison of such strings is exactly trie order: siblings in nibble order, and a path sorts
///   before its extensions because a proper prefix is smaller. Packing two nibbles per byte plus a
///   trailing length byte would not be: `[1]` → `10 01` sorts *after* `[1,0,0]` → `10 00 03`. (32
///   zero-padded packed bytes plus a length byte would sort correctly, but costs 33 bytes per key
///   where trie nodes live at depths of 6 to 10 nibbles.)
/// - composite keys put the fixed-width account hash first, so everything of one account is one
///   contiguous key range: `(AccountHash, SlotHash)` is 64 bytes, `(AccountHash, Nibbles)` is 32
///   bytes plus the path.
///
/// Decoding is strict: a wrong length or a non-nibble byte is a [`DecodeError`], never a panic.
pub trait TableKey: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode_key(&self, out: &mut Vec<u8>);

    /// Decodes a key from exactly `bytes`.
    ///
    /// # Errors
    /// When `bytes` is not the encoding of any key of the type.
    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// A value type of a table.
///
/// [`TrieAccount`] is stored as its consensus RLP (what the state trie's leaves hold); a storage
/// value [`U256`] as its big-endian bytes without leading zeros (1 to 32 bytes; zero is never
/// stored, see [`TableValue::is_absent`]); opaque [`Bytes`] as themselves; `u64` as 8 bytes
/// big-endian. Decoding is strict: a wrong length, a non-canonical integer or RLP is a
/// [`DecodeError`], never a panic.
pub trait TableValue: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode_value(&self, out: &mut Vec<u8>);

    /// Decodes a value from exactly `bytes`.
    ///
    /// # Errors
    /// When `bytes` is not the encoding of any value of the type.
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError>;

    /// Whether this value means "no entry" and is therefore never stored: putting it deletes the
    /// key. True only for a zero storage value.
    fn is_absent(&self) -> bool {
        false
    }
}

/// The bytes as a fixed-size array, or a length error.
fn exact<const N: usize>(bytes: &[u8], expected: &'static str) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::Length { expected, got: bytes.len() })
}

impl TableKey for B256 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        exact::<32>(bytes, "32 bytes").map(B256::from)
    }
}

impl TableKey for AccountHash {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.0.encode_key(out);
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        B256::decode_key(bytes).map(Self)
    }
}

impl TableKey for SlotHash {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.0.encode_key(out);
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        B256::decode_key(bytes).map(Self)
    }
}

impl TableKey for u64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        exact::<8>(bytes, "8 bytes").map(u64::from_be_bytes)
    }
}

impl TableKey for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(std::str::from_utf8(bytes)?.to_owned())
    }
}

impl TableKey for Nibbles {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend(self.iter());
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_PATH_NIBBLES {
            return Err(DecodeError::Length { expected: "at most 64 nibbles", got: bytes.len() });
        }
        if let Some((index, &byte)) = bytes.iter().enumerate().find(|(_, b)| **b > 0x0f) {
            return Err(DecodeError::Nibble { index, byte });
        }
        Ok(Nibbles::from_nibbles_unchecked(bytes))
    }
}

impl TableKey for (AccountHash, SlotHash) {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.0.encode_key(out);
        self.1.encode_key(out);
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let both = exact::<64>(bytes, "64 bytes")?;
        let (account, slot) = both.split_at(32);
        Ok((AccountHash::decode_key(account)?, SlotHash::decode_key(slot)?))
    }
}

impl TableKey for (AccountHash, Nibbles) {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.0.encode_key(out);
        self.1.encode_key(out);
    }

    fn decode_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some((account, path)) = bytes.split_at_checked(32) else {
            return Err(DecodeError::Length { expected: "at least 32 bytes", got: bytes.len() });
        };
        Ok((AccountHash::decode_key(account)?, Nibbles::decode_key(path)?))
    }
}

impl TableValue for TrieAccount {
    fn encode_value(&self, out: &mut Vec<u8>) {
        alloy_rlp::Encodable::encode(self, out);
    }

    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self::from_rlp(bytes)?)
    }
}

impl TableValue for U256 {
    fn encode_value(&self, out: &mut Vec<u8>) {
        let bytes = self.to_be_bytes::<32>();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.extend_from_slice(&bytes[skip..]);
    }

    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > 32 {
            return Err(DecodeError::Length { expected: "at most 32 bytes", got: bytes.len() });
        }
        if bytes.first().is_none_or(|b| *b == 0) {
            return Err(DecodeError::NonCanonicalInteger);
        }
        Ok(Self::from_be_slice(bytes))
    }

    fn is_absent(&self) -> bool {
        self.is_zero()
    }
}

impl TableValue for Bytes {
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }

    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self::copy_from_slice(bytes))
    }
}

impl TableValue for u64 {
    fn encode_value(&self, out: &mut Vec<u8>) {
        self.encode_key(out);
    }

    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_key(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key_bytes<K: TableKey>(key: &K) -> Vec<u8> {
        let mut out = Vec::new();
        key.encode_key(&mut out);
        out
    }

    fn value_bytes<V: TableValue>(value: &V) -> Vec<u8> {
        let mut out = Vec::new();
        value.encode_value(&mut out);
        out
    }

    fn nibbles() -> impl Strategy<Value = Nibbles> {
        prop::collection::vec(0u8..16, 0..=64).prop_map(Nibbles::from_nibbles_unchecked)
    }

    fn account() -> impl Strategy<Value = TrieAccount> {
        (any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(
            |(nonce, balance, storage_root, code_hash)| TrieAccount {
                nonce,
                balance: U256::from_be_bytes(balance),
                storage_root: storage_root.into(),
                code_hash: code_hash.into(),
            },
        )
    }

    #[test]
    fn packed_path_with_length_byte_would_sort_wrongly() {
        // The reason for one byte per nibble: with packing, [1,0,0] would sort before [1].
        let short = Nibbles::from_nibbles([1]);
        let long = Nibbles::from_nibbles([1, 0, 0]);
        assert!(short < long);
        assert!(key_bytes(&short) < key_bytes(&long));
        let packed = |n: &Nibbles| {
            let mut out = n.pack().to_vec();
            out.push(u8::try_from(n.len()).unwrap());
            out
        };
        assert!(packed(&short) > packed(&long));
    }

    #[test]
    fn corrupt_encodings_are_errors() {
        assert!(matches!(Nibbles::decode_key(&[1, 16]), Err(DecodeError::Nibble { index: 1, .. })));
        assert!(matches!(Nibbles::decode_key(&[0; 65]), Err(DecodeError::Length { .. })));
        assert!(matches!(B256::decode_key(&[0; 31]), Err(DecodeError::Length { got: 31, .. })));
        assert!(matches!(u64::decode_key(&[0; 9]), Err(DecodeError::Length { .. })));
        assert!(matches!(U256::decode_value(&[]), Err(DecodeError::NonCanonicalInteger)));
        assert!(matches!(U256::decode_value(&[0, 1]), Err(DecodeError::NonCanonicalInteger)));
        assert!(matches!(U256::decode_value(&[1; 33]), Err(DecodeError::Length { .. })));
        assert!(matches!(String::decode_key(&[0xff]), Err(DecodeError::Utf8(_))));
        assert!(matches!(TrieAccount::decode_value(&[0xc0]), Err(DecodeError::Rlp(_))));
        assert!(matches!(
            <(AccountHash, Nibbles)>::decode_key(&[0; 31]),
            Err(DecodeError::Length { .. })
        ));
        let mut account = value_bytes(&TrieAccount::EMPTY);
        account.push(0);
        assert!(TrieAccount::decode_value(&account).is_err(), "trailing bytes accepted");
        assert!(U256::ZERO.is_absent() && !U256::from(1).is_absent());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Path keys: byte order is Nibbles order, and both are trie order (a prefix first, then
        /// siblings in nibble order), and the encoding round-trips.
        #[test]
        fn path_key_order_is_trie_order(a in nibbles(), b in nibbles()) {
            let (ka, kb) = (key_bytes(&a), key_bytes(&b));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(a.to_vec().cmp(&b.to_vec()), a.cmp(&b));
            prop_assert_eq!(Nibbles::decode_key(&ka).unwrap(), a);
        }

        #[test]
        fn storage_path_keys_group_by_account(
            x in any::<[u8; 32]>(), y in any::<[u8; 32]>(), a in nibbles(), b in nibbles(),
        ) {
            let (x, y) = (AccountHash(x.into()), AccountHash(y.into()));
            let (ka, kb) = (key_bytes(&(x, a)), key_bytes(&(y, b)));
            prop_assert_eq!(ka.cmp(&kb), (x, a).cmp(&(y, b)));
            prop_assert_eq!(<(AccountHash, Nibbles)>::decode_key(&ka).unwrap(), (x, a));
        }

        #[test]
        fn fixed_keys_round_trip_in_order(
            a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), n in any::<u64>(), m in any::<u64>(),
        ) {
            let (a, b) = (AccountHash(a.into()), AccountHash(b.into()));
            let (sa, sb) = (SlotHash(a.0), SlotHash(b.0));
            prop_assert_eq!(key_bytes(&(a, sb)).cmp(&key_bytes(&(b, sa))), (a, sb).cmp(&(b, sa)));
            prop_assert_eq!(<(AccountHash, SlotHash)>::decode_key(&key_bytes(&(a, sb))).unwrap(), (a, sb));
            prop_assert_eq!(key_bytes(&n).cmp(&key_bytes(&m)), n.cmp(&m));
            prop_assert_eq!(u64::decode_key(&key_bytes(&n)).unwrap(), n);
            prop_assert_eq!(B256::decode_key(&key_bytes(&a.0)).unwrap(), a.0);
        }

        #[test]
        fn values_round_trip(account in account(), raw in any::<[u8; 32]>(), shift in 0usize..256, s in ".*") {
            prop_assert_eq!(TrieAccount::decode_value(&value_bytes(&account)).unwrap(), account);
            let value = U256::from_be_bytes(raw) >> shift;
            if value.is_zero() {
                prop_assert!(value.is_absent());
            } else {
                let bytes = value_bytes(&value);
                prop_assert_eq!(bytes.len(), value.byte_len());
                prop_assert_eq!(U256::decode_value(&bytes).unwrap(), value);
            }
            prop_assert!(String::decode_key(&key_bytes(&s)).unwrap() == s);
            let bytes = Bytes::from(s.into_bytes());
            prop_assert_eq!(Bytes::decode_value(&value_bytes(&bytes)).unwrap(), bytes);
        }
    }
}
