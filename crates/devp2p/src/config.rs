//! Bounds for one RLPx connection. Every wait and every size a peer controls has one.

use std::time::Duration;

/// The bounds of an RLPx connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlpxConfig {
    /// Time for the whole handshake (TCP aside): `auth`, `ack` and both Hellos. Default 10 s.
    pub handshake_timeout: Duration,
    /// Largest `auth` or `ack` message accepted, size prefix included. Default 2 KiB (EIP-8
    /// messages from geth and ethereumjs are under 700 bytes).
    pub max_handshake_bytes: usize,
    /// Largest frame accepted (compressed message size plus its id). Default 16 MiB.
    pub max_frame_bytes: usize,
    /// Largest message accepted after decompression, checked from the snappy header before
    /// anything is allocated. Default 16 MiB, the spec's bound.
    pub max_message_bytes: usize,
    /// Time for the eth Status exchange after the Hellos: our Status sent, the peer's received.
    /// Default 10 s.
    pub status_timeout: Duration,
}

impl RlpxConfig {
    /// Default [`handshake_timeout`](Self::handshake_timeout): 10 s.
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default [`max_handshake_bytes`](Self::max_handshake_bytes): 2 KiB.
    pub const DEFAULT_MAX_HANDSHAKE_BYTES: usize = 2048;
    /// Default [`max_frame_bytes`](Self::max_frame_bytes): 16 MiB.
    pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 << 20;
    /// Default [`max_message_bytes`](Self::max_message_bytes): 16 MiB.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;
    /// Default [`status_timeout`](Self::status_timeout): 10 s.
    pub const DEFAULT_STATUS_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for RlpxConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
            max_handshake_bytes: Self::DEFAULT_MAX_HANDSHAKE_BYTES,
            max_frame_bytes: Self::DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            status_timeout: Self::DEFAULT_STATUS_TIMEOUT,
        }
    }
}
