//! What the network remembers of each peer it was connected to: what it was asked, what it
//! answered and served,
//! how many unsolicited messages it sent, and why the connection ended ([`PeerEnd`]).
//!
//! The CLI prints these per-peer counts (which peer served the history, which the state); the
//! tests read the reasons.

use crate::{NodeId, eth::EthVersion};
use snapsync_net::{Capabilities, RequestKind};
use std::{fmt, time::Duration};

/// Why a peer's connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEnd {
    /// The sync reported it ([`PeerSource::report`](snapsync_net::PeerSource::report)) with
    /// a penalty that disconnects; it is banned by node id.
    Banned(String),
    /// The connection failed: the peer disconnected, a frame did not authenticate or was too
    /// large, a message did not decode.
    Connection(String),
    /// The peer sent more unsolicited or mismatched messages than allowed.
    Unsolicited {
        /// How many.
        count: u32,
    },
    /// The peer was silent (and answered no Ping) for this long.
    Idle(Duration),
    /// The network shut down.
    Shutdown,
}

impl fmt::Display for PeerEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Banned(why) => write!(f, "banned: {why}"),
            Self::Connection(error) => write!(f, "connection failed: {error}"),
            Self::Unsolicited { count } => {
                write!(f, "disconnected after {count} unsolicited or mismatched messages")
            }
            Self::Idle(silence) => write!(f, "disconnected after {silence:?} of silence"),
            Self::Shutdown => f.write_str("the network shut down"),
        }
    }
}

/// A peer the network was connected to: who, what it did, how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's node id.
    pub id: NodeId,
    /// The client id from its Hello.
    pub client: String,
    /// The eth version spoken.
    pub eth: EthVersion,
    /// What it can be asked.
    pub capabilities: Capabilities,
    /// Whether we dialled it (as opposed to it dialling us).
    pub dialled: bool,
    /// Our requests sent to it, per [`RequestKind::index`]: those beyond
    /// [`answered`](Self::answered) got no answer (in time, or at all).
    pub asked: [u64; RequestKind::COUNT],
    /// Our requests it answered, per [`RequestKind::index`].
    pub answered: [u64; RequestKind::COUNT],
    /// Items in those answers (headers, bodies, receipt lists, accounts, slot sets, codes,
    /// nodes), per kind.
    pub items: [u64; RequestKind::COUNT],
    /// RLP bytes of those answers' items (what the sync downloaded from it).
    pub bytes: u64,
    /// Its requests we answered.
    pub served: u64,
    /// Unsolicited or mismatched replies, and requests beyond the serving limit.
    pub unsolicited: u32,
    /// Why the connection ended; `None` while it lasts.
    pub ended: Option<PeerEnd>,
}

impl PeerRecord {
    /// The record of a peer just connected: who it is, nothing asked, served or ended yet.
    pub fn connected(
        id: NodeId,
        client: String,
        eth: EthVersion,
        capabilities: Capabilities,
        dialled: bool,
    ) -> Self {
        Self {
            id,
            client,
            eth,
            capabilities,
            dialled,
            asked: [0; RequestKind::COUNT],
            answered: [0; RequestKind::COUNT],
            items: [0; RequestKind::COUNT],
            bytes: 0,
            served: 0,
            unsolicited: 0,
            ended: None,
        }
    }

    /// Requests of `kind` sent to it.
    pub const fn asked(&self, kind: RequestKind) -> u64 {
        self.asked[kind.index()]
    }

    /// Answers of `kind` it gave.
    pub const fn answered(&self, kind: RequestKind) -> u64 {
        self.answered[kind.index()]
    }

    /// Items of `kind` it delivered.
    pub const fn items(&self, kind: RequestKind) -> u64 {
        self.items[kind.index()]
    }
}

impl fmt::Display for PeerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id.to_string();
        write!(f, "peer {}… ({}, {}", &id[..id.len().min(16)], self.client, self.eth)?;
        if self.capabilities.snap {
            f.write_str(", snap/1")?;
        }
        f.write_str("):")?;
        let mut any = false;
        for kind in RequestKind::ALL {
            let (asked, answered) = (self.asked(kind), self.answered(kind));
            if answered > 0 || asked > 0 {
                write!(f, " {kind} {answered}")?;
                if asked > answered {
                    write!(f, " of {asked}")?;
                }
                write!(f, " ({} items)", self.items(kind))?;
                any = true;
            }
        }
        if !any {
            f.write_str(" no answers")?;
        }
        write!(f, "; served {}", self.served)?;
        if self.unsolicited > 0 {
            write!(f, "; {} unsolicited", self.unsolicited)?;
        }
        if let Some(end) = &self.ended {
            write!(f, "; {end}")?;
        }
        Ok(())
    }
}

/// RLP bytes of a response's items, for [`PeerRecord::bytes`] (their encoded lengths, computed
/// without encoding).
pub(crate) fn bytes(response: &snapsync_net::Response) -> u64 {
    use alloy_rlp::Encodable;
    use snapsync_net::Response as R;
    let length = match response {
        R::AccountRange(r) => r.length(),
        R::StorageRanges(r) => r.length(),
        R::ByteCodes(r) => r.length(),
        R::TrieNodes(r) => r.length(),
        R::BlockHeaders(r) => r.length(),
        R::BlockBodies(r) => r.length(),
        R::Receipts(r) => r.length(),
    };
    length as u64
}

/// Items in a response, for [`PeerRecord::items`].
pub(crate) fn items(response: &snapsync_net::Response) -> u64 {
    use snapsync_net::Response as R;
    let count = match response {
        R::AccountRange(r) => r.accounts.len(),
        R::StorageRanges(r) => r.slots.len(),
        R::ByteCodes(r) => r.codes.len(),
        R::TrieNodes(r) => r.nodes.len(),
        R::BlockHeaders(r) => r.len(),
        R::BlockBodies(r) => r.len(),
        R::Receipts(r) => r.len(),
    };
    count as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_requests_asked_beyond_those_answered() {
        let mut record = PeerRecord {
            served: 2,
            ended: Some(PeerEnd::Shutdown),
            ..PeerRecord::connected(
                NodeId::from_bytes([0xab; 64]),
                "EthereumJS/0.10.5".into(),
                EthVersion::Eth68,
                Capabilities::ETH_AND_SNAP,
                true,
            )
        };
        assert!(record.to_string().contains("): no answers; served 2"), "{record}");
        record.asked[RequestKind::AccountRange.index()] = 2;
        let headers = RequestKind::BlockHeaders.index();
        (record.asked[headers], record.answered[headers], record.items[headers]) = (3, 3, 601);
        assert_eq!(record.asked(RequestKind::AccountRange), 2);
        assert_eq!(
            record.to_string(),
            "peer abababababababab… (EthereumJS/0.10.5, eth/68, snap/1): GetAccountRange 0 of 2 \
             (0 items) GetBlockHeaders 3 (601 items); served 2; the network shut down"
        );
    }
}
