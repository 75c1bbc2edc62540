//! The in-memory backend: see [`MemoryDatabase`].

use crate::{
    Database, DbError, Direction, Durability, Entry, EntrySource, KeyBounds, KvIter, KvRead,
    KvWrite,
    kv::{BatchedRange, OrderCheck},
};
use std::{
    collections::BTreeMap,
    iter::Peekable,
    sync::{Arc, Condvar, Mutex, PoisonError, RwLock},
};

type TableMap = BTreeMap<Vec<u8>, Vec<u8>>;
type Snapshot = BTreeMap<&'static str, Arc<TableMap>>;

/// An in-memory [`Database`] with the same contract as the on-disk one, for tests and small
/// networks. Cloning it shares the same data.
///
/// The committed state is an immutable snapshot, `Arc<table name → Arc<BTreeMap>>`. A read view
/// clones the outer `Arc` and so never sees a later commit. A write transaction keeps its changes
/// in a per-table overlay (`key → Some(value)` or a tombstone, plus a "cleared" flag) on top of the
/// snapshot it started from; reads merge the two. Commit applies the overlay under the lock,
/// copying a table first only if a live read view still shares it (copy-on-write via
/// `Arc::make_mut`), so with no long-lived readers a commit costs only its own changes.
#[derive(Debug, Default, Clone)]
pub struct MemoryDatabase {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    committed: RwLock<Arc<Snapshot>>,
    /// Whether a write transaction is open; writers wait on `writer_done` for it to clear.
    writer_open: Mutex<bool>,
    writer_done: Condvar,
}

impl MemoryDatabase {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new database holding this one's committed state as it is now. The two share their
    /// tables until either commits: a commit then copies only the tables it changes (the
    /// copy-on-write above), so keeping a fork of a state costs one copy of each table changed
    /// after it, not a copy of the whole database.
    pub fn fork(&self) -> Self {
        let shared = Shared { committed: RwLock::new(self.snapshot()), ..Shared::default() };
        Self { shared: Arc::new(shared) }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.shared.committed.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Database for MemoryDatabase {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead>, DbError> {
        Ok(Box::new(MemoryRead { snapshot: self.snapshot() }))
    }

    fn begin_write(&self) -> Result<Box<dyn KvWrite>, DbError> {
        let mut open = self.shared.writer_open.lock().unwrap_or_else(PoisonError::into_inner);
        while *open {
            open = self.shared.writer_done.wait(open).unwrap_or_else(PoisonError::into_inner);
        }
        *open = true;
        drop(open);
        Ok(Box::new(MemoryWrite {
            shared: Arc::clone(&self.shared),
            base: self.snapshot(),
            changes: BTreeMap::new(),
        }))
    }
}

/// A read view: one committed snapshot.
struct MemoryRead {
    snapshot: Arc<Snapshot>,
}

impl KvRead for MemoryRead {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.snapshot.get(table).and_then(|t| t.get(key)).cloned())
    }

    fn range(
        &self,
        table: &'static str,
        bounds: KeyBounds,
        direction: Direction,
    ) -> Result<KvIter<'_>, DbError> {
        let base = self.snapshot.get(table);
        let fetch = move |bounds: &KeyBounds, direction, limit| {
            Ok(merged_batch(base.map(Arc::as_ref), None, bounds, direction, limit))
        };
        Ok(Box::new(BatchedRange::new(fetch, bounds, direction)))
    }
}

/// The uncommitted changes of one table.
#[derive(Debug, Default)]
struct TableChanges {
    /// The table was cleared: the base snapshot's entries are gone.
    cleared: bool,
    /// `Some(value)` for a put, `None` for a deletion.
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

struct MemoryWrite {
    shared: Arc<Shared>,
    base: Arc<Snapshot>,
    changes: BTreeMap<&'static str, TableChanges>,
}

impl MemoryWrite {
    /// The base table as this transaction sees it (none once cleared).
    fn visible_base(&self, table: &'static str) -> Option<&TableMap> {
        let cleared = self.changes.get(table).is_some_and(|c| c.cleared);
        if cleared { None } else { self.base.get(table).map(Arc::as_ref) }
    }
}

impl Drop for MemoryWrite {
    fn drop(&mut self) {
        let mut open = self.shared.writer_open.lock().unwrap_or_else(PoisonError::into_inner);
        *open = false;
        self.shared.writer_done.notify_one();
    }
}

impl KvRead for MemoryWrite {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        if let Some(change) = self.changes.get(table).and_then(|c| c.overlay.get(key)) {
            return Ok(change.clone());
        }
        Ok(self.visible_base(table).and_then(|t| t.get(key)).cloned())
    }

