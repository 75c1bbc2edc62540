//! RLPx frames: one message each, header and body encrypted with AES-256-CTR and each followed
//! by its MAC. Pure and synchronous: [`FrameWriter`] turns a message into bytes to send,
//! [`FrameReader`] checks and decrypts a header, then a body; the socket side is in
//! [`crate::stream`].
//!
//! A frame on the wire:
//!
//! ```text
//! header (16, encrypted) | header MAC (16) | body padded to 16 (encrypted) | body MAC (16)
//! header = frame size (3 bytes, big-endian) || rlp([0, 0]) || zero padding
//! ```

use crate::{
    FrameError,
    handshake::Secrets,
    mac::{MacState, Tag, tags_equal},
};
use aes::cipher::{KeyIvInit, StreamCipher};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Header data every frame carries: `rlp([capability-id = 0, context-id = 0])`.
const HEADER_DATA: [u8; 3] = [0xc2, 0x80, 0x80];
/// The largest size the 24-bit frame-size field can carry.
pub const MAX_FRAME_SIZE: usize = (1 << 24) - 1;

/// Bytes of a header with its MAC.
pub const HEADER_LEN: usize = 32;

/// Encrypts and authenticates outgoing frames.
pub struct FrameWriter {
    cipher: Aes256Ctr,
    mac: MacState,
}

/// Authenticates and decrypts incoming frames.
pub struct FrameReader {
    cipher: Aes256Ctr,
    mac: MacState,
    max_frame: usize,
}

/// The two directions' frame state from the handshake's secrets; `max_frame` bounds what the
/// reader accepts (at most [`MAX_FRAME_SIZE`]).
pub(crate) fn frame_codec(secrets: Secrets, max_frame: usize) -> (FrameReader, FrameWriter) {
    let iv = [0u8; 16];
    let cipher = || Aes256Ctr::new(&secrets.aes.0.into(), &iv.into());
    let reader = FrameReader {
        cipher: cipher(),
        mac: MacState::new(secrets.mac, secrets.ingress_mac),
        max_frame: max_frame.min(MAX_FRAME_SIZE),
    };
    let writer =
        FrameWriter { cipher: cipher(), mac: MacState::new(secrets.mac, secrets.egress_mac) };
    (reader, writer)
}

impl FrameWriter {
    /// Appends the frame carrying `data` (message id and payload) to `out`.
    ///
    /// # Errors
    ///
    /// [`FrameError::MessageTooLarge`] if `data` does not fit the 24-bit size field.
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if data.len() > MAX_FRAME_SIZE {
            return Err(FrameError::MessageTooLarge(data.len()));
        }
        let mut header = [0u8; 16];
        // `data.len()` fits 24 bits (checked above): the low three bytes of its big-endian form.
        header[..3].copy_from_slice(&data.len().to_be_bytes()[size_of::<usize>() - 3..]);
        header[3..6].copy_from_slice(&HEADER_DATA);
        self.cipher.apply_keystream(&mut header);
        let header_mac = self.mac.header(&header);
        out.reserve(HEADER_LEN + padded(data.len()) + 16);
        out.extend_from_slice(&header);
        out.extend_from_slice(&header_mac);
        let body_start = out.len();
        out.extend_from_slice(data);
        out.resize(body_start + padded(data.len()), 0);
        self.cipher.apply_keystream(&mut out[body_start..]);
        let body_mac = self.mac.body(&out[body_start..]);
        out.extend_from_slice(&body_mac);
        Ok(())
    }
}

impl FrameReader {
    /// Checks a header's MAC and decrypts it; returns the frame's data size. The body that
    /// follows on the wire is [`body_len`] of that size.
    ///
    /// # Errors
    ///
    /// [`FrameError::HeaderMac`], [`FrameError::TooLarge`] (over the reader's bound).
    pub fn header(&mut self, header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
        let (ciphertext, mac) = header.split_at(16);
        let mut ciphertext: [u8; 16] = ciphertext.try_into().map_err(|_| FrameError::HeaderMac)?;
        let expected: Tag = self.mac.header(&ciphertext);
        if !tags_equal(&expected, mac) {
            return Err(FrameError::HeaderMac);
        }
        self.cipher.apply_keystream(&mut ciphertext);
        let size = usize::from(ciphertext[0]) << 16
            | usize::from(ciphertext[1]) << 8
            | usize::from(ciphertext[2]);
        if size > self.max_frame {
            return Err(FrameError::TooLarge { size, max: self.max_frame });
        }
        Ok(size)
    }

