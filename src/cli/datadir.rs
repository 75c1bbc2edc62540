//! The data directory shared by `sync` and `verify`: a redb file and the ETL run directory, or a
//! database held in memory.

use super::CliError;
use snapsync_db::{Database, MemoryDatabase, RedbDatabase, RedbOptions};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// Page cache of the redb database: 128 MiB.
const CACHE_BYTES: usize = 128 << 20;
use tempfile::TempDir;

/// The database file inside a data directory.
pub(crate) const DB_FILE: &str = "snapsync.redb";

/// The database a sync writes into, and the directory its ETL runs go below (`<dir>/etl`).
pub(crate) struct Storage {
    /// The database.
    pub(crate) db: Arc<dyn Database>,
    /// The data directory (a temporary one for an in-memory database).
    pub(crate) dir: PathBuf,
    /// How to name it in messages: the directory, or "the in-memory database".
    pub(crate) label: String,
    /// Removes the temporary directory of an in-memory database when dropped.
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("label", &self.label).finish_non_exhaustive()
    }
}

impl Storage {
    /// An empty in-memory database, with a temporary directory for the ETL runs.
    ///
    /// # Errors
    /// [`CliError::Datadir`] when the temporary directory cannot be created.
    pub(crate) fn memory() -> Result<Self, CliError> {
        let temp = TempDir::with_prefix("snapsync-sync-")
            .map_err(|source| CliError::Datadir { path: std::env::temp_dir(), source })?;
        Ok(Self {
            db: Arc::new(MemoryDatabase::new()),
            dir: temp.path().to_path_buf(),
            label: "the in-memory database".to_owned(),
            _temp: Some(temp),
        })
    }

    /// The redb database of `dir`, both created if missing.
    ///
    /// # Errors
    /// [`CliError::Datadir`] when the directory cannot be created, [`CliError::Database`] when
    /// the file cannot be opened (not a redb file, held by another process).
    pub(crate) fn create(dir: &Path) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| CliError::Datadir { path: dir.to_path_buf(), source })?;
        Self::open_file(dir)
    }

    /// The redb database of an existing data directory, which is not created.
    ///
    /// # Errors
    /// [`CliError::NothingToVerify`] when the directory or its database file does not exist;
    /// otherwise as [`Storage::create`].
    pub(crate) fn open_existing(dir: &Path) -> Result<Self, CliError> {
        if !dir.is_dir() {
            return Err(CliError::NothingToVerify(format!(
                "data directory {} does not exist",
                dir.display()
            )));
        }
        if !dir.join(DB_FILE).is_file() {
            return Err(CliError::NothingToVerify(format!(
                "data directory {} holds no snapsync database ({DB_FILE})",
                dir.display()
            )));
        }
        Self::open_file(dir)
    }

    fn open_file(dir: &Path) -> Result<Self, CliError> {
        // The sync writes in sorted bulk and reads mostly sequentially: a small page cache
        // serves it as well as redb's 1 GiB default, and keeps the process's memory bounded.
        let options = RedbOptions { cache_size: CACHE_BYTES, ..RedbOptions::default() };
        let db = RedbDatabase::open(dir.join(DB_FILE), options)?;
        Ok(Self {
            db: Arc::new(db),
            dir: dir.to_path_buf(),
            label: format!("data directory {}", dir.display()),
            _temp: None,
        })
    }
}
