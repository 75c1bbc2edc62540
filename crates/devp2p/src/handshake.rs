//! The RLPx handshake's messages and the secrets derived from them.
//!
//! The initiator sends `auth` (its static id, a nonce, and a signature by a fresh ephemeral key
//! over `static-shared-secret ^ nonce`), the recipient answers `ack` (its ephemeral key and
//! nonce). Both then hold the same ephemeral ECDH secret and nonces, from which the frame keys
//! and the two MAC states follow. This module is pure: bytes in, bytes and secrets out; the
//! socket side (how many bytes to read, timeouts) is in [`crate::stream`].
//!
//! Messages are sent in the EIP-8 format (a 2-byte size prefix, an RLP body with room for more
//! fields, random padding); both EIP-8 and the legacy fixed-size format are accepted.

use crate::{
    HandshakeError, NodeId, NodeKey,
    ecies::{self, ECIES_OVERHEAD},
};
use alloy_primitives::{B256, Keccak256, keccak256};
use alloy_rlp::{Decodable, Encodable, Header};
use k256::{
    PublicKey, SecretKey,
    ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey},
};
use rand_core::{CryptoRng, RngCore};

/// Length of a legacy (pre-EIP-8) `auth` message on the wire.
pub(crate) const LEGACY_AUTH_LEN: usize = 194 + ECIES_OVERHEAD;
/// Length of a legacy `ack` message on the wire.
pub(crate) const LEGACY_ACK_LEN: usize = 97 + ECIES_OVERHEAD;
/// The handshake version sent in `auth` and `ack` (the received one is ignored, as the spec
/// requires).
const HANDSHAKE_VERSION: u8 = 4;

/// Which of the two handshake messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message {
    Auth,
    Ack,
}

impl Message {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Ack => "ack",
        }
    }

    pub(crate) const fn legacy_len(self) -> usize {
        match self {
            Self::Auth => LEGACY_AUTH_LEN,
            Self::Ack => LEGACY_ACK_LEN,
        }
    }
}

/// What both sides hold once the handshake is done.
#[derive(Clone)]
pub(crate) struct Secrets {
    pub(crate) aes: B256,
    pub(crate) mac: B256,
    pub(crate) egress_mac: Keccak256,
    pub(crate) ingress_mac: Keccak256,
}

/// The initiator between sending `auth` and receiving `ack`.
pub(crate) struct Initiator {
    ephemeral: SecretKey,
    nonce: B256,
    auth: Vec<u8>,
}

impl Initiator {
    /// Builds `auth` for `remote`; returns the state and the bytes to send.
    pub(crate) fn start(
        key: &NodeKey,
        remote: &PublicKey,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, Vec<u8>), HandshakeError> {
        let ephemeral = SecretKey::random(rng);
        let mut nonce = B256::ZERO;
        rng.fill_bytes(nonce.as_mut_slice());
        let signature = sign(&ephemeral, &xor(ecies::agree(key.secret(), remote), nonce))?;
        let mut body = Vec::new();
        Header { list: true, payload_length: auth_payload_length(&signature, key, nonce) }
            .encode(&mut body);
        signature.as_slice().encode(&mut body);
        key.id().as_bytes().as_slice().encode(&mut body);
        nonce.encode(&mut body);
        HANDSHAKE_VERSION.encode(&mut body);
        let auth = seal_eip8(remote, body, rng)?;
        Ok((Self { ephemeral, nonce, auth: auth.clone() }, auth))
    }

    /// Reads the recipient's `ack` (the whole message as received) and derives the secrets.
    pub(crate) fn finish(self, key: &NodeKey, ack: &[u8]) -> Result<Secrets, HandshakeError> {
        let plain = open(key, Message::Ack, ack)?;
        let (remote_ephemeral, remote_nonce) = match plain {
            Opened::Eip8(body) => decode_ack_body(&body)?,
            Opened::Legacy(body) => decode_legacy_ack(&body)?,
        };
        Ok(derive_secrets(
            &self.ephemeral,
            &remote_ephemeral,
            Nonces { recipient: remote_nonce, initiator: self.nonce },
            Role::Initiator,
            &self.auth,
            ack,
        ))
    }
}

