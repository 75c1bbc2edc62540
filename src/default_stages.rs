//! [`DefaultStages`]: what a snap-syncing client runs, assembled in one call.
//!
//! It lives in the facade because it joins two crates that do not depend on each other: the
//! snap sync stage (`snapsync-snap-sync`) and the chain stages (`snapsync-chain-stages`).

use alloy_primitives::B256;
use snapsync_chain_stages::{
    BlockExecutor, BodiesConfig, BodiesStage, ExecutionConfig, ExecutionStage, HeadersConfig,
    HeadersStage, History, ReceiptsStage,
};
use snapsync_fetch::Fetcher;
use snapsync_net::{PeerRequests, PeerSource};
use snapsync_snap_sync::{SNAP_SYNC, SnapSyncConfig, SnapSyncError, SnapSyncStage, SyncProgress};
use snapsync_stages::{StageId, StageSet, StageSetBuilder, StageSetError};
use snapsync_storage::StateStore;
use std::{path::Path, sync::Arc};
use tokio::sync::watch;

/// The default stages of a snap-syncing client, in order: [`SnapSyncStage`] (the pivot's
/// state), then [`HeadersStage`] and [`BodiesStage`] from the pivot + 1 to the tip (and, with
/// [`build_with_execution`](Self::build_with_execution), an [`ExecutionStage`] executing them)
/// ([`HeadersConfig::after_stage`] / [`BodiesConfig::after_stage`] with [`SNAP_SYNC`]); with
/// [`with_history`](Self::with_history), headers down to block 1 and the bodies and a
/// [`ReceiptsStage`] below the pivot as the [`History`] says. All of them ask peers through the
/// snap stage's one [`Fetcher`], so one peer set times, scores and bans every peer, and all
/// follow the same tip.
///
/// The chain stages whose first block does not depend on the pivot (with a history: the
/// headers, and the bodies and receipts unless the history is [`History::None`]) run
/// [alongside](StageSetBuilder::alongside) the snap stage, so the chain downloads while the
/// state does (the receipts up to the pivot chosen so far); the pipeline runs them again once
/// the snap stage has finished, to catch up with the tip and the pivot it ended at.
///
/// [`builder`](Self::builder) gives the set as a [`StageSetBuilder`], for a client to add its
/// own stages (`insert_after(&SNAP_SYNC, …)`, `add(…)`) or replace one; [`build`](Self::build)
/// gives the set as it is. The stages run on any [`StateStore`].
pub struct DefaultStages {
    snap: SnapSyncStage,
    tip: watch::Receiver<B256>,
    headers: HeadersConfig,
    bodies: BodiesConfig,
    /// The history below the pivot, with the chain's merge block; `None`: the chain after the
    /// pivot only.
    history: Option<(History, u64)>,
}

impl std::fmt::Debug for DefaultStages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultStages")
            .field("snap", &self.snap)
            .field("headers", &self.headers)
            .field("bodies", &self.bodies)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

