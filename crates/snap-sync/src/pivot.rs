//! Choosing and moving the pivot: the tip hash from outside, the hash chain down to
//! `tip - distance`.

use crate::{PivotConfig, SnapSyncError, state::Pivot};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_chain_stages::{resolve_pivot, wait_for_tip};
use snapsync_fetch::Fetcher;
use snapsync_net::{HeadersClient, SnapClient};
use tokio::sync::watch;
use tracing::info;

/// The current tip hash, waiting for the first one (`B256::ZERO` means none yet).
pub(crate) async fn current_tip(tip: &mut watch::Receiver<B256>) -> Result<B256, SnapSyncError> {
    wait_for_tip(tip).await.ok_or(SnapSyncError::TipChannelClosed)
}

/// The header `distance` below `tip`, reached through checked hash links, asked through
/// `fetcher`.
async fn candidate<C: HeadersClient + SnapClient>(
    fetcher: &Fetcher<C>,
    tip: B256,
    distance: u64,
) -> Result<(Pivot, Sealed<Header>), SnapSyncError> {
    let header = resolve_pivot(fetcher, tip, distance)
        .await
        .map_err(|error| SnapSyncError::Pivot(Box::new(error)))?;
    let pivot = Pivot { number: header.number, hash: header.hash(), state_root: header.state_root };
    Ok((pivot, header))
}

/// The first pivot: the header `distance` below `tip`.
pub(crate) async fn choose_pivot<C: HeadersClient + SnapClient>(
    fetcher: &Fetcher<C>,
    tip: B256,
    distance: u64,
) -> Result<(Pivot, Sealed<Header>), SnapSyncError> {
    let (pivot, header) = candidate(fetcher, tip, distance).await?;
    info!(target: "sync::snap::pivot", number = pivot.number, hash = %pivot.hash, root = %pivot.state_root, "pivot chosen");
    Ok((pivot, header))
}

/// Why the pivot is looked at again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MoveReason {
    /// The tip changed: move if it is now more than `move_distance` ahead of the pivot.
    TipAdvanced,
    /// No peer serves the pivot's state any more: move to any newer block the tip allows.
    Unserved,
}

/// The pivot to move to from `current`, given `tip`: the header `config.distance` below it, if
/// that is newer than `current` and `reason` holds. `None` to stay.
pub(crate) async fn newer_pivot<C: HeadersClient + SnapClient>(
    fetcher: &Fetcher<C>,
    tip: B256,
    current: &Pivot,
    config: &PivotConfig,
    reason: MoveReason,
) -> Result<Option<(Pivot, Sealed<Header>)>, SnapSyncError> {
    let (pivot, header) = candidate(fetcher, tip, config.distance).await?;
    let tip_number = pivot.number.saturating_add(config.distance);
    let behind = tip_number.saturating_sub(current.number);
    let due = match reason {
        MoveReason::TipAdvanced => behind > config.move_distance,
        MoveReason::Unserved => true,
    };
    if pivot.number <= current.number || !due {
        return Ok(None);
    }
    info!(
        target: "sync::snap::pivot",
        from = current.number,
        to = pivot.number,
        root = %pivot.state_root,
        ?reason,
        "pivot moved"
    );
    Ok(Some((pivot, header)))
}
