//! The headers and bodies stages in the pipeline, against simulated peers serving the real hive
//! chain (`geth-hive/chain.rlp`, 600 blocks with typed and blob transactions and withdrawals):
//! from a pivot and from block 1, with hostile peers, resumed after a stop, following a new tip,
//! and failing clearly when every peer is bad. (Resolving the pivot itself is tested in
//! `snapsync-snap-sync`, which owns it.)

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use snapsync_chain_stages::{BodiesConfig, BodiesStage, HeadersConfig, HeadersStage, verify_body};
use snapsync_db::test_utils::{memory_db, redb_db};
use snapsync_db::{Bodies, Database, HeaderNumbers, Headers, TableRead};
use snapsync_fetch::{FetchConfig, Fetcher, PeerSet, PeerSetConfig};
use snapsync_net::{BodiesFault, EthBlockBody, Fault, HeadersFault, PeerId, Penalty, RequestKind};
use snapsync_primitives::test_utils::require_fixture;
use snapsync_sim::ChainFixture;
use snapsync_sim::{Behaviour, Link, SimNetwork};
use snapsync_stages::{Pipeline, PipelineError, PipelineEvent, RetryPolicy, StageId, StageSet};
use std::{sync::Arc, time::Duration};
use tokio::{sync::watch, time::Instant};

fn fixture(test: &str) -> Option<Arc<ChainFixture>> {
    let path = require_fixture(test, "geth-hive/chain.rlp")?;
    Some(Arc::new(ChainFixture::load(path).unwrap()))
}

fn network(chain: &Arc<ChainFixture>, behaviours: &[Behaviour]) -> Arc<SimNetwork> {
    Arc::new(SimNetwork::serving_blocks(chain.clone(), Link::new(50, 100), behaviours))
}

/// The longest a request waits for its peer (the stages' former per-request timeout).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The fetcher the stages share, timing requests out after [`TIMEOUT`] at the latest.
fn fetcher(net: &Arc<SimNetwork>) -> Arc<Fetcher> {
    let config = PeerSetConfig { timeout_max: TIMEOUT, ..PeerSetConfig::default() };
    let peers = PeerSet::new(config).unwrap();
    Arc::new(Fetcher::new(net.clone(), peers, FetchConfig::default()))
}

fn honest(count: usize) -> Vec<Behaviour> {
    vec![Behaviour::Honest; count]
}

fn tip_of(chain: &ChainFixture, number: u64) -> B256 {
    chain.header(number).unwrap().hash()
}

/// A pipeline of the headers and bodies stages.
fn pipeline(
    db: &Arc<dyn Database>,
    net: &Arc<SimNetwork>,
    tip: watch::Receiver<B256>,
    headers: HeadersConfig,
) -> Pipeline<dyn Database> {
    let fetcher = fetcher(net);
    let stages = StageSet::builder()
        .add(HeadersStage::new(fetcher.clone(), tip, headers))
        .unwrap()
        .add(BodiesStage::new(fetcher, BodiesConfig::default()))
        .unwrap()
        .build();
    let retry = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };
    Pipeline::new(db.clone(), stages).with_retry_policy(retry)
}

/// Blocks `from..=to` are stored with the fixture's headers and bodies, and nothing else is.
fn assert_chain_stored(db: &dyn Database, chain: &ChainFixture, from: u64, to: u64) {
    let view = db.view().unwrap();
    for number in from..=to {
        let expected = chain.header(number).unwrap();
        let rlp =
            view.get::<Headers>(&number).unwrap().unwrap_or_else(|| panic!("header {number}"));
        assert_eq!(
            Header::decode(&mut rlp.as_ref()).unwrap(),
            *expected.inner(),
            "header {number}"
        );
        assert_eq!(view.get::<HeaderNumbers>(&expected.hash()).unwrap(), Some(number));
        let body = view.get::<Bodies>(&number).unwrap().unwrap_or_else(|| panic!("body {number}"));
        let body = EthBlockBody::decode(&mut body.as_ref()).unwrap();
        assert_eq!(&body, chain.body(number).unwrap(), "body {number}");
        verify_body(expected.inner(), &body).unwrap();
    }
    let headers: Vec<u64> = view.iter::<Headers>().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(headers, (from..=to).collect::<Vec<_>>());
    let bodies: Vec<u64> = view.iter::<Bodies>().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(bodies, (from..=to).collect::<Vec<_>>());
}

