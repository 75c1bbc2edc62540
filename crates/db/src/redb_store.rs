//! The on-disk backend, [redb](https://docs.rs/redb): see [`RedbDatabase`].

use crate::{
    Database, DbError, Direction, Durability, Entry, EntrySource, KeyBounds, KvIter, KvRead,
    KvWrite, Operation,
    kv::{BatchedRange, OrderCheck},
    read_only_file::ReadOnlyFile,
};
use redb::{
    CursorError, ReadOnlyTable, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError,
};
use std::{
    collections::HashMap,
    ops::Bound,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

const BACKEND: &str = "redb";

type Bytes = &'static [u8];
type RawTable = ReadOnlyTable<Bytes, Bytes>;
/// The tables a read transaction opened, by name (`None`: not in this snapshot).
type OpenTables = Mutex<HashMap<&'static str, Option<Arc<RawTable>>>>;

/// The definition of the byte table `name`.
const fn definition(name: &'static str) -> TableDefinition<'static, Bytes, Bytes> {
    TableDefinition::new(name)
}

/// The error mapper for `operation` on `table`: redb's own "corrupted" verdicts become
/// [`DbError::Corrupted`], everything else [`DbError::Backend`].
fn failed<E: Into<redb::Error>>(
    operation: Operation,
    table: Option<&'static str>,
) -> impl FnOnce(E) -> DbError {
    move |source| match source.into() {
        redb::Error::Corrupted(detail) => corrupted(operation, table, detail),
        source => DbError::backend(BACKEND, operation, table, source),
    }
}

fn corrupted(operation: Operation, table: Option<&'static str>, detail: String) -> DbError {
    DbError::Corrupted { backend: BACKEND, operation, table, detail }
}

/// Whether the file has shown damage, shared by a database and its transactions.
///
/// redb trusts the pages it reads: a damaged file can make it index out of bounds and panic
/// (seen with random bytes flipped in a synced file). A storage library must not take its
/// embedder's process down over a damaged file, so every call into redb runs through
/// [`Health::guard`], which turns such a panic into [`DbError::Corrupted`]. redb's state after
/// a panic is not to be trusted, so from then on every operation of the database fails the same
/// way. (This needs unwinding panics, the default; under `panic = "abort"` nothing can be
/// contained. The panic hook still runs: the `snapsync` binary's hook keeps contained ones quiet.)
#[derive(Debug, Default)]
struct Health {
    damage: OnceLock<String>,
}

impl Health {
    /// Runs `call` (an operation on redb), containing a panic and remembering damage.
    fn guard<T>(
        &self,
        operation: Operation,
        table: Option<&'static str>,
        call: impl FnOnce() -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        if let Some(damage) = self.damage.get() {
            let detail = format!("the file was found damaged earlier ({damage})");
            return Err(corrupted(operation, table, detail));
        }
        let outcome = {
            let _inside = Containing::enter();
            catch_unwind(AssertUnwindSafe(call))
        };
        match outcome {
            Ok(Err(DbError::Corrupted { backend, operation, table, detail })) => {
                let _ = self.damage.set(detail.clone());
                Err(DbError::Corrupted { backend, operation, table, detail })
            }
            Ok(result) => result,
            Err(payload) => {
                let detail =
                    format!("redb failed on the file's contents: {}", panic_text(&*payload));
                let _ = self.damage.set(detail.clone());
                tracing::error!(target: "sync::db", %detail, %operation, "database corrupted");
                Err(corrupted(operation, table, detail))
            }
        }
    }
}

thread_local! {
    /// How many [`Health::guard`] calls this thread is inside.
    static CONTAINING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks this thread as inside a [`Health::guard`] while it lives.
struct Containing;

impl Containing {
    fn enter() -> Self {
        CONTAINING.with(|depth| depth.set(depth.get().saturating_add(1)));
        Self
    }
}

impl Drop for Containing {
    fn drop(&mut self) {
        CONTAINING.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// A redb object whose destructor runs inside the containment: once a panic was contained, redb's
/// internal locks may be poisoned, and its destructors unwrap them.
#[derive(Debug)]
struct DropContained<T>(Option<T>);

impl<T> DropContained<T> {
    const fn new(value: T) -> Self {
        Self(Some(value))
    }

    /// The object, to be consumed (a commit) rather than dropped here.
    fn into_inner(mut self) -> Option<T> {
        self.0.take()
    }

    fn get(&self) -> &T {
        // `None` only after `into_inner` consumed `self`, or inside `drop`.
        #[allow(clippy::expect_used)]
        self.0.as_ref().expect("present until consumed or dropped")
    }

    fn get_mut(&mut self) -> &mut T {
        // As in `get`.
        #[allow(clippy::expect_used)]
        self.0.as_mut().expect("present until consumed or dropped")
    }
}

impl<T> Drop for DropContained<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            let _inside = Containing::enter();
            // A panic here was redb failing on a damaged file; the value is gone either way.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
        }
    }
}

/// Whether a panic raised now, on this thread, would be contained by the redb backend and turned
/// into [`DbError::Corrupted`]. A panic hook can use it to stay quiet about those panics (the
/// `snapsync` binary does) while still reporting every other one.
pub fn panic_is_contained() -> bool {
    CONTAINING.with(std::cell::Cell::get) > 0
}

/// The message of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// An iterator over redb entries whose every step runs through [`Health::guard`]; it ends after
/// the first error.
struct Guarded<'a> {
    inner: DropContained<KvIter<'a>>,
    health: Arc<Health>,
    table: &'static str,
    failed: bool,
}

impl Iterator for Guarded<'_> {
    type Item = Result<Entry, DbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let inner = self.inner.get_mut();
        let item = self.health.guard(Operation::Range, Some(self.table), || Ok(inner.next()));
        match item {
            Ok(Some(Ok(entry))) => Some(Ok(entry)),
            Ok(None) => None,
            Ok(Some(Err(error))) | Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
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
    /// Walk the whole file at open, verifying every page's checksum (redb's
    /// `check_integrity`), so damage is found before anything is read. Default off: it reads
    /// the whole file, about a second per few GB; the `snapsync` binary turns it on.
    pub check_integrity: bool,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            cache_size: 1 << 30,
            quick_repair: true,
            durability: Durability::Immediate,
            check_integrity: false,
        }
    }
}

