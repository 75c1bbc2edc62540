//! Who the connected peers are: their ids, the chain head they announced, and which protocols
//! they speak.

use alloy_primitives::B256;

use crate::{Availability, PeerId, RequestKind};

/// The protocols a peer speaks, as far as snapsync asks it anything: eth (`GetBlockHeaders`,
/// `GetBlockBodies`) and snap/1 (state).
///
/// On devp2p every snap peer also speaks eth, but a view of the network need not list both: an
/// embedder may hand snapsync eth-only peers for the chain and a separate snap-only view for
/// the state. Requests go only to peers that speak their protocol
/// ([`serves`](Self::serves)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// Whether the peer answers eth block requests (headers, bodies).
    pub eth: bool,
    /// Whether the peer answers snap/1 state requests.
    pub snap: bool,
}

impl Capabilities {
    /// eth only: headers and bodies, no state.
    pub const ETH: Self = Self { eth: true, snap: false };
    /// snap/1 only: state, no blocks.
    pub const SNAP: Self = Self { eth: false, snap: true };
    /// eth and snap/1: everything snapsync asks.
    pub const ETH_AND_SNAP: Self = Self { eth: true, snap: true };

    /// Whether a peer with these capabilities can be sent a request of `kind`.
    pub const fn serves(self, kind: RequestKind) -> bool {
        if kind.is_snap() { self.snap } else { self.eth }
    }

    /// Whether a peer with these capabilities can serve the data `key` names: state and
    /// bytecodes over snap/1, headers and bodies over eth.
    pub const fn covers(self, key: &Availability) -> bool {
        if key.is_blocks() { self.eth } else { self.snap }
    }
}

/// A block a peer announced as its head (eth `Status` and later announcements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerHead {
    /// The head block's hash.
    pub hash: B256,
    /// Its number, when the protocol version carries it (eth/69 does, eth/68 does not).
    pub number: Option<u64>,
}

/// A connected peer, as the network lists it ([`PeerSource::peers`](crate::PeerSource::peers)).
///
/// The head is unverified: it is what the peer claims, useful to tell whether a peer can have
/// recent blocks at all, never trusted as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerInfo {
    /// The peer.
    pub id: PeerId,
    /// The head it announced, if the network tracks it.
    pub head: Option<PeerHead>,
    /// What it can be asked.
    pub capabilities: Capabilities,
}

impl PeerInfo {
    /// A peer speaking `capabilities`, with no head known.
    pub const fn new(id: PeerId, capabilities: Capabilities) -> Self {
        Self { id, head: None, capabilities }
    }

    /// The same peer with its announced `head`.
    #[must_use]
    pub const fn with_head(self, head: PeerHead) -> Self {
        Self { head: Some(head), ..self }
    }
}

impl From<PeerId> for PeerInfo {
    /// A peer speaking eth and snap/1, with no head known.
    fn from(id: PeerId) -> Self {
        Self::new(id, Capabilities::ETH_AND_SNAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_split_state_from_blocks() {
        for kind in RequestKind::ALL {
            assert_eq!(Capabilities::SNAP.serves(kind), kind.is_snap(), "{kind}");
            assert_eq!(Capabilities::ETH.serves(kind), !kind.is_snap(), "{kind}");
            assert!(Capabilities::ETH_AND_SNAP.serves(kind));
            assert!(!Capabilities::default().serves(kind));
        }
        let blocks = Availability::Headers { from: B256::ZERO, count: 1 };
        assert!(Capabilities::ETH.covers(&blocks) && !Capabilities::SNAP.covers(&blocks));
        let state = Availability::State(B256::ZERO);
        assert!(Capabilities::SNAP.covers(&state) && !Capabilities::ETH.covers(&state));
    }

    #[test]
    fn a_bare_id_is_a_full_peer_without_head() {
        let info = PeerInfo::from(PeerId::from_index(4));
        assert_eq!(info.capabilities, Capabilities::ETH_AND_SNAP);
        assert_eq!(info.head, None);
        let head = PeerHead { hash: B256::repeat_byte(1), number: Some(9) };
        assert_eq!(info.with_head(head).head, Some(head));
    }
}
