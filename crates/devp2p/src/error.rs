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
