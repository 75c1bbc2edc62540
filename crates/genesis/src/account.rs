//! One account's state, and how an account is identified.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use std::{collections::BTreeMap, fmt};

/// An account of a genesis file: everything the state trie derives its leaf from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenesisAccount {
    /// The nonce (`0` when the file omits it).
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// The contract code; empty for an account without code.
    pub code: Bytes,
    /// The storage, keyed by slot (not hashed), as 32-byte words. Only non-zero values: a slot
    /// written as zero is not part of the state (the trie holds no zero values) and is dropped
    /// when the file is read.
    pub storage: BTreeMap<B256, U256>,
}

/// How a state-dump account is identified.
///
/// A dump lists an account by address when the dumping client knew the address's preimage, and
/// otherwise only by its account hash (`keccak256(address)`, the key in the state trie), which is
/// all the state root needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountId {
    /// The account's address.
    Address(Address),
    /// Only the account's hash is known.
    Hash(B256),
}

impl AccountId {
    /// The account's key in the state trie: `keccak256(address)`, or the hash itself.
    pub fn hashed_key(&self) -> B256 {
        match self {
            Self::Address(address) => keccak256(address),
            Self::Hash(hash) => *hash,
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(address) => write!(f, "{address}"),
            Self::Hash(hash) => write!(f, "account hash {hash}"),
        }
    }
}

/// An account key or slot as the file writes it, fit for a message: quoted, escaped, and cut to a
/// sane length (a key is never legitimately longer than a `pre(0x…)` hash).
pub(crate) fn label(raw: &str) -> String {
    const MAX_CHARS: usize = 72;
    let mut out = String::with_capacity(raw.len().min(MAX_CHARS) + 8);
    out.push('"');
    for ch in raw.chars().take(MAX_CHARS) {
        out.extend(ch.escape_debug());
    }
    if raw.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn hashed_key_of_an_address_is_its_keccak() {
        let address = address!("0000000000000000000000000000000000000000");
        assert_eq!(AccountId::Address(address).hashed_key(), keccak256(address));
        assert_eq!(AccountId::Hash(B256::repeat_byte(7)).hashed_key(), B256::repeat_byte(7));
    }

    #[test]
    fn labels_are_quoted_escaped_and_bounded() {
        assert_eq!(label("0xab"), "\"0xab\"");
        assert_eq!(label("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "x".repeat(1000);
        assert_eq!(label(&long).chars().count(), 72 + 3);
    }
}
