//! Running one request to a verified answer across peers.
//!
//! The [`Fetcher`] owns the [`PeerSet`]: for each attempt it leases the best peer for the request
//! kind and what it reads (which sizes the byte budget and the timeout) among the peers the
//! embedder's [`PeerSource`] lists as speaking the request's protocol, sends the request through
//! the embedder's [`PeerRequests`] with the lease's deadline, and verifies the reply. A timeout rests the peer, an empty reply marks it as lacking what was asked
//! ([`Availability`]), bad data bans it and is reported to the client with its typed [`Fault`]
//! so the network can disconnect it; then the next attempt goes to another peer. Snap requests,
//! headers and bodies all go this way: one peer layer, one place where replies are checked and
//! peers penalised. A request its peer is overdue
//! with is sent to another peer as well (a hedge), without waiting for the timeout, and so is,
//! when no other work waits, one a much faster peer would deliver first. Only verified data is
//! returned.
//!
//! Requests waiting for a peer sleep until a lease is handed back or the peer set predicts a
//! link will have room, so a free pipeline slot is filled at once.

use crate::{
    AccountRangeRequest, Answer, BlockBodiesRequest, BlockHeadersRequest, BlockReceiptsRequest,
    ByteCodesRequest, FetchError, StorageRangesRequest, TrieNodesRequest, VerifiedAccountRange,
    VerifiedBodies, VerifiedByteCodes, VerifiedHeaders, VerifiedReceipts, VerifiedStorageRanges,
    VerifiedTrieNodes, metrics, verify_account_range, verify_block_bodies, verify_block_headers,
    verify_block_receipts, verify_byte_codes, verify_storage_ranges, verify_trie_nodes,
};
use crate::{Ban, ConfigError, Hedge, Lease, PeerSet, PeerStats, config::check_durations};
use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use serde::{Deserialize, Serialize};
use snapsync_net::{
    Availability, BodiesRequest, EthBlockBody, EthReceipt, Fault, HeadersRequest, Message, PeerId,
    PeerRequests, PeerRequestsExt, PeerResult, PeerSource, Penalty, ReceiptsRequest, RequestError,
    RequestKind,
};
use snapsync_primitives::{
    AccountRange, ByteCodes, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    StorageRanges, TrieNodes,
};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};
use tokio::{
    sync::Notify,
    time::{Instant, sleep_until, timeout_at},
};
use tracing::{debug, warn};

/// How often an outstanding attempt looks again whether it is worth hedging, besides when a
/// lease is handed back and when it becomes overdue.
const HEDGE_POLL: Duration = Duration::from_millis(100);

/// How hard the [`Fetcher`] tries before giving a request up.
///
/// Also the `[fetch]` section of the snap sync stage's TOML: durations are human-readable
/// strings (`"60s"`), every field has a default, unknown fields are refused, and
/// [`validate`](Self::validate) is the one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// Attempts (each to the best available peer) before a request fails. Default 32; 1 to
    /// [`MAX_ATTEMPTS_LIMIT`](Self::MAX_ATTEMPTS_LIMIT), so that a request no peer answers
    /// fails within `max_attempts × timeout_max`.
    pub max_attempts: u32,
    /// Longest wait for a peer to become free (all busy or resting) before a request fails.
    /// Default 60 s; 1 ms to one hour.
    #[serde(with = "humantime_serde")]
    pub peer_wait: Duration,
    /// Longest sleep while waiting for a free peer, between the wake-ups on a handed back lease
    /// and on a predicted opening (peers joining are only seen this way). Default 20 ms; 1 ms to one hour.
    #[serde(with = "humantime_serde")]
    pub idle_poll: Duration,
    /// Whether a request taken for lost (overdue with its peer, [`Lease::overdue_at`]), or
    /// much slower with its peer than another would be when no other request waits, is sent
    /// to a second peer as well ([`PeerSet::hedge`]). Default `true`.
    pub hedge: bool,
}