    /// Checks a body's MAC and decrypts it in place; `body` is the [`body_len`] bytes that
    /// followed the header. Returns the frame's data (`size` bytes).
    ///
    /// # Errors
    ///
    /// [`FrameError::BodyMac`].
    pub fn body<'a>(&mut self, body: &'a mut [u8], size: usize) -> Result<&'a [u8], FrameError> {
        if body.len() != body_len(size) {
            return Err(FrameError::BodyMac);
        }
        let (ciphertext, mac) = body.split_at_mut(padded(size));
        let expected = self.mac.body(ciphertext);
        if !tags_equal(&expected, mac) {
            return Err(FrameError::BodyMac);
        }
        self.cipher.apply_keystream(ciphertext);
        Ok(&ciphertext[..size])
    }
}

/// Bytes on the wire after the header for a frame of `size` data bytes: padded data and MAC.
pub const fn body_len(size: usize) -> usize {
    padded(size) + 16
}

const fn padded(size: usize) -> usize {
    size.div_ceil(16) * 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NodeKey, handshake};
    use proptest::prelude::*;
    use rand_core::OsRng;

    /// Both ends' codecs after a real handshake: (initiator, recipient).
    fn pair(max_frame: usize) -> ((FrameReader, FrameWriter), (FrameReader, FrameWriter)) {
        let (a, b) = (NodeKey::generate(), NodeKey::generate());
        let (initiator, auth) =
            handshake::Initiator::start(&a, &b.id().public_key().unwrap(), &mut OsRng).unwrap();
        let received = handshake::read_auth(&b, &auth).unwrap();
        let (ack, b_secrets) = handshake::respond(&received, &auth, &mut OsRng).unwrap();
        let a_secrets = initiator.finish(&a, &ack).unwrap();
        (frame_codec(a_secrets, max_frame), frame_codec(b_secrets, max_frame))
    }

    fn read(reader: &mut FrameReader, wire: &mut [u8]) -> Result<Vec<u8>, FrameError> {
        let (header, body) = wire.split_at_mut(HEADER_LEN);
        let header: [u8; HEADER_LEN] = (&*header).try_into().unwrap();
        let size = reader.header(&header)?;
        Ok(reader.body(&mut body[..body_len(size)], size)?.to_vec())
    }

    proptest! {
        #[test]
        fn frames_round_trip_in_both_directions(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6)
        ) {
            let ((mut a_reader, mut a_writer), (mut b_reader, mut b_writer)) = pair(1 << 20);
            for message in &messages {
                let mut wire = Vec::new();
                a_writer.encode(message, &mut wire).unwrap();
                prop_assert_eq!(wire.len(), HEADER_LEN + body_len(message.len()));
                prop_assert_eq!(&read(&mut b_reader, &mut wire).unwrap(), message);
                let mut back = Vec::new();
                b_writer.encode(message, &mut back).unwrap();
                prop_assert_eq!(&read(&mut a_reader, &mut back).unwrap(), message);
            }
        }

        #[test]
        fn any_flipped_bit_is_caught_by_a_mac(index in 0usize..96, bit in 0u8..8) {
            let ((_, mut writer), (mut reader, _)) = pair(1 << 20);
            let mut wire = Vec::new();
            writer.encode(&[0x42; 40], &mut wire).unwrap();
            let index = index % wire.len();
            wire[index] ^= 1 << bit;
            let result = read(&mut reader, &mut wire);
            prop_assert!(matches!(result, Err(FrameError::HeaderMac | FrameError::BodyMac)));
        }

        #[test]
        fn arbitrary_headers_never_panic(bytes in proptest::array::uniform32(any::<u8>())) {
            let ((_, _), (mut reader, _)) = pair(1 << 20);
            prop_assert!(reader.header(&bytes).is_err());
        }
    }

    #[test]
    fn frames_over_the_readers_bound_are_refused_before_the_body() {
        let ((_, mut writer), (mut reader, _)) = pair(64);
        let mut wire = Vec::new();
        writer.encode(&[1; 65], &mut wire).unwrap();
        let header: [u8; HEADER_LEN] = wire[..HEADER_LEN].try_into().unwrap();
        assert!(matches!(reader.header(&header), Err(FrameError::TooLarge { size: 65, max: 64 })));
    }
}
