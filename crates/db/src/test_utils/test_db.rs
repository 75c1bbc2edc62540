//! Databases for tests that run the same assertions on every backend.

use crate::{Database, MemoryDatabase, RedbDatabase, RedbOptions};
use std::{ops::Deref, sync::Arc};
use tempfile::TempDir;

/// A database under test, with the temporary directory that holds it (redb), removed on drop.
pub struct TestDb {
    /// The database.
    pub db: Arc<dyn Database>,
    _dir: Option<TempDir>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("on_disk", &self._dir.is_some()).finish()
    }
}

impl Deref for TestDb {
    type Target = dyn Database;

    fn deref(&self) -> &Self::Target {
        &*self.db
    }
}

/// A fresh in-memory database.
pub fn memory_db() -> TestDb {
    TestDb { db: Arc::new(MemoryDatabase::new()), _dir: None }
}

/// A fresh redb database in a temporary directory (16 MiB cache).
///
/// # Panics
/// When the temporary directory or the database cannot be created: a broken test machine.
#[expect(clippy::panic, reason = "test machinery: a broken test machine fails the test")]
pub fn redb_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("temporary directory: {err}"));
    let options = RedbOptions { cache_size: 16 << 20, ..RedbOptions::default() };
    let db = RedbDatabase::open(dir.path().join("db.redb"), options)
        .unwrap_or_else(|err| panic!("redb in {}: {err}", dir.path().display()));
    TestDb { db: Arc::new(db), _dir: Some(dir) }
}
