//! An RLPx connection over any async byte stream (a `TcpStream` in practice): the handshake as
//! initiator ([`RlpxStream::connect`]) or recipient ([`RlpxStream::accept`]), then whole frames
//! in and out.

use crate::{
    FrameError, FrameReader, FrameWriter, HEADER_LEN, HandshakeError, NodeId, NodeKey, RlpxConfig,
    body_len,
    frame::frame_codec,
    handshake::{self, Message},
};
use rand_core::OsRng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

/// An established RLPx connection: frames of the peer [`remote`](Self::remote).
pub struct RlpxStream<Io> {
    io: Io,
    reader: FrameReader,
    writer: FrameWriter,
    remote: NodeId,
}

impl<Io> std::fmt::Debug for RlpxStream<Io> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RlpxStream").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> RlpxStream<Io> {
    /// Performs the handshake as initiator with the node `remote`, within the configured time.
    ///
    /// # Errors
    ///
    /// [`HandshakeError`]: I/O, timeout, a message over the bound, or one that does not decrypt
    /// or decode.
    pub async fn connect(
        mut io: Io,
        key: &NodeKey,
        remote: NodeId,
        config: &RlpxConfig,
    ) -> Result<Self, HandshakeError> {
        let remote_key = remote.public_key().ok_or(HandshakeError::UnexpectedIdentity)?;
        let exchange = async {
            let (initiator, auth) = handshake::Initiator::start(key, &remote_key, &mut OsRng)?;
            io.write_all(&auth).await?;
            let ack = read_handshake_message(&mut io, key, Message::Ack, config).await?;
            initiator.finish(key, &ack)
        };
        let secrets = bounded(config, exchange).await?;
        let (reader, writer) = frame_codec(secrets, config.max_frame_bytes);
        Ok(Self { io, reader, writer, remote })
    }

    /// Performs the handshake as recipient; the initiator's id comes from its `auth`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn accept(
        mut io: Io,
        key: &NodeKey,
        config: &RlpxConfig,
    ) -> Result<Self, HandshakeError> {
        let exchange = async {
            let auth = read_handshake_message(&mut io, key, Message::Auth, config).await?;
            let received = handshake::read_auth(key, &auth)?;
            let (ack, secrets) = handshake::respond(&received, &auth, &mut OsRng)?;
            io.write_all(&ack).await?;
            Ok((received.remote_id, secrets))
        };
        let (remote, secrets) = bounded(config, exchange).await?;
        let (reader, writer) = frame_codec(secrets, config.max_frame_bytes);
        Ok(Self { io, reader, writer, remote })
    }

    /// The peer's node id, authenticated by the handshake.
    pub const fn remote(&self) -> NodeId {
        self.remote
    }

    /// Reads one frame's data (message id and payload).
    ///
    /// # Errors
    ///
    /// [`FrameError`]: I/O (including the peer closing), a MAC mismatch, or a frame over the bound.
    pub async fn read_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        read_frame(&mut self.io, &mut self.reader).await
    }

    /// Writes one frame carrying `data` (message id and payload) and flushes it.
    ///
    /// # Errors
    ///
    /// [`FrameError`]: I/O, or data too large for one frame.
    pub async fn write_frame(&mut self, data: &[u8]) -> Result<(), FrameError> {
        write_frame(&mut self.io, &mut self.writer, data).await
    }

    /// Splits the connection so frames can be read and written from different tasks.
    pub fn into_split(self) -> (RlpxReader<ReadHalf<Io>>, RlpxWriter<WriteHalf<Io>>) {
        let (read, write) = tokio::io::split(self.io);
        (
            RlpxReader { io: read, reader: self.reader },
            RlpxWriter { io: write, writer: self.writer },
        )
    }
}

/// The reading half of a split [`RlpxStream`].
pub struct RlpxReader<R> {
    io: R,
    reader: FrameReader,
}

impl<R: AsyncRead + Unpin> RlpxReader<R> {
    /// Reads one frame's data; see [`RlpxStream::read_frame`].
    ///
    /// # Errors
    ///
    /// As [`RlpxStream::read_frame`].
    pub async fn read_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        read_frame(&mut self.io, &mut self.reader).await
    }
}

/// The writing half of a split [`RlpxStream`].
pub struct RlpxWriter<W> {
    io: W,
    writer: FrameWriter,
}

impl<W: AsyncWrite + Unpin> RlpxWriter<W> {
    /// Writes one frame; see [`RlpxStream::write_frame`].
    ///
    /// # Errors
    ///
    /// As [`RlpxStream::write_frame`].
    pub async fn write_frame(&mut self, data: &[u8]) -> Result<(), FrameError> {
        write_frame(&mut self.io, &mut self.writer, data).await
    }
}

async fn bounded<T>(
    config: &RlpxConfig,
    exchange: impl Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    tokio::time::timeout(config.handshake_timeout, exchange)
        .await
        .map_err(|_| HandshakeError::Timeout(config.handshake_timeout))?
}

