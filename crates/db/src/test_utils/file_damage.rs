//! Damaging a file the way storage faults do: flipped bits, overwritten bytes, a truncated
//! tail. Deterministic for a given [`TestRng`], so a failing probe can be replayed from its seed.

use snapsync_primitives::test_utils::TestRng;
use std::{fmt, fs, io, path::Path};

/// One kind of damage done to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// This many single bits flipped, each at a random offset.
    FlipBits(usize),
    /// This many bytes at random offsets replaced by random other bytes.
    FlipBytes(usize),
    /// The file cut to a random length shorter than it is.
    Truncate,
}

impl Damage {
    /// The kinds probes cycle through: one bit, two bits, twenty bytes, a truncation.
    pub const KINDS: [Self; 4] =
        [Self::FlipBits(1), Self::FlipBits(2), Self::FlipBytes(20), Self::Truncate];

    /// The kind for probe number `index`, cycling through [`KINDS`](Self::KINDS).
    pub const fn for_probe(index: usize) -> Self {
        Self::KINDS[index % Self::KINDS.len()]
    }

    /// Damages the file at `path` (which must not be empty); returns where, for the report.
    ///
    /// # Errors
    /// When the file cannot be read or written, or is empty.
    pub fn apply(self, path: &Path, rng: &mut TestRng) -> io::Result<String> {
        let mut bytes = fs::read(path)?;
        if bytes.is_empty() {
            return Err(io::Error::other(format!("{} is empty", path.display())));
        }
        let len = bytes.len();
        let places = match self {
            Self::FlipBits(count) => (0..count)
                .map(|_| {
                    let (offset, bit) = (rng.below(len), rng.below(8));
                    bytes[offset] ^= 1 << bit;
                    format!("bit {bit} of byte {offset}")
                })
                .collect(),
            Self::FlipBytes(count) => (0..count)
                .map(|_| {
                    let offset = rng.below(len);
                    // 1..=255: never the byte itself.
                    let flip = u8::try_from(rng.in_range(1..=255)).unwrap_or(1);
                    bytes[offset] ^= flip;
                    format!("byte {offset}")
                })
                .collect(),
            Self::Truncate => {
                let keep = rng.below(len);
                bytes.truncate(keep);
                vec![format!("to {keep} of {len} bytes")]
            }
        };
        fs::write(path, &bytes)?;
        Ok(format!("{self}: {}", summarise(&places)))
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FlipBits(count) => write!(f, "{count} bit(s) flipped"),
            Self::FlipBytes(count) => write!(f, "{count} byte(s) changed"),
            Self::Truncate => f.write_str("truncated"),
        }
    }
}

/// The first few places, and how many more.
fn summarise(places: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = places.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if places.len() > SHOWN {
        text.push_str(&format!(" and {} more", places.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damaged(damage: Damage, seed: u64) -> (Vec<u8>, Vec<u8>, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let original: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        fs::write(&path, &original).unwrap();
        let report = damage.apply(&path, &mut TestRng::new(seed)).unwrap();
        (original, fs::read(&path).unwrap(), report)
    }

    fn differing_bits(a: &[u8], b: &[u8]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }

    #[test]
    fn each_kind_does_what_it_says() {
        for seed in 0..20 {
            let (original, one_bit, _) = damaged(Damage::FlipBits(1), seed);
            assert_eq!(differing_bits(&original, &one_bit), 1);
            let (original, bytes, report) = damaged(Damage::FlipBytes(20), seed);
            assert_eq!(bytes.len(), original.len());
            assert!(bytes != original, "{report}");
            assert!(report.contains("and 17 more"), "{report}");
            let (original, cut, _) = damaged(Damage::Truncate, seed);
            assert!(cut.len() < original.len());
            assert_eq!(cut[..], original[..cut.len()]);
        }
    }

    #[test]
    fn the_same_seed_does_the_same_damage() {
        assert_eq!(damaged(Damage::FlipBytes(20), 7), damaged(Damage::FlipBytes(20), 7));
        assert_eq!(Damage::for_probe(5), Damage::FlipBits(2));
    }

    #[test]
    fn an_empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        fs::write(&path, b"").unwrap();
        assert!(Damage::Truncate.apply(&path, &mut TestRng::new(1)).is_err());
    }
}
