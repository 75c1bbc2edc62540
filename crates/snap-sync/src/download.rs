//! The download: account ranges, storage ranges and bytecodes in one flow.
//!
//! A verified account range names the rest of the work: every account in it with a non-empty
//! storage root needs its slots, and every code hash that is neither empty nor stored needs its
//! code. Those are queued straight from the range, into the progress record committed with the
//! accounts (so every stored account's storage and code is done, queued or gathered in the same
//! step), and the three kinds of request share the step's request budget: no scan of the stored
//! accounts between phases, no phase waiting for the tail of the one before.
//!
//! Each free request slot goes, in this order, to:
//! 1. storage: a free sub-range of a large contract, else a full batch of queued accounts;
//! 2. bytecodes: a full request of queued hashes;
//! 3. the next free account chunk, while the queues hold less than their backlog bound (so the
//!    queues, and the record that holds them, stay bounded whatever the state's size);
//! 4. once no account chunk can start, the partial batches the queues still hold.
//!
//! Full batches first keep requests large (a reply carries more than its proof); the backlog
//! bound makes the account download wait for the storage and code it revealed, instead of
//! racing ahead of them.
//!
//! [`SnapPhase`] then names what is left: `Accounts` while a chunk is unfinished, `Storages`
//! while storage is queued, `Bytecodes` while codes are, and `Verifying` after.
//!
//! # Across steps
//!
//! A step ends once it is full without waiting for its requests. While it commits, the
//! download goes on on a task of its own ([`Prefetch`]): the request slots stay busy and the
//! answers fill the next step's writes, which the next step takes over. So neither the link nor
//! the verification idles at a commit, and the download runs at the pace of the slower of
//! gathering and committing instead of their sum. The record each step commits is the working
//! state at the moment the step was cut, with the work still in flight put back into its
//! queues ([`Downloads::record`]): a crash loses only answers that no commit described. The
//! next step continues from the requests in flight only if the stored record is the one the
//! last step committed; otherwise (that commit failed, or another step ran between) their
//! answers are dropped and the flow starts over from the stored record. A pivot move drops
//! them too. Answers gathered meanwhile go with their flow: the working state describes them,
//! so they are never dropped while it goes on. Dropped answers are still verified as they
//! arrive, so a hostile peer is judged all the same.
//!
//! Two steps are held at once, the one committing and the one gathered meanwhile: the memory
//! budget's step share is for both (see `memory.rs`).

use crate::{
    SnapPhase, SnapSyncConfig, SnapSyncError, accounts,
    bytecodes::{next_batch, store_codes},
    inflight::{InFlight, StepOutcome},
    state::{StorageTask, SyncState},
    step::StepWrites,
    storage::{self, BusyRanges},
};
use alloy_primitives::B256;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use snapsync_fetch::{
    ByteCodesRequest, FetchError, Fetcher, VerifiedAccountRange, VerifiedByteCodes,
    VerifiedStorageRanges,
};
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_storage::StateRead;
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};
use tokio::{sync::oneshot, task::JoinHandle};
use tracing::debug;

/// The download under way, kept across steps: the requests in flight and the state they work
/// on (see the module docs).
#[derive(Debug)]
pub(crate) struct Downloads {
    flow: Flow,
    inflight: InFlight<Request, Reply>,
    /// The state with the work in flight taken out of its queues.
    working: SyncState,
    /// The record of the last step gathered: what the next step continues from, if it was
    /// committed.
    last_record: SyncState,
    /// What was gathered while that step committed ([`Prefetch`]): the next step's writes so
    /// far, and how their requests went. The working state includes it, so it is never dropped
    /// while the flow goes on.
    next: Option<(StepWrites, StepOutcome)>,
}