/// What the integrity check at open found (see [`RedbOptions::check_integrity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// Every checksum held.
    Clean,
    /// redb repaired the file (after an unclean shutdown, or by falling back to the previous
    /// commit when the last one was damaged): it holds a consistent earlier or equal state.
    Repaired,
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
///
/// # Damaged files
///
/// A file damaged outside redb (a flipped bit, a truncation) is found by the checksum walk at
/// open when [`RedbOptions::check_integrity`] is on, and otherwise when a damaged page is read:
/// either way the operation fails with [`DbError::Corrupted`], never a panic (see the
/// containment note on the private `Health`), and every later operation fails the same way.
#[derive(Debug)]
pub struct RedbDatabase {
    db: DropContained<redb::Database>,
    path: PathBuf,
    options: RedbOptions,
    health: Arc<Health>,
    integrity: Option<Integrity>,
    read_only: bool,
}

impl RedbDatabase {
    /// Opens the database file at `path`, creating it if it does not exist. After a crash the file
    /// is repaired to its last durable commit first; with [`RedbOptions::check_integrity`] every
    /// checksum is then verified (see [`integrity`](Self::integrity)).
    ///
    /// # Errors
    /// [`DbError::Open`] when the file cannot be opened, created or repaired (not a redb file, held
    /// by another process, I/O errors); [`DbError::Corrupted`] when it is damaged.
    pub fn open(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        let health = Arc::new(Health::default());
        let db = health.guard(Operation::Open, None, || {
            redb::Builder::new()
                .set_cache_size(options.cache_size)
                .create(&path)
                .map_err(|source| open_failed(&path, source))
        })?;
        Self::checked(db, path, options, health, false)
    }

    /// Opens the existing database file at `path` without ever writing to it (a read-only
    /// mount, a copy under inspection, a file a live writer holds is refused as by
    /// [`open`](Self::open)). What redb writes while opening, repairing after a crash or
    /// checking integrity stays in memory; write transactions fail with [`DbError::ReadOnly`].
    ///
    /// # Errors
    /// [`DbError::Open`] when the file is missing, empty, not a redb file or held by a writer;
    /// [`DbError::Corrupted`] when it is damaged.
    pub fn open_read_only(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::File::open(&path).map_err(|source| open_failed(&path, source))?;
        let len = file.metadata().map_err(|source| open_failed(&path, source))?.len();
        if len == 0 {
            return Err(open_failed(&path, std::io::Error::other("the file is empty")));
        }
        let backend = ReadOnlyFile::new(file).map_err(|source| open_failed(&path, source))?;
        let health = Arc::new(Health::default());
        let db = health.guard(Operation::Open, None, || {
            redb::Builder::new()
                .set_cache_size(options.cache_size)
                .create_with_backend(backend)
                .map_err(|source| open_failed(&path, source))
        })?;
        Self::checked(db, path, options, health, true)
    }

