//! Heap use of a collector, measured by a counting global allocator: inserting ten times the
//! buffer capacity keeps the heap at the cap (plus the run writer's buffer), and the merge adds
//! only a reader buffer and an entry per run.
//!
//! One test in this binary on purpose: the allocator counts every thread of the process.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use alloy_primitives::B256;
use peak_alloc::PeakAlloc;
use snapsync_etl::{Collector, CollectorConfig};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const CAPACITY: usize = 1024 * 1024;
const READER_BUFFER: usize = 16 * 1024;
const WRITER_BUFFER: usize = 64 * 1024;
/// Allocations of the test itself and the harness while measuring.
const SLACK: usize = 64 * 1024;

/// SplitMix64: a reproducible stream of random keys without a dependency.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn random_key(state: &mut u64) -> B256 {
    let mut key = [0; 32];
    for word in key.chunks_exact_mut(8) {
        word.copy_from_slice(&next_random(state).to_le_bytes());
    }
    B256::new(key)
}

#[test]
fn heap_stays_at_the_buffer_cap_while_inserting_and_merging_ten_times_it() {
    let base = tempfile::tempdir().unwrap();
    let config = CollectorConfig::new(CAPACITY)
        .with_temp_dir(base.path())
        .with_io_buffers(READER_BUFFER, WRITER_BUFFER);
    let mut collector = Collector::<B256, Vec<u8>>::new(config);
    let value = vec![0xab; 100];

    let baseline = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let (mut state, mut inserted_bytes) = (1, 0);
    while inserted_bytes < 10 * CAPACITY {
        collector.insert(&random_key(&mut state), &value).unwrap();
        inserted_bytes += 32 + value.len();
        assert!(collector.buffered_bytes() <= CAPACITY);
    }
    let insert_peak = HEAP.peak_usage() - baseline;
    let runs = collector.run_count();
    eprintln!(
        "inserted {} entries ({inserted_bytes} bytes) into {runs} runs; peak heap {insert_peak} \
         bytes for a {CAPACITY}-byte buffer",
        collector.len()
    );
    assert!(runs >= 9, "only {runs} runs");
    assert!(insert_peak <= CAPACITY + WRITER_BUFFER + SLACK, "insert peak {insert_peak}");
    assert!(insert_peak >= CAPACITY * 9 / 10, "buffer used only {insert_peak} bytes");

    HEAP.reset_peak_usage();
    let mut previous = None;
    let mut merged = 0;
    for entry in collector.iter().unwrap() {
        let (key, merged_value) = entry.unwrap();
        assert!(previous.is_none_or(|previous| previous < key));
        assert_eq!(merged_value, value);
        previous = Some(key);
        merged += 1;
    }
    let merge_peak = HEAP.peak_usage() - baseline;
    eprintln!("merged {merged} entries from {runs} runs; peak heap {merge_peak} bytes");
    assert_eq!(merged, collector.len());
    let per_run = READER_BUFFER + 1024;
    assert!(merge_peak <= CAPACITY + runs * per_run + SLACK, "merge peak {merge_peak}");
}
