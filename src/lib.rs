//! snapsync: verified snap/1 state sync for Ethereum execution clients.
//!
//! This facade re-exports the workspace's library crates under short names, so an embedder
//! depends on one crate:
//!
//! - [`primitives`]: hashed keys, accounts, the snap/1 messages;
//! - [`trie`]: range-proof verification and generation, the streaming trie builder;
//! - [`storage`]: the storage seam (what a client's own store implements) and the algorithms
//!   over it (state roots, trie rebuilds, range proofs);
//! - [`etl`] and [`db`]: sorted bulk loading and the trie-backed database (redb or in memory),
//!   the default implementation of the seam;
//! - [`net`]: the traits the embedder's network implements, and the peer scheduler;
//! - [`fetch`]: the client side of snap/1, which verifies every reply;
//! - [`server`]: a snap/1 server over a snapsync database;
//! - [`stages`] and [`chain_stages`]: the staged pipeline and its headers and bodies stages;
//! - [`snap_sync`]: the snap sync stage, which downloads and verifies the pivot's state;
//! - [`genesis`]: genesis files and state dumps;
//! - [`prelude`]: the alloy types the API is written in (`B256`, `Header`, `Sealed`, ...);
//! - [`metrics`]: the names of every metric the library records, and [`metrics::describe`];
//! - `execution` (feature `execution`): block execution on revm over the storage seam;
//! - [`DefaultStages`]: the snap sync stage and the chain stages after it, assembled in one call
//!   (here because it joins `snap_sync` and `chain_stages`, which do not depend on each other).
//!
//! # Features
//!
//! - `asm-keccak` (default): keccak256 in assembly, through alloy-primitives.
//! - `devp2p`: [`devp2p`], the RLPx transport: a peer network over TCP that implements the client
//!   traits and serves a snapsync store, for tools without a network of their own. Embedders
//!   bring theirs and leave it off.
//! - `cli` (default): the `snapsync` binary and what only it needs (argument parsing, progress
//!   bars, the simulated network and generated chains it syncs from, the conformance runner). It
//!   adds nothing to this library's API beyond turning `execution` on.
//! - `execution`: `snapsync::execution`, block execution on revm (alloy-evm's Ethereum block
//!   executor) over the storage seam; off by default in the lean library.
//!
//! An embedder depends on `snapsync = { version = "…", default-features = false }` (plus
//! `features = ["asm-keccak"]` if wanted) and gets the library alone. The simulated network and
//! generated states and chains (`snapsync-sim`) and the hive conformance runner
//! (`snapsync-conformance`) are separate crates for tests and tools, never dependencies of the
//! library; the test machinery of the library's own crates (their `test_utils` modules) is
//! behind `test-utils` features the library never turns on.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

// The `cli` feature's dependencies are the binary's (src/main.rs); this library uses none of them.
#[cfg(feature = "cli")]
use {
    ::metrics as _, clap as _, indicatif as _, metrics_exporter_prometheus as _, mimalloc as _,
    revm_statetest_types as _, serde_json as _, snapsync_conformance as _, snapsync_sim as _,
    tempfile as _, thiserror as _, tracing_subscriber as _,
};

pub use snapsync_chain_stages as chain_stages;
pub use snapsync_db as db;
#[cfg(feature = "devp2p")]
pub use snapsync_devp2p as devp2p;
pub use snapsync_etl as etl;
#[cfg(feature = "execution")]
pub use snapsync_execution as execution;
pub use snapsync_fetch as fetch;
pub use snapsync_genesis as genesis;
pub use snapsync_net as net;
pub use snapsync_primitives as primitives;
pub use snapsync_server as server;
pub use snapsync_snap_sync as snap_sync;
pub use snapsync_stages as stages;
pub use snapsync_storage as storage;
pub use snapsync_trie as trie;

mod default_stages;
pub mod metrics;
pub mod prelude;

pub use default_stages::DefaultStages;