async fn read_frame(
    io: &mut (impl AsyncRead + Unpin),
    reader: &mut FrameReader,
) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    io.read_exact(&mut header).await?;
    let size = reader.header(&header)?;
    // `size` is within the reader's bound, checked before this allocation.
    let mut body = vec![0u8; body_len(size)];
    io.read_exact(&mut body).await?;
    let data_len = reader.body(&mut body, size)?.len();
    body.truncate(data_len);
    Ok(body)
}

async fn write_frame(
    io: &mut (impl AsyncWrite + Unpin),
    writer: &mut FrameWriter,
    data: &[u8],
) -> Result<(), FrameError> {
    let mut wire = Vec::new();
    writer.encode(data, &mut wire)?;
    io.write_all(&wire).await?;
    io.flush().await?;
    Ok(())
}

/// Reads a whole `auth` or `ack`: EIP-8 (`size || sealed`) or legacy (fixed length, starting
/// with the ECIES key's `0x04`). A message that starts with `0x04` is tried as legacy once its
/// fixed length has arrived, and read on as EIP-8 if it does not decrypt that way.
async fn read_handshake_message(
    io: &mut (impl AsyncRead + Unpin),
    key: &NodeKey,
    message: Message,
    config: &RlpxConfig,
) -> Result<Vec<u8>, HandshakeError> {
    let mut wire = vec![0u8; 2];
    io.read_exact(&mut wire).await?;
    let total = usize::from(u16::from_be_bytes([wire[0], wire[1]])) + 2;
    if wire[0] == 0x04 {
        wire.resize(message.legacy_len(), 0);
        io.read_exact(&mut wire[2..]).await?;
        if handshake::is_legacy(key, &wire) {
            return Ok(wire);
        }
    }
    if total > config.max_handshake_bytes {
        return Err(HandshakeError::TooLarge { size: total, max: config.max_handshake_bytes });
    }
    if total < wire.len() {
        return Err(HandshakeError::Malformed {
            message: message.name(),
            reason: "neither a legacy message nor a consistent EIP-8 size".to_owned(),
        });
    }
    let read = wire.len();
    wire.resize(total, 0);
    io.read_exact(&mut wire[read..]).await?;
    Ok(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_over_loopback_tcp_carries_frames_both_ways() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = (NodeKey::generate(), NodeKey::generate());
        let (a_id, b_id) = (a.id(), b.id());
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut stream = RlpxStream::accept(socket, &b, &RlpxConfig::default()).await.unwrap();
            assert_eq!(stream.remote(), a_id);
            let frame = stream.read_frame().await.unwrap();
            stream.write_frame(&[frame, b" back".to_vec()].concat()).await.unwrap();
        });
        let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        let stream = RlpxStream::connect(socket, &a, b_id, &RlpxConfig::default()).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        writer.write_frame(b"there").await.unwrap();
        assert_eq!(reader.read_frame().await.unwrap(), b"there back");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn dialling_the_wrong_identity_fails_the_handshake() {
        let (client, server) = tokio::io::duplex(4096);
        let (a, b, c) = (NodeKey::generate(), NodeKey::generate(), NodeKey::generate());
        let config = RlpxConfig {
            handshake_timeout: std::time::Duration::from_millis(500),
            ..RlpxConfig::default()
        };
        let server_config = config.clone();
        let accept =
            tokio::spawn(async move { RlpxStream::accept(server, &b, &server_config).await });
        // `a` believes it talks to `c`, but `b` answers: `b` cannot decrypt the auth.
        let connect = RlpxStream::connect(client, &a, c.id(), &config).await;
        assert!(connect.is_err());
        assert!(matches!(accept.await.unwrap(), Err(HandshakeError::Ecies(_))));
    }

    #[tokio::test]
    async fn a_silent_peer_costs_the_handshake_timeout_and_no_more() {
        let (client, _server) = tokio::io::duplex(4096);
        let (a, b) = (NodeKey::generate(), NodeKey::generate());
        let config = RlpxConfig {
            handshake_timeout: std::time::Duration::from_millis(200),
            ..RlpxConfig::default()
        };
        let started = std::time::Instant::now();
        let result = RlpxStream::connect(client, &a, b.id(), &config).await;
        assert!(matches!(result, Err(HandshakeError::Timeout(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[tokio::test]
    async fn an_oversized_handshake_is_refused_before_reading_it() {
        let (mut client, server) = tokio::io::duplex(4096);
        let b = NodeKey::generate();
        let accept =
            tokio::spawn(
                async move { RlpxStream::accept(server, &b, &RlpxConfig::default()).await },
            );
        client.write_all(&[0xff, 0xff]).await.unwrap();
        assert!(matches!(accept.await.unwrap(), Err(HandshakeError::TooLarge { size: 65537, .. })));
    }
}