    /// Wraps a redb database the client already opened: snapsync's tables (see
    /// [`TABLE_NAMES`](crate::TABLE_NAMES)) are created inside the client's file on first write,
    /// beside the client's own tables, and every transaction is an ordinary redb transaction of
    /// that file. `options.cache_size` has no effect (the cache was sized when the client
    /// opened it); durability, quick repair and the integrity check apply as for
    /// [`open`](Self::open). [`path`](Self::path) is empty: the handle does not say.
    ///
    /// # Errors
    /// [`DbError::Corrupted`] when the integrity check finds the file damaged.
    pub fn from_redb(db: redb::Database, options: RedbOptions) -> Result<Self, DbError> {
        Self::checked(db, PathBuf::new(), options, Arc::new(Health::default()), false)
    }

    /// The opened database, after the integrity check if the options ask for it.
    fn checked(
        db: redb::Database,
        path: PathBuf,
        options: RedbOptions,
        health: Arc<Health>,
        read_only: bool,
    ) -> Result<Self, DbError> {
        // From here on a drop after a contained panic is contained too.
        let mut db = DropContained::new(db);
        let integrity = if options.check_integrity {
            let clean = health.guard(Operation::Check, None, || {
                db.get_mut().check_integrity().map_err(failed(Operation::Check, None))
            })?;
            Some(if clean { Integrity::Clean } else { Integrity::Repaired })
        } else {
            None
        };
        tracing::debug!(
            target: "sync::db",
            path = %path.display(), ?options, ?integrity, read_only, "opened redb database"
        );
        Ok(Self { db, path, options, health, integrity, read_only })
    }

    /// What the integrity check at open found; `None` when it did not run.
    pub const fn integrity(&self) -> Option<Integrity> {
        self.integrity
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
        let stats = self.health.guard(Operation::Stats, None, || {
            let txn = self.db.get().begin_write().map_err(failed(Operation::BeginWrite, None))?;
            let txn = DropContained::new(txn);
            txn.get().stats().map_err(failed(Operation::Stats, None))
        })?;
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
        let db = self.db.get_mut();
        self.health.guard(Operation::Check, None, || {
            db.check_integrity().map_err(failed(Operation::Check, None))
        })
    }
}

/// [`DbError::Open`] for `path`, unless redb found the file damaged.
fn open_failed(path: &Path, source: impl Into<redb::Error>) -> DbError {
    match source.into() {
        redb::Error::Corrupted(detail) => corrupted(Operation::Open, None, detail),
        source => DbError::Open { path: path.to_path_buf(), source: source.into() },
    }
}

impl Database for RedbDatabase {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead>, DbError> {
        let txn = self.health.guard(Operation::BeginRead, None, || {
            self.db.get().begin_read().map_err(failed(Operation::BeginRead, None))
        })?;
        Ok(Box::new(RedbRead {
            txn: DropContained::new(txn),
            tables: DropContained::new(Mutex::default()),
            health: self.health.clone(),
        }))
    }

    fn begin_write(&self) -> Result<Box<dyn KvWrite>, DbError> {
        if self.read_only {
            return Err(DbError::ReadOnly { path: self.path.clone() });
        }
        let txn = self.health.guard(Operation::BeginWrite, None, || {
            let mut txn =
                self.db.get().begin_write().map_err(failed(Operation::BeginWrite, None))?;
            txn.set_quick_repair(self.options.quick_repair);
            Ok(txn)
        })?;
        crate::metrics::file_size(&self.path);
        let mut write = RedbWrite { txn: DropContained::new(txn), health: self.health.clone() };
        write.set_durability(self.options.durability)?;
        Ok(Box::new(write))
    }
}

/// A read transaction, with the tables it opened kept open.
struct RedbRead {
    /// `None` for tables that do not exist in this snapshot (declared first: dropped first).
    tables: DropContained<OpenTables>,
    txn: DropContained<redb::ReadTransaction>,
    health: Arc<Health>,
}

impl RedbRead {
    fn table(&self, name: &'static str) -> Result<Option<Arc<RawTable>>, DbError> {
        let mut tables = self.tables.get().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(table) = tables.get(name) {
            return Ok(table.clone());
        }
        let table = self.health.guard(Operation::OpenTable, Some(name), || {
            match self.txn.get().open_table(definition(name)) {
                Ok(table) => Ok(Some(Arc::new(table))),
                Err(TableError::TableDoesNotExist(_)) => Ok(None),
                Err(err) => Err(failed(Operation::OpenTable, Some(name))(err)),
            }
        })?;
        tables.insert(name, table.clone());
        Ok(table)
    }
}

