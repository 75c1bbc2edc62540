//! Which peer the stages ask next, and what happens to peers that send provably wrong data.
//!
//! Headers and bodies are either right or wrong (hash links and roots are checked, nothing is
//! estimated), so the stages need no throughput scheduling: they rotate over the network's
//! connected peers, so consecutive requests spread over them, and skip the peers they banned.
//! A peer that sent invalid data is reported with [`Penalty::InvalidData`] (the network
//! disconnects it) and banned for the stage's lifetime, even if the network keeps it.

use snapsync_net::{PeerId, Penalty, SnapClient};
use std::{collections::HashSet, time::Duration};

/// Round-robin over connected peers, minus a local ban set.
#[derive(Debug, Default)]
pub(crate) struct PeerRotation {
    banned: HashSet<PeerId>,
    cursor: usize,
    /// Requests that timed out since the last [`take_timeouts`](Self::take_timeouts).
    timeouts: usize,
}

impl PeerRotation {
    /// The peers to try for the next request, in order: the connected, unbanned peers,
    /// rotated by one position per call.
    pub(crate) fn candidates(&mut self, connected: Vec<PeerId>) -> Vec<PeerId> {
        let mut peers: Vec<_> =
            connected.into_iter().filter(|peer| !self.banned.contains(peer)).collect();
        if !peers.is_empty() {
            let shift = self.cursor % peers.len();
            peers.rotate_left(shift);
            self.cursor = self.cursor.wrapping_add(1);
        }
        peers
    }

    /// Reports `peer` for invalid data and stops using it.
    pub(crate) fn punish(&mut self, client: &impl SnapClient, peer: PeerId, reason: String) {
        self.banned.insert(peer);
        client.report(peer, Penalty::InvalidData { kind: None, reason });
    }

    /// Reports that `peer` did not answer within `elapsed` (a light penalty: the peer stays),
    /// and counts it.
    pub(crate) fn timed_out(&mut self, client: &impl SnapClient, peer: PeerId, elapsed: Duration) {
        self.timeouts += 1;
        client.report(peer, Penalty::Timeout { kind: None, elapsed });
    }

    /// Requests that timed out since the last call.
    pub(crate) fn take_timeouts(&mut self) -> usize {
        std::mem::take(&mut self.timeouts)
    }

    /// Peers banned so far.
    pub(crate) fn banned(&self) -> usize {
        self.banned.len()
    }
}
