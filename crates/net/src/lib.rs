//! The seam between snapsync and the embedding client's network: who the peers are, how a
//! request reaches one, and what snapsync tells the network about a peer. Interfaces and the
//! types they carry only; the scheduling, scoring and verification of replies behind them live
//! in `snapsync-fetch`.
//!
//! # Why
//!
//! snapsync never opens a socket. The embedding client already runs devp2p (discovery, RLPx,
//! the eth and snap capabilities, its peer reputation), and a second network stack would
//! fight it for peers. So the embedder's network only *lists* peers and *transports*
//! messages, through two dyn-compatible traits:
//!
//! - [`PeerSource`]: the connected peers as [`PeerInfo`] (id, announced head, the
//!   [`Capabilities`] eth and snap/1), and [`report`](PeerSource::report) to tell the network
//!   what a peer did ([`Penalty`], carrying the typed [`Fault`] of a refused reply).
//! - [`PeerRequests`]: one method, [`request`](PeerRequests::request), sending one [`Request`]
//!   (any of the six messages) to one named peer, bounded by the deadline snapsync's scheduler
//!   set, and returning its [`Response`] [`WithPeer`]. [`PeerRequestsExt`] adds typed calls
//!   (`get_account_range`, `get_headers`, …) that turn an answer of the wrong variant into
//!   [`RequestError::WrongResponse`].
//!
//! They are apart so that peers and transport can come from different places: eth-only peers
//! serve headers and bodies, a snap-only view serves state; a request only ever goes to a peer
//! whose capabilities cover its [`RequestKind`] ([`Capabilities::serves`]).
//!
//! The *scheduling* stays in snapsync, because good snap sync scheduling depends on what only
//! the sync knows: which state root is being downloaded, which peers answered it with empty
//! responses ([`Availability`]), which responses failed verification, and how much each peer
//! delivers for each kind of request. Hence every request is addressed to a [`PeerId`] chosen
//! by the sync, and every response comes back [`WithPeer`], so the sync can credit or blame the
//! peer. "Where is peer scoring?": in `snapsync-fetch` (its `PeerSet` and `Fetcher`).
//!
//! ```
//! use std::sync::Arc;
//! use snapsync_net::{
//!     Capabilities, PeerId, PeerInfo, PeerRequests, PeerSource, Penalty, Request, RequestError,
//!     ResponseFuture,
//! };
//! use tokio::time::Instant;
//!
//! /// An embedder's network: one eth+snap peer, no transport yet.
//! struct MyNetwork;
//!
//! impl PeerSource for MyNetwork {
//!     fn peers(&self) -> Vec<PeerInfo> {
//!         vec![PeerInfo::new(PeerId::from_index(1), Capabilities::ETH_AND_SNAP)]
//!     }
//!     fn report(&self, _peer: PeerId, _penalty: Penalty) {}
//! }
//!
//! impl PeerRequests for MyNetwork {
//!     fn request(&self, peer: PeerId, request: Request, deadline: Instant) -> ResponseFuture<'_> {
//!         // Send `request` to `peer` over devp2p, wait at most until `deadline`.
//!         Box::pin(async move { Err(RequestError::UnknownPeer { peer }) })
//!     }
//! }
//!
//! let network = Arc::new(MyNetwork);
//! let (source, requests): (Arc<dyn PeerSource>, Arc<dyn PeerRequests>) =
//!     (network.clone(), network);
//! assert_eq!(source.peers().len(), 1);
//! # drop(requests);
//! ```

mod availability;
mod bodies;
mod error;
mod fault;
mod headers;
mod kind;
mod peer_id;
mod peer_info;
mod penalty;
mod receipts;
mod request;
mod source;

#[cfg(test)]
mod mock;

pub use availability::Availability;
pub use bodies::{BodiesRequest, EthBlockBody};
pub use error::RequestError;
pub use fault::{
    BodiesFault, BodyField, BodyMismatch, Fault, HeadersFault, InvalidResponse, ReceiptsFault,
};
pub use headers::{BlockHashOrNumber, HeadersDirection, HeadersRequest};
pub use kind::RequestKind;
pub use peer_id::{PeerId, WithPeer};
pub use peer_info::{Capabilities, PeerHead, PeerInfo};
pub use penalty::Penalty;
pub use receipts::{EthReceipt, ReceiptsRequest};
pub use request::{
    BoxFuture, Message, PeerRequests, PeerRequestsExt, PeerResult, Request, Response,
    ResponseFuture,
};
pub use source::PeerSource;
