//! The ETL collectors' metrics: what they collect, spill and merge.
//!
//! Counted per spill, merge and clear, never per entry, so inserting stays as fast without a
//! recorder as with one. Names follow `snapsync_etl_<what>[_unit]`; counters end in `_total`; no
//! labels (collectors are not named). Every name is listed in [`METRIC_NAMES`] and documented in
//! `docs/metrics.md`.

use ::metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use std::time::Duration;

/// Entries inserted into collectors.
const ENTRIES: &str = "snapsync_etl_collected_entries_total";
/// Encoded bytes of the entries inserted.
const BYTES: &str = "snapsync_etl_collected_bytes_total";
/// Sorted runs written to disk because a buffer was full.
const SPILLS: &str = "snapsync_etl_spilled_runs_total";
/// Bytes of the run files spilled.
const SPILL_BYTES: &str = "snapsync_etl_spilled_bytes_total";
/// Merges of run files into one (to bound the runs open at once).
const MERGES: &str = "snapsync_etl_merges_total";
/// Run files merged.
const MERGED_RUNS: &str = "snapsync_etl_merged_runs_total";
/// Time a merge of run files took.
const MERGE_DURATION: &str = "snapsync_etl_merge_duration_seconds";

/// Every metric this crate records.
pub const METRIC_NAMES: &[&str] =
    &[ENTRIES, BYTES, SPILLS, SPILL_BYTES, MERGES, MERGED_RUNS, MERGE_DURATION];

/// Describes this crate's metrics (type, unit, meaning) to the installed recorder.
pub fn describe_metrics() {
    describe_counter!(ENTRIES, Unit::Count, "Entries inserted into ETL collectors");
    describe_counter!(BYTES, Unit::Bytes, "Encoded bytes of the entries inserted");
    describe_counter!(SPILLS, Unit::Count, "Sorted runs spilled to disk (buffer full)");
    describe_counter!(SPILL_BYTES, Unit::Bytes, "Bytes of the run files spilled");
    describe_counter!(MERGES, Unit::Count, "Merges of run files into one run");
    describe_counter!(MERGED_RUNS, Unit::Count, "Run files merged into larger ones");
    describe_histogram!(MERGE_DURATION, Unit::Seconds, "Time one merge of run files took");
}

/// Entries leaving a collector's buffer, to a run file or because it is cleared or dropped:
/// each insert counted once. `bytes`: their encoded size.
pub(crate) fn collected(entries: usize, bytes: usize) {
    if entries > 0 {
        counter!(ENTRIES).increment(entries as u64);
        counter!(BYTES).increment(bytes as u64);
    }
}

/// A full buffer of `entries` (`record_bytes` encoded) spilled to a run file of `bytes`.
pub(crate) fn spilled(entries: usize, record_bytes: usize, bytes: u64) {
    collected(entries, record_bytes);
    counter!(SPILLS).increment(1);
    counter!(SPILL_BYTES).increment(bytes);
}

/// `runs` run files merged into one in `elapsed`.
pub(crate) fn merged(runs: usize, elapsed: Duration) {
    counter!(MERGES).increment(1);
    counter!(MERGED_RUNS).increment(runs as u64);
    histogram!(MERGE_DURATION).record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Collector, CollectorConfig};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use std::collections::HashMap;

    /// Runs `work` with a recorder of its own; the counters and histogram sizes it recorded.
    fn recorded(work: impl FnOnce()) -> HashMap<String, u64> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, work);
        let values = snapshotter.snapshot().into_vec().into_iter();
        values
            .map(|(key, _, _, value)| {
                let value = match value {
                    DebugValue::Counter(count) => count,
                    DebugValue::Histogram(values) => values.len() as u64,
                    DebugValue::Gauge(_) => unreachable!("the collector sets no gauge"),
                };
                (key.key().name().to_owned(), value)
            })
            .collect()
    }

    #[test]
    fn spills_merges_and_entries_are_counted_once_each() {
        let base = tempfile::tempdir().unwrap();
        // 300 records of 2 + 8 + 100 bytes in a 4096-byte buffer: nine runs of 30, and 30 left
        // in the buffer (see the collector's `spills_a_run_file_each_time_the_buffer_is_full`).
        let config = CollectorConfig::new(4096).with_temp_dir(base.path()).with_max_merge_runs(3);
        let mut run_bytes = 0;
        let values = recorded(|| {
            let mut collector = Collector::<u64, Vec<u8>>::new(config);
            for key in 0..300u64 {
                collector.insert(&key, &vec![0x5a; 100]).unwrap();
            }
            let dir = collector.run_dir().unwrap().to_path_buf();
            run_bytes = std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().metadata().unwrap().len())
                .sum();
            assert_eq!(collector.iter().unwrap().count(), 300);
            // Iterating again counts nothing more; clearing counts the 30 buffered entries.
            assert_eq!(collector.iter().unwrap().count(), 300);
            collector.clear().unwrap();
            collector.insert(&7, &vec![1; 100]).unwrap();
            // Dropped with one entry buffered: it counts too.
        });
        assert_eq!(values[ENTRIES], 301);
        assert_eq!(values[BYTES], 301 * 110);
        assert_eq!(values[SPILLS], 9);
        assert_eq!(values[SPILL_BYTES], run_bytes);
        // Nine runs, at most three read at once: merges of consecutive runs until three are left.
        let merges = values[MERGES];
        assert!(merges >= 3, "{merges} merges");
        assert_eq!(values[MERGE_DURATION], merges);
        assert!(values[MERGED_RUNS] >= 2 * merges);
    }
}
