//! Who a request goes to and who an answer came from.

use std::fmt;

use alloy_primitives::B512;

/// A peer, by its devp2p node id: the 64-byte uncompressed secp256k1 public key (without the
/// `0x04` prefix) that the RLPx handshake authenticates.
///
/// snapsync never dials or identifies peers itself; the embedding client's network hands out
/// these ids (through [`PeerSource::peers`](crate::PeerSource::peers)) and snapsync addresses its
/// requests with them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PeerId(pub B512);

impl PeerId {
    /// A synthetic id whose last eight bytes are `index` in big-endian order, for tests and
    /// simulations. Distinct indices give distinct ids, ordered like the indices.
    pub fn from_index(index: u64) -> Self {
        let mut bytes = [0u8; 64];
        bytes[56..].copy_from_slice(&index.to_be_bytes());
        Self(B512::new(bytes))
    }

    /// The node id.
    pub const fn node_id(&self) -> &B512 {
        &self.0
    }
}

impl From<B512> for PeerId {
    fn from(node_id: B512) -> Self {
        Self(node_id)
    }
}

impl From<u64> for PeerId {
    /// Same as [`PeerId::from_index`].
    fn from(index: u64) -> Self {
        Self::from_index(index)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

impl fmt::Display for PeerId {
    /// The first and last four bytes in hex (`0x1234abcd…0000002a`), which tell peers apart in
    /// logs without 130-character lines; `{:#}` prints all 64 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return write!(f, "{}", self.0);
        }
        let bytes = self.0.as_slice();
        write!(f, "0x{}…{}", hex_of(&bytes[..4]), hex_of(&bytes[60..]))
    }
}

/// Lower-case hex of a few bytes.
fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A response together with the peer that sent it.
///
/// Every client call returns one, so the caller can credit or blame the peer that actually
/// answered (which is the peer it addressed: clients must not redirect requests).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WithPeer<T> {
    /// The peer that answered.
    pub peer: PeerId,
    /// The response.
    pub data: T,
}

impl<T> WithPeer<T> {
    /// Wraps `data` received from `peer`.
    pub const fn new(peer: PeerId, data: T) -> Self {
        Self { peer, data }
    }

    /// The response, without the peer.
    pub fn into_data(self) -> T {
        self.data
    }

    /// The peer and the response, apart.
    pub fn split(self) -> (PeerId, T) {
        (self.peer, self.data)
    }

    /// Transforms the response, keeping the peer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> WithPeer<U> {
        WithPeer { peer: self.peer, data: f(self.data) }
    }

    /// Borrows the response, keeping the peer.
    pub const fn as_ref(&self) -> WithPeer<&T> {
        WithPeer { peer: self.peer, data: &self.data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ids_are_distinct_and_ordered() {
        assert_ne!(PeerId::from_index(1), PeerId::from_index(2));
        assert!(PeerId::from_index(1) < PeerId::from_index(2));
        assert!(PeerId::from_index(255) < PeerId::from_index(256));
        assert_eq!(PeerId::from(7u64), PeerId::from_index(7));
    }

    #[test]
    fn display_is_short_and_alternate_is_full() {
        let peer = PeerId::from_index(0x2a);
        assert_eq!(peer.to_string(), "0x00000000…0000002a");
        assert_eq!(format!("{peer:#}").len(), 2 + 128);
        assert_eq!(format!("{peer:?}"), "PeerId(0x00000000…0000002a)");
    }

    #[test]
    fn with_peer_maps_and_splits() {
        let peer = PeerId::from_index(3);
        let response = WithPeer::new(peer, vec![1, 2, 3]);
        assert_eq!(response.as_ref().map(Vec::len), WithPeer::new(peer, 3));
        assert_eq!(response.clone().split(), (peer, vec![1, 2, 3]));
        assert_eq!(response.into_data(), vec![1, 2, 3]);
    }
}
