//! Storage ranges: the slots of every account with a non-empty storage root.
//!
//! Work comes from two places, in this order: sub-ranges of large contracts, and the accounts
//! verified account ranges queued (see `download.rs`). Small contracts go `accounts_per_batch` to a request; a reply may stop early, after a
//! partial last set (that contract becomes *large*: the rest of its slot space is split into
//! sub-ranges, `split_sub_ranges` of them when the density seen so far predicts more than
//! `split_threshold_slots` remaining, each fetched concurrently with its own proof) or before
//! some accounts (they go back to the pending list). Every set is proven against its account's
//! storage root by the fetcher before it reaches this module.
//!
//! Each account's storage is asked for in the state its account was proven against (a batch
//! holds accounts of one state only), so that after a pivot move the slots still match the
//! storage root the stored account holds. Once no peer serves such an older state any more, its
//! accounts' storage is left as it is: the verification finds their slots inconsistent and
//! healing fetches them from the current pivot's trie.

use crate::{
    SnapSyncConfig,
    state::{LargeContract, SlotRange, StorageQueue, StorageTask, split_interval},
    step::StepWrites,
};
use alloy_primitives::{B256, U256};
use snapsync_etl::EtlError;
use snapsync_fetch::{StorageRangesRequest, StorageTarget, VerifiedStorage};
use snapsync_primitives::{AccountHash, SlotHash};
use std::collections::HashSet;
use tracing::debug;

/// The sub-ranges of large contracts in flight, by account and range end.
pub(crate) type BusyRanges = HashSet<(AccountHash, SlotHash)>;

/// One storage request's work.
#[derive(Debug)]
pub(crate) enum Work {
    /// Whole storage of these accounts, from slot zero.
    Batch(Vec<StorageTask>),
    /// One sub-range of a large contract, identified by account and the range's end.
    Range(StorageTask, SlotRange),
}

impl Work {
    /// The state the work's accounts were proven against.
    pub(crate) fn state_root(&self) -> B256 {
        match self {
            Self::Batch(tasks) => tasks.first().map(|task| task.state_root).unwrap_or_default(),
            Self::Range(task, _) => task.state_root,
        }
    }
}

/// Storage settings the phase needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Accounts per batch request.
    pub(crate) batch: usize,
    split_threshold: u64,
    sub_ranges: u64,
    max_requests: usize,
}

impl Limits {
    pub(crate) fn new(config: &SnapSyncConfig) -> Self {
        Self {
            batch: usize::try_from(config.storage.accounts_per_batch).unwrap_or(usize::MAX).max(1),
            split_threshold: config.storage.split_threshold_slots,
            sub_ranges: config.storage.split_sub_ranges,
            max_requests: usize::try_from(config.requests_in_flight()).unwrap_or(usize::MAX),
        }
    }
}

/// Returns unsent `work` to the queue: a batch to the front of the pending accounts, a
/// sub-range to its contract's open ranges (where it stayed, marked busy).
pub(crate) fn put_back(queue: &mut StorageQueue, busy: &mut BusyRanges, work: Work) {
    match work {
        Work::Batch(tasks) => {
            queue.pending.splice(0..0, tasks);
        }
        Work::Range(task, range) => {
            busy.remove(&(task.account, range.end));
        }
    }
}

/// Gives up on `work` (its state is no longer served well): its accounts keep the slots stored
/// so far, which healing completes.
pub(crate) fn abandon(queue: &mut StorageQueue, busy: &mut BusyRanges, work: Work) {
    let task = match work {
        Work::Batch(tasks) => {
            debug!(target: "sync::snap::storage", accounts = tasks.len(), "state no longer served, storage left to healing");
            return;
        }
        Work::Range(task, range) => {
            busy.remove(&(task.account, range.end));
            task
        }
    };
    debug!(target: "sync::snap::storage", account = %task.account, "state no longer served, large contract left to healing");
    queue.large.retain(|contract| contract.task != task);
}

/// The next request to make: a free sub-range, else a batch of pending accounts (only while
/// fewer large contracts are open than requests may be in flight, to bound the queue).
pub(crate) fn next_work(
    queue: &mut StorageQueue,
    busy: &mut BusyRanges,
    limits: Limits,
) -> Option<Work> {
    for contract in &queue.large {
        for range in &contract.ranges {
            if busy.insert((contract.task.account, range.end)) {
                return Some(Work::Range(contract.task, *range));
            }
        }
    }
    if queue.pending.is_empty() || queue.large.len() >= limits.max_requests {
        return None;
    }
    Some(Work::Batch(take_batch(&mut queue.pending, limits.batch)))
}

