//! Execution figures on full blocks: a chain of storage-heavy blocks (about 30M gas each) built
//! by the block builder over a generated state of about 1M leaves, then executed block by block
//! on a copy of block 0's state by `EvmExecutor::execute` (each block checked against its
//! header, as the execution stage does).
//!
//! Prints the throughput in Mgas/s, the time per block spent on the writes and the incremental
//! state root (storage tries and account trie, only the changed paths), and the time of a full
//! rebuild of the root of the same final state from its leaves (`compute_state_root`). Run it
//! under `/usr/bin/time -v` for the peak RSS:
//!
//! ```sh
//! cargo run --release -p snapsync-sim --example execute_full_blocks -- [ACCOUNTS] [BLOCKS]
//! ```
//!
//! Defaults: 420,000 accounts of the default shape (about 1M leaves with the storage-heavy
//! contracts), 10 blocks of 100 transactions whose storage calls write up to 100 slots each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
// An example is given every dependency of its package.
#![allow(unused_crate_dependencies)]

use snapsync_db::compute_state_root;
use snapsync_execution::EvmExecutor;
use snapsync_sim::{ChainShape, ExecutedChain, GeneratedState, StateProfile};
use snapsync_storage::StateWrite;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<usize>().expect("a number"));
    let accounts = args.next().unwrap_or(420_000);
    let blocks = args.next().unwrap_or(10) as u64;
    let seed = 1;

    let started = Instant::now();
    let state = GeneratedState::generate(seed, &StateProfile::Default.spec(accounts));
    let counts = state.counts();
    println!(
        "state: {} accounts, {} slots ({} leaves), generated in {:.1} s",
        counts.accounts,
        counts.storage_slots,
        counts.accounts + counts.storage_slots,
        started.elapsed().as_secs_f64()
    );
    let shape = ChainShape { slots_per_call: 100, ..ChainShape::new(blocks, 100) };
    let started = Instant::now();
    let mut chain = ExecutedChain::build(seed, state, &shape, |number| number == 0).unwrap();
    println!("chain: {blocks} blocks built in {:.1} s", started.elapsed().as_secs_f64());
    let db = chain.take_states().remove(&0).expect("block 0's state is kept");

    let executor = EvmExecutor::new(chain.rules().clone());
    let (mut gas, mut executing, mut updating) = (0, Duration::ZERO, Duration::ZERO);
    for number in 1..=blocks {
        let (parent, block) = (chain.header(number - 1).unwrap(), chain.header(number).unwrap());
        let body = chain.body(number).unwrap();
        let mut txn = db.write().unwrap();
        let started = Instant::now();
        let executed = executor.execute(&mut txn, parent, block, body).unwrap();
        let took = started.elapsed();
        StateWrite::commit(txn).unwrap();
        println!(
            "block {number}: {} txs, {:.1}M gas in {:.0} ms; writes and incremental root {:.1} ms",
            executed.transactions,
            executed.gas_used as f64 / 1e6,
            took.as_secs_f64() * 1e3,
            executed.state_update_time.as_secs_f64() * 1e3
        );
        gas += executed.gas_used;
        executing += took;
        updating += executed.state_update_time;
    }
    let started = Instant::now();
    let report = compute_state_root(&db.view().unwrap()).unwrap();
    let rebuild = started.elapsed();
    assert_eq!(report.state_root, chain.head().state_root);
    println!(
        "execution: {:.1}M gas in {:.2} s: {:.1} Mgas/s",
        gas as f64 / 1e6,
        executing.as_secs_f64(),
        gas as f64 / executing.as_secs_f64() / 1e6
    );
    println!(
        "state root per block: {:.1} ms incremental (writes included) vs {:.0} ms for a full \
         rebuild from the {} leaves ({:.0}x)",
        updating.as_secs_f64() * 1e3 / blocks as f64,
        rebuild.as_secs_f64() * 1e3,
        report.accounts + report.storage_slots,
        rebuild.as_secs_f64() / (updating.as_secs_f64() / blocks as f64)
    );
}
