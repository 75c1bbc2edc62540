//! An executed chain is made of real blocks: each kind of transaction and withdrawals are in
//! it, an independent execution of it from block 0 reaches every header's root (and the kept
//! states), and the builder leaves out an invalid transaction with its reason.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::panic)]

use alloy_consensus::{Transaction, TxReceipt};
use alloy_primitives::Address;
use proptest::prelude::*;
use snapsync_db::{Database, MemoryDatabase, compute_state_root};
use snapsync_etl::CollectorConfig;
use snapsync_execution::{BlockTemplate, EvmExecutor};
use snapsync_sim::{ChainShape, ExecutedChain, GeneratedState, StateSpec, TxKindMix};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};

fn spec(accounts: usize) -> StateSpec {
    StateSpec::small().with_accounts(accounts).with_huge_contracts(1, 300)
}

/// A fresh store holding block 0's state of the chain of `seed` over `spec`, imported from the
/// model again (nothing shared with the builder's store).
fn fresh_genesis(seed: u64, spec: &StateSpec) -> MemoryDatabase {
    let state = ExecutedChain::genesis_state(seed, GeneratedState::generate(seed, spec));
    let db = MemoryDatabase::new();
    state.import_into(&db, &CollectorConfig::default()).unwrap();
    db
}

/// Executes every block of `chain` on `db` (at block 0's state), each checked against its
/// header by the executor; the state's stored leaves then make the head's root.
fn execute_all(chain: &ExecutedChain, db: &MemoryDatabase) {
    let executor = EvmExecutor::new(chain.rules().clone());
    for number in 1..=chain.head_number() {
        let (parent, block) = (chain.header(number - 1).unwrap(), chain.header(number).unwrap());
        let mut txn = db.writer().unwrap();
        let executed = executor.execute(&mut txn, parent, block, chain.body(number).unwrap());
        let executed = executed.unwrap_or_else(|error| panic!("block {number}: {error}"));
        assert_eq!(executed.receipts, chain.receipts(number).unwrap(), "block {number}");
        StateWrite::commit(txn).unwrap();
        if let Some(kept) = chain.state(number) {
            let (kept, executed) = (kept.view().unwrap(), db.reader().unwrap());
            let accounts = |view: &dyn StateRead| {
                view.accounts(KeyRange::all()).unwrap().map(Result::unwrap).collect::<Vec<_>>()
            };
            assert_eq!(accounts(&kept), accounts(&executed), "block {number}'s accounts");
        }
    }
    let root = compute_state_root(&db.view().unwrap()).unwrap().state_root;
    assert_eq!(root, chain.head().state_root);
}

#[test]
fn every_kind_of_transaction_and_withdrawals_are_in_it() {
    let shape = ChainShape::new(6, 9);
    let chain =
        ExecutedChain::build(3, GeneratedState::generate(3, &spec(200)), &shape, |n| n == 3)
            .unwrap();
    assert_eq!(chain.head_number(), 6);
    assert_eq!(chain.kept_states().collect::<Vec<_>>(), [3]);
    let (mut transfers, mut calls, mut creations) = (0, 0, 0);
    for number in 1..=6 {
        let (header, body) = (chain.header(number).unwrap(), chain.body(number).unwrap());
        assert_eq!(header.parent_hash, chain.header(number - 1).unwrap().hash());
        assert_eq!(header.hash(), header.inner().hash_slow());
        assert_ne!(header.state_root, chain.header(number - 1).unwrap().state_root);
        assert!(header.gas_used > 0);
        assert_eq!(body.transactions.len(), 9);
        assert_eq!(body.withdrawals.as_ref().map(|w| w.len()), Some(2));
        let receipts = chain.receipts(number).unwrap();
        assert!(receipts.iter().all(TxReceipt::status), "block {number}: a transaction failed");
        for (index, tx) in body.transactions.iter().enumerate() {
            match TxKindMix::of(index) {
                TxKindMix::Transfer => {
                    assert!(tx.input().is_empty() && !tx.value().is_zero());
                    transfers += 1;
                }
                TxKindMix::StorageCall => {
                    assert!(tx.to().is_some() && tx.input().len() >= 64);
                    calls += 1;
                }
                TxKindMix::Create => {
                    assert!(tx.to().is_none());
                    creations += 1;
                }
            }
        }
    }
    assert_eq!((transfers, calls, creations), (18, 18, 18));
    // Storage calls wrote slots: the genesis contracts' storage is no longer empty.
    let view = chain.state(3).unwrap().view().unwrap();
    let contract = snapsync_primitives::AccountHash::of(&Address::with_last_byte(0));
    let mut bytes = [0u8; 20];
    bytes[17..].copy_from_slice(&[0xc0, 0xde, 0x00]);
    let storage = snapsync_primitives::AccountHash::of(&Address::from(bytes));
    assert!(view.account(&contract).unwrap().is_none());
    let slots = view.slots(&storage, KeyRange::all()).unwrap().count();
    assert!(slots > 0, "the storage contract has no slots");
}

