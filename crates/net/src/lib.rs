//! How snapsync talks to peers: the client traits the embedding execution client implements,
//! and the [`PeerSet`] that decides which peer gets which request.
//!
//! # Why
//!
//! snapsync never opens a socket. The embedding client already runs devp2p (discovery, RLPx,
//! the eth and snap capabilities, its peer reputation), and a second network stack would
//! fight it for peers. So the embedder's network only *transports*: it implements
//! [`SnapClient`], [`HeadersClient`] and [`BodiesClient`], sending one message to one named
//! peer and returning its answer.
//!
//! The *scheduling* stays in snapsync, because good snap sync scheduling depends on what only
//! the sync knows: which state root is being downloaded, which peers answered it with empty
//! responses, which responses failed verification, and how much each peer delivers for each
//! kind of request. Hence every request is addressed to a [`PeerId`] chosen by the sync, and
//! every response comes back [`WithPeer`], so the sync can credit or blame the peer.
//!
//! # How
//!
//! - [`SnapClient::peers`] lists the connected snap peers; the sync reconciles its
//!   [`PeerSet`] with it ([`PeerSet::sync_peers`]).
//! - For each piece of work, [`PeerSet::acquire`] grants a [`Lease`]: the peer, the response
//!   byte budget to put in the request and the deadline to wait until.
//! - The outcome goes back to the peer set ([`PeerSet::complete`], [`PeerSet::timed_out`],
//!   [`PeerSet::failed`], [`PeerSet::unavailable`], [`PeerSet::ban`]), which updates the
//!   peer's estimates, backoff and marks; misbehaviour also goes to the network through
//!   [`SnapClient::report`] as a [`Penalty`].
//!
//! The peer set is plain bookkeeping with time passed in as [`tokio::time::Instant`]s: no
//! I/O, no clock reads, deterministic under paused tokio time and in simulations.
//!
//! ```
//! use alloy_primitives::B256;
//! use snapsync_net::{LeaseStatus, PeerId, PeerSet, PeerSetConfig, RequestKind};
//! use tokio::time::{Duration, Instant};
//!
//! let mut peers = PeerSet::new(PeerSetConfig::default())?;
//! peers.sync_peers(&[PeerId::from_index(1), PeerId::from_index(2)]); // SnapClient::peers()
//! let root = B256::repeat_byte(0xab);
//! peers.set_pivot_root(root);
//!
//! let now = Instant::now();
//! let lease = peers.acquire(RequestKind::AccountRange, root, now).expect("an idle peer");
//! // Send GetAccountRange { response_bytes: lease.response_bytes(), .. } to lease.peer()
//! // through the SnapClient, bounded by lease.deadline(); verify the response; then:
//! let status = peers.complete(lease, 60_000, now + Duration::from_millis(150));
//! assert_eq!(status, LeaseStatus::Settled);
//! # Ok::<(), snapsync_net::ConfigError>(())
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
//! A peer not yet measured gets four probes of `min_request_bytes` at once (the second
//! response, queued behind the first, measures the rate) with the `timeout_max` timeout. A
//! timeout halves `B`.

mod availability;
mod backoff;
mod bodies;
mod config;
mod error;
mod estimate;
mod fault;
mod headers;
mod kind;
mod lease;
mod peer_id;
mod peer_set;
mod peer_state;
mod penalty;
mod snap_client;
mod stats;

#[cfg(test)]
mod mock;

pub use availability::Availability;
pub use bodies::{BodiesClient, EthBlockBody};
pub use config::PeerSetConfig;
pub use error::{ConfigError, RequestError};
pub use fault::{BodiesFault, BodyField, BodyMismatch, Fault, HeadersFault, InvalidResponse};
pub use headers::{BlockHashOrNumber, HeadersClient, HeadersDirection, HeadersRequest};
pub use kind::RequestKind;
pub use lease::{Lease, LeaseId, LeaseStatus};
pub use peer_id::{PeerId, WithPeer};
pub use peer_set::{Ban, Hedge, PeerChanges, PeerSet};
pub use penalty::Penalty;
pub use snap_client::{PeerResult, SnapClient};
pub use stats::{KindStats, PeerStats};
