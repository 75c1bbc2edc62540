//! An eth (and snap) connection: a session whose Status exchange succeeded, carrying typed
//! messages.
//!
//! [`Connection::establish`] takes the halves of a [`Session`](crate::Session), sends our Status,
//! waits (bounded by [`RlpxConfig::status_timeout`]) for the peer's, and validates it against
//! [`ChainStatus`]; on failure it tells the peer why (the reason
//! [`ConnectionError::disconnect_reason`] gives) and returns a typed error. After it, the
//! [`ConnectionReader`] yields [`PeerMessage`]s decoded per negotiated capability and version,
//! and the [`ConnectionWriter`] sends requests under fresh request ids. A peer manager runs one
//! reader loop per connection and routes responses by [`PeerMessage::request_id`].

use crate::{
    Capability, ChainStatus, ConnectionError, DisconnectReason, Incoming, Protocol, RlpxConfig,
    SessionInfo, SessionReader, SessionWriter,
    eth::{EthMessage, EthVersion, GetBlockBodies, GetBlockHeaders, GetReceipts, Status, ids},
};
use alloy_primitives::B256;
use snapsync_net::HeadersRequest;
use snapsync_primitives::SnapMessage;
use tokio::io::{AsyncRead, AsyncWrite};

/// snap/1 with its 8 message ids.
pub fn snap_protocol() -> Protocol {
    Protocol { capability: Capability::new("snap", 1), messages: 8 }
}

/// The capabilities this crate speaks: eth/68, eth/69 and snap/1 (for Hello and
/// [`Session::establish`](crate::Session::establish)).
pub fn protocols() -> Vec<Protocol> {
    let mut protocols: Vec<Protocol> = EthVersion::ALL.iter().map(|v| v.protocol()).collect();
    protocols.push(snap_protocol());
    protocols
}

/// A message from the peer, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMessage {
    /// An eth message.
    Eth(EthMessage),
    /// A snap/1 message.
    Snap(SnapMessage),
    /// The peer asked for a Pong ([`ConnectionWriter::pong`]).
    Ping,
    /// The peer answered a Ping.
    Pong,
}

impl PeerMessage {
    /// The request id of a request or response.
    pub const fn request_id(&self) -> Option<u64> {
        match self {
            Self::Eth(message) => message.request_id(),
            Self::Snap(message) => Some(message.request_id()),
            Self::Ping | Self::Pong => None,
        }
    }

    /// Whether the message answers a request of ours.
    pub const fn is_response(&self) -> bool {
        match self {
            Self::Eth(message) => message.is_response(),
            Self::Snap(message) => !message.is_request(),
            Self::Ping | Self::Pong => false,
        }
    }
}

/// What the Hellos and Statuses settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The session: the peer's Hello, the shared capabilities.
    pub session: SessionInfo,
    /// The eth version spoken.
    pub eth: EthVersion,
    /// Whether snap/1 is shared.
    pub snap: bool,
    /// The peer's Status.
    pub peer_status: Status,
}

/// Where eth and snap sit among the session's shared capabilities.
#[derive(Debug, Clone, Copy)]
struct Layout {
    eth: usize,
    version: EthVersion,
    snap: Option<usize>,
}

impl Layout {
    fn of(session: &SessionInfo) -> Option<Self> {
        let find = |name: &str| session.shared.iter().position(|s| s.capability.name == name);
        let eth = find("eth")?;
        let version = EthVersion::from_number(session.shared[eth].capability.version)?;
        let snap = find("snap").filter(|&i| session.shared[i].capability.version == 1);
        Some(Self { eth, version, snap })
    }
}

/// Establishing a connection.
#[derive(Debug)]
pub struct Connection;

