//! The storage seam of snap sync.
//!
//! A client keeps its own database. Snap sync, healing and the chain stages reach storage only
//! through this interface, at the level of meaning: sorted accounts, slots, codes and trie nodes
//! in; point reads, range reads and node-by-path reads out; the stage checkpoints and the snap
//! progress record. No byte keys cross it.
//!
//! - [`StateStore`] hands out a snapshot ([`StateStore::reader`]) and one atomic write
//!   transaction at a time ([`StateStore::writer`]).
//! - [`StateRead`] is what both offer: accounts, slots, codes, trie nodes, headers, bodies,
//!   checkpoints and progress records, by key and over [`KeyRange`]s, as streams.
//! - [`StateWrite`] adds sorted bulk appends (the fast path every verified range lands
//!   through), single puts and deletes, range deletes, clearing the state, durability and
//!   commit.
//! - [`StoreError`] says what failed; every store failure is local (no peer is at fault).
//!
//! Over the interface, so every implementation gets them: [`compute_state_root`] (the state
//! root and every storage root, streamed in one merge-join pass), [`rebuild_state_trie`] (every
//! hashed node written by path), [`AccountTrie`] / [`StorageTrie`] (the stored trie as a
//! `NodeSource`, for healing) and [`prove_account_range`] / [`prove_storage_range`] (range
//! proofs from the stored trie, for serving), and [`SortedCollector`] (entries in any order,
//! sorted through ETL with bounded memory, landing through one sorted append).
//!
//! `snapsync-db` implements the interface over redb on disk and over an in-memory twin (the
//! defaults). With the `test-utils` feature (off by default; dev-dependencies turn it on),
//! `test_utils` has a second, independent implementation over plain ordered maps (`MapStore`)
//! that the test suites run against to keep the seam honest.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod collector;
mod error;
mod range;
mod read;
mod split_root;
mod state_root;
mod store;
mod stored_trie;
mod write;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use collector::{
    AccountNodes, Accounts, Codes, CollectedKind, EncodedEntries, EncodedEntry, Slots,
    SortedCollection, SortedCollector, StorageNodes, append_decoded,
};
pub use error::{BoxError, Collection, StateError, StoreError};
pub use range::KeyRange;
pub use read::{
    SlotEntry, StateRead, StorageNodeEntry, StoreIter, account_slots, account_storage_nodes,
};
pub use split_root::{
    AccountVisitor, STATE_PARTS, StatePart, StatePartId, compute_state_root_split,
    compute_state_root_split_with, walk_state_part,
};
pub use state_root::{
    RebuiltTrie, StateReport, StorageRootMismatch, compute_state_root, compute_state_root_visiting,
    compute_storage_root, rebuild_state_trie, rebuild_state_trie_in,
};
pub use store::StateStore;
pub use stored_trie::{
    AccountTrie, StorageTrie, keys_under, prove_account_range, prove_storage_range,
};
pub use write::{Durability, Sorted, StateWrite};
