//! The stage's durable state: what is done, what is pending, at which pivot.
//!
//! One record, [`SyncState`], stored in `SnapProgress` under [`SyncState::KEY`] and rewritten in
//! the same transaction as every batch of data it describes. After a crash the stored record and
//! the stored data agree, so a restart reads the record and continues exactly where the last
//! commit left off: completed ranges are never fetched again.
//!
//! # Pivot moves
//!
//! Account ranges are proven against the pivot's root at the time they are downloaded; after the
//! pivot moves, the rest of each unfinished chunk is downloaded against the new root. Each queued
//! [`StorageTask`] keeps the root its account was proven against, so the storage of an account is
//! asked for in the state it came from (whose storage root its slots are proven against) while
//! peers still serve it. What older roots leave inconsistent is repaired by healing (see
//! `heal.rs`).
//!
//! Encoding: one version byte ([`SyncState::VERSION`]) followed by the RLP of the record.
//! Decoding is strict (unknown version, malformed RLP, trailing bytes are errors) and allocates no
//! more than the input holds.

use crate::SnapPhase;
use crate::SnapSyncError;
use alloy_primitives::{B256, U256, U512};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_stages::{StageCheckpoint, StageProgress};
use snapsync_storage::{StateRead, StateWrite, StoreError};

/// The block whose state is being synced, trusted through the hash chain from the tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Pivot {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// Its state root: the root every account range is proven against.
    pub state_root: B256,
}

/// One slice of the account hash space, downloaded in order from `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct AccountChunk {
    /// The next account hash to request.
    pub(crate) next: AccountHash,
    /// The last account hash of the chunk (inclusive).
    pub(crate) end: AccountHash,
    /// Whether every account of the chunk is stored.
    pub(crate) done: bool,
}

impl AccountChunk {
    /// Whether the chunk stores no more accounts between `first` and `last` (inclusive): it is
    /// done, or what is left of it lies outside.
    pub(crate) fn stores_nothing_more_in(&self, first: AccountHash, last: AccountHash) -> bool {
        self.done || self.end < first || self.next > last
    }
}

/// An account whose storage is still to be fetched whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct StorageTask {
    /// The account.
    pub(crate) account: AccountHash,
    /// Its storage root, which its slots are proven against.
    pub(crate) storage_root: B256,
    /// The state root the account was proven against: its storage is asked for in that state.
    pub(crate) state_root: B256,
}

/// A slot-hash interval of a large contract, downloaded in order from `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct SlotRange {
    /// The next slot hash to request.
    pub(crate) next: SlotHash,
    /// The last slot hash of the interval (inclusive).
    pub(crate) end: SlotHash,
}

/// A contract too large for one reply: its remaining slot space in concurrent sub-ranges.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct LargeContract {
    /// The account and its storage root.
    pub(crate) task: StorageTask,
    /// The unfinished sub-ranges.
    pub(crate) ranges: Vec<SlotRange>,
}

/// The storage still to fetch: queued from verified account ranges, in the same transaction as
/// the accounts themselves, so every stored account with a non-empty storage root is either
/// done, pending or large.
#[derive(Debug, Clone, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub(crate) struct StorageQueue {
    /// Accounts whose storage is still to be fetched whole.
    pub(crate) pending: Vec<StorageTask>,
    /// Contracts being downloaded in sub-ranges.
    pub(crate) large: Vec<LargeContract>,
}

impl StorageQueue {
    /// Whether nothing queued is left: with every account chunk done, every account with storage
    /// has all of it stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.large.is_empty()
    }

    /// Whether storage is queued (pending or large) for an account `belongs` picks.
    pub(crate) fn queues_any(&self, belongs: impl Fn(&AccountHash) -> bool) -> bool {
        self.pending.iter().any(|task| belongs(&task.account))
            || self.large.iter().any(|large| belongs(&large.task.account))
    }
}

/// What is stored so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub struct Counts {
    /// Accounts stored.
    pub accounts: u64,
    /// Storage slots stored.
    pub slots: u64,
    /// Bytecodes stored.
    pub codes: u64,
    /// Trie nodes written: while downloading, the nodes of the ranges' verification stored so
    /// far (a node shared by ranges of several steps, near the root, counts once per step);
    /// once verified, exactly the nodes of the tries.
    pub trie_nodes: u64,
    /// Trie nodes fetched by healing.
    pub healed_nodes: u64,
    /// Times the pivot moved.
    pub pivot_moves: u64,
}

