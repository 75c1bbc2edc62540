//! The on-disk backend, [redb](https://docs.rs/redb): see [`RedbDatabase`].

use crate::{
    Database, DbError, Direction, Durability, Entry, EntrySource, KeyBounds, KvIter, KvRead,
    KvWrite, Operation,
    kv::{BatchedRange, OrderCheck},
};
use redb::{
    CursorError, ReadOnlyTable, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError,
};
use std::{
    collections::HashMap,
    ops::Bound,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

const BACKEND: &str = "redb";

type Bytes = &'static [u8];
type RawTable = ReadOnlyTable<Bytes, Bytes>;

/// The definition of the byte table `name`.
const fn definition(name: &'static str) -> TableDefinition<'static, Bytes, Bytes> {
    TableDefinition::new(name)
}

/// The error mapper for `operation` on `table`.
fn failed<E: Into<crate::error::BoxError>>(
    operation: Operation,
    table: Option<&'static str>,
) -> impl FnOnce(E) -> DbError {
    move |source| DbError::backend(BACKEND, operation, table, source)
}

/// How a redb file's space is used, from [`RedbDatabase::space`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceUsage {
    /// Length of the file (redb grows it in regions ahead of need).
    pub file_bytes: u64,
    /// Bytes of allocated pages.
    pub allocated_bytes: u64,
    /// Bytes of keys and values stored.
    pub stored_bytes: u64,
    /// Bytes of branch-page keys and other metadata.
    pub metadata_bytes: u64,
    /// Bytes lost to fragmentation, including free pages.
    pub fragmented_bytes: u64,
}

/// Settings of a [`RedbDatabase`].
#[derive(Debug, Clone)]
pub struct RedbOptions {
    /// Bytes of page cache (redb's default is 1 GiB).
    pub cache_size: usize,
    /// Save the allocator state with each durable commit so a crash needs no full repair.
    pub quick_repair: bool,
    /// Durability of new write transactions, until changed with
    /// [`WriteTxn::set_durability`](crate::WriteTxn::set_durability).
    pub durability: Durability,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self { cache_size: 1 << 30, quick_repair: true, durability: Durability::Immediate }
    }
}

/// A [`Database`] in one redb file: an embedded copy-on-write B-tree store with ACID
/// transactions.
///
/// Each table is a redb table of `&[u8] → &[u8]`, compared bytewise. redb gives the contract of
/// [`Database`] directly: MVCC read transactions are snapshots, one write transaction at a time,
/// a commit flips a checksummed commit slot so a crash leaves the last commit whole, and dropping a
/// write transaction aborts it.
///
/// # Durability and recovery
///
/// - A commit with [`Durability::Immediate`] (the default) is fsynced before `commit` returns;
///   [`Durability::Deferred`] maps to redb's `Durability::None`: visible at once, on disk with the
///   next durable commit, a crash rolls back to that.
/// - [`RedbOptions::quick_repair`] (on by default) makes every durable commit also save the
///   allocator state (and commit in two phases), so reopening after a crash takes no time; without
///   it redb walks the whole file to rebuild its allocator, minutes for a synced mainnet state.
///   Its cost is paid per commit, so large batches make it negligible.
///
/// # Sorted bulk insertion
///
/// [`KvWrite::append_sorted`] goes through a redb write cursor (`lower_bound_mut` +
/// `insert_before`): ascending inserts at the cursor's gap are buffered and spliced into the tree
/// as packed leaves, one parent update per megabyte, instead of one descent per key. When the next
/// key meets an existing entry the cursor is re-positioned, so appending into a non-empty table
/// (a merge) is correct, only slower where the ranges interleave.
#[derive(Debug)]
pub struct RedbDatabase {
    db: redb::Database,
    path: PathBuf,
    options: RedbOptions,
}

