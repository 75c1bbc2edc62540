//! The database's metrics: transactions, commits, sorted appends, the redb file's size.
//!
//! Recorded by the typed layer ([`WriteTxn`](crate::WriteTxn), [`ReadView`](crate::ReadView)),
//! so both backends count the same way, per transaction and per append (never per entry).
//! Names follow `snapsync_db_<what>[_unit]`; counters end in `_total`; the only label is
//! `table` on appends (the tables are a fixed set, [`TABLE_NAMES`](crate::TABLE_NAMES)). Every
//! name is listed in [`METRIC_NAMES`] and documented in `docs/metrics.md`.

use crate::{DbError, EntrySource};
use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use std::{path::Path, time::Instant};

/// Write transactions begun.
const WRITES: &str = "snapsync_db_write_transactions_total";
/// Write transactions committed.
const COMMITS: &str = "snapsync_db_commits_total";
/// Time a commit took.
const COMMIT_DURATION: &str = "snapsync_db_commit_duration_seconds";
/// Read views opened.
const READ_VIEWS: &str = "snapsync_db_read_views_total";
/// Entries inserted through the sorted path.
const APPENDED_ENTRIES: &str = "snapsync_db_appended_entries_total";
/// Bytes (keys and values as stored) inserted through the sorted path.
const APPENDED_BYTES: &str = "snapsync_db_appended_bytes_total";
/// Size of the redb file.
const FILE_BYTES: &str = "snapsync_db_file_bytes";

/// Every metric this crate records.
pub const METRIC_NAMES: &[&str] =
    &[WRITES, COMMITS, COMMIT_DURATION, READ_VIEWS, APPENDED_ENTRIES, APPENDED_BYTES, FILE_BYTES];

/// Describes this crate's metrics (type, unit, meaning) to the installed recorder.
pub fn describe_metrics() {
    describe_counter!(WRITES, Unit::Count, "Write transactions begun");
    describe_counter!(COMMITS, Unit::Count, "Write transactions committed");
    describe_histogram!(COMMIT_DURATION, Unit::Seconds, "Time a successful commit took");
    describe_counter!(READ_VIEWS, Unit::Count, "Read views (snapshots) opened");
    describe_counter!(APPENDED_ENTRIES, Unit::Count, "Entries written by sorted appends");
    describe_counter!(APPENDED_BYTES, Unit::Bytes, "Key and value bytes of sorted appends");
    describe_gauge!(FILE_BYTES, Unit::Bytes, "Size of the redb file at the last write begun");
}

/// A write transaction begun.
pub(crate) fn write_begun() {
    counter!(WRITES).increment(1);
}

/// A read view opened.
pub(crate) fn read_view_opened() {
    counter!(READ_VIEWS).increment(1);
}

/// Runs `commit`, counting it and its duration if it succeeds.
pub(crate) fn commit(commit: impl FnOnce() -> Result<(), DbError>) -> Result<(), DbError> {
    let started = Instant::now();
    commit()?;
    counter!(COMMITS).increment(1);
    histogram!(COMMIT_DURATION).record(started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs a sorted append of `source` into `table` through `append`, counting the entries and
/// bytes appended (one addition per entry, one metric update per append).
pub(crate) fn append(
    table: &'static str,
    source: &mut dyn EntrySource,
    append: impl FnOnce(&mut dyn EntrySource) -> Result<u64, DbError>,
) -> Result<u64, DbError> {
    let mut counted = Counted { inner: source, bytes: 0 };
    let result = append(&mut counted);
    // Entries of a failed append stay in the transaction until it is dropped: not counted.
    if let Ok(entries) = result {
        counter!(APPENDED_ENTRIES, "table" => table).increment(entries);
        counter!(APPENDED_BYTES, "table" => table).increment(counted.bytes);
    }
    result
}

/// The size of the redb file at `path`, if it can be read (a metric is not worth an error).
pub(crate) fn file_size(path: &Path) {
    if let Ok(metadata) = std::fs::metadata(path) {
        #[allow(clippy::cast_precision_loss)] // a gauge is an f64; exact below 2^53 bytes
        gauge!(FILE_BYTES).set(metadata.len() as f64);
    }
}

/// An [`EntrySource`] that adds up the bytes it hands out.
struct Counted<'a> {
    inner: &'a mut dyn EntrySource,
    bytes: u64,
}

impl EntrySource for Counted<'_> {
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        let more = self.inner.next_entry(key, value)?;
        if more {
            self.bytes += (key.len() + value.len()) as u64;
        }
        Ok(more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Database, HashedAccounts, MemoryDatabase, RedbDatabase, RedbOptions, Table, TableValue,
    };
    use alloy_primitives::B256;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use snapsync_primitives::{AccountHash, TrieAccount};
    use std::collections::HashMap;

    /// Runs `work` with a recorder of its own; what it recorded, by name and first label value
    /// (histograms as their number of observations, gauges truncated).
    fn recorded(work: impl FnOnce()) -> HashMap<(String, Option<String>), u64> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, work);
        let values = snapshotter.snapshot().into_vec().into_iter();
        values
            .map(|(key, _, _, value)| {
                let value = match value {
                    DebugValue::Counter(count) => count,
                    DebugValue::Histogram(values) => values.len() as u64,
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    DebugValue::Gauge(value) => value.into_inner() as u64,
                };
                let label = key.key().labels().next().map(|label| label.value().to_owned());
                ((key.key().name().to_owned(), label), value)
            })
            .collect()
    }

    fn name(name: &str) -> (String, Option<String>) {
        (name.to_owned(), None)
    }

    /// Writes 100 accounts through the sorted path, aborts a transaction, reads them back.
    fn exercise(db: &dyn Database) {
        let accounts =
            (0..100u8).map(|i| (AccountHash::new(B256::repeat_byte(i)), TrieAccount::EMPTY));
        let mut txn = db.write().unwrap();
        assert_eq!(txn.append_sorted::<HashedAccounts, _, _, _>(accounts).unwrap(), 100);
        txn.commit().unwrap();
        drop(db.write().unwrap());
        let _view = db.view().unwrap();
    }

    #[test]
    fn transactions_commits_and_sorted_appends_are_counted() {
        let mut value = Vec::new();
        TrieAccount::EMPTY.encode_value(&mut value);
        let bytes = 100 * (32 + value.len() as u64);
        for on_disk in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let values = recorded(|| {
                if on_disk {
                    let path = dir.path().join("db.redb");
                    exercise(&RedbDatabase::open(path, RedbOptions::default()).unwrap());
                } else {
                    exercise(&MemoryDatabase::new());
                }
            });
            let table = Some(HashedAccounts::NAME.to_owned());
            assert_eq!(values[&name(WRITES)], 2, "on disk: {on_disk}");
            assert_eq!(values[&name(COMMITS)], 1);
            assert_eq!(values[&name(COMMIT_DURATION)], 1);
            assert_eq!(values[&name(READ_VIEWS)], 1);
            assert_eq!(values[&(APPENDED_ENTRIES.to_owned(), table.clone())], 100);
            assert_eq!(values[&(APPENDED_BYTES.to_owned(), table)], bytes);
            // The redb file has grown by the first commit when the second write begins.
            let file = values.get(&name(FILE_BYTES)).copied();
            assert_eq!(file.is_some_and(|size| size > bytes), on_disk, "{file:?}");
        }
    }
}
