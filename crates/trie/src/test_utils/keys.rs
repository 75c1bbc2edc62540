//! Key arithmetic for building edge cases: neighbours of a key, random keys inside a gap, and
//! single-byte corruption.
//!
//! Keys are big-endian unsigned integers of a fixed length here (at most 32 bytes), which is how
//! they sort in a trie whose keys all have the same length.

use alloy_primitives::U256;
use snapsync_primitives::test_utils::TestRng;

/// `key + 1` as a big-endian number of the same length, wrapping from `ff..ff` to `00..00`
/// (geth's `increaseKey`).
pub fn increase_key(key: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    for byte in out.iter_mut().rev() {
        *byte = byte.wrapping_add(1);
        if *byte != 0 {
            break;
        }
    }
    out
}

/// `key - 1` as a big-endian number of the same length, wrapping from `00..00` to `ff..ff`
/// (geth's `decreaseKey`).
pub fn decrease_key(key: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    for byte in out.iter_mut().rev() {
        *byte = byte.wrapping_sub(1);
        if *byte != 0xff {
            break;
        }
    }
    out
}

/// `key + 1`, or `None` when `key` is the largest key of its length (or empty).
pub fn checked_increase_key(key: &[u8]) -> Option<Vec<u8>> {
    (!key.is_empty() && key.iter().any(|b| *b != 0xff)).then(|| increase_key(key))
}

/// `key - 1`, or `None` when `key` is the smallest key of its length (or empty).
pub fn checked_decrease_key(key: &[u8]) -> Option<Vec<u8>> {
    (!key.is_empty() && key.iter().any(|b| *b != 0)).then(|| decrease_key(key))
}

/// A random key of `len` bytes (at most 32) strictly between `lo` and `hi`; `None` bounds are
/// open (the smallest / largest key of that length is allowed). `None` when no such key exists.
///
/// # Panics
/// When `len > 32` or a bound is not `len` bytes long.
pub fn random_key_between(
    rng: &mut TestRng,
    len: usize,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Option<Vec<u8>> {
    assert!(len <= 32, "keys are at most 32 bytes");
    for bound in [lo, hi].into_iter().flatten() {
        assert_eq!(bound.len(), len, "bound {bound:02x?} is not {len} bytes");
    }
    if len == 0 {
        return None;
    }
    let max = if len == 32 { U256::MAX } else { (U256::from(1u8) << (8 * len)) - U256::from(1u8) };
    // Inclusive bounds of the candidates.
    let first = match lo {
        Some(lo) => U256::from_be_slice(lo).checked_add(U256::from(1u8))?,
        None => U256::ZERO,
    };
    let last = match hi {
        Some(hi) => U256::from_be_slice(hi).checked_sub(U256::from(1u8))?,
        None => max,
    };
    if first > last {
        return None;
    }
    let random = U256::from_be_slice(&rng.bytes(32));
    let value = match (last - first).checked_add(U256::from(1u8)) {
        Some(span) => first + random % span,
        None => random, // The whole 256-bit space.
    };
    Some(value.to_be_bytes::<32>()[32 - len..].to_vec())
}

/// Changes exactly one byte of `bytes` (chosen at random) to a different random value. Does
/// nothing to an empty slice.
pub fn mutate_byte(rng: &mut TestRng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    let at = rng.below(bytes.len());
    let delta = u8::try_from(rng.in_range(1..=255)).unwrap_or(1);
    bytes[at] = bytes[at].wrapping_add(delta);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours() {
        assert_eq!(increase_key(&[0x01, 0xff]), vec![0x02, 0x00]);
        assert_eq!(increase_key(&[0xff, 0xff]), vec![0x00, 0x00]);
        assert_eq!(decrease_key(&[0x02, 0x00]), vec![0x01, 0xff]);
        assert_eq!(decrease_key(&[0x00, 0x00]), vec![0xff, 0xff]);
        assert_eq!(checked_increase_key(&[0xff]), None);
        assert_eq!(checked_decrease_key(&[0x00, 0x00]), None);
        assert_eq!(checked_decrease_key(&[0x01, 0x00]), Some(vec![0x00, 0xff]));
        assert_eq!(checked_increase_key(&[]), None);
    }

    #[test]
    fn between() {
        let mut rng = TestRng::new(3);
        assert_eq!(random_key_between(&mut rng, 1, Some(&[4]), Some(&[5])), None);
        assert_eq!(random_key_between(&mut rng, 1, Some(&[4]), Some(&[6])), Some(vec![5]));
        assert_eq!(random_key_between(&mut rng, 1, None, Some(&[1])), Some(vec![0]));
        assert_eq!(random_key_between(&mut rng, 1, Some(&[0xfe]), None), Some(vec![0xff]));
        assert_eq!(random_key_between(&mut rng, 1, Some(&[0xff]), None), None);
        assert_eq!(random_key_between(&mut rng, 2, None, Some(&[0, 0])), None);
        for _ in 0..200 {
            let lo = rng.bytes(32);
            let hi = rng.bytes(32);
            let (lo, hi) = if lo < hi { (lo, hi) } else { (hi, lo) };
            let k = random_key_between(&mut rng, 32, Some(&lo), Some(&hi)).unwrap();
            assert!(lo < k && k < hi);
            let any = random_key_between(&mut rng, 32, None, None).unwrap();
            assert_eq!(any.len(), 32);
        }
    }

    #[test]
    fn mutation_changes_one_byte() {
        let mut rng = TestRng::new(9);
        for _ in 0..100 {
            let original = rng.bytes(20);
            let mut changed = original.clone();
            mutate_byte(&mut rng, &mut changed);
            assert_eq!(original.iter().zip(&changed).filter(|(a, b)| a != b).count(), 1);
        }
    }
}
