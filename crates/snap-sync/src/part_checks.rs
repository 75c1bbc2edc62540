//! Parts of the state checked in the background while the rest downloads.
//!
//! The verifying step hashes every stored leaf again ([`check_stored_leaves`]), in the sixteen
//! parts of the state, one per first nibble of the account hashes ([`StatePartId`]). A part is
//! final long before the download ends: once the stored record shows every account chunk over
//! it done and no storage of its accounts queued (the record puts work in flight back into the
//! queues, so "not queued" means stored), no later step writes its accounts, slots or
//! storage-trie nodes: they come only from its own chunks and its own accounts' storage
//! requests. So such a part is checked then, on a thread of its own over the step's snapshot,
//! while the download goes on with the cores it leaves idle (on two cores it uses about one:
//! the step commits are serial), and the verifying step walks only the parts not checked yet.
//! A batch still under way when the verifying step begins stops after its current part: the
//! verifying step walks the parts left on every core, sooner than the batch's one thread would.
//!
//! The batch holds its snapshot until it has walked its parts. A store that keeps what a live
//! snapshot sees (redb's copy-on-write pages) cannot reuse those pages meanwhile, so the file
//! grows by what the download writes during the walk, and reuses the pages once it ends.
//!
//! Codes are shared between parts and may still be arriving, so the codes a part found missing
//! are looked up again when the verifying step combines the parts. Everything is held in memory
//! for one pivot root: a pivot move, an unwind or a new process starts over, and a part whose
//! check failed is simply walked again by the verifying step (which reports the failure).
//!
//! [`check_stored_leaves`]: crate::check_stored_leaves

use crate::{
    leaf_check::{NodeCheck, PartFindings, check_part},
    state::SyncState,
};
use alloy_primitives::B256;
use snapsync_storage::{StatePart, StatePartId, StateRead};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::JoinHandle,
};
use tracing::{debug, warn};

/// A part's check: the part, or why it failed (the verifying step walks it again).
type Checked = Result<StatePart<PartFindings>, String>;

/// A thread checking a batch of parts one after another, sending each as it is done.
#[derive(Debug)]
struct Batch {
    results: mpsc::Receiver<Checked>,
    /// Set to make the thread stop after the part under way (its results are not wanted).
    cancel: Arc<AtomicBool>,
    /// The thread, until joined.
    handle: Option<JoinHandle<()>>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The parts checked (or being checked) for one pivot root.
#[derive(Debug, Default)]
pub(crate) struct PartChecks {
    /// The state root the parts were checked for.
    root: Option<B256>,
    batch: Option<Batch>,
    done: Vec<StatePart<PartFindings>>,
    /// Parts checked for `root` so far, taken or not.
    checked: u64,
}

impl PartChecks {
    /// Takes the parts checked so far and, unless a batch is under way, starts checking every
    /// part that is final in `state` (see the module docs) and not checked yet, one after
    /// another on a thread of their own over a handle to `view` (whose stored record is
    /// `state`). Anything checked for another state root is dropped first.
    pub(crate) fn advance<R>(&mut self, view: &R, state: &SyncState)
    where
        R: StateRead + Sync + Clone + 'static,
    {
        self.follow(state.pivot.state_root);
        self.collect(false);
        if self.batch.is_some() || !state.phase.is_download() {
            return;
        }
        let ids: Vec<StatePartId> = StatePartId::all()
            .filter(|id| !self.done.iter().any(|part| part.id() == *id))
            .filter(|id| part_is_final(state, *id))
            .collect();
        if !ids.is_empty() {
            self.batch = start_batch(view.clone(), ids);
        }
    }

    /// The parts checked for `root`, for the verifying step; nothing is kept. A batch under
    /// way stops after its current part: the verifying step walks the parts left on every
    /// core, where the batch has one thread (it leaves the other cores to the download).
    pub(crate) fn take(&mut self, root: B256) -> Vec<StatePart<PartFindings>> {
        if let Some(batch) = &self.batch {
            batch.cancel.store(true, Ordering::Relaxed);
        }
        self.take_all(root)
    }