/// The durable state of the snap sync stage. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncState {
    pub(crate) pivot: Pivot,
    pub(crate) phase: SnapPhase,
    pub(crate) chunks: Vec<AccountChunk>,
    pub(crate) storage: StorageQueue,
    /// Code hashes of stored accounts whose code is neither stored nor gathered yet, each once.
    pub(crate) codes: Vec<B256>,
    pub(crate) counts: Counts,
}

/// [`SyncState`] as RLP sees it (the phase as its byte).
#[derive(RlpEncodable, RlpDecodable)]
struct Record {
    pivot: Pivot,
    phase: u8,
    chunks: Vec<AccountChunk>,
    storage: StorageQueue,
    codes: Vec<B256>,
    counts: Counts,
}

impl SyncState {
    /// The `SnapProgress` key of the record.
    pub(crate) const KEY: &'static str = "snap-sync";
    /// The encoding version.
    pub(crate) const VERSION: u8 = 3;
    /// The last version whose storage and code phases scanned the stored accounts: its records
    /// hold scan cursors instead of queues and are not read.
    const SCANNING_VERSION: u8 = 2;

    /// A fresh sync of `pivot`'s state with the account space in `chunks` equal slices.
    pub(crate) fn new(pivot: Pivot, chunks: u64) -> Self {
        Self {
            pivot,
            phase: SnapPhase::Accounts,
            chunks: split_account_space(chunks),
            storage: StorageQueue::default(),
            codes: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// The record of a state stored whole at `pivot` by an import: every chunk, the storage
    /// and code scans done, the phase `Done`.
    pub(crate) fn finished_import(pivot: Pivot, counts: Counts) -> Self {
        let mut state = Self::new(pivot, 1);
        for chunk in &mut state.chunks {
            chunk.next = chunk.end;
            chunk.done = true;
        }
        state.phase = SnapPhase::Done;
        state.counts = counts;
        state
    }

    /// The stored record, if the stage has committed one.
    pub(crate) fn load(view: &(impl StateRead + ?Sized)) -> Result<Option<Self>, SnapSyncError> {
        let Some(bytes) = view.progress(Self::KEY)? else {
            return Ok(None);
        };
        Self::decode(&bytes).map(Some)
    }

    /// Writes the record into `txn`.
    pub(crate) fn store(&self, txn: &mut (impl StateWrite + ?Sized)) -> Result<(), StoreError> {
        txn.set_progress(Self::KEY, &self.encode().into())
    }

    fn encode(&self) -> Vec<u8> {
        let record = Record {
            pivot: self.pivot,
            phase: self.phase.to_byte(),
            chunks: self.chunks.clone(),
            storage: self.storage.clone(),
            codes: self.codes.clone(),
            counts: self.counts,
        };
        let mut out = Vec::with_capacity(1 + record.length());
        out.push(Self::VERSION);
        record.encode(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, SnapSyncError> {
        let corrupt = |reason: String| SnapSyncError::CorruptState { reason };
        let Some((&version, mut rest)) = bytes.split_first() else {
            return Err(corrupt("empty record".to_owned()));
        };
        if version == Self::SCANNING_VERSION {
            return Err(corrupt(format!(
                "version {version} was written by an older snapsync, whose storage and bytecode \
                 phases scanned the stored accounts; unwind the SnapSync stage (or start from an \
                 empty data directory) to sync again"
            )));
        }
        if version != Self::VERSION {
            return Err(corrupt(format!("unknown version {version}")));
        }
        let record = Record::decode(&mut rest).map_err(|error| corrupt(error.to_string()))?;
        if !rest.is_empty() {
            return Err(corrupt(format!("{} trailing bytes", rest.len())));
        }
        let phase = SnapPhase::from_byte(record.phase)
            .ok_or_else(|| corrupt(format!("unknown snap sync phase {}", record.phase)))?;
        Ok(Self {
            pivot: record.pivot,
            phase,
            chunks: record.chunks,
            storage: record.storage,
            codes: record.codes,
            counts: record.counts,
        })
    }

    /// Re-anchors on `pivot`, a newer block: the rest of every unfinished chunk is downloaded
    /// against its root from now on (queued storage keeps the roots its accounts came from),
    /// and a state that was being verified or healed is verified again (against the new root).
    /// Nothing stored is discarded.
    pub(crate) fn move_pivot(&mut self, pivot: Pivot) {
        if matches!(self.phase, SnapPhase::Healing | SnapPhase::Verifying) {
            self.phase = SnapPhase::Verifying;
        }
        self.pivot = pivot;
        self.counts.pivot_moves += 1;
    }

    /// The pipeline checkpoint describing this state: block 0 until done, then the pivot.
    pub(crate) fn checkpoint(&self) -> StageCheckpoint {
        if self.phase == SnapPhase::Done {
            return StageCheckpoint::new(self.pivot.number);
        }
        // Where the sync stands is this record itself, stored beside the checkpoint; the block
        // is the pivot being synced, for stages that run alongside (receipts up to it).
        StageCheckpoint::new(self.pivot.number).with_progress(StageProgress::Recorded)
    }

    /// The fraction of the account hash space downloaded, 0 to 1.
    pub(crate) fn accounts_fraction(&self) -> f64 {
        let total: f64 = self.chunks.iter().map(|chunk| span(chunk.next, chunk.end)).sum();
        let remaining: f64 = self
            .chunks
            .iter()
            .filter(|chunk| !chunk.done)
            .map(|chunk| span(chunk.next, chunk.end))
            .sum();
        if total <= 0.0 { 1.0 } else { (1.0 - remaining / 2f64.powi(256)).clamp(0.0, 1.0) }
    }
}

/// The record that the stored trie nodes are the ones range verification computed.
///
/// A sync's first step writes it, with the pivot's state root, when the state tables (accounts,
/// slots and both node tables) are empty. From then on, as long as the pivot does not move,
/// every account and slot stored comes from a range proven against that root (or against a
/// storage root of an account proven against it), and each step stores, in the same
/// transaction, the trie nodes verifying its ranges computed. Those are real nodes of the
/// pivot's tries (they hash up to trusted roots), and once the download is complete the ranges
/// covered every key, so the stored nodes are exactly the tries of the stored leaves: the
/// verifying step checks them instead of hashing every leaf again. After a pivot move the stored
/// state is a patchwork of roots; the record no longer holds and the tries are rebuilt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VerifiedNodes;

impl VerifiedNodes {
    /// The `SnapProgress` key of the record.
    pub(crate) const KEY: &'static str = "snap-sync/verified-nodes";

    /// Whether the state tables hold nothing (a first step may write the record then).
    pub(crate) fn tables_empty(view: &(impl StateRead + ?Sized)) -> Result<bool, StoreError> {
        view.is_state_empty()
    }

    /// Writes the record: the stored nodes are proven against `root`.
    pub(crate) fn store(
        txn: &mut (impl StateWrite + ?Sized),
        root: B256,
    ) -> Result<(), StoreError> {
        txn.set_progress(Self::KEY, &root.to_vec().into())
    }

    /// Removes the record.
    pub(crate) fn remove(txn: &mut (impl StateWrite + ?Sized)) -> Result<(), StoreError> {
        txn.delete_progress(Self::KEY)?;
        Ok(())
    }

    /// Whether the record holds for `state`: written for its pivot's root, the pivot never
    /// moved.
    pub(crate) fn hold(
        view: &(impl StateRead + ?Sized),
        state: &SyncState,
    ) -> Result<bool, StoreError> {
        if state.counts.pivot_moves != 0 {
            return Ok(false);
        }
        let record = view.progress(Self::KEY)?;
        Ok(record.is_some_and(|root| root.as_ref() == state.pivot.state_root.as_slice()))
    }
}

/// Hashes from `from` to `to` inclusive, as a float (for progress only).
fn span(from: AccountHash, to: AccountHash) -> f64 {
    let (from, to) = (U256::from_be_bytes(from.0.0), U256::from_be_bytes(to.0.0));
    if to < from { 0.0 } else { f64::from(to - from) + 1.0 }
}

/// `chunks` equal, contiguous slices covering the whole account hash space (at least one).
pub(crate) fn split_account_space(chunks: u64) -> Vec<AccountChunk> {
    split_interval(U256::ZERO, U256::MAX, chunks)
        .into_iter()
        .map(|(start, end)| AccountChunk {
            next: AccountHash::from(B256::from(start)),
            end: AccountHash::from(B256::from(end)),
            done: false,
        })
        .collect()
}

/// `[first, last]` cut into `parts` contiguous intervals of near-equal width (fewer when the
/// interval has fewer values), in order.
pub(crate) fn split_interval(first: U256, last: U256, parts: u64) -> Vec<(U256, U256)> {
    // Boundaries at `first + floor(values * i / parts)`, computed in 512 bits: the value count
    // of the whole space is 2^256, which 256 bits cannot hold.
    let values = U512::from(last - first) + U512::from(1);
    let parts = U512::from(parts.max(1)).min(values);
    let boundary = |index: U512| first + U256::saturating_from(values * index / parts);
    let mut out = Vec::new();
    let mut index = U512::ZERO;
    while index < parts {
        let next = index + U512::from(1);
        let end = if next == parts { last } else { boundary(next) - U256::from(1) };
        out.push((boundary(index), end));
        index = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SyncState {
        let pivot =
            Pivot { number: 7, hash: B256::repeat_byte(1), state_root: B256::repeat_byte(2) };
        let mut state = SyncState::new(pivot, 4);
        state.phase = SnapPhase::Storages;
        state.storage.pending.push(StorageTask {
            account: AccountHash::from(B256::repeat_byte(3)),
            storage_root: B256::repeat_byte(4),
            state_root: B256::repeat_byte(2),
        });
        state.storage.large.push(LargeContract {
            task: StorageTask {
                account: AccountHash::from(B256::repeat_byte(5)),
                storage_root: B256::repeat_byte(6),
                state_root: B256::repeat_byte(7),
            },
            ranges: vec![SlotRange { next: SlotHash::ZERO, end: SlotHash::MAX }],
        });
        state.codes.push(B256::repeat_byte(8));
        state.counts.slots = 99;
        state
    }

    #[test]
    fn record_round_trips() {
        let state = sample();
        assert_eq!(SyncState::decode(&state.encode()).unwrap(), state);
    }

    #[test]
    fn corrupt_records_are_errors() {
        let bytes = sample().encode();
        assert!(SyncState::decode(&[]).is_err());
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 9;
        assert!(SyncState::decode(&wrong_version).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(SyncState::decode(&trailing).is_err());
        for cut in 1..bytes.len() {
            assert!(SyncState::decode(&bytes[..cut]).is_err(), "prefix of {cut} bytes accepted");
        }
    }

    #[test]
    fn a_pivot_move_keeps_the_queues_and_verifies_again() {
        let mut state = sample();
        let queued = state.storage.clone();
        state.phase = SnapPhase::Healing;
        let next =
            Pivot { number: 9, hash: B256::repeat_byte(8), state_root: B256::repeat_byte(9) };
        state.move_pivot(next);
        assert_eq!((state.pivot, state.counts.pivot_moves), (next, 1));
        assert_eq!(state.phase, SnapPhase::Verifying);
        // Queued storage is still asked for in the state its account was proven against.
        assert_eq!(state.storage, queued);
        assert_eq!(SyncState::decode(&state.encode()).unwrap(), state);
    }

    #[test]
    fn records_of_the_scanning_version_are_refused_by_name() {
        let mut bytes = sample().encode();
        bytes[0] = 2;
        let error = SyncState::decode(&bytes).unwrap_err().to_string();
        assert!(error.contains("older snapsync"), "{error}");
    }

    #[test]
    fn account_space_is_covered_without_gaps() {
        for parts in [1, 2, 3, 16, 255] {
            let chunks = split_account_space(parts);
            assert_eq!(chunks.len() as u64, parts);
            assert_eq!(chunks[0].next, AccountHash::ZERO);
            assert_eq!(chunks.last().unwrap().end, AccountHash::MAX);
            for pair in chunks.windows(2) {
                let end = U256::from_be_bytes(pair[0].end.0.0);
                assert_eq!(U256::from_be_bytes(pair[1].next.0.0), end + U256::from(1));
            }
        }
    }

    proptest! {
        #[test]
        fn intervals_partition(first in any::<u64>(), width in 0u64..1000, parts in 1u64..40) {
            let (first, last) = (U256::from(first), U256::from(first) + U256::from(width));
            let intervals = split_interval(first, last, parts);
            prop_assert!(!intervals.is_empty());
            prop_assert!(intervals.len() as u64 <= parts);
            prop_assert_eq!(intervals[0].0, first);
            prop_assert_eq!(intervals.last().unwrap().1, last);
            for pair in intervals.windows(2) {
                prop_assert_eq!(pair[1].0, pair[0].1 + U256::from(1));
            }
            for (start, end) in intervals {
                prop_assert!(start <= end);
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SyncState::decode(&bytes);
        }
    }
}
