//! The data directory shared by `sync` and `verify`: a redb file and the ETL run directory, or a
//! database held in memory.

use super::CliError;
use snapsync_db::{Database, Integrity, MemoryDatabase, RedbDatabase, RedbOptions};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};
use tempfile::TempDir;

/// Page cache of the redb database when no memory budget says otherwise: the cache share of
/// the default `memory.budget_bytes` (128 MiB).
pub(crate) const CACHE_BYTES: usize = 128 << 20;

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
    /// What the checksum walk at open found (`None` for an in-memory database).
    pub(crate) integrity: Option<Integrity>,
    /// How long opening (and that walk) took.
    pub(crate) open_took: std::time::Duration,
    /// Removes the temporary directory of an in-memory database when dropped.
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("label", &self.label).finish_non_exhaustive()
    }
}

impl Storage {
    /// One line for stderr on what opening checked, if it checked anything.
    pub(crate) fn describe_open(&self) -> Option<String> {
        let verdict = match self.integrity? {
            Integrity::Clean => "every page checksum holds",
            Integrity::Repaired => {
                "it was not closed cleanly (or its last commit was damaged) and was repaired to its \
                 last intact commit"
            }
        };
        Some(format!("{}: opened in {:.1} s; {verdict}", self.label, self.open_took.as_secs_f64()))
    }

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
            integrity: None,
            open_took: std::time::Duration::ZERO,
            _temp: Some(temp),
        })
    }

    /// The redb database of `dir`, both created if missing, every checksum verified at open,
    /// with a page cache of `cache_bytes` (a sync's: the cache share of its memory budget).
    ///
    /// # Errors
    /// [`CliError::Datadir`] when the directory cannot be created, [`CliError::NotADatadir`] when
    /// `dir` is not a directory, [`CliError::Store`] when the file cannot be opened (not a redb
    /// file, held by another process) or is damaged.
    pub(crate) fn create(dir: &Path, cache_bytes: usize) -> Result<Self, CliError> {
        if dir.exists() && !dir.is_dir() {
            return Err(not_a_directory(dir));
        }
        std::fs::create_dir_all(dir)
            .map_err(|source| CliError::Datadir { path: dir.to_path_buf(), source })?;
        let file = dir.join(DB_FILE);
        let started = std::time::Instant::now();
        let db = RedbDatabase::open(&file, options(cache_bytes))
            .map_err(|source| CliError::Store { path: file, source })?;
        Ok(Self::on_disk(dir, db, started.elapsed()))
    }

    /// The redb database of an existing data directory, opened read-only (the file is never
    /// written, so this works on a read-only mount and changes nothing), every checksum verified.
    ///
    /// # Errors
    /// [`CliError::NothingToVerify`] when the directory or its database file does not exist or
    /// the file is empty, naming the path; [`CliError::NotADatadir`] and [`CliError::Store`] as
    /// [`Storage::create`].
    pub(crate) fn open_read_only(dir: &Path) -> Result<Self, CliError> {
        if !dir.exists() {
            return Err(CliError::NothingToVerify(format!(
                "data directory {} does not exist",
                dir.display()
            )));
        }
        if !dir.is_dir() {
            return Err(not_a_directory(dir));
        }
        let file = dir.join(DB_FILE);
        let len = std::fs::metadata(&file).map(|meta| meta.is_file().then_some(meta.len()));
        match len {
            Ok(Some(len)) if len > 0 => {}
            Ok(Some(_)) => {
                return Err(CliError::NothingToVerify(format!(
                    "{} is empty: data directory {} holds no snapsync database",
                    file.display(),
                    dir.display()
                )));
            }
            Ok(None) | Err(_) => {
                return Err(CliError::NothingToVerify(format!(
                    "data directory {} holds no snapsync database ({} is missing or not a file)",
                    dir.display(),
                    file.display()
                )));
            }
        }
        let started = std::time::Instant::now();
        let db = RedbDatabase::open_read_only(&file, options(CACHE_BYTES))
            .map_err(|source| CliError::Store { path: file, source })?;
        Ok(Self::on_disk(dir, db, started.elapsed()))
    }

    fn on_disk(dir: &Path, db: RedbDatabase, open_took: std::time::Duration) -> Self {
        Self {
            integrity: db.integrity(),
            open_took,
            db: Arc::new(db),
            dir: dir.to_path_buf(),
            label: format!("data directory {}", dir.display()),
            _temp: None,
        }
    }
}

/// The redb settings of a data directory: a page cache of `cache_bytes` (the sync writes in
/// sorted bulk and reads mostly sequentially, so a small cache serves it as well as redb's
/// 1 GiB default and keeps the process's memory bounded), and every checksum verified at open,
/// so a damaged file is found before anything in it is read or reported.
fn options(cache_bytes: usize) -> RedbOptions {
    RedbOptions { cache_size: cache_bytes, check_integrity: true, ..RedbOptions::default() }
}

/// The error for a `--datadir` that exists but is not a directory, saying what it is.
fn not_a_directory(dir: &Path) -> CliError {
    let kind = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_file() => "a regular file",
        Ok(_) => "not a directory",
        Err(_) => "not accessible",
    };
    CliError::NotADatadir(format!(
        "--datadir {} is {kind}, not a data directory (one holds {DB_FILE} and etl/)",
        dir.display()
    ))
}

/// Keeps a copy of the chain's genesis file in `dir` (as `genesis.json`), for `serve` to read the
/// fork schedule from; a file that is already the copy is left alone.
///
/// # Errors
/// [`CliError::Datadir`] when it cannot be written.
pub(crate) fn keep_genesis(dir: &Path, genesis: &Path) -> Result<(), CliError> {
    let copy = dir.join(super::serve::GENESIS_FILE);
    let same =
        copy.canonicalize().ok().zip(genesis.canonicalize().ok()).is_some_and(|(a, b)| a == b);
    if !same {
        std::fs::copy(genesis, &copy).map_err(|source| CliError::Datadir { path: copy, source })?;
    }
    Ok(())
}
