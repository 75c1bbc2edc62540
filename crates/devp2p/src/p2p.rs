//! The `p2p` capability every RLPx connection carries: Hello (who are you, what do you speak),
//! Disconnect, Ping and Pong, and the message-id space the shared capabilities divide.

use crate::{NodeId, P2pError};
use alloy_rlp::{Decodable, Encodable, Header};
use std::fmt;

/// The p2p protocol version this crate speaks: 5 (snappy compression after Hello).
pub const P2P_VERSION: u64 = 5;

/// p2p message ids.
pub(crate) mod ids {
    pub(crate) const HELLO: u64 = 0x00;
    pub(crate) const DISCONNECT: u64 = 0x01;
    pub(crate) const PING: u64 = 0x02;
    pub(crate) const PONG: u64 = 0x03;
    /// Ids below this are p2p's; capabilities start here.
    pub(crate) const FIRST_CAPABILITY: u64 = 0x10;
}

/// Longest capability name the spec allows.
const MAX_CAPABILITY_NAME: usize = 8;
/// Most capabilities read from a Hello; more is hostile.
const MAX_CAPABILITIES: usize = 64;
/// Longest client id kept from a Hello.
const MAX_CLIENT_ID: usize = 256;

/// A capability and version as listed in Hello, e.g. `eth/68`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capability {
    /// The capability's name (ASCII, at most 8 characters).
    pub name: String,
    /// Its version.
    pub version: u64,
}

impl Capability {
    /// `name/version`.
    pub fn new(name: &str, version: u64) -> Self {
        Self { name: name.to_owned(), version }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

/// A capability this side speaks, with the number of message ids it uses (needed to lay out
/// the id space: eth/68 uses 17, eth/69 18, snap/1 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// The capability.
    pub capability: Capability,
    /// How many message ids it uses.
    pub messages: u64,
}

/// A capability both sides speak, and where its messages sit in the id space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCapability {
    /// The capability (the highest version both speak).
    pub capability: Capability,
    /// Its first message id on this connection.
    pub offset: u64,
    /// How many ids it uses.
    pub messages: u64,
}

/// The shared capabilities of a connection: for each name both sides list, the highest version
/// both speak; laid out in name order from id 0x10, as the spec requires.
pub fn negotiate(ours: &[Protocol], theirs: &[Capability]) -> Vec<SharedCapability> {
    let mut best: Vec<&Protocol> = Vec::new();
    for protocol in ours.iter().filter(|p| theirs.contains(&p.capability)) {
        match best.iter_mut().find(|b| b.capability.name == protocol.capability.name) {
            Some(existing) if existing.capability.version < protocol.capability.version => {
                *existing = protocol;
            }
            Some(_) => {}
            None => best.push(protocol),
        }
    }
    best.sort_by(|a, b| a.capability.name.cmp(&b.capability.name));
    let mut offset = ids::FIRST_CAPABILITY;
    best.into_iter()
        .map(|protocol| {
            let shared = SharedCapability {
                capability: protocol.capability.clone(),
                offset,
                messages: protocol.messages,
            };
            offset += protocol.messages;
            shared
        })
        .collect()
}

/// The Hello message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The p2p version ([`P2P_VERSION`] for this crate).
    pub protocol_version: u64,
    /// The client's name and version, human-readable.
    pub client_id: String,
    /// The capabilities offered.
    pub capabilities: Vec<Capability>,
    /// Legacy listen port (ignored on receipt).
    pub listen_port: u16,
    /// The sender's node id.
    pub id: NodeId,
}

impl Hello {
    /// The RLP encoding of Hello's fields.
    pub fn encode_payload(&self) -> Vec<u8> {
        let caps: Vec<u8> = {
            let mut items = Vec::new();
            for cap in &self.capabilities {
                let inner = cap.name.as_bytes().length() + cap.version.length();
                Header { list: true, payload_length: inner }.encode(&mut items);
                cap.name.as_bytes().encode(&mut items);
                cap.version.encode(&mut items);
            }
            items
        };
        let caps_header = Header { list: true, payload_length: caps.len() };
        let payload_length = self.protocol_version.length()
            + self.client_id.as_bytes().length()
            + caps_header.length()
            + caps.len()
            + self.listen_port.length()
            + self.id.as_bytes().as_slice().length();
        let mut out = Vec::new();
        Header { list: true, payload_length }.encode(&mut out);
        self.protocol_version.encode(&mut out);
        self.client_id.as_bytes().encode(&mut out);
        caps_header.encode(&mut out);
        out.extend_from_slice(&caps);
        self.listen_port.encode(&mut out);
        self.id.as_bytes().as_slice().encode(&mut out);
        out
    }

