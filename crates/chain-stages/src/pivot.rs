//! Choosing the pivot: the one step that turns a trusted tip hash into a trusted state root.
//!
//! Snap sync trusts exactly one thing from outside: the tip hash a consensus client hands over.
//! The pivot is the header `distance` blocks below the tip (peers keep ~128 recent states, so a
//! pivot 64 behind stays servable for a while). Its state root is trusted only because the headers
//! from the tip down to it link by hash: each must hash to its child's parent hash, the first to
//! the tip. No other root is ever trusted.

use crate::{HeadersError, headers::fetch_falling, peers::PeerRotation};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_net::{HeadersClient, SnapClient};
use std::time::Duration;

/// Most headers one request asks for.
const BATCH: u64 = 128;

/// The header `distance` blocks below the block with hash `tip` (the genesis-most header when the
/// chain is shorter), reached through headers whose hash links to `tip` were each checked. Peers
/// that send unlinked headers are reported and not asked again.
///
/// # Errors
/// [`HeadersError::NoPeerDelivered`] when no peer sends a valid batch (each request waits at most
/// `request_timeout` per peer).
pub async fn resolve_pivot<C: HeadersClient + SnapClient>(
    client: &C,
    tip: B256,
    distance: u64,
    request_timeout: Duration,
) -> Result<Sealed<Header>, HeadersError> {
    let mut peers = PeerRotation::default();
    let mut hash = tip;
    let mut number = None;
    let mut remaining = distance + 1;
    loop {
        let batch = remaining.min(BATCH);
        let headers = fetch_falling(client, &mut peers, hash, number, batch, request_timeout)
            .await
            .map_err(|error| *error)?;
        remaining -= headers.len() as u64;
        // `fetch_falling` returns at least one header, linked from `hash` down.
        let Some(lowest) = headers.into_iter().last() else {
            return Err(HeadersError::NoPeerDelivered {
                hash,
                number,
                tried: 0,
                timed_out: 0,
                banned: 0,
            });
        };
        if remaining == 0 || lowest.number == 0 {
            return Ok(lowest);
        }
        hash = lowest.parent_hash;
        number = lowest.number.checked_sub(1);
    }
}
