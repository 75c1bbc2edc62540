//! The collector: buffer, spill, merge.

use crate::{
    CollectorConfig, Decode, Encode, EtlError, Iter,
    buffer::SortBuffer,
    error::IoOperation,
    merge::{Merger, Source},
    metrics,
    run::{Run, RunReader, write_run},
    run_dir::RunDir,
};
use std::{
    fmt, fs,
    marker::PhantomData,
    path::{Path, PathBuf},
    time::Instant,
};

/// Collects key-value entries in any order and gives them back sorted by encoded key, in bounded
/// memory.
///
/// Entries go to an in-memory buffer of [`CollectorConfig::buffer_capacity`] bytes; when the next
/// entry would not fit, the buffer is sorted and written to a run file in a private directory (see
/// [`run_dir`](Self::run_dir)). [`iter`](Self::iter) merges the runs and the buffer's remainder.
///
/// **Duplicate keys: the last insert wins.** Of all entries inserted with the same key, only the
/// one inserted last is yielded, whether the earlier ones are in the same run, in older runs, or in
/// the buffer.
///
/// The run directory holds a lock file the collector keeps locked while it lives. The directory
/// and its files are deleted when the collector is dropped, including while a panic unwinds; a
/// process that is killed or aborts leaves them behind, unlocked, and
/// [`remove_stale_runs`](crate::remove_stale_runs) removes them (and only them: directories of
/// live collectors, of any process, are kept).
pub struct Collector<K, V> {
    config: CollectorConfig,
    buffer: SortBuffer,
    /// Run files, oldest first: on equal keys a later run wins over an earlier one, and the buffer
    /// over every run.
    runs: Vec<Run>,
    /// The private run directory, created at the first spill.
    dir: Option<RunDir>,
    next_run_id: u64,
    len: usize,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Collector<K, V> {
    /// An empty collector. Nothing touches the disk before the first spill.
    pub fn new(config: CollectorConfig) -> Self {
        Self {
            buffer: SortBuffer::new(config.buffer_capacity),
            config,
            runs: Vec::new(),
            dir: None,
            next_run_id: 0,
            len: 0,
            _types: PhantomData,
        }
    }

    /// Number of inserts since creation or the last [`clear`](Self::clear), duplicates counted:
    /// the merged stream yields one entry per distinct key, so it may be shorter.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was inserted since creation or the last [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The settings.
    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }

