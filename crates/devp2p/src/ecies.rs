//! ECIES as RLPx uses it for the handshake: secp256k1 ECDH, the NIST SP 800-56 concatenation
//! KDF over SHA-256, AES-128-CTR, and an HMAC-SHA-256 tag over `iv || ciphertext || auth_data`.
//!
//! A message is `R || iv || c || d`: the sender's ephemeral public key (65 bytes, uncompressed),
//! a random 16-byte IV, the ciphertext, and the 32-byte tag. Every primitive comes from a kept
//! crate (k256, aes, ctr, hmac, sha2); this module only composes them as the spec says.

use crate::EciesError;
use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use k256::{PublicKey, SecretKey, ecdh::diffie_hellman, elliptic_curve::sec1::ToEncodedPoint};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha256 = Hmac<Sha256>;

/// Bytes ECIES adds to a message: public key (65), IV (16) and tag (32).
pub const ECIES_OVERHEAD: usize = 65 + 16 + 32;

/// Encrypts `plain` to `remote`, authenticating `auth_data` with it (RLPx passes the size
/// prefix of EIP-8 messages there).
pub fn encrypt(
    remote: &PublicKey,
    plain: &[u8],
    auth_data: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<u8> {
    let ephemeral = SecretKey::random(rng);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    encrypt_with(remote, plain, auth_data, &ephemeral, iv)
}

/// [`encrypt`] with the ephemeral key and IV given (for test vectors).
pub(crate) fn encrypt_with(
    remote: &PublicKey,
    plain: &[u8],
    auth_data: &[u8],
    ephemeral: &SecretKey,
    iv: [u8; 16],
) -> Vec<u8> {
    let (enc_key, mac_key) = derive_keys(ephemeral, remote);
    let mut message = Vec::with_capacity(ECIES_OVERHEAD + plain.len());
    message.extend_from_slice(ephemeral.public_key().to_encoded_point(false).as_bytes());
    message.extend_from_slice(&iv);
    let body_start = message.len();
    message.extend_from_slice(plain);
    Aes128Ctr::new(&enc_key.into(), &iv.into()).apply_keystream(&mut message[body_start..]);
    let tag = tag(&mac_key, &iv, &message[body_start..], auth_data).finalize().into_bytes();
    message.extend_from_slice(&tag);
    message
}

/// Decrypts a message sent to `secret`, checking its tag (over `auth_data` too) before
/// decrypting anything.
///
/// # Errors
///
/// [`EciesError::TooShort`], [`EciesError::InvalidPublicKey`], [`EciesError::TagMismatch`].
pub fn decrypt(
    secret: &SecretKey,
    message: &[u8],
    auth_data: &[u8],
) -> Result<Vec<u8>, EciesError> {
    if message.len() < ECIES_OVERHEAD {
        return Err(EciesError::TooShort { len: message.len(), min: ECIES_OVERHEAD });
    }
    let (public, rest) = message.split_at(65);
    let (iv, rest) = rest.split_at(16);
    let (cipher, received_tag) = rest.split_at(rest.len() - 32);
    let remote = PublicKey::from_sec1_bytes(public).map_err(|_| EciesError::InvalidPublicKey)?;
    let (enc_key, mac_key) = derive_keys(secret, &remote);
    tag(&mac_key, iv, cipher, auth_data)
        .verify_slice(received_tag)
        .map_err(|_| EciesError::TagMismatch)?;
    let mut plain = cipher.to_vec();
    let iv: [u8; 16] = iv.try_into().map_err(|_| EciesError::TagMismatch)?;
    Aes128Ctr::new(&enc_key.into(), &iv.into()).apply_keystream(&mut plain);
    Ok(plain)
}

/// The ECDH secret's x coordinate, as RLPx uses it (also for the handshake's static secret).
pub(crate) fn agree(secret: &SecretKey, public: &PublicKey) -> [u8; 32] {
    let shared = diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
    (*shared.raw_secret_bytes()).into()
}

/// `kE || kM = KDF(S, 32)` (one round of the concatenation KDF, counter 1, no other info), and
/// the MAC key `sha256(kM)`.
fn derive_keys(secret: &SecretKey, public: &PublicKey) -> ([u8; 16], [u8; 32]) {
    let shared = agree(secret, public);
    let derived = Sha256::new().chain_update(1u32.to_be_bytes()).chain_update(shared).finalize();
    let mut enc_key = [0u8; 16];
    enc_key.copy_from_slice(&derived[..16]);
    let mac_key: [u8; 32] = Sha256::digest(&derived[16..32]).into();
    (enc_key, mac_key)
}

fn tag(mac_key: &[u8; 32], iv: &[u8], cipher: &[u8], auth_data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; a 32-byte key cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(mac_key).unwrap_or_else(|_| unreachable!());
    mac.update(iv);
    mac.update(cipher);
    mac.update(auth_data);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::OsRng;

    #[test]
    fn round_trips_and_rejects_the_wrong_key_and_altered_bytes() {
        let bob = SecretKey::random(&mut OsRng);
        let message = encrypt(&bob.public_key(), b"hello bob", b"prefix", &mut OsRng);
        assert_eq!(message.len(), ECIES_OVERHEAD + 9);
        assert_eq!(decrypt(&bob, &message, b"prefix").unwrap(), b"hello bob");

        let eve = SecretKey::random(&mut OsRng);
        assert_eq!(decrypt(&eve, &message, b"prefix"), Err(EciesError::TagMismatch));
        assert_eq!(decrypt(&bob, &message, b"other"), Err(EciesError::TagMismatch));
        assert!(matches!(decrypt(&bob, &message[..50], b""), Err(EciesError::TooShort { .. })));
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_refused(byte in 0usize..(ECIES_OVERHEAD + 20), bit in 0u8..8) {
            let bob = SecretKey::random(&mut OsRng);
            let mut message = encrypt(&bob.public_key(), &[7u8; 20], b"", &mut OsRng);
            message[byte] ^= 1 << bit;
            prop_assert!(decrypt(&bob, &message, b"").is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let bob = SecretKey::random(&mut OsRng);
            let _ = decrypt(&bob, &bytes, b"");
        }
    }
}
