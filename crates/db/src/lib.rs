//! Trie-backed storage for snap sync.
//!
//! Snap sync writes hundreds of millions of verified leaves. They must land sorted, in bulk and
//! crash-safe, and what lands must be a real trie-backed state: one that can be re-verified
//! against a state root, served to other peers as range proofs, and healed node by node. This
//! crate is that storage, in three layers:
//!
//! 1. **A byte-level key-value contract** ([`Database`], [`KvRead`], [`KvWrite`]): named tables
//!    of ordered byte keys, snapshot-isolated read transactions, one atomic write transaction at a
//!    time (dropped = aborted), and a sorted bulk path ([`KvWrite::append_sorted`]). Two backends
//!    keep the same contract: [`RedbDatabase`] on disk, the default, and [`MemoryDatabase`]
//!    (copy-on-write `BTreeMap` snapshots) for tests and small networks. The traits are
//!    object-safe: the sync holds an `Arc<dyn Database>` (or a generic `D: Database`), and a
//!    third backend (libmdbx, fjall) would slot in behind them.
//! 2. **Typed tables** ([`Table`], [`TableKey`], [`TableValue`]): each table is a marker type
//!    naming its key and value types. Reads go through [`TableRead`] on a [`ReadView`] or a
//!    [`WriteTxn`], writes through [`WriteTxn`]; no caller builds a byte key, and a corrupt stored
//!    entry is an error naming its table and key.
//! 3. **The storage seam on top**: [`RedbDatabase`], [`MemoryDatabase`] and `dyn Database`
//!    implement `snapsync_storage::StateStore` ([`ReadView`] and [`WriteTxn`] are its reader and
//!    writer), so the stages, the server and the algorithms over stored state
//!    (`snapsync_storage::compute_state_root`, `rebuild_state_trie`, `AccountTrie` /
//!    `StorageTrie`, `prove_account_range` / `prove_storage_range`) run on this crate as on any
//!    store; [`compute_state_root`] is re-exported for code that checks a database directly.
//!    [`import_state`] loads a whole state (leaves, codes and every trie node) in one pass.
//!
//! # Metrics
//!
//! The typed layer counts write transactions, commits (and their duration), read views and
//! sorted appends (entries and bytes per table), and the redb backend the size of its file, as
//! `snapsync_db_*` metrics through the `metrics` facade; [`METRIC_NAMES`] lists them,
//! [`describe_metrics`] describes them, `docs/metrics.md` documents them.
//!
//! # Key encodings
//!
//! Backends compare keys bytewise, so every key encodes to bytes whose order is the intended
//! order: hashes as their 32 bytes, block numbers as 8 big-endian bytes, strings as UTF-8, and
//! trie paths as **one byte per nibble**, so a path sorts before its extensions and siblings in
//! nibble order, exactly as the trie is walked (packing two nibbles per byte plus a length byte
//! would put `[1,0,0]` before `[1]`). Composite keys put the 32-byte account hash first, so one
//! account's slots or storage-trie nodes are one contiguous range. See [`TableKey`].
//!
//! # Durability
//!
//! Every commit is atomic: after a crash (even `SIGKILL` mid-write, as the tests do) the database
//! holds exactly its last durable commit. [`Durability::Immediate`] (the default) fsyncs before
//! `commit` returns; [`Durability::Deferred`] skips the fsync, for the batches of a bulk load
//! whose checkpoint is written in the same transaction: a crash then loses progress, never
//! consistency. See [`RedbDatabase`] for redb's recovery settings.
//!
//! ```
//! use snapsync_db::{Database, HashedAccounts, MemoryDatabase, TableRead};
//! use snapsync_primitives::{AccountHash, TrieAccount};
//!
//! let db = MemoryDatabase::new();
//! let mut txn = db.write()?;
//! txn.append_sorted::<HashedAccounts, _, _, _>([(AccountHash::ZERO, TrieAccount::EMPTY)])?;
//! txn.commit()?;
//! assert_eq!(db.view()?.get::<HashedAccounts>(&AccountHash::ZERO)?, Some(TrieAccount::EMPTY));
//! # Ok::<(), snapsync_db::DbError>(())
//! ```
//!
//! With the `test-utils` feature (off by default; dev-dependencies turn it on), `test_utils`
//! holds fresh databases of each backend for tests, a table-by-table comparison of two databases
//! and file damage for the storage-fault probes.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod codec;
mod copy;
mod encoded_append;
mod error;
mod import;
mod kv;
mod memory;
mod metrics;
mod read_only_file;
mod redb_store;
mod state_store;
mod table_collector;
mod tables;
mod typed;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use codec::{MAX_PATH_NIBBLES, TableKey, TableValue};
pub use copy::copy_tables;
pub use error::{BoxError, DbError, DecodeError, ImportError, Operation};
pub use import::{ImportAccount, ImportReport, import_state};
pub use kv::{
    Database, Direction, Durability, Entry, EntrySource, KeyBounds, KvIter, KvRead, KvWrite,
};
pub use memory::MemoryDatabase;
pub use metrics::{METRIC_NAMES, describe_metrics};
pub use read_only_file::MAX_OVERLAY_BYTES;
pub use redb_store::{Integrity, RedbDatabase, RedbOptions, SpaceUsage, panic_is_contained};
// The state root lives on the storage seam (any store gets it); re-exported here for the code
// that checks a snapsync-db database directly.
pub use snapsync_storage::compute_state_root;
pub use state_store::collection_of;
pub use table_collector::TableCollector;
pub use tables::{
    AccountTrieNodes, Bodies, Bytecodes, HashedAccounts, HashedStorages, HeaderNumbers, Headers,
    Receipts, STATE_TABLES, SnapProgress, StageCheckpoints, StorageTrieNodes, TABLE_NAMES, Table,
};
pub use typed::{ReadView, TableEntry, TableIter, TableRead, WriteTxn};