impl Downloads {
    /// The download of `stored`, continuing `previous` when `stored` is the record its last step
    /// committed (and what it gathered since keeps nodes as `writes` does); else a new flow
    /// from `stored` (the previous one's requests and answers are dropped).
    pub(crate) fn continuing(
        previous: Option<Self>,
        config: &SnapSyncConfig,
        stored: &SyncState,
        writes: &StepWrites,
    ) -> Self {
        let Some(mut downloads) = previous else { return Self::new(config, stored) };
        // The write counted the nodes it stored into the record.
        downloads.last_record.counts.trie_nodes = stored.counts.trie_nodes;
        if downloads.last_record != *stored || !downloads.next_fits(writes) {
            downloads.retire();
            return Self::new(config, stored);
        }
        downloads.working.counts.trie_nodes = stored.counts.trie_nodes;
        downloads
    }

    /// Whether what was gathered since the last step keeps nodes as `writes` does (it always
    /// does within one flow: the stored record says whether nodes are kept).
    fn next_fits(&self, writes: &StepWrites) -> bool {
        self.next.as_ref().is_none_or(|(next, _)| next.keeps_nodes() == writes.keeps_nodes())
    }

    /// A new flow from `stored`, nothing in flight.
    fn new(config: &SnapSyncConfig, stored: &SyncState) -> Self {
        Self {
            flow: Flow::new(config, stored),
            inflight: InFlight::new(Limits::new(config).max_requests),
            working: stored.clone(),
            last_record: stored.clone(),
            next: None,
        }
    }

    /// Ends the download: its requests in flight run to their end unwatched (see
    /// [`InFlight::detach`]), their answers dropped.
    pub(crate) fn retire(self) {
        self.inflight.detach();
    }

    /// The record of the state: the working state with the work in flight put back into its
    /// queues, and the phase it leaves.
    fn record(&self) -> SyncState {
        let mut record = self.working.clone();
        record.storage.pending.splice(0..0, self.flow.batch_tasks.values().copied());
        record.codes.extend(self.flow.busy_codes.iter().copied());
        record.phase = phase_left(&record);
        record
    }

    /// Keeps the download going while the step just gathered commits, on a task of its own:
    /// the request slots stay busy and the answers fill `next`, the next step's writes, until
    /// it is full or [`Prefetch::finish`] is called. `view` is the snapshot that step was
    /// gathered on: every code it lacks that the step holds is still known to the flow.
    pub(crate) fn prefetch<R>(
        mut self,
        fetcher: Arc<Fetcher>,
        view: R,
        next: StepWrites,
    ) -> Prefetch
    where
        R: StateRead + Sync + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut writes = next;
            let mut outcome = StepOutcome::default();
            let stopped = async {
                // A dropped sender (the stage is gone) stops it too.
                let _ = stopped.await;
            };
            let filled = self.fill(&fetcher, &view, &mut writes, &mut outcome, stopped).await;
            self.next = Some((writes, outcome));
            (self, filled)
        });
        Prefetch { stop, task }
    }

    /// Takes answers into `writes`, keeping the request slots busy, until the step is full,
    /// nothing is left to ask for or in flight, or `until` completes. The slots stay busy
    /// when the step is full (unless the tip moved): their answers wait, within the memory
    /// budget's reply share, for the next step.
    async fn fill(
        &mut self,
        fetcher: &Arc<Fetcher>,
        view: &(impl StateRead + Sync + ?Sized),
        writes: &mut StepWrites,
        outcome: &mut StepOutcome,
        until: impl Future<Output = ()>,
    ) -> Result<(), SnapSyncError> {
        let Self { flow, inflight, working: state, .. } = self;
        let full = writes.full_signal();
        tokio::pin!(full, until);
        loop {
            while !outcome.failed() && !writes.tip_changed() && inflight.has_room() {
                let Some(request) = flow.next_request(state) else { break };
                spawn_request(fetcher, inflight, state, request);
            }
            if writes.is_full() {
                break;
            }
            let finished = tokio::select! {
                finished = inflight.next() => finished?,
                () = &mut full => continue,
                () = &mut until => break,
            };
            let Some((request, result)) = finished else { break };
            flow.take(view, state, writes, request, result, outcome)?;
        }
        Ok(())
    }
}

