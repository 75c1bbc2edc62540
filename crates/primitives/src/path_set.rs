//! Trie node path sets of `GetTrieNodes`: the wire form [`RawTrieNodePathSet`] and the
//! validated form [`TrieNodePathSet`].
//!
//! On the wire a path set is a list of byte strings. With one item, it is a compact-encoded
//! path in the account trie. With more, the first item is the plain 32-byte hash of an
//! account and every further item a compact-encoded path in that account's storage trie.
//! This follows go-ethereum (`trie.NewSyncPath` when requesting, `compactToHex` of a single
//! item and `BytesToHash` of the first of several when serving). The spec's wording, "partial
//! paths (<32 bytes) should be compact encoded, full paths should be plain binary encoded", is
//! ambiguous (a 63-nibble path compact-encodes to 32 bytes); this crate reads a lone item as
//! compact always, as go-ethereum does.
//!
//! The wire form keeps the raw bytes, so that every message that is valid RLP decodes, even
//! one with an empty path set (which a server must refuse); [`RawTrieNodePathSet::to_typed`]
//! does the validation.

use alloy_primitives::{B256, Bytes};
use alloy_rlp::RlpEncodableWrapper;
use nybbles::Nibbles;

use crate::{
    AccountHash, CompactPath, DecodeError, FromRlp, PathSetError, decoder,
    from_rlp::decodable_via_from_rlp,
};

/// A trie node path set as sent on the wire: raw byte strings, not validated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodableWrapper)]
pub struct RawTrieNodePathSet(pub Vec<Bytes>);

impl RawTrieNodePathSet {
    /// Validates the set and decodes its paths.
    ///
    /// Only [`PathSetError::Empty`] makes go-ethereum refuse the request
    /// ([`PathSetError::rejects_request`]); for the other errors it serves no node for the
    /// set, so a server should skip (or answer empty for) the set rather than fail.
    ///
    /// # Errors
    ///
    /// [`PathSetError::Empty`] for a set with no items,
    /// [`PathSetError::AccountHashLength`] when a storage set's first item is not 32 bytes,
    /// [`PathSetError::InvalidPath`] for a path that is not valid compact encoding (including
    /// paths longer than 64 nibbles, which the hive suite sends and go-ethereum answers with
    /// an empty node), [`PathSetError::LeafPath`] for a path with the leaf flag (go-ethereum
    /// decodes it with the terminator kept, which never leads to a trie node, so dropping the
    /// flag would serve a node go-ethereum would not).
    pub fn to_typed(&self) -> Result<TrieNodePathSet, PathSetError> {
        match self.0.as_slice() {
            [] => Err(PathSetError::Empty),
            [account_path] => Ok(TrieNodePathSet::Account(decode_path(account_path, 0)?)),
            [account, storage_paths @ ..] => {
                let account = B256::try_from(account.as_ref())
                    .map_err(|_| PathSetError::AccountHashLength { got: account.len() })?;
                let paths = storage_paths
                    .iter()
                    .enumerate()
                    .map(|(index, path)| decode_path(path, index + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(TrieNodePathSet::Storage(StorageTriePaths {
                    account: AccountHash(account),
                    paths,
                }))
            }
        }
    }
}

fn decode_path(bytes: &[u8], index: usize) -> Result<Nibbles, PathSetError> {
    let path =
        CompactPath::decode(bytes).map_err(|source| PathSetError::InvalidPath { index, source })?;
    if path.is_leaf() {
        return Err(PathSetError::LeafPath { index });
    }
    Ok(*path.nibbles())
}

fn encode_path(path: &Nibbles) -> Bytes {
    CompactPath::extension(*path).encode().into()
}

impl FromRlp for RawTrieNodePathSet {
    const NAME: &'static str = "TrieNodePathSet";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        decoder::decode_list(buf, Self::NAME, |buf| decoder::decode_bytes(buf, "path")).map(Self)
    }
}

decodable_via_from_rlp!(RawTrieNodePathSet);

impl From<&TrieNodePathSet> for RawTrieNodePathSet {
    fn from(set: &TrieNodePathSet) -> Self {
        set.to_raw()
    }
}

impl From<TrieNodePathSet> for RawTrieNodePathSet {
    fn from(set: TrieNodePathSet) -> Self {
        set.to_raw()
    }
}

impl TryFrom<&RawTrieNodePathSet> for TrieNodePathSet {
    type Error = PathSetError;

    fn try_from(raw: &RawTrieNodePathSet) -> Result<Self, Self::Error> {
        raw.to_typed()
    }
}

/// A validated request for trie nodes: either one node of the account trie, or one or more
/// nodes of one account's storage trie.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrieNodePathSet {
    /// The node at this path of the account trie.
    Account(Nibbles),
    /// Nodes of one account's storage trie.
    Storage(StorageTriePaths),
}

impl TrieNodePathSet {
    /// A request for the account trie node at `path`.
    pub const fn account(path: Nibbles) -> Self {
        Self::Account(path)
    }

    /// A request for the nodes at `paths` of the storage trie of `account`.
    ///
    /// # Errors
    ///
    /// [`PathSetError::NoStoragePaths`] when `paths` is empty.
    pub fn storage(account: AccountHash, paths: Vec<Nibbles>) -> Result<Self, PathSetError> {
        StorageTriePaths::new(account, paths).map(Self::Storage)
    }

