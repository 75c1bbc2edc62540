//! [`SnapSyncStage`]: the pipeline stage that downloads, verifies and stores the pivot's state.

use crate::{
    SnapPhase, SnapSyncConfig, SnapSyncError, SyncProgress,
    download::{Downloads, Prefetch, download},
    finish::{NodesCheck, Verdict, build_and_check_tries, check_verified_nodes},
    heal::{HealPass, heal_step},
    part_checks::PartChecks,
    pivot::{MoveReason, choose_pivot, current_tip, newer_pivot},
    state::{SyncState, VerifiedNodes},
    step::{Step, StepWrites},
};
use alloy_primitives::{B256, Bytes};
use snapsync_etl::{CollectorConfig, remove_stale_runs};
use snapsync_fetch::{FetchError, Fetcher, PeerSet};
use snapsync_net::{Availability, PeerRequests, PeerSource};
use snapsync_stages::{
    ExecInput, ExecOutput, Stage, StageCheckpoint, StageError, StageId, UnwindInput, UnwindOutput,
};
use snapsync_storage::{StateRead, StateStore, StateWrite};
use std::{path::Path, sync::Arc};
use tokio::sync::watch;
use tracing::{Instrument, debug, info, warn};

/// Downloads the state at a pivot block over snap/1, verified against the pivot header's state
/// root, into the pipeline's store. See the crate docs for the phases and their invariants.
///
/// The stage holds no store handle: it reads the snapshot the pipeline hands to
/// [`Stage::ready`] while gathering a step, and reads and writes the step's transaction in
/// [`Stage::execute`] (the verifying step re-hashes the leaves and rebuilds the tries from that
/// same transaction).
pub struct SnapSyncStage {
    fetcher: Arc<Fetcher>,
    tip: watch::Receiver<B256>,
    config: SnapSyncConfig,
    etl: CollectorConfig,
    step: Option<Step>,
    /// The download under way: its requests in flight across steps (see `download.rs`).
    downloads: Option<Downloads>,
    /// The download while the last step commits: it gathers the next step meanwhile.
    prefetch: Option<Prefetch>,
    /// The healing pass under way (held in memory only: see `heal.rs`).
    heal: Option<HealPass>,
    /// Parts of the state checked in the background while the rest downloads (held in memory
    /// only: see `part_checks.rs`).
    parts: PartChecks,
    /// The root of the last healing pass that ran to its end: if the state still differs from
    /// that root afterwards, healing cannot fix it and the stage fails instead of looping.
    healed_root: Option<B256>,
    /// The tip hash last looked at for a pivot move.
    last_tip: Option<B256>,
    progress: watch::Sender<SyncProgress>,
    started: std::time::Instant,
    resumed: Option<bool>,
}

