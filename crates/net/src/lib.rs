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
//!   [`PeerSet::failed`], [`PeerSet::empty_for_root`], [`PeerSet::ban`]), which updates the
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
//! Per peer and [`RequestKind`], the peer set keeps EWMAs of the throughput `tp` (response
//! bytes over the time from lease to response) and the round trip `rtt`. With
//! `T = target_round_trip` and the other settings of [`PeerSetConfig`]:
//!
//! | | formula | effect |
//! |---|---|---|
//! | budget | `clamp(tp × T, min_request_bytes, max_request_bytes)` | a request takes about `T`; with latency `L` and bandwidth `B` it settles at `B × (T − L)` |
//! | in flight | `clamp(⌈tp × T / max_request_bytes⌉, 1, max_in_flight_per_peer)` | pipelining once a maximal request carries less than a target round trip's worth |
//! | timeout | `clamp(timeout_rtt_multiple × max(rtt, budget / tp), timeout_min, timeout_max)` | a multiple of the time the request should take |
//! | backoff | `min(backoff_base × 2^(failures − 1), backoff_cap)` | after each consecutive timeout or failure |
//! | choice | highest `tp / (in_flight_of_kind + 1)`, unmeasured peers first | faster peers get proportionally more work |
//!
//! A peer not yet measured for a kind gets one request of `min_request_bytes` with the
//! `timeout_max` timeout. A timeout halves `tp`; a response under half its budget can raise
//! `tp` but not lower it (it may have run out of data, not bandwidth).

mod backoff;
mod bodies;
mod config;
mod error;
mod estimate;
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

pub use bodies::{BodiesClient, EthBlockBody};
pub use config::PeerSetConfig;
pub use error::{ConfigError, RequestError};
pub use headers::{BlockHashOrNumber, HeadersClient, HeadersDirection, HeadersRequest};
pub use kind::RequestKind;
pub use lease::{Lease, LeaseId, LeaseStatus};
pub use peer_id::{PeerId, WithPeer};
pub use peer_set::{PeerChanges, PeerSet};
pub use penalty::Penalty;
pub use snap_client::{PeerResult, SnapClient};
pub use stats::{KindStats, PeerStats};
