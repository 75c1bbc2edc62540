//! [`CompactPath`]: the compact (hex-prefix) encoding of nibble paths.
//!
//! The first byte's high nibble is a flag: bit 1 marks a leaf (a path that ends at a value),
//! bit 0 an odd number of nibbles. With an odd count the first nibble of the path fills the
//! first byte's low nibble; with an even count that nibble is padding and must be zero.
//!
//! | flag | meaning       | first byte   |
//! |------|---------------|--------------|
//! | 0    | even, no leaf | `0x00`       |
//! | 1    | odd, no leaf  | `0x1n`       |
//! | 2    | even, leaf    | `0x20`       |
//! | 3    | odd, leaf     | `0x3n`       |
//!
//! snap/1 `GetTrieNodes` sends paths with the leaf flag clear (go-ethereum's `hexToCompact`
//! of a path without terminator), but go-ethereum's server decodes with `compactToHex`, which
//! also takes the leaf forms, so decoding here accepts all four flags and reports the leaf bit
//! (what a leaf-flagged node path means is decided by
//! [`RawTrieNodePathSet::to_typed`](crate::RawTrieNodePathSet::to_typed)).

use nybbles::Nibbles;

use crate::CompactPathError;

/// The most nibbles a path can have: those of a 32-byte key.
pub const MAX_PATH_NIBBLES: usize = 64;

/// A nibble path with the leaf flag of its compact encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompactPath {
    nibbles: Nibbles,
    is_leaf: bool,
}

impl CompactPath {
    /// A path with the leaf flag set as given.
    pub const fn new(nibbles: Nibbles, is_leaf: bool) -> Self {
        Self { nibbles, is_leaf }
    }

    /// A path without the leaf flag: the form snap/1 uses for trie node paths (and trie nodes
    /// for extension keys).
    pub const fn extension(nibbles: Nibbles) -> Self {
        Self::new(nibbles, false)
    }

    /// A path with the leaf flag: the form trie leaf nodes use for their key remainder.
    pub const fn leaf(nibbles: Nibbles) -> Self {
        Self::new(nibbles, true)
    }

    /// The nibbles of the path.
    pub const fn nibbles(&self) -> &Nibbles {
        &self.nibbles
    }

    /// Whether the leaf flag is set.
    pub const fn is_leaf(&self) -> bool {
        self.is_leaf
    }

    /// The encoded length: one flag byte plus the remaining nibbles packed in pairs.
    pub const fn encoded_len(&self) -> usize {
        self.nibbles.len() / 2 + 1
    }