impl Connection {
    /// Exchanges and validates Status over an established session.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::NoEth`] without a shared eth version; [`ConnectionError::StatusTimeout`]
    /// when the peer's Status does not come in time; [`ConnectionError::ExpectedStatus`] when
    /// something else comes first; the decode errors of a malformed Status; the validation
    /// errors of [`ChainStatus::validate`]; p2p errors. The peer is sent a Disconnect with the
    /// error's reason before the error is returned.
    pub async fn establish<R, W>(
        reader: SessionReader<R>,
        writer: SessionWriter<W>,
        session: SessionInfo,
        chain: &ChainStatus,
        config: &RlpxConfig,
    ) -> Result<(ConnectionReader<R>, ConnectionWriter<W>, ConnectionInfo), ConnectionError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let Some(layout) = Layout::of(&session) else {
            let mut writer = writer;
            let _ = writer.disconnect(DisconnectReason::UselessPeer).await;
            return Err(ConnectionError::NoEth);
        };
        let mut reader = ConnectionReader { inner: reader, layout };
        let mut writer = ConnectionWriter { inner: writer, layout, next_request_id: 0 };
        let result = exchange_status(&mut reader, &mut writer, layout, chain, config).await;
        match result {
            Ok(peer_status) => {
                tracing::debug!(target: "devp2p::eth", peer = %session.remote.client_id, version = %layout.version, "status exchanged");
                let info = ConnectionInfo {
                    session,
                    eth: layout.version,
                    snap: layout.snap.is_some(),
                    peer_status,
                };
                Ok((reader, writer, info))
            }
            Err(error) => {
                tracing::debug!(target: "devp2p::eth", peer = %session.remote.client_id, %error, "status exchange failed");
                if let Some(reason) = error.disconnect_reason() {
                    let _ = writer.inner.disconnect(reason).await;
                }
                Err(error)
            }
        }
    }
}

async fn exchange_status<R, W>(
    reader: &mut ConnectionReader<R>,
    writer: &mut ConnectionWriter<W>,
    layout: Layout,
    chain: &ChainStatus,
    config: &RlpxConfig,
) -> Result<Status, ConnectionError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let ours = chain.status(layout.version);
    let exchange = async {
        writer.inner.send(layout.eth, ids::STATUS, &ours.encode()).await?;
        loop {
            match reader.inner.recv().await? {
                Incoming::Ping => writer.inner.pong().await?,
                Incoming::Pong => {}
                Incoming::Message(message)
                    if message.capability == layout.eth && message.id == ids::STATUS =>
                {
                    return Ok(Status::decode(layout.version, &message.payload)?);
                }
                Incoming::Message(message) => {
                    return Err(ConnectionError::ExpectedStatus { id: message.id });
                }
            }
        }
    };
    let theirs = tokio::time::timeout(config.status_timeout, exchange)
        .await
        .map_err(|_| ConnectionError::StatusTimeout(config.status_timeout))??;
    chain.validate(&theirs)?;
    Ok(theirs)
}

/// The reading half of a connection.
pub struct ConnectionReader<R> {
    inner: SessionReader<R>,
    layout: Layout,
}

impl<R: AsyncRead + Unpin> ConnectionReader<R> {
    /// Waits for the peer's next message and decodes it. Not cancel-safe (a frame half read is
    /// lost): run it in one task, not in a `select!` against other work.
    ///
    /// # Errors
    ///
    /// p2p errors (the peer disconnected, I/O, oversized or corrupt frames); eth or snap decode
    /// errors; [`ConnectionError::StatusAgain`] for a second Status.
    pub async fn recv(&mut self) -> Result<PeerMessage, ConnectionError> {
        let message = match self.inner.recv().await? {
            Incoming::Ping => return Ok(PeerMessage::Ping),
            Incoming::Pong => return Ok(PeerMessage::Pong),
            Incoming::Message(message) => message,
        };
        let layout = self.layout;
        if message.capability == layout.eth {
            match EthMessage::decode(layout.version, message.id, &message.payload)? {
                EthMessage::Status(_) => Err(ConnectionError::StatusAgain),
                eth => Ok(PeerMessage::Eth(eth)),
            }
        } else if Some(message.capability) == layout.snap {
            // Session only yields ids below the capability's count (8), so the cast is exact.
            let id = u8::try_from(message.id)
                .map_err(|_| crate::P2pError::UnknownMessage(message.id))?;
            Ok(PeerMessage::Snap(SnapMessage::decode(id, &message.payload)?))
        } else {
            Err(crate::P2pError::UnknownMessage(message.id).into())
        }
    }
}