/// The download while a step commits (see [`Downloads::prefetch`]).
#[derive(Debug)]
pub(crate) struct Prefetch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<(Downloads, Result<(), SnapSyncError>)>,
}

impl Prefetch {
    /// Stops taking answers and hands the download back, with what it gathered.
    ///
    /// # Errors
    /// What ended it: a store or ETL failure while an answer was taken (the download is then
    /// retired, its answers may be in writes that failed, and the next step starts over from
    /// the stored record), or [`SnapSyncError::TaskFailed`] if it panicked.
    pub(crate) async fn finish(self) -> Result<Downloads, SnapSyncError> {
        // An error means it already ended.
        let _ = self.stop.send(());
        let joined = self.task.await;
        let (downloads, filled) =
            joined.map_err(|error| SnapSyncError::TaskFailed { reason: error.to_string() })?;
        match filled {
            Ok(()) => Ok(downloads),
            Err(error) => {
                downloads.retire();
                Err(error)
            }
        }
    }
}

/// Starts `request` of the flow on `inflight`.
fn spawn_request(
    fetcher: &Arc<Fetcher>,
    inflight: &mut InFlight<Request, Reply>,
    state: &SyncState,
    request: Request,
) {
    let fetcher = Arc::clone(fetcher);
    match &request {
        Request::Accounts(index) => {
            let ask = accounts::request_for(&state.chunks[*index], state.pivot.state_root);
            inflight.spawn(request, async move {
                fetcher.account_range(ask).await.map(Reply::Accounts)
            });
        }
        Request::Storage(work) => {
            let ask = storage::request_for(work);
            inflight.spawn(request, async move {
                fetcher.storage_ranges(ask).await.map(Reply::Storage)
            });
        }
        Request::Codes(hashes) => {
            let ask = ByteCodesRequest { hashes: hashes.clone(), response_bytes: 0 };
            inflight.spawn(request, async move { fetcher.byte_codes(ask).await.map(Reply::Codes) });
        }
    }
}

/// Downloads accounts, storage and bytecodes into `writes` until the step is full or nothing is
/// left to download; returns the record describing the state after the step (its phase is what
/// is left). What the download gathered while the last step committed is taken over first.
/// Requests still in flight stay in `downloads` for the next step.
///
/// # Errors
/// The first request failure when nothing progressed in the step; store and ETL failures.
pub(crate) async fn download(
    fetcher: &Arc<Fetcher>,
    view: &(impl StateRead + Sync + ?Sized),
    downloads: &mut Downloads,
    writes: &mut StepWrites,
) -> Result<SyncState, SnapSyncError> {
    let mut outcome = StepOutcome::default();
    if let Some((gathered, taken)) = downloads.next.take() {
        writes.adopt(gathered);
        outcome = taken;
    }
    downloads.flow.forget_committed_codes(&downloads.working, writes);
    let (phase, pivot) = (downloads.working.phase, downloads.working.pivot.number);
    downloads.fill(fetcher, view, writes, &mut outcome, std::future::pending()).await?;
    outcome.into_result(|source| SnapSyncError::Fetch { phase, pivot, source })?;
    let record = downloads.record();
    downloads.working.phase = record.phase;
    downloads.last_record = record.clone();
    Ok(record)
}

/// What is left of the download, as a phase (see the module docs).
fn phase_left(state: &SyncState) -> SnapPhase {
    if !state.chunks.iter().all(|chunk| chunk.done) {
        SnapPhase::Accounts
    } else if !state.storage.is_empty() {
        SnapPhase::Storages
    } else if !state.codes.is_empty() {
        SnapPhase::Bytecodes
    } else {
        SnapPhase::Verifying
    }
}

/// One request of the flow.
#[derive(Debug)]
enum Request {
    /// The continuation of the account chunk at this index.
    Accounts(usize),
    /// Storage of queued accounts, or a sub-range of a large contract.
    Storage(storage::Work),
    /// These code hashes.
    Codes(Vec<B256>),
}

