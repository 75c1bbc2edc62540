//! An execution client embedding snapsync: its own network behind the peer seam (`PeerSource`,
//! `PeerRequests`: one method), the snap sync stage ahead of the headers and bodies stages (and
//! one stage of its own) in a pipeline, the tip fed through a watch channel, the pipeline driven
//! by commands (`run_loop`) with a cancel token for shutdown, progress read from pipeline events
//! and the stage's progress receiver.
//!
//! ```sh
//! cargo run --release --example embed_stage
//! ```
//!
//! Everything above the "demo world" line is what an embedder writes. Below it, a generated
//! chain served by simulated peers stands in for mainnet, devp2p and the consensus client.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]

use snapsync::chain_stages::{BodiesConfig, BodiesStage, HeadersConfig, HeadersStage};
use snapsync::db::{Database, RedbDatabase, RedbOptions, Table, TableRead, WriteTxn};
use snapsync::net::{
    BoxFuture, PeerId, PeerInfo, PeerRequests, PeerResult, PeerSource, Penalty, Request, Response,
};
use snapsync::prelude::B256;
use snapsync::snap_sync::{SNAP_SYNC, SnapSyncConfig, SnapSyncStage, stored_summary};
use snapsync::stages::{
    Command, ControlFlow, ExecInput, ExecOutput, Pipeline, PipelineEvent, Stage, StageCheckpoint,
    StageError, StageId, StageSet, UnwindInput, UnwindOutput,
};
use snapsync::storage::StateStore;
use std::{error::Error, sync::Arc};
use tokio::sync::{mpsc, watch};

// ---- the embedding client -----------------------------------------------------------------------

/// The client's network handle: it lists the connected peers (with the head and the eth/snap
/// capabilities each announced) and sends one message to one peer, returning its decoded reply;
/// snapsync chooses the peers, verifies the replies and retries elsewhere.
struct MyNetwork {
    handle: Arc<snapsync_sim::SimNetwork>, // in a real client: its devp2p handle
}

impl PeerSource for MyNetwork {
    fn peers(&self) -> Vec<PeerInfo> {
        self.handle.peers()
    }
    fn report(&self, peer: PeerId, penalty: Penalty) {
        self.handle.report(peer, penalty); // feed the client's peer reputation
    }
}

impl PeerRequests for MyNetwork {
    /// One method for the six messages: a real client matches on `request` and sends the eth or
    /// snap message, dropping the request at `deadline`.
    fn request(
        &self,
        peer: PeerId,
        request: Request,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'_, PeerResult<Response>> {
        self.handle.request(peer, request, deadline)
    }
}

/// A table of the client's own, in the same database as snapsync's: the synced pivots, by
/// number, with their state roots.
struct SyncedPivots;

impl Table for SyncedPivots {
    const NAME: &'static str = "SyncedPivots";
    type Key = u64;
    type Value = snapsync::prelude::Bytes;
}