/// Runs `pipeline` until it has committed `steps` steps, then stops polling it (between steps).
async fn run_until_steps(pipeline: &mut Pipeline<dyn Database>, steps: usize) {
    let mut events = pipeline.subscribe();
    let committed = async {
        let mut seen = 0;
        while seen < steps {
            if let Ok(PipelineEvent::StageProgress { .. }) = events.recv().await {
                seen += 1;
            }
        }
    };
    tokio::select! {
        result = pipeline.run(None) => panic!("finished before the stop: {result:?}"),
        () = committed => {}
    }
}

fn checkpoint(pipeline: &Pipeline<dyn Database>, id: &StageId) -> u64 {
    let checkpoint = pipeline.checkpoint(id).unwrap().unwrap();
    assert!(checkpoint.progress.is_none(), "{id} unfinished: {checkpoint:?}");
    checkpoint.block_number
}

#[tokio::test(start_paused = true)]
async fn syncs_pivot_to_tip() {
    let Some(chain) = fixture("syncs_pivot_to_tip") else { return };
    let test_db = memory_db();
    let net = network(&chain, &honest(3));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(536));
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 536, 600);
    assert_eq!(checkpoint(&pipeline, &StageId::HEADERS), 600);
    assert_eq!(checkpoint(&pipeline, &StageId::BODIES), 600);
    // One headers request (65 < 512) and one bodies request (65 < 128).
    assert_eq!(net.requests(), 2);
    assert!(net.reports().is_empty());
}

#[tokio::test(start_paused = true)]
async fn syncs_from_block_one_on_redb() {
    let Some(chain) = fixture("syncs_from_block_one_on_redb") else { return };
    let test_db = redb_db();
    let net = network(&chain, &honest(2));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(1));
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 1, 600);
    // Headers: 512 + 88; bodies: 5 × 128 (the last 88).
    assert_eq!(net.requests(), 2 + 5);
    // A second run with the same tip is done at once.
    pipeline.run(None).await.unwrap();
    assert_eq!(net.requests(), 7);
}

#[tokio::test(start_paused = true)]
async fn hostile_peers_are_penalised_and_routed_around() {
    let Some(chain) = fixture("hostile_peers_are_penalised_and_routed_around") else { return };
    let test_db = memory_db();
    let behaviours = [
        Behaviour::BrokenLink,
        Behaviour::Stall,
        Behaviour::Honest,
        Behaviour::BadBody,
        Behaviour::Honest,
    ];
    let net = network(&chain, &behaviours);
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let config = HeadersConfig { batch_size: 100, ..HeadersConfig::new(1) };
    let mut pipeline = pipeline(&test_db.db, &net, tip, config);
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 1, 600);
    // The stalled requests, taken over by hedges, run on to their own deadline and time out
    // there (time is paused: this waits for nothing else).
    tokio::time::sleep(PeerSetConfig::DEFAULT_TIMEOUT_MAX).await;

    // Each hostile peer is reported once, with the typed fault of its own request kind, and
    // banned (never asked again).
    let broken = net.penalties_of(PeerId::from_index(0));
    assert!(
        matches!(
            broken.as_slice(),
            [Penalty::InvalidData {
                kind: RequestKind::BlockHeaders,
                fault: Fault::Headers(HeadersFault::BrokenLink { .. }),
            }]
        ),
        "{broken:?}"
    );
    assert!(broken[0].to_string().contains("hashes to"), "{}", broken[0]);
    let bad_body = net.penalties_of(PeerId::from_index(3));
    assert!(
        matches!(
            bad_body.as_slice(),
            [Penalty::InvalidData {
                kind: RequestKind::BlockBodies,
                fault: Fault::Bodies(BodiesFault::Mismatch { .. }),
            }]
        ),
        "{bad_body:?}"
    );
    assert!(bad_body[0].to_string().contains("does not match"), "{}", bad_body[0]);
    // The stalling peer is reported for its timeouts (a light penalty), and stays.
    let stalled = net.penalties_of(PeerId::from_index(1));
    assert!(!stalled.is_empty());
    assert!(
        stalled.iter().all(|p| matches!(
            p,
            Penalty::Timeout { kind: RequestKind::BlockHeaders | RequestKind::BlockBodies, .. }
        )),
        "{stalled:?}"
    );
    assert!(net.is_connected(PeerId::from_index(1)));
    assert_eq!(net.timeouts(), stalled.len() as u64);
    for peer in [2, 4] {
        assert!(net.penalties_of(PeerId::from_index(peer)).is_empty(), "peer {peer}");
    }
    assert!(!net.is_connected(PeerId::from_index(0)));
    assert!(!net.is_connected(PeerId::from_index(3)));
}

