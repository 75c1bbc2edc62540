//! A redb storage backend that never writes its file: see [`ReadOnlyFile`].
//!
//! redb's own read-only handle cannot check the file's checksums (that is
//! `Database::check_integrity`, which needs a writable handle because it may repair), and refuses
//! a file whose last writer died without saving its allocator state. Opening the file read-only
//! under this backend gives both: redb believes it writes (the recovery flag on open, a repair,
//! the clean-shutdown flag on close), and those writes land in memory over the unchanged file.

use redb::{BackendError, StorageBackend, backends::FileBackend};
use std::{
    fs::File,
    io,
    ops::Bound,
    sync::{Mutex, PoisonError},
};

/// Most bytes the overlay holds: what redb writes when opening, checking and closing a clean
/// file is a few pages; a repair rewrites the allocator state (a few bytes per page of the file).
/// Past this the file needs a repair too large to do in memory: run a writer over it first.
pub const MAX_OVERLAY_BYTES: usize = 256 << 20;

/// A file opened read-only, with the writes redb makes kept in memory over it.
#[derive(Debug)]
pub(crate) struct ReadOnlyFile {
    file: FileBackend,
    overlay: Mutex<Overlay>,
}

/// Writes made over the file, in the order they were made, and the length redb set.
#[derive(Debug)]
struct Overlay {
    writes: Vec<(u64, Vec<u8>)>,
    bytes: usize,
    len: u64,
}

impl ReadOnlyFile {
    /// Wraps `file`, which should be opened for reading only.
    ///
    /// # Errors
    /// When the file's length cannot be read.
    pub(crate) fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        let file = FileBackend::new(file).map_err(|error| io::Error::other(error.to_string()))?;
        Ok(Self { file, overlay: Mutex::new(Overlay { writes: Vec::new(), bytes: 0, len }) })
    }

    fn overlay(&self) -> std::sync::MutexGuard<'_, Overlay> {
        self.overlay.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StorageBackend for ReadOnlyFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.overlay().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let overlay = self.overlay();
        let end = offset
            .checked_add(out.len() as u64)
            .filter(|&end| end <= overlay.len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        // The part the file still has (redb may have grown it: the rest reads as zeros).
        let on_disk = self.file.len()?.min(end).saturating_sub(offset);
        let on_disk = usize::try_from(on_disk).unwrap_or(out.len()).min(out.len());
        out[on_disk..].fill(0);
        if on_disk > 0 {
            self.file.read(offset, &mut out[..on_disk])?;
        }
        for (at, data) in &overlay.writes {
            copy_overlap(*at, data, offset, out);
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.overlay().len = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut overlay = self.overlay();
        overlay.bytes = overlay.bytes.saturating_add(data.len());
        if overlay.bytes > MAX_OVERLAY_BYTES {
            return Err(io::Error::other(format!(
                "opened read-only: the file needs more than {MAX_OVERLAY_BYTES} bytes of repair \
                 writes, too many to keep in memory"
            )));
        }
        overlay.writes.push((offset, data.to_vec()));
        Ok(())
    }

    fn close(&self) -> io::Result<()> {
        self.file.close()
    }

    /// Taken shared: an exclusive (write) lock needs a file open for writing, and a shared one
    /// conflicts with any writer just the same, while never holding back another reader.
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    /// Taken shared, as [`try_lock_range`](Self::try_lock_range).
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// Copies the part of `data` (written at `at`) that falls within `out` (read at `offset`).
fn copy_overlap(at: u64, data: &[u8], offset: u64, out: &mut [u8]) {
    let start = at.max(offset);
    let end = (at.saturating_add(data.len() as u64)).min(offset.saturating_add(out.len() as u64));
    if start >= end {
        return;
    }
    // All three differences are below the lengths of `data` or `out`, so they fit a usize.
    let (Ok(from), Ok(to), Ok(len)) = (
        usize::try_from(start - at),
        usize::try_from(start - offset),
        usize::try_from(end - start),
    ) else {
        return;
    };
    out[to..to + len].copy_from_slice(&data[from..from + len]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn writes_stay_in_memory_and_read_back_over_the_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&[1u8; 16]).unwrap();
        let backend = ReadOnlyFile::new(File::open(file.path()).unwrap()).unwrap();
        backend.write(4, &[2, 2, 2, 2]).unwrap();
        backend.set_len(24).unwrap();
        backend.write(14, &[3, 3, 3, 3]).unwrap();
        let mut out = [0u8; 24];
        backend.read(0, &mut out).unwrap();
        assert_eq!(&out[..4], &[1; 4]);
        assert_eq!(&out[4..8], &[2; 4]);
        assert_eq!(&out[8..14], &[1; 6]);
        assert_eq!(&out[14..18], &[3; 4]);
        assert_eq!(&out[18..], &[0; 6]);
        assert!(backend.read(20, &mut [0u8; 8]).is_err(), "past the end");
        assert_eq!(std::fs::read(file.path()).unwrap(), vec![1u8; 16], "the file is unchanged");
    }
}