/// Up to `batch` tasks from the front of `pending`, all of the first one's state.
fn take_batch(pending: &mut Vec<StorageTask>, batch: usize) -> Vec<StorageTask> {
    let state_root = pending.first().map(|task| task.state_root);
    let same = pending.iter().take(batch).take_while(|task| Some(task.state_root) == state_root);
    let take = same.count();
    pending.drain(..take).collect()
}

/// The request for `work`, in the state its accounts were proven against.
pub(crate) fn request_for(work: &Work) -> StorageRangesRequest {
    let target = |task: &StorageTask| StorageTarget {
        account: task.account,
        storage_root: task.storage_root,
    };
    match work {
        Work::Batch(tasks) => StorageRangesRequest {
            root: work.state_root(),
            accounts: tasks.iter().map(target).collect(),
            origin: SlotHash::ZERO,
            limit: SlotHash::MAX,
            response_bytes: 0,
        },
        Work::Range(task, range) => StorageRangesRequest {
            root: task.state_root,
            accounts: vec![target(task)],
            origin: range.next,
            limit: range.end,
            response_bytes: 0,
        },
    }
}

/// Takes a batch reply: whole sets are stored, a partial last set opens a large contract, and
/// accounts the reply did not reach go back to the front of the pending list. Returns the slots
/// stored.
pub(crate) fn apply_batch(
    queue: &mut StorageQueue,
    mut tasks: Vec<StorageTask>,
    sets: Vec<VerifiedStorage>,
    writes: &mut StepWrites,
    limits: Limits,
) -> Result<u64, EtlError> {
    let unserved = tasks.split_off(sets.len().min(tasks.len()));
    let mut stored = 0;
    for (task, set) in tasks.into_iter().zip(sets) {
        stored += store_slots(task.account, set.slots(), SlotHash::MAX, writes)?;
        writes.add_storage_nodes(task.account, |take| set.for_each_stored_node(take))?;
        if set.has_more() {
            let last = set.slots().last().map(|(slot, _)| *slot);
            if let Some(contract) = open_large_contract(task, last, set.slots().len(), limits) {
                debug!(target: "sync::snap::storage", account = %task.account, ranges = contract.ranges.len(), "large contract split");
                queue.large.push(contract);
            }
        }
    }
    queue.pending.splice(0..0, unserved);
    Ok(stored)
}

/// Takes a sub-range reply: its slots up to the range's end are stored and the range continues
/// after the last, or closes; a contract with no open range is done. Returns the slots stored.
pub(crate) fn apply_range(
    queue: &mut StorageQueue,
    task: StorageTask,
    range: SlotRange,
    set: Option<&VerifiedStorage>,
    writes: &mut StepWrites,
) -> Result<u64, EtlError> {
    let (stored, next) = match set {
        Some(set) => {
            let stored = store_slots(task.account, set.slots(), range.end, writes)?;
            writes.add_storage_nodes(task.account, |take| set.for_each_stored_node(take))?;
            let last = set.slots().last().map(|(slot, _)| *slot);
            let next = last
                .filter(|last| set.has_more() && *last < range.end)
                .and_then(|last| last.checked_next());
            (stored, next)
        }
        None => (0, None),
    };
    let Some(index) = queue.large.iter().position(|contract| contract.task == task) else {
        return Ok(stored);
    };
    let contract = &mut queue.large[index];
    if let Some(open) = contract.ranges.iter_mut().find(|open| open.end == range.end) {
        match next {
            Some(next) => open.next = next,
            None => contract.ranges.retain(|open| open.end != range.end),
        }
    }
    if contract.ranges.is_empty() {
        queue.large.remove(index);
    }
    Ok(stored)
}

/// Stores `slots` of `account` up to `end`; returns how many.
fn store_slots(
    account: AccountHash,
    slots: &[(SlotHash, U256)],
    end: SlotHash,
    writes: &mut StepWrites,
) -> Result<u64, EtlError> {
    let mut stored = 0;
    for (slot, value) in slots.iter().take_while(|(slot, _)| *slot <= end) {
        writes.slots.insert(&(account, *slot), value)?;
        writes.add_bytes(64);
        stored += 1;
    }
    Ok(stored)
}

