//! The client side of snap/1 and of eth block requests: which peer gets which request
//! (scheduling and peer scoring, the [`PeerSet`]), and every reply a peer sends turned into
//! either verified data or a typed reason to penalise that peer (the `verify_*` functions), put
//! to work by the [`Fetcher`]. "Where is peer scoring?": here. The interfaces to the embedding
//! network ([`PeerSource`](snapsync_net::PeerSource),
//! [`PeerRequests`](snapsync_net::PeerRequests)) are in `snapsync-net`.
//!
//! # Verification
//!
//! Nothing a peer sends is trusted. Each request kind has a request type that records what was
//! asked (the root, the bounds, the byte budget, the hashes expected) and a `verify_*` function
//! that checks a reply against it:
//!
//! | request | checks | verified as |
//! |---|---|---|
//! | [`AccountRangeRequest`] | range proof against the state root, budget | [`VerifiedAccountRange`] |
//! | [`StorageRangesRequest`] | each slot set against its account's storage root (only the last may carry a proof), budget, no extra sets | [`VerifiedStorageRanges`] |
//! | [`ByteCodesRequest`] | every code hashes to a requested hash, in request order | [`VerifiedByteCodes`] |
//! | [`TrieNodesRequest`] | every node hashes to the hash expected at its path | [`VerifiedTrieNodes`] |
//! | [`BlockHeadersRequest`] | headers falling from the requested hash, each hashing to its child's parent hash, numbered one below it | [`VerifiedHeaders`] |
//! | [`BlockBodiesRequest`] | each body matches its header's transactions root, ommers hash and withdrawals root | [`VerifiedBodies`] |
//!
//! The verified types have private fields and no constructor other than their `verify_*`
//! function, so code that holds one holds data proven against a trusted root or hash. An empty
//! reply is [`Answer::Unavailable`]: the peer does not have that state (peers keep ~128 recent
//! roots) or those blocks, which is not misbehaviour. Everything else wrong is a fault
//! ([`InvalidResponse`] for snap replies, [`HeadersFault`](snapsync_net::HeadersFault),
//! [`BodiesFault`](snapsync_net::BodiesFault)), which proves the peer sent bad data.
//!
//! # Fetching
//!
//! The [`Fetcher`] puts this to work: it reconciles its [`PeerSet`] with the embedder's
//! [`PeerSource::peers`](snapsync_net::PeerSource::peers), leases the best peer that speaks
//! the request's protocol (snap requests to snap peers, headers and bodies to eth peers), sends
//! the request through the embedder's [`PeerRequests`](snapsync_net::PeerRequests) with the
//! lease's deadline, verifies the reply, penalises the peer when it fails (reporting the typed
//! [`Fault`]), and tries the next peer until a reply verifies.
//!
//! # The peer set
//!
//! - The [`Fetcher`] (or any other driver) reconciles the [`PeerSet`] with the connected peers
//!   ([`PeerSet::sync_peers`]), with their [`Capabilities`].
//! - For each piece of work, [`PeerSet::acquire`] grants a [`Lease`]: the peer, the response
//!   byte budget to put in the request and the deadline to wait until.
//! - The outcome goes back to the peer set ([`PeerSet::complete`], [`PeerSet::timed_out`],
//!   [`PeerSet::failed`], [`PeerSet::unavailable`], [`PeerSet::ban`]), which updates the
//!   peer's estimates, backoff and marks; misbehaviour also goes to the network through
//!   [`PeerSource::report`](snapsync_net::PeerSource::report) as a
//!   [`Penalty`](snapsync_net::Penalty).
//!
//! The peer set is plain bookkeeping with time passed in as [`tokio::time::Instant`]s: no
//! I/O, no clock reads, deterministic under paused tokio time and in simulations.
//!
//! ```
//! use alloy_primitives::B256;
//! use snapsync_fetch::{LeaseStatus, PeerSet, PeerSetConfig};
//! use snapsync_net::{PeerId, RequestKind};
//! use tokio::time::{Duration, Instant};
//!
//! let mut peers = PeerSet::new(PeerSetConfig::default())?;
//! peers.sync_peers(&[PeerId::from_index(1), PeerId::from_index(2)]); // PeerSource::peers()
//! let root = B256::repeat_byte(0xab);
//! peers.set_pivot_root(root);
//!
//! let now = Instant::now();
//! let lease = peers.acquire(RequestKind::AccountRange, root, now).expect("an idle peer");
//! // Send GetAccountRange { response_bytes: lease.response_bytes(), .. } to lease.peer()
//! // through PeerRequests, bounded by lease.deadline(); verify the response; then:
//! let status = peers.complete(lease, 60_000, now + Duration::from_millis(150));
//! assert_eq!(status, LeaseStatus::Settled);
//! # Ok::<(), snapsync_fetch::ConfigError>(())
//! ```
//!
//! # Scheduling
//!
//! The goal is to keep every peer's link full. A link is one pipe: a response needs the link's
//! latency `L` before its first byte, then its bytes at the link's rate `B`, and responses
//! cross it one after another. Per peer, the peer set measures `B` (delivery-rate samples of
//! responses queued behind one another, as BBR does) and `L` (responses that were not
//! queued), shared by all request kinds; per request kind, over all peers, it learns how large
//! responses turn out (a storage batch of small contracts, the end of a range, carry less than
//! their budget). It predicts when each outstanding response will have crossed the link (first
//! in, first out), and from that, with `T = target_round_trip` and the other settings of
//! [`PeerSetConfig`]:
//!
//! | | rule | effect |
//! |---|---|---|
//! | budget | `clamp(B × T, min_request_bytes, max_request_bytes)` | a response takes about `T` on the link; pipelining hides the latency |
//! | pipelining | a peer takes another request while fewer than 2 are in flight, or once its queued responses will have crossed within `L + pipeline_slack` | the next response is on its way before the link runs dry: about `1 + L·B / size` in flight, up to `max_in_flight_per_peer` |
//! | choice | the peer that would deliver the request's expected bytes at the highest rate, counting the wait for its queue and latency; unmeasured peers first | faster and less loaded peers get more work; a slow one gets a request only when the fast ones are full |
//! | timeout | `clamp(timeout_rtt_multiple × (wait for the queue + L + budget / B), timeout_min, timeout_max)` | a response queued behind others is given their time too |
//! | overdue | twice that time (without the multiple), at least `timeout_min / 2` | the peer gets no new request until it answers, and the request is sent to another peer as well ([`PeerSet::hedge`]) |
//! | tail hedge | with no request waiting for a peer, an idle peer would deliver a request in under half the time its peer still needs | a slow peer's last responses do not hold up the end of the work |
//! | backoff | `min(backoff_base × 2^(failures − 1), backoff_cap)` | after each consecutive timeout or failure |
//!
//! A peer not yet measured gets four probes of `min_request_bytes` at once per protocol (eth,
//! snap/1; the second response, queued behind the first, measures the rate) with the
//! `timeout_max` timeout. A
//! timeout halves `B`.
//!
//! The fetcher records what it sees of its peers (requests by kind and outcome, timeouts,
//! hedges, bans, penalties, peer counts) as `snapsync_peers_*` metrics through the `metrics`
//! facade; [`METRIC_NAMES`] lists them, [`describe_metrics`] describes them, and
//! `docs/metrics.md` documents them.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod account_list;
mod accounts;
mod answer;
mod backoff;
mod block_request;
mod bodies;
mod budget;
mod bytecodes;
mod config;
mod error;
mod estimate;
mod fetcher;
mod headers;
mod lease;
mod metrics;
mod peer_set;
mod peer_state;
mod receipts;
mod stats;
mod storage;
mod trie_nodes;