/// What the recipient learnt from `auth`.
pub(crate) struct ReceivedAuth {
    pub(crate) remote_id: NodeId,
    remote_ephemeral: PublicKey,
    remote_nonce: B256,
}

/// Reads an `auth` message (the whole message as received).
pub(crate) fn read_auth(key: &NodeKey, auth: &[u8]) -> Result<ReceivedAuth, HandshakeError> {
    let (signature, remote_id, remote_nonce, claimed_hash) = match open(key, Message::Auth, auth)? {
        Opened::Eip8(body) => {
            let (signature, id, nonce) = decode_auth_body(&body)?;
            (signature, id, nonce, None)
        }
        Opened::Legacy(body) => decode_legacy_auth(&body)?,
    };
    let remote = remote_id
        .public_key()
        .ok_or_else(|| malformed(Message::Auth, "id is not a curve point"))?;
    let signed = xor(ecies::agree(key.secret(), &remote), remote_nonce);
    let remote_ephemeral = recover(&signature, &signed)?;
    if let Some(hash) = claimed_hash
        && keccak256(NodeId::from_public_key(&remote_ephemeral).as_bytes()) != hash
    {
        return Err(malformed(Message::Auth, "ephemeral key hash does not match"));
    }
    Ok(ReceivedAuth { remote_id, remote_ephemeral, remote_nonce })
}

/// Answers `auth` with `ack`; returns the bytes to send and the secrets.
pub(crate) fn respond(
    received: &ReceivedAuth,
    auth: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Vec<u8>, Secrets), HandshakeError> {
    let ephemeral = SecretKey::random(rng);
    let mut nonce = B256::ZERO;
    rng.fill_bytes(nonce.as_mut_slice());
    let remote = received
        .remote_id
        .public_key()
        .ok_or_else(|| malformed(Message::Auth, "id is not a curve point"))?;
    let ack = build_ack(&remote, &ephemeral, nonce, rng)?;
    let secrets = respond_secrets(&ephemeral, nonce, received, auth, &ack);
    Ok((ack, secrets))
}

fn respond_secrets(
    ephemeral: &SecretKey,
    nonce: B256,
    received: &ReceivedAuth,
    auth: &[u8],
    ack: &[u8],
) -> Secrets {
    derive_secrets(
        ephemeral,
        &received.remote_ephemeral,
        Nonces { recipient: nonce, initiator: received.remote_nonce },
        Role::Recipient,
        auth,
        ack,
    )
}