impl DefaultStages {
    /// The default stages over the client's `network` (its peers and one request method),
    /// following the tip hashes sent on `tip` (`B256::ZERO`: none yet, the stages wait), the snap
    /// stage configured by `config` with its ETL files under `datadir` (see
    /// [`SnapSyncStage::new`]); headers and bodies with their defaults after the snap stage.
    ///
    /// # Errors
    /// As [`SnapSyncStage::new`]: an invalid configuration, an ETL directory that cannot be
    /// prepared.
    pub fn new<N: PeerSource + PeerRequests + 'static>(
        network: Arc<N>,
        tip: watch::Receiver<B256>,
        config: SnapSyncConfig,
        datadir: &Path,
    ) -> Result<Self, SnapSyncError> {
        let snap = SnapSyncStage::new(network, tip.clone(), config, datadir)?;
        Ok(Self {
            snap,
            tip,
            headers: HeadersConfig::after_stage(SNAP_SYNC),
            bodies: BodiesConfig::after_stage(SNAP_SYNC),
            history: None,
        })
    }

    /// These stages keeping `history` below the pivot ([`History::chain_stages`]): headers from
    /// the tip down to block 1, bodies from the history's first block, and receipts from there
    /// up to the pivot (none for [`History::None`]); `merge_block` is the chain's first
    /// proof-of-stake block (for [`History::PostMerge`]). Replaces the headers and bodies
    /// configurations.
    #[must_use]
    pub fn with_history(mut self, history: History, merge_block: u64) -> Self {
        self.history = Some((history, merge_block));
        self
    }

    /// These stages with the headers stage configured by `config`.
    #[must_use]
    pub fn with_headers(mut self, config: HeadersConfig) -> Self {
        self.headers = config;
        self
    }

    /// These stages with the bodies stage configured by `config`.
    #[must_use]
    pub fn with_bodies(mut self, config: BodiesConfig) -> Self {
        self.bodies = config;
        self
    }

    /// The snap stage's live progress ([`SnapSyncStage::progress`]).
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.snap.progress()
    }

    /// The fetcher every stage asks peers through (peer statistics, bans).
    pub fn fetcher(&self) -> &Arc<Fetcher> {
        self.snap.fetcher()
    }

    /// The stages, as a builder to add to.
    ///
    /// # Errors
    /// None in practice: the ids are distinct; the builder's checks report
    /// [`StageSetError`] for duplicates all the same.
    pub fn builder<S: StateStore + ?Sized>(self) -> Result<StageSetBuilder<S>, StageSetError> {
        let fetcher = Arc::clone(self.snap.fetcher());
        let (headers, bodies, receipts): (_, _, Option<ReceiptsStage>) = match self.history {
            Some((history, merge_block)) => {
                let chain = history.chain_stages(&fetcher, self.tip, &SNAP_SYNC, merge_block);
                (chain.headers, chain.bodies, chain.receipts)
            }
            None => (
                HeadersStage::new(Arc::clone(&fetcher), self.tip, self.headers),
                BodiesStage::new(fetcher, self.bodies),
                None,
            ),
        };
        let mut independent = vec![
            (StageId::HEADERS, headers.start().after().is_none()),
            (StageId::BODIES, bodies.start().after().is_none()),
        ];
        let builder = StageSet::builder().add(self.snap)?.add(headers)?.add(bodies)?;
        let builder = match receipts {
            Some(receipts) => {
                independent.push((StageId::RECEIPTS, receipts.start().after().is_none()));
                builder.add(receipts)?
            }
            None => builder,
        };
        run_alongside_snap_sync(builder, &independent)
    }

    /// The stages followed by an [`ExecutionStage`] driving `executor` (with the `execution`
    /// feature: `snapsync::execution::StageExecutor`, revm): `SnapSync → Headers → Bodies →
    /// Execution`, the blocks from the pivot + 1 to the tip executed on the synced state
    /// ([`ExecutionConfig::after_stage`] with [`SNAP_SYNC`]).
    ///
    /// # Errors
    /// As [`builder`](Self::builder).
    pub fn build_with_execution<S, E>(self, executor: E) -> Result<StageSet<S>, StageSetError>
    where
        S: StateStore + ?Sized,
        E: BlockExecutor<S::Writer> + 'static,
    {
        let execution = ExecutionStage::new(executor, ExecutionConfig::after_stage(SNAP_SYNC));
        Ok(self.builder()?.add(execution)?.build())
    }

    /// The stages, as a set.
    ///
    /// # Errors
    /// As [`builder`](Self::builder).
    pub fn build<S: StateStore + ?Sized>(self) -> Result<StageSet<S>, StageSetError> {
        Ok(self.builder()?.build())
    }
}

/// Lets the chain stages in `independent` marked `true` (those whose first block is fixed, not
/// the pivot + 1), up to the first that is not, download alongside the snap sync stage: each
/// still waits for the chain stages before it (bodies for headers), but not for the state. The
/// receipts end at the pivot chosen so far ([`BlockDataEnd::AtStage`]).
///
/// [`BlockDataEnd::AtStage`]: snapsync_chain_stages::BlockDataEnd::AtStage
fn run_alongside_snap_sync<S: StateStore + ?Sized>(
    builder: StageSetBuilder<S>,
    independent: &[(StageId, bool)],
) -> Result<StageSetBuilder<S>, StageSetError> {
    independent
        .iter()
        .take_while(|(_, independent)| *independent)
        .try_fold(builder, |builder, (id, _)| builder.alongside(id, &SNAP_SYNC))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use snapsync_db::MemoryDatabase;
    use snapsync_sim::{GeneratedChain, Link, Scenario, SimPeer, StateSpec};

    /// Which stages run alongside the snap stage, for each way of building the set.
    #[tokio::test]
    async fn the_chain_stages_that_need_no_pivot_run_alongside_the_snap_stage() {
        let chain = GeneratedChain::new(1, &StateSpec::small().with_accounts(10), 8, 0);
        let scenario = Scenario::new(chain, vec![SimPeer::honest(Link::INSTANT)], [4]).unwrap();
        let datadir = tempfile::tempdir().unwrap();
        let stages = |history: Option<History>| {
            let (_, tip) = watch::channel(scenario.tip());
            let config = SnapSyncConfig::default();
            let stages =
                DefaultStages::new(scenario.network.clone(), tip, config, datadir.path()).unwrap();
            let stages = match history {
                Some(history) => stages.with_history(history, 0),
                None => stages,
            };
            let set = stages.build::<MemoryDatabase>().unwrap();
            [StageId::HEADERS, StageId::BODIES, StageId::RECEIPTS]
                .map(|id| set.alongside(&id) == [SNAP_SYNC])
        };
        assert_eq!(stages(Some(History::All)), [true, true, true]);
        assert_eq!(stages(Some(History::PostMerge)), [true, true, true]);
        assert_eq!(stages(Some(History::None)), [true, false, false]);
        assert_eq!(stages(None), [false, false, false], "both start after the pivot");
    }
}
