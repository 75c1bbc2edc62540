//! The peer layer's metrics: what the [`Fetcher`](crate::Fetcher) sees of its peers.
//!
//! The fetcher is where the facts are: it sends every request, concludes every attempt
//! (verified, empty, timed out, failed, invalid), sends and settles hedges, and bans. Each of
//! those places calls one function here, which records into the `metrics` facade (a no-op
//! without a recorder). Names follow `snapsync_peers_<what>[_unit]`; counters end in `_total`.
//! Labels are bounded: `kind` (the request kind, [`kind_label`]), `fault` ([`fault_label`]),
//! `penalty`, `reason` — never a peer id. Every name is listed in [`METRIC_NAMES`] and
//! documented in `docs/metrics.md`.

use crate::FetchError;
use crate::PeerSet;
use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use snapsync_net::{Fault, InvalidResponse, Penalty, RequestKind};
use std::time::Duration;
use tokio::time::Instant;

/// Connected peers, as the client last reported them.
const CONNECTED: &str = "snapsync_peers_connected";
/// Peers in the set with at least one request in flight.
const BUSY: &str = "snapsync_peers_busy";
/// Peers in the set with no request in flight.
const IDLE: &str = "snapsync_peers_idle";
/// Peers banned for invalid data.
const BANNED: &str = "snapsync_peers_banned";
/// Requests in flight, all peers.
const IN_FLIGHT: &str = "snapsync_peers_requests_in_flight";
/// Requests sent (first attempts, retries and hedges).
const SENT: &str = "snapsync_peers_requests_sent_total";
/// Replies that verified.
const VERIFIED: &str = "snapsync_peers_requests_verified_total";
/// Empty replies (the peer lacks the data).
const UNAVAILABLE: &str = "snapsync_peers_requests_unavailable_total";
/// Requests that timed out.
const TIMED_OUT: &str = "snapsync_peers_requests_timed_out_total";
/// Requests the network could not complete.
const FAILED: &str = "snapsync_peers_requests_failed_total";
/// Replies that failed verification.
const INVALID: &str = "snapsync_peers_requests_invalid_total";
/// Attempts dropped unanswered because another attempt verified first.
const CANCELLED: &str = "snapsync_peers_requests_cancelled_total";
/// Requests given up after every attempt or wait.
const ABANDONED: &str = "snapsync_peers_requests_abandoned_total";
/// Bytes of verified replies.
const DELIVERED_BYTES: &str = "snapsync_peers_delivered_bytes_total";
/// Time from lease to a verified reply.
const DURATION: &str = "snapsync_peers_request_duration_seconds";
/// Hedges sent.
const HEDGES_SENT: &str = "snapsync_peers_hedges_sent_total";
/// Requests whose verified reply came from a hedge.
const HEDGES_WON: &str = "snapsync_peers_hedges_won_total";
/// Peers banned, by fault.
const BANS: &str = "snapsync_peers_bans_total";
/// Penalties reported to the client.
const PENALTIES: &str = "snapsync_peers_penalties_total";

/// Every metric this crate records.
pub const METRIC_NAMES: &[&str] = &[
    CONNECTED,
    BUSY,
    IDLE,
    BANNED,
    IN_FLIGHT,
    SENT,
    VERIFIED,
    UNAVAILABLE,
    TIMED_OUT,
    FAILED,
    INVALID,
    CANCELLED,
    ABANDONED,
    DELIVERED_BYTES,
    DURATION,
    HEDGES_SENT,
    HEDGES_WON,
    BANS,
    PENALTIES,
];

/// Describes this crate's metrics (type, unit, meaning) to the installed recorder.
pub fn describe_metrics() {
    describe_gauge!(CONNECTED, Unit::Count, "Peers connected, as the client last reported them");
    describe_gauge!(BUSY, Unit::Count, "Peers with at least one request in flight");
    describe_gauge!(IDLE, Unit::Count, "Peers (not banned) with no request in flight");
    describe_gauge!(BANNED, Unit::Count, "Peers banned for sending invalid data");
    describe_gauge!(IN_FLIGHT, Unit::Count, "Requests in flight, all peers");
    describe_counter!(SENT, Unit::Count, "Requests sent to a peer, by kind (hedges included)");
    describe_counter!(VERIFIED, Unit::Count, "Replies that verified, by kind");
    describe_counter!(UNAVAILABLE, Unit::Count, "Empty replies (the peer lacks it), by kind");
    describe_counter!(TIMED_OUT, Unit::Count, "Requests that timed out, by kind");
    describe_counter!(FAILED, Unit::Count, "Requests the network could not complete, by kind");
    describe_counter!(INVALID, Unit::Count, "Replies that failed verification, by kind");
    describe_counter!(CANCELLED, Unit::Count, "Attempts dropped as another verified first");
    describe_counter!(ABANDONED, Unit::Count, "Requests given up, by kind and reason");
    describe_counter!(DELIVERED_BYTES, Unit::Bytes, "Bytes of verified replies, by kind");
    describe_histogram!(DURATION, Unit::Seconds, "Lease to verified reply, by kind");
    describe_counter!(HEDGES_SENT, Unit::Count, "Hedges sent, by kind and reason");
    describe_counter!(HEDGES_WON, Unit::Count, "Requests answered by their hedge, by kind");
    describe_counter!(BANS, Unit::Count, "Peers banned, by fault");
    describe_counter!(PENALTIES, Unit::Count, "Penalties reported to the client, by penalty");
}