    /// Bytes the in-memory buffer holds: capacity of its record chunks plus 24 bytes of index per
    /// buffered entry. At most [`CollectorConfig::buffer_capacity`], unless a single entry is
    /// larger than that (it is then held alone until the next insert spills it).
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.accounted_bytes()
    }

    /// Number of entries in the in-memory buffer (not yet spilled).
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Number of run files on disk.
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// The private directory holding the run files, once the first spill has created it.
    pub fn run_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(RunDir::path)
    }

    /// Removes every entry: frees the buffer and deletes the run files and the run directory.
    ///
    /// # Errors
    ///
    /// [`EtlError::Io`] if the run directory cannot be removed (one already gone is fine). The
    /// collector is empty either way.
    pub fn clear(&mut self) -> Result<(), EtlError> {
        metrics::collected(self.buffer.len(), self.buffer.record_bytes());
        self.buffer.release();
        self.runs.clear();
        self.len = 0;
        self.dir.take().map_or(Ok(()), RunDir::close)
    }

    /// Sorts the buffer and writes it to a new run file, then empties it.
    fn spill(&mut self) -> Result<(), EtlError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let path = self.next_run_path()?;
        let (inserted, record_bytes) = (self.buffer.len(), self.buffer.record_bytes());
        let entries = self.buffer.sorted()?;
        let run = write_run(&path, self.config.writer_buffer, |writer| {
            entries.into_iter().try_for_each(|(key, value)| writer.write(key, value))
        })?;
        tracing::debug!(
            run = %run.path().display(),
            inserted,
            records = run.records(),
            bytes = run.bytes(),
            "spilled sorted run"
        );
        metrics::spilled(inserted, record_bytes, run.bytes());
        self.runs.push(run);
        self.buffer.reset();
        Ok(())
    }

    /// Path for the next run file, creating the run directory if needed.
    fn next_run_path(&mut self) -> Result<PathBuf, EtlError> {
        let dir = match self.dir.take() {
            Some(dir) => dir,
            None => RunDir::create(&self.config.base_dir())?,
        };
        let path = dir.path().join(format!("run-{:06}", self.next_run_id));
        self.dir = Some(dir);
        self.next_run_id += 1;
        Ok(path)
    }

    /// Merges runs until at most [`CollectorConfig::max_merge_runs`] are left: a multi-pass merge
    /// over consecutive groups, so each pass reads and writes every run once at most.
    fn reduce_runs(&mut self) -> Result<(), EtlError> {
        let fan_in = self.config.merge_fan_in();
        let mut start = 0;
        while self.runs.len() > fan_in {
            if start + 1 >= self.runs.len() {
                start = 0;
            }
            let excess = self.runs.len() - fan_in;
            let count = (excess + 1).min(fan_in).min(self.runs.len() - start);
            self.merge_runs(start, count)?;
            start += 1;
        }
        Ok(())
    }

    /// Replaces the `count` runs from `start` on by one run holding their merge. Consecutive runs
    /// merge into a run of their age, so "later run wins" still holds.
    fn merge_runs(&mut self, start: usize, count: usize) -> Result<(), EtlError> {
        let started = Instant::now();
        let path = self.next_run_path()?;
        let end = start + count;
        let reader_buffer = self.config.reader_buffer;
        let sources = self.runs[start..end]
            .iter()
            .map(|run| RunReader::open(run, reader_buffer).map(Source::Run))
            .collect::<Result<Vec<_>, _>>()?;
        let mut merger = Merger::new(sources)?;
        let merged = write_run(&path, self.config.writer_buffer, |writer| {
            while let Some((key, value)) = merger.advance()? {
                writer.write(key, value)?;
            }
            Ok(())
        })?;
        drop(merger);
        tracing::debug!(
            runs = count,
            run = %merged.path().display(),
            records = merged.records(),
            bytes = merged.bytes(),
            "merged runs"
        );
        metrics::merged(count, started.elapsed());
        let replaced: Vec<Run> = self.runs.splice(start..end, [merged]).collect();
        for run in replaced {
            fs::remove_file(run.path())
                .map_err(|source| EtlError::io(IoOperation::RemoveFile, run.path(), source))?;
        }
        Ok(())
    }
}

impl<K: Encode, V: Encode> Collector<K, V> {
    /// Adds an entry. If the buffer is full it is first sorted and spilled to a run file.
    ///
    /// # Errors
    ///
    /// - [`EtlError::Io`] if a spill cannot create the run directory or write the run file;
    /// - [`EtlError::TooLarge`] if the key or value is longer than `u32::MAX` bytes;
    /// - [`EtlError::EncodedLenMismatch`] if an [`Encode`] implementation is inconsistent;
    /// - [`EtlError::OutOfMemory`] if the allocator refuses the buffer memory.
    ///
    /// On error the entry is not inserted and the collector still holds everything inserted
    /// before (a failed spill keeps the buffer and is retried by the next insert).
    pub fn insert(&mut self, key: &K, value: &V) -> Result<(), EtlError> {
        if !self.buffer.try_push(key, value)? {
            self.spill()?;
            if !self.buffer.try_push(key, value)? {
                self.buffer.push_over_budget(key, value)?;
            }
        }
        self.len = self.len.saturating_add(1);
        Ok(())
    }
}

impl<K: Decode, V: Decode> Collector<K, V> {
    /// The entries sorted by encoded key, one per key (the last inserted).
    ///
    /// The buffer is sorted in place, not spilled; if there are more than
    /// [`CollectorConfig::max_merge_runs`] runs, the oldest are first merged into larger ones. The
    /// collector keeps its entries: iterating again, or inserting more and then iterating, works.
    ///
    /// # Errors
    ///
    /// [`EtlError::Io`] or [`EtlError::CorruptRun`] if a run file cannot be opened or read while
    /// reducing the runs or reading their first records, [`EtlError::OutOfMemory`] if the sort
    /// index cannot be allocated. Later errors come as items of the iterator.
    pub fn iter(&mut self) -> Result<Iter<'_, K, V>, EtlError> {
        self.reduce_runs()?;
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            sources.push(Source::Run(RunReader::open(run, self.config.reader_buffer)?));
        }
        sources.push(Source::Memory(self.buffer.sorted()?));
        Ok(Iter::new(Merger::new(sources)?))
    }
}

