//! A p2p session: an [`RlpxStream`] after both Hellos, carrying the shared capabilities'
//! messages (snappy-compressed, p2p v5) and the p2p keep-alives.
//!
//! [`Session::establish`] exchanges Hellos and lays out the id space; it returns a reading and
//! a writing half so one task can wait for the peer's messages while others send requests
//! (reading a frame is not cancel-safe, so it must not race in a `select!` with sending).

use crate::{
    DisconnectReason, FrameError, Hello, P2P_VERSION, P2pError, Protocol, RlpxConfig, RlpxReader,
    RlpxStream, RlpxWriter, SharedCapability, negotiate, p2p::ids,
};
use alloy_rlp::{Decodable, Encodable};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};

/// A capability message received from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Index of the capability in [`SessionInfo::shared`].
    pub capability: usize,
    /// The message's id within its capability (0 for eth's Status, ...).
    pub id: u64,
    /// The message's RLP payload, decompressed.
    pub payload: Vec<u8>,
}

/// What the reading half yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A message of a shared capability.
    Message(Message),
    /// The peer asked for a Pong; the owner answers with [`SessionWriter::pong`].
    Ping,
    /// The peer answered a Ping.
    Pong,
}

/// What both Hellos settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The peer's Hello.
    pub remote: Hello,
    /// The capabilities both sides speak, laid out in the id space.
    pub shared: Vec<SharedCapability>,
}

/// Establishing a session.
#[derive(Debug)]
pub struct Session;

impl Session {
    /// Sends `hello`, reads the peer's, checks it names the node the handshake authenticated,
    /// and negotiates the shared capabilities among `protocols` — all within the handshake
    /// timeout.
    ///
    /// # Errors
    ///
    /// [`P2pError`]: the peer disconnects or sends something else than Hello, names another
    /// node, shares no capability, or is too slow.
    pub async fn establish<Io: AsyncRead + AsyncWrite + Unpin>(
        mut stream: RlpxStream<Io>,
        hello: &Hello,
        protocols: &[Protocol],
        config: &RlpxConfig,
    ) -> Result<(SessionReader<ReadHalf<Io>>, SessionWriter<WriteHalf<Io>>, SessionInfo), P2pError>
    {
        let exchange = async {
            stream.write_frame(&frame(ids::HELLO, &hello.encode_payload())).await?;
            let data = stream.read_frame().await?;
            let (id, payload) = split_id(&data)?;
            match id {
                ids::HELLO => Hello::decode_payload(payload),
                ids::DISCONNECT => {
                    Err(P2pError::Disconnected(DisconnectReason::decode_payload(payload)))
                }
                other => Err(P2pError::ExpectedHello(other)),
            }
        };
        let remote = tokio::time::timeout(config.handshake_timeout, exchange)
            .await
            .map_err(|_| P2pError::Timeout(config.handshake_timeout))??;
        if remote.id != stream.remote() {
            return Err(P2pError::HelloIdentity);
        }
        let shared = negotiate(protocols, &remote.capabilities);
        if shared.is_empty() {
            let offered =
                remote.capabilities.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let mut stream = stream;
            let _ = stream
                .write_frame(&frame(
                    ids::DISCONNECT,
                    &DisconnectReason::UselessPeer.encode_payload(),
                ))
                .await;
            return Err(P2pError::NoSharedCapability { offered });
        }
        let compressed = remote.protocol_version >= P2P_VERSION;
        let (reader, writer) = stream.into_split();
        let info = SessionInfo { remote, shared: shared.clone() };
        Ok((
            SessionReader { reader, shared: shared.clone(), compressed, config: config.clone() },
            SessionWriter { writer, shared, compressed },
            info,
        ))
    }
}

/// The reading half of a session.
pub struct SessionReader<R> {
    reader: RlpxReader<R>,
    shared: Vec<SharedCapability>,
    compressed: bool,
    config: RlpxConfig,
}