    /// The parts checked for `root`, waiting for the whole batch under way; nothing is kept.
    fn take_all(&mut self, root: B256) -> Vec<StatePart<PartFindings>> {
        self.follow(root);
        self.collect(true);
        std::mem::take(&mut self.done)
    }

    /// How many parts were checked for the current root, taken or not.
    pub(crate) const fn checked(&self) -> u64 {
        self.checked
    }

    /// Forgets every part (the state was removed or rewritten).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Drops what was checked for another root than `root`; a batch under way for it stops
    /// after its current part, its results unread.
    fn follow(&mut self, root: B256) {
        if self.root != Some(root) {
            *self = Self { root: Some(root), ..Self::default() };
        }
    }

    /// Takes the parts the batch has checked so far, or with `wait` all of them; a batch whose
    /// thread has ended (or is waited for) is joined and gone.
    fn collect(&mut self, wait: bool) {
        let Some(batch) = &mut self.batch else { return };
        let ended = wait || batch.handle.as_ref().is_none_or(JoinHandle::is_finished);
        // Once the thread has ended (or while waiting for it to), `iter` stops at its last part.
        let received: Vec<Checked> =
            if ended { batch.results.iter().collect() } else { batch.results.try_iter().collect() };
        for checked in received {
            match checked {
                Ok(part) => {
                    debug!(target: "sync::snap::verify", part = part.id().nibble(), accounts = part.accounts(), "part checked");
                    self.done.push(part);
                    self.checked += 1;
                }
                // The verifying step walks it again and reports what fails.
                Err(error) => warn!(target: "sync::snap::verify", %error, "part check failed"),
            }
        }
        if ended
            && let Some(handle) = self.batch.take().and_then(|mut batch| batch.handle.take())
            && handle.join().is_err()
        {
            warn!(target: "sync::snap::verify", "part checks panicked");
        }
    }
}

/// A thread checking the parts `ids` over `view`, in order; `None` (the verifying step walks
/// them instead) if no thread can be started.
fn start_batch<R>(view: R, ids: Vec<StatePartId>) -> Option<Batch>
where
    R: StateRead + Sync + 'static,
{
    let (sender, results) = mpsc::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let stop = cancel.clone();
    let spawned = std::thread::Builder::new().name("snapsync-parts".into()).spawn(move || {
        for id in ids {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let checked = check_part(&view, id, NodeCheck::StorageRoots);
            if sender.send(checked.map_err(|error| error.to_string())).is_err() {
                return;
            }
        }
    });
    match spawned {
        Ok(handle) => Some(Batch { results, cancel, handle: Some(handle) }),
        Err(error) => {
            warn!(target: "sync::snap::verify", %error, "cannot start the part checks");
            None
        }
    }
}

/// Whether no later download step of `state` writes part `id`'s accounts or slots: no
/// unfinished account chunk reaches into it and none of its accounts has storage queued.
pub(crate) fn part_is_final(state: &SyncState, id: StatePartId) -> bool {
    let (first, last) = (id.first_hash(), id.last_hash());
    state.chunks.iter().all(|chunk| chunk.stores_nothing_more_in(first, last))
        && !state.storage.queues_any(|account| id.contains(account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        SnapPhase,
        leaf_check::check_stored_leaves_and_nodes,
        state::{LargeContract, Pivot, SlotRange, StorageTask},
    };
    use alloy_primitives::{Bytes, U256, keccak256};
    use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
    use snapsync_storage::{StateStore, StateWrite, test_utils::MapStore};

    /// An account hash in part `nibble`, distinct per `n`.
    fn account_in(nibble: u8, n: u8) -> AccountHash {
        let mut hash = keccak256([nibble, n]);
        hash[0] = (nibble << 4) | (hash[0] & 0x0f);
        AccountHash::new(hash)
    }

    /// The download state of `root` in 64 chunks (four per part), the chunks of the first
    /// `done_parts` parts done.
    fn downloading(root: B256, done_parts: usize) -> SyncState {
        let pivot = Pivot { number: 9, hash: B256::repeat_byte(1), state_root: root };
        let mut state = SyncState::new(pivot, 64);
        state.phase = SnapPhase::Storages;
        for chunk in state.chunks.iter_mut().take(done_parts * 4) {
            chunk.done = true;
        }
        state
    }

    fn task(account: AccountHash) -> StorageTask {
        StorageTask { account, storage_root: B256::repeat_byte(4), state_root: B256::ZERO }
    }

    fn part(nibble: u8) -> StatePartId {
        StatePartId::new(nibble).unwrap()
    }

    #[test]
    fn a_part_is_final_once_its_chunks_and_its_accounts_storage_are_done() {
        let mut state = downloading(B256::ZERO, 4);
        assert!((0..4).all(|nibble| part_is_final(&state, part(nibble))));
        assert!(!part_is_final(&state, part(4)), "its chunks are not done");
        // A chunk of part 4 done, the others not: still not final.
        state.chunks[16].done = true;
        assert!(!part_is_final(&state, part(4)));
        // An unfinished chunk of part 4 whose accounts in part 4 are all stored.
        state.chunks[17..20].iter_mut().for_each(|chunk| chunk.done = true);
        assert!(part_is_final(&state, part(4)));
        state.chunks[19].done = false;
        state.chunks[19].next = part(5).first_hash();
        assert!(part_is_final(&state, part(4)), "what is left of the chunk lies past the part");

        state.storage.pending.push(task(account_in(2, 1)));
        assert!(!part_is_final(&state, part(2)), "storage queued for one of its accounts");
        assert!(part_is_final(&state, part(1)));
        state.storage.pending.clear();
        let ranges = vec![SlotRange { next: SlotHash::ZERO, end: SlotHash::MAX }];
        state.storage.large.push(LargeContract { task: task(account_in(3, 1)), ranges });
        assert!(!part_is_final(&state, part(3)), "a large contract of the part is under way");
        assert!(part_is_final(&state, part(2)));
    }

    /// A stored state with accounts in parts 0, 3 (two, one with slots and code) and 9, whose
    /// code is stored only with `with_code`; its state root.
    fn store(with_code: bool) -> (MapStore, B256) {
        let store = MapStore::new();
        let mut txn = store.writer().unwrap();
        let code = Bytes::from_static(&[0x60, 0x00]);
        let slots = [(SlotHash::new(B256::repeat_byte(7)), U256::from(5))];
        for slot in &slots {
            txn.put_slot(&account_in(3, 1), &slot.0, slot.1).unwrap();
        }
        let storage_root = snapsync_trie::trie_root(
            slots.iter().map(|(slot, value)| (slot.as_ref().to_vec(), alloy_rlp::encode(value))),
        )
        .unwrap();
        let contract = TrieAccount {
            nonce: 1,
            storage_root,
            code_hash: keccak256(&code),
            ..TrieAccount::default()
        };
        let accounts = [
            (account_in(0, 1), TrieAccount { nonce: 2, ..TrieAccount::default() }),
            (account_in(3, 1), contract),
            (account_in(3, 2), TrieAccount { nonce: 3, ..TrieAccount::default() }),
            (account_in(9, 1), TrieAccount { nonce: 4, ..TrieAccount::default() }),
        ];
        for (hash, account) in &accounts {
            txn.put_account(hash, account).unwrap();
        }
        if with_code {
            txn.put_code(&keccak256(&code), &code).unwrap();
        }
        txn.commit().unwrap();
        let root = snapsync_storage::compute_state_root(&store.reader().unwrap()).unwrap();
        (store, root.state_root)
    }

    /// The parts checked over `view` when the first `done_parts` parts are final.
    fn checked_early(
        view: &<MapStore as StateStore>::Reader,
        root: B256,
        done_parts: usize,
    ) -> Vec<StatePart<PartFindings>> {
        let mut checks = PartChecks::default();
        checks.advance(view, &downloading(root, done_parts));
        checks.take_all(root)
    }

    #[test]
    fn parts_checked_early_make_the_same_check_as_one_walk() {
        let (store, root) = store(true);
        let view = store.reader().unwrap();
        let early = checked_early(&view, root, 5);
        let ids: Vec<u8> = early.iter().map(|part| part.id().nibble()).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4], "the final parts, and only those");
        assert_eq!(early[3].accounts(), 2);
        assert_eq!(early[3].storage_slots(), 1);

        let combined =
            check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, early).unwrap();
        let whole = check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, Vec::new())
            .unwrap();
        assert_eq!(combined, whole);
        assert!(combined.0.matches());
        // No storage-trie root node is stored for the contract: both walks say so.
        assert!(!combined.1);
    }

    #[test]
    fn the_verifying_step_stops_the_batch_and_walks_the_rest() {
        let (store, root) = store(true);
        let view = store.reader().unwrap();
        let whole = check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, Vec::new())
            .unwrap();
        // Taken before the batch began, after its first part, after three.
        for at_least in [0, 1, 3] {
            let mut checks = PartChecks::default();
            checks.advance(&view, &downloading(root, 16));
            while checks.done.len() < at_least {
                assert!(checks.batch.is_some(), "the batch ended with {} parts", checks.done.len());
                std::thread::sleep(std::time::Duration::from_millis(1));
                checks.collect(false);
            }
            let early = checks.take(root);
            // The batch checks its parts in order and stops between two: what it had checked.
            let ids: Vec<u8> = early.iter().map(|part| part.id().nibble()).collect();
            assert!(ids.len() >= at_least);
            assert_eq!(ids, (0..16).take(ids.len()).collect::<Vec<u8>>());
            assert!(checks.batch.is_none(), "the batch is joined");
            assert_eq!(checks.checked(), ids.len() as u64);
            let combined =
                check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, early).unwrap();
            assert_eq!(combined, whole);
        }
    }

    #[test]
    fn a_code_stored_after_its_part_was_checked_is_not_missing() {
        let (store, root) = store(false);
        let early = checked_early(&store.reader().unwrap(), root, 16);
        assert_eq!(early.len(), 16);
        let code = Bytes::from_static(&[0x60, 0x00]);
        let mut txn = store.writer().unwrap();
        txn.put_code(&keccak256(&code), &code).unwrap();
        txn.commit().unwrap();
        let view = store.reader().unwrap();
        let (check, _) =
            check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, early).unwrap();
        assert!(check.missing_codes.is_empty());
        assert!(check.matches());
    }

    #[test]
    fn a_code_still_missing_is_reported_from_an_early_part() {
        let (store, root) = store(false);
        let view = store.reader().unwrap();
        let early = checked_early(&view, root, 16);
        let (check, _) =
            check_stored_leaves_and_nodes(&view, root, NodeCheck::StorageRoots, early).unwrap();
        assert_eq!(check.missing_codes, [keccak256([0x60, 0x00])]);
        assert!(!check.matches());
    }

    #[test]
    fn parts_of_another_root_or_phase_are_not_taken() {
        let (store, root) = store(true);
        let view = store.reader().unwrap();
        let mut checks = PartChecks::default();
        checks.advance(&view, &downloading(root, 16));
        assert!(checks.take(B256::repeat_byte(9)).is_empty(), "checked for another root");

        let mut verifying = downloading(root, 16);
        verifying.phase = SnapPhase::Verifying;
        checks.advance(&view, &verifying);
        assert!(checks.take(root).is_empty(), "nothing starts outside the download");

        checks.advance(&view, &downloading(root, 16));
        checks.clear();
        assert!(checks.take(root).is_empty(), "cleared");
    }

    #[test]
    fn parts_final_after_a_batch_are_checked_by_the_next_one() {
        let (store, root) = store(true);
        let view = store.reader().unwrap();
        let mut checks = PartChecks::default();
        checks.advance(&view, &downloading(root, 2));
        // The first batch, whole; then a batch of the parts final since.
        let first = checks.take_all(root);
        assert_eq!(first.len(), 2);
        checks.done = first;
        checks.advance(&view, &downloading(root, 4));
        let all: Vec<u8> = checks.take_all(root).iter().map(|part| part.id().nibble()).collect();
        assert_eq!(all, [0, 1, 2, 3], "each part once");
        assert_eq!(checks.checked(), 4);
    }
}