/// A request's verified answer.
#[derive(Debug)]
enum Reply {
    Accounts(VerifiedAccountRange),
    Storage(VerifiedStorageRanges),
    Codes(VerifiedByteCodes),
}

/// The flow's settings, from the configuration.
#[derive(Debug, Clone, Copy)]
struct Limits {
    storage: storage::Limits,
    codes_per_request: usize,
    max_requests: usize,
    /// Queued storage accounts above which no account range is asked for: a full batch for
    /// every request slot.
    storage_backlog: usize,
    /// Queued code hashes above which no account range is asked for: a full request for every
    /// request slot.
    code_backlog: usize,
}

impl Limits {
    fn new(config: &SnapSyncConfig) -> Self {
        let storage = storage::Limits::new(config);
        let codes_per_request = usize::try_from(config.bytecodes_per_request).unwrap_or(1).max(1);
        let max_requests =
            usize::try_from(config.requests_in_flight()).unwrap_or(usize::MAX).max(1);
        Self {
            storage,
            codes_per_request,
            max_requests,
            storage_backlog: storage.batch.saturating_mul(max_requests),
            code_backlog: codes_per_request.saturating_mul(max_requests),
        }
    }
}

/// What one step's flow holds in memory beside the record: the work in flight, and every code
/// hash already queued, asked for or gathered (each is queued once).
#[derive(Debug)]
struct Flow {
    limits: Limits,
    busy_chunks: Vec<bool>,
    busy_ranges: BusyRanges,
    /// The accounts of storage batches in flight (out of the working queue).
    batch_tasks: HashMap<AccountHash, StorageTask>,
    /// The code hashes in flight (out of the working queue).
    busy_codes: HashSet<B256>,
    known_codes: HashSet<B256>,
}

impl Flow {
    fn new(config: &SnapSyncConfig, state: &SyncState) -> Self {
        Self {
            limits: Limits::new(config),
            busy_chunks: vec![false; state.chunks.len()],
            busy_ranges: BusyRanges::new(),
            batch_tasks: HashMap::new(),
            busy_codes: HashSet::new(),
            known_codes: state.codes.iter().copied().collect(),
        }
    }

    /// The next request to make (see the module docs for the order), marked in flight.
    fn next_request(&mut self, state: &mut SyncState) -> Option<Request> {
        let limits = self.limits;
        let chunk = accounts::next_chunk(&state.chunks, &self.busy_chunks).filter(|_| {
            state.storage.pending.len() < limits.storage_backlog
                && state.codes.len() < limits.code_backlog
        });
        let full_batch = state.storage.pending.len() >= limits.storage.batch;
        if !state.storage.large.is_empty() || full_batch || chunk.is_none() {
            let queue = &mut state.storage;
            if let Some(work) = storage::next_work(queue, &mut self.busy_ranges, limits.storage) {
                if let storage::Work::Batch(tasks) = &work {
                    self.batch_tasks.extend(tasks.iter().map(|task| (task.account, *task)));
                }
                return Some(Request::Storage(work));
            }
        }
        if (state.codes.len() >= limits.codes_per_request || chunk.is_none())
            && let Some(hashes) = next_batch(&mut state.codes, limits.codes_per_request)
        {
            self.busy_codes.extend(hashes.iter().copied());
            return Some(Request::Codes(hashes));
        }
        let index = chunk?;
        self.busy_chunks[index] = true;
        Some(Request::Accounts(index))
    }