/// The rest of a contract's slot space after `last` (`seen` slots so far), split into
/// sub-ranges when the density seen predicts more than the split threshold remaining.
fn open_large_contract(
    task: StorageTask,
    last: Option<SlotHash>,
    seen: usize,
    limits: Limits,
) -> Option<LargeContract> {
    let next = last?.checked_next()?;
    let parts = if estimated_remaining(next, seen) > limits.split_threshold as f64 {
        limits.sub_ranges
    } else {
        1
    };
    let ranges = split_interval(U256::from_be_bytes(next.0.0), U256::MAX, parts)
        .into_iter()
        .map(|(start, end)| SlotRange {
            next: SlotHash::from(B256::from(start)),
            end: SlotHash::from(B256::from(end)),
        })
        .collect();
    Some(LargeContract { task, ranges })
}

/// Slots expected after `next`, if the `seen` slots before it are typical of the whole space.
fn estimated_remaining(next: SlotHash, seen: usize) -> f64 {
    let covered = f64::from(U256::from_be_bytes(next.0.0)) / 2f64.powi(256);
    if covered <= 0.0 {
        return f64::INFINITY;
    }
    #[allow(clippy::cast_precision_loss)] // an estimate
    let seen = seen as f64;
    seen * (1.0 - covered) / covered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { batch: 4, split_threshold: 1000, sub_ranges: 8, max_requests: 16 }
    }

    fn task(byte: u8) -> StorageTask {
        StorageTask {
            account: AccountHash::from(B256::repeat_byte(byte)),
            storage_root: B256::ZERO,
            state_root: B256::ZERO,
        }
    }

    #[test]
    fn dense_contracts_are_split_and_sparse_ones_are_not() {
        // 100 slots in the first 1/16 of the space: ~1500 more expected, above 1000.
        let mut bytes = [0xffu8; 32];
        bytes[0] = 0x0f;
        let dense =
            open_large_contract(task(1), Some(SlotHash::from(B256::from(bytes))), 100, limits());
        let dense = dense.unwrap();
        assert_eq!(dense.ranges.len(), 8);
        assert_eq!(dense.ranges.last().unwrap().end, SlotHash::MAX);
        // 100 slots in the first half: ~100 more expected.
        bytes[0] = 0x7f;
        let sparse =
            open_large_contract(task(1), Some(SlotHash::from(B256::from(bytes))), 100, limits());
        assert_eq!(sparse.unwrap().ranges.len(), 1);
        assert!(open_large_contract(task(1), Some(SlotHash::MAX), 5, limits()).is_none());
    }

    #[test]
    fn ranges_close_and_contracts_finish() {
        let mut queue = StorageQueue::default();
        let contract = open_large_contract(
            task(2),
            Some(SlotHash::ZERO),
            1,
            Limits { sub_ranges: 2, split_threshold: 0, ..limits() },
        )
        .unwrap();
        assert_eq!(contract.ranges.len(), 2);
        let ranges = contract.ranges.clone();
        queue.large.push(contract);
        let mut writes = StepWrites::new(
            &snapsync_etl::CollectorConfig::new(1 << 20),
            &SnapSyncConfig::default(),
        );
        apply_range(&mut queue, task(2), ranges[0], None, &mut writes).unwrap();
        assert_eq!(queue.large[0].ranges, vec![ranges[1]]);
        apply_range(&mut queue, task(2), ranges[1], None, &mut writes).unwrap();
        assert!(queue.large.is_empty());
    }

    #[test]
    fn a_batch_holds_accounts_of_one_state() {
        let in_state =
            |byte, root| StorageTask { state_root: B256::repeat_byte(root), ..task(byte) };
        let mut pending = vec![in_state(1, 1), in_state(2, 1), in_state(3, 2), in_state(4, 1)];
        assert_eq!(take_batch(&mut pending, 4), vec![in_state(1, 1), in_state(2, 1)]);
        assert_eq!(take_batch(&mut pending, 4), vec![in_state(3, 2)]);
        assert_eq!(take_batch(&mut pending, 4), vec![in_state(4, 1)]);
        assert!(take_batch(&mut pending, 4).is_empty());
        let request = request_for(&Work::Batch(vec![in_state(5, 9)]));
        assert_eq!(request.root, B256::repeat_byte(9));
    }

    #[test]
    fn unserved_accounts_go_back_to_pending() {
        let mut queue = StorageQueue::default();
        queue.pending.push(task(9));
        let mut writes = StepWrites::new(
            &snapsync_etl::CollectorConfig::new(1 << 20),
            &SnapSyncConfig::default(),
        );
        let tasks = vec![task(1), task(2), task(3)];
        apply_batch(&mut queue, tasks, Vec::new(), &mut writes, limits()).unwrap();
        assert_eq!(queue.pending, vec![task(1), task(2), task(3), task(9)]);
    }
}