    /// Decodes Hello's fields; extra trailing elements are ignored, as the spec requires.
    ///
    /// # Errors
    ///
    /// [`P2pError::Rlp`] for malformed RLP or out-of-bounds fields.
    pub fn decode_payload(payload: &[u8]) -> Result<Self, P2pError> {
        let fail = |source| P2pError::Rlp { message: "Hello", source };
        let mut items = list(payload).map_err(fail)?;
        let protocol_version = u64::decode(&mut items).map_err(fail)?;
        let client_id = bytes(&mut items).map_err(fail)?;
        let client_id =
            String::from_utf8_lossy(&client_id[..client_id.len().min(MAX_CLIENT_ID)]).into_owned();
        let mut caps = list(items).map_err(fail)?;
        let caps_len = Header::decode(&mut items).map_err(fail)?.payload_length;
        items = items.get(caps_len..).ok_or(alloy_rlp::Error::InputTooShort).map_err(fail)?;
        let mut capabilities = Vec::new();
        while !caps.is_empty() {
            if capabilities.len() == MAX_CAPABILITIES {
                return Err(fail(alloy_rlp::Error::Custom("more than 64 capabilities")));
            }
            let mut cap = list(caps).map_err(fail)?;
            let cap_len = Header::decode(&mut caps).map_err(fail)?.payload_length;
            caps = caps.get(cap_len..).ok_or(alloy_rlp::Error::InputTooShort).map_err(fail)?;
            let name = bytes(&mut cap).map_err(fail)?;
            if name.len() > MAX_CAPABILITY_NAME || !name.is_ascii() {
                return Err(fail(alloy_rlp::Error::Custom(
                    "capability name over 8 ASCII characters",
                )));
            }
            let version = u64::decode(&mut cap).map_err(fail)?;
            capabilities
                .push(Capability { name: String::from_utf8_lossy(name).into_owned(), version });
        }
        let listen_port = u16::decode(&mut items).map_err(fail)?;
        let id = <[u8; 64]>::decode(&mut items).map_err(fail)?;
        Ok(Self {
            protocol_version,
            client_id,
            capabilities,
            listen_port,
            id: NodeId::from_bytes(id),
        })
    }
}

/// The payload of the RLP list at the start of `input`.
fn list(mut input: &[u8]) -> Result<&[u8], alloy_rlp::Error> {
    let header = Header::decode(&mut input)?;
    if !header.list {
        return Err(alloy_rlp::Error::UnexpectedString);
    }
    input.get(..header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)
}

/// An RLP byte string, advancing `input` past it.
fn bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], alloy_rlp::Error> {
    let header = Header::decode(input)?;
    if header.list {
        return Err(alloy_rlp::Error::UnexpectedList);
    }
    let (value, rest) =
        input.split_at_checked(header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)?;
    *input = rest;
    Ok(value)
}

/// Why a connection is closed, as Disconnect carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// 0x00: disconnect requested.
    Requested,
    /// 0x01: TCP sub-system error.
    TcpError,
    /// 0x02: breach of protocol (malformed message, bad RLP, ...).
    ProtocolBreach,
    /// 0x03: useless peer.
    UselessPeer,
    /// 0x04: too many peers.
    TooManyPeers,
    /// 0x05: already connected.
    AlreadyConnected,
    /// 0x06: incompatible p2p version.
    IncompatibleVersion,
    /// 0x07: null node identity.
    NullIdentity,
    /// 0x08: client quitting.
    ClientQuitting,
    /// 0x09: unexpected identity in handshake.
    UnexpectedIdentity,
    /// 0x0a: connected to itself.
    ConnectedToSelf,
    /// 0x0b: ping timeout.
    PingTimeout,
    /// 0x10: a reason specific to a subprotocol.
    SubprotocolSpecific,
    /// Any other code.
    Other(u8),
}

