//! A collector's private run directory, and the clean-up of those whose owner is gone.
//!
//! Several processes may share one base directory (two syncs with different data directories
//! and the same `etl.dir`), so clean-up must tell a live run directory from one a killed process
//! left. Each run directory holds a file, [`LOCK_FILE`], locked exclusively by its collector for
//! as long as the directory lives; the lock goes with the process (the kernel releases it when
//! the process ends, however it ends). [`remove_stale_runs`] removes a run directory only after
//! taking its lock itself.
//!
//! A directory gets its final name ([`RUN_DIR_PREFIX`]) only once its lock is held: it is made
//! under a staging name ([`STAGING_PREFIX`]), the lock file created and locked in it, then it is
//! renamed. So a run directory without a lock file is never a live one of this version; a
//! staging directory without one may be one being made, and is left alone.

use crate::{EtlError, error::IoOperation};
use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io,
    path::{Path, PathBuf},
};

/// The name prefix of every collector's run directory.
pub(crate) const RUN_DIR_PREFIX: &str = "snapsync-etl-";
/// The name prefix of a run directory being made (before its lock is held).
const STAGING_PREFIX: &str = ".snapsync-etl-new-";
/// The file, inside a run directory, its owner holds locked.
pub(crate) const LOCK_FILE: &str = "lock";
/// Attempts at making a run directory that a concurrent clean-up may take away while it is
/// staged.
const CREATE_ATTEMPTS: usize = 4;

/// A run directory, locked by this process while the value lives; removed on drop.
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
    /// The lock file, locked exclusively; released when dropped (after the directory is gone).
    _lock: File,
}