#[test]
fn an_independent_execution_reaches_every_root() {
    let (seed, spec) = (5, spec(400));
    let chain = ExecutedChain::build(
        seed,
        GeneratedState::generate(seed, &spec),
        &ChainShape::new(12, 12),
        |n| n % 4 == 0,
    )
    .unwrap();
    execute_all(&chain, &fresh_genesis(seed, &spec));
}

#[test]
fn the_seed_decides() {
    let build = |seed| {
        ExecutedChain::build(
            seed,
            GeneratedState::generate(1, &spec(100)),
            &ChainShape::new(3, 4),
            |_| false,
        )
        .unwrap()
        .headers()
        .map(|header| header.hash())
        .collect::<Vec<_>>()
    };
    assert_eq!(build(1), build(1));
    assert_ne!(build(1)[3], build(2)[3]);
}

#[test]
fn an_invalid_transaction_is_left_out_with_its_reason() {
    let (seed, spec) = (9, spec(50));
    let db = fresh_genesis(seed, &spec);
    let chain = ExecutedChain::build(
        seed,
        GeneratedState::generate(seed, &spec),
        &ChainShape::new(0, 0),
        |_| false,
    )
    .unwrap();
    let mut actors = ExecutedChain::actors(seed);
    let mut rng = snapsync_primitives::test_utils::TestRng::new(1);
    let valid = actors.transaction(TxKindMix::Transfer, 1, &mut rng);
    let genesis = chain.head();
    let template = BlockTemplate {
        timestamp: genesis.timestamp + 12,
        gas_limit: genesis.gas_limit,
        // The same transaction twice: the second reuses a spent nonce.
        transactions: vec![valid.clone(), valid],
        ..BlockTemplate::default()
    };
    let executor = EvmExecutor::new(chain.rules().clone());
    let mut txn = db.writer().unwrap();
    let built = executor.build(&mut txn, genesis, &template).unwrap();
    assert_eq!(built.body.transactions.len(), 1);
    assert_eq!(built.skipped.len(), 1);
    assert_eq!(built.skipped[0].index, 1);
    assert!(built.skipped[0].reason.contains("nonce"), "{}", built.skipped[0].reason);
    StateWrite::commit(txn).unwrap();
    // What was built executes as a received block on a fresh copy of the parent's state.
    let other = fresh_genesis(seed, &spec);
    let mut txn = other.writer().unwrap();
    executor.execute(&mut txn, genesis, &built.header, &built.body).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Over random seeds and shapes, an independent execution of the built chain reaches every
    /// header's root.
    #[test]
    fn built_chains_execute(seed in 0u64..1_000, blocks in 1u64..6, txs in 0usize..10, slots in 1usize..20) {
        let spec = spec(100);
        let shape = ChainShape {
            txs_per_block: txs,
            slots_per_call: slots,
            withdrawals_per_block: (seed % 3) as usize,
            ..ChainShape::new(blocks, 0)
        };
        let chain = ExecutedChain::build(seed, GeneratedState::generate(seed, &spec), &shape, |n| n == blocks).unwrap();
        execute_all(&chain, &fresh_genesis(seed, &spec));
    }
}

#[test]
fn empty_blocks_keep_any_state_as_it_is() {
    // A state holding the beacon-roots contract (the actors add it), which Cancun's system
    // call would write: the empty chain runs Shanghai's rules, so nothing is written.
    let state = ExecutedChain::genesis_state(4, GeneratedState::generate(4, &spec(100)));
    let root = state.state_root();
    let chain = ExecutedChain::build(4, state, &ChainShape::empty(5), |n| n == 5).unwrap();
    assert!(chain.headers().all(|header| header.state_root == root && header.gas_used == 0));
    assert!(chain.headers().all(|header| header.parent_beacon_block_root.is_none()));
    let kept = compute_state_root(&chain.state(5).unwrap().view().unwrap()).unwrap();
    assert_eq!(kept.state_root, root);
}
