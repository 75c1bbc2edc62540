//! Stage checkpoints and their stored encoding.
//!
//! A checkpoint is how far a stage has got: the block number it has fully processed up to, and,
//! for a stage that needs many transactions to reach the next block (snap sync downloads the
//! whole state at one pivot), its progress within that block. The pipeline writes the checkpoint
//! in the same write transaction as the data the step produced, so after a crash the stored
//! checkpoint describes exactly the stored data.
//!
//! # Encoding
//!
//! Checkpoints are stored in `StageCheckpoints` as a compact, versioned binary record; integers
//! are big-endian, hashes are their 32 bytes:
//!
//! ```text
//! version: u8 (= 1)
//! block_number: u64
//! progress tag: u8          0 = none, 2 = entities, 3 = recorded (no payload)
//! entities:   processed: u64, total: u64
//! ```
//!
//! Tag 1 held a copy of snap sync's position, written by earlier versions; the snap stage now
//! keeps its position only in its own record, and a stored tag 1 is reported as
//! [`CheckpointDecodeError::RetiredTag`] (such a data directory cannot be resumed).
//!
//! Decoding rejects unknown versions, tags and phases, short input and trailing bytes with a
//! [`CheckpointDecodeError`]; it never panics and never allocates more than the input can hold.

use crate::CheckpointDecodeError;

/// The current version of the stored checkpoint record.
pub const CHECKPOINT_VERSION: u8 = 1;

/// How far a stage has got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageCheckpoint {
    /// The block the stage has fully processed up to (0 before its first step).
    pub block_number: u64,
    /// Progress within the next unit of work, for stages that need several steps to advance
    /// `block_number`; `None` when `block_number` says it all.
    pub progress: Option<StageProgress>,
}

impl StageCheckpoint {
    /// A checkpoint at `block_number` with no further progress.
    pub const fn new(block_number: u64) -> Self {
        Self { block_number, progress: None }
    }

    /// This checkpoint with `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: StageProgress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The stored encoding: a version byte ([`CHECKPOINT_VERSION`]), the block number (8 bytes,
    /// big-endian), a progress tag (0 none, 2 entities, 3 recorded) and the progress fields in
    /// declaration order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(CHECKPOINT_VERSION);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        match &self.progress {
            None => out.push(0),
            Some(StageProgress::Recorded) => out.push(3),
            Some(StageProgress::Entities(entities)) => {
                out.push(2);
                out.extend_from_slice(&entities.processed.to_be_bytes());
                out.extend_from_slice(&entities.total.to_be_bytes());
            }
        }
        out
    }

    /// Decodes a stored checkpoint.
    ///
    /// # Errors
    /// [`CheckpointDecodeError`] for an unknown version, tag or phase, short input, an impossible
    /// list length or trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointDecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8("version")?;
        if version != CHECKPOINT_VERSION {
            return Err(CheckpointDecodeError::UnknownVersion { version });
        }
        let block_number = r.u64("block_number")?;
        let progress = match r.u8("progress tag")? {
            0 => None,
            1 => return Err(CheckpointDecodeError::RetiredTag { tag: 1 }),
            2 => Some(StageProgress::Entities(EntitiesCheckpoint {
                processed: r.u64("processed")?,
                total: r.u64("total")?,
            })),
            3 => Some(StageProgress::Recorded),
            tag => return Err(CheckpointDecodeError::UnknownTag { tag }),
        };
        if r.remaining() != 0 {
            return Err(CheckpointDecodeError::TrailingBytes { extra: r.remaining() });
        }
        Ok(Self { block_number, progress })
    }
}

/// Progress within a stage's next unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageProgress {
    /// The stage has not finished, and keeps where it stands in a record of its own, written in
    /// the same transaction as this checkpoint (the snap sync stage's progress record): one
    /// record per stage, never a copy here that could drift from it.
    Recorded,
    /// A count of processed entities, for stages that walk a known amount of work.
    Entities(EntitiesCheckpoint),
}

/// A count of processed entities out of a known total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntitiesCheckpoint {
    /// Entities processed.
    pub processed: u64,
    /// Entities in all.
    pub total: u64,
}

/// A bounds-checked cursor over an encoded checkpoint.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], CheckpointDecodeError> {
        let chunk = self
            .bytes
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or(CheckpointDecodeError::Truncated { field, offset: self.pos })?;
        self.pos += N;
        Ok(*chunk)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, CheckpointDecodeError> {
        Ok(self.take::<1>(field)?[0])
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, CheckpointDecodeError> {
        self.take(field).map(u64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_progress() -> impl Strategy<Value = Option<StageProgress>> {
        let entities = (any::<u64>(), any::<u64>()).prop_map(|(processed, total)| {
            StageProgress::Entities(EntitiesCheckpoint { processed, total })
        });
        prop_oneof![Just(None), Just(Some(StageProgress::Recorded)), entities.prop_map(Some)]
    }

    fn arb_checkpoint() -> impl Strategy<Value = StageCheckpoint> {
        (any::<u64>(), arb_progress())
            .prop_map(|(block_number, progress)| StageCheckpoint { block_number, progress })
    }

    proptest! {
        #[test]
        fn round_trips(checkpoint in arb_checkpoint()) {
            let bytes = checkpoint.encode();
            prop_assert_eq!(StageCheckpoint::decode(&bytes), Ok(checkpoint));
        }

        #[test]
        fn every_strict_prefix_is_an_error(checkpoint in arb_checkpoint()) {
            let bytes = checkpoint.encode();
            for len in 0..bytes.len() {
                prop_assert!(StageCheckpoint::decode(&bytes[..len]).is_err());
            }
        }

        #[test]
        fn trailing_bytes_are_an_error(checkpoint in arb_checkpoint(), extra in 1usize..8) {
            let mut bytes = checkpoint.encode();
            bytes.extend(std::iter::repeat_n(0u8, extra));
            prop_assert_eq!(
                StageCheckpoint::decode(&bytes),
                Err(CheckpointDecodeError::TrailingBytes { extra })
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = StageCheckpoint::decode(&bytes);
        }
    }

    #[test]
    fn rejects_unknown_versions_and_tags_and_names_the_retired_one() {
        let mut bytes = StageCheckpoint::new(7).encode();
        bytes[0] = 2;
        assert_eq!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::UnknownVersion { version: 2 })
        );
        let mut bytes = StageCheckpoint::new(7).encode();
        bytes[9] = 4;
        assert_eq!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::UnknownTag { tag: 4 })
        );
        bytes[9] = 1;
        let error = StageCheckpoint::decode(&bytes).unwrap_err();
        assert_eq!(error, CheckpointDecodeError::RetiredTag { tag: 1 });
        assert!(error.to_string().contains("older version"), "{error}");
    }

    #[test]
    fn a_recorded_checkpoint_is_the_tag_alone() {
        let checkpoint = StageCheckpoint::new(0).with_progress(StageProgress::Recorded);
        assert_eq!(checkpoint.encode().len(), 10);
        assert_eq!(StageCheckpoint::decode(&checkpoint.encode()), Ok(checkpoint));
    }

    #[test]
    fn empty_checkpoint_is_ten_bytes() {
        assert_eq!(StageCheckpoint::new(1).encode().len(), 10);
    }
}