// The net types the scheduler's modules name as `crate::…`.
use snapsync_net::{Availability, Capabilities, Fault, PeerId, PeerInfo, RequestKind};

pub use account_list::{AccountList, AccountListIter};
pub use accounts::{AccountRangeRequest, VerifiedAccountRange, verify_account_range};
pub use answer::Answer;
pub use block_request::{
    BlockBodiesRequest, BlockPart, BlockReceiptsRequest, BlockRequest, BodiesPart, ReceiptsPart,
};
pub use bodies::{VerifiedBodies, verify_block_bodies, verify_body};
pub use bytecodes::{ByteCodesRequest, VerifiedByteCodes, verify_byte_codes};
pub use config::PeerSetConfig;
pub use error::{ConfigError, FetchError};
pub use fetcher::{FetchConfig, Fetcher};
pub use headers::{BlockHeadersRequest, VerifiedHeaders, verify_block_headers};
pub use lease::{Lease, LeaseId, LeaseStatus};
pub use metrics::{METRIC_NAMES, describe_metrics, fault_label, kind_label};
pub use peer_set::{Ban, Hedge, PeerChanges, PeerSet};
pub use receipts::{VerifiedReceipts, verify_block_receipts, verify_receipts};
pub use snapsync_net::InvalidResponse;
pub use stats::{KindStats, PeerStats};
pub use storage::{
    StorageRangesRequest, StorageTarget, VerifiedStorage, VerifiedStorageRanges,
    verify_storage_ranges,
};
pub use trie_nodes::{NodeTarget, TrieNodesRequest, VerifiedTrieNodes, verify_trie_nodes};
