//! What a database's snap sync record says, for tools that reopen a datadir (`snapsync verify`,
//! resume checks) without running the stage.

use crate::SnapPhase;
use crate::{
    Counts, Pivot, SnapSyncError,
    state::{SyncState, VerifiedNodes},
};
use snapsync_storage::StateRead;

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
