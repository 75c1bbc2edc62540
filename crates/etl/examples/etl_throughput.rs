//! One-shot measurement of the collector: inserts N entries (random 32-byte keys, 100-byte values,
//! default 10M) through a buffer (default 64 MiB), merges them, checks the order, and prints
//! entries per second and the process's peak RSS.
//!
//! ```text
//! cargo run --release -p snapsync-etl --example etl_throughput -- [ENTRIES] [BUFFER_MIB] [TEMP_DIR]
//! ```

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]

use alloy_primitives::B256;
use snapsync_etl::{Collector, CollectorConfig};
use snapsync_primitives::test_utils::TestRng;
use std::{error::Error, fs, time::Instant};

const VALUE_LEN: usize = 100;

/// A `/proc/self/status` field such as `VmHWM`, in KiB.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn per_second(entries: u64, seconds: f64) -> f64 {
    // Display only: precision loss above 2^52 entries does not matter.
    #[allow(clippy::cast_precision_loss)]
    let entries = entries as f64;
    entries / seconds
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let entries: u64 = args.next().map_or(Ok(10_000_000), |arg| arg.parse())?;
    let buffer_mib: usize = args.next().map_or(Ok(64), |arg| arg.parse())?;
    let mut config = CollectorConfig::new(buffer_mib * 1024 * 1024);
    if let Some(dir) = args.next() {
        config = config.with_temp_dir(dir);
    }
    let mut collector = Collector::<B256, Vec<u8>>::new(config);

    let start = Instant::now();
    let (mut rng, mut key, mut value) = (TestRng::new(entries), B256::ZERO, vec![0; VALUE_LEN]);
    for _ in 0..entries {
        rng.fill(key.as_mut_slice());
        rng.fill(&mut value);
        collector.insert(&key, &value)?;
    }
    let insert_seconds = start.elapsed().as_secs_f64();
    let runs = collector.run_count();
    let run_bytes: u64 = match collector.run_dir() {
        Some(dir) => fs::read_dir(dir)?
            .map(|entry| entry.and_then(|entry| entry.metadata()).map(|meta| meta.len()))
            .sum::<Result<_, _>>()?,
        None => 0,
    };
    let rss_after_insert = proc_status_kib("VmRSS:").unwrap_or(0);

    let merge_start = Instant::now();
    let (mut merged, mut previous) = (0_u64, None);
    for entry in collector.iter()? {
        let (key, _value) = entry?;
        if previous.is_some_and(|previous| previous >= key) {
            return Err(format!("merged stream out of order at entry {merged}").into());
        }
        previous = Some(key);
        merged += 1;
    }
    let merge_seconds = merge_start.elapsed().as_secs_f64();
    let total_seconds = start.elapsed().as_secs_f64();

    println!("entries inserted:   {entries}");
    println!("entries merged:     {merged} (distinct keys)");
    println!("buffer:             {buffer_mib} MiB, {runs} runs, {run_bytes} bytes on disk");
    println!(
        "insert:             {insert_seconds:.2} s, {:.0} entries/s",
        per_second(entries, insert_seconds)
    );
    println!(
        "merge:              {merge_seconds:.2} s, {:.0} entries/s",
        per_second(merged, merge_seconds)
    );
    println!(
        "insert + merge:     {total_seconds:.2} s, {:.0} entries/s",
        per_second(entries, total_seconds)
    );
    println!("RSS after insert:   {} MiB", rss_after_insert / 1024);
    println!("peak RSS (VmHWM):   {} MiB", proc_status_kib("VmHWM:").unwrap_or(0) / 1024);
    Ok(())
}
