//! [`SnapSyncStage`]: the pipeline stage that downloads, verifies and stores the pivot's state.

use crate::{
    SnapSyncConfig, SnapSyncError, SyncProgress,
    accounts::download_accounts,
    bytecodes::download_bytecodes,
    finish::build_and_check_tries,
    pivot::{choose_pivot, current_tip},
    state::SyncState,
    step::{Step, StepWrites},
    storage::download_storage,
};
use alloy_primitives::B256;
use snapsync_chain_stages::store_header;
use snapsync_db::{
    AccountTrieNodes, Database, HashedAccounts, HashedStorages, SnapProgress, StorageTrieNodes,
    WriteTxn,
};
use snapsync_etl::{CollectorConfig, remove_stale_runs};
use snapsync_fetch::Fetcher;
use snapsync_net::{HeadersClient, PeerSet, SnapClient};
use snapsync_stages::{
    ExecInput, ExecOutput, SnapPhase, Stage, StageCheckpoint, StageError, StageId, UnwindInput,
    UnwindOutput,
};
use std::{path::Path, sync::Arc, time::Duration};
use tokio::sync::watch;
use tracing::{Instrument, debug, info};

/// Downloads the state at a pivot block over snap/1, verified against the pivot header's state
/// root, into the database. See the crate docs for the phases and their invariants.
pub struct SnapSyncStage<C> {
    fetcher: Arc<Fetcher<C>>,
    db: Arc<dyn Database>,
    tip: watch::Receiver<B256>,
    config: SnapSyncConfig,
    etl: CollectorConfig,
    step: Option<Step>,
    progress: watch::Sender<SyncProgress>,
    started: std::time::Instant,
    resumed: Option<bool>,
}

