//! The receipts stage in a pipeline with the headers stage, against simulated peers serving a
//! chain whose blocks have receipts (built here: the hive fixture has none): every block's
//! receipts stored as its header commits to them, a peer sending altered receipts penalised and
//! routed around, all-bad peers failing clearly, an unwind removing receipts above its block
//! and a new run refilling them, and the end bounded by another stage's block.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Eip658Value, Header, Receipt, ReceiptWithBloom,
    proofs::calculate_receipt_root,
};
use alloy_primitives::{Address, B256, Bytes, Log, LogData, Sealable, Sealed};
use alloy_rlp::Decodable;
use snapsync_chain_stages::{
    BlockDataConfig, BlockDataEnd, HeadersConfig, HeadersStage, ReceiptsStage, StageStart,
};
use snapsync_db::Database;
use snapsync_db::test_utils::memory_db;
use snapsync_fetch::{FetchConfig, Fetcher, PeerSet, PeerSetConfig};
use snapsync_net::{EthBlockBody, EthReceipt, Fault, PeerId, Penalty, ReceiptsFault};
use snapsync_sim::{Behaviour, BlockSource, Link, SimNetwork};
use snapsync_stages::{
    Pipeline, PipelineError, RetryPolicy, StageCheckpoint, StageId, StageProgress, StageSet,
};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::watch;

/// A chain of empty-bodied blocks 0..=`len` whose headers commit to generated receipts.
struct ReceiptChain {
    headers: Vec<Sealed<Header>>,
    receipts: Vec<Vec<EthReceipt>>,
    numbers: HashMap<B256, u64>,
}

fn receipt(block: u64, index: u64) -> EthReceipt {
    let byte = u8::try_from((block * 7 + index) % 251).unwrap();
    let log = Log {
        address: Address::repeat_byte(byte),
        data: LogData::new_unchecked(vec![B256::repeat_byte(byte)], Bytes::from(vec![byte; 3])),
    };
    let receipt = Receipt {
        status: Eip658Value::Eip658(!index.is_multiple_of(3)),
        cumulative_gas_used: 21_000 * (index + 1),
        logs: vec![log],
    };
    let with_bloom = ReceiptWithBloom::from(receipt);
    if index.is_multiple_of(2) {
        EthReceipt::Eip1559(with_bloom)
    } else {
        EthReceipt::Legacy(with_bloom)
    }
}

impl ReceiptChain {
    fn new(len: u64) -> Self {
        let (mut headers, mut receipts, mut numbers) = (Vec::new(), Vec::new(), HashMap::new());
        let mut parent = B256::ZERO;
        for number in 0..=len {
            let block: Vec<_> = (0..number % 4).map(|index| receipt(number, index)).collect();
            let header = Header {
                number,
                parent_hash: parent,
                ommers_hash: EMPTY_OMMER_ROOT_HASH,
                transactions_root: EMPTY_ROOT_HASH,
                receipts_root: calculate_receipt_root(&block),
                ..Header::default()
            }
            .seal_slow();
            parent = header.hash();
            numbers.insert(header.hash(), number);
            headers.push(header);
            receipts.push(block);
        }
        Self { headers, receipts, numbers }
    }

    fn tip(&self) -> B256 {
        self.headers.last().unwrap().hash()
    }
}

impl BlockSource for ReceiptChain {
    fn header_by_number(&self, number: u64) -> Option<Header> {
        self.headers.get(usize::try_from(number).ok()?).map(|h| h.inner().clone())
    }

    fn number_of(&self, hash: B256) -> Option<u64> {
        self.numbers.get(&hash).copied()
    }

    fn body_by_hash(&self, hash: B256) -> Option<EthBlockBody> {
        self.number_of(hash).map(|_| EthBlockBody::default())
    }

    fn receipts_by_hash(&self, hash: B256) -> Option<Vec<EthReceipt>> {
        self.receipts.get(usize::try_from(self.number_of(hash)?).ok()?).cloned()
    }
}

fn network(chain: &Arc<ReceiptChain>, behaviours: &[Behaviour]) -> Arc<SimNetwork> {
    Arc::new(SimNetwork::serving_blocks(chain.clone(), Link::new(50, 100), behaviours))
}