impl std::fmt::Debug for SnapSyncStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapSyncStage")
            .field("config", &self.config)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl SnapSyncStage {
    /// A stage asking the peers of `network` (which lists them and carries the requests),
    /// writing into the pipeline's store, following
    /// the tip hashes sent on `tip` (`B256::ZERO`: none yet, the stage waits), configured by
    /// `config`. ETL run files go to `config.etl.dir`, or else `datadir/etl`; the directory is
    /// created, and the run directories whose owner is gone (a killed process's) are removed
    /// from it, never those of live collectors, of this process or another (see
    /// [`remove_stale_runs`]).
    ///
    /// # Errors
    /// [`SnapSyncError::Config`] for a configuration that fails validation,
    /// [`SnapSyncError::EtlDir`] / [`SnapSyncError::Etl`] when the ETL directory cannot be
    /// prepared.
    pub fn new<N: PeerSource + PeerRequests + 'static>(
        network: Arc<N>,
        tip: watch::Receiver<B256>,
        config: SnapSyncConfig,
        datadir: &Path,
    ) -> Result<Self, SnapSyncError> {
        config.validate()?;
        let etl = config.collector_config(datadir);
        let etl_dir = config.etl.etl_dir(datadir);
        std::fs::create_dir_all(&etl_dir)
            .map_err(|source| SnapSyncError::EtlDir { path: etl_dir.clone(), source })?;
        let stale = remove_stale_runs(&etl_dir)?;
        if stale > 0 {
            info!(target: "sync::snap", stale, dir = %etl_dir.display(), "removed ETL runs of an earlier process");
        }
        let peers = PeerSet::new(config.peers.clone())?;
        let fetcher = Arc::new(Fetcher::new(network, peers, config.fetch));
        Ok(Self {
            fetcher,
            tip,
            config,
            etl,
            step: None,
            downloads: None,
            prefetch: None,
            heal: None,
            parts: PartChecks::default(),
            healed_root: None,
            last_tip: None,
            progress: watch::Sender::new(SyncProgress::default()),
            started: std::time::Instant::now(),
            resumed: None,
        })
    }

    /// Live progress: a new snapshot after every request batch and every commit.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    /// The fetcher (peer statistics, bans).
    pub fn fetcher(&self) -> &Arc<Fetcher> {
        &self.fetcher
    }

    /// Gathers the next step: a pivot on the first run, a pivot move when the tip calls for one,
    /// else the current phase's next batch.
    async fn gather<R>(&mut self, view: &R) -> Result<Step, SnapSyncError>
    where
        R: StateRead + Sync + Clone + 'static,
    {
        let stored = SyncState::load(view)?;
        let resumed = *self.resumed.get_or_insert(stored.is_some());
        self.progress.send_modify(|progress| progress.resumed = resumed);
        let Some(mut state) = stored else {
            let empty = VerifiedNodes::tables_empty(view)?;
            return self.pivot_step(empty).await;
        };
        let keep_nodes = VerifiedNodes::hold(view, &state)?;
        if keep_nodes {
            // Only the verified-nodes check takes parts checked early.
            self.parts.advance(view, &state);
        }
        if state.phase != SnapPhase::Done
            && let Some(step) = self.move_step(&state, MoveReason::TipAdvanced).await?
        {
            return Ok(step);
        }
        let mut writes = StepWrites::new(&self.etl, &self.config)
            .until_tip_changes(self.tip.clone())
            .keeping_nodes(keep_nodes);
        match self.run_phase(view, &mut state, &mut writes).await {
            Ok(finish) => {
                debug!(target: "sync::snap", phase = ?state.phase, bytes = writes.bytes, "step gathered");
                let nodes_check = (finish && keep_nodes)
                    .then(|| {
                        blocking(|| {
                            // Stops the background checks after their current part: the
                            // parts left are walked here, on every core.
                            let checked = self.parts.take(state.pivot.state_root);
                            check_verified_nodes(view, &state, checked)
                        })
                    })
                    .transpose()?;
                Ok(Step {
                    state,
                    pivot_header: None,
                    writes,
                    finish,
                    verified_nodes: None,
                    nodes_check,
                })
            }
            Err(error) if is_unserved_pivot(&error, state.pivot.state_root) => {
                match self.move_step(&state, MoveReason::Unserved).await? {
                    Some(step) => Ok(step),
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// One batch of the current phase into `writes`; advances the phase when it is complete.
    /// Returns whether `execute` verifies the stored state (the verifying step).
    async fn run_phase<R>(
        &mut self,
        view: &R,
        state: &mut SyncState,
        writes: &mut StepWrites,
    ) -> Result<bool, SnapSyncError>
    where
        R: StateRead + Sync + Clone + 'static,
    {
        let before = state.phase;
        let finish = self.run_phase_inner(view, state, writes).await?;
        if state.phase != before {
            info!(target: "sync::snap", from = ?before, to = ?state.phase, "phase finished");
        }
        Ok(finish)
    }

    async fn run_phase_inner<R>(
        &mut self,
        view: &R,
        state: &mut SyncState,
        writes: &mut StepWrites,
    ) -> Result<bool, SnapSyncError>
    where
        R: StateRead + Sync + Clone + 'static,
    {
        match state.phase {
            SnapPhase::Accounts | SnapPhase::Storages | SnapPhase::Bytecodes => {
                let previous = self.downloads.take();
                let mut downloads = Downloads::continuing(previous, &self.config, state, writes);
                match download(&self.fetcher, view, &mut downloads, writes).await {
                    Ok(record) => {
                        *state = record;
                        if state.phase.is_download() {
                            // The next step is gathered while this one commits.
                            let (fetcher, next) = (Arc::clone(&self.fetcher), writes.successor());
                            let view = view.clone();
                            self.prefetch = Some(downloads.prefetch(fetcher, view, next));
                        } else {
                            downloads.retire();
                        }
                    }
                    Err(error) => {
                        // When the step's requests failed and nothing moved forward, nothing
                        // was taken: the flow still continues the stored record. Any other
                        // failure may come after answers were taken into the writes now
                        // dropped: the flow, ahead of what is stored, is retired.
                        if matches!(error, SnapSyncError::Fetch { .. }) {
                            self.downloads = Some(downloads);
                        } else {
                            downloads.retire();
                        }
                        return Err(error);
                    }
                }
            }
            SnapPhase::Healing => {
                let Some(pass) =
                    self.heal.as_mut().filter(|pass| pass.root() == state.pivot.state_root)
                else {
                    // Resumed, or the pass was dropped: the walk needs freshly built nodes.
                    state.phase = SnapPhase::Verifying;
                    return Ok(true);
                };
                heal_step(&self.fetcher, view, &self.config, pass, state, writes).await?;
                if pass.is_done() {
                    self.healed_root = Some(pass.root());
                    state.phase = SnapPhase::Verifying;
                }
            }
            SnapPhase::Verifying => return Ok(true),
            SnapPhase::Done => {}
        }
        Ok(false)
    }

    /// A step moving the pivot, if `reason` holds at the current tip; the healing pass under way
    /// (if any) is dropped.
    async fn move_step(
        &mut self,
        state: &SyncState,
        reason: MoveReason,
    ) -> Result<Option<Step>, SnapSyncError> {
        let tip = *self.tip.borrow_and_update();
        if tip == B256::ZERO || (reason == MoveReason::TipAdvanced && self.last_tip == Some(tip)) {
            return Ok(None);
        }
        self.last_tip = Some(tip);
        let config = &self.config.pivot;
        let found = match newer_pivot(&self.fetcher, tip, &state.pivot, config, reason).await {
            Ok(found) => found,
            Err(error) if reason == MoveReason::TipAdvanced => {
                // The current pivot is still served: keep syncing it, look again next step.
                warn!(target: "sync::snap::pivot", %error, "cannot resolve the new tip");
                self.last_tip = None;
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let Some((pivot, header)) = found else { return Ok(None) };
        let mut state = state.clone();
        state.move_pivot(pivot);
        // Requests in flight ask for the old root: the download starts over at the new one.
        if let Some(downloads) = self.downloads.take() {
            downloads.retire();
        }
        self.heal = None;
        let writes = StepWrites::new(&self.etl, &self.config);
        Ok(Some(Step {
            state,
            pivot_header: Some(header),
            writes,
            finish: false,
            verified_nodes: None,
            nodes_check: None,
        }))
    }

    /// The first step: choose the pivot below the current tip. With `empty_tables` (nothing
    /// stored in the state tables), the step records that the nodes to come are verified ones.
    async fn pivot_step(&mut self, empty_tables: bool) -> Result<Step, SnapSyncError> {
        let tip = current_tip(&mut self.tip).await?;
        let (pivot, header) = choose_pivot(&self.fetcher, tip, self.config.pivot.distance).await?;
        self.last_tip = Some(tip);
        self.fetcher.set_pivot_root(pivot.state_root);
        let state = SyncState::new(pivot, self.config.accounts.chunks);
        let writes = StepWrites::new(&self.etl, &self.config);
        let verified_nodes = empty_tables.then_some(pivot.state_root);
        Ok(Step {
            state,
            pivot_header: Some(header),
            writes,
            finish: false,
            verified_nodes,
            nodes_check: None,
        })
    }

    /// Writes a gathered step and its state record through `txn`.
    fn write(&mut self, txn: &mut (impl StateWrite + ?Sized)) -> Result<ExecOutput, SnapSyncError> {
        let Some(mut step) = self.step.take() else {
            // `execute` without a successful `ready`: nothing to write, progress unchanged.
            let state = SyncState::load(&*txn)?;
            let checkpoint = state.map_or_else(|| StageCheckpoint::new(0), |s| s.checkpoint());
            return Ok(ExecOutput::in_progress(checkpoint));
        };
        if let Some(header) = &step.pivot_header {
            let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
            txn.put_header(header.number, &header.hash(), &rlp)?;
        }
        if let Some(root) = step.verified_nodes {
            VerifiedNodes::store(txn, root)?;
        }
        let nodes = step.writes.write_into(txn)?;
        step.state.counts.trie_nodes += nodes;
        if step.finish {
            // A check made before this step's writes would not describe them (a verifying step
            // has none).
            let nodes_check = step.nodes_check.take().filter(|_| nodes == 0);
            self.verify(txn, &mut step.state, nodes_check)?;
        }
        step.state.store(txn)?;
        self.fetcher.set_pivot_root(step.state.pivot.state_root);
        self.publish(&step.state);
        let checkpoint = step.state.checkpoint();
        Ok(if step.state.phase == SnapPhase::Done {
            ExecOutput::done(checkpoint)
        } else {
            ExecOutput::in_progress(checkpoint)
        })
    }

    /// The verifying step: builds the tries from the stored leaves; done if they are the pivot's,
    /// else a healing pass towards the pivot's root starts.
    ///
    /// # Errors
    /// [`SnapSyncError::RootMismatch`] / [`SnapSyncError::InconsistentStorage`] when a healing
    /// pass towards this very root ran to its end and the state still differs.
    fn verify(
        &mut self,
        txn: &mut (impl StateWrite + ?Sized),
        state: &mut SyncState,
        nodes_check: Option<NodesCheck>,
    ) -> Result<(), SnapSyncError> {
        self.heal = None;
        let Verdict::Differs { seeds, stored_root } =
            build_and_check_tries(txn, &self.etl, state, nodes_check)?
        else {
            return Ok(());
        };
        let expected = state.pivot.state_root;
        if self.healed_root == Some(expected) {
            return Err(if stored_root == expected {
                SnapSyncError::InconsistentStorage {
                    mismatches: seeds.storages.len(),
                    first: None,
                    orphans: 0,
                }
            } else {
                SnapSyncError::RootMismatch {
                    pivot: state.pivot.number,
                    expected,
                    computed: stored_root,
                }
            });
        }
        // The pass compares with the nodes just built, which only this transaction holds.
        self.heal = Some(HealPass::new(expected, &*txn, seeds)?);
        Ok(())
    }

    /// Sends a progress snapshot of `state` and this process's network figures.
    fn publish(&self, state: &SyncState) {
        let stats = self.fetcher.peer_stats();
        let bytes = stats.iter().map(snapsync_fetch::PeerStats::bytes_received).sum();
        let requests = stats
            .iter()
            .flat_map(|peer| peer.kinds.iter())
            .map(|kind| kind.completed + kind.timed_out + kind.failed)
            .sum();
        let elapsed = self.started.elapsed();
        let heal_pending = self.heal.as_ref().map_or(0, HealPass::pending);
        let parts_checked_early = self.parts.checked();
        self.progress.send_modify(|progress| {
            progress.parts_checked_early = parts_checked_early;
            progress.observe_state(state);
            progress.heal_pending = heal_pending;
            progress.bytes_downloaded = bytes;
            progress.requests = requests;
            progress.elapsed = elapsed;
            progress.record_metrics();
        });
    }
}

impl<S> Stage<S> for SnapSyncStage
where
    S: StateStore + ?Sized,
{
    fn id(&self) -> StageId {
        crate::SNAP_SYNC
    }

    async fn ready(&mut self, view: &S::Reader, _input: ExecInput) -> Result<(), StageError> {
        // Anything gathered for a step that was not committed is stale: gather from the stored
        // state again. A healing pass that gave work to such a step has lost it: drop the pass
        // (the next step verifies and starts a new one).
        if self.step.take().is_some() {
            self.heal = None;
        }
        if let Some(prefetch) = self.prefetch.take() {
            match prefetch.finish().await {
                Ok(downloads) => self.downloads = Some(downloads),
                // Its flow is retired and this step starts over from the stored record, so a
                // failure that lasts shows in this step; one that passed (such as a failed
                // step's) costs only the answers it had taken.
                Err(error) => {
                    warn!(target: "sync::snap", %error, "the download failed while the last step committed; starting over from the stored record");
                }
            }
        }
        let span = tracing::debug_span!(target: "sync::snap", "snap_step");
        let step = self.gather(view).instrument(span).await?;
        self.step = Some(step);
        Ok(())
    }

    fn execute(
        &mut self,
        txn: &mut S::Writer,
        _input: ExecInput,
    ) -> Result<ExecOutput, StageError> {
        Ok(self.write(txn)?)
    }

    /// The state is one block's: unwinding below the pivot removes all of it (accounts, slots,
    /// trie nodes and progress; bytecodes are content-addressed and stay), so the next run syncs
    /// a new pivot. Unwinding to the pivot or above changes nothing.
    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        if input.unwind_to >= input.checkpoint.block_number && input.checkpoint.progress.is_none() {
            return Ok(UnwindOutput { checkpoint: input.checkpoint });
        }
        txn.clear_state()?;
        txn.delete_progress(SyncState::KEY)?;
        VerifiedNodes::remove(txn)?;
        self.step = None;
        // The download of the removed state stops (a dropped prefetch stops its task).
        self.prefetch = None;
        if let Some(downloads) = self.downloads.take() {
            downloads.retire();
        }
        self.parts.clear();
        info!(target: "sync::snap", to = input.unwind_to, "snap sync state removed by unwind");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(0) })
    }
}

/// Whether `error` says that no peer serves the pivot's state any more.
fn is_unserved_pivot(error: &SnapSyncError, pivot_root: B256) -> bool {
    matches!(
        error,
        SnapSyncError::Fetch {
            source: FetchError::NoPeerServes { key: Availability::State(root), .. },
            ..
        } if *root == pivot_root
    )
}

/// Runs `work`, which blocks for a while (hashing on every core), without stalling the tasks of
/// a multi-threaded tokio runtime's worker (`block_in_place` hands them to another); elsewhere
/// (a current-thread runtime, no runtime) it runs inline.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