impl RedbDatabase {
    /// Opens the database file at `path`, creating it if it does not exist. After a crash the file
    /// is repaired to its last durable commit first.
    ///
    /// # Errors
    /// [`DbError::Open`] when the file cannot be opened, created or repaired (not a redb file, held
    /// by another process, I/O errors).
    pub fn open(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        let db = redb::Builder::new()
            .set_cache_size(options.cache_size)
            .create(&path)
            .map_err(|source| DbError::Open { path: path.clone(), source: source.into() })?;
        tracing::debug!(path = %path.display(), ?options, "opened redb database");
        Ok(Self { db, path, options })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How the file's space is used.
    ///
    /// # Errors
    /// Backend failures. Waits for any open write transaction, since redb reports space from one.
    pub fn space(&self) -> Result<SpaceUsage, DbError> {
        let txn = self.db.begin_write().map_err(failed(Operation::BeginWrite, None))?;
        let stats = txn.stats().map_err(failed(Operation::Stats, None))?;
        let file_bytes = std::fs::metadata(&self.path)
            .map_err(|source| DbError::Open { path: self.path.clone(), source: source.into() })?
            .len();
        Ok(SpaceUsage {
            file_bytes,
            allocated_bytes: stats.allocated_pages() * stats.page_size() as u64,
            stored_bytes: stats.stored_bytes(),
            metadata_bytes: stats.metadata_bytes(),
            fragmented_bytes: stats.fragmented_bytes(),
        })
    }

    /// Walks the whole file verifying every checksum; `Ok(false)` when it had to repair something.
    ///
    /// # Errors
    /// Backend failures, including damage that cannot be repaired.
    pub fn check_integrity(&mut self) -> Result<bool, DbError> {
        self.db.check_integrity().map_err(failed(Operation::Check, None))
    }
}

impl Database for RedbDatabase {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead>, DbError> {
        let txn = self.db.begin_read().map_err(failed(Operation::BeginRead, None))?;
        Ok(Box::new(RedbRead { txn, tables: Mutex::default() }))
    }

    fn begin_write(&self) -> Result<Box<dyn KvWrite>, DbError> {
        let mut txn = self.db.begin_write().map_err(failed(Operation::BeginWrite, None))?;
        txn.set_quick_repair(self.options.quick_repair);
        let mut write = RedbWrite { txn };
        write.set_durability(self.options.durability)?;
        Ok(Box::new(write))
    }
}

/// A read transaction, with the tables it opened kept open.
struct RedbRead {
    txn: redb::ReadTransaction,
    /// `None` for tables that do not exist in this snapshot.
    tables: Mutex<HashMap<&'static str, Option<Arc<RawTable>>>>,
}

impl RedbRead {
    fn table(&self, name: &'static str) -> Result<Option<Arc<RawTable>>, DbError> {
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(table) = tables.get(name) {
            return Ok(table.clone());
        }
        let table = match self.txn.open_table(definition(name)) {
            Ok(table) => Some(Arc::new(table)),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(err) => return Err(failed(Operation::OpenTable, Some(name))(err)),
        };
        tables.insert(name, table.clone());
        Ok(table)
    }
}

impl KvRead for RedbRead {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let Some(handle) = self.table(table)? else { return Ok(None) };
        let value = handle.get(key).map_err(failed(Operation::Get, Some(table)))?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    /// redb keeps each table's length in its root: no walk.
    fn len(&self, table: &'static str) -> Result<u64, DbError> {
        let Some(handle) = self.table(table)? else { return Ok(0) };
        handle.len().map_err(failed(Operation::Range, Some(table)))
    }

    fn range(
        &self,
        table: &'static str,
        bounds: KeyBounds,
        direction: Direction,
    ) -> Result<KvIter<'_>, DbError> {
        let Some(handle) = self.table(table)? else { return Ok(Box::new(std::iter::empty())) };
        if bounds.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let range = handle
            .range::<&[u8]>(bounds.as_slices())
            .map_err(failed(Operation::Range, Some(table)))?;
        let to_entry = move |item: Result<_, redb::StorageError>| {
            let (key, value): (redb::AccessGuard<'_, Bytes>, redb::AccessGuard<'_, Bytes>) =
                item.map_err(failed(Operation::Range, Some(table)))?;
            Ok((key.value().to_vec(), value.value().to_vec()))
        };
        Ok(match direction {
            Direction::Forward => Box::new(range.map(to_entry)),
            Direction::Reverse => Box::new(range.rev().map(to_entry)),
        })
    }
}

struct RedbWrite {
    txn: redb::WriteTransaction,
}

