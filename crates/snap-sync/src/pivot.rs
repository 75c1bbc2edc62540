//! Choosing and moving the pivot: the one step that turns a trusted tip hash into a trusted
//! state root.
//!
//! Snap sync trusts exactly one thing from outside: the tip hash a consensus client hands over.
//! The pivot is the header `distance` blocks below the tip (peers keep ~128 recent states, so a
//! pivot 64 behind stays servable for a while). Its state root is trusted only because the
//! headers from the tip down to it link by hash: each must hash to its child's parent hash, the
//! first to the tip (the [`Fetcher`] checks each reply with
//! [`verify_block_headers`](snapsync_fetch::verify_block_headers)). No other root is ever
//! trusted.

use crate::{PivotConfig, PivotError, SnapSyncError, state::Pivot};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_fetch::{BlockHeadersRequest, Fetcher};
use snapsync_stages::wait_for_tip;
use tokio::sync::watch;
use tracing::info;

/// Most headers one request asks for.
const BATCH: u64 = 128;

/// The header `distance` blocks below the block with hash `tip` (the genesis-most header when
/// the chain is shorter), reached through headers whose hash links to `tip` were each checked.
/// The requests go through `fetcher`, which bans and reports peers that send unlinked headers
/// and asks another.
///
/// # Errors
/// [`PivotError`] when the fetcher gives a request up (no peer has the blocks, none is free in
/// time, or every attempt failed).
pub async fn resolve_pivot(
    fetcher: &Fetcher,
    tip: B256,
    distance: u64,
) -> Result<Sealed<Header>, PivotError> {
    let mut hash = tip;
    let mut number = None;
    let mut remaining = distance.saturating_add(1);
    loop {
        let batch = remaining.min(BATCH);
        let request = BlockHeadersRequest::falling(hash, number, batch);
        let headers = match fetcher.block_headers(request).await {
            Ok(headers) => headers.into_headers(),
            Err(source) => return Err(PivotError { hash, number, source }),
        };
        remaining = remaining.saturating_sub(headers.len() as u64);
        // A verified reply holds at least one header, linked from `hash` down (an empty reply
        // is never verified): were it empty, asking again is all there is to do.
        let Some(lowest) = headers.into_iter().last() else { continue };
        if remaining == 0 || lowest.number == 0 {
            return Ok(lowest);
        }
        hash = lowest.parent_hash;
        number = lowest.number.checked_sub(1);
    }
}

/// The current tip hash, waiting for the first one (`B256::ZERO` means none yet).
pub(crate) async fn current_tip(tip: &mut watch::Receiver<B256>) -> Result<B256, SnapSyncError> {
    wait_for_tip(tip).await.ok_or(SnapSyncError::TipChannelClosed)
}

/// The header `distance` below `tip`, reached through checked hash links, asked through
/// `fetcher`.
async fn candidate(
    fetcher: &Fetcher,
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
pub(crate) async fn choose_pivot(
    fetcher: &Fetcher,
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
pub(crate) async fn newer_pivot(
    fetcher: &Fetcher,
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
