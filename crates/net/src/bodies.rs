//! Block body requests (eth `GetBlockBodies`), addressed to a peer.

use std::{future::Future, sync::Arc};

use alloy_consensus::{BlockBody, TxEnvelope};
use alloy_primitives::B256;

use crate::{PeerId, PeerResult};

/// A block body as the eth protocol carries it: transactions, ommer headers and (from
/// Shanghai) withdrawals, everything the header's transactions root, ommers hash and
/// withdrawals root commit to.
pub type EthBlockBody = BlockBody<TxEnvelope>;

/// The eth body side of the embedding client's network.
///
/// Addressed to a peer like [`SnapClient`](crate::SnapClient), whose
/// [`peers`](crate::SnapClient::peers) and [`report`](crate::SnapClient::report) also cover
/// body requests (every snap peer speaks eth).
pub trait BodiesClient: Send + Sync {
    /// Sends `GetBlockBodies` for the blocks with `hashes` to `peer`.
    ///
    /// The response holds bodies in request order, possibly with unavailable ones left out
    /// (down to none); snapsync matches each body to its header by the roots the header
    /// commits to.
    ///
    /// # Errors
    ///
    /// [`RequestError`](crate::RequestError) when no response arrives: timeout,
    /// disconnection, an undecodable answer, an unknown peer or a closed network.
    fn get_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> impl Future<Output = PeerResult<Vec<EthBlockBody>>> + Send;
}

impl<C: BodiesClient> BodiesClient for Arc<C> {
    fn get_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> impl Future<Output = PeerResult<Vec<EthBlockBody>>> + Send {
        self.as_ref().get_block_bodies(peer, hashes)
    }
}

impl<C: BodiesClient> BodiesClient for &C {
    fn get_block_bodies(
        &self,
        peer: PeerId,
        hashes: Vec<B256>,
    ) -> impl Future<Output = PeerResult<Vec<EthBlockBody>>> + Send {
        (**self).get_block_bodies(peer, hashes)
    }
}
