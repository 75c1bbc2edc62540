//! Execution throughput on a real chain: the hive chain's 600 blocks (geth's; 121.8 Mgas,
//! Shanghai → Cancun → Prague, blob transactions, withdrawals) executed from the genesis in an
//! in-memory snapsync database, each block checked against its header (state root included,
//! updated incrementally). Throughput is in gas (criterion prints it as elements/s: Mgas/s).
//!
//! `cargo bench -p snapsync-execution --bench hive_execution` (needs the shared fixtures; skips
//! loudly without them).

#![allow(unused_crate_dependencies)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::Sealable;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use snapsync_db::{Database, MemoryDatabase};
use snapsync_execution::{ChainRules, EvmExecutor, seed_state};
use snapsync_genesis::{ChainBlock, ChainFile, ChainSpec, StateFile};
use snapsync_primitives::test_utils::require_fixture;
use snapsync_storage::StateStore;

fn hive_execution(c: &mut Criterion) {
    let (Some(genesis_path), Some(chain)) = (
        require_fixture("hive_execution", "geth-hive/genesis.json"),
        require_fixture("hive_execution", "geth-hive/chain.rlp"),
    ) else {
        return;
    };
    let spec = ChainSpec::load(&genesis_path).unwrap();
    let genesis = spec.genesis_header().clone().seal_slow();
    let accounts: Vec<_> = StateFile::load(&genesis_path)
        .unwrap()
        .hashed_accounts()
        .collect::<Result<_, _>>()
        .unwrap();
    let blocks: Vec<ChainBlock> = ChainFile::open(&chain).unwrap().map(Result::unwrap).collect();
    let gas: u64 = blocks.iter().map(|block| block.header.gas_used).sum();
    let executor = EvmExecutor::new(ChainRules::from_spec(&spec));

    let mut group = c.benchmark_group("hive_600_blocks");
    group.sample_size(10);
    group.throughput(Throughput::Elements(gas));
    group.bench_function("execute_from_genesis", |b| {
        b.iter_batched(
            || {
                let db = MemoryDatabase::new();
                let mut txn = db.write().unwrap();
                seed_state(&mut txn, accounts.clone()).unwrap();
                txn.commit().unwrap();
                db
            },
            |db| {
                let mut txn = StateStore::writer(&db).unwrap();
                let mut parent = genesis.clone();
                for block in &blocks {
                    executor.execute(&mut txn, &parent, &block.header, &block.body).unwrap();
                    // BLOCKHASH reads stored headers.
                    snapsync_chain_stages::store_header(&mut txn, &block.header).unwrap();
                    parent = block.header.clone();
                }
                txn.commit().unwrap();
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, hive_execution);
criterion_main!(benches);
