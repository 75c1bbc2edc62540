//! The snap sync stage: the state at a pivot block, downloaded over snap/1, verified, stored.
//!
//! An execution client that snap-syncs does not replay history; it downloads the state of one
//! recent block (the *pivot*) from peers, proves every piece against that block's state root,
//! and hands over to the forward stages from there. [`SnapSyncStage`] is that step as a
//! [`Stage`](snapsync_stages::Stage) of the pipeline.
//!
//! # Trust
//!
//! The only input trusted is the tip hash sent on the stage's `watch` channel (what a consensus
//! client's forkchoice says). The stage fetches the headers from the tip down to `tip - distance`
//! ([`resolve_pivot`], through the same [`Fetcher`](snapsync_fetch::Fetcher) as its state
//! requests) and accepts them only if each hashes to its child's parent hash; the pivot header's state root
//! is then trusted, and nothing else. Every account range is proven against that root, every
//! storage range against its (proven) account's storage root, every bytecode against its hash,
//! before anything is written. Peers that send anything else are penalised and banned by the
//! [`Fetcher`](snapsync_fetch::Fetcher), and the work goes to another peer.
//!
//! # Phases
//!
//! 1. **Pivot**: resolve the pivot header, store it in `Headers` (so the headers stage links the
//!    chain above it).
//! 2. **Download** (phases `Accounts`, `Storages`, `Bytecodes`: what is left of it): account
//!    ranges, storage ranges and bytecodes in one flow sharing the request budget. The hash
//!    space is cut into `accounts.chunks` slices, each downloaded in order; each verified
//!    account range queues the storage and code its accounts need, in the record committed with
//!    them (no scan of the stored accounts); large contracts are split into concurrent
//!    sub-ranges with their own proofs. While a step commits, the requests go on and their
//!    answers fill the next step. See
//!    `download.rs` for the order work is asked in and the bounds on the queues. Invariants:
//!    every account before a chunk's `next` is stored, and every stored account's storage and
//!    code is stored or queued.
//! 3. **Verifying**: while the pivot never moved, every step stored the trie nodes its ranges'
//!    verification computed (each leaf is hashed once), and those nodes are the tries: the stage
//!    completes if the stored root node hashes to the pivot's state root, every account with
//!    storage has a root node hashing to its storage root, and the stored leaves, hashed again
//!    in one streaming pass ([`check_stored_leaves`]), make the same root (else the database
//!    was damaged after verification: [`SnapSyncError::StoredStateDamaged`]). Otherwise the
//!    account trie and every storage trie are built from the stored leaves and their nodes
//!    written by path; the stage completes only if the root equals the pivot's state root and
//!    every account's slots hash to its storage root (else healing starts). Either way `Done`
//!    means the stored leaves were hashed to the pivot's root in this run: the parts of the
//!    state (one per first nibble) that no later step could write any more were hashed in the
//!    background while the rest downloaded (`part_checks.rs`), the others in the step that
//!    set it.
//!
//! Each step gathers up to `step.max_bytes` of verified data (through ETL collectors, so it is
//! written as one sorted bulk append per table) and commits it in the same transaction as the
//! stage's progress record (`SnapProgress`) and its pipeline checkpoint. A crash loses at most
//! the step being gathered and the requests in flight; a restart reads the record and fetches
//! nothing committed again.
//!
//! # Storage
//!
//! The stage reaches storage only through the storage seam (`snapsync_storage`), so it runs on
//! any [`StateStore`](snapsync_storage::StateStore): snapsync-db's redb and memory backends, or
//! a client's own. It holds no store handle: the pipeline hands `ready` a snapshot to gather a
//! step against, and `execute` the step's write transaction, which the verifying step also reads
//! (the leaf re-hash and the trie rebuild see exactly what that transaction holds).
//!
//! # Observability
//!
//! [`SnapSyncStage::progress`] publishes [`SyncProgress`] snapshots; the same figures go to
//! `metrics` gauges named `snapsync_sync_*` ([`METRIC_NAMES`], [`describe_metrics`]; the peer
//! layer, database, ETL and pipeline record their own, see `docs/metrics.md`); logs use the `sync::snap::*` tracing targets
//! (`accounts`, `storage`, `bytecodes`, `pivot`, `verify`, `fetch`).
//!
//! # Embedding
//!
//! The facade's `snapsync::DefaultStages` assembles what a snap-syncing client runs: this stage,
//! then the headers and bodies stages (`snapsync-chain-stages`, which this crate does not depend
//! on) from the pivot + 1, sharing one fetcher; a client adds its own stages to its builder.
//! `docs/embedding.md` walks through an embedding.
//!
//! [`SnapSyncConfig`] holds every knob, read from TOML and checked by
//! [`SnapSyncConfig::validate`]; `docs/configuration.md` lists them with defaults and advice.
//!
//! ```
//! use snapsync_snap_sync::SnapSyncConfig;
//!
//! let config = SnapSyncConfig::from_toml_str("[pivot]\ndistance = 32\n")?;
//! assert_eq!(config.pivot.distance, 32);
//! assert_eq!(config.concurrency.max_requests, 64); // everything else keeps its default
//! # Ok::<(), snapsync_snap_sync::ConfigError>(())
//! ```

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod accounts;
mod bytecodes;
mod config;
mod download;
mod error;
mod finish;
mod heal;
mod inflight;
mod leaf_check;
mod memory;
mod metrics;
mod part_checks;
mod phase;
mod pivot;
mod progress;
mod scan;
mod stage;
mod state;
mod step;
mod storage;
mod summary;

pub use config::{
    AccountsConfig, ConcurrencyConfig, EtlConfig, PivotConfig, SnapSyncConfig, StepConfig,
    StorageConfig,
};
pub use error::{ConfigError, PivotError, SnapSyncError, TomlError};
pub use leaf_check::{LeafCheck, check_stored_leaves};
pub use memory::{HELD_REPLY_FACTOR, MemoryConfig, STEP_COLLECTORS};
pub use metrics::{METRIC_NAMES, describe_metrics};
pub use phase::{SNAP_SYNC, SnapPhase};
pub use pivot::resolve_pivot;
pub use progress::SyncProgress;
pub use stage::SnapSyncStage;
pub use state::{Counts, Pivot};
pub use summary::{SyncSummary, record_imported_state, stored_summary};