impl RedbWrite {
    fn open(&self, table: &'static str) -> Result<redb::Table<'_, Bytes, Bytes>, DbError> {
        self.txn.open_table(definition(table)).map_err(failed(Operation::OpenTable, Some(table)))
    }

    /// Up to `limit` entries of `table` within `bounds`, in `direction`.
    fn batch(
        &self,
        table: &'static str,
        bounds: &KeyBounds,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>, DbError> {
        let handle = self.open(table)?;
        let range = handle
            .range::<&[u8]>(bounds.as_slices())
            .map_err(failed(Operation::Range, Some(table)))?;
        let mut out = Vec::with_capacity(limit);
        let walk: Box<dyn Iterator<Item = _>> = match direction {
            Direction::Forward => Box::new(range),
            Direction::Reverse => Box::new(range.rev()),
        };
        for item in walk.take(limit) {
            let (key, value) = item.map_err(failed(Operation::Range, Some(table)))?;
            out.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }
}

impl KvRead for RedbWrite {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let handle = self.open(table)?;
        let value = handle.get(key).map_err(failed(Operation::Get, Some(table)))?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    /// redb keeps each table's length in its root: no walk.
    fn len(&self, table: &'static str) -> Result<u64, DbError> {
        self.open(table)?.len().map_err(failed(Operation::Range, Some(table)))
    }

    fn range(
        &self,
        table: &'static str,
        bounds: KeyBounds,
        direction: Direction,
    ) -> Result<KvIter<'_>, DbError> {
        let fetch =
            move |bounds: &KeyBounds, direction, limit| self.batch(table, bounds, direction, limit);
        Ok(Box::new(BatchedRange::new(fetch, bounds, direction)))
    }
}

impl KvWrite for RedbWrite {
    fn put(&mut self, table: &'static str, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        let mut handle = self.open(table)?;
        handle.insert(key, value).map_err(failed(Operation::Put, Some(table)))?;
        Ok(())
    }

    fn delete(&mut self, table: &'static str, key: &[u8]) -> Result<bool, DbError> {
        let mut handle = self.open(table)?;
        let removed = handle.remove(key).map_err(failed(Operation::Delete, Some(table)))?;
        Ok(removed.is_some())
    }

    fn clear(&mut self, table: &'static str) -> Result<(), DbError> {
        self.txn.delete_table(definition(table)).map_err(failed(Operation::Clear, Some(table)))?;
        Ok(())
    }

    fn append_sorted(
        &mut self,
        table: &'static str,
        entries: &mut dyn EntrySource,
    ) -> Result<u64, DbError> {
        let mut handle = self.open(table)?;
        let (mut key, mut value) = (Vec::new(), Vec::new());
        if !entries.next_entry(&mut key, &mut value)? {
            return Ok(0);
        }
        let mut order = OrderCheck::default();
        order.accept(table, &key)?;
        let mut cursor = handle
            .lower_bound_mut(Bound::Included(key.as_slice()))
            .map_err(failed(Operation::Append, Some(table)))?;
        let mut count = 0;
        loop {
            match cursor.insert_before(key.as_slice(), value.as_slice()) {
                Ok(()) => {}
                Err(CursorError::UnorderedKey) => {
                    // An existing entry at or before `key` lies after the gap: move the gap to
                    // just before `key`, replacing an equal entry.
                    cursor.close().map_err(failed(Operation::Append, Some(table)))?;
                    cursor = handle
                        .lower_bound_mut(Bound::Included(key.as_slice()))
                        .map_err(failed(Operation::Append, Some(table)))?;
                    let equal = cursor
                        .peek_next()
                        .map_err(failed(Operation::Append, Some(table)))?
                        .is_some_and(|(next, _)| next.value() == key.as_slice());
                    if equal {
                        cursor.remove_next().map_err(failed(Operation::Append, Some(table)))?;
                    }
                    cursor
                        .insert_before(key.as_slice(), value.as_slice())
                        .map_err(failed(Operation::Append, Some(table)))?;
                }
                Err(err) => return Err(failed(Operation::Append, Some(table))(err)),
            }
            count += 1;
            if !entries.next_entry(&mut key, &mut value)? {
                break;
            }
            order.accept(table, &key)?;
        }
        cursor.close().map_err(failed(Operation::Append, Some(table)))?;
        tracing::trace!(table, count, "sorted append");
        Ok(count)
    }

    fn set_durability(&mut self, durability: Durability) -> Result<(), DbError> {
        let level = match durability {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Deferred => redb::Durability::None,
        };
        self.txn.set_durability(level).map_err(failed(Operation::SetDurability, None))
    }

    fn commit(self: Box<Self>) -> Result<(), DbError> {
        self.txn.commit().map_err(failed(Operation::Commit, None))
    }
}