impl FetchConfig {
    /// Largest accepted [`max_attempts`](Self::max_attempts).
    pub const MAX_ATTEMPTS_LIMIT: u32 = 1024;

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ConfigError::Zero`] for no attempts or a zero duration, [`ConfigError::TooLarge`] for
    /// more than [`MAX_ATTEMPTS_LIMIT`](Self::MAX_ATTEMPTS_LIMIT) attempts,
    /// [`ConfigError::TooLong`] for a duration over an hour
    /// ([`PeerSetConfig::MAX_DURATION`](crate::PeerSetConfig::MAX_DURATION)).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::Zero { field: "max_attempts" });
        }
        if self.max_attempts > Self::MAX_ATTEMPTS_LIMIT {
            return Err(ConfigError::TooLarge {
                field: "max_attempts",
                value: u64::from(self.max_attempts),
                limit: u64::from(Self::MAX_ATTEMPTS_LIMIT),
            });
        }
        check_durations(&[("peer_wait", self.peer_wait), ("idle_poll", self.idle_poll)])
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_attempts: 32,
            peer_wait: Duration::from_secs(60),
            idle_poll: Duration::from_millis(20),
            hedge: true,
        }
    }
}

/// Requests snap data, headers and bodies from the best peers and returns them only once
/// verified.
///
/// Holds the network as two trait objects: the [`PeerSource`] it lists peers from and reports
/// them to, and the [`PeerRequests`] it sends through (often the same value).
pub struct Fetcher {
    /// The peer set and where leases are handed back, shared with the attempts that outlive
    /// their request (see [`Fetcher::drop_attempt`]).
    ledger: Arc<Ledger>,
    requests: Arc<dyn PeerRequests>,
    /// Requests waiting for a peer.
    waiting: AtomicUsize,
    config: FetchConfig,
    next_request_id: AtomicU64,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("peers", &self.ledger.peers)
            .field("waiting", &self.waiting)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher over `network`, which both lists the peers and carries the requests,
    /// scheduled by `peers`.
    pub fn new<N>(network: Arc<N>, peers: PeerSet, config: FetchConfig) -> Self
    where
        N: PeerSource + PeerRequests + 'static,
    {
        Self::with_parts(network.clone(), network, peers, config)
    }

    /// A fetcher listing peers from `source` and sending requests through `requests`,
    /// scheduled by `peers`.
    pub fn with_parts(
        source: Arc<dyn PeerSource>,
        requests: Arc<dyn PeerRequests>,
        peers: PeerSet,
        config: FetchConfig,
    ) -> Self {
        let ledger = Ledger { source, peers: Mutex::new(peers), released: Notify::new() };
        Self {
            ledger: Arc::new(ledger),
            requests,
            waiting: AtomicUsize::new(0),
            config,
            next_request_id: AtomicU64::new(1),
        }
    }

    /// Where the peers come from and where they are reported.
    pub fn source(&self) -> &Arc<dyn PeerSource> {
        &self.ledger.source
    }

    /// Where the requests go.
    pub fn requests(&self) -> &Arc<dyn PeerRequests> {
        &self.requests
    }

    /// Sets the state root being synced: peers' stateless marks for older roots clear.
    pub fn set_pivot_root(&self, root: B256) {
        self.ledger.settle(|peers| peers.set_pivot_root(root));
    }

    /// Per-peer statistics, for progress and metrics.
    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.ledger.peer_set().stats(Instant::now())
    }

    /// The peers banned so far, with the reason.
    pub fn banned(&self) -> Vec<(PeerId, Ban)> {
        self.ledger.peer_set().banned().map(|(peer, ban)| (peer, ban.clone())).collect()
    }

    /// Verified accounts of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// [`FetchError`] when no peer serves the root, none becomes free in time, or every attempt
    /// failed.
    pub async fn account_range(
        &self,
        request: AccountRangeRequest,
    ) -> Result<VerifiedAccountRange, FetchError> {
        self.fetch(request, std::future::pending()).await
    }

    /// As [`account_range`](Self::account_range), but given up unsent, with
    /// [`FetchError::NotStarted`], if `stop` completes while the request still waits for its
    /// first peer (a caller that no longer wants work begun). Once sent, the request runs to
    /// its end as any other, retries included.
    ///
    /// # Errors
    /// As [`account_range`](Self::account_range), and [`FetchError::NotStarted`].
    pub async fn account_range_until(
        &self,
        request: AccountRangeRequest,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<VerifiedAccountRange, FetchError> {
        self.fetch(request, stop).await
    }

    /// Verified storage of `request`'s accounts (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`].
    pub async fn storage_ranges(
        &self,
        request: StorageRangesRequest,
    ) -> Result<VerifiedStorageRanges, FetchError> {
        self.fetch(request, std::future::pending()).await
    }

    /// As [`storage_ranges`](Self::storage_ranges), given up unsent if `stop` completes first
    /// (see [`account_range_until`](Self::account_range_until)).
    ///
    /// # Errors
    /// As [`account_range_until`](Self::account_range_until).
    pub async fn storage_ranges_until(
        &self,
        request: StorageRangesRequest,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<VerifiedStorageRanges, FetchError> {
        self.fetch(request, stop).await
    }

    /// Verified bytecodes of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`].
    pub async fn byte_codes(
        &self,
        request: ByteCodesRequest,
    ) -> Result<VerifiedByteCodes, FetchError> {
        self.fetch(request, std::future::pending()).await
    }

    /// As [`byte_codes`](Self::byte_codes), given up unsent if `stop` completes first (see
    /// [`account_range_until`](Self::account_range_until)).
    ///
    /// # Errors
    /// As [`account_range_until`](Self::account_range_until).
    pub async fn byte_codes_until(
        &self,
        request: ByteCodesRequest,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<VerifiedByteCodes, FetchError> {
        self.fetch(request, stop).await
    }

    /// Verified trie nodes of `request` (its byte budget is set per peer).
    ///
    /// # Errors
    /// As [`Fetcher::account_range`], and [`FetchError::InvalidRequest`] for a request that
    /// cannot be encoded.
    pub async fn trie_nodes(
        &self,
        request: TrieNodesRequest,
    ) -> Result<VerifiedTrieNodes, FetchError> {
        self.trie_nodes_until(request, std::future::pending()).await
    }

    /// As [`trie_nodes`](Self::trie_nodes), given up unsent if `stop` completes first (see
    /// [`account_range_until`](Self::account_range_until)).
    ///
    /// # Errors
    /// As [`trie_nodes`](Self::trie_nodes), and [`FetchError::NotStarted`].
    pub async fn trie_nodes_until(
        &self,
        request: TrieNodesRequest,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<VerifiedTrieNodes, FetchError> {
        request.to_message(0).map_err(FetchError::InvalidRequest)?;
        self.fetch(request, stop).await
    }

    /// Attempts `request` on one peer after another until a reply verifies.
    ///
    /// When [`PeerSet::hedge`] finds it worth it, the same request also goes to another peer:
    /// once the attempt is taken for lost ([overdue](Lease::overdue_at)), so a stalled peer's
    /// work is taken over without waiting for its timeout; or, when no other request waits for
    /// a peer, once an idle peer would deliver it in under half the time its peer still needs,
    /// so a slow peer's last responses do not hold up the end of the work. This is looked at
    /// whenever a lease is handed back (a peer may have room), when the attempt becomes
    /// overdue, and every [`HEDGE_POLL`]. The first reply that verifies wins; the other
    /// attempt is dropped (its reply still checked if it is in); one taken for lost runs on
    /// until its own reply or deadline and is judged on that (see
    /// [`drop_attempt`](Self::drop_attempt)).
    ///
    /// If `stop` completes while the first attempt waits for its peer, the request is given up
    /// unsent ([`FetchError::NotStarted`]); later attempts (after a failure) do not look at it,
    /// so a failing request still fails after its attempts.
    async fn fetch<R: Exchange>(
        &self,
        request: R,
        stop: impl Future<Output = ()>,
    ) -> Result<R::Verified, FetchError> {
        let mut stop = std::pin::pin!(stop);
        let key = request.availability_key();
        let mut last_problem = String::from("no attempt made");
        let mut attempts = 0;
        // Whether the first attempt was taken for lost when the hedge in flight was sent.
        let mut first_lost = false;
        let mut primary: Option<Attempt<R>> = None;
        let mut hedge: Option<Attempt<R>> = None;
        loop {
            let current = match (primary.take(), hedge.take()) {
                (Some(primary), hedge) => (primary, hedge),
                // The hedge outlived the primary: it is the attempt now.
                (None, Some(hedge)) => (hedge, None),
                (None, None) => {
                    if attempts >= self.config.max_attempts {
                        let error = FetchError::AttemptsExhausted {
                            kind: R::KIND,
                            attempts: self.config.max_attempts,
                            last: last_problem,
                        };
                        metrics::abandoned(R::KIND, &error);
                        return Err(error);
                    }
                    let stop = (attempts == 0).then_some(stop.as_mut());
                    let lease = match self.lease(R::KIND, key, stop).await {
                        Ok(lease) => lease,
                        Err(error) => {
                            if key.is_blocks() {
                                // Blocks a peer lacked may reach it later: the next request
                                // for them asks every peer again.
                                self.ledger.settle(|peers| peers.forget_unavailable(key));
                            }
                            metrics::abandoned(R::KIND, &error);
                            return Err(error);
                        }
                    };
                    attempts += 1;
                    (self.start(&request, lease, None), None)
                }
            };
            let (mut first, mut second) = current;
            let hedging =
                self.config.hedge && second.is_none() && attempts < self.config.max_attempts;
            let now = Instant::now();
            let check_at = first
                .lease()
                .overdue_at()
                .filter(|at| *at > now)
                .map_or(now + HEDGE_POLL, |overdue| overdue.min(now + HEDGE_POLL));
            let released = self.ledger.released.notified();
            let event = tokio::select! {
                done = &mut first.future => Event::First(done),
                done = async {
                    match second.as_mut() {
                        Some(attempt) => attempt.future.as_mut().await,
                        None => std::future::pending().await,
                    }
                }, if second.is_some() => Event::Second(done),
                () = released, if hedging => Event::HedgeCheck,
                () = sleep_until(check_at), if hedging => Event::HedgeCheck,
            };
            match event {
                Event::HedgeCheck => {
                    let now = Instant::now();
                    let others_waiting = self.waiting.load(Ordering::Relaxed) > 0;
                    // With work waiting only a lost attempt is hedged, and a measured one is
                    // not lost before it is overdue: no need to ask.
                    let in_time = first.lease().overdue_at().is_some_and(|overdue| now < overdue);
                    let found = if others_waiting && in_time {
                        None
                    } else {
                        self.ledger.peer_set().hedge(first.lease(), now, others_waiting)
                    };
                    if let Some(Hedge { lease, lost }) = found {
                        attempts += 1;
                        first_lost = lost;
                        debug!(
                            target: "sync::snap::fetch",
                            slow = %first.lease().peer(),
                            hedge = %lease.peer(),
                            kind = ?R::KIND,
                            lost,
                            "request sent to another peer too"
                        );
                        second = Some(self.start(&request, lease, Some(lost)));
                    }
                    (primary, hedge) = (Some(first), second);
                }
                Event::First(done) => {
                    let first_hedge = first.hedge;
                    match self.ledger.conclude(first.into_lease(), done) {
                        Ok(data) => {
                            if first_hedge {
                                metrics::hedge_won(R::KIND);
                            }
                            if let Some(other) = second {
                                self.drop_attempt(other, false);
                            }
                            return Ok(data);
                        }
                        Err(problem) => last_problem = problem,
                    }
                    (primary, hedge) = (second, None);
                }
                Event::Second(done) => {
                    if let Some(won) = second {
                        match self.ledger.conclude(won.into_lease(), done) {
                            Ok(data) => {
                                metrics::hedge_won(R::KIND);
                                self.drop_attempt(first, first_lost);
                                return Ok(data);
                            }
                            Err(problem) => last_problem = problem,
                        }
                    }
                    (primary, hedge) = (Some(first), None);
                }
            }
        }
    }

    /// Sends `request`, with `lease`'s budget, to `lease`'s peer, bounded by its deadline;
    /// `hedge` as for [`metrics::sent`].
    fn start<R: Exchange>(&self, request: &R, lease: Lease, hedge: Option<bool>) -> Attempt<R> {
        metrics::sent(R::KIND, hedge);
        let mut request = request.clone();
        request.set_budget(lease.response_bytes());
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (requests, peer, deadline) =
            (Arc::clone(&self.requests), lease.peer(), lease.deadline());
        let message = request.message(id);
        let future = Box::pin(async move {
            let reply = requests.send(peer, message, deadline);
            let outcome = timeout_at(deadline, reply).await;
            // The arrival, before verification: the link estimate must not count our CPU.
            let arrived = Instant::now();
            Done { request, outcome: outcome.ok(), arrived }
        });
        Attempt {
            ledger: Arc::clone(&self.ledger),
            lease: Some(lease),
            future,
            hedge: hedge.is_some(),
        }
    }

    /// Abandons `attempt` after the other one verified. A reply already in is still
    /// concluded (so a hostile peer is caught even when another peer answered first). An
    /// attempt taken for `lost` is not judged on that guess: it keeps its lease and runs on
    /// in its own task until its reply or its deadline, and is concluded on what it gets (a
    /// peer that is merely slow is measured, not rested; one that never answers still times
    /// out, at its deadline; one that lies is still banned). Any other is cancelled.
    fn drop_attempt<R: Exchange>(&self, mut attempt: Attempt<R>, lost: bool) {
        let mut context = Context::from_waker(Waker::noop());
        if let Poll::Ready(done) = attempt.future.as_mut().poll(&mut context) {
            // Verified or not, the data is not needed: only the peer's record changes.
            let _ = self.ledger.conclude(attempt.into_lease(), done);
            return;
        }
        if !lost {
            // Dropped with its lease: cancelled.
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let ledger = Arc::clone(&self.ledger);
                // Bounded: the attempt ends by its lease's deadline.
                runtime.spawn(async move {
                    let mut attempt = attempt;
                    let done = attempt.future.as_mut().await;
                    let _ = ledger.conclude(attempt.into_lease(), done);
                });
            }
            // Not on a runtime (a caller polling by hand): nothing can run it on, so the
            // guess stands.
            Err(_) => {
                self.ledger.on_timeout(attempt.into_lease(), R::KIND);
            }
        }
        // Otherwise dropped with its lease: cancelled.
    }

    /// Waits for a peer that can take a `kind` request for `key`: woken when a lease is
    /// handed back, when the peer set predicts a peer's link will have room, or at the latest
    /// after the idle poll. Gives up without a lease once `stop` (if any) has completed.
    async fn lease<S: Future<Output = ()>>(
        &self,
        kind: RequestKind,
        key: Availability,
        mut stop: Option<Pin<&mut S>>,
    ) -> Result<Lease, FetchError> {
        let started = Instant::now();
        let _waiting = Waiting::new(&self.waiting);
        loop {
            let released = self.ledger.released.notified();
            tokio::pin!(released);
            // Registered before looking, so a lease handed back meanwhile still wakes us.
            released.as_mut().enable();
            let connected = self.ledger.source.peers();
            let now = Instant::now();
            if has_completed(&mut stop) {
                return Err(FetchError::NotStarted { kind, waited: now - started });
            }
            let wake = {
                let mut peers = self.ledger.peer_set();
                peers.sync_peers(&connected);
                metrics::peers(&peers, connected.len(), now);
                if let Some(lease) = peers.acquire(kind, key, now) {
                    return Ok(lease);
                }
                if peers.peers_serving(key) == 0 {
                    return Err(FetchError::NoPeerServes { kind, key });
                }
                let poll = now + self.config.idle_poll;
                peers.next_opening(key, now).map_or(poll, |opening| opening.min(poll))
            };
            if now.duration_since(started) >= self.config.peer_wait {
                return Err(FetchError::NoPeerAvailable { kind, waited: now - started });
            }
            tokio::select! {
                () = &mut released => {}
                () = sleep_until(wake) => {}
                () = async {
                    match stop.as_mut() {
                        Some(stop) => stop.as_mut().await,
                        None => std::future::pending().await,
                    }
                } => return Err(FetchError::NotStarted { kind, waited: Instant::now() - started }),
            }
        }
    }

    /// Verified headers falling from `request.from`: a reply whose headers link by hash from
    /// the requested hash down ([`verify_block_headers`]), possibly shorter than asked, never
    /// empty. Peers are leased, timed out, rested, marked (an empty reply: the peer lacks the
    /// block), banned and reported exactly as for snap requests.
    ///
    /// # Errors
    /// As [`Fetcher::account_range`]; [`FetchError::NoPeerServes`] when no peer has the
    /// blocks (the marks are then forgotten, so a later request asks every peer again).
    pub async fn block_headers(
        &self,
        request: BlockHeadersRequest,
    ) -> Result<VerifiedHeaders, FetchError> {
        self.fetch(request, std::future::pending()).await
    }

    /// Verified bodies of a prefix (at least the first) of `request`'s blocks, each matching
    /// its header ([`verify_block_bodies`]). Peers are handled as for
    /// [`block_headers`](Self::block_headers).
    ///
    /// # Errors
    /// As [`block_headers`](Self::block_headers).
    pub async fn block_bodies(
        &self,
        request: BlockBodiesRequest,
    ) -> Result<VerifiedBodies, FetchError> {
        self.fetch(request, std::future::pending()).await
    }

    /// Verified receipts of a prefix (at least the first) of `request`'s blocks, each block's
    /// making its header's receipts root ([`verify_block_receipts`]). Peers are handled as for
    /// [`block_headers`](Self::block_headers).
    ///
    /// # Errors
    /// As [`block_headers`](Self::block_headers).
    pub async fn block_receipts(
        &self,
        request: BlockReceiptsRequest,
    ) -> Result<VerifiedReceipts, FetchError> {
        self.fetch(request, std::future::pending()).await
    }
}

/// The peer set and everything an attempt's outcome touches: the leases handed back (waking
/// the requests waiting for a peer) and the peers reported to the client.
struct Ledger {
    source: Arc<dyn PeerSource>,
    peers: Mutex<PeerSet>,
    /// Notified whenever a lease is handed back: requests waiting for a peer look again.
    released: Notify,
}

impl Ledger {
    /// Verifies an attempt's reply and hands its lease back with the outcome: the data, or
    /// why there is none.
    fn conclude<R: Exchange>(&self, lease: Lease, done: Done<R>) -> Result<R::Verified, String> {
        let Done { request, outcome, arrived } = done;
        match outcome {
            None => Err(self.on_timeout(lease, R::KIND)),
            Some(Err(error)) => Err(self.on_request_error(lease, R::KIND, &error)),
            Some(Ok(reply)) => {
                let bytes = R::reply_bytes(&reply.data);
                match request.verify(reply.data) {
                    Ok(Answer::Verified(data)) => {
                        metrics::verified(R::KIND, bytes, lease.elapsed(arrived));
                        self.settle(|peers| peers.complete(lease, bytes, arrived));
                        Ok(data)
                    }
                    Ok(Answer::Unavailable) => Err(self.on_empty(lease, R::KIND, arrived)),
                    Err(fault) => Err(self.on_invalid(lease, R::KIND, fault)),
                }
            }
        }
    }

    /// Hands a lease back through `hand_back` and wakes the requests waiting for a peer.
    fn settle<T>(&self, hand_back: impl FnOnce(&mut PeerSet) -> T) -> T {
        let outcome = hand_back(&mut self.peer_set());
        self.released.notify_waiters();
        outcome
    }

    fn on_timeout(&self, lease: Lease, kind: RequestKind) -> String {
        let (peer, elapsed) = (lease.peer(), lease.elapsed(Instant::now()));
        debug!(target: "sync::snap::fetch", %peer, %kind, ?elapsed, "request timed out");
        metrics::timed_out(kind);
        self.settle(|peers| peers.timed_out(lease, Instant::now()));
        self.report(peer, Penalty::Timeout { kind, elapsed });
        format!("peer {peer} timed out after {elapsed:?}")
    }

    /// A request the network could not complete: the peer rests; a timeout the network saw
    /// is reported as one, an answer it could not decode as invalid data.
    fn on_request_error(&self, lease: Lease, kind: RequestKind, error: &RequestError) -> String {
        let peer = lease.peer();
        debug!(target: "sync::snap::fetch", %peer, %kind, %error, "request failed");
        metrics::failed(kind);
        self.settle(|peers| peers.failed(lease, Instant::now()));
        let penalty = match error {
            RequestError::Timeout { elapsed, .. } => {
                Some(Penalty::Timeout { kind, elapsed: *elapsed })
            }
            RequestError::InvalidResponse { .. } | RequestError::WrongResponse { .. } => {
                Some(Penalty::InvalidData { kind, fault: Fault::Malformed })
            }
            _ => None,
        };
        if let Some(penalty) = penalty {
            self.report(peer, penalty);
        }
        error.to_string()
    }

    fn on_empty(&self, lease: Lease, kind: RequestKind, arrived: Instant) -> String {
        let (peer, key) = (lease.peer(), lease.availability());
        debug!(target: "sync::snap::fetch", %peer, %kind, %key, "peer lacks what was asked");
        metrics::unavailable(kind);
        self.settle(|peers| peers.unavailable(lease, arrived));
        self.report(peer, Penalty::Unavailable { kind, key });
        format!("peer {peer} does not serve the {key}")
    }

    fn on_invalid(&self, lease: Lease, kind: RequestKind, fault: Fault) -> String {
        let peer = lease.peer();
        warn!(target: "sync::snap::fetch", %peer, %kind, %fault, "invalid reply, banning peer");
        let problem = format!("peer {peer} sent invalid data: {fault}");
        self.settle(|peers| {
            peers.failed(lease, Instant::now());
            let banned = peers.ban(peer, kind, fault.clone());
            metrics::invalid(kind, &fault, banned, peers.banned().count());
        });
        self.report(peer, Penalty::InvalidData { kind, fault });
        problem
    }

    /// Tells the client about `peer`'s `penalty`.
    fn report(&self, peer: PeerId, penalty: Penalty) {
        metrics::penalty(&penalty);
        self.source.report(peer, penalty);
    }

    fn peer_set(&self) -> MutexGuard<'_, PeerSet> {
        // A panic while holding the lock leaves the peer set as consistent as any single call
        // does (each is one short update), so a poisoned lock is safe to keep using.
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `stop` is there and has completed. It is polled at most until it completes: a caller
/// seeing `true` returns without polling it again.
fn has_completed<S: Future<Output = ()>>(stop: &mut Option<Pin<&mut S>>) -> bool {
    let Some(stop) = stop else { return false };
    let mut context = Context::from_waker(Waker::noop());
    stop.as_mut().poll(&mut context).is_ready()
}

/// One attempt of a request: its lease, and the request on its way to the lease's peer.
///
/// Dropped while it still holds its lease — the caller dropped the request's future before it
/// finished, as a sync does with the requests of work it gave up — it hands the lease back as
/// cancelled, so the peer's slot is not lost.
struct Attempt<R: Exchange> {
    ledger: Arc<Ledger>,
    /// Always `Some` until [`into_lease`](Self::into_lease) consumes the attempt.
    lease: Option<Lease>,
    future: Pin<Box<dyn Future<Output = Done<R>> + Send + 'static>>,
    /// Whether it is a hedge.
    hedge: bool,
}

impl<R: Exchange> Attempt<R> {
    /// The attempt's lease.
    fn lease(&self) -> &Lease {
        // Only `into_lease` takes the lease out, and it consumes the attempt.
        #[allow(clippy::expect_used)]
        self.lease.as_ref().expect("an attempt holds its lease until it is consumed")
    }

    /// The lease, to hand back with the attempt's outcome.
    fn into_lease(mut self) -> Lease {
        // Only here is the lease taken out, and `self` is consumed by it.
        #[allow(clippy::expect_used)]
        self.lease.take().expect("an attempt holds its lease until it is consumed")
    }
}

impl<R: Exchange> Drop for Attempt<R> {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            metrics::cancelled(R::KIND);
            self.ledger.settle(|peers| peers.cancel(lease));
        }
    }
}