impl DisconnectReason {
    /// The reason's code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Requested => 0x00,
            Self::TcpError => 0x01,
            Self::ProtocolBreach => 0x02,
            Self::UselessPeer => 0x03,
            Self::TooManyPeers => 0x04,
            Self::AlreadyConnected => 0x05,
            Self::IncompatibleVersion => 0x06,
            Self::NullIdentity => 0x07,
            Self::ClientQuitting => 0x08,
            Self::UnexpectedIdentity => 0x09,
            Self::ConnectedToSelf => 0x0a,
            Self::PingTimeout => 0x0b,
            Self::SubprotocolSpecific => 0x10,
            Self::Other(code) => code,
        }
    }

    /// The reason for a code.
    pub const fn from_code(code: u8) -> Self {
        match code {
            0x00 => Self::Requested,
            0x01 => Self::TcpError,
            0x02 => Self::ProtocolBreach,
            0x03 => Self::UselessPeer,
            0x04 => Self::TooManyPeers,
            0x05 => Self::AlreadyConnected,
            0x06 => Self::IncompatibleVersion,
            0x07 => Self::NullIdentity,
            0x08 => Self::ClientQuitting,
            0x09 => Self::UnexpectedIdentity,
            0x0a => Self::ConnectedToSelf,
            0x0b => Self::PingTimeout,
            0x10 => Self::SubprotocolSpecific,
            other => Self::Other(other),
        }
    }

    /// Disconnect's payload: `[reason]`.
    pub fn encode_payload(self) -> Vec<u8> {
        let mut out = Vec::new();
        Header { list: true, payload_length: self.code().length() }.encode(&mut out);
        self.code().encode(&mut out);
        out
    }

    /// Reads Disconnect's payload leniently: `[reason]`, a bare reason, or nothing (clients
    /// differ) — the connection closes either way, so only the reason's value matters.
    pub fn decode_payload(payload: &[u8]) -> Self {
        let code = match list(payload) {
            Ok(mut items) => u8::decode(&mut items).unwrap_or(0),
            Err(_) => u8::decode(&mut &payload[..]).unwrap_or(0),
        };
        Self::from_code(code)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Requested => "disconnect requested",
            Self::TcpError => "TCP error",
            Self::ProtocolBreach => "breach of protocol",
            Self::UselessPeer => "useless peer",
            Self::TooManyPeers => "too many peers",
            Self::AlreadyConnected => "already connected",
            Self::IncompatibleVersion => "incompatible p2p version",
            Self::NullIdentity => "null node identity",
            Self::ClientQuitting => "client quitting",
            Self::UnexpectedIdentity => "unexpected identity",
            Self::ConnectedToSelf => "connected to self",
            Self::PingTimeout => "ping timeout",
            Self::SubprotocolSpecific => "subprotocol-specific reason",
            Self::Other(_) => "unknown reason",
        };
        write!(f, "{text} ({:#04x})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeKey;
    use proptest::prelude::*;

    fn protocol(name: &str, version: u64, messages: u64) -> Protocol {
        Protocol { capability: Capability::new(name, version), messages }
    }

    #[test]
    fn shared_capabilities_take_the_highest_common_version_in_name_order() {
        let ours = [protocol("eth", 68, 17), protocol("eth", 69, 18), protocol("snap", 1, 8)];
        let theirs = [
            Capability::new("snap", 1),
            Capability::new("eth", 66),
            Capability::new("eth", 68),
            Capability::new("les", 4),
        ];
        let shared = negotiate(&ours, &theirs);
        assert_eq!(
            shared,
            vec![
                SharedCapability {
                    capability: Capability::new("eth", 68),
                    offset: 0x10,
                    messages: 17
                },
                SharedCapability {
                    capability: Capability::new("snap", 1),
                    offset: 0x21,
                    messages: 8
                },
            ]
        );
        assert!(negotiate(&ours, &[Capability::new("les", 4)]).is_empty());
    }

    #[test]
    fn hello_round_trips_and_extra_elements_are_ignored() {
        let hello = Hello {
            protocol_version: 5,
            client_id: "snapsync/0.1".into(),
            capabilities: vec![Capability::new("eth", 68), Capability::new("snap", 1)],
            listen_port: 30303,
            id: NodeKey::generate().id(),
        };
        let payload = hello.encode_payload();
        assert_eq!(Hello::decode_payload(&payload).unwrap(), hello);

        // The same list with one more element appended (a future version's field).
        let mut items = list(&payload).unwrap().to_vec();
        7u8.encode(&mut items);
        let mut longer = Vec::new();
        Header { list: true, payload_length: items.len() }.encode(&mut longer);
        longer.extend_from_slice(&items);
        assert_eq!(Hello::decode_payload(&longer).unwrap(), hello);
    }

    #[test]
    fn disconnect_reasons_are_read_in_every_shape_clients_send() {
        assert_eq!(
            DisconnectReason::decode_payload(&DisconnectReason::TooManyPeers.encode_payload()),
            DisconnectReason::TooManyPeers
        );
        assert_eq!(DisconnectReason::decode_payload(&[0x04]), DisconnectReason::TooManyPeers);
        assert_eq!(DisconnectReason::decode_payload(&[0xc0]), DisconnectReason::Requested);
        assert_eq!(DisconnectReason::decode_payload(&[]), DisconnectReason::Requested);
        assert_eq!(DisconnectReason::from_code(0x33), DisconnectReason::Other(0x33));
    }

    proptest! {
        #[test]
        fn hostile_hello_and_disconnect_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Hello::decode_payload(&bytes);
            let _ = DisconnectReason::decode_payload(&bytes);
        }
    }
}
