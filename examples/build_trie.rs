//! Streams N generated account leaves (sorted, never held in memory) through the `TrieBuilder`
//! and prints throughput, what the node sink received, and the process's peak RSS: the builder's
//! memory is bounded by the key length, so peak RSS must not grow with N.
//!
//! ```sh
//! cargo run --release --example build_trie -- 1000000
//! ```

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use snapsync::trie::{CountingSink, TrieBuilder};
use snapsync_trie::test_utils::SortedAccountLeaves;
use std::time::Instant;

/// Peak resident set size of this process in KiB (`VmHWM`), where the OS reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let count: u64 = std::env::args().nth(1).map_or(1_000_000, |arg| arg.parse().expect("a count"));
    let start = Instant::now();
    let mut builder = TrieBuilder::new(CountingSink::default());
    for (key, value) in SortedAccountLeaves::new(42, count) {
        builder.add_leaf(key.as_slice(), &value).expect("sorted leaves");
    }
    let (root, sink) = builder.finish().expect("infallible sink");
    let secs = start.elapsed().as_secs_f64();
    println!("leaves={count} root={root}");
    println!(
        "elapsed_s={secs:.3} leaves_per_s={:.0} nodes_emitted={} node_bytes={}",
        count as f64 / secs,
        sink.nodes,
        sink.bytes
    );
    println!("peak_rss_kib={}", peak_rss_kib().map_or("unknown".into(), |kib| kib.to_string()));
}
