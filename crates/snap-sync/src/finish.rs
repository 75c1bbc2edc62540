//! The last step: build the tries from the stored leaves and require the pivot's root.

use crate::{SnapSyncError, state::SyncState};
use snapsync_db::{Database, WriteTxn, rebuild_state_trie};
use snapsync_etl::CollectorConfig;
use snapsync_stages::SnapPhase;
use std::sync::Arc;
use tracing::info;

/// Writes every node of the account trie and of each storage trie (replacing any stored ones)
/// and checks that the account trie's root is the pivot's state root and that every account's
/// slots hash to its storage root. On success the state is `Done`.
///
/// # Errors
/// [`SnapSyncError::InconsistentStorage`] or [`SnapSyncError::RootMismatch`] when the stored
/// state is not the pivot's; database and ETL failures.
pub(crate) fn build_and_check_tries(
    db: &Arc<dyn Database>,
    txn: &mut WriteTxn,
    etl: &CollectorConfig,
    state: &mut SyncState,
) -> Result<(), SnapSyncError> {
    let view = db.view()?;
    let rebuilt = rebuild_state_trie(&view, txn, etl)?;
    let report = &rebuilt.report;
    if !report.is_consistent() {
        return Err(SnapSyncError::InconsistentStorage {
            mismatches: report.storage_mismatches.len(),
            first: report.storage_mismatches.first().copied(),
            orphans: report.orphan_storages.len(),
        });
    }
    if report.state_root != state.pivot.state_root {
        return Err(SnapSyncError::RootMismatch {
            pivot: state.pivot.number,
            expected: state.pivot.state_root,
            computed: report.state_root,
        });
    }
    state.counts.trie_nodes = rebuilt.account_nodes + rebuilt.storage_nodes;
    state.phase = SnapPhase::Done;
    info!(
        target: "sync::snap::verify",
        root = %report.state_root,
        accounts = report.accounts,
        slots = report.storage_slots,
        nodes = state.counts.trie_nodes,
        "stored state matches the pivot"
    );
    Ok(())
}