fn pipeline(
    db: &Arc<dyn Database>,
    net: &Arc<SimNetwork>,
    tip: B256,
    receipts: BlockDataConfig,
) -> Pipeline<dyn Database> {
    let config = PeerSetConfig { timeout_max: Duration::from_secs(10), ..PeerSetConfig::default() };
    let fetcher =
        Arc::new(Fetcher::new(net.clone(), PeerSet::new(config).unwrap(), FetchConfig::default()));
    let (tip_tx, tip) = watch::channel(tip);
    // The tip never changes in these tests; the sender may go.
    drop(tip_tx);
    let stages = StageSet::builder()
        .add(HeadersStage::new(fetcher.clone(), tip, HeadersConfig::new(1)))
        .unwrap()
        .add(ReceiptsStage::new(fetcher, receipts))
        .unwrap()
        .build();
    let retry = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };
    Pipeline::new(db.clone(), stages).with_retry_policy(retry)
}

fn from_block_one(batch_size: u64) -> BlockDataConfig {
    BlockDataConfig { start: StageStart::Block(1), batch_size, ..BlockDataConfig::default() }
}

/// The blocks with stored receipts, each checked to be the chain's.
fn stored_receipts(db: &Arc<dyn Database>, chain: &ReceiptChain) -> Vec<u64> {
    let view = StateStore::reader(&**db).unwrap();
    let mut numbers = Vec::new();
    for entry in view.block_receipts_range(KeyRange::all()).unwrap() {
        let (number, rlp) = entry.unwrap();
        let decoded = Vec::<EthReceipt>::decode(&mut rlp.as_ref()).unwrap();
        assert_eq!(decoded, chain.receipts[usize::try_from(number).unwrap()], "block {number}");
        numbers.push(number);
    }
    numbers
}

#[tokio::test(start_paused = true)]
async fn every_blocks_receipts_are_stored_and_a_lying_peer_is_routed_around() {
    let chain = Arc::new(ReceiptChain::new(60));
    let db = memory_db().db;
    let net = network(&chain, &[Behaviour::BadBody, Behaviour::Honest, Behaviour::BadBody]);
    let mut pipeline = pipeline(&db, &net, chain.tip(), from_block_one(8));
    pipeline.run(None).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=60).collect::<Vec<_>>());
    // Each liar that was asked was reported for receipts that do not make the root; the honest
    // peer never.
    assert!(net.penalties_of(PeerId::from_index(1)).is_empty());
    for liar in [0, 2] {
        for penalty in net.penalties_of(PeerId::from_index(liar)) {
            assert!(
                matches!(
                    penalty,
                    Penalty::InvalidData {
                        fault: Fault::Receipts(ReceiptsFault::Mismatch { .. }),
                        ..
                    }
                ),
                "{penalty:?}"
            );
        }
    }
    let reported: usize =
        [0, 2].iter().map(|&liar| net.penalties_of(PeerId::from_index(liar)).len()).sum();
    assert!(reported >= 1, "no liar was asked in 8 batches");
}

