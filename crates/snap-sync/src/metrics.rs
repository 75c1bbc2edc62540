//! The snap stage's metrics: its progress, as gauges.
//!
//! Mirrors each [`SyncProgress`] snapshot the stage publishes (after every step and while a
//! step's requests complete). Names follow `snapsync_sync_<what>`; no labels. The peer layer's,
//! database's and pipeline's metrics are recorded by those crates. Every name is listed in
//! [`METRIC_NAMES`] and documented in `docs/metrics.md`.

use crate::SyncProgress;
use ::metrics::{Unit, describe_gauge, gauge};

const ACCOUNTS: &str = "snapsync_sync_accounts";
const SLOTS: &str = "snapsync_sync_storage_slots";
const CODES: &str = "snapsync_sync_bytecodes";
const TRIE_NODES: &str = "snapsync_sync_trie_nodes";
const HEALED: &str = "snapsync_sync_healed_trie_nodes";
const PIVOT_MOVES: &str = "snapsync_sync_pivot_moves";
const BYTES: &str = "snapsync_sync_bytes_downloaded";
const REQUESTS: &str = "snapsync_sync_requests";
const STORAGE_PENDING: &str = "snapsync_sync_storage_pending";
const HEAL_PENDING: &str = "snapsync_sync_heal_pending";
const PIVOT_BLOCK: &str = "snapsync_sync_pivot_block";
const PHASE: &str = "snapsync_sync_phase";
const FRACTION: &str = "snapsync_sync_accounts_fraction";

/// Every metric this crate records.
pub const METRIC_NAMES: &[&str] = &[
    ACCOUNTS,
    SLOTS,
    CODES,
    TRIE_NODES,
    HEALED,
    PIVOT_MOVES,
    BYTES,
    REQUESTS,
    STORAGE_PENDING,
    HEAL_PENDING,
    PIVOT_BLOCK,
    PHASE,
    FRACTION,
];

/// Describes this crate's metrics (type, unit, meaning) to the installed recorder.
pub fn describe_metrics() {
    describe_gauge!(ACCOUNTS, Unit::Count, "Accounts stored");
    describe_gauge!(SLOTS, Unit::Count, "Storage slots stored");
    describe_gauge!(CODES, Unit::Count, "Bytecodes stored");
    describe_gauge!(TRIE_NODES, Unit::Count, "Trie nodes stored");
    describe_gauge!(HEALED, Unit::Count, "Trie nodes healed");
    describe_gauge!(PIVOT_MOVES, Unit::Count, "Times the pivot moved");
    describe_gauge!(BYTES, Unit::Bytes, "Bytes of verified replies received by this process");
    describe_gauge!(REQUESTS, Unit::Count, "Requests answered in this process");
    describe_gauge!(STORAGE_PENDING, Unit::Count, "Accounts whose storage is still pending");
    describe_gauge!(HEAL_PENDING, Unit::Count, "Healing work queued in the current pass");
    describe_gauge!(PIVOT_BLOCK, Unit::Count, "Block number of the pivot (0 before one)");
    describe_gauge!(PHASE, Unit::Count, "The phase, as its stored byte");
    describe_gauge!(FRACTION, "Fraction of the account hash space downloaded, 0 to 1");
}

/// Mirrors `progress` into the gauges.
pub(crate) fn progress(progress: &SyncProgress) {
    let counts = &progress.counts;
    let gauges = [
        (ACCOUNTS, counts.accounts),
        (SLOTS, counts.slots),
        (CODES, counts.codes),
        (TRIE_NODES, counts.trie_nodes),
        (HEALED, counts.healed_nodes),
        (PIVOT_MOVES, counts.pivot_moves),
        (BYTES, progress.bytes_downloaded),
        (REQUESTS, progress.requests),
        (STORAGE_PENDING, progress.storage_pending),
        (HEAL_PENDING, progress.heal_pending),
        (PIVOT_BLOCK, progress.pivot.map_or(0, |pivot| pivot.number)),
    ];
    for (name, value) in gauges {
        #[allow(clippy::cast_precision_loss)] // a gauge is an f64 by definition
        gauge!(name).set(value as f64);
    }
    gauge!(PHASE).set(f64::from(progress.phase.to_byte()));
    gauge!(FRACTION).set(progress.accounts_fraction);
}
