//! Between the client traits' [`Request`]/[`Response`] and the wire's eth and snap messages.

use crate::{
    PeerMessage,
    eth::{EthMessage, GetBlockBodies, GetBlockHeaders, GetReceipts},
};
use snapsync_net::{Request, Response};
use snapsync_primitives::SnapMessage;

/// A message for a peer's writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outbound {
    /// An eth message.
    Eth(EthMessage),
    /// A snap/1 message.
    Snap(SnapMessage),
    /// A keep-alive.
    Ping,
    /// The answer to the peer's Ping.
    Pong,
    /// Goodbye: the writer sends it and stops.
    Disconnect(crate::DisconnectReason),
}

/// `request` as the message to send, under `request_id` (replacing any id it carried).
pub(crate) fn outbound_request(request: Request, request_id: u64) -> Outbound {
    match request {
        Request::AccountRange(mut r) => {
            r.request_id = request_id;
            Outbound::Snap(SnapMessage::GetAccountRange(r))
        }
        Request::StorageRanges(mut r) => {
            r.request_id = request_id;
            Outbound::Snap(SnapMessage::GetStorageRanges(r))
        }
        Request::ByteCodes(mut r) => {
            r.request_id = request_id;
            Outbound::Snap(SnapMessage::GetByteCodes(r))
        }
        Request::TrieNodes(mut r) => {
            r.request_id = request_id;
            Outbound::Snap(SnapMessage::GetTrieNodes(r))
        }
        Request::BlockHeaders(request) => {
            Outbound::Eth(EthMessage::GetBlockHeaders(GetBlockHeaders { request_id, request }))
        }
        Request::BlockBodies(r) => Outbound::Eth(EthMessage::GetBlockBodies(GetBlockBodies {
            request_id,
            hashes: r.hashes,
        })),
        Request::Receipts(r) => {
            Outbound::Eth(EthMessage::GetReceipts(GetReceipts { request_id, hashes: r.hashes }))
        }
    }
}

/// What a message from a peer is to the peer loop.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A reply to one of our requests: its id and content.
    Reply(u64, Response),
    /// A request of the peer's to answer.
    Request(InboundRequest),
    /// The peer's new head (eth/69 `BlockRangeUpdate`).
    Head { number: u64, hash: alloy_primitives::B256 },
    /// A Ping to answer.
    Ping,
    /// Nothing to act on (a Pong, gossip).
    Ignored,
}

/// A request a peer sent us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InboundRequest {
    /// eth `GetBlockHeaders`.
    Headers(GetBlockHeaders),
    /// eth `GetBlockBodies`.
    Bodies(GetBlockBodies),
    /// eth `GetReceipts`.
    Receipts(GetReceipts),
    /// One of the four snap/1 requests.
    Snap(SnapMessage),
}

/// Sorts a decoded message.
pub(crate) fn classify(message: PeerMessage) -> Inbound {
    match message {
        PeerMessage::Ping => Inbound::Ping,
        PeerMessage::Pong => Inbound::Ignored,
        PeerMessage::Snap(message) if message.is_request() => {
            Inbound::Request(InboundRequest::Snap(message))
        }
        PeerMessage::Snap(message) => {
            let id = message.request_id();
            let response = match message {
                SnapMessage::AccountRange(m) => Response::AccountRange(m),
                SnapMessage::StorageRanges(m) => Response::StorageRanges(m),
                SnapMessage::ByteCodes(m) => Response::ByteCodes(m),
                SnapMessage::TrieNodes(m) => Response::TrieNodes(m),
                // Requests were matched above.
                SnapMessage::GetAccountRange(_)
                | SnapMessage::GetStorageRanges(_)
                | SnapMessage::GetByteCodes(_)
                | SnapMessage::GetTrieNodes(_) => return Inbound::Ignored,
            };
            Inbound::Reply(id, response)
        }
        PeerMessage::Eth(message) => match message {
            EthMessage::BlockHeaders(m) => {
                Inbound::Reply(m.request_id, Response::BlockHeaders(m.headers))
            }
            EthMessage::BlockBodies(m) => {
                Inbound::Reply(m.request_id, Response::BlockBodies(m.bodies))
            }
            EthMessage::Receipts(m) => Inbound::Reply(m.request_id, Response::Receipts(m.receipts)),
            EthMessage::GetBlockHeaders(m) => Inbound::Request(InboundRequest::Headers(m)),
            EthMessage::GetBlockBodies(m) => Inbound::Request(InboundRequest::Bodies(m)),
            EthMessage::GetReceipts(m) => Inbound::Request(InboundRequest::Receipts(m)),
            EthMessage::BlockRangeUpdate(m) => {
                Inbound::Head { number: m.latest, hash: m.latest_hash }
            }
            // Status again is a connection error before it gets here; gossip is dropped.
            EthMessage::Status(_) | EthMessage::Gossip(_) => Inbound::Ignored,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_net::{BodiesRequest, HeadersRequest};
    use snapsync_primitives::{GetByteCodes, TrieNodes};

    #[test]
    fn requests_carry_the_networks_id() {
        let snap = Request::ByteCodes(GetByteCodes { request_id: 99, ..GetByteCodes::default() });
        let Outbound::Snap(message) = outbound_request(snap, 7) else { panic!("snap") };
        assert_eq!(message.request_id(), 7);
        let bodies = Request::BlockBodies(BodiesRequest { hashes: vec![] });
        let Outbound::Eth(message) = outbound_request(bodies, 8) else { panic!("eth") };
        assert_eq!(message.request_id(), Some(8));
        let headers = outbound_request(Request::BlockHeaders(HeadersRequest::rising(1, 2)), 9);
        assert!(
            matches!(headers, Outbound::Eth(EthMessage::GetBlockHeaders(m)) if m.request_id == 9)
        );
    }

    #[test]
    fn replies_and_requests_are_told_apart() {
        let reply = classify(PeerMessage::Snap(SnapMessage::TrieNodes(TrieNodes {
            request_id: 3,
            nodes: vec![],
        })));
        assert!(matches!(reply, Inbound::Reply(3, Response::TrieNodes(_))));
        let request =
            classify(PeerMessage::Snap(SnapMessage::GetByteCodes(GetByteCodes::default())));
        assert!(matches!(request, Inbound::Request(InboundRequest::Snap(_))));
        assert!(matches!(classify(PeerMessage::Ping), Inbound::Ping));
        assert!(matches!(classify(PeerMessage::Pong), Inbound::Ignored));
    }
}
