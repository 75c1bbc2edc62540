//! Hashed trie keys: [`AccountHash`] and [`SlotHash`].
//!
//! The state trie is keyed by `keccak256(address)` and each storage trie by
//! `keccak256(slot key)`; snap/1 speaks only of these hashes. Keeping them in distinct types
//! stops an address, a raw slot key, a state root or a code hash from being used where a trie
//! path is meant, and orders them the way the trie iterates (byte-wise, big-endian).

use core::{fmt, str::FromStr};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::{BufMut, Encodable};
use nybbles::Nibbles;

use crate::{DecodeError, FromRlp, decoder, from_rlp::decodable_via_from_rlp};

macro_rules! hashed_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub B256);

        impl $name {
            /// The smallest key: the first path of the trie.
            pub const ZERO: Self = Self(B256::ZERO);
            /// The largest key: the last path of the trie.
            pub const MAX: Self = Self(B256::repeat_byte(0xff));

            /// Wraps a hash that is already the trie key.
            pub const fn new(hash: B256) -> Self {
                Self(hash)
            }

            /// The hash as a [`B256`].
            pub const fn as_b256(&self) -> &B256 {
                &self.0
            }

            /// The hash as a [`B256`], by value.
            pub const fn into_b256(self) -> B256 {
                self.0
            }

            /// The 64-nibble trie path of the key.
            pub const fn to_nibbles(&self) -> Nibbles {
                Nibbles::unpack_array(&self.0.0)
            }

            /// The next key in trie order, or `None` after [`Self::MAX`].
            pub fn checked_next(&self) -> Option<Self> {
                let next = U256::from_be_bytes(self.0.0).checked_add(U256::from(1u8))?;
                Some(Self(B256::from(next.to_be_bytes::<32>())))
            }
        }

        impl From<B256> for $name {
            fn from(hash: B256) -> Self {
                Self(hash)
            }
        }

        impl From<$name> for B256 {
            fn from(key: $name) -> Self {
                key.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                self.0.as_slice()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }

        /// Parses 64 hex digits, with or without a `0x` prefix.
        impl FromStr for $name {
            type Err = <B256 as FromStr>::Err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                B256::from_str(s).map(Self)
            }
        }

        /// Encoded as a 32-byte RLP string.
        impl Encodable for $name {
            fn encode(&self, out: &mut dyn BufMut) {
                self.0.encode(out);
            }

            fn length(&self) -> usize {
                self.0.length()
            }
        }

        impl FromRlp for $name {
            const NAME: &'static str = stringify!($name);

            fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
                decoder::decode_b256(buf, Self::NAME).map(Self)
            }
        }

        decodable_via_from_rlp!($name);
    };
}

hashed_key! {
    /// The key of an account in the state trie: `keccak256(address)`.
    AccountHash
}

hashed_key! {
    /// The key of a slot in a storage trie: `keccak256(slot key)`, where the slot key is the
    /// 32-byte big-endian storage index.
    SlotHash
}

impl AccountHash {
    /// The state trie key of `address`.
    pub fn of(address: &Address) -> Self {
        Self(keccak256(address))
    }
}

impl SlotHash {
    /// The storage trie key of the slot with key `slot`.
    pub fn of(slot: &B256) -> Self {
        Self(keccak256(slot))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::{address, b256, hex};

    #[test]
    fn account_hash_is_keccak_of_the_address() {
        // Keccak-256 of the zero address, as in every state dump.
        assert_eq!(
            AccountHash::of(&Address::ZERO),
            AccountHash(b256!("5380c7b7ae81a58eb98d9c78de4a1fd7fd9535fc953ed2be602daaa41767312a"))
        );
        let address = address!("00000961ef480eb55e80d19ad83579a64c007002");
        assert_eq!(AccountHash::of(&address).0, keccak256(address.as_slice()));
    }

    #[test]
    fn slot_hash_is_keccak_of_the_32_byte_key() {
        // Keccak-256 of 32 zero bytes.
        assert_eq!(
            SlotHash::of(&B256::ZERO),
            SlotHash(b256!("290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"))
        );
    }

    #[test]
    fn rlp_is_a_32_byte_string() {
        let key = AccountHash(B256::repeat_byte(0xab));
        let encoded = alloy_rlp::encode(key);
        assert_eq!(encoded.len(), 33);
        assert_eq!(encoded[0], 0xa0);
        assert_eq!(key.length(), 33);
        assert_eq!(AccountHash::from_rlp(&encoded), Ok(key));
        assert_eq!(
            <SlotHash as alloy_rlp::Decodable>::decode(&mut &encoded[..]),
            Ok(SlotHash(key.0))
        );
    }

    #[test]
    fn rlp_rejects_other_lengths_and_lists() {
        assert_eq!(
            SlotHash::from_rlp(&hex!("820102")),
            Err(DecodeError::WrongLength { field: "SlotHash", expected: 32, got: 2 })
        );
        assert!(matches!(
            AccountHash::from_rlp(&hex!("c0")),
            Err(DecodeError::Rlp {
                field: "AccountHash",
                source: alloy_rlp::Error::UnexpectedList
            })
        ));
        let mut trailing = alloy_rlp::encode(AccountHash::ZERO);
        trailing.push(0);
        assert_eq!(
            AccountHash::from_rlp(&trailing),
            Err(DecodeError::TrailingBytes { item: "AccountHash", count: 1 })
        );
    }

    #[test]
    fn formatting_is_hex() {
        let key = SlotHash(B256::with_last_byte(1));
        let hex = "0x0000000000000000000000000000000000000000000000000000000000000001";
        assert_eq!(key.to_string(), hex);
        assert_eq!(format!("{key:?}"), format!("SlotHash({hex})"));
        assert_eq!(hex.parse::<SlotHash>().unwrap(), key);
    }

    #[test]
    fn order_is_trie_order_and_next_steps_by_one() {
        let low = AccountHash(B256::with_last_byte(0xff));
        let next = low.checked_next().unwrap();
        assert!(low < next);
        assert_eq!(next.0[30], 1);
        assert_eq!(next.0[31], 0);
        assert_eq!(AccountHash::MAX.checked_next(), None);
        assert_eq!(AccountHash::ZERO.checked_next(), Some(AccountHash(B256::with_last_byte(1))));
    }

    #[test]
    fn nibbles_are_the_64_nibble_path() {
        let key =
            SlotHash(b256!("1234000000000000000000000000000000000000000000000000000000000abc"));
        let nibbles = key.to_nibbles();
        assert_eq!(nibbles.len(), 64);
        assert_eq!(nibbles.get(0), Some(1));
        assert_eq!(nibbles.get(3), Some(4));
        assert_eq!(nibbles.get(63), Some(0xc));
    }
}
