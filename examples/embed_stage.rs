//! An execution client embedding snapsync (`cargo run --release --example embed_stage`): its own
//! network, the default stages and one of its own in a pipeline over its store; docs/embedding.md.
#![allow(unused_crate_dependencies)] // given every dependency of the package; .ci/check-dev-deps

use snapsync::DefaultStages;
use snapsync::db::{RedbDatabase, RedbOptions};
use snapsync::net::{PeerId, PeerInfo, PeerRequests, PeerSource, Penalty, Request, ResponseFuture};
use snapsync::snap_sync::{SNAP_SYNC, SnapSyncConfig, stored_summary};
use snapsync::stages::{Command, ExecInput, ExecOutput, Pipeline, Stage};
use snapsync::stages::{StageCheckpoint, StageError, StageId, UnwindInput, UnwindOutput};
use snapsync::storage::{StateStore, StateWrite, compute_state_root};
use snapsync_sim::{Scenario, SimNetwork};
use std::{error::Error, sync::Arc};
use tokio::{sync::mpsc, sync::watch, time::Instant};

/// The client's network: lists its peers, relays verdicts, sends one message to one peer.
struct MyNetwork(Arc<SimNetwork>); // in a real client: its devp2p handle

impl PeerSource for MyNetwork {
    fn peers(&self) -> Vec<PeerInfo> {
        self.0.peers() // each with its head and eth/snap capabilities
    }
    fn report(&self, peer: PeerId, penalty: Penalty) {
        self.0.report(peer, penalty); // feeds the client's reputation system
    }
}

impl PeerRequests for MyNetwork {
    fn request(&self, peer: PeerId, request: Request, by: Instant) -> ResponseFuture<'_> {
        self.0.request(peer, request, by) // a real client sends the eth or snap message
    }
}

/// The client's own stage: records the synced root with its checkpoint, on any store.
struct LogPivot;

impl<S: StateStore + ?Sized> Stage<S> for LogPivot {
    fn id(&self) -> StageId {
        StageId::new("LogPivot")
    }
    fn execute(&mut self, txn: &mut S::Writer, _: ExecInput) -> Result<ExecOutput, StageError> {
        let pivot = stored_summary(txn)?.ok_or_else(|| StageError::fatal("no snap sync"))?.pivot;
        txn.set_progress("LogPivot", &pivot.state_root.to_vec().into())?;
        Ok(ExecOutput::done(StageCheckpoint::new(pivot.number)))
    }
    fn unwind(&mut self, txn: &mut S::Writer, at: UnwindInput) -> Result<UnwindOutput, StageError> {
        txn.delete_progress("LogPivot")?;
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(at.unwind_to) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = SnapSyncConfig::default(); // or SnapSyncConfig::load(path) from TOML
    let demo = Scenario::demo(config.pivot.distance)?; // simulated peers, a generated chain
    let network = Arc::new(MyNetwork(demo.network.clone()));
    let datadir = tempfile::tempdir()?; // the client's datadir and database
    let db = Arc::new(RedbDatabase::open(datadir.path().join("db"), RedbOptions::default())?);
    let (_tip_tx, tip) = watch::channel(demo.tip()); // forkchoice head (ZERO: none yet, wait)
    let stages = DefaultStages::new(network, tip, config, datadir.path())?;
    let stages = stages.builder()?.insert_after(&SNAP_SYNC, LogPivot)?.build();
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    let mut events = pipeline.subscribe(); // the client's log
    let log = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            println!("[pipeline] {event}");
        }
    });
    let _shutdown = pipeline.cancel_token(); // the shutdown handler calls `_shutdown.cancel()`
    let (commands, mut control) = mpsc::channel(1); // after each pass: Continue, Unwind or Stop
    commands.send(Command::Stop).await?; // one head in this demo: stop after the first pass
    assert!(!pipeline.run_loop(None, &mut control).await?.is_cancelled()); // else: shut down
    drop(pipeline); // closes the event channel
    log.await?;
    let view = db.reader()?; // the synced state, read through the storage seam
    let pivot = stored_summary(&view)?.filter(|s| s.is_done()).ok_or("not synced")?.pivot;
    assert_eq!(compute_state_root(&view)?.state_root, pivot.state_root);
    println!("verified state root {} at block {}", pivot.state_root, pivot.number);
    Ok(())
}
