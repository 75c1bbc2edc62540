//! Who the peers are, apart from how a request reaches them.

use std::sync::Arc;

use crate::{PeerId, PeerInfo, Penalty};

/// The embedding network's peer table, as snapsync sees it: the connected peers, and a way to
/// tell the network what a peer did.
///
/// Apart from [`PeerRequests`](crate::PeerRequests) so that "who are my peers" and "send this
/// request" can come from different places (an eth view for the chain, a snap view for the
/// state) and so that a test can list peers without a transport. Dyn-compatible: snapsync holds
/// it as an `Arc<dyn PeerSource>`.
pub trait PeerSource: Send + Sync {
    /// The peers connected now, with what they speak.
    ///
    /// A snapshot rather than a stream: the sync reconciles its scheduler with it on every
    /// scheduling round, which already runs on each response and timer tick, so no update can
    /// be missed or applied out of order, and an implementation is one read of the network's
    /// peer table. Peers that go away between rounds surface as
    /// [`RequestError::Disconnected`](crate::RequestError::Disconnected).
    fn peers(&self) -> Vec<PeerInfo>;

    /// Tells the network what a peer did, for its reputation system. On
    /// [`Penalty::is_disconnect`] the network should disconnect the peer; snapsync has stopped
    /// using it either way. Must not block.
    fn report(&self, peer: PeerId, penalty: Penalty);
}

impl<T: PeerSource + ?Sized> PeerSource for Arc<T> {
    fn peers(&self) -> Vec<PeerInfo> {
        self.as_ref().peers()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        self.as_ref().report(peer, penalty);
    }
}

impl<T: PeerSource + ?Sized> PeerSource for &T {
    fn peers(&self) -> Vec<PeerInfo> {
        (**self).peers()
    }

    fn report(&self, peer: PeerId, penalty: Penalty) {
        (**self).report(peer, penalty);
    }
}