/// A peer that serves no history (pruned, or `serve --withhold receipts`) answers every
/// receipts request with an empty reply: each moves to the other peer, and the peer is only
/// marked as lacking those receipts, never banned.
#[tokio::test(start_paused = true)]
async fn a_peer_without_receipts_is_asked_elsewhere_and_kept() {
    let chain = Arc::new(ReceiptChain::new(60));
    let db = memory_db().db;
    let net = network(&chain, &[Behaviour::NoHistory, Behaviour::Honest]);
    let mut pipeline = pipeline(&db, &net, chain.tip(), from_block_one(8));
    let started = tokio::time::Instant::now();
    pipeline.run(None).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(stored_receipts(&db, &chain), (1..=60).collect::<Vec<_>>());
    let pruned = PeerId::from_index(0);
    let asked = net.requests_of(pruned, snapsync_net::RequestKind::Receipts);
    assert!(asked > 0, "the pruned peer was asked for receipts");
    let penalties = net.penalties_of(pruned);
    assert!(
        penalties.iter().all(|p| matches!(p, Penalty::Unavailable { .. })),
        "only marked as lacking: {penalties:?}"
    );
    assert!(net.is_connected(pruned), "not banned");
    assert!(net.penalties_of(PeerId::from_index(1)).is_empty());
    // Round trips of 50 ms, no timeout (10 s here) waited out.
    assert_eq!(net.timeouts(), 0);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn with_only_lying_peers_nothing_wrong_is_stored_and_the_stage_fails_clearly() {
    let chain = Arc::new(ReceiptChain::new(30));
    let db = memory_db().db;
    let net = network(&chain, &[Behaviour::BadBody, Behaviour::BadBody]);
    let mut pipeline = pipeline(&db, &net, chain.tip(), from_block_one(30));
    let error = pipeline.run(None).await.unwrap_err();
    let PipelineError::RetriesExhausted { stage, source, .. } = &error else { panic!("{error}") };
    assert_eq!(stage, &StageId::RECEIPTS);
    assert!(source.to_string().contains("no peer delivered the receipts"), "{source}");
    // What is stored (the verified prefixes before each corrupted block) is the chain's.
    assert!(stored_receipts(&db, &chain).len() < 30);
}

#[tokio::test(start_paused = true)]
async fn an_unwind_removes_receipts_above_and_a_new_run_refills_them() {
    let chain = Arc::new(ReceiptChain::new(40));
    let db = memory_db().db;
    let net = network(&chain, &[Behaviour::Honest]);
    let mut pipeline = pipeline(&db, &net, chain.tip(), from_block_one(16));
    pipeline.run(None).await.unwrap();
    pipeline.unwind_to(25).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=25).collect::<Vec<_>>());
    pipeline.run(None).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=40).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn the_end_is_another_stages_block() {
    let chain = Arc::new(ReceiptChain::new(40));
    let db = memory_db().db;
    // A stage (here written by hand: the snap sync pivot in the default pipeline) finished at 17.
    let pivot = StageId::new("Pivot");
    let mut txn = StateStore::writer(&*db).unwrap();
    txn.set_checkpoint(pivot.as_str(), &StageCheckpoint::new(17).encode().into()).unwrap();
    txn.commit().unwrap();
    let net = network(&chain, &[Behaviour::Honest]);
    let config = BlockDataConfig { end: BlockDataEnd::AtStage(pivot), ..from_block_one(8) };
    let mut pipeline = pipeline(&db, &net, chain.tip(), config);
    pipeline.run(None).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=17).collect::<Vec<_>>());
}

/// Receipts alongside a stage still running (the snap sync stage in the default pipeline): up to
/// the block it has committed so far, nothing before it has one, the rest once it has finished.
#[tokio::test(start_paused = true)]
async fn the_end_follows_another_stage_while_it_runs() {
    let chain = Arc::new(ReceiptChain::new(40));
    let db = memory_db().db;
    let pivot = StageId::new("Pivot");
    let set_pivot = |checkpoint: StageCheckpoint| {
        let mut txn = StateStore::writer(&*db).unwrap();
        txn.set_checkpoint(pivot.as_str(), &checkpoint.encode().into()).unwrap();
        txn.commit().unwrap();
    };
    let net = network(&chain, &[Behaviour::Honest]);
    let config = BlockDataConfig { end: BlockDataEnd::AtStage(pivot.clone()), ..from_block_one(8) };
    let mut pipeline = pipeline(&db, &net, chain.tip(), config);

    // No block committed yet (no checkpoint, then block 0): nothing to do, and no error.
    pipeline.run(None).await.unwrap();
    assert!(stored_receipts(&db, &chain).is_empty());
    set_pivot(StageCheckpoint::new(0).with_progress(StageProgress::Recorded));
    pipeline.run(None).await.unwrap();
    assert!(stored_receipts(&db, &chain).is_empty());

    // Running at 12, then finished at 17 (a pivot move between): each run reaches that block.
    set_pivot(StageCheckpoint::new(12).with_progress(StageProgress::Recorded));
    pipeline.run(None).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=12).collect::<Vec<_>>());
    set_pivot(StageCheckpoint::new(17));
    pipeline.run(None).await.unwrap();
    assert_eq!(stored_receipts(&db, &chain), (1..=17).collect::<Vec<_>>());
}
