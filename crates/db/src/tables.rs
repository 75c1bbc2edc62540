//! The tables of a snapsync database, each a marker type naming its key and value types.
//!
//! Callers pass the marker as a type parameter (`view.get::<HashedAccounts>(&hash)`); the key and
//! value encodings of [`crate::codec`] are then chosen by the compiler, never built by hand.

use crate::{TableKey, TableValue};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};

/// A typed table.
pub trait Table: 'static {
    /// The table's name in the database.
    const NAME: &'static str;
    /// Its key type.
    type Key: TableKey;
    /// Its value type.
    type Value: TableValue;
}

macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident: $key:ty => $value:ty;)+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $name;

            impl Table for $name {
                const NAME: &'static str = stringify!($name);
                type Key = $key;
                type Value = $value;
            }
        )+

        /// The names of every table, in declaration order.
        pub const TABLE_NAMES: &[&str] = &[$(stringify!($name)),+];
    };
}

tables! {
    /// The state's accounts by hashed address: the leaves of the account trie.
    HashedAccounts: AccountHash => TrieAccount;
    /// Storage slots by account and hashed slot key: the leaves of every storage trie. A zero
    /// value is never stored (putting zero deletes the slot).
    HashedStorages: (AccountHash, SlotHash) => U256;
    /// Contract code by its keccak-256 hash.
    Bytecodes: B256 => Bytes;
    /// Hashed nodes of the account trie by path (root at the empty path): node RLP.
    AccountTrieNodes: Nibbles => Bytes;
    /// Hashed nodes of each account's storage trie by (account, path): node RLP.
    StorageTrieNodes: (AccountHash, Nibbles) => Bytes;
    /// Block headers by number: header RLP.
    Headers: u64 => Bytes;
    /// Block numbers by header hash.
    HeaderNumbers: B256 => u64;
    /// Block bodies by number: body RLP.
    Bodies: u64 => Bytes;
    /// Block receipts by number: the RLP list of the block's EIP-2718 encoded receipts.
    Receipts: u64 => Bytes;
    /// Stage checkpoints by stage id, encoded by the stages.
    StageCheckpoints: String => Bytes;
    /// Snap sync progress records (pivot, pending ranges, healing queue) by name, encoded by the
    /// snap stage.
    SnapProgress: String => Bytes;
}

/// The tables that hold a state: its leaves (accounts, slots, codes) and its trie nodes. An
/// import fills them (and needs them empty); a synced state is compared by them.
pub const STATE_TABLES: [&str; 5] = [
    HashedAccounts::NAME,
    HashedStorages::NAME,
    Bytecodes::NAME,
    AccountTrieNodes::NAME,
    StorageTrieNodes::NAME,
];