/// A peer that serves no history (pruned, or `serve --withhold headers,bodies`) answers every
/// headers and bodies request with an empty reply: each such request moves to the other peer,
/// the sync does not stall (it takes about as long as from the honest peer alone), and the
/// peer is only marked as lacking those blocks, never banned or disconnected.
#[tokio::test(start_paused = true)]
async fn a_peer_without_history_is_asked_elsewhere_and_kept() {
    let Some(chain) = fixture("a_peer_without_history_is_asked_elsewhere_and_kept") else {
        return;
    };
    let config = HeadersConfig { batch_size: 100, ..HeadersConfig::new(1) };
    let run = |behaviours: Vec<Behaviour>| {
        let (chain, config) = (chain.clone(), config.clone());
        async move {
            let test_db = memory_db();
            let net = network(&chain, &behaviours);
            let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
            let mut pipeline = pipeline(&test_db.db, &net, tip, config);
            let started = Instant::now();
            pipeline.run(None).await.unwrap();
            assert_chain_stored(&*test_db.db, &chain, 1, 600);
            (net, started.elapsed())
        }
    };
    let (_, alone) = run(honest(1)).await;
    let (net, elapsed) = run(vec![Behaviour::NoHistory, Behaviour::Honest]).await;

    let pruned = PeerId::from_index(0);
    let asked = [RequestKind::BlockHeaders, RequestKind::BlockBodies]
        .map(|kind| net.requests_of(pruned, kind));
    assert!(asked.iter().all(|&n| n > 0), "the pruned peer was asked both kinds: {asked:?}");
    let penalties = net.penalties_of(pruned);
    assert_eq!(penalties.len() as u64, asked.iter().sum::<u64>(), "{penalties:?}");
    assert!(
        penalties.iter().all(|p| matches!(
            p,
            Penalty::Unavailable { kind: RequestKind::BlockHeaders | RequestKind::BlockBodies, .. }
        )),
        "only marked as lacking the blocks: {penalties:?}"
    );
    assert!(net.is_connected(pruned), "not banned");
    assert!(net.penalties_of(PeerId::from_index(1)).is_empty());
    assert_eq!(net.timeouts(), 0);
    // Each empty reply costs about a round trip (50 ms here; the pruned peer, whose empty
    // replies make its link look fast and free, is asked first for each request), never a
    // timeout (10 s).
    let empty = u32::try_from(asked.iter().sum::<u64>()).unwrap();
    let bound = alone + Duration::from_millis(100) * empty;
    assert!(
        elapsed <= bound,
        "{elapsed:?} with the pruned peer, {alone:?} without, {asked:?} asked"
    );
}

#[tokio::test(start_paused = true)]
async fn resumes_without_fetching_again() {
    let Some(chain) = fixture("resumes_without_fetching_again") else { return };
    let test_db = redb_db();
    let net = network(&chain, &honest(2));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let config = HeadersConfig { batch_size: 64, ..HeadersConfig::new(1) };

    let mut first = pipeline(&test_db.db, &net, tip.clone(), config.clone());
    run_until_steps(&mut first, 3).await;
    let stored = first.checkpoint(&StageId::HEADERS).unwrap().unwrap();
    assert_eq!(stored.block_number, 600);
    assert!(stored.progress.is_some());
    drop(first);
    // Three committed requests and at most one in flight when stopped.
    let before = net.requests();
    assert!((3..=4).contains(&before), "{before}");

    let mut second = pipeline(&test_db.db, &net, tip, config);
    second.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 1, 600);
    // 600 headers in ten requests of 64, three done before the stop; five of bodies.
    assert_eq!(net.requests() - before, 7 + 5);
}

#[tokio::test(start_paused = true)]
async fn follows_a_new_tip() {
    let Some(chain) = fixture("follows_a_new_tip") else { return };
    let test_db = memory_db();
    let net = network(&chain, &honest(2));
    let (tip_tx, tip) = watch::channel(tip_of(&chain, 550));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(536));
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 536, 550);

    tip_tx.send(tip_of(&chain, 600)).unwrap();
    let before = net.requests();
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 536, 600);
    assert_eq!(net.requests() - before, 2);
}

#[tokio::test(start_paused = true)]
async fn waits_for_the_first_tip() {
    let Some(chain) = fixture("waits_for_the_first_tip") else { return };
    let test_db = memory_db();
    let net = network(&chain, &honest(1));
    let (tip_tx, tip) = watch::channel(B256::ZERO);
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(590));
    let tip = tip_of(&chain, 600);
    let send_later = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tip_tx.send(tip).unwrap();
    };
    let (result, ()) = tokio::join!(pipeline.run(None), send_later);
    result.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 590, 600);
}