impl<C> std::fmt::Debug for SnapSyncStage<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapSyncStage")
            .field("config", &self.config)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl<C: SnapClient + HeadersClient + 'static> SnapSyncStage<C> {
    /// A stage asking `client`'s peers, writing into `db` (the pipeline's database), following
    /// the tip hashes sent on `tip` (`B256::ZERO`: none yet, the stage waits), configured by
    /// `config`. ETL run files go to `config.etl.dir`, or else `datadir/etl`; the directory is
    /// created, and run directories a killed process left there are removed.
    ///
    /// # Errors
    /// [`SnapSyncError::Config`] for a configuration that fails validation,
    /// [`SnapSyncError::EtlDir`] / [`SnapSyncError::Etl`] when the ETL directory cannot be
    /// prepared.
    pub fn new(
        client: C,
        db: Arc<dyn Database>,
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
        let peers = PeerSet::new(config.peer_set_config())?;
        let fetcher = Arc::new(Fetcher::new(client, peers, config.fetch_config()));
        Ok(Self {
            fetcher,
            db,
            tip,
            config,
            etl,
            step: None,
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
    pub fn fetcher(&self) -> &Arc<Fetcher<C>> {
        &self.fetcher
    }

    /// Gathers the next step: a pivot on the first run, else the current phase's next batch.
    async fn gather(&mut self) -> Result<Step, SnapSyncError> {
        let stored = SyncState::load(&self.db.view()?)?;
        let resumed = *self.resumed.get_or_insert(stored.is_some());
        self.progress.send_modify(|progress| progress.resumed = resumed);
        let Some(mut state) = stored else { return self.pivot_step().await };
        let mut writes = StepWrites::new(&self.etl, &self.config);
        let max_requests = usize::try_from(self.config.concurrency.max_requests).unwrap_or(1);
        let mut finish = false;
        match state.phase {
            SnapPhase::Accounts => {
                download_accounts(&self.fetcher, &mut state, &mut writes, max_requests).await?;
                if state.chunks.iter().all(|chunk| chunk.done) {
                    state.phase = SnapPhase::Storages;
                }
            }
            SnapPhase::Storages => {
                download_storage(&self.fetcher, &self.db, &self.config, &mut state, &mut writes)
                    .await?;
                if state.storage.is_finished() {
                    state.phase = SnapPhase::Bytecodes;
                }
            }
            SnapPhase::Bytecodes => {
                download_bytecodes(&self.fetcher, &self.db, &self.config, &mut state, &mut writes)
                    .await?;
                if state.codes.scanned {
                    state.phase = SnapPhase::Verifying;
                }
            }
            SnapPhase::Healing | SnapPhase::Verifying => {
                state.phase = SnapPhase::Verifying;
                finish = true;
            }
            SnapPhase::Done => {}
        }
        debug!(target: "sync::snap", phase = ?state.phase, bytes = writes.bytes, "step gathered");
        Ok(Step { state, pivot_header: None, writes, finish })
    }

    /// The first step: choose the pivot below the current tip.
    async fn pivot_step(&mut self) -> Result<Step, SnapSyncError> {
        let tip = current_tip(&mut self.tip).await?;
        let timeout = Duration::from_millis(self.config.requests.timeout_max_ms);
        let client = self.fetcher.client();
        let (pivot, header) =
            choose_pivot(client, tip, self.config.pivot.distance, timeout).await?;
        self.fetcher.set_pivot_root(pivot.state_root);
        let state = SyncState::new(pivot, self.config.accounts.chunks);
        let writes = StepWrites::new(&self.etl, &self.config);
        Ok(Step { state, pivot_header: Some(header), writes, finish: false })
    }

    /// Writes a gathered step and its state record through `txn`.
    fn write(&mut self, txn: &mut WriteTxn) -> Result<ExecOutput, SnapSyncError> {
        let Some(mut step) = self.step.take() else {
            // `execute` without a successful `ready`: nothing to write, progress unchanged.
            let state = SyncState::load(txn)?;
            let checkpoint = state.map_or_else(|| StageCheckpoint::new(0), |s| s.checkpoint());
            return Ok(ExecOutput::in_progress(checkpoint));
        };
        if let Some(header) = &step.pivot_header {
            store_header(txn, header)?;
        }
        step.writes.write_into(txn)?;
        if step.finish {
            build_and_check_tries(&self.db, txn, &self.etl, &mut step.state)?;
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

    /// Sends a progress snapshot of `state` and this process's network figures.
    fn publish(&self, state: &SyncState) {
        let stats = self.fetcher.peer_stats();
        let bytes = stats.iter().map(snapsync_net::PeerStats::bytes_received).sum();
        let requests = stats
            .iter()
            .flat_map(|peer| peer.kinds.iter())
            .map(|kind| kind.completed + kind.timed_out + kind.failed)
            .sum();
        let elapsed = self.started.elapsed();
        self.progress.send_modify(|progress| {
            progress.observe_state(state);
            progress.bytes_downloaded = bytes;
            progress.requests = requests;
            progress.elapsed = elapsed;
            progress.record_metrics();
        });
    }
}

impl<C: SnapClient + HeadersClient + 'static> Stage for SnapSyncStage<C> {
    fn id(&self) -> StageId {
        StageId::SNAP_SYNC
    }

    async fn ready(&mut self, _input: ExecInput) -> Result<(), StageError> {
        // Anything gathered for a step that was not committed is stale: gather from the stored
        // state again.
        self.step = None;
        let span = tracing::debug_span!(target: "sync::snap", "snap_step");
        let step = self.gather().instrument(span).await?;
        self.step = Some(step);
        Ok(())
    }

    fn execute(&mut self, txn: &mut WriteTxn, _input: ExecInput) -> Result<ExecOutput, StageError> {
        Ok(self.write(txn)?)
    }

    /// The state is one block's: unwinding below the pivot removes all of it (accounts, slots,
    /// trie nodes and progress; bytecodes are content-addressed and stay), so the next run syncs
    /// a new pivot. Unwinding to the pivot or above changes nothing.
    fn unwind(
        &mut self,
        txn: &mut WriteTxn,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        if input.unwind_to >= input.checkpoint.block_number && input.checkpoint.progress.is_none() {
            return Ok(UnwindOutput { checkpoint: input.checkpoint });
        }
        txn.clear::<HashedAccounts>()?;
        txn.clear::<HashedStorages>()?;
        txn.clear::<AccountTrieNodes>()?;
        txn.clear::<StorageTrieNodes>()?;
        txn.delete::<SnapProgress>(&SyncState::KEY.to_owned())?;
        self.step = None;
        info!(target: "sync::snap", to = input.unwind_to, "snap sync state removed by unwind");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(0) })
    }
}