impl<K, V> Drop for Collector<K, V> {
    /// Counts the entries still buffered (the metrics count each insert once).
    fn drop(&mut self) {
        metrics::collected(self.buffer.len(), self.buffer.record_bytes());
    }
}

impl<K, V> fmt::Debug for Collector<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("len", &self.len)
            .field("buffered_len", &self.buffer.len())
            .field("buffered_bytes", &self.buffered_bytes())
            .field("runs", &self.runs.len())
            .field("run_dir", &self.run_dir())
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Corruption, DecodeError};
    use alloy_primitives::{B256, Bytes};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Model = BTreeMap<Vec<u8>, Vec<u8>>;

    /// A config spilling under `base` with small I/O buffers.
    fn config(base: &Path, buffer_capacity: usize) -> CollectorConfig {
        CollectorConfig::new(buffer_capacity).with_temp_dir(base).with_io_buffers(128, 128)
    }

    fn collect<K: Decode, V: Decode>(collector: &mut Collector<K, V>) -> Vec<(K, V)> {
        collector.iter().unwrap().collect::<Result<_, _>>().unwrap()
    }

    fn as_model(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Model {
        let len = pairs.len();
        let model: Model = pairs.into_iter().collect();
        assert_eq!(model.len(), len, "a key came out twice");
        model
    }

    /// Run files anywhere under `dir` (a run directory's lock file is not one).
    fn files_under(dir: &Path) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .map(|path| match path.file_name().and_then(|name| name.to_str()) {
                _ if path.is_dir() => files_under(&path),
                Some(crate::run_dir::LOCK_FILE) => 0,
                _ => 1,
            })
            .sum()
    }

    fn is_empty_dir(dir: &Path) -> bool {
        fs::read_dir(dir).unwrap().next().is_none()
    }

    /// Inserts `count` entries with distinct 8-byte keys from `first` on and 100-byte values.
    fn fill(collector: &mut Collector<u64, Vec<u8>>, first: u64, count: u64) {
        for key in first..first + count {
            collector.insert(&key, &vec![0x5a; 100]).unwrap();
        }
    }

    #[test]
    fn collectors_sharing_a_directory_keep_each_others_runs_through_clean_ups() {
        let base = tempfile::tempdir().unwrap();
        let mut first = Collector::new(config(base.path(), 4096));
        let mut second = Collector::new(config(base.path(), 4096));
        fill(&mut first, 0, 100);
        fill(&mut second, 1_000, 100);
        assert_ne!(first.run_dir(), second.run_dir());
        // What another process starting in the same directory does.
        assert_eq!(crate::remove_stale_runs(base.path()).unwrap(), 0);
        fill(&mut first, 100, 100);
        fill(&mut second, 1_100, 100);
        let keys = |pairs: Vec<(u64, Vec<u8>)>| -> Vec<u64> {
            pairs.into_iter().map(|(key, _)| key).collect()
        };
        assert_eq!(keys(collect(&mut first)), (0..200).collect::<Vec<_>>());
        assert_eq!(keys(collect(&mut second)), (1_000..1_200).collect::<Vec<_>>());
        drop(first);
        drop(second);
        assert!(is_empty_dir(base.path()));
    }

    #[test]
    fn empty_collector_yields_nothing_and_touches_no_disk() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::<Vec<u8>, Vec<u8>>::new(config(base.path(), 1024));
        assert!(collector.is_empty());
        assert!(collect(&mut collector).is_empty());
        assert!(is_empty_dir(base.path()));
    }

    #[test]
    fn spills_a_run_file_each_time_the_buffer_is_full() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        // An entry costs 2 + 8 + 100 record bytes and 24 index bytes. The first chunk is sized for
        // the 30 entries whose records and index fit in 4096 bytes (30 * 134 = 4020); the 31st
        // does not fit, so every run holds 30 entries.
        fill(&mut collector, 0, 300);
        assert_eq!(collector.len(), 300);
        assert_eq!(collector.run_count(), 9);
        assert_eq!(collector.buffered_len(), 30);
        let run_dir = collector.run_dir().unwrap().to_path_buf();
        assert_eq!(files_under(&run_dir), 9);
        assert!(collector.buffered_bytes() <= 4096);
        let keys: Vec<u64> = collect(&mut collector).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, (0..300).collect::<Vec<_>>());
    }

    #[test]
    fn last_insert_wins_within_runs_across_runs_and_over_the_buffer() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        let mut model = Model::new();
        let mut insert = |collector: &mut Collector<u64, Vec<u8>>, key: u64, value: &str| {
            collector.insert(&key, &value.as_bytes().to_vec()).unwrap();
            model.insert(key.to_be_bytes().to_vec(), value.as_bytes().to_vec());
        };
        // Run 0: key 1 twice (same run), key 2.
        insert(&mut collector, 1, "run0-a");
        insert(&mut collector, 1, "run0-b");
        insert(&mut collector, 2, "run0");
        insert(&mut collector, 3, "run0");
        fill(&mut collector, 1000, 30);
        assert_eq!(collector.run_count(), 1);
        // Run 1: key 1 again; key 3 again.
        insert(&mut collector, 1, "run1");
        insert(&mut collector, 3, "run1");
        fill(&mut collector, 2000, 30);
        assert_eq!(collector.run_count(), 2);
        // Run 2: key 2 again.
        insert(&mut collector, 2, "run2");
        fill(&mut collector, 3000, 30);
        assert_eq!(collector.run_count(), 3);
        // Buffer: key 1 twice, key 4 twice.
        insert(&mut collector, 1, "memory-a");
        insert(&mut collector, 4, "memory-a");
        insert(&mut collector, 1, "memory-b");
        insert(&mut collector, 4, "memory-b");
        assert_eq!(collector.run_count(), 3);
        for key in 1000..1030 {
            model.insert(u64::to_be_bytes(key).to_vec(), vec![0x5a; 100]);
        }
        for key in (2000..2030).chain(3000..3030) {
            model.insert(u64::to_be_bytes(key).to_vec(), vec![0x5a; 100]);
        }
        let merged: Vec<(Vec<u8>, Vec<u8>)> = collect(&mut collector)
            .into_iter()
            .map(|(key, value)| (key.to_be_bytes().to_vec(), value))
            .collect();
        assert_eq!(as_model(merged), model);
        let value_of = |key: u64| model[&key.to_be_bytes().to_vec()].clone();
        assert_eq!(value_of(1), b"memory-b");
        assert_eq!(value_of(2), b"run2");
        assert_eq!(value_of(3), b"run1");
        assert_eq!(value_of(4), b"memory-b");
    }

    #[test]
    fn buffered_bytes_stay_at_the_cap_while_inserting_ten_times_it() {
        let base = tempfile::tempdir().unwrap();
        let capacity = 64 * 1024;
        let mut collector = Collector::new(config(base.path(), capacity));
        let (mut inserted_bytes, mut peak, mut key) = (0, 0, 0_u64);
        while inserted_bytes < 10 * capacity {
            let value = vec![1; usize::try_from(key % 200).unwrap()];
            collector.insert(&key, &value).unwrap();
            inserted_bytes += 8 + value.len();
            peak = peak.max(collector.buffered_bytes());
            assert!(collector.buffered_bytes() <= capacity);
            key += 1;
        }
        assert!(peak >= capacity * 9 / 10, "buffer used only {peak} of {capacity} bytes");
        assert!(collector.run_count() >= 9);
        assert_eq!(collect(&mut collector).len(), collector.len());
    }

    #[test]
    fn oversized_entry_is_spilled_alone() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 1024));
        collector.insert(&1, &vec![1; 100]).unwrap();
        collector.insert(&2, &vec![2; 10_000]).unwrap();
        assert_eq!(collector.run_count(), 1);
        assert!(collector.buffered_bytes() > 10_000);
        collector.insert(&0, &vec![0; 100]).unwrap();
        assert_eq!(collector.run_count(), 2);
        assert!(collector.buffered_bytes() <= 1024);
        let merged = collect(&mut collector);
        let lens: Vec<_> = merged.iter().map(|(key, value)| (*key, value.len())).collect();
        assert_eq!(lens, vec![(0, 100), (1, 100), (2, 10_000)]);
    }

    #[test]
    fn temp_files_are_removed_on_drop() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        fill(&mut collector, 0, 100);
        assert!(files_under(base.path()) >= 3);
        drop(collector);
        assert!(is_empty_dir(base.path()));
    }

    #[test]
    fn temp_files_are_removed_when_a_panic_unwinds() {
        let base = tempfile::tempdir().unwrap();
        let base_path = base.path().to_path_buf();
        let worker = std::thread::spawn(move || {
            let mut collector = Collector::new(config(&base_path, 4096));
            fill(&mut collector, 0, 100);
            assert!(files_under(&base_path) >= 3);
            panic!("a healing task failed while holding the collector");
        });
        assert!(worker.join().is_err());
        assert!(is_empty_dir(base.path()));
    }

    #[test]
    fn spilling_into_a_missing_directory_is_an_error_and_loses_nothing() {
        let base = tempfile::tempdir().unwrap();
        let gone = base.path().join("gone");
        let mut collector = Collector::new(config(&gone, 4096));
        let error = (0..100_u64)
            .find_map(|key| collector.insert(&key, &vec![0; 100]).err())
            .expect("a spill must fail");
        assert!(
            matches!(&error, EtlError::Io { operation: IoOperation::CreateDir, path, .. } if *path == gone),
            "{error:?}"
        );
        assert!(error.to_string().contains("gone"));
        // The failed insert is not counted; the buffer is kept and the spill retried.
        assert_eq!(collector.len(), 30);
        fs::create_dir(&gone).unwrap();
        fill(&mut collector, 30, 70);
        assert_eq!(collect(&mut collector).len(), 100);
    }

    #[test]
    fn run_directory_removed_under_the_collector_is_an_error() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        fill(&mut collector, 0, 31);
        let run_dir = collector.run_dir().unwrap().to_path_buf();
        fs::remove_dir_all(&run_dir).unwrap();
        let error = (31..100_u64)
            .find_map(|key| collector.insert(&key, &vec![0; 100]).err())
            .expect("a spill must fail");
        assert!(
            matches!(&error, EtlError::Io { operation: IoOperation::CreateFile, path, .. } if path.starts_with(&run_dir)),
            "{error:?}"
        );
        // The lost run surfaces when merging.
        let error = collector.iter().unwrap_err();
        assert!(matches!(error, EtlError::Io { operation: IoOperation::Open, .. }), "{error:?}");
        // Clearing copes with the directory being gone.
        collector.clear().unwrap();
    }

    #[test]
    fn corrupt_run_file_ends_the_stream_with_an_error() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        fill(&mut collector, 0, 40);
        let run_file = collector.run_dir().unwrap().join("run-000000");
        let bytes = fs::read(&run_file).unwrap();
        fs::write(&run_file, &bytes[..bytes.len() / 2]).unwrap();
        let items: Vec<_> = collector.iter().unwrap().collect();
        let (last, good) = items.split_last().unwrap();
        assert!(good.iter().all(Result::is_ok));
        assert!(
            matches!(last, Err(EtlError::CorruptRun { reason: Corruption::Truncated, .. })),
            "{last:?}"
        );
    }

    /// Encodes one byte but decodes only from two.
    #[derive(Debug)]
    struct Lopsided;

    impl Encode for Lopsided {
        fn encoded_len(&self) -> usize {
            1
        }

        fn encode_to(&self, out: &mut Vec<u8>) {
            out.push(0);
        }
    }

    impl Decode for Lopsided {
        fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
            <[u8; 2]>::decode(bytes).map(|_| Self)
        }
    }

    #[test]
    fn undecodable_bytes_are_an_error_item() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::<u64, Lopsided>::new(config(base.path(), 4096));
        collector.insert(&7, &Lopsided).unwrap();
        let mut iter = collector.iter().unwrap();
        let error = iter.next().unwrap().unwrap_err();
        assert!(
            matches!(error, EtlError::Decode { part: crate::EntryPart::Value, len: 1, .. }),
            "{error:?}"
        );
        assert!(iter.next().is_none());
    }

    #[test]
    fn many_runs_are_merged_in_passes_down_to_max_merge_runs() {
        let base = tempfile::tempdir().unwrap();
        let mut collector =
            Collector::<u64, Vec<u8>>::new(config(base.path(), 4096).with_max_merge_runs(3));
        let mut model = Model::new();
        for round in 0..20_u8 {
            for key in 0..30_u64 {
                // Keys repeat in every run; a key's last round decides its value.
                let key = (key * 7 + u64::from(round)) % 50;
                collector.insert(&key, &vec![round; 100]).unwrap();
                model.insert(key.to_be_bytes().to_vec(), vec![round; 100]);
            }
        }
        assert_eq!(collector.run_count(), 19);
        let merged = collect(&mut collector);
        assert_eq!(collector.run_count(), 3);
        assert_eq!(files_under(collector.run_dir().unwrap()), 3);
        let merged = merged.into_iter().map(|(key, value)| (key.to_be_bytes().to_vec(), value));
        assert_eq!(as_model(merged.collect()), model);
    }

    #[test]
    fn clear_removes_entries_and_files() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        fill(&mut collector, 0, 100);
        collector.clear().unwrap();
        assert!(collector.is_empty());
        assert_eq!((collector.run_count(), collector.buffered_bytes()), (0, 0));
        assert!(is_empty_dir(base.path()));
        assert!(collect(&mut collector).is_empty());
        fill(&mut collector, 5, 1);
        assert_eq!(collect(&mut collector), vec![(5, vec![0x5a; 100])]);
    }

    #[test]
    fn iterating_keeps_the_entries_and_more_can_be_inserted() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(config(base.path(), 4096));
        fill(&mut collector, 10, 40);
        let first = collect(&mut collector);
        assert_eq!(collect(&mut collector), first);
        collector.insert(&0, &vec![1]).unwrap();
        collector.insert(&10, &vec![2]).unwrap();
        let second = collect(&mut collector);
        assert_eq!(second.len(), 41);
        assert_eq!(second[0], (0, vec![1]));
        assert_eq!(second[1], (10, vec![2]));
    }

    #[test]
    fn b256_keys_come_out_in_byte_order() {
        let base = tempfile::tempdir().unwrap();
        let mut collector = Collector::<B256, Bytes>::new(config(base.path(), 2048));
        let mut keys: Vec<B256> =
            (0..200_u64).map(|i| alloy_primitives::keccak256(i.to_be_bytes())).collect();
        for key in &keys {
            collector.insert(key, &Bytes::copy_from_slice(&key[..4])).unwrap();
        }
        assert!(collector.run_count() > 1);
        keys.sort();
        let merged = collect(&mut collector);
        assert_eq!(merged.iter().map(|(key, _)| *key).collect::<Vec<_>>(), keys);
        assert!(merged.iter().all(|(key, value)| value[..] == key[..4]));
    }

    fn operations() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
        // Few distinct short keys, so duplicates are common and land in different runs.
        let key = prop::collection::vec(prop::sample::select(vec![0_u8, 1, 2, 255]), 0..4);
        let value = prop::collection::vec(any::<u8>(), 0..40);
        prop::collection::vec((key, value), 0..400)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn merged_stream_matches_a_btreemap(
            inserts in operations(),
            later in operations(),
            capacity in 64_usize..2048,
            max_merge_runs in 2_usize..6,
        ) {
            let base = tempfile::tempdir().unwrap();
            let config = config(base.path(), capacity).with_max_merge_runs(max_merge_runs);
            let mut collector = Collector::<Vec<u8>, Vec<u8>>::new(config);
            let mut model = Model::new();
            for (key, value) in &inserts {
                collector.insert(key, value).unwrap();
                model.insert(key.clone(), value.clone());
            }
            prop_assert_eq!(collector.len(), inserts.len());
            prop_assert!(collector.buffered_bytes() <= capacity.max(2 * 1024));
            let merged = collect(&mut collector);
            prop_assert_eq!(&as_model(merged), &model);
            prop_assert!(collector.run_count() <= max_merge_runs);
            for (key, value) in &later {
                collector.insert(key, value).unwrap();
                model.insert(key.clone(), value.clone());
            }
            let merged = collect(&mut collector);
            prop_assert_eq!(&as_model(merged), &model);
        }
    }
}