#[tokio::test(start_paused = true)]
async fn all_bad_header_peers_fail_clearly_in_bounded_time() {
    let Some(chain) = fixture("all_bad_header_peers_fail_clearly_in_bounded_time") else {
        return;
    };
    let test_db = memory_db();
    let net = network(&chain, &[Behaviour::BrokenLink, Behaviour::BrokenLink, Behaviour::Stall]);
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(536));
    let started = Instant::now();
    let error = pipeline.run(None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(120), "{:?}", started.elapsed());
    let PipelineError::RetriesExhausted { stage, attempts, source, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!((stage, *attempts), (&StageId::HEADERS, 4));
    assert!(source.to_string().contains("no peer delivered headers"), "{source}");
    assert_eq!(net.penalties_of(PeerId::from_index(0)).len(), 1);
    assert_eq!(net.penalties_of(PeerId::from_index(1)).len(), 1);
    assert!(test_db.db.view().unwrap().first::<Headers>().unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn all_bad_body_peers_fail_clearly_in_bounded_time() {
    let Some(chain) = fixture("all_bad_body_peers_fail_clearly_in_bounded_time") else {
        return;
    };
    let test_db = memory_db();
    let net = network(&chain, &[Behaviour::BadBody, Behaviour::BadBody]);
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(536));
    let started = Instant::now();
    let error = pipeline.run(None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(120), "{:?}", started.elapsed());
    let PipelineError::RetriesExhausted { stage, source, .. } = &error else { panic!("{error}") };
    assert_eq!(stage, &StageId::BODIES);
    assert!(source.to_string().contains("no peer delivered the bodies"), "{source}");
    // The headers were verified and committed. The bodies before each bad peer's corrupted one
    // verified (they are right whoever sent them) and may be stored; nothing past them is.
    assert_eq!(checkpoint(&pipeline, &StageId::HEADERS), 600);
    let view = test_db.db.view().unwrap();
    let stored: Vec<u64> = view.iter::<Bodies>().unwrap().map(|e| e.unwrap().0).collect();
    assert!(stored.len() < 65, "{stored:?}");
    for number in stored {
        let body = view.get::<Bodies>(&number).unwrap().unwrap();
        assert_eq!(&EthBlockBody::decode(&mut body.as_ref()).unwrap(), chain.body(number).unwrap());
    }
    assert_eq!(net.penalties_of(PeerId::from_index(0)).len(), 1);
    assert_eq!(net.penalties_of(PeerId::from_index(1)).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn unwind_removes_blocks_above_and_sync_refills_them() {
    let Some(chain) = fixture("unwind_removes_blocks_above_and_sync_refills_them") else {
        return;
    };
    let test_db = memory_db();
    let net = network(&chain, &honest(2));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let mut pipeline = pipeline(&test_db.db, &net, tip, HeadersConfig::new(536));
    pipeline.run(None).await.unwrap();
    pipeline.unwind_to(570).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 536, 570);
    assert_eq!(checkpoint(&pipeline, &StageId::HEADERS), 570);
    assert_eq!(checkpoint(&pipeline, &StageId::BODIES), 570);
    let view = test_db.db.view().unwrap();
    assert_eq!(view.get::<HeaderNumbers>(&tip_of(&chain, 571)).unwrap(), None);
    drop(view);
    pipeline.run(None).await.unwrap();
    assert_chain_stored(&*test_db.db, &chain, 536, 600);
}

#[tokio::test(start_paused = true)]
async fn a_damaged_stored_header_is_a_local_error_and_no_peer_is_blamed() {
    let Some(chain) = fixture("a_damaged_stored_header_is_a_local_error_and_no_peer_is_blamed")
    else {
        return;
    };
    let test_db = memory_db();
    let net = network(&chain, &honest(2));
    let (_tip_tx, tip) = watch::channel(tip_of(&chain, 600));
    let config = HeadersConfig { batch_size: 64, ..HeadersConfig::new(1) };
    let mut first = pipeline(&test_db.db, &net, tip.clone(), config.clone());
    run_until_steps(&mut first, 2).await;
    drop(first);
    // The lowest stored header (the round resumes below it) changes on disk, still decodable.
    let lowest = 600 - 2 * 64 + 1;
    let mut header = chain.header(lowest).unwrap().inner().clone();
    header.gas_used ^= 1;
    let mut txn = test_db.db.write().unwrap();
    txn.put::<Headers>(&lowest, &alloy_rlp::encode(&header).into()).unwrap();
    txn.commit().unwrap();

    let mut second = pipeline(&test_db.db, &net, tip, config);
    let error = second.run(None).await.unwrap_err();
    assert!(error.is_local(), "{error}");
    assert!(error.to_string().contains("the stored chain is damaged"), "{error}");
    assert!(net.reports().is_empty(), "peers blamed: {:?}", net.reports());
}