fn build_ack(
    remote: &PublicKey,
    ephemeral: &SecretKey,
    nonce: B256,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, HandshakeError> {
    let ephemeral_id = NodeId::from_public_key(&ephemeral.public_key());
    let id = ephemeral_id.as_bytes().as_slice();
    let payload_length = id.length() + nonce.length() + HANDSHAKE_VERSION.length();
    let mut body = Vec::new();
    Header { list: true, payload_length }.encode(&mut body);
    id.encode(&mut body);
    nonce.encode(&mut body);
    HANDSHAKE_VERSION.encode(&mut body);
    seal_eip8(remote, body, rng)
}

fn auth_payload_length(signature: &[u8; 65], key: &NodeKey, nonce: B256) -> usize {
    signature.as_slice().length()
        + key.id().as_bytes().as_slice().length()
        + nonce.length()
        + HANDSHAKE_VERSION.length()
}

/// `size || ecies.encrypt(remote, body || padding, size)`, with 100–299 bytes of random padding
/// so the message cannot be mistaken for the legacy format and its length reveals little.
fn seal_eip8(
    remote: &PublicKey,
    mut body: Vec<u8>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, HandshakeError> {
    let padding = 100 + (rng.next_u32() % 200) as usize;
    let start = body.len();
    body.resize(start + padding, 0);
    rng.fill_bytes(&mut body[start..]);
    let size = body.len() + ECIES_OVERHEAD;
    let prefix = u16::try_from(size)
        .map_err(|_| HandshakeError::TooLarge { size, max: usize::from(u16::MAX) })?
        .to_be_bytes();
    let mut message = prefix.to_vec();
    message.extend_from_slice(&ecies::encrypt(remote, &body, &prefix, rng));
    Ok(message)
}

enum Opened {
    Eip8(Vec<u8>),
    Legacy(Vec<u8>),
}

/// Whether `wire` is a complete legacy-format message for this node.
pub(crate) fn is_legacy(key: &NodeKey, wire: &[u8]) -> bool {
    ecies::decrypt(key.secret(), wire, &[]).is_ok()
}

/// Decrypts a whole handshake message in either format.
fn open(key: &NodeKey, message: Message, wire: &[u8]) -> Result<Opened, HandshakeError> {
    if wire.len() == message.legacy_len()
        && let Ok(plain) = ecies::decrypt(key.secret(), wire, &[])
    {
        return Ok(Opened::Legacy(plain));
    }
    let (prefix, sealed) =
        wire.split_at_checked(2).ok_or_else(|| malformed(message, "no size prefix"))?;
    if usize::from(u16::from_be_bytes([prefix[0], prefix[1]])) != sealed.len() {
        return Err(malformed(message, "size prefix does not match the message"));
    }
    Ok(Opened::Eip8(ecies::decrypt(key.secret(), sealed, prefix)?))
}

/// `[sig, initiator-pubk, initiator-nonce, auth-vsn, ...]`, then padding.
fn decode_auth_body(body: &[u8]) -> Result<([u8; 65], NodeId, B256), HandshakeError> {
    let fail = |e: alloy_rlp::Error| malformed(Message::Auth, &e.to_string());
    let mut items = list_payload(body).map_err(fail)?;
    let signature = <[u8; 65]>::decode(&mut items).map_err(fail)?;
    let id = <[u8; 64]>::decode(&mut items).map_err(fail)?;
    let nonce = B256::decode(&mut items).map_err(fail)?;
    // The version and any further elements are ignored, as EIP-8 requires.
    Ok((signature, NodeId::from_bytes(id), nonce))
}

/// `[recipient-ephemeral-pubk, recipient-nonce, ack-vsn, ...]`, then padding.
fn decode_ack_body(body: &[u8]) -> Result<(PublicKey, B256), HandshakeError> {
    let fail = |e: alloy_rlp::Error| malformed(Message::Ack, &e.to_string());
    let mut items = list_payload(body).map_err(fail)?;
    let ephemeral = <[u8; 64]>::decode(&mut items).map_err(fail)?;
    let nonce = B256::decode(&mut items).map_err(fail)?;
    let ephemeral = NodeId::from_bytes(ephemeral)
        .public_key()
        .ok_or_else(|| malformed(Message::Ack, "ephemeral key is not a curve point"))?;
    Ok((ephemeral, nonce))
}

/// The payload of the RLP list at the start of `body` (trailing padding ignored).
fn list_payload(mut body: &[u8]) -> Result<&[u8], alloy_rlp::Error> {
    let header = Header::decode(&mut body)?;
    if !header.list {
        return Err(alloy_rlp::Error::UnexpectedString);
    }
    body.get(..header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)
}

/// Legacy auth: `sig(65) || keccak256(ephemeral-pubk)(32) || pubk(64) || nonce(32) || 0x00`.
fn decode_legacy_auth(
    body: &[u8],
) -> Result<([u8; 65], NodeId, B256, Option<B256>), HandshakeError> {
    let body: &[u8; 194] =
        body.try_into().map_err(|_| malformed(Message::Auth, "legacy length"))?;
    let mut signature = [0u8; 65];
    signature.copy_from_slice(&body[..65]);
    let hash = B256::from_slice(&body[65..97]);
    let mut id = [0u8; 64];
    id.copy_from_slice(&body[97..161]);
    let nonce = B256::from_slice(&body[161..193]);
    Ok((signature, NodeId::from_bytes(id), nonce, Some(hash)))
}

/// Legacy ack: `ephemeral-pubk(64) || nonce(32) || 0x00`.
fn decode_legacy_ack(body: &[u8]) -> Result<(PublicKey, B256), HandshakeError> {
    let body: &[u8; 97] = body.try_into().map_err(|_| malformed(Message::Ack, "legacy length"))?;
    let mut id = [0u8; 64];
    id.copy_from_slice(&body[..64]);
    let ephemeral = NodeId::from_bytes(id)
        .public_key()
        .ok_or_else(|| malformed(Message::Ack, "ephemeral key is not a curve point"))?;
    Ok((ephemeral, B256::from_slice(&body[64..96])))
}

fn sign(key: &SecretKey, prehash: &B256) -> Result<[u8; 65], HandshakeError> {
    let (signature, recovery) = SigningKey::from(key)
        .sign_prehash_recoverable(prehash.as_slice())
        .map_err(|_| HandshakeError::BadSignature)?;
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = recovery.to_byte();
    Ok(out)
}

fn recover(signature: &[u8; 65], prehash: &B256) -> Result<PublicKey, HandshakeError> {
    let mut parsed =
        Signature::from_slice(&signature[..64]).map_err(|_| HandshakeError::BadSignature)?;
    let mut recovery = RecoveryId::from_byte(signature[64]).ok_or(HandshakeError::BadSignature)?;
    // Signers need not normalise s; the recovered key is the same for (r, n - s) with the
    // y parity flipped.
    if let Some(normalized) = parsed.normalize_s() {
        parsed = normalized;
        recovery = RecoveryId::new(!recovery.is_y_odd(), recovery.is_x_reduced());
    }
    let key = VerifyingKey::recover_from_prehash(prehash.as_slice(), &parsed, recovery)
        .map_err(|_| HandshakeError::BadSignature)?;
    Ok(PublicKey::from(&key))
}

#[derive(Clone, Copy)]
struct Nonces {
    recipient: B256,
    initiator: B256,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Initiator,
    Recipient,
}

fn derive_secrets(
    ephemeral: &SecretKey,
    remote_ephemeral: &PublicKey,
    nonces: Nonces,
    role: Role,
    auth: &[u8],
    ack: &[u8],
) -> Secrets {
    let ephemeral_key = ecies::agree(ephemeral, remote_ephemeral);
    let nonce_hash = keccak256([nonces.recipient.as_slice(), nonces.initiator.as_slice()].concat());
    let shared = keccak256([ephemeral_key.as_slice(), nonce_hash.as_slice()].concat());
    let aes = keccak256([ephemeral_key.as_slice(), shared.as_slice()].concat());
    let mac = keccak256([ephemeral_key.as_slice(), aes.as_slice()].concat());
    let state = |nonce: B256, message: &[u8]| {
        let mut hasher = Keccak256::new();
        hasher.update(xor(mac.0, nonce));
        hasher.update(message);
        hasher
    };
    // The initiator's egress state starts from the recipient's nonce and its own auth.
    let with_auth = state(nonces.recipient, auth);
    let with_ack = state(nonces.initiator, ack);
    let (egress_mac, ingress_mac) = match role {
        Role::Initiator => (with_auth, with_ack),
        Role::Recipient => (with_ack, with_auth),
    };
    Secrets { aes, mac, egress_mac, ingress_mac }
}

fn xor(a: [u8; 32], b: B256) -> B256 {
    let mut out = B256::ZERO;
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b.iter())) {
        *o = x ^ y;
    }
    out
}

fn malformed(message: Message, reason: &str) -> HandshakeError {
    HandshakeError::Malformed { message: message.name(), reason: reason.to_owned() }
}

#[cfg(test)]
mod tests;