    /// The compact encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut out);
        out
    }

    /// Appends the compact encoding to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        let is_odd = self.nibbles.len() % 2 == 1;
        let flag = (u8::from(self.is_leaf) << 1) | u8::from(is_odd);
        let mut nibbles = self.nibbles.iter();
        let first_low = if is_odd { nibbles.next().unwrap_or(0) } else { 0 };
        out.push((flag << 4) | first_low);
        while let Some(high) = nibbles.next() {
            let low = nibbles.next().unwrap_or(0);
            out.push((high << 4) | low);
        }
    }

    /// Decodes a compact encoding. Every encoding this accepts is canonical: encoding the
    /// result gives back exactly `bytes`.
    ///
    /// # Errors
    ///
    /// [`CompactPathError::Empty`] for no bytes, [`CompactPathError::InvalidFlag`] for a flag
    /// nibble above 3, [`CompactPathError::NonZeroPadding`] for an even path whose padding
    /// nibble is not zero, [`CompactPathError::TooLong`] for more than
    /// [`MAX_PATH_NIBBLES`] nibbles.
    pub fn decode(bytes: &[u8]) -> Result<Self, CompactPathError> {
        let (&first, rest) = bytes.split_first().ok_or(CompactPathError::Empty)?;
        let flag = first >> 4;
        if flag > 3 {
            return Err(CompactPathError::InvalidFlag { flag });
        }
        let is_odd = flag & 1 == 1;
        let first_low = first & 0x0f;
        if !is_odd && first_low != 0 {
            return Err(CompactPathError::NonZeroPadding { nibble: first_low });
        }
        let len = rest.len().saturating_mul(2).saturating_add(usize::from(is_odd));
        if len > MAX_PATH_NIBBLES {
            return Err(CompactPathError::TooLong { nibbles: len });
        }

        let mut unpacked = [0u8; MAX_PATH_NIBBLES];
        let mut filled = 0;
        let mut put = |nibble: u8| {
            unpacked[filled] = nibble;
            filled += 1;
        };
        if is_odd {
            put(first_low);
        }
        for byte in rest {
            put(byte >> 4);
            put(byte & 0x0f);
        }
        let nibbles = Nibbles::from_nibbles_unchecked(&unpacked[..filled]);
        Ok(Self { nibbles, is_leaf: flag & 2 == 2 })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use alloy_primitives::hex;

    fn path(nibbles: &[u8]) -> Nibbles {
        Nibbles::from_nibbles(nibbles)
    }

    #[test]
    fn encodes_the_four_flag_forms() {
        // The examples of the Yellow Paper's hex-prefix appendix and go-ethereum's tests.
        assert_eq!(CompactPath::extension(path(&[])).encode(), hex!("00"));
        assert_eq!(CompactPath::leaf(path(&[])).encode(), hex!("20"));
        assert_eq!(CompactPath::extension(path(&[1, 2, 3, 4, 5])).encode(), hex!("112345"));
        assert_eq!(CompactPath::extension(path(&[0, 1, 2, 3, 4, 5])).encode(), hex!("00012345"));
        assert_eq!(CompactPath::leaf(path(&[0xf, 1, 0xc, 0xb, 8])).encode(), hex!("3f1cb8"));
        assert_eq!(CompactPath::leaf(path(&[0, 0xf, 1, 0xc, 0xb, 8])).encode(), hex!("200f1cb8"));
    }

    #[test]
    fn decodes_the_four_flag_forms() {
        let cases: [(&[u8], &[u8], bool); 6] = [
            (&hex!("00"), &[], false),
            (&hex!("20"), &[], true),
            (&hex!("112345"), &[1, 2, 3, 4, 5], false),
            (&hex!("00012345"), &[0, 1, 2, 3, 4, 5], false),
            (&hex!("3f1cb8"), &[0xf, 1, 0xc, 0xb, 8], true),
            (&hex!("200f1cb8"), &[0, 0xf, 1, 0xc, 0xb, 8], true),
        ];
        for (bytes, nibbles, is_leaf) in cases {
            let decoded = CompactPath::decode(bytes).unwrap();
            assert_eq!(decoded, CompactPath::new(path(nibbles), is_leaf), "{}", hex::encode(bytes));
            assert_eq!(decoded.encode(), bytes);
            assert_eq!(decoded.encoded_len(), bytes.len());
        }
    }

    #[test]
    fn full_length_paths() {
        let nibbles: Vec<u8> = (0..64).map(|i| i % 16).collect();
        let full = CompactPath::extension(path(&nibbles));
        let encoded = full.encode();
        assert_eq!(encoded.len(), 33);
        assert_eq!(CompactPath::decode(&encoded), Ok(full));

        let odd = CompactPath::leaf(path(&nibbles[..63]));
        let encoded = odd.encode();
        assert_eq!(encoded.len(), 32);
        assert_eq!(CompactPath::decode(&encoded), Ok(odd));
    }

    #[test]
    fn rejects_invalid_encodings() {
        assert_eq!(CompactPath::decode(&[]), Err(CompactPathError::Empty));
        for flag in 4..16u8 {
            assert_eq!(
                CompactPath::decode(&[flag << 4, 0x12]),
                Err(CompactPathError::InvalidFlag { flag })
            );
        }
        assert_eq!(
            CompactPath::decode(&hex!("0512")),
            Err(CompactPathError::NonZeroPadding { nibble: 5 })
        );
        assert_eq!(
            CompactPath::decode(&hex!("2f")),
            Err(CompactPathError::NonZeroPadding { nibble: 0xf })
        );
        // 33 bytes of odd form: 65 nibbles.
        let mut too_long = vec![0x11];
        too_long.extend_from_slice(&[0; 32]);
        assert_eq!(CompactPath::decode(&too_long), Err(CompactPathError::TooLong { nibbles: 65 }));
        // 34 bytes of even form: 66 nibbles.
        assert_eq!(CompactPath::decode(&[0; 34]), Err(CompactPathError::TooLong { nibbles: 66 }));
    }
}