/// The writing half of a connection.
pub struct ConnectionWriter<W> {
    inner: SessionWriter<W>,
    layout: Layout,
    next_request_id: u64,
}

impl<W: AsyncWrite + Unpin> ConnectionWriter<W> {
    /// A request id not used before on this connection.
    pub const fn next_request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        id
    }

    /// Sends an eth message in the negotiated version's shape.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::NotSendable`] for a message the version does not have (or gossip);
    /// p2p errors.
    pub async fn send_eth(&mut self, message: &EthMessage) -> Result<(), ConnectionError> {
        let layout = self.layout;
        let payload = message
            .encode(layout.version)
            .ok_or(ConnectionError::NotSendable("this eth message"))?;
        Ok(self.inner.send(layout.eth, message.id(), &payload).await?)
    }

    /// Sends a snap/1 message.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::NotSendable`] when snap/1 was not negotiated; p2p errors.
    pub async fn send_snap(&mut self, message: &SnapMessage) -> Result<(), ConnectionError> {
        let snap =
            self.layout.snap.ok_or(ConnectionError::NotSendable("snap/1 (not negotiated)"))?;
        Ok(self.inner.send(snap, u64::from(message.id()), &message.to_rlp()).await?)
    }

    /// Asks for headers; returns the request id the answer will carry.
    ///
    /// # Errors
    ///
    /// As [`send_eth`](Self::send_eth).
    pub async fn get_block_headers(
        &mut self,
        request: HeadersRequest,
    ) -> Result<u64, ConnectionError> {
        let request_id = self.next_request_id();
        self.send_eth(&EthMessage::GetBlockHeaders(GetBlockHeaders { request_id, request }))
            .await?;
        Ok(request_id)
    }

    /// Asks for the bodies of the blocks with these hashes; returns the request id.
    ///
    /// # Errors
    ///
    /// As [`send_eth`](Self::send_eth).
    pub async fn get_block_bodies(&mut self, hashes: Vec<B256>) -> Result<u64, ConnectionError> {
        let request_id = self.next_request_id();
        self.send_eth(&EthMessage::GetBlockBodies(GetBlockBodies { request_id, hashes })).await?;
        Ok(request_id)
    }

    /// Asks for the receipts of the blocks with these hashes; returns the request id.
    ///
    /// # Errors
    ///
    /// As [`send_eth`](Self::send_eth).
    pub async fn get_receipts(&mut self, hashes: Vec<B256>) -> Result<u64, ConnectionError> {
        let request_id = self.next_request_id();
        self.send_eth(&EthMessage::GetReceipts(GetReceipts { request_id, hashes })).await?;
        Ok(request_id)
    }

    /// Answers a Ping.
    ///
    /// # Errors
    ///
    /// p2p errors.
    pub async fn pong(&mut self) -> Result<(), ConnectionError> {
        Ok(self.inner.pong().await?)
    }

    /// Sends a Ping.
    ///
    /// # Errors
    ///
    /// p2p errors.
    pub async fn ping(&mut self) -> Result<(), ConnectionError> {
        Ok(self.inner.ping().await?)
    }

    /// Says goodbye.
    ///
    /// # Errors
    ///
    /// p2p errors.
    pub async fn disconnect(&mut self, reason: DisconnectReason) -> Result<(), ConnectionError> {
        Ok(self.inner.disconnect(reason).await?)
    }
}