/// A stage of the client's own, run after snap sync: it records the synced pivot in its own
/// table, in the same transaction as its checkpoint. It targets snapsync-db's transaction
/// (`Writer = WriteTxn`) to reach that table; snapsync's own stages work on any store.
struct LogPivot;

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for LogPivot {
    fn id(&self) -> StageId {
        StageId::new("LogPivot")
    }
    fn execute(&mut self, txn: &mut WriteTxn, _: ExecInput) -> Result<ExecOutput, StageError> {
        let pivot = stored_summary(txn)?.ok_or_else(|| StageError::fatal("no snap sync"))?.pivot;
        let root = snapsync::prelude::Bytes::copy_from_slice(pivot.state_root.as_slice());
        txn.put::<SyncedPivots>(&pivot.number, &root).map_err(StageError::store)?;
        println!("[LogPivot] state of block {} is in the database", pivot.number);
        Ok(ExecOutput::done(StageCheckpoint::new(pivot.number)))
    }
    fn unwind(
        &mut self,
        txn: &mut WriteTxn,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        let above = txn.range::<SyncedPivots>(input.unwind_to + 1..).map_err(StageError::store)?;
        let doomed: Vec<u64> = above.filter_map(|entry| entry.ok().map(|(n, _)| n)).collect();
        for number in doomed {
            txn.delete::<SyncedPivots>(&number).map_err(StageError::store)?;
        }
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (network, forkchoice_head) = demo_world()?;
    let datadir = tempfile::tempdir()?; // the client's datadir
    let db: Arc<dyn Database> =
        Arc::new(RedbDatabase::open(datadir.path().join("state.redb"), RedbOptions::default())?);
    let (tip_tx, tip) = watch::channel(B256::ZERO); // zero: no tip yet, the stages wait

    let config = SnapSyncConfig::default(); // or SnapSyncConfig::load(path) from TOML
    let snap = SnapSyncStage::new(network, tip.clone(), config, datadir.path())?;
    let mut progress = snap.progress();
    let headers = HeadersConfig::after_stage(SNAP_SYNC); // from the pivot + 1
    let bodies = BodiesConfig::after_stage(SNAP_SYNC);
    let fetcher = snap.fetcher().clone(); // one peer set for snap, headers and bodies requests
    let stages = StageSet::builder()
        .add(snap)?
        .add(LogPivot)?
        .add(HeadersStage::new(fetcher.clone(), tip, headers))?
        .add(BodiesStage::new(fetcher, bodies))?
        .build();
    let mut pipeline = Pipeline::new(db.clone(), stages);

    let mut events = pipeline.subscribe(); // the client's log
    let log = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let PipelineEvent::StageFinished { stage, checkpoint } = &event {
                println!("[pipeline] {stage} finished at block {}", checkpoint.block_number);
            } else if let PipelineEvent::Error { stage, error, will_retry, .. } = &event {
                // A typed failure: a local one is the client's disk, not a peer.
                let kind = error.kind();
                println!("[pipeline] {stage} failed ({kind:?}): {error} (retrying: {will_retry})");
            }
        }
    });
    let status = tokio::spawn(async move {
        let mut phase = None; // the client's status line: each snap phase as it starts
        while progress.changed().await.is_ok() {
            let now = progress.borrow_and_update().clone();
            if phase.replace(now.phase) != Some(now.phase) {
                let (accounts, slots) = (now.counts.accounts, now.counts.slots);
                println!("[snap] {:?}: {accounts} accounts, {slots} slots", now.phase);
            }
        }
    });

    // The client steers the pipeline: after each pass it sends `Command::Continue` (a new head),
    // `Command::Unwind` (a reorg) or `Command::Stop`; its shutdown handler cancels the token,
    // which stops the pipeline with every checkpoint matching the stored data.
    let shutdown = pipeline.cancel_token();
    let (commands, mut control) = mpsc::channel(4);
    tip_tx.send(forkchoice_head)?; // from the consensus client's forkchoice updates
    commands.send(Command::Stop).await?; // the demo has one head: stop after the first pass
    let flow = pipeline.run_loop(None, &mut control).await?;
    assert_eq!(flow, ControlFlow::Finished { target: None }, "cancelled: {shutdown:?}");
    drop(pipeline); // closes the event and progress channels, ending both tasks
    log.await?;
    status.await?;

    let summary = stored_summary(&db.view()?)?.ok_or("snap sync stored nothing")?;
    assert!(summary.is_done(), "the pipeline ends only once the root is checked");
    println!("verified state root {} at block {}", summary.pivot.state_root, summary.pivot.number);
    let recorded = db.view()?.get::<SyncedPivots>(&summary.pivot.number)?;
    assert!(recorded.is_some(), "the client's own stage wrote its table with its checkpoint");
    Ok(())
}

// ---- demo world ---------------------------------------------------------------------------------
// Not part of an embedding: a generated chain whose state simulated peers serve.

// The demo chain; tests/examples.rs rebuilds it to know the root to expect.
/// Seed of the generated state and headers.
const SEED: u64 = 7;
/// Blocks after genesis: the pivot is the default 64 below.
const HEAD: u64 = 80;
/// Accounts of the generated state.
const ACCOUNTS: usize = 2_000;
/// Honest peers, each on a 10 ms, 1 Gbit/s link.
const PEERS: u64 = 4;

/// The client's network over simulated peers serving the chain and the pivot's state, and the
/// head's hash (what the consensus client would announce).
fn demo_world() -> Result<(Arc<MyNetwork>, B256), snapsync_sim::ScenarioError> {
    use snapsync_sim::{Behaviour, Link, Scenario, SimPeer};
    let spec = snapsync_sim::StateSpec::small().with_accounts(ACCOUNTS);
    let chain = snapsync_sim::GeneratedChain::new(SEED, &spec, HEAD, 0);
    let pivot = HEAD - SnapSyncConfig::default().pivot.distance;
    let peers = (0..PEERS).map(|seed| SimPeer::new(Link::new(10, 1_000), Behaviour::Honest, seed));
    let scenario = Scenario::new(chain, peers.collect(), [pivot])?;
    println!("[demo] {PEERS} simulated peers, head {HEAD}, pivot {pivot}");
    Ok((Arc::new(MyNetwork { handle: scenario.network.clone() }), scenario.tip()))
}