    /// How many nodes the set requests.
    pub fn node_count(&self) -> usize {
        match self {
            Self::Account(_) => 1,
            Self::Storage(storage) => storage.paths.len(),
        }
    }

    /// The wire form: paths compact-encoded without the leaf flag, the account hash plain.
    pub fn to_raw(&self) -> RawTrieNodePathSet {
        match self {
            Self::Account(path) => RawTrieNodePathSet(vec![encode_path(path)]),
            Self::Storage(storage) => {
                let mut items = Vec::with_capacity(storage.paths.len() + 1);
                items.push(Bytes::copy_from_slice(storage.account.as_ref()));
                items.extend(storage.paths.iter().map(encode_path));
                RawTrieNodePathSet(items)
            }
        }
    }
}

/// Paths in the storage trie of one account; never empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StorageTriePaths {
    account: AccountHash,
    paths: Vec<Nibbles>,
}

impl StorageTriePaths {
    /// Paths `paths` in the storage trie of `account`.
    ///
    /// # Errors
    ///
    /// [`PathSetError::NoStoragePaths`] when `paths` is empty.
    pub fn new(account: AccountHash, paths: Vec<Nibbles>) -> Result<Self, PathSetError> {
        if paths.is_empty() {
            return Err(PathSetError::NoStoragePaths);
        }
        Ok(Self { account, paths })
    }

    /// The account whose storage trie the paths are in.
    pub const fn account(&self) -> AccountHash {
        self.account
    }

    /// The paths, at least one.
    pub fn paths(&self) -> &[Nibbles] {
        &self.paths
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::CompactPathError;
    use alloy_primitives::hex;

    fn raw(items: &[&[u8]]) -> RawTrieNodePathSet {
        RawTrieNodePathSet(items.iter().map(|item| Bytes::copy_from_slice(item)).collect())
    }

    #[test]
    fn single_item_is_an_account_trie_path() {
        let set = raw(&[&hex!("1a87")]).to_typed().unwrap();
        assert_eq!(set, TrieNodePathSet::account(Nibbles::from_nibbles([0xa, 8, 7])));
        assert_eq!(set.node_count(), 1);
        assert_eq!(set.to_raw(), raw(&[&hex!("1a87")]));
        // The root: an empty path.
        assert_eq!(raw(&[&hex!("00")]).to_typed(), Ok(TrieNodePathSet::account(Nibbles::new())));
    }

    #[test]
    fn several_items_are_an_account_hash_and_storage_paths() {
        let account = AccountHash(B256::repeat_byte(0x44));
        let set = raw(&[account.as_ref(), &hex!("00"), &hex!("1b")]).to_typed().unwrap();
        let expected =
            TrieNodePathSet::storage(account, vec![Nibbles::new(), Nibbles::from_nibbles([0xb])])
                .unwrap();
        assert_eq!(set, expected);
        assert_eq!(set.node_count(), 2);
        assert_eq!(
            RawTrieNodePathSet::from(&set),
            raw(&[account.as_ref(), &hex!("00"), &hex!("1b")])
        );
    }

    #[test]
    fn leaf_flagged_paths_are_not_node_paths() {
        assert_eq!(raw(&[&hex!("3a")]).to_typed(), Err(PathSetError::LeafPath { index: 0 }));
        assert_eq!(
            raw(&[&[0x44; 32], &hex!("00"), &hex!("20")]).to_typed(),
            Err(PathSetError::LeafPath { index: 2 })
        );
    }

    #[test]
    fn only_an_empty_set_rejects_the_request() {
        assert!(PathSetError::Empty.rejects_request());
        assert!(!PathSetError::LeafPath { index: 0 }.rejects_request());
        assert!(!PathSetError::AccountHashLength { got: 1 }.rejects_request());
    }

    #[test]
    fn rejects_invalid_sets() {
        assert_eq!(raw(&[]).to_typed(), Err(PathSetError::Empty));
        assert_eq!(
            raw(&[&hex!("0102"), &hex!("00")]).to_typed(),
            Err(PathSetError::AccountHashLength { got: 2 })
        );
        assert_eq!(
            raw(&[&[0x44; 32], &hex!("00"), &hex!("")]).to_typed(),
            Err(PathSetError::InvalidPath { index: 2, source: CompactPathError::Empty })
        );
        assert_eq!(
            raw(&[&hex!("4a")]).to_typed(),
            Err(PathSetError::InvalidPath {
                index: 0,
                source: CompactPathError::InvalidFlag { flag: 4 }
            })
        );
        assert_eq!(
            TrieNodePathSet::storage(AccountHash::ZERO, vec![]),
            Err(PathSetError::NoStoragePaths)
        );
    }

    #[test]
    fn wire_form_round_trips_through_rlp_even_when_invalid() {
        for set in [raw(&[]), raw(&[&[]]), raw(&[&hex!("00"), &[0x12; 40]])] {
            let encoded = alloy_rlp::encode(&set);
            assert_eq!(RawTrieNodePathSet::from_rlp(&encoded), Ok(set));
        }
        assert_eq!(alloy_rlp::encode(raw(&[])), hex!("c0"));
        assert_eq!(alloy_rlp::encode(raw(&[&hex!("00")])), hex!("c100"));
        assert_eq!(alloy_rlp::encode(raw(&[&hex!("1a87")])), hex!("c3821a87"));
    }
}