    /// Takes a finished request: its verified answer into `writes` and the record, or its
    /// work back to the queues.
    fn take(
        &mut self,
        view: &(impl StateRead + ?Sized),
        state: &mut SyncState,
        writes: &mut StepWrites,
        request: Request,
        result: Result<Reply, FetchError>,
        outcome: &mut StepOutcome,
    ) -> Result<(), SnapSyncError> {
        let pivot_root = state.pivot.state_root;
        self.release(&request);
        match (request, result) {
            (Request::Accounts(index), Ok(Reply::Accounts(range))) => {
                let counts = &mut state.counts;
                let kept = accounts::apply_range(&mut state.chunks[index], &range, writes, counts)?;
                let found = range.accounts().iter().take(kept);
                self.queue_found(view, state, found, pivot_root)?;
                outcome.progressed();
            }
            (Request::Storage(work), Ok(Reply::Storage(reply))) => {
                let queue = &mut state.storage;
                let slots = match work {
                    storage::Work::Batch(tasks) => {
                        let sets = reply.into_sets();
                        storage::apply_batch(queue, tasks, sets, writes, self.limits.storage)?
                    }
                    storage::Work::Range(task, range) => {
                        self.busy_ranges.remove(&(task.account, range.end));
                        let set = reply.into_sets().into_iter().next();
                        storage::apply_range(queue, task, range, set.as_ref(), writes)?
                    }
                };
                state.counts.slots += slots;
                outcome.progressed();
            }
            (Request::Codes(asked), Ok(Reply::Codes(reply))) => {
                let missing = store_codes(asked, &reply, writes, &mut state.counts)?;
                state.codes.extend(missing);
                outcome.progressed();
            }
            (Request::Accounts(_), result) => {
                outcome.fail_unless_unsent(result);
            }
            // Work in an older state than the pivot's is best effort (peers forget old states):
            // healing takes over what it could not finish.
            (Request::Storage(work), Err(error))
                if !matches!(error, FetchError::NotStarted { .. })
                    && work.state_root() != pivot_root =>
            {
                debug!(target: "sync::snap::storage", %error, "storage of an older state failed");
                storage::abandon(&mut state.storage, &mut self.busy_ranges, work);
                outcome.progressed();
            }
            (Request::Storage(work), result) => {
                storage::put_back(&mut state.storage, &mut self.busy_ranges, work);
                outcome.fail_unless_unsent(result);
            }
            (Request::Codes(asked), Err(FetchError::NoPeerServes { .. })) => {
                // No peer has these codes (their accounts changed since they were proven, and
                // the states holding them are gone): the verifying step finds any that are
                // still referenced, and healing fetches them from the pivot's state.
                debug!(target: "sync::snap::bytecodes", codes = asked.len(), "codes no peer serves, left to healing");
                outcome.progressed();
            }
            (Request::Codes(asked), result) => {
                state.codes.extend(asked);
                outcome.fail_unless_unsent(result);
            }
        }
        Ok(())
    }

    /// Keeps only the queued, in-flight and uncommitted hashes (those `writes` holds) among the
    /// known codes: those gathered by earlier steps are committed, and the stored-code check
    /// finds them, so the set stays as small as the queue instead of growing with every
    /// distinct code of the state.
    fn forget_committed_codes(&mut self, state: &SyncState, writes: &StepWrites) {
        let uncommitted = state.codes.iter().chain(&self.busy_codes).chain(writes.code_hashes());
        self.known_codes = uncommitted.copied().collect();
    }

    /// Marks `request`'s work no longer in flight (its answer or its return to the queues is
    /// about to be taken).
    fn release(&mut self, request: &Request) {
        match request {
            Request::Accounts(index) => {
                if let Some(busy) = self.busy_chunks.get_mut(*index) {
                    *busy = false;
                }
            }
            Request::Storage(storage::Work::Batch(tasks)) => {
                for task in tasks {
                    self.batch_tasks.remove(&task.account);
                }
            }
            Request::Storage(storage::Work::Range(..)) => {}
            Request::Codes(hashes) => {
                for hash in hashes {
                    self.busy_codes.remove(hash);
                }
            }
        }
    }

