//! What can go wrong on an RLPx connection, split by layer so a caller can tell a peer that
//! sent garbage (disconnect and ban) from a socket that closed (forget the peer).

use std::io;

/// ECIES encryption or decryption failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EciesError {
    /// The message is shorter than the ECIES overhead (public key, IV and tag).
    #[error("ECIES message of {len} bytes is shorter than the {min}-byte overhead")]
    TooShort {
        /// The message's length.
        len: usize,
        /// The overhead: 65-byte public key, 16-byte IV, 32-byte tag.
        min: usize,
    },
    /// The sender's ephemeral public key is not a point on secp256k1.
    #[error("ECIES ephemeral public key is not a valid secp256k1 point")]
    InvalidPublicKey,
    /// The tag does not authenticate the ciphertext: wrong recipient or tampered bytes.
    #[error("ECIES tag does not match: not encrypted to this node, or altered in transit")]
    TagMismatch,
}

/// The handshake's `auth` or `ack` message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Reading or writing the socket failed.
    #[error("handshake I/O: {0}")]
    Io(#[from] io::Error),
    /// The peer did not finish its part of the handshake in time.
    #[error("the peer did not complete the handshake within {0:?}")]
    Timeout(std::time::Duration),
    /// The size prefix announces more than the handshake bound allows.
    #[error("handshake message of {size} bytes exceeds the {max}-byte bound")]
    TooLarge {
        /// The announced size.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The message did not decrypt.
    #[error("handshake message: {0}")]
    Ecies(#[from] EciesError),
    /// The decrypted body is not a valid `auth`/`ack` body.
    #[error("malformed {message} body: {reason}")]
    Malformed {
        /// `auth` or `ack`.
        message: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The `auth` signature does not recover to a valid key.
    #[error("auth signature does not recover to a public key")]
    BadSignature,
    /// The peer's identity is not the one dialled.
    #[error("the peer answered with a different identity than the one dialled")]
    UnexpectedIdentity,
}

/// A frame could not be read or authenticated.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Reading or writing the socket failed.
    #[error("frame I/O: {0}")]
    Io(#[from] io::Error),
    /// The header MAC does not match: the stream was altered or desynchronised.
    #[error("frame header MAC mismatch")]
    HeaderMac,
    /// The body MAC does not match.
    #[error("frame body MAC mismatch")]
    BodyMac,
    /// The frame announces more bytes than the bound allows.
    #[error("frame of {size} bytes exceeds the {max}-byte bound")]
    TooLarge {
        /// The announced size.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// An outgoing message does not fit the 24-bit frame size.
    #[error("message of {0} bytes does not fit in one frame")]
    MessageTooLarge(usize),
    /// The frame's body does not start with a message id.
    #[error("frame carries no message id")]
    MissingMessageId,
}

/// A p2p-level message was malformed or not allowed.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The frame layer failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// A message's RLP did not decode.
    #[error("malformed {message}: {source}")]
    Rlp {
        /// The message being decoded.
        message: &'static str,
        /// The decoder's complaint.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A compressed message announces a decompressed size over the bound.
    #[error("message decompresses to {size} bytes, over the {max}-byte bound")]
    Decompressed {
        /// The size the snappy header announces.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The snappy data is corrupt.
    #[error("snappy: {0}")]
    Snappy(String),
    /// The peer disconnected, giving a reason.
    #[error("the peer disconnected: {0}")]
    Disconnected(crate::DisconnectReason),
    /// The first message after the handshake was not Hello.
    #[error("expected Hello, the peer sent message id {0:#x}")]
    ExpectedHello(u64),
    /// The peer's Hello names a different node than the handshake authenticated.
    #[error("Hello's node id differs from the handshake's")]
    HelloIdentity,
    /// No capability is shared with the peer.
    #[error("no shared capability (the peer offers {offered})")]
    NoSharedCapability {
        /// The peer's capabilities, as `name/version` list.
        offered: String,
    },
    /// A message id outside p2p's and every shared capability's range.
    #[error("message id {0:#x} belongs to no shared capability")]
    UnknownMessage(u64),
    /// The peer did not send its Hello in time, or was silent for too long.
    #[error("the peer was silent for {0:?}")]
    Timeout(std::time::Duration),
}

/// An eth message could not be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EthWireError {
    /// The RLP is malformed, a field is missing or out of range.
    #[error("malformed {message}: {source}")]
    Rlp {
        /// The message (or part) being decoded.
        message: &'static str,
        /// The decoder's complaint.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A list has more items than the bound allows.
    #[error("{message} has more than {max} items")]
    TooManyItems {
        /// The message.
        message: &'static str,
        /// The bound.
        max: usize,
    },
    /// Bytes follow the message's RLP.
    #[error("bytes follow the RLP of {message}")]
    TrailingBytes {
        /// The message.
        message: &'static str,
    },
    /// The message id is not one of the version's.
    #[error("{version} has no message id {id:#04x}")]
    UnknownMessage {
        /// The negotiated version.
        version: crate::eth::EthVersion,
        /// The id (relative to eth's offset).
        id: u64,
    },
    /// The Status announces another version than the one negotiated in Hello.
    #[error("Status announces eth/{announced}, but {negotiated} was negotiated")]
    StatusVersion {
        /// The negotiated version.
        negotiated: crate::eth::EthVersion,
        /// The version in the Status.
        announced: u64,
    },
    /// An eth/69 receipt names a transaction type that does not exist.
    #[error("receipt of unknown transaction type {0:#04x}")]
    UnknownTxType(u8),
    /// A block range with its first block after its last.
    #[error("block range {earliest}..={latest} is empty")]
    InvalidRange {
        /// The first block.
        earliest: u64,
        /// The last block.
        latest: u64,
    },
}

/// The eth/snap connection failed, or the peer is not one to sync from.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The p2p session failed (I/O, framing, snappy, the peer disconnected).
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// An eth message did not decode.
    #[error("eth: {0}")]
    Eth(#[from] EthWireError),
    /// A snap message did not decode.
    #[error("snap: {0}")]
    Snap(#[from] snapsync_primitives::DecodeError),
    /// The session shares no eth version (snap/1 runs beside eth, never alone).
    #[error("the peer shares no eth version with us")]
    NoEth,
    /// The peer's Status did not arrive in time.
    #[error("no Status from the peer within {0:?}")]
    StatusTimeout(std::time::Duration),
    /// The peer's first eth message was not Status.
    #[error("expected Status, the peer sent eth message {id:#04x}")]
    ExpectedStatus {
        /// The message's id.
        id: u64,
    },
    /// The peer sent a second Status.
    #[error("the peer sent Status again")]
    StatusAgain,
    /// The peer is on another network.
    #[error("network id {theirs} differs from ours ({ours})")]
    NetworkId {
        /// Ours.
        ours: u64,
        /// The peer's.
        theirs: u64,
    },
    /// The peer has another genesis block.
    #[error("genesis {theirs} differs from ours ({ours})")]
    Genesis {
        /// Ours.
        ours: alloy_primitives::B256,
        /// The peer's.
        theirs: alloy_primitives::B256,
    },
    /// The peer's fork id is incompatible with our chain (EIP-2124).
    #[error("fork id: {0}")]
    ForkId(#[from] snapsync_genesis::ForkIdError),
    /// A message to send does not exist in the negotiated version, or the capability was
    /// not negotiated.
    #[error("{0} cannot be sent on this connection")]
    NotSendable(&'static str),
}

impl ConnectionError {
    /// The Disconnect reason to give the peer for this error, if one should be sent: 0x10
    /// (subprotocol-specific) when its Status shows it is on another chain or version, 0x03
    /// (useless peer) without eth, 0x02 (breach of protocol) for malformed or unexpected
    /// messages, 0x0b (geth's read timeout) for a Status that never came. None when the
    /// connection is already gone.
    pub const fn disconnect_reason(&self) -> Option<crate::DisconnectReason> {
        use crate::DisconnectReason as R;
        match self {
            Self::NetworkId { .. } | Self::Genesis { .. } | Self::ForkId(_) => {
                Some(R::SubprotocolSpecific)
            }
            Self::Eth(EthWireError::StatusVersion { .. }) => Some(R::SubprotocolSpecific),
            Self::NoEth => Some(R::UselessPeer),
            Self::Eth(_) | Self::Snap(_) | Self::ExpectedStatus { .. } | Self::StatusAgain => {
                Some(R::ProtocolBreach)
            }
            Self::P2p(P2pError::Rlp { .. } | P2pError::UnknownMessage(_) | P2pError::Snappy(_))
            | Self::P2p(P2pError::Decompressed { .. }) => Some(R::ProtocolBreach),
            Self::StatusTimeout(_) => Some(R::PingTimeout),
            Self::P2p(_) | Self::NotSendable(_) => None,
        }
    }
}

/// A peer could not be added to the [`Network`](crate::Network).
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The network was shut down.
    #[error("the network is shut down")]
    Closed,
    /// The node is banned.
    #[error("node {id} is banned: {why}")]
    Banned {
        /// The node.
        id: crate::NodeId,
        /// Why.
        why: String,
    },
    /// The node is connected already.
    #[error("node {0} is already connected")]
    AlreadyConnected(crate::NodeId),
    /// The peer table is full.
    #[error("already {max} peers connected")]
    TooManyPeers {
        /// The bound.
        max: usize,
    },
    /// The node to dial is this one.
    #[error("refusing to dial this node itself")]
    ConnectedToSelf,
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection took too long.
    #[error("no TCP connection to {addr} within {timeout:?}")]
    ConnectTimeout {
        /// The address.
        addr: std::net::SocketAddr,
        /// The bound.
        timeout: std::time::Duration,
    },
    /// The RLPx handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The Hello exchange failed.
    #[error("session: {0}")]
    Session(#[from] P2pError),
    /// The Status exchange failed or the peer is on another chain.
    #[error("status: {0}")]
    Connection(#[from] ConnectionError),
}
