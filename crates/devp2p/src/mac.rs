//! One direction's frame MAC: a running keccak-256 state over the ciphertext sent (or
//! received), folded with AES-256 of its own digest as the RLPx spec prescribes.

use aes::{
    Aes256,
    cipher::{BlockEncrypt, KeyInit},
};
use alloy_primitives::{B256, Keccak256};

/// A 16-byte frame MAC, as sent after the header and after the body.
pub(crate) type Tag = [u8; 16];

pub(crate) struct MacState {
    hasher: Keccak256,
    cipher: Aes256,
}

impl MacState {
    pub(crate) fn new(mac_secret: B256, hasher: Keccak256) -> Self {
        Self { hasher, cipher: Aes256::new(&mac_secret.0.into()) }
    }

    /// Absorbs a header's ciphertext; returns the header's MAC.
    pub(crate) fn header(&mut self, header_ciphertext: &[u8; 16]) -> Tag {
        let mut seed = self.encrypted_digest();
        xor_into(&mut seed, header_ciphertext);
        self.hasher.update(seed);
        self.digest()
    }

    /// Absorbs a body's ciphertext; returns the body's MAC.
    pub(crate) fn body(&mut self, body_ciphertext: &[u8]) -> Tag {
        self.hasher.update(body_ciphertext);
        let previous = self.digest();
        let mut seed = self.encrypted_digest();
        xor_into(&mut seed, &previous);
        self.hasher.update(seed);
        self.digest()
    }

    fn digest(&self) -> Tag {
        let full = self.hasher.clone().finalize();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }

    fn encrypted_digest(&self) -> Tag {
        let mut block = self.digest().into();
        self.cipher.encrypt_block(&mut block);
        block.into()
    }
}

fn xor_into(target: &mut [u8; 16], other: &[u8; 16]) {
    for (t, o) in target.iter_mut().zip(other) {
        *t ^= o;
    }
}

/// Compares two tags in time independent of where they differ.
pub(crate) fn tags_equal(a: &Tag, b: &[u8]) -> bool {
    b.len() == a.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
