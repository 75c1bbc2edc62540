//! Node identity: the static secp256k1 key a node keeps, the 64-byte id peers know it by, and
//! the `enode://` URL that names a node and its address.

use alloy_primitives::B512;
use k256::{PublicKey, SecretKey, elliptic_curve::sec1::ToEncodedPoint};
use rand_core::{CryptoRng, OsRng, RngCore};
use std::{fmt, net::SocketAddr, str::FromStr};

/// A node's id: its secp256k1 public key, uncompressed, without the `0x04` prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(B512);

impl NodeId {
    /// The id's 64 bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0.0
    }

    /// The id of a public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let point = key.to_encoded_point(false);
        let mut id = [0u8; 64];
        // An uncompressed SEC1 point is `0x04 || x || y`: 65 bytes.
        id.copy_from_slice(&point.as_bytes()[1..]);
        Self(B512::from(id))
    }

    /// The public key this id names, or `None` if the 64 bytes are not a point on the curve.
    pub fn public_key(&self) -> Option<PublicKey> {
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..].copy_from_slice(self.as_bytes());
        PublicKey::from_sec1_bytes(&sec1).ok()
    }

    /// An id from its 64 bytes (not checked to be on the curve; [`public_key`](Self::public_key)
    /// does that).
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(B512::new(bytes))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl From<NodeId> for snapsync_net::PeerId {
    /// The sync's name for a node: the same 64 bytes.
    fn from(node: NodeId) -> Self {
        Self::from(alloy_primitives::B512::from(*node.as_bytes()))
    }
}

/// A node's static private key. It is never printed.
#[derive(Clone)]
pub struct NodeKey(SecretKey);

impl NodeKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh random key from `rng`.
    pub fn generate_with(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(SecretKey::random(rng))
    }

    /// The key with these 32 bytes, or `None` if they are zero or not below the curve order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        SecretKey::from_slice(bytes).ok().map(Self)
    }

    /// The key's 32 bytes (to save it in a node-key file).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The id peers know this node by.
    pub fn id(&self) -> NodeId {
        NodeId::from_public_key(&self.0.public_key())
    }

    pub(crate) const fn secret(&self) -> &SecretKey {
        &self.0
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey(id {})", self.id())
    }
}

/// A node's id and TCP address, as in `enode://<128 hex digits>@1.2.3.4:30303`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enode {
    /// The node's id.
    pub id: NodeId,
    /// Where it accepts RLPx connections.
    pub addr: SocketAddr,
}

impl fmt::Display for Enode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enode://{}@{}", self.id, self.addr)
    }
}

/// An `enode://` URL that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnodeError {
    /// The URL does not start with `enode://`.
    #[error("an enode URL starts with enode://")]
    Scheme,
    /// The part before `@` is not 128 hex digits.
    #[error("the node id must be 128 hex digits")]
    Id,
    /// The id is not a point on secp256k1.
    #[error("the node id is not a valid secp256k1 public key")]
    NotOnCurve,
    /// The part after `@` is not `ip:port`.
    #[error("the address must be ip:port (a literal IP address; {0})")]
    Addr(String),
}

impl FromStr for Enode {
    type Err = EnodeError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = url.strip_prefix("enode://").ok_or(EnodeError::Scheme)?;
        let (id_hex, addr) = rest.split_once('@').ok_or(EnodeError::Id)?;
        let id = parse_id(id_hex)?;
        id.public_key().ok_or(EnodeError::NotOnCurve)?;
        // Discovery parameters (`?discport=N`) do not concern the TCP connection.
        let addr = addr.split_once('?').map_or(addr, |(addr, _)| addr);
        let addr =
            addr.parse().map_err(|e: std::net::AddrParseError| EnodeError::Addr(e.to_string()))?;
        Ok(Self { id, addr })
    }
}

fn parse_id(hex: &str) -> Result<NodeId, EnodeError> {
    if hex.len() != 128 || !hex.is_ascii() {
        return Err(EnodeError::Id);
    }
    let mut id = [0u8; 64];
    for (byte, pair) in id.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let digits = std::str::from_utf8(pair).map_err(|_| EnodeError::Id)?;
        *byte = u8::from_str_radix(digits, 16).map_err(|_| EnodeError::Id)?;
    }
    Ok(NodeId::from_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enode_urls_round_trip_and_bad_ones_are_named() {
        let key = NodeKey::generate();
        let url = format!("enode://{}@127.0.0.1:30303", key.id());
        let enode: Enode = url.parse().unwrap();
        assert_eq!(enode.id, key.id());
        assert_eq!(enode.to_string(), url);
        let with_disc: Enode = format!("{url}?discport=30301").parse().unwrap();
        assert_eq!(with_disc, enode);

        assert_eq!("http://x".parse::<Enode>(), Err(EnodeError::Scheme));
        assert_eq!("enode://abcd@1.2.3.4:1".parse::<Enode>(), Err(EnodeError::Id));
        let zeros = "0".repeat(128);
        assert_eq!(
            format!("enode://{zeros}@1.2.3.4:1").parse::<Enode>(),
            Err(EnodeError::NotOnCurve)
        );
        assert!(matches!(
            format!("enode://{}@localhost:1", key.id()).parse::<Enode>(),
            Err(EnodeError::Addr(_))
        ));
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        let key = NodeKey::generate();
        let again = NodeKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(again.id(), key.id());
        assert!(NodeKey::from_bytes(&[0; 32]).is_none());
        assert!(NodeKey::from_bytes(&[0xff; 32]).is_none());
        assert_eq!(key.id().public_key().map(|k| NodeId::from_public_key(&k)), Some(key.id()));
    }
}
