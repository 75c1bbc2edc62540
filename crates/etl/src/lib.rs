//! External sorting for snapsync: collect key-value entries in any order, get them back sorted by
//! key, in bounded memory (the ETL pattern of Erigon and reth).
//!
//! # Why
//!
//! Snap sync downloads hundreds of millions of verified leaves (accounts, storage slots, bytecodes,
//! trie nodes) in whatever order the peers' ranges complete, and healing rewrites some of them
//! later. A key-value database loads fastest when keys arrive sorted, in bulk (append-only B-tree
//! pages, no random page splits), but the whole set is far larger than memory. The [`Collector`]
//! turns the unordered stream into a sorted one while holding at most a fixed buffer in RAM.
//!
//! # How
//!
//! - [`Collector::insert`] encodes the entry ([`Encode`]) into an in-memory buffer whose byte
//!   accounting counts keys, values and a 24-byte per-entry index, against
//!   [`CollectorConfig::buffer_capacity`].
//! - When the next entry would not fit, the buffer is sorted by encoded key and written, once per
//!   key, to a run file (length-prefixed records through a `BufWriter`) in a private run
//!   directory, locked by its collector while it lives and deleted on drop;
//!   [`remove_stale_runs`] removes those of killed processes, never those of live collectors.
//! - [`Collector::iter`] k-way merges the run files (through `BufReader`s, one record per run on a
//!   binary heap) and the sorted remainder of the buffer into one stream of
//!   `Result<(K, V), EtlError>`, decoded with [`Decode`]. With more runs than
//!   [`CollectorConfig::max_merge_runs`], groups of the oldest are merged first, so open files and
//!   reader memory stay bounded however much is collected.
//!
//! # Metrics
//!
//! Collectors count what they collect, spill and merge as `snapsync_etl_*` metrics through the
//! `metrics` facade, per spill, merge and clear (never per entry); [`METRIC_NAMES`] lists them,
//! [`describe_metrics`] describes them, `docs/metrics.md` documents them.
//!
//! # Contract
//!
//! - **Order** is the byte order of the encoded keys (shorter first on a common prefix), which is
//!   the key order of the database the stream is loaded into.
//! - **Duplicates**: the last insert of a key wins; the stream holds each key once.
//! - **Memory**: the buffer never allocates more than `buffer_capacity` bytes (one entry larger
//!   than that is held alone); spilling adds the writer buffer, merging one reader buffer and one
//!   entry per run.
//! - **Errors**: I/O failures, corrupt run files and undecodable bytes are [`EtlError`]s, never
//!   panics.
//!
//! ```
//! use snapsync_etl::{Collector, CollectorConfig};
//!
//! let mut collector = Collector::<[u8; 2], Vec<u8>>::new(CollectorConfig::new(1024));
//! for (key, value) in [([0, 2], b"b"), ([0, 1], b"a"), ([0, 2], b"c")] {
//!     collector.insert(&key, &value.to_vec())?;
//! }
//! let sorted: Vec<_> = collector.iter()?.collect::<Result<_, _>>()?;
//! assert_eq!(sorted, vec![([0, 1], b"a".to_vec()), ([0, 2], b"c".to_vec())]);
//! # Ok::<(), snapsync_etl::EtlError>(())
//! ```

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod buffer;
mod codec;
mod collector;
mod config;
mod error;
mod iter;
mod merge;
mod metrics;
mod record;
mod run;
mod run_dir;

pub use codec::{Decode, Encode};
pub use collector::Collector;
pub use config::CollectorConfig;
pub use error::{Corruption, DecodeError, EntryPart, EtlError, IoOperation};
pub use iter::{Iter, RawEntry};
pub use metrics::{METRIC_NAMES, describe_metrics};
pub use run_dir::remove_stale_runs;
