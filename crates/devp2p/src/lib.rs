//! RLPx for snapsync: the encrypted, authenticated TCP transport Ethereum nodes speak, and the
//! `p2p` capability (Hello, Disconnect, Ping, Pong) on top of it.
//!
//! # Why a crate of its own
//!
//! The snapsync library never opens a socket: an embedding client brings its own network and
//! implements the client traits. This crate is the transport for the cases where there is no such
//! client — the CLI syncing from and serving to real nodes — and it is optional.
//!
//! The Rust RLPx crates on the registry are unmaintained (written for futures 0.1) and reth's
//! are not published, so this is written here, composing kept crates for every primitive:
//! k256 (secp256k1 ECDH and recoverable signatures), aes + ctr, hmac + sha2, alloy's keccak,
//! snap (snappy), alloy-rlp. No cryptographic primitive is written by hand.
//!
//! # How the pieces fit
//!
//! - [`NodeKey`], [`NodeId`], [`Enode`]: identity.
//! - `ecies`: the handshake's asymmetric encryption.
//! - `handshake`: `auth`/`ack` (EIP-8 sent; EIP-8 and legacy accepted) and the derived secrets.
//! - `mac` and `frame`: the per-direction keccak MAC states and the frame cipher, pure and
//!   synchronous over byte buffers, every size checked before anything is allocated.
//!
//! - `session`: Hello and the shared capabilities' id space ([`Session`]).
//! - [`eth`]: the eth/68 and eth/69 messages; snap/1's are `snapsync-primitives`'
//!   [`SnapMessage`](snapsync_primitives::SnapMessage).
//! - [`Connection`]: the Status exchange, validated against [`ChainStatus`] (network id, genesis,
//!   EIP-2124 fork id from `snapsync-genesis`' chain spec), then typed [`PeerMessage`]s in and
//!   requests out, each with a request id a reader loop can route responses by.
//! - [`Network`]: the peer manager. It dials and accepts, runs one set of tasks per
//!   connection, and implements the sync's `PeerSource` and `PeerRequests` over its peers;
//!   it answers peers' requests through a [`RequestHandler`] ([`StoreHandler`]: a snapsync store
//!   through `snapsync-server`; [`Withholding`]: the kinds of history withheld answered empty). Bounded in peers, requests in flight both ways, unsolicited
//!   replies, silence and handshakes ([`NetworkConfig`]).
//!
//! # Security
//!
//! Everything a peer sends is bounded before it is read: the handshake's size and time, the
//! frame size, and a message's decompressed size (from the snappy header, before allocating).
//! Any byte sequence yields an error, never a panic (property tests feed arbitrary bytes to every
//! decoder).

#![cfg_attr(test, allow(unused_crate_dependencies))]

mod chain_status;
mod config;
mod connection;
mod ecies;
mod error;
pub mod eth;
mod frame;
mod handshake;
mod mac;
mod network;
mod node;
mod p2p;
mod session;
mod stream;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use chain_status::{ChainHead, ChainStatus};
pub use config::RlpxConfig;
pub use connection::{
    Connection, ConnectionInfo, ConnectionReader, ConnectionWriter, PeerMessage, protocols,
    snap_protocol,
};
pub use ecies::{ECIES_OVERHEAD, decrypt as ecies_decrypt, encrypt as ecies_encrypt};
pub use error::{
    ConnectionError, EciesError, EthWireError, FrameError, HandshakeError, NetworkError, P2pError,
};
pub use frame::{FrameReader, FrameWriter, HEADER_LEN, MAX_FRAME_SIZE, body_len};
pub use network::{
    EmptyHandler, HistoryKind, MAX_BANS, Network, NetworkConfig, PeerEnd, PeerRecord,
    RequestHandler, StoreHandler, Withholding,
};
pub use node::{Enode, EnodeError, NodeId, NodeKey};
pub use p2p::{
    Capability, DisconnectReason, Hello, P2P_VERSION, Protocol, SharedCapability, negotiate,
};
pub use session::{Incoming, Message, Session, SessionInfo, SessionReader, SessionWriter};
pub use stream::{RlpxReader, RlpxStream, RlpxWriter};