/// The label of a request kind.
pub const fn kind_label(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::AccountRange => "account_range",
        RequestKind::StorageRanges => "storage_ranges",
        RequestKind::ByteCodes => "byte_codes",
        RequestKind::TrieNodes => "trie_nodes",
        RequestKind::BlockHeaders => "block_headers",
        RequestKind::BlockBodies => "block_bodies",
        RequestKind::Receipts => "receipts",
    }
}

/// The label of a fault: the snap/1 check that failed, or the block reply kind.
pub const fn fault_label(fault: &Fault) -> &'static str {
    match fault {
        Fault::Malformed => "malformed",
        Fault::Snap(invalid) => match invalid {
            InvalidResponse::RangeProof(_) => "range_proof",
            InvalidResponse::StorageProof { .. } => "storage_proof",
            InvalidResponse::Oversized { .. } => "oversized",
            InvalidResponse::TooManyItems { .. } => "too_many_items",
            InvalidResponse::ProofNotLast { .. } => "proof_not_last",
            InvalidResponse::UnrequestedCode { .. } => "unrequested_code",
            InvalidResponse::WrongNode { .. } => "wrong_node",
            InvalidResponse::InvalidSlotValue { .. } => "invalid_slot_value",
        },
        Fault::Headers(_) => "headers",
        Fault::Bodies(_) => "bodies",
        Fault::Receipts(_) => "receipts",
        _ => "other",
    }
}

const fn penalty_label(penalty: &Penalty) -> &'static str {
    match penalty {
        Penalty::Timeout { .. } => "timeout",
        Penalty::Unavailable { .. } => "unavailable",
        Penalty::InvalidData { .. } => "invalid_data",
        _ => "other",
    }
}

const fn abandon_label(error: &FetchError) -> &'static str {
    match error {
        FetchError::NoPeerServes { .. } => "no_peer_serves",
        FetchError::NoPeerAvailable { .. } => "no_peer_available",
        FetchError::AttemptsExhausted { .. } => "attempts_exhausted",
        FetchError::NotStarted { .. } => "not_started",
        FetchError::InvalidRequest(_) => "invalid_request",
    }
}

/// The peer gauges, from the set and the client's `connected` count.
pub(crate) fn peers(peers: &PeerSet, connected: usize, now: Instant) {
    let stats = peers.stats(now);
    let busy = stats.iter().filter(|peer| peer.in_flight > 0).count();
    gauge!(CONNECTED).set(count(connected));
    gauge!(BUSY).set(count(busy));
    gauge!(IDLE).set(count(stats.len() - busy));
    gauge!(BANNED).set(count(peers.banned().count()));
    gauge!(IN_FLIGHT).set(count(peers.in_flight()));
}

/// A request sent; `hedge`: `Some(lost)` for a hedge, sent because the first attempt was
/// taken for `lost` or (not lost) because another peer would be much faster.
pub(crate) fn sent(kind: RequestKind, hedge: Option<bool>) {
    counter!(SENT, "kind" => kind_label(kind)).increment(1);
    if let Some(lost) = hedge {
        let reason = if lost { "lost" } else { "faster" };
        counter!(HEDGES_SENT, "kind" => kind_label(kind), "reason" => reason).increment(1);
    }
}

/// A reply of `bytes` that verified `elapsed` after its lease.
pub(crate) fn verified(kind: RequestKind, bytes: u64, elapsed: Duration) {
    counter!(VERIFIED, "kind" => kind_label(kind)).increment(1);
    counter!(DELIVERED_BYTES, "kind" => kind_label(kind)).increment(bytes);
    ::metrics::histogram!(DURATION, "kind" => kind_label(kind)).record(elapsed.as_secs_f64());
}

/// A request whose verified reply came from its hedge.
pub(crate) fn hedge_won(kind: RequestKind) {
    counter!(HEDGES_WON, "kind" => kind_label(kind)).increment(1);
}

/// An empty reply.
pub(crate) fn unavailable(kind: RequestKind) {
    counter!(UNAVAILABLE, "kind" => kind_label(kind)).increment(1);
}

/// A request that timed out.
pub(crate) fn timed_out(kind: RequestKind) {
    counter!(TIMED_OUT, "kind" => kind_label(kind)).increment(1);
}

/// A request the network could not complete.
pub(crate) fn failed(kind: RequestKind) {
    counter!(FAILED, "kind" => kind_label(kind)).increment(1);
}

/// A reply that failed verification with `fault`; `banned`: whether that banned its peer
/// (`false` if it already was), leaving `banned_peers` banned.
pub(crate) fn invalid(kind: RequestKind, fault: &Fault, banned: bool, banned_peers: usize) {
    counter!(INVALID, "kind" => kind_label(kind)).increment(1);
    if banned {
        counter!(BANS, "fault" => fault_label(fault)).increment(1);
    }
    gauge!(BANNED).set(count(banned_peers));
}

/// An attempt dropped unanswered because another verified first.
pub(crate) fn cancelled(kind: RequestKind) {
    counter!(CANCELLED, "kind" => kind_label(kind)).increment(1);
}

/// A request given up with `error`.
pub(crate) fn abandoned(kind: RequestKind, error: &FetchError) {
    counter!(ABANDONED, "kind" => kind_label(kind), "reason" => abandon_label(error)).increment(1);
}

/// A penalty reported to the client.
pub(crate) fn penalty(penalty: &Penalty) {
    counter!(PENALTIES, "penalty" => penalty_label(penalty)).increment(1);
}

#[allow(clippy::cast_precision_loss)] // a gauge is an f64; peer counts are far below 2^53
fn count(value: usize) -> f64 {
    value as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_labels_are_distinct() {
        let mut labels: Vec<_> = RequestKind::ALL.into_iter().map(kind_label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), RequestKind::COUNT);
    }
}
