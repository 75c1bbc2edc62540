//! Live progress of the stage, for progress bars, logs and metrics.
//!
//! The stage publishes a [`SyncProgress`] snapshot on a `tokio::sync::watch` channel after every
//! step (and while a step's requests complete), and mirrors the same figures into `metrics`
//! counters and gauges (names under `snapsync_sync_*`). Readers never slow the sync: a watch
//! channel keeps only the latest value.

use crate::SnapPhase;
use crate::state::{Counts, Pivot, SyncState};
use std::time::Duration;

/// A snapshot of what the stage has done.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncProgress {
    /// The phase the stage is in (`Accounts` before a pivot is chosen).
    pub phase: SnapPhase,
    /// The pivot, once chosen.
    pub pivot: Option<Pivot>,
    /// What is stored (committed, or verified in the step being gathered).
    pub counts: Counts,
    /// Fraction of the account hash space downloaded, 0 to 1.
    pub accounts_fraction: f64,
    /// Accounts whose storage is known to be still pending (scanned, or being split).
    pub storage_pending: u64,
    /// Healing: nodes, codes and storage tries still queued in the current pass (0 outside
    /// healing). Nodes healed so far are [`Counts::healed_nodes`].
    pub heal_pending: u64,
    /// Bytes of verified replies received by this process.
    pub bytes_downloaded: u64,
    /// Requests answered (verified, empty, failed or timed out) in this process.
    pub requests: u64,
    /// Time since the stage was created.
    pub elapsed: Duration,
    /// Whether this process continued a sync a previous one had started.
    pub resumed: bool,
    /// Parts of the state (of the 16, one per first nibble of the account hashes) whose stored
    /// leaves were hashed again in the background while the rest downloaded, for the current
    /// pivot: the verifying step walks only the others.
    pub parts_checked_early: u64,
}

impl Default for SyncProgress {
    fn default() -> Self {
        Self {
            phase: SnapPhase::Accounts,
            pivot: None,
            counts: Counts::default(),
            accounts_fraction: 0.0,
            storage_pending: 0,
            heal_pending: 0,
            bytes_downloaded: 0,
            requests: 0,
            elapsed: Duration::ZERO,
            resumed: false,
            parts_checked_early: 0,
        }
    }
}

impl SyncProgress {
    /// Leaves (accounts and storage slots) stored.
    pub const fn leaves(&self) -> u64 {
        self.counts.accounts + self.counts.slots
    }

    /// The estimated time left in the account phase, from the hash space covered so far in this
    /// process (`None` outside that phase or before any progress).
    pub fn accounts_eta(&self, start_fraction: f64) -> Option<Duration> {
        let done = self.accounts_fraction - start_fraction;
        if self.phase != SnapPhase::Accounts || done <= 0.0 {
            return None;
        }
        let rate = done / self.elapsed.as_secs_f64().max(1e-3);
        Some(Duration::from_secs_f64(((1.0 - self.accounts_fraction) / rate).min(1e7)))
    }

    /// Copies the durable figures of `state`.
    pub(crate) fn observe_state(&mut self, state: &SyncState) {
        self.phase = state.phase;
        self.pivot = Some(state.pivot);
        self.counts = state.counts;
        self.accounts_fraction = state.accounts_fraction();
        let large = state.storage.large.len() + state.storage.pending.len();
        self.storage_pending = u64::try_from(large).unwrap_or(u64::MAX);
    }

    /// Mirrors the snapshot into the `metrics` recorder, if one is installed.
    pub(crate) fn record_metrics(&self) {
        crate::metrics::progress(self);
    }
}