impl KvRead for RedbRead {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let Some(handle) = self.table(table)? else { return Ok(None) };
        self.health.guard(Operation::Get, Some(table), || {
            let value = handle.get(key).map_err(failed(Operation::Get, Some(table)))?;
            Ok(value.map(|guard| guard.value().to_vec()))
        })
    }

    /// redb keeps each table's length in its root: no walk.
    fn len(&self, table: &'static str) -> Result<u64, DbError> {
        let Some(handle) = self.table(table)? else { return Ok(0) };
        self.health.guard(Operation::Range, Some(table), || {
            handle.len().map_err(failed(Operation::Range, Some(table)))
        })
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
        let range = self.health.guard(Operation::Range, Some(table), || {
            handle.range::<&[u8]>(bounds.as_slices()).map_err(failed(Operation::Range, Some(table)))
        })?;
        let to_entry = move |item: Result<_, redb::StorageError>| {
            let (key, value): (redb::AccessGuard<'_, Bytes>, redb::AccessGuard<'_, Bytes>) =
                item.map_err(failed(Operation::Range, Some(table)))?;
            Ok((key.value().to_vec(), value.value().to_vec()))
        };
        let inner: KvIter<'_> = match direction {
            Direction::Forward => Box::new(range.map(to_entry)),
            Direction::Reverse => Box::new(range.rev().map(to_entry)),
        };
        let inner = DropContained::new(inner);
        Ok(Box::new(Guarded { inner, health: self.health.clone(), table, failed: false }))
    }
}

struct RedbWrite {
    txn: DropContained<redb::WriteTransaction>,
    health: Arc<Health>,
}

impl RedbWrite {
    fn open(&self, table: &'static str) -> Result<redb::Table<'_, Bytes, Bytes>, DbError> {
        self.health.guard(Operation::OpenTable, Some(table), || {
            let txn = self.txn.get();
            txn.open_table(definition(table)).map_err(failed(Operation::OpenTable, Some(table)))
        })
    }

    /// Up to `limit` entries of `table` within `bounds`, in `direction`.
    fn batch(
        &self,
        table: &'static str,
        bounds: &KeyBounds,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>, DbError> {
        self.health.guard(Operation::Range, Some(table), || {
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
        })
    }
}

impl KvRead for RedbWrite {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        self.health.guard(Operation::Get, Some(table), || {
            let handle = self.open(table)?;
            let value = handle.get(key).map_err(failed(Operation::Get, Some(table)))?;
            Ok(value.map(|guard| guard.value().to_vec()))
        })
    }

    /// redb keeps each table's length in its root: no walk.
    fn len(&self, table: &'static str) -> Result<u64, DbError> {
        self.health.guard(Operation::Range, Some(table), || {
            self.open(table)?.len().map_err(failed(Operation::Range, Some(table)))
        })
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
        self.health.guard(Operation::Put, Some(table), || {
            let mut handle = self.open(table)?;
            handle.insert(key, value).map_err(failed(Operation::Put, Some(table)))?;
            Ok(())
        })
    }

    fn delete(&mut self, table: &'static str, key: &[u8]) -> Result<bool, DbError> {
        self.health.guard(Operation::Delete, Some(table), || {
            let mut handle = self.open(table)?;
            let removed = handle.remove(key).map_err(failed(Operation::Delete, Some(table)))?;
            Ok(removed.is_some())
        })
    }

    fn clear(&mut self, table: &'static str) -> Result<(), DbError> {
        let txn = self.txn.get();
        self.health.guard(Operation::Clear, Some(table), || {
            txn.delete_table(definition(table)).map_err(failed(Operation::Clear, Some(table)))?;
            Ok(())
        })
    }

    fn append_sorted(
        &mut self,
        table: &'static str,
        entries: &mut dyn EntrySource,
    ) -> Result<u64, DbError> {
        let mut handle = self.open(table)?;
        self.health
            .guard(Operation::Append, Some(table), || append_at_cursor(&mut handle, table, entries))
    }

    fn set_durability(&mut self, durability: Durability) -> Result<(), DbError> {
        let level = match durability {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Deferred => redb::Durability::None,
        };
        self.txn.get_mut().set_durability(level).map_err(failed(Operation::SetDurability, None))
    }

    fn commit(self: Box<Self>) -> Result<(), DbError> {
        let Self { txn, health } = *self;
        health.guard(Operation::Commit, None, || match txn.into_inner() {
            Some(txn) => txn.commit().map_err(failed(Operation::Commit, None)),
            None => Err(corrupted(Operation::Commit, None, "the transaction is gone".to_owned())),
        })
    }
}

/// Inserts `entries` (ascending keys) into `handle` through a write cursor; see
/// [`KvWrite::append_sorted`].
fn append_at_cursor(
    handle: &mut redb::Table<'_, Bytes, Bytes>,
    table: &'static str,
    entries: &mut dyn EntrySource,
) -> Result<u64, DbError> {
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