    /// Queues the storage and code that the verified accounts `found` (proven against `root`)
    /// still need.
    fn queue_found(
        &mut self,
        view: &(impl StateRead + ?Sized),
        state: &mut SyncState,
        found: impl Iterator<Item = (AccountHash, TrieAccount)>,
        root: B256,
    ) -> Result<(), SnapSyncError> {
        for (account, trie_account) in found {
            let storage_root = trie_account.storage_root;
            if storage_root != EMPTY_ROOT_HASH {
                let task = StorageTask { account, storage_root, state_root: root };
                state.storage.pending.push(task);
            }
            let code = trie_account.code_hash;
            if code != KECCAK_EMPTY && self.known_codes.insert(code) && view.code(&code)?.is_none()
            {
                state.codes.push(code);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LargeContract, Pivot, SlotRange};
    use snapsync_primitives::SlotHash;
    use snapsync_storage::StateStore;

    fn config(batch: u64, codes: u64, requests: u64) -> SnapSyncConfig {
        let mut config = SnapSyncConfig::default();
        config.storage.accounts_per_batch = batch;
        config.bytecodes_per_request = codes;
        config.concurrency.max_requests = requests;
        config
    }

    fn writes(config: &SnapSyncConfig) -> StepWrites {
        StepWrites::new(&snapsync_etl::CollectorConfig::new(1 << 20), config)
    }

    fn state(chunks: u64) -> SyncState {
        let root = B256::repeat_byte(1);
        SyncState::new(Pivot { number: 1, hash: B256::repeat_byte(2), state_root: root }, chunks)
    }

    fn task(byte: u8) -> StorageTask {
        StorageTask {
            account: AccountHash::from(B256::repeat_byte(byte)),
            storage_root: B256::repeat_byte(3),
            state_root: B256::repeat_byte(1),
        }
    }

    #[test]
    fn full_batches_come_before_accounts_and_partial_ones_after() {
        let config = config(2, 2, 8);
        let mut state = state(2);
        let mut flow = Flow::new(&config, &state);
        state.storage.pending = vec![task(1)];
        state.codes = vec![B256::repeat_byte(9)];
        // A partial batch and a partial code request wait while account chunks can start.
        assert!(matches!(flow.next_request(&mut state), Some(Request::Accounts(0))));
        state.storage.pending.push(task(2));
        assert!(matches!(
            flow.next_request(&mut state),
            Some(Request::Storage(storage::Work::Batch(tasks))) if tasks.len() == 2
        ));
        assert!(matches!(flow.next_request(&mut state), Some(Request::Accounts(1))));
        // No chunk left to start: the partial code request goes.
        assert!(
            matches!(flow.next_request(&mut state), Some(Request::Codes(codes)) if codes.len() == 1)
        );
        assert!(flow.next_request(&mut state).is_none());
    }

    #[test]
    fn a_full_backlog_holds_the_accounts_back() {
        let config = config(1, 1, 2);
        let mut state = state(4);
        let mut flow = Flow::new(&config, &state);
        state.codes = (10..13).map(B256::repeat_byte).collect();
        // Three codes queued against a backlog of two: codes are asked for, accounts wait.
        for _ in 0..3 {
            assert!(matches!(flow.next_request(&mut state), Some(Request::Codes(_))));
        }
        assert!(matches!(flow.next_request(&mut state), Some(Request::Accounts(0))));
    }

    #[test]
    fn the_record_puts_the_work_in_flight_back() {
        let config = config(2, 2, 8);
        let mut stored = state(1);
        stored.storage.pending = vec![task(1), task(2), task(3)];
        stored.codes = vec![B256::repeat_byte(7), B256::repeat_byte(8)];
        stored.storage.large.push(LargeContract {
            task: task(4),
            ranges: vec![SlotRange { next: SlotHash::ZERO, end: SlotHash::MAX }],
        });
        let mut downloads = Downloads::continuing(None, &config, &stored, &writes(&config));
        let flow = &mut downloads.flow;
        let working = &mut downloads.working;
        let mut requests = Vec::new();
        while let Some(request) = flow.next_request(working) {
            requests.push(request);
        }
        // The range, a batch of two, the remaining task, the codes, the chunk: all in flight.
        assert_eq!(requests.len(), 5);
        assert!(working.storage.pending.is_empty() && working.codes.is_empty());
        let record = downloads.record();
        let sorted = |mut tasks: Vec<StorageTask>| {
            tasks.sort_by_key(|task| task.account);
            tasks
        };
        assert_eq!(sorted(record.storage.pending.clone()), sorted(stored.storage.pending.clone()));
        let mut codes = record.codes.clone();
        codes.sort();
        assert_eq!(codes, stored.codes);
        assert_eq!(record.storage.large, stored.storage.large);
        assert_eq!(record.chunks, stored.chunks);
        assert_eq!(record.phase, SnapPhase::Accounts);
        // Answers taken back put the work back too: the record is unchanged by the round trip.
        for request in requests {
            let kind = snapsync_net::RequestKind::ByteCodes;
            let result = Err(FetchError::NotStarted { kind, waited: std::time::Duration::ZERO });
            let mut outcome = StepOutcome::default();
            let view = snapsync_storage::test_utils::MapStore::default();
            let mut writes = writes(&config);
            let (flow, working) = (&mut downloads.flow, &mut downloads.working);
            flow.take(&view.reader().unwrap(), working, &mut writes, request, result, &mut outcome)
                .unwrap();
        }
        assert!(downloads.flow.batch_tasks.is_empty() && downloads.flow.busy_codes.is_empty());
        assert_eq!(
            sorted(downloads.working.storage.pending.clone()),
            sorted(stored.storage.pending)
        );
    }

    #[test]
    fn a_download_continues_only_from_the_record_it_left() {
        let config = config(2, 2, 8);
        let writes = writes(&config);
        let stored = state(2);
        let mut downloads = Downloads::continuing(None, &config, &stored, &writes);
        let (flow, working) = (&mut downloads.flow, &mut downloads.working);
        assert!(flow.next_request(working).is_some());
        let mut advanced = stored.clone();
        advanced.counts.accounts = 5;
        downloads.last_record = advanced.clone();
        // Found as left, with the trie nodes its write stored counted: the same flow (its
        // chunk still in flight), counting those nodes from now on.
        let mut written = advanced;
        written.counts.trie_nodes = 40;
        let kept = Downloads::continuing(Some(downloads), &config, &written, &writes);
        assert!(kept.flow.busy_chunks[0]);
        assert_eq!(kept.working.counts.trie_nodes, 40);
        // Found otherwise (that step's commit failed): a new flow from what is stored.
        let fresh = Downloads::continuing(Some(kept), &config, &stored, &writes);
        assert!(!fresh.flow.busy_chunks[0]);
        assert_eq!(fresh.working, stored);
    }

    #[test]
    fn answers_gathered_during_a_commit_go_with_their_flow() {
        let config = config(2, 2, 8);
        let stored = state(2);
        let fresh_writes = writes(&config);
        let gathered = |keep_nodes: bool| {
            let mut next = writes(&config).keeping_nodes(keep_nodes);
            next.add_code(&B256::repeat_byte(7), &[0x60, 0x00]).unwrap();
            let mut downloads = Downloads::continuing(None, &config, &stored, &fresh_writes);
            downloads.working.counts.codes = 1;
            downloads.next = Some((next, StepOutcome::default()));
            downloads
        };
        // Continued: the next step takes over the gathered code, and knows it is not stored
        // yet (so it is not asked for again).
        let mut downloads =
            Downloads::continuing(Some(gathered(false)), &config, &stored, &fresh_writes);
        assert_eq!(downloads.working.counts.codes, 1);
        let (step, outcome) = downloads.next.take().unwrap();
        assert!(outcome.into_result(|_| unreachable!()).is_ok());
        let mut writes = writes(&config);
        writes.adopt(step);
        assert_eq!(writes.bytes, 34);
        downloads.flow.forget_committed_codes(&downloads.working, &writes);
        assert!(downloads.flow.known_codes.contains(&B256::repeat_byte(7)));
        // Gathered for another kind of step: the flow is dropped with it, never the answers
        // alone (the working state describes them).
        let dropped = Downloads::continuing(Some(gathered(true)), &config, &stored, &fresh_writes);
        assert!(dropped.next.is_none());
        assert_eq!(dropped.working, stored);
    }
}
