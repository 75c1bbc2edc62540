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
//! `snapsync-db` implements the interface over redb on disk and over an in-memory twin (the
//! defaults); `snapsync-testing` has a second, independent implementation over plain ordered
//! maps (`MapStore`) that the test suites run against to keep the seam honest.

mod error;
mod range;
mod read;
mod store;
mod write;

pub use error::{BoxError, Collection, StoreError};
pub use range::KeyRange;
pub use read::{SlotEntry, StateRead, StorageNodeEntry, StoreIter, account_slots};
pub use store::StateStore;
pub use write::{Durability, Sorted, StateWrite};