impl RunDir {
    /// Makes a new, locked run directory inside `base`.
    ///
    /// # Errors
    /// [`EtlError::Io`] when the directory or its lock file cannot be made, locked or named.
    pub(crate) fn create(base: &Path) -> Result<Self, EtlError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::try_create(base) {
                Ok(Some(dir)) => return Ok(dir),
                // A concurrent clean-up took the staged directory: make another.
                Ok(None) if attempt < CREATE_ATTEMPTS => {}
                Ok(None) => {
                    let source = io::Error::other("removed while being made, every attempt");
                    return Err(EtlError::io(IoOperation::CreateDir, base, source));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One attempt: `None` when a concurrent clean-up removed the staged directory first.
    fn try_create(base: &Path) -> Result<Option<Self>, EtlError> {
        let staged = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(base)
            .map_err(|source| EtlError::io(IoOperation::CreateDir, base, source))?
            .keep();
        let lock_path = staged.join(LOCK_FILE);
        let lock = match File::create_new(&lock_path) {
            Ok(lock) => lock,
            Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(EtlError::io(IoOperation::CreateFile, lock_path, source)),
        };
        match lock.try_lock() {
            Ok(()) => {}
            // A clean-up holds it, and removes the directory.
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(source)) => {
                return Err(EtlError::io(IoOperation::Lock, lock_path, source));
            }
        }
        let path = final_path(&staged);
        match fs::rename(&staged, &path) {
            Ok(()) => Ok(Some(Self { path, _lock: lock })),
            Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => {
                let _ = fs::remove_dir_all(&staged);
                Err(EtlError::io(IoOperation::Rename, staged, source))
            }
        }
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and releases its lock.
    ///
    /// # Errors
    /// [`EtlError::Io`] when the directory cannot be removed (one already gone is fine).
    pub(crate) fn close(self) -> Result<(), EtlError> {
        let result = remove_dir(&self.path);
        // Drop removes again, finding nothing, and releases the lock.
        drop(self);
        result
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // Best effort: a directory that cannot be removed now is stale once the lock is
        // released, and the next clean-up of the base removes it.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `staged`'s final name: the run-directory prefix and the staging name's random part.
fn final_path(staged: &Path) -> PathBuf {
    let name = staged.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    let random = name.strip_prefix(STAGING_PREFIX).unwrap_or(name);
    staged.with_file_name(format!("{RUN_DIR_PREFIX}{random}"))
}

/// Removes `path` and everything in it; one already gone is fine.
fn remove_dir(path: &Path) -> Result<(), EtlError> {
    match fs::remove_dir_all(path) {
        Err(source) if source.kind() != io::ErrorKind::NotFound => {
            Err(EtlError::io(IoOperation::RemoveDir, path, source))
        }
        _ => Ok(()),
    }
}

/// Removes the run directories in `base` whose owner is gone: those whose lock this call can
/// take (their process ended without removing them, as when it was killed), and those of an
/// older version, which have no lock file. A run directory a live collector holds, of this
/// process or another, is kept, so this is safe to call at any time, with other processes
/// using `base`. Staging directories are removed when their lock can be taken, kept otherwise.
/// Nothing but entries named like run directories is touched. Returns how many were removed.
///
/// Where the file system cannot lock files (the lock is then unsupported), nothing is removed.
///
/// # Errors
/// [`EtlError::Io`] when `base` cannot be listed, or a run directory's lock cannot be tried or
/// the directory removed. A missing `base` is not an error (nothing to remove).
pub fn remove_stale_runs(base: &Path) -> Result<usize, EtlError> {
    let entries = match fs::read_dir(base) {
        Ok(entries) => entries,
        Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(EtlError::io(IoOperation::ReadDir, base, source)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|source| EtlError::io(IoOperation::ReadDir, base, source))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = if name.starts_with(RUN_DIR_PREFIX) {
            Kind::Run
        } else if name.starts_with(STAGING_PREFIX) {
            Kind::Staging
        } else {
            continue;
        };
        if remove_if_stale(&entry.path(), kind)? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// What a directory found by [`remove_stale_runs`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run directory (locked before it got its name).
    Run,
    /// A run directory being made (perhaps not locked yet).
    Staging,
}

/// Removes `dir` if its owner is gone; returns whether it did.
fn remove_if_stale(dir: &Path, kind: Kind) -> Result<bool, EtlError> {
    let lock_path = dir.join(LOCK_FILE);
    let lock = match OpenOptions::new().read(true).write(true).open(&lock_path) {
        Ok(lock) => lock,
        // Gone meanwhile (its owner removed it), or not a directory: nothing of ours.
        Err(_) if !dir.is_dir() => return Ok(false),
        Err(source) if source.kind() == io::ErrorKind::NotFound => {
            return match kind {
                // Made by a version without locks, whose owner is gone with it.
                Kind::Run => remove_dir(dir).map(|()| true),
                // Perhaps being made right now.
                Kind::Staging => Ok(false),
            };
        }
        Err(source) => return Err(EtlError::io(IoOperation::Lock, lock_path, source)),
    };
    match lock.try_lock() {
        // Held until the directory is gone, so that no one takes it meanwhile.
        Ok(()) => remove_dir(dir).map(|()| true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(source)) if source.kind() == io::ErrorKind::Unsupported => {
            Ok(false)
        }
        Err(TryLockError::Error(source)) => Err(EtlError::io(IoOperation::Lock, lock_path, source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(base: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(base)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// A run directory as a killed process leaves it: named, with an unlocked lock file.
    fn left_by_a_dead_process(base: &Path, name: &str) -> PathBuf {
        let dir = base.join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join(LOCK_FILE), b"").unwrap();
        fs::write(dir.join("run-000000"), b"x").unwrap();
        dir
    }

    #[test]
    fn a_run_dir_is_named_locked_and_removed_on_drop() {
        let base = tempfile::tempdir().unwrap();
        let dir = RunDir::create(base.path()).unwrap();
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(RUN_DIR_PREFIX), "{name}");
        assert_eq!(names_in(base.path()), vec![name]);
        let other = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(dir);
        assert!(names_in(base.path()).is_empty());
        other.try_lock().unwrap();
    }

    #[test]
    fn live_run_dirs_are_kept_and_dead_ones_removed() {
        let base = tempfile::tempdir().unwrap();
        let live = RunDir::create(base.path()).unwrap();
        fs::write(live.path().join("run-000000"), b"x").unwrap();
        let dead = left_by_a_dead_process(base.path(), "snapsync-etl-dead");
        let old = base.path().join("snapsync-etl-old-version");
        fs::create_dir(&old).unwrap();
        fs::create_dir(base.path().join("keep-me")).unwrap();
        assert_eq!(remove_stale_runs(base.path()).unwrap(), 2);
        assert!(live.path().join("run-000000").exists());
        assert!(!dead.exists() && !old.exists());
        assert!(base.path().join("keep-me").exists());
        assert_eq!(remove_stale_runs(base.path()).unwrap(), 0);
        live.close().unwrap();
        assert_eq!(names_in(base.path()), vec!["keep-me".to_owned()]);
    }

    #[test]
    fn staging_dirs_are_removed_only_once_their_lock_can_be_taken() {
        let base = tempfile::tempdir().unwrap();
        let being_made = base.path().join(format!("{STAGING_PREFIX}a"));
        fs::create_dir(&being_made).unwrap();
        let abandoned = left_by_a_dead_process(base.path(), &format!("{STAGING_PREFIX}b"));
        let held = left_by_a_dead_process(base.path(), &format!("{STAGING_PREFIX}c"));
        let holder = File::open(held.join(LOCK_FILE)).unwrap();
        holder.lock().unwrap();
        assert_eq!(remove_stale_runs(base.path()).unwrap(), 1);
        assert!(being_made.exists() && held.exists() && !abandoned.exists());
        drop(holder);
        assert_eq!(remove_stale_runs(base.path()).unwrap(), 1);
        assert!(!held.exists());
    }

    #[test]
    fn a_missing_base_has_nothing_to_remove_and_a_file_base_is_an_error() {
        let base = tempfile::tempdir().unwrap();
        assert_eq!(remove_stale_runs(&base.path().join("missing")).unwrap(), 0);
        let file = base.path().join("file");
        fs::write(&file, b"").unwrap();
        let error = remove_stale_runs(&file).unwrap_err();
        assert!(
            matches!(&error, EtlError::Io { operation: IoOperation::ReadDir, path, .. } if *path == file),
            "{error:?}"
        );
        assert!(RunDir::create(&file).is_err());
    }
}
