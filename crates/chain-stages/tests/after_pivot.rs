//! The default pipeline's order: a snap sync stage finishes at a pivot and stores its header, then
//! the headers, bodies and execution stages, configured to start after it, download and execute
//! pivot + 1 up to the tip from simulated peers serving a generated chain. The snap sync stage is
//! a stand-in that only commits the pivot's checkpoint and header. Also: the fatal errors when it
//! has not finished or did not store the header, and a stored pivot header the chain does not
//! link to.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Decodable;
use snapsync_chain_stages::{
    BlockExecutor, BodiesConfig, BodiesStage, ExecutionConfig, ExecutionStage, ExecutorError,
    HeadersConfig, HeadersStage, StoredBlock,
};
use snapsync_db::test_utils::memory_db;
use snapsync_db::{Bodies, Database, HeaderNumbers, Headers, StageCheckpoints, TableRead};
use snapsync_fetch::{FetchConfig, Fetcher, PeerSet, PeerSetConfig};
use snapsync_net::EthBlockBody;
use snapsync_sim::{Behaviour, Link, SimNetwork};
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_stages::{
    EntitiesCheckpoint, ExecInput, ExecOutput, Pipeline, PipelineError, RetryPolicy, Stage,
    StageCheckpoint, StageError, StageId, StageProgress, StageSet, UnwindInput, UnwindOutput,
};
use snapsync_storage::{StateStore, StateWrite};
use std::{
    ops::RangeInclusive,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::watch;

/// The id of the snap sync stand-in (the real stage's id, `snapsync_snap_sync::SNAP_SYNC`).
const SNAP: StageId = StageId::new("SnapSync");

/// The chain's head.
const HEAD: u64 = 40;
/// Where the stand-in snap sync stage finishes.
const PIVOT: u64 = 30;

/// What the stand-in snap sync stage stores as the pivot's header.
enum PivotHeader {
    /// The chain's header.
    Canonical,
    /// A header of the same number that the chain does not link to.
    Foreign(Box<Header>),
    /// None.
    Missing,
}

/// Finishes at once at `pivot`, storing the pivot header as the snap sync stage does.
struct SnapStandIn {
    chain: Arc<GeneratedChain>,
    pivot: u64,
    header: PivotHeader,
}

impl<S: StateStore + ?Sized> Stage<S> for SnapStandIn {
    fn id(&self) -> StageId {
        SNAP
    }

    fn execute(&mut self, txn: &mut S::Writer, input: ExecInput) -> Result<ExecOutput, StageError> {
        if let Some(checkpoint) = input.checkpoint {
            return Ok(ExecOutput::done(checkpoint));
        }
        let header = match &self.header {
            PivotHeader::Canonical => Some(self.chain.header(self.pivot).unwrap().inner().clone()),
            PivotHeader::Foreign(header) => Some((**header).clone()),
            PivotHeader::Missing => None,
        };
        if let Some(header) = header {
            let rlp = Bytes::from(alloy_rlp::encode(&header));
            txn.put_header(self.pivot, &header.hash_slow(), &rlp)?;
        }
        Ok(ExecOutput::done(StageCheckpoint::new(self.pivot)))
    }

    fn unwind(
        &mut self,
        _: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}

/// Records the blocks it executes, checking each against the chain.
struct Recorder {
    chain: Arc<GeneratedChain>,
    executed: Arc<Mutex<Vec<u64>>>,
}

impl<W: StateWrite + ?Sized> BlockExecutor<W> for Recorder {
    fn execute(&mut self, _: &mut W, block: &StoredBlock) -> Result<(), ExecutorError> {
        let number = block.number();
        assert_eq!(block.hash(), self.chain.header(number).unwrap().hash(), "block {number}");
        assert_eq!(block.body, self.chain.body(number).unwrap(), "body {number}");
        self.executed.lock().unwrap().push(number);
        Ok(())
    }

    fn unwind(&mut self, _: &mut W, _: RangeInclusive<u64>) -> Result<(), ExecutorError> {
        Ok(())
    }
}

fn chain() -> Arc<GeneratedChain> {
    Arc::new(GeneratedChain::new(5, &StateSpec::small().with_accounts(50), HEAD, 0))
}

fn network(chain: &Arc<GeneratedChain>) -> Arc<SimNetwork> {
    let honest = [Behaviour::Honest, Behaviour::Honest];
    Arc::new(SimNetwork::serving_blocks(chain.clone(), Link::new(50, 100), &honest))
}

fn tip_of(chain: &GeneratedChain, number: u64) -> B256 {
    chain.header(number).unwrap().hash()
}

/// Snap sync (stand-in, if given), headers, bodies and execution, the last three starting after
/// snap sync.
fn pipeline(
    db: &Arc<dyn Database>,
    net: &Arc<SimNetwork>,
    chain: &Arc<GeneratedChain>,
    tip: watch::Receiver<B256>,
    snap: Option<SnapStandIn>,
    executed: &Arc<Mutex<Vec<u64>>>,
) -> Pipeline<dyn Database> {
    let mut stages = StageSet::builder();
    if let Some(snap) = snap {
        stages = stages.add(snap).unwrap();
    }
    let headers = HeadersConfig { batch_size: 4, ..HeadersConfig::after_stage(SNAP) };
    let bodies = BodiesConfig { batch_size: 4, ..BodiesConfig::after_stage(SNAP) };
    let recorder = Recorder { chain: chain.clone(), executed: executed.clone() };
    // One fetcher, as in the default pipeline, where it is the snap sync stage's.
    let fetcher = Arc::new(Fetcher::new(
        net.clone(),
        PeerSet::new(PeerSetConfig::default()).unwrap(),
        FetchConfig::default(),
    ));
    let stages = stages
        .add(HeadersStage::new(fetcher.clone(), tip, headers))
        .unwrap()
        .add(BodiesStage::new(fetcher, bodies))
        .unwrap()
        .add(ExecutionStage::new(recorder, ExecutionConfig::after_stage(SNAP)))
        .unwrap()
        .build();
    let retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };
    Pipeline::new(db.clone(), stages).with_retry_policy(retry)
}

fn setup() -> (Arc<GeneratedChain>, Arc<SimNetwork>, Arc<dyn Database>) {
    let chain = chain();
    let net = network(&chain);
    (chain, net, memory_db().db)
}

fn stand_in(chain: &Arc<GeneratedChain>, header: PivotHeader) -> Option<SnapStandIn> {
    Some(SnapStandIn { chain: chain.clone(), pivot: PIVOT, header })
}

/// Headers `PIVOT..=to` and bodies `PIVOT + 1..=to` are the chain's, and nothing else is stored.
fn assert_stored(db: &dyn Database, chain: &GeneratedChain, to: u64) {
    let view = db.view().unwrap();
    for number in PIVOT..=to {
        let expected = chain.header(number).unwrap();
        let rlp = view.get::<Headers>(&number).unwrap().unwrap();
        assert_eq!(Header::decode(&mut rlp.as_ref()).unwrap(), *expected.inner(), "{number}");
        assert_eq!(view.get::<HeaderNumbers>(&expected.hash()).unwrap(), Some(number));
    }
    for number in PIVOT + 1..=to {
        let rlp = view.get::<Bodies>(&number).unwrap().unwrap();
        let body = EthBlockBody::decode(&mut rlp.as_ref()).unwrap();
        assert_eq!(body, chain.body(number).unwrap(), "body {number}");
    }
    let headers: Vec<u64> = view.iter::<Headers>().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(headers, (PIVOT..=to).collect::<Vec<_>>());
    let bodies: Vec<u64> = view.iter::<Bodies>().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(bodies, (PIVOT + 1..=to).collect::<Vec<_>>());
}

fn finished_at(pipeline: &Pipeline<dyn Database>, id: &StageId) -> u64 {
    let checkpoint = pipeline.checkpoint(id).unwrap().unwrap();
    assert!(checkpoint.progress.is_none(), "{id}: {checkpoint:?}");
    checkpoint.block_number
}

#[tokio::test(start_paused = true)]
async fn syncs_and_executes_from_the_pivot_to_the_tip() {
    let (chain, net, db) = setup();
    let executed = Arc::new(Mutex::new(Vec::new()));
    let (tip_tx, tip) = watch::channel(tip_of(&chain, 35));
    let snap = stand_in(&chain, PivotHeader::Canonical);
    let mut pipeline = pipeline(&db, &net, &chain, tip, snap, &executed);
    pipeline.run(None).await.unwrap();
    assert_stored(&*db, &chain, 35);
    assert_eq!(*executed.lock().unwrap(), (PIVOT + 1..=35).collect::<Vec<_>>());
    for id in [SNAP, StageId::HEADERS, StageId::BODIES, StageId::EXECUTION] {
        let expected = if id == SNAP { PIVOT } else { 35 };
        assert_eq!(finished_at(&pipeline, &id), expected, "{id}");
    }
    // Five headers in two requests of four; five bodies in two.
    assert_eq!(net.requests(), 4);

    // A new tip: a new round above the checkpoints, linked to the stored header 35.
    tip_tx.send(tip_of(&chain, HEAD)).unwrap();
    pipeline.run(None).await.unwrap();
    assert_stored(&*db, &chain, HEAD);
    assert_eq!(*executed.lock().unwrap(), (PIVOT + 1..=HEAD).collect::<Vec<_>>());
    assert_eq!(net.requests(), 4 + 4);
    assert!(net.reports().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_tip_at_the_pivot_leaves_nothing_to_do() {
    let (chain, net, db) = setup();
    let executed = Arc::new(Mutex::new(Vec::new()));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, PIVOT));
    let snap = stand_in(&chain, PivotHeader::Canonical);
    let mut pipeline = pipeline(&db, &net, &chain, tip, snap, &executed);
    pipeline.run(None).await.unwrap();
    assert_stored(&*db, &chain, PIVOT);
    for id in [StageId::HEADERS, StageId::BODIES, StageId::EXECUTION] {
        assert_eq!(finished_at(&pipeline, &id), PIVOT, "{id}");
    }
    assert_eq!(net.requests(), 0);
    assert!(executed.lock().unwrap().is_empty());
}

/// The headers stage's fatal error, with nothing downloaded or stored by it.
async fn headers_failure(
    chain: &Arc<GeneratedChain>,
    db: &Arc<dyn Database>,
    snap: Option<SnapStandIn>,
) -> String {
    let net = network(chain);
    let executed = Arc::new(Mutex::new(Vec::new()));
    let (_tip_tx, tip) = watch::channel(tip_of(chain, HEAD));
    let error = pipeline(db, &net, chain, tip, snap, &executed).run(None).await.unwrap_err();
    let PipelineError::Fatal { stage, source, .. } = &error else { panic!("{error}") };
    assert_eq!(stage, &StageId::HEADERS);
    assert!(matches!(source.as_ref(), StageError::Fatal { .. }), "{source}");
    assert!(executed.lock().unwrap().is_empty());
    source.to_string()
}

#[tokio::test(start_paused = true)]
async fn an_unfinished_snap_sync_is_a_fatal_ordering_error() {
    let (chain, _net, db) = setup();
    // No snap sync stage has run.
    let message = headers_failure(&chain, &db, None).await;
    assert!(message.contains("stage SnapSync has no checkpoint"), "{message}");

    // Snap sync is mid-way (its checkpoint has progress).
    let progress = StageProgress::Entities(EntitiesCheckpoint { processed: 3, total: 9 });
    let checkpoint = StageCheckpoint::new(PIVOT).with_progress(progress);
    let mut txn = db.write().unwrap();
    let key = SNAP.to_string();
    txn.put::<StageCheckpoints>(&key, &Bytes::from(checkpoint.encode())).unwrap();
    txn.commit().unwrap();
    let message = headers_failure(&chain, &db, None).await;
    assert!(message.contains("stage SnapSync has not finished"), "{message}");
    assert!(message.contains(&format!("block {PIVOT}")), "{message}");
    let view = db.view().unwrap();
    assert!(view.first::<Headers>().unwrap().is_none());
    assert!(view.get::<StageCheckpoints>(&StageId::HEADERS.to_string()).unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_missing_pivot_header_is_fatal() {
    let (chain, _net, db) = setup();
    let message = headers_failure(&chain, &db, stand_in(&chain, PivotHeader::Missing)).await;
    assert!(message.contains(&format!("header {PIVOT} is not stored")), "{message}");
    assert!(db.view().unwrap().first::<Headers>().unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn the_downloaded_chain_must_link_to_the_pivot_header() {
    let (chain, _net, db) = setup();
    let mut foreign = chain.header(PIVOT).unwrap().inner().clone();
    foreign.extra_data = Bytes::from_static(b"another chain");
    let message =
        headers_failure(&chain, &db, stand_in(&chain, PivotHeader::Foreign(Box::new(foreign))))
            .await;
    assert!(message.contains(&format!("not the stored block {PIVOT}'s hash")), "{message}");
    // The round's last step (31..=32, which reached the pivot) was dropped; the two before it
    // are committed, and the checkpoint says the round is unfinished.
    let view = db.view().unwrap();
    let headers: Vec<u64> = view.iter::<Headers>().unwrap().map(|e| e.unwrap().0).collect();
    let mut expected = vec![PIVOT];
    expected.extend(33..=HEAD);
    assert_eq!(headers, expected);
    let key = StageId::HEADERS.to_string();
    let checkpoint =
        StageCheckpoint::decode(&view.get::<StageCheckpoints>(&key).unwrap().unwrap()).unwrap();
    let progress = StageProgress::Entities(EntitiesCheckpoint { processed: 8, total: 10 });
    assert_eq!(checkpoint, StageCheckpoint::new(HEAD).with_progress(progress));
}
