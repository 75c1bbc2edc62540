//! The client side of snap/1: every reply a peer sends becomes either verified data or a typed
//! reason to penalise that peer.
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
//! The [`Fetcher`] puts this to work: it leases the best peer from a `PeerSet`, sends the request
//! through the embedder's `SnapClient` (`HeadersClient`, `BodiesClient`), verifies the reply,
//! penalises the peer when it fails (reporting the typed [`Fault`](snapsync_net::Fault)), and
//! tries the next peer until a reply verifies.
//!
//! The fetcher records what it sees of its peers (requests by kind and outcome, timeouts,
//! hedges, bans, penalties, peer counts) as `snapsync_peers_*` metrics through the `metrics`
//! facade; [`METRIC_NAMES`] lists them, [`describe_metrics`] describes them, and
//! `docs/metrics.md` documents them.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod accounts;
mod answer;
mod bodies;
mod budget;
mod bytecodes;
mod error;
mod fetcher;
mod headers;
mod metrics;
mod storage;
mod trie_nodes;

pub use accounts::{AccountRangeRequest, VerifiedAccountRange, verify_account_range};
pub use answer::Answer;
pub use bodies::{BlockBodiesRequest, VerifiedBodies, verify_block_bodies, verify_body};
pub use bytecodes::{ByteCodesRequest, VerifiedByteCodes, verify_byte_codes};
pub use error::FetchError;
pub use fetcher::{FetchConfig, Fetcher};
pub use headers::{BlockHeadersRequest, VerifiedHeaders, verify_block_headers};
pub use metrics::{METRIC_NAMES, describe_metrics, fault_label, kind_label};
pub use snapsync_net::InvalidResponse;
pub use storage::{
    StorageRangesRequest, StorageTarget, VerifiedStorage, VerifiedStorageRanges,
    verify_storage_ranges,
};
pub use trie_nodes::{NodeTarget, TrieNodesRequest, VerifiedTrieNodes, verify_trie_nodes};
