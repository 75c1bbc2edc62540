//! Choosing the pivot: the one step that turns a trusted tip hash into a trusted state root.
//!
//! Snap sync trusts exactly one thing from outside: the tip hash a consensus client hands over.
//! The pivot is the header `distance` blocks below the tip (peers keep ~128 recent states, so a
//! pivot 64 behind stays servable for a while). Its state root is trusted only because the headers
//! from the tip down to it link by hash: each must hash to its child's parent hash, the first to
//! the tip. No other root is ever trusted.

use crate::{HeadersError, headers::fetch_falling};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_fetch::Fetcher;
use snapsync_net::{HeadersClient, SnapClient};

/// Most headers one request asks for.
const BATCH: u64 = 128;

/// The header `distance` blocks below the block with hash `tip` (the genesis-most header when the
/// chain is shorter), reached through headers whose hash links to `tip` were each checked. The
/// requests go through `fetcher`, which bans and reports peers that send unlinked headers and
/// asks another.
///
/// # Errors
/// [`HeadersError::NoPeerDelivered`] when the fetcher gives a request up (no peer has the
/// blocks, none is free in time, or every attempt failed).
pub async fn resolve_pivot<C: HeadersClient + SnapClient>(
    fetcher: &Fetcher<C>,
    tip: B256,
    distance: u64,
) -> Result<Sealed<Header>, HeadersError> {
    let mut hash = tip;
    let mut number = None;
    let mut remaining = distance.saturating_add(1);
    loop {
        let batch = remaining.min(BATCH);
        let headers = fetch_falling(fetcher, hash, number, batch).await?;
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
