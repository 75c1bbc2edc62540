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

    #[test]
    fn names_are_unique_and_follow_the_scheme() {
        let mut names = METRIC_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRIC_NAMES.len());
        assert!(METRIC_NAMES.iter().all(|name| name.starts_with("snapsync_etl_")));
    }
}
