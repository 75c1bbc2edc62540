//! A test network implementing the seam over canned data, to check it is usable as the sync
//! will use it (as trait objects, through `Arc`, from spawned tasks).

use std::sync::Mutex;

use alloy_consensus::Header;
use snapsync_primitives::{AccountRange, ByteCodes, StorageRanges, TrieNodes};
use tokio::time::Instant;

use crate::{
    BlockHashOrNumber, BoxFuture, EthBlockBody, HeadersRequest, PeerId, PeerInfo, PeerRequests,
    PeerResult, PeerSource, Penalty, Request, RequestError, Response, WithPeer,
};

/// Connected peers answer everything with empty responses echoing the request id; other
/// peers are unknown. Reports and deadlines are recorded.
#[derive(Debug, Default)]
pub(crate) struct MockNetwork {
    pub(crate) connected: Vec<PeerId>,
    pub(crate) reports: Mutex<Vec<(PeerId, Penalty)>>,
    pub(crate) deadlines: Mutex<Vec<Instant>>,
    /// Answer every request with a `TrieNodes` response, as a confused adapter would.
    pub(crate) swap_replies: bool,
}

impl MockNetwork {
    pub(crate) fn with_peers(count: u64) -> Self {
        Self { connected: (0..count).map(PeerId::from_index).collect(), ..Self::default() }
    }

    fn answer(&self, peer: PeerId, request: Request) -> PeerResult<Response> {
        if !self.connected.contains(&peer) {
            return Err(RequestError::UnknownPeer { peer });
        }
        if self.swap_replies {
            return Ok(WithPeer::new(peer, Response::TrieNodes(TrieNodes::default())));
        }
        let response = match request {
            Request::AccountRange(request) => Response::AccountRange(AccountRange {
                request_id: request.request_id,
                ..Default::default()
            }),
            Request::StorageRanges(request) => Response::StorageRanges(StorageRanges {
                request_id: request.request_id,
                ..Default::default()
            }),
            Request::ByteCodes(request) => {
                Response::ByteCodes(ByteCodes { request_id: request.request_id, codes: Vec::new() })
            }
            Request::TrieNodes(request) => {
                Response::TrieNodes(TrieNodes { request_id: request.request_id, nodes: Vec::new() })
            }
            Request::BlockHeaders(request) => Response::BlockHeaders(headers(&request)),
            Request::BlockBodies(request) => Response::BlockBodies(
                request.hashes.iter().map(|_| EthBlockBody::default()).collect(),
            ),
            Request::Receipts(request) => {
                Response::Receipts(request.hashes.iter().map(|_| Vec::new()).collect())
            }
        };
        Ok(WithPeer::new(peer, response))
    }
}

/// Headers numbered as the request walks from block 100 (or the requested number).
fn headers(request: &HeadersRequest) -> Vec<Header> {
    let first = match request.start {
        BlockHashOrNumber::Number(number) => number,
        BlockHashOrNumber::Hash(_) => 100,
    };
    (0..request.limit.min(16))
        .map_while(|index| request.nth_number(first, index))
        .map(|number| Header { number, ..Header::default() })
        .collect()
}

impl PeerSource for MockNetwork {
    fn peers(&self) -> Vec<PeerInfo> {
        self.connected.iter().copied().map(PeerInfo::from).collect()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.push((peer, penalty));
        }
    }
}

impl PeerRequests for MockNetwork {
    fn request(
        &self,
        peer: PeerId,
        request: Request,
        deadline: Instant,
    ) -> BoxFuture<'_, PeerResult<Response>> {
        if let Ok(mut deadlines) = self.deadlines.lock() {
            deadlines.push(deadline);
        }
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.answer(peer, request)
        })
    }
}
