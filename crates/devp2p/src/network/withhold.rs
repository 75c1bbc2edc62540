//! Withholding history: [`Withholding`] wraps a [`RequestHandler`] and answers the kinds of
//! history it withholds ([`HistoryKind`]) with empty replies, as a node that pruned them does.
//!
//! An empty reply is what eth allows for data a node does not have: the asking peer takes it
//! as "not here" and asks another peer, without penalty. snap/1 requests, and the history kinds
//! not withheld, go to the wrapped handler unchanged. `snapsync serve --withhold` uses it, so an
//! operator (or a test) can leave parts of the history to other peers.

use super::serve::RequestHandler;
use alloy_consensus::Header;
use alloy_primitives::B256;
use snapsync_net::{EthBlockBody, EthReceipt, HeadersRequest};
use snapsync_primitives::SnapMessage;
use std::fmt;

/// A kind of block history a node serves over eth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryKind {
    /// Block headers (`GetBlockHeaders`).
    Headers,
    /// Block bodies (`GetBlockBodies`).
    Bodies,
    /// Receipts (`GetReceipts`).
    Receipts,
}

impl HistoryKind {
    /// Every kind, in protocol order.
    pub const ALL: [Self; 3] = [Self::Headers, Self::Bodies, Self::Receipts];

    /// Its name, as the CLI spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Headers => "headers",
            Self::Bodies => "bodies",
            Self::Receipts => "receipts",
        }
    }

    /// Its bit in a [`Withholding`]'s set.
    const fn bit(self) -> u8 {
        match self {
            Self::Headers => 1,
            Self::Bodies => 2,
            Self::Receipts => 4,
        }
    }
}

impl fmt::Display for HistoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A [`RequestHandler`] that answers the history kinds it withholds with empty replies and
/// everything else (snap/1 included) through the handler it wraps.
pub struct Withholding<H: RequestHandler> {
    inner: H,
    withheld: u8,
}

impl<H: RequestHandler> Withholding<H> {
    /// `inner`, withholding every kind in `kinds` (repeats are harmless; none withholds
    /// nothing).
    pub fn new(inner: H, kinds: &[HistoryKind]) -> Self {
        let withheld = kinds.iter().fold(0, |set, kind| set | kind.bit());
        Self { inner, withheld }
    }

    /// Whether `kind` is answered with empty replies.
    pub const fn withholds(&self, kind: HistoryKind) -> bool {
        self.withheld & kind.bit() != 0
    }

    /// The kinds withheld, in protocol order.
    pub fn withheld(&self) -> Vec<HistoryKind> {
        HistoryKind::ALL.into_iter().filter(|kind| self.withholds(*kind)).collect()
    }

    /// Whether `kind` is withheld; logged when it is, so an operator sees what was refused.
    fn refuses(&self, kind: HistoryKind) -> bool {
        let refused = self.withholds(kind);
        if refused {
            tracing::debug!(target: "net::devp2p::serve", %kind, "withheld: empty reply");
        }
        refused
    }
}

impl<H: RequestHandler + fmt::Debug> fmt::Debug for Withholding<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Withholding")
            .field("inner", &self.inner)
            .field("withheld", &self.withheld())
            .finish()
    }
}

impl<H: RequestHandler> RequestHandler for Withholding<H> {
    fn headers(&self, request: &HeadersRequest) -> Vec<Header> {
        if self.refuses(HistoryKind::Headers) { Vec::new() } else { self.inner.headers(request) }
    }

    fn bodies(&self, hashes: &[B256]) -> Vec<EthBlockBody> {
        if self.refuses(HistoryKind::Bodies) { Vec::new() } else { self.inner.bodies(hashes) }
    }

    fn receipts(&self, hashes: &[B256]) -> Vec<Vec<EthReceipt>> {
        if self.refuses(HistoryKind::Receipts) { Vec::new() } else { self.inner.receipts(hashes) }
    }

    fn snap(&self, request: &SnapMessage) -> Option<SnapMessage> {
        self.inner.snap(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_primitives::{AccountRange, GetAccountRange};

    /// Answers every request with one item, so an empty answer can only be withholding.
    #[derive(Debug)]
    struct OneOfEach;

    impl RequestHandler for OneOfEach {
        fn headers(&self, _: &HeadersRequest) -> Vec<Header> {
            vec![Header::default()]
        }

        fn bodies(&self, _: &[B256]) -> Vec<EthBlockBody> {
            vec![EthBlockBody::default()]
        }

        fn receipts(&self, _: &[B256]) -> Vec<Vec<EthReceipt>> {
            vec![Vec::new()]
        }

        fn snap(&self, request: &SnapMessage) -> Option<SnapMessage> {
            let request_id = request.request_id();
            Some(SnapMessage::AccountRange(AccountRange { request_id, ..AccountRange::default() }))
        }
    }

    fn answers(handler: &dyn RequestHandler) -> [usize; 3] {
        let hashes = [B256::repeat_byte(1)];
        [
            handler.headers(&HeadersRequest::rising(1, 1)).len(),
            handler.bodies(&hashes).len(),
            handler.receipts(&hashes).len(),
        ]
    }

    #[test]
    fn only_the_withheld_kinds_are_answered_empty_and_snap_is_untouched() {
        let request = SnapMessage::GetAccountRange(GetAccountRange {
            request_id: 7,
            root_hash: B256::repeat_byte(2),
            starting_hash: Default::default(),
            limit_hash: Default::default(),
            response_bytes: 1024,
        });
        for (kinds, expected) in [
            (&[][..], [1, 1, 1]),
            (&[HistoryKind::Headers][..], [0, 1, 1]),
            (&[HistoryKind::Headers, HistoryKind::Bodies][..], [0, 0, 1]),
            (&[HistoryKind::Receipts, HistoryKind::Receipts][..], [1, 1, 0]),
            (&HistoryKind::ALL[..], [0, 0, 0]),
        ] {
            let handler = Withholding::new(OneOfEach, kinds);
            assert_eq!(answers(&handler), expected, "withholding {kinds:?}");
            let snap = handler.snap(&request).expect("snap is served");
            assert_eq!(snap.request_id(), 7, "withholding {kinds:?}");
        }
        let handler = Withholding::new(OneOfEach, &[HistoryKind::Receipts, HistoryKind::Headers]);
        assert_eq!(handler.withheld(), [HistoryKind::Headers, HistoryKind::Receipts]);
        assert!(!handler.withholds(HistoryKind::Bodies));
        let names: Vec<String> = HistoryKind::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["headers", "bodies", "receipts"]);
    }
}
