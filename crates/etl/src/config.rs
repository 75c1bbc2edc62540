//! How much memory a collector may use, and where it spills.

use std::path::PathBuf;

/// Settings of a [`Collector`](crate::Collector).
///
/// Heap while inserting is at most `buffer_capacity + writer_buffer`; while iterating it is at
/// most `buffer_capacity + min(runs, max_merge_runs) * (reader_buffer + largest entry)`, plus
/// `writer_buffer` while runs beyond `max_merge_runs` are merged first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Bytes the in-memory buffer may allocate: keys, values and the per-entry index (24 bytes an
    /// entry). When the next entry would not fit, the buffer is sorted and spilled to a run file.
    pub buffer_capacity: usize,
    /// Existing directory in which the collector creates its private run directory at the first
    /// spill. `None` means [`std::env::temp_dir`], which may be a RAM-backed tmpfs: for a sync,
    /// use a directory on the database's disk, and call
    /// [`remove_stale_runs`](crate::remove_stale_runs) on it at startup (runs left by a killed
    /// process are not reclaimed otherwise; live ones, of any process, are kept).
    pub temp_dir: Option<PathBuf>,
    /// Read buffer per run file during the merge.
    pub reader_buffer: usize,
    /// Write buffer of the run file being written.
    pub writer_buffer: usize,
    /// Most run files read at once. Beyond it, [`Collector::iter`](crate::Collector::iter) first
    /// merges the oldest runs into larger ones, which bounds open files and reader memory.
    /// Values below 2 count as 2.
    pub max_merge_runs: usize,
}

impl CollectorConfig {
    /// Default [`buffer_capacity`](Self::buffer_capacity): 64 MiB.
    pub const DEFAULT_BUFFER_CAPACITY: usize = 64 * 1024 * 1024;
    /// Default [`reader_buffer`](Self::reader_buffer): 64 KiB.
    pub const DEFAULT_READER_BUFFER: usize = 64 * 1024;
    /// Default [`writer_buffer`](Self::writer_buffer): 1 MiB.
    pub const DEFAULT_WRITER_BUFFER: usize = 1024 * 1024;
    /// Default [`max_merge_runs`](Self::max_merge_runs): 256.
    pub const DEFAULT_MAX_MERGE_RUNS: usize = 256;

    /// The defaults with a buffer of `buffer_capacity` bytes.
    pub fn new(buffer_capacity: usize) -> Self {
        Self { buffer_capacity, ..Self::default() }
    }

    /// Spills into a private directory created inside `dir`, which must exist.
    #[must_use]
    pub fn with_temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Reads at most `max_merge_runs` run files at once.
    #[must_use]
    pub fn with_max_merge_runs(mut self, max_merge_runs: usize) -> Self {
        self.max_merge_runs = max_merge_runs;
        self
    }

    /// Uses read and write buffers of the given sizes.
    #[must_use]
    pub fn with_io_buffers(mut self, reader_buffer: usize, writer_buffer: usize) -> Self {
        self.reader_buffer = reader_buffer;
        self.writer_buffer = writer_buffer;
        self
    }

    /// The directory the run directory is created in.
    pub(crate) fn base_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// [`max_merge_runs`](Self::max_merge_runs), at least 2.
    pub(crate) fn merge_fan_in(&self) -> usize {
        self.max_merge_runs.max(2)
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            buffer_capacity: Self::DEFAULT_BUFFER_CAPACITY,
            temp_dir: None,
            reader_buffer: Self::DEFAULT_READER_BUFFER,
            writer_buffer: Self::DEFAULT_WRITER_BUFFER,
            max_merge_runs: Self::DEFAULT_MAX_MERGE_RUNS,
        }
    }
}
