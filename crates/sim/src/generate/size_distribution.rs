//! [`SizeDistribution`]: how a size (a contract's slot count, a code's length) is drawn from
//! its range.
//!
//! Real state is heavy-tailed: most contracts hold a handful of slots and a few hold millions;
//! most codes are small proxies and a few are near the 24 KiB limit. A uniform draw has no tail,
//! so a state shaped like mainnet draws its sizes from a truncated power law instead.

use snapsync_primitives::test_utils::TestRng;
use std::ops::RangeInclusive;

/// How sizes are drawn from a range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeDistribution {
    /// Every size of the range equally likely.
    Uniform,
    /// A power law truncated to the range (a bounded Pareto distribution): the share of draws
    /// of at least `s` falls as `s^-exponent`, so most sizes are near the range's start and a
    /// few reach its end. Smaller exponents give heavier tails. A non-positive or non-finite
    /// exponent counts as uniform.
    PowerLaw {
        /// The tail exponent (mainnet-like slot counts: just above 1).
        exponent: f64,
    },
}

impl SizeDistribution {
    /// The power law over `range` whose draws average `mean` (clamped into the range): the
    /// exponent found by bisection, since the mean falls monotonically as the exponent grows.
    pub fn power_law_with_mean(range: &RangeInclusive<usize>, mean: f64) -> Self {
        let (low, high) = bounds(range);
        let mean = mean.clamp(low, high);
        let (mut flat, mut steep) = (1e-6, 64.0);
        for _ in 0..200 {
            let exponent = f64::midpoint(flat, steep);
            if power_law_mean(low, high, exponent) > mean {
                flat = exponent;
            } else {
                steep = exponent;
            }
        }
        Self::PowerLaw { exponent: f64::midpoint(flat, steep) }
    }

    /// The mean of a draw from `range` (of the continuous distribution; rounding down moves a
    /// draw by less than one).
    pub fn mean(&self, range: &RangeInclusive<usize>) -> f64 {
        let (low, high) = bounds(range);
        match *self {
            Self::PowerLaw { exponent } if usable(exponent) => power_law_mean(low, high, exponent),
            _ => f64::midpoint(low, high),
        }
    }

    /// One size from `range` (a range whose end is below its start counts as its start).
    pub fn draw(&self, rng: &mut TestRng, range: &RangeInclusive<usize>) -> usize {
        let (start, end) = (*range.start(), (*range.end()).max(*range.start()));
        match *self {
            Self::PowerLaw { exponent } if usable(exponent) && start < end => {
                let (low, high) = bounds(range);
                let u = unit(rng);
                // Inverse of the bounded Pareto CDF.
                let tail = 1.0 - u * (1.0 - (low / high).powf(exponent));
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "the value lies in low..=high, both sizes, and is clamped again"
                )]
                let size = (low / tail.powf(1.0 / exponent)) as usize;
                size.clamp(start, end)
            }
            _ => rng.in_range(start..=end),
        }
    }
}

/// The range as floats, its start at least 1 (a power law needs a positive start).
#[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52")]
fn bounds(range: &RangeInclusive<usize>) -> (f64, f64) {
    let low = (*range.start()).max(1) as f64;
    let high = (*range.end() as f64).max(low);
    (low, high)
}

fn usable(exponent: f64) -> bool {
    exponent.is_finite() && exponent > 0.0
}

/// The mean of the bounded Pareto distribution on `low..=high`.
fn power_law_mean(low: f64, high: f64, exponent: f64) -> f64 {
    if high <= low {
        return low;
    }
    let ratio = low / high;
    let normaliser = 1.0 - ratio.powf(exponent);
    if (exponent - 1.0).abs() < 1e-9 {
        return low * (high / low).ln() / normaliser;
    }
    exponent * low * (1.0 - ratio.powf(exponent - 1.0)) / ((exponent - 1.0) * normaliser)
}

/// A uniform float in `0.0..1.0` (53 random bits).
#[expect(clippy::cast_precision_loss, reason = "53 bits convert exactly")]
fn unit(rng: &mut TestRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(distribution: SizeDistribution, range: &RangeInclusive<usize>) -> Vec<usize> {
        let mut rng = TestRng::new(5);
        let mut sizes: Vec<usize> =
            (0..200_000).map(|_| distribution.draw(&mut rng, range)).collect();
        sizes.sort_unstable();
        sizes
    }

    #[test]
    fn a_power_law_has_the_asked_mean_and_a_heavy_tail() {
        let range = 1..=1_000_000;
        let law = SizeDistribution::power_law_with_mean(&range, 24.0);
        assert!((law.mean(&range) - 24.0).abs() < 1e-6, "{law:?}");
        let sizes = sample(law, &range);
        #[expect(clippy::cast_precision_loss)]
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        // A heavy tail makes the sample mean noisy; within a quarter of the target.
        assert!((18.0..30.0).contains(&mean), "sample mean {mean}");
        assert!(sizes.iter().all(|size| range.contains(size)));
        let median = sizes[sizes.len() / 2];
        let top = sizes[sizes.len() * 999 / 1000];
        assert!(median <= 3, "median {median}");
        // An exponential tail of the same mean would put it near 24 × ln 1000 ≈ 166.
        assert!(top >= 1_000, "99.9th percentile {top}");
    }

    #[test]
    fn uniform_draws_cover_the_range_evenly() {
        let range = 10..=19;
        let sizes = sample(SizeDistribution::Uniform, &range);
        for size in range.clone() {
            let count = sizes.iter().filter(|s| **s == size).count();
            assert!((18_000..22_000).contains(&count), "{size}: {count}");
        }
        assert!((SizeDistribution::Uniform.mean(&range) - 14.5).abs() < 1e-9);
    }

    #[test]
    fn degenerate_ranges_and_exponents_never_fail() {
        let mut rng = TestRng::new(1);
        #[expect(clippy::reversed_empty_ranges, reason = "the case under test")]
        let backwards = 7..=3;
        let law = SizeDistribution::PowerLaw { exponent: 1.2 };
        assert_eq!(law.draw(&mut rng, &backwards), 7);
        assert_eq!(law.draw(&mut rng, &(0..=0)), 0);
        for exponent in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let size = SizeDistribution::PowerLaw { exponent }.draw(&mut rng, &(5..=9));
            assert!((5..=9).contains(&size));
        }
        let law = SizeDistribution::power_law_with_mean(&(1..=10), 1_000.0);
        assert!(law.mean(&(1..=10)) <= 10.0);
    }
}