/// A finished attempt: the request as sent (with its budget), the reply (`None`: timed out)
/// and when it arrived.
struct Done<R: Exchange> {
    request: R,
    outcome: Option<PeerResult<R::Reply>>,
    arrived: Instant,
}

/// What the fetch loop woke up for.
enum Event<R: Exchange> {
    First(Done<R>),
    Second(Done<R>),
    /// Time to see whether the first attempt is worth hedging.
    HedgeCheck,
}

/// Counts a request waiting for a peer while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request kind, as the fetch loop needs it.
trait Exchange: Clone + Send + Sync + 'static {
    /// The wire message it is sent as.
    type Message: Message<Reply = Self::Reply> + Send;
    type Reply: Encodable + Send;
    type Verified;
    const KIND: RequestKind;

    /// What an empty reply says the peer lacks, so that it is not asked again for it: the
    /// state root, a key of a bytecode batch (a peer lacking some codes may well have others),
    /// the blocks asked.
    fn availability_key(&self) -> Availability;

    /// Puts the lease's response budget into the request (eth block requests have none: their
    /// size is their count).
    fn set_budget(&mut self, bytes: u64);
    /// The message to send, with request id `id` (snap requests carry one).
    fn message(&self, id: u64) -> Self::Message;

    /// The reply checked against the request.
    fn verify(&self, reply: Self::Reply) -> Result<Answer<Self::Verified>, Fault>;

    /// The reply's size on the wire, for the peer's link estimate.
    fn reply_bytes(reply: &Self::Reply) -> u64 {
        reply.length() as u64
    }
}