    fn range(
        &self,
        table: &'static str,
        bounds: KeyBounds,
        direction: Direction,
    ) -> Result<KvIter<'_>, DbError> {
        let base = self.visible_base(table);
        let overlay = self.changes.get(table).map(|c| &c.overlay);
        let fetch = move |bounds: &KeyBounds, direction, limit| {
            Ok(merged_batch(base, overlay, bounds, direction, limit))
        };
        Ok(Box::new(BatchedRange::new(fetch, bounds, direction)))
    }
}

impl KvWrite for MemoryWrite {
    fn put(&mut self, table: &'static str, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.changes.entry(table).or_default().overlay.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, table: &'static str, key: &[u8]) -> Result<bool, DbError> {
        let existed = self.get(table, key)?.is_some();
        if existed {
            self.changes.entry(table).or_default().overlay.insert(key.to_vec(), None);
        }
        Ok(existed)
    }

    fn clear(&mut self, table: &'static str) -> Result<(), DbError> {
        self.changes.insert(table, TableChanges { cleared: true, overlay: BTreeMap::new() });
        Ok(())
    }

    fn append_sorted(
        &mut self,
        table: &'static str,
        entries: &mut dyn EntrySource,
    ) -> Result<u64, DbError> {
        let overlay = &mut self.changes.entry(table).or_default().overlay;
        let mut order = OrderCheck::default();
        let (mut key, mut value) = (Vec::new(), Vec::new());
        let mut count = 0;
        while entries.next_entry(&mut key, &mut value)? {
            order.accept(table, &key)?;
            overlay.insert(key.clone(), Some(value.clone()));
            count += 1;
        }
        Ok(count)
    }

    fn set_durability(&mut self, _durability: Durability) -> Result<(), DbError> {
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), DbError> {
        let changes = std::mem::take(&mut self.changes);
        // Release this transaction's hold on the snapshot so unshared tables are not copied.
        self.base = Arc::default();
        let mut committed = self.shared.committed.write().unwrap_or_else(PoisonError::into_inner);
        let snapshot = Arc::make_mut(&mut committed);
        for (table, change) in changes {
            apply(Arc::make_mut(snapshot.entry(table).or_default()), change);
        }
        Ok(())
    }
}

/// Applies one table's changes to its committed map.
fn apply(table: &mut TableMap, change: TableChanges) {
    if change.cleared {
        table.clear();
    }
    if table.is_empty() {
        // Sorted input: the map is bulk-built rather than grown entry by entry.
        *table = change.overlay.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        return;
    }
    for (key, value) in change.overlay {
        match value {
            Some(value) => table.insert(key, value),
            None => table.remove(&key),
        };
    }
}

/// Up to `limit` live entries of `base` overlaid with `overlay`, within `bounds`, in `direction`.
fn merged_batch(
    base: Option<&TableMap>,
    overlay: Option<&BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    bounds: &KeyBounds,
    direction: Direction,
    limit: usize,
) -> Vec<Entry> {
    if bounds.is_empty() {
        return Vec::new();
    }
    let range = bounds.as_slices();
    let empty_base = TableMap::new();
    let empty_overlay = BTreeMap::new();
    let base = base.unwrap_or(&empty_base).range::<[u8], _>(range);
    let overlay = overlay.unwrap_or(&empty_overlay).range::<[u8], _>(range);
    match direction {
        Direction::Forward => merge(base.peekable(), overlay.peekable(), false, limit),
        Direction::Reverse => merge(base.rev().peekable(), overlay.rev().peekable(), true, limit),
    }
}

/// Merges two ordered walks, the overlay winning on equal keys and its tombstones hiding entries.
fn merge<'a>(
    mut base: Peekable<impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>>,
    mut overlay: Peekable<impl Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>>,
    reverse: bool,
    limit: usize,
) -> Vec<Entry> {
    use std::cmp::Ordering;
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let order = match (base.peek(), overlay.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((b, _)), Some((o, _))) if reverse => o.cmp(b),
            (Some((b, _)), Some((o, _))) => b.cmp(o),
        };
        if order == Ordering::Less {
            if let Some((k, v)) = base.next() {
                out.push((k.clone(), v.clone()));
            }
            continue;
        }
        if order == Ordering::Equal {
            base.next();
        }
        if let Some((k, Some(v))) = overlay.next() {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}
