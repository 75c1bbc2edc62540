//! The verifying step: build the tries from the stored leaves and compare with the pivot's root.

use crate::{SnapSyncError, heal::HealSeeds, scan::missing_codes, state::SyncState};
use snapsync_db::{Database, WriteTxn, rebuild_state_trie};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::AccountHash;
use snapsync_stages::SnapPhase;
use std::sync::Arc;
use tracing::info;

/// What the verifying step found.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The stored state is the pivot's, whole: the state is `Done`.
    Matches,
    /// It is not: healing starts from these seeds (the state is `Healing`).
    Differs {
        /// Where healing starts besides the root.
        seeds: HealSeeds,
        /// The root of the stored state.
        stored_root: alloy_primitives::B256,
    },
}

/// Writes every node of the account trie and of each storage trie (replacing any stored ones)
/// and checks that the account trie's root is the pivot's state root, that every account's slots
/// hash to its storage root and that every code is stored. On success the state is `Done`,
/// otherwise `Healing`, with what was found wrong.
///
/// # Errors
/// Database and ETL failures.
pub(crate) fn build_and_check_tries(
    db: &Arc<dyn Database>,
    txn: &mut WriteTxn,
    etl: &CollectorConfig,
    state: &mut SyncState,
) -> Result<Verdict, SnapSyncError> {
    let view = db.view()?;
    let rebuilt = rebuild_state_trie(&view, txn, etl)?;
    let report = &rebuilt.report;
    state.counts.trie_nodes = rebuilt.account_nodes + rebuilt.storage_nodes;
    // Exact figures: healing replaces and removes entries the download phases counted.
    (state.counts.accounts, state.counts.slots) = (report.accounts, report.storage_slots);
    let mut storages: Vec<AccountHash> =
        report.storage_mismatches.iter().map(|mismatch| mismatch.account).collect();
    storages.extend(&report.orphan_storages);
    let codes = missing_codes(&view)?;
    if report.state_root == state.pivot.state_root && storages.is_empty() && codes.is_empty() {
        state.phase = SnapPhase::Done;
        info!(
            target: "sync::snap::verify",
            root = %report.state_root,
            accounts = report.accounts,
            slots = report.storage_slots,
            nodes = state.counts.trie_nodes,
            "stored state matches the pivot"
        );
        return Ok(Verdict::Matches);
    }
    state.phase = SnapPhase::Healing;
    info!(
        target: "sync::snap::verify",
        pivot = state.pivot.number,
        expected = %state.pivot.state_root,
        stored = %report.state_root,
        storages = storages.len(),
        codes = codes.len(),
        "stored state differs from the pivot's: healing"
    );
    Ok(Verdict::Differs { seeds: HealSeeds { storages }, stored_root: report.state_root })
}
