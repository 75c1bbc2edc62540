//! Answering peers: the [`RequestHandler`] a [`Network`](crate::Network) asks for every eth
//! block request and snap/1 request it receives, and [`StoreHandler`], the one that answers
//! from a snapsync store through `snapsync-server`.
//!
//! Handlers are synchronous (they read a database); the network calls them on tokio's blocking
//! pool, at most [`NetworkConfig::max_served_per_peer`](crate::NetworkConfig) at once per peer.
//! Response sizes are bounded by the handler: [`StoreHandler`] inherits the server's limits
//! (2 MiB soft byte limit, 1024 headers or bodies, capped snap budgets).

use super::wire::{InboundRequest, Outbound};
use crate::eth::{BlockBodies, BlockHeaders, EthMessage, Receipts};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Decodable;
use snapsync_net::{BlockHashOrNumber, EthBlockBody, EthReceipt, HeadersDirection, HeadersRequest};
use snapsync_primitives::SnapMessage;
use snapsync_server::{BlockServer, BlockStart, HeadersQuery, ServerLimits, SnapServer};
use snapsync_storage::StateStore;
use std::sync::Arc;

/// What answers a peer's requests. Every method may answer with fewer items than asked (down
/// to none): that is what the protocols allow for data a node does not have.
pub trait RequestHandler: Send + Sync + 'static {
    /// Headers for eth `GetBlockHeaders`, in walking order.
    fn headers(&self, request: &HeadersRequest) -> Vec<Header>;
    /// Bodies for eth `GetBlockBodies`, in request order, unknown ones left out.
    fn bodies(&self, hashes: &[B256]) -> Vec<EthBlockBody>;
    /// Receipts for eth `GetReceipts`, per block in request order, unknown ones left out.
    fn receipts(&self, hashes: &[B256]) -> Vec<Vec<EthReceipt>>;
    /// The answer to a snap/1 request; `None` to send nothing (a malformed request).
    fn snap(&self, request: &SnapMessage) -> Option<SnapMessage>;
}

/// Answers from a snapsync store: snap/1 through a [`SnapServer`] over the states it was given,
/// blocks (headers, bodies, receipts) through a [`BlockServer`] over the store.
pub struct StoreHandler<S: StateStore + ?Sized> {
    snap: Arc<SnapServer<S>>,
    blocks: BlockServer<S>,
}

impl<S: StateStore + ?Sized> std::fmt::Debug for StoreHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandler").field("states", &self.snap.roots()).finish_non_exhaustive()
    }
}

impl<S: StateStore + ?Sized> StoreHandler<S> {
    /// A handler serving blocks from `db` with `limits`, and snap/1 from the states `snap` holds.
    pub fn new(db: Arc<S>, snap: Arc<SnapServer<S>>, limits: ServerLimits) -> Self {
        Self { snap, blocks: BlockServer::new(db, limits) }
    }
}

/// Decodes each of `items`, stopping at the first that does not decode (our own store holds
/// them, so that is damage: it is logged and the answer ends there, keeping it in order).
fn decode_all<T: Decodable>(items: Vec<Bytes>, what: &'static str) -> Vec<T> {
    let mut decoded = Vec::with_capacity(items.len());
    for item in items {
        match T::decode(&mut item.as_ref()) {
            Ok(value) => decoded.push(value),
            Err(error) => {
                tracing::warn!(target: "net::devp2p::serve", what, %error, "stored item does not decode");
                break;
            }
        }
    }
    decoded
}

impl<S: StateStore + ?Sized + 'static> RequestHandler for StoreHandler<S> {
    fn headers(&self, request: &HeadersRequest) -> Vec<Header> {
        let start = match request.start {
            BlockHashOrNumber::Hash(hash) => BlockStart::Hash(hash),
            BlockHashOrNumber::Number(number) => BlockStart::Number(number),
        };
        let query = HeadersQuery {
            start,
            limit: request.limit,
            skip: request.skip,
            reverse: request.direction == HeadersDirection::Falling,
        };
        decode_all(self.blocks.headers(&query), "header")
    }

    fn bodies(&self, hashes: &[B256]) -> Vec<EthBlockBody> {
        decode_all(self.blocks.bodies(hashes), "body")
    }

    fn receipts(&self, hashes: &[B256]) -> Vec<Vec<EthReceipt>> {
        decode_all(self.blocks.receipts(hashes), "receipts")
    }

    fn snap(&self, request: &SnapMessage) -> Option<SnapMessage> {
        match self.snap.handle(request) {
            Ok(answer) => answer,
            Err(error) => {
                tracing::debug!(target: "net::devp2p::serve", %error, "snap request refused");
                None
            }
        }
    }
}

/// The answer to `request`, or `None` for none.
pub(crate) fn answer(handler: &dyn RequestHandler, request: InboundRequest) -> Option<Outbound> {
    let eth = |message| Some(Outbound::Eth(message));
    match request {
        InboundRequest::Headers(r) => eth(EthMessage::BlockHeaders(BlockHeaders {
            request_id: r.request_id,
            headers: handler.headers(&r.request),
        })),
        InboundRequest::Bodies(r) => eth(EthMessage::BlockBodies(BlockBodies {
            request_id: r.request_id,
            bodies: handler.bodies(&r.hashes),
        })),
        InboundRequest::Receipts(r) => eth(EthMessage::Receipts(Receipts {
            request_id: r.request_id,
            receipts: handler.receipts(&r.hashes),
        })),
        InboundRequest::Snap(message) => handler.snap(&message).map(Outbound::Snap),
    }
}

/// The handler of a network that serves nothing: empty answers (what a node lacking the data
/// sends), so that peers asking us are not left waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyHandler;

impl RequestHandler for EmptyHandler {
    fn headers(&self, _: &HeadersRequest) -> Vec<Header> {
        Vec::new()
    }

    fn bodies(&self, _: &[B256]) -> Vec<EthBlockBody> {
        Vec::new()
    }

    fn receipts(&self, _: &[B256]) -> Vec<Vec<EthReceipt>> {
        Vec::new()
    }

    fn snap(&self, request: &SnapMessage) -> Option<SnapMessage> {
        use snapsync_primitives::{AccountRange, ByteCodes, StorageRanges, TrieNodes};
        let request_id = request.request_id();
        Some(match request {
            SnapMessage::GetAccountRange(_) => {
                SnapMessage::AccountRange(AccountRange { request_id, ..AccountRange::default() })
            }
            SnapMessage::GetStorageRanges(_) => {
                SnapMessage::StorageRanges(StorageRanges { request_id, ..StorageRanges::default() })
            }
            SnapMessage::GetByteCodes(_) => {
                SnapMessage::ByteCodes(ByteCodes { request_id, ..ByteCodes::default() })
            }
            SnapMessage::GetTrieNodes(_) => {
                SnapMessage::TrieNodes(TrieNodes { request_id, ..TrieNodes::default() })
            }
            _ => return None,
        })
    }
}