impl<R: AsyncRead + Unpin> SessionReader<R> {
    /// Waits for the peer's next message or keep-alive.
    ///
    /// # Errors
    ///
    /// [`P2pError::Disconnected`] when the peer says goodbye; frame, RLP and snappy errors;
    /// [`P2pError::Decompressed`] for a message over the bound (refused before allocating); a
    /// message id outside every shared capability is a breach of protocol.
    pub async fn recv(&mut self) -> Result<Incoming, P2pError> {
        let data = self.reader.read_frame().await?;
        let (id, payload) = split_id(&data)?;
        if id == ids::DISCONNECT {
            // Some clients (ethereumjs) send Disconnect uncompressed even after p2p v5.
            let payload = decompress(payload, self.config.max_message_bytes)
                .unwrap_or_else(|_| payload.to_vec());
            return Err(P2pError::Disconnected(DisconnectReason::decode_payload(&payload)));
        }
        let payload = if self.compressed && id != ids::HELLO {
            decompress(payload, self.config.max_message_bytes)?
        } else {
            payload.to_vec()
        };
        match id {
            ids::PING => Ok(Incoming::Ping),
            ids::PONG => Ok(Incoming::Pong),
            id => self.capability_message(id, payload),
        }
    }

    fn capability_message(&self, id: u64, payload: Vec<u8>) -> Result<Incoming, P2pError> {
        let (capability, shared) = self
            .shared
            .iter()
            .enumerate()
            .find(|(_, s)| (s.offset..s.offset + s.messages).contains(&id))
            .ok_or(P2pError::UnknownMessage(id))?;
        Ok(Incoming::Message(Message { capability, id: id - shared.offset, payload }))
    }
}

/// The writing half of a session.
pub struct SessionWriter<W> {
    writer: RlpxWriter<W>,
    shared: Vec<SharedCapability>,
    compressed: bool,
}

impl<W: AsyncWrite + Unpin> SessionWriter<W> {
    /// Sends message `id` of the shared capability at index `capability`.
    ///
    /// # Errors
    ///
    /// [`P2pError::UnknownMessage`] if the capability or id is outside the negotiated space;
    /// frame errors.
    pub async fn send(
        &mut self,
        capability: usize,
        id: u64,
        payload: &[u8],
    ) -> Result<(), P2pError> {
        let shared = self.shared.get(capability).filter(|s| id < s.messages);
        let absolute = shared.map(|s| s.offset + id).ok_or(P2pError::UnknownMessage(id))?;
        self.send_raw(absolute, payload).await
    }

    /// Answers a Ping.
    ///
    /// # Errors
    ///
    /// Frame errors.
    pub async fn pong(&mut self) -> Result<(), P2pError> {
        self.send_raw(ids::PONG, &[0xc0]).await
    }

    /// Asks the peer for a Pong (a keep-alive).
    ///
    /// # Errors
    ///
    /// Frame errors.
    pub async fn ping(&mut self) -> Result<(), P2pError> {
        self.send_raw(ids::PING, &[0xc0]).await
    }

    /// Says goodbye; the caller then drops the session.
    ///
    /// # Errors
    ///
    /// Frame errors.
    pub async fn disconnect(&mut self, reason: DisconnectReason) -> Result<(), P2pError> {
        self.send_raw(ids::DISCONNECT, &reason.encode_payload()).await
    }

    async fn send_raw(&mut self, id: u64, payload: &[u8]) -> Result<(), P2pError> {
        let data =
            if self.compressed { frame(id, &compress(payload)?) } else { frame(id, payload) };
        Ok(self.writer.write_frame(&data).await?)
    }
}

fn frame(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(id.length() + payload.len());
    id.encode(&mut data);
    data.extend_from_slice(payload);
    data
}

fn split_id(data: &[u8]) -> Result<(u64, &[u8]), P2pError> {
    let mut rest = data;
    let id = u64::decode(&mut rest).map_err(|_| P2pError::Frame(FrameError::MissingMessageId))?;
    Ok((id, rest))
}

fn compress(payload: &[u8]) -> Result<Vec<u8>, P2pError> {
    snap::raw::Encoder::new()
        .compress_vec(payload)
        .map_err(|_| P2pError::Frame(FrameError::MessageTooLarge(payload.len())))
}

fn decompress(payload: &[u8], max: usize) -> Result<Vec<u8>, P2pError> {
    let size = snap::raw::decompress_len(payload).map_err(|e| P2pError::Snappy(e.to_string()))?;
    if size > max {
        return Err(P2pError::Decompressed { size, max });
    }
    snap::raw::Decoder::new().decompress_vec(payload).map_err(|e| P2pError::Snappy(e.to_string()))
}

#[cfg(test)]
mod tests;
