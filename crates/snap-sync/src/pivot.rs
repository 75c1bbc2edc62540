//! Choosing the pivot: the tip hash from outside, the hash chain down to `tip - distance`.

use crate::{SnapSyncError, state::Pivot};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_chain_stages::{resolve_pivot, wait_for_tip};
use snapsync_net::{HeadersClient, SnapClient};
use std::time::Duration;
use tokio::sync::watch;
use tracing::info;

/// The current tip hash, waiting for the first one (`B256::ZERO` means none yet).
pub(crate) async fn current_tip(tip: &mut watch::Receiver<B256>) -> Result<B256, SnapSyncError> {
    wait_for_tip(tip).await.ok_or(SnapSyncError::TipChannelClosed)
}

/// The header `distance` below `tip`, reached through checked hash links.
pub(crate) async fn choose_pivot<C: HeadersClient + SnapClient>(
    client: &C,
    tip: B256,
    distance: u64,
    request_timeout: Duration,
) -> Result<(Pivot, Sealed<Header>), SnapSyncError> {
    let header = resolve_pivot(client, tip, distance, request_timeout)
        .await
        .map_err(|error| SnapSyncError::Pivot(Box::new(error)))?;
    let pivot = Pivot { number: header.number, hash: header.hash(), state_root: header.state_root };
    info!(target: "sync::snap::pivot", number = pivot.number, hash = %pivot.hash, root = %pivot.state_root, "pivot chosen");
    Ok((pivot, header))
}
