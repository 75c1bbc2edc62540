//! snap/1 primitives: hashed keys, accounts, compact paths and the wire messages.
//!
//! This crate is the vocabulary the rest of snapsync speaks, with no I/O and no trie logic:
//!
//! - **Keys.** [`AccountHash`] and [`SlotHash`] are the hashed keys the state and storage tries
//!   are ordered by. They are distinct from [`Address`](alloy_primitives::Address) and from
//!   each other, and are built from preimages with [`AccountHash::of`] and [`SlotHash::of`].
//! - **Accounts.** [`TrieAccount`] is the consensus leaf encoding of the state trie;
//!   [`SlimAccount`] is the same data in the snap/1 form, where the empty storage root and
//!   empty code hash travel as empty strings. Converting between them is free; the encodings
//!   are what differ.
//! - **Paths.** [`CompactPath`] is the hex-prefix encoding of nibble paths.
//!   [`RawTrieNodePathSet`] is a `GetTrieNodes` path set as sent;
//!   [`RawTrieNodePathSet::to_typed`] validates it into a [`TrieNodePathSet`].
//! - **Messages.** One struct per snap/1 message ([`GetAccountRange`] … [`TrieNodes`]) and
//!   [`SnapMessage`] over all eight, which decodes a message given its code.
//! - **Generic RLP.** [`RlpItem`] decodes any RLP value with bounded nesting; it is what the
//!   ethereum/tests RLP vectors are checked against.
//!
//! # Decoding
//!
//! Every decodable type implements [`FromRlp`], whose [`DecodeError`]s name the field that
//! failed and carry the observed lengths and counts, and [`alloy_rlp::Decodable`] as an
//! adapter for generic code. Decoding is strict and never panics: RLP must be canonical (as
//! [`alloy_rlp::Header`] enforces), fixed-size fields must have their exact size, structures
//! their exact item count, and [`FromRlp::from_rlp`] and [`SnapMessage::decode`] reject
//! trailing bytes. No allocation is sized from a length field: lists grow one decoded item at
//! a time and every item consumes at least one input byte, so memory stays proportional to
//! the input (the worst case, a list of one-byte empty strings, costs about 32 bytes of
//! `Vec<Bytes>` per input byte; cap message sizes before decoding, as devp2p framing does).
//! The one tolerance is documented on
//! [`SlimAccount`]: the 32-byte form of the empty hashes is accepted, as go-ethereum does.
//!
//! Encoding is through [`alloy_rlp::Encodable`], byte-exact to the devp2p snap/1 spec as
//! go-ethereum implements it.
//!
//! # Test machinery
//!
//! With the `test-utils` feature (off by default; dev-dependencies turn it on), `test_utils`
//! holds what the workspace's tests share: a seeded PRNG, the fixture locator, and the fuzz
//! machinery and proptest strategies for the decoders and messages of this crate.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod compact_path;
mod decoder;
mod error;
mod from_rlp;
mod keys;
mod messages;
mod path_set;
mod rlp_item;
mod slim_account;
mod trie_account;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
pub use compact_path::{CompactPath, MAX_PATH_NIBBLES};
pub use error::{CompactPathError, DecodeError, PathSetError};
pub use from_rlp::FromRlp;
pub use keys::{AccountHash, SlotHash};
pub use messages::{
    AccountEntry, AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges,
    GetTrieNodes, SnapMessage, StorageRanges, StorageSlot, TrieNodes,
};
pub use path_set::{RawTrieNodePathSet, StorageTriePaths, TrieNodePathSet};
pub use rlp_item::RlpItem;
pub use slim_account::SlimAccount;
pub use trie_account::TrieAccount;
