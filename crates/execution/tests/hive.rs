//! The hive chain (geth's 600 blocks: Shanghai, Cancun at block 6, Prague at block 12, blob
//! transactions, withdrawals, system contracts) executed from its genesis through the
//! `ExecutionStage` with the real executor: every block checked against geth's header; a header
//! whose gas used, receipts root, logs bloom or state root is changed is refused naming the
//! field, nothing of it committed; unwinding restores the flat state and the trie exactly.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_consensus::Header;
use alloy_primitives::{B256, Bloom, Sealable, Sealed};
use snapsync_chain_stages::{
    ExecutionConfig, ExecutionStage, ImportConfig, StageStart, import_chain, stored_header,
};
use snapsync_db::{
    AccountTrieNodes, Bytecodes, HashedAccounts, HashedStorages, SnapProgress, StageCheckpoints,
    StorageTrieNodes, Table,
    test_utils::{TestDb, memory_db, table_differences},
};
use snapsync_execution::{
    BlockError, ChainRules, EvmExecutor, HeaderField, StageExecutor, seed_state,
};
use snapsync_genesis::{ChainFile, ChainSpec, StateFile};
use snapsync_primitives::test_utils::require_fixture;
use snapsync_stages::{Pipeline, StageId, StageSet};
use snapsync_storage::{StateStore, compute_state_root};

const HEAD_ROOT: &str = "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";

struct Hive {
    spec: ChainSpec,
    genesis: std::path::PathBuf,
    chain: std::path::PathBuf,
}

fn hive(test: &str) -> Option<Hive> {
    let genesis = require_fixture(test, "geth-hive/genesis.json")?;
    let chain = require_fixture(test, "geth-hive/chain.rlp")?;
    Some(Hive { spec: ChainSpec::load(&genesis).unwrap(), genesis, chain })
}

/// A store holding the hive chain's blocks and its genesis state.
fn store(hive: &Hive) -> TestDb {
    let db = memory_db();
    let genesis = hive.spec.genesis_header().clone().seal_slow();
    import_chain(&*db, &genesis, ChainFile::open(&hive.chain).unwrap(), ImportConfig::default())
        .unwrap();
    let accounts = StateFile::load(&hive.genesis)
        .unwrap()
        .hashed_accounts()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut txn = StateStore::writer(&*db).unwrap();
    assert_eq!(seed_state(&mut txn, accounts).unwrap(), genesis.state_root);
    txn.commit().unwrap();
    db
}

fn pipeline(hive: &Hive, db: &TestDb) -> Pipeline<dyn snapsync_db::Database> {
    let executor = StageExecutor::new(EvmExecutor::new(ChainRules::from_spec(&hive.spec)));
    let config =
        ExecutionConfig { batch_size: 128, ..ExecutionConfig::starting(StageStart::Block(1)) };
    let stages = StageSet::builder().add(ExecutionStage::new(executor, config)).unwrap().build();
    Pipeline::new(db.db.clone(), stages)
}

fn root(db: &TestDb) -> B256 {
    let report = compute_state_root(&db.view().unwrap()).unwrap();
    assert!(report.is_consistent());
    report.state_root
}

fn header(db: &TestDb, number: u64) -> Sealed<Header> {
    stored_header(&db.view().unwrap(), number).unwrap().seal_slow()
}

#[tokio::test]
async fn execute_unwind_and_execute_again_give_the_same_roots_and_tables() {
    let Some(hive) = hive("execute_unwind_and_execute_again") else { return };
    let (a, b) = (store(&hive), store(&hive));
    let mut pipeline_a = pipeline(&hive, &a);
    pipeline_a.run(Some(600)).await.unwrap();
    assert_eq!(root(&a).to_string(), HEAD_ROOT);
    assert_eq!(pipeline_a.checkpoint(&StageId::EXECUTION).unwrap().unwrap().block_number, 600);

    // Unwound to 300: the state, the trie and the change sets are those of a store that only
    // ever executed to 300 (codes stay: they are valid under any root).
    pipeline_a.unwind_to(300).await.unwrap();
    let mut pipeline_b = pipeline(&hive, &b);
    pipeline_b.run(Some(300)).await.unwrap();
    assert_eq!(root(&a), header(&a, 300).state_root);
    let tables = [
        HashedAccounts::NAME,
        HashedStorages::NAME,
        AccountTrieNodes::NAME,
        StorageTrieNodes::NAME,
        SnapProgress::NAME,
        StageCheckpoints::NAME,
    ];
    let differences = table_differences(&*a, &*b, &tables).unwrap();
    assert!(differences.is_empty(), "{differences:?}");

    // Executed again to the head: the same as a store that went straight there.
    pipeline_a.run(Some(600)).await.unwrap();
    pipeline_b.run(Some(600)).await.unwrap();
    assert_eq!(root(&a).to_string(), HEAD_ROOT);
    let mut all = tables.to_vec();
    all.push(Bytecodes::NAME);
    let differences = table_differences(&*a, &*b, &all).unwrap();
    assert!(differences.is_empty(), "{differences:?}");
}

/// A change to a header.
type Tamper = fn(&mut Header);

#[test]
fn a_header_disagreeing_with_execution_is_refused_naming_the_field() {
    let Some(hive) = hive("a_header_disagreeing_with_execution_is_refused") else { return };
    let db = store(&hive);
    let executor = EvmExecutor::new(ChainRules::from_spec(&hive.spec));
    let blocks: Vec<_> =
        ChainFile::open(&hive.chain).unwrap().take(20).map(Result::unwrap).collect();
    // Blocks 1..=14 executed and committed (past Prague at block 12).
    let mut parent = hive.spec.genesis_header().clone().seal_slow();
    for block in &blocks[..14] {
        let mut txn = StateStore::writer(&*db).unwrap();
        executor.execute(&mut txn, &parent, &block.header, &block.body).unwrap();
        txn.commit().unwrap();
        parent = block.header.clone();
    }
    let block = &blocks[14];
    let tamper: [(HeaderField, Tamper); 4] = [
        (HeaderField::GasUsed, |h| h.gas_used -= 1),
        (HeaderField::ReceiptsRoot, |h| h.receipts_root = B256::repeat_byte(1)),
        (HeaderField::LogsBloom, |h| h.logs_bloom = Bloom::repeat_byte(1)),
        (HeaderField::StateRoot, |h| h.state_root = B256::repeat_byte(2)),
    ];
    for (field, change) in tamper {
        let mut header = block.header.inner().clone();
        change(&mut header);
        let header = header.seal_slow();
        let mut txn = StateStore::writer(&*db).unwrap();
        let error = executor.execute(&mut txn, &parent, &header, &block.body).unwrap_err();
        let BlockError::Mismatch { number, field: got, .. } = &error else { panic!("{error}") };
        assert_eq!((*number, *got), (15, field), "{error}");
        assert!(error.to_string().contains(field.name()), "{error}");
        // Dropped: nothing of the block is committed.
        drop(txn);
        assert_eq!(root(&db), parent.state_root);
    }
    // The block as geth made it executes.
    let mut txn = StateStore::writer(&*db).unwrap();
    executor.execute(&mut txn, &parent, &block.header, &block.body).unwrap();
    txn.set_durability(snapsync_storage::Durability::Immediate).unwrap();
    txn.commit().unwrap();
    assert_eq!(root(&db), block.header.state_root);
}
