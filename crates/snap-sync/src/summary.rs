//! What a database's snap sync record says, for tools that reopen a datadir (`snapsync verify`,
//! resume checks) without running the stage.

use crate::{
    Counts, Pivot, SnapSyncError,
    state::{SyncState, VerifiedNodes},
};
use crate::{SNAP_SYNC, SnapPhase};
use alloy_primitives::Bytes;
use snapsync_storage::{StateRead, StateWrite, StoreError};

/// The stored state of a snap sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    /// The pivot being (or last) synced.
    pub pivot: Pivot,
    /// The phase reached.
    pub phase: SnapPhase,
    /// What is stored.
    pub counts: Counts,
    /// Whether the stored trie nodes are the ones verifying the downloaded ranges computed
    /// (every range proven against the pivot's root, so the tries were not rebuilt from the
    /// leaves); `false` after a pivot move, which rebuilds them.
    pub verified_nodes: bool,
}

impl SyncSummary {
    /// Whether the stage finished: the stored state was checked against the pivot's root.
    pub fn is_done(&self) -> bool {
        self.phase == SnapPhase::Done
    }
}

/// The snap sync record stored in `view`, `None` if no sync ever committed a step.
///
/// # Errors
/// [`SnapSyncError::CorruptState`] for a record that does not decode; database failures.
pub fn stored_summary(
    view: &(impl StateRead + ?Sized),
) -> Result<Option<SyncSummary>, SnapSyncError> {
    let Some(state) = SyncState::load(view)? else { return Ok(None) };
    let verified_nodes = VerifiedNodes::hold(view, &state)?;
    Ok(Some(SyncSummary {
        pivot: state.pivot,
        phase: state.phase,
        counts: state.counts,
        verified_nodes,
    }))
}

/// Records, in `txn`, that the state stored beside it is `pivot`'s, whole, written and checked
/// by other means than a sync: an import of a state whose root was computed from its leaves
/// and compared with the pivot header's (`snapsync import --state`). The snap sync record says
/// the sync finished at `pivot` with `counts`, and the stage's checkpoint is the pivot's block,
/// so `snapsync verify` checks the state as it checks a synced one, a server finds its root,
/// and a pipeline started on the store takes it as a finished snap sync (a later tip moves the
/// pivot and heals from it).
///
/// The caller vouches for the state: nothing here looks at the leaves.
///
/// # Errors
/// Store failures.
pub fn record_imported_state(
    txn: &mut (impl StateWrite + ?Sized),
    pivot: Pivot,
    counts: Counts,
) -> Result<(), StoreError> {
    let state = SyncState::finished_import(pivot, counts);
    state.store(txn)?;
    let checkpoint = state.checkpoint();
    txn.set_checkpoint(SNAP_SYNC.as_str(), &Bytes::from(checkpoint.encode()))
}
