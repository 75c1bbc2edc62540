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
//! progress tag: u8          0 = none, 1 = snap sync, 2 = entities
//! snap sync:  phase: u8, pivot_number: u64, pivot_hash: [u8; 32],
//!             range count: u32, next hash per range: count × [u8; 32],
//!             accounts: u64, slots: u64, codes: u64, nodes: u64
//! entities:   processed: u64, total: u64
//! ```
//!
//! Decoding rejects unknown versions, tags and phases, short input and trailing bytes with a
//! [`CheckpointDecodeError`]; it never panics and never allocates more than the input can hold.

use crate::CheckpointDecodeError;
use alloy_primitives::B256;

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
    /// big-endian), a progress tag (0 none, 1 snap sync, 2 entities) and the progress fields in
    /// declaration order, the range list prefixed by its length as 4 big-endian bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(CHECKPOINT_VERSION);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        match &self.progress {
            None => out.push(0),
            Some(StageProgress::SnapSync(snap)) => {
                out.push(1);
                out.push(snap.phase.to_byte());
                out.extend_from_slice(&snap.pivot_number.to_be_bytes());
                out.extend_from_slice(snap.pivot_hash.as_slice());
                // The list is bounded by the range count a stage chooses (a handful); a list that
                // does not fit a u32 cannot be encoded faithfully, so it is capped and the
                // decoder sees a consistent (shorter) record.
                let count = u32::try_from(snap.next_hashes.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&count.to_be_bytes());
                for hash in snap.next_hashes.iter().take(count as usize) {
                    out.extend_from_slice(hash.as_slice());
                }
                for n in [snap.accounts, snap.slots, snap.codes, snap.nodes] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
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
            1 => {
                let phase = SnapPhase::from_byte(r.u8("phase")?)?;
                let pivot_number = r.u64("pivot_number")?;
                let pivot_hash = r.hash("pivot_hash")?;
                let count = r.u32("range count")? as usize;
                if count > r.remaining() / 32 {
                    return Err(CheckpointDecodeError::BadLength {
                        count,
                        remaining: r.remaining(),
                    });
                }
                let mut next_hashes = Vec::with_capacity(count);
                for _ in 0..count {
                    next_hashes.push(r.hash("next hash")?);
                }
                Some(StageProgress::SnapSync(SnapSyncCheckpoint {
                    phase,
                    pivot_number,
                    pivot_hash,
                    next_hashes,
                    accounts: r.u64("accounts")?,
                    slots: r.u64("slots")?,
                    codes: r.u64("codes")?,
                    nodes: r.u64("nodes")?,
                }))
            }
            2 => Some(StageProgress::Entities(EntitiesCheckpoint {
                processed: r.u64("processed")?,
                total: r.u64("total")?,
            })),
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
    /// Snap sync's position in downloading the state at its pivot.
    SnapSync(SnapSyncCheckpoint),
    /// A count of processed entities, for stages that walk a known amount of work.
    Entities(EntitiesCheckpoint),
}

/// Where snap sync stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapSyncCheckpoint {
    /// The current phase.
    pub phase: SnapPhase,
    /// The pivot block number.
    pub pivot_number: u64,
    /// The pivot block hash.
    pub pivot_hash: B256,
    /// For each account-hash range the key space is split into, the next hash to request (the
    /// range is done when it passes the range's end).
    pub next_hashes: Vec<B256>,
    /// Accounts stored so far.
    pub accounts: u64,
    /// Storage slots stored so far.
    pub slots: u64,
    /// Bytecodes stored so far.
    pub codes: u64,
    /// Trie nodes healed so far.
    pub nodes: u64,
}

/// The phases of snap sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SnapPhase {
    /// Downloading account ranges.
    Accounts,
    /// Downloading storage ranges.
    Storages,
    /// Downloading bytecodes.
    Bytecodes,
    /// Healing the trie after the pivot moved.
    Healing,
    /// Verifying the stored state root against the pivot's.
    Verifying,
    /// Finished.
    Done,
}