impl Exchange for AccountRangeRequest {
    type Message = GetAccountRange;
    type Reply = AccountRange;
    type Verified = VerifiedAccountRange;
    const KIND: RequestKind = RequestKind::AccountRange;

    fn availability_key(&self) -> Availability {
        Availability::State(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn message(&self, id: u64) -> GetAccountRange {
        self.to_message(id)
    }

    fn verify(&self, reply: AccountRange) -> Result<Answer<VerifiedAccountRange>, Fault> {
        verify_account_range(self, reply).map_err(Fault::Snap)
    }
}

impl Exchange for StorageRangesRequest {
    type Message = GetStorageRanges;
    type Reply = StorageRanges;
    type Verified = VerifiedStorageRanges;
    const KIND: RequestKind = RequestKind::StorageRanges;

    fn availability_key(&self) -> Availability {
        Availability::State(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn message(&self, id: u64) -> GetStorageRanges {
        self.to_message(id)
    }

    fn verify(&self, reply: StorageRanges) -> Result<Answer<VerifiedStorageRanges>, Fault> {
        verify_storage_ranges(self, reply).map_err(Fault::Snap)
    }
}

impl Exchange for ByteCodesRequest {
    type Message = GetByteCodes;
    type Reply = ByteCodes;
    type Verified = VerifiedByteCodes;
    const KIND: RequestKind = RequestKind::ByteCodes;

    fn availability_key(&self) -> Availability {
        let mut hashes = Vec::with_capacity(32 * self.hashes.len());
        self.hashes.iter().for_each(|hash| hashes.extend_from_slice(hash.as_slice()));
        Availability::Codes(alloy_primitives::keccak256(hashes))
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn message(&self, id: u64) -> GetByteCodes {
        self.to_message(id)
    }

    fn verify(&self, reply: ByteCodes) -> Result<Answer<VerifiedByteCodes>, Fault> {
        verify_byte_codes(self, reply).map_err(Fault::Snap)
    }
}

impl Exchange for TrieNodesRequest {
    type Message = GetTrieNodes;
    type Reply = TrieNodes;
    type Verified = VerifiedTrieNodes;
    const KIND: RequestKind = RequestKind::TrieNodes;

    fn availability_key(&self) -> Availability {
        Availability::State(self.root)
    }

    fn set_budget(&mut self, bytes: u64) {
        self.response_bytes = bytes;
    }

    fn message(&self, id: u64) -> GetTrieNodes {
        // `Fetcher::trie_nodes` checked that the request encodes; an empty path list is what
        // an unencodable request would become, and servers reject it.
        self.to_message(id).unwrap_or_else(|_| snapsync_primitives::GetTrieNodes {
            request_id: id,
            root_hash: self.root,
            paths: Vec::new(),
            response_bytes: self.response_bytes,
        })
    }

    fn verify(&self, reply: TrieNodes) -> Result<Answer<VerifiedTrieNodes>, Fault> {
        verify_trie_nodes(self, reply).map_err(Fault::Snap)
    }
}

impl Exchange for BlockHeadersRequest {
    type Message = HeadersRequest;
    type Reply = Vec<Header>;
    type Verified = VerifiedHeaders;
    const KIND: RequestKind = RequestKind::BlockHeaders;

    fn availability_key(&self) -> Availability {
        self.availability()
    }

    fn set_budget(&mut self, _bytes: u64) {}

    fn message(&self, _id: u64) -> HeadersRequest {
        self.to_message()
    }

    fn verify(&self, reply: Vec<Header>) -> Result<Answer<VerifiedHeaders>, Fault> {
        verify_block_headers(self, reply).map_err(Fault::Headers)
    }
}

impl Exchange for BlockBodiesRequest {
    type Message = BodiesRequest;
    type Reply = Vec<EthBlockBody>;
    type Verified = VerifiedBodies;
    const KIND: RequestKind = RequestKind::BlockBodies;

    fn availability_key(&self) -> Availability {
        self.availability()
    }

    fn set_budget(&mut self, _bytes: u64) {}

    fn message(&self, _id: u64) -> BodiesRequest {
        BodiesRequest { hashes: self.hashes() }
    }

    fn verify(&self, reply: Vec<EthBlockBody>) -> Result<Answer<VerifiedBodies>, Fault> {
        verify_block_bodies(self, reply).map_err(Fault::Bodies)
    }
}

impl Exchange for BlockReceiptsRequest {
    type Message = ReceiptsRequest;
    type Reply = Vec<Vec<EthReceipt>>;
    type Verified = VerifiedReceipts;
    const KIND: RequestKind = RequestKind::Receipts;

    fn availability_key(&self) -> Availability {
        self.availability()
    }

    fn set_budget(&mut self, _bytes: u64) {}

    fn message(&self, _id: u64) -> ReceiptsRequest {
        ReceiptsRequest { hashes: self.hashes() }
    }

    fn verify(&self, reply: Vec<Vec<EthReceipt>>) -> Result<Answer<VerifiedReceipts>, Fault> {
        verify_block_receipts(self, reply).map_err(Fault::Receipts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_config_bounds_name_the_field() {
        assert_eq!(FetchConfig::default().validate(), Ok(()));
        let none = FetchConfig { max_attempts: 0, ..FetchConfig::default() };
        assert_eq!(none.validate(), Err(ConfigError::Zero { field: "max_attempts" }));
        let many = FetchConfig { max_attempts: 1025, ..FetchConfig::default() };
        assert!(matches!(
            many.validate(),
            Err(ConfigError::TooLarge { field: "max_attempts", .. })
        ));
        let at_limit = FetchConfig {
            max_attempts: 1024,
            peer_wait: Duration::from_secs(3600),
            ..FetchConfig::default()
        };
        assert_eq!(at_limit.validate(), Ok(()));
        let long = FetchConfig { peer_wait: Duration::from_secs(3601), ..FetchConfig::default() };
        assert!(matches!(long.validate(), Err(ConfigError::TooLong { field: "peer_wait", .. })));
        let busy = FetchConfig { idle_poll: Duration::ZERO, ..FetchConfig::default() };
        assert_eq!(busy.validate(), Err(ConfigError::Zero { field: "idle_poll" }));
    }
}
