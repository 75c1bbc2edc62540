//! A tiny deterministic pseudo-random generator (SplitMix64) for reproducible test data.
//!
//! Test data must be the same on every run and every platform, so nothing here reads the clock or
//! the OS entropy pool: a seed fully determines every value.

use std::ops::RangeInclusive;

/// SplitMix64: one 64-bit word of state, passes BigCrush, more than enough for test data.
#[derive(Debug, Clone)]
pub struct TestRng {
    state: u64,
}

impl TestRng {
    /// A generator whose whole output is determined by `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n`; `0` when `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let n = n as u128;
        // Lemire's multiply-shift: the result is < n, so it fits a usize.
        let scaled = (u128::from(self.next_u64()) * n) >> 64;
        usize::try_from(scaled).unwrap_or(0)
    }

    /// A uniform value in `range` (which must not be empty).
    pub fn in_range(&mut self, range: RangeInclusive<usize>) -> usize {
        let (lo, hi) = range.into_inner();
        assert!(lo <= hi, "empty range {lo}..={hi}");
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
        self.below(denominator) < numerator
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }

    /// Random bytes, with a length drawn uniformly from `len`.
    pub fn bytes_in(&mut self, len: RangeInclusive<usize>) -> Vec<u8> {
        let len = self.in_range(len);
        self.bytes(len)
    }

    /// A uniformly chosen element of `items`, `None` when it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() { None } else { items.get(self.below(items.len())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_bounds() {
        let mut a = TestRng::new(7);
        let mut b = TestRng::new(7);
        let xs: Vec<u64> = (0..32).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..32).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(TestRng::new(8).next_u64(), xs[0]);

        let mut rng = TestRng::new(1);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = rng.in_range(3..=7);
            assert!((3..=7).contains(&v));
            seen[v - 3] = true;
        }
        assert!(seen.iter().all(|s| *s), "every value of a small range shows up");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.bytes(13).len(), 13);
    }
}