impl SnapPhase {
    /// Every phase, in order.
    pub const ALL: [Self; 6] = [
        Self::Accounts,
        Self::Storages,
        Self::Bytecodes,
        Self::Healing,
        Self::Verifying,
        Self::Done,
    ];

    /// The phase's stored byte (its position in [`SnapPhase::ALL`]).
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Accounts => 0,
            Self::Storages => 1,
            Self::Bytecodes => 2,
            Self::Healing => 3,
            Self::Verifying => 4,
            Self::Done => 5,
        }
    }

    /// The phase stored as `byte`.
    ///
    /// # Errors
    /// [`CheckpointDecodeError::UnknownPhase`] for a byte no phase has.
    pub const fn from_byte(byte: u8) -> Result<Self, CheckpointDecodeError> {
        Ok(match byte {
            0 => Self::Accounts,
            1 => Self::Storages,
            2 => Self::Bytecodes,
            3 => Self::Healing,
            4 => Self::Verifying,
            5 => Self::Done,
            phase => return Err(CheckpointDecodeError::UnknownPhase { phase }),
        })
    }
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

    fn u32(&mut self, field: &'static str) -> Result<u32, CheckpointDecodeError> {
        self.take(field).map(u32::from_be_bytes)
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, CheckpointDecodeError> {
        self.take(field).map(u64::from_be_bytes)
    }

    fn hash(&mut self, field: &'static str) -> Result<B256, CheckpointDecodeError> {
        self.take::<32>(field).map(B256::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_progress() -> impl Strategy<Value = Option<StageProgress>> {
        let snap = (
            prop::sample::select(SnapPhase::ALL.to_vec()),
            any::<u64>(),
            any::<[u8; 32]>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..20),
            any::<[u64; 4]>(),
        )
            .prop_map(
                |(phase, pivot_number, hash, next, [accounts, slots, codes, nodes])| {
                    StageProgress::SnapSync(SnapSyncCheckpoint {
                        phase,
                        pivot_number,
                        pivot_hash: B256::from(hash),
                        next_hashes: next.into_iter().map(B256::from).collect(),
                        accounts,
                        slots,
                        codes,
                        nodes,
                    })
                },
            );
        let entities = (any::<u64>(), any::<u64>()).prop_map(|(processed, total)| {
            StageProgress::Entities(EntitiesCheckpoint { processed, total })
        });
        prop_oneof![Just(None), snap.prop_map(Some), entities.prop_map(Some)]
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
    fn rejects_unknown_version_tag_and_phase() {
        let mut bytes = StageCheckpoint::new(7).encode();
        bytes[0] = 2;
        assert_eq!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::UnknownVersion { version: 2 })
        );
        let mut bytes = StageCheckpoint::new(7).encode();
        bytes[9] = 3;
        assert_eq!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::UnknownTag { tag: 3 })
        );
        let snap = SnapSyncCheckpoint {
            phase: SnapPhase::Healing,
            pivot_number: 1,
            pivot_hash: B256::ZERO,
            next_hashes: vec![],
            accounts: 0,
            slots: 0,
            codes: 0,
            nodes: 0,
        };
        let mut bytes =
            StageCheckpoint::new(7).with_progress(StageProgress::SnapSync(snap)).encode();
        bytes[10] = 9;
        assert_eq!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::UnknownPhase { phase: 9 })
        );
    }

    #[test]
    fn huge_range_count_is_rejected_before_allocating() {
        let mut bytes = vec![CHECKPOINT_VERSION];
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.push(1);
        bytes.push(0);
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.extend_from_slice(&[0; 32]);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            StageCheckpoint::decode(&bytes),
            Err(CheckpointDecodeError::BadLength { count, .. }) if count == u32::MAX as usize
        ));
    }

    #[test]
    fn empty_checkpoint_is_ten_bytes() {
        assert_eq!(StageCheckpoint::new(1).encode().len(), 10);
    }
}
