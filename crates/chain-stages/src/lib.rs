//! The headers, bodies, receipts and execution stages of the sync pipeline.
//!
//! Snap sync needs the pivot's header (its state root is what the state is proven against) and
//! an execution client needs the chain from the pivot to the tip to follow the head. Both come
//! from peers, which are not trusted; what is trusted is the tip hash a consensus client sends
//! (forkchoice). These stages turn that one hash into a verified chain:
//!
//! - [`HeadersStage`] downloads headers falling from the tip hash to a start block, accepting a
//!   header only when it hashes to the `parent_hash` of the header above it (the first: to the
//!   tip), and stores them in `Headers` and `HeaderNumbers`;
//! - [`BodiesStage`] downloads the bodies of the stored headers, accepting a body only when its
//!   transactions root, ommers hash and withdrawals root match its header ([`verify_body`]), and
//!   stores them in `Bodies`;
//! - [`ReceiptsStage`] downloads the receipts of the stored headers (in the default pipeline
//!   up to the snap sync pivot: above it execution makes them), accepting a block's receipts
//!   only when they make its header's receipts root ([`verify_receipts`]), and stores them in
//!   `Receipts`; it is the same [`BlockDataStage`] as the bodies stage over another
//!   [`BlockData`] kind;
//! - [`ExecutionStage`] hands the stored blocks ([`StoredBlock`]), in order, to a
//!   [`BlockExecutor`] (the EVM, supplied by the embedder) that applies them to the state through
//!   the pipeline's transaction.
//!
//! All three reach storage through the storage seam (`snapsync_storage`) and run on any store;
//! they hold no store handle: `ready` reads the snapshot the pipeline hands it, `execute` and
//! `unwind` the step's writer. "`Headers`" and the like below name the store's collections
//! (snapsync-db keeps them in tables of those names).
//!
//! In the default pipeline (snap sync, headers, bodies, execution) the three start after the snap
//! sync pivot, known only once the snap sync stage has committed: their configs take a
//! [`StageStart`], and [`StageStart::AfterStage`] of the snap sync stage's id (`snapsync_snap_sync::SNAP_SYNC`) (see
//! [`HeadersConfig::after_stage`], [`BodiesConfig::after_stage`], [`ExecutionConfig::after_stage`])
//! makes them read that stage's finished checkpoint and start at its block + 1; an unfinished or
//! missing one is a fatal [`StartError`].
//!
//! The headers and bodies stages do their network work in
//! [`Stage::ready`](snapsync_stages::Stage::ready) and write in
//! [`Stage::execute`](snapsync_stages::Stage::execute) one batch per committed step, so a
//! restarted pipeline resumes from their checkpoints without fetching anything committed again
//! (the execution stage, likewise, executes no committed block again).
//!
//! Their requests go through a [`Fetcher`](snapsync_fetch::Fetcher) (shared with the snap sync
//! stage, which resolves its pivot through it, in the default pipeline): it picks the peer, times the
//! request out, verifies the reply (`snapsync_fetch::verify_block_headers`,
//! `snapsync_fetch::verify_block_bodies`), and bans and reports
//! ([`Penalty::InvalidData`](snapsync_net::Penalty::InvalidData), with its typed
//! [`Fault`](snapsync_net::Fault)) a peer whose reply is provably wrong; the request goes to the
//! next peer. When no peer delivers, the step fails recoverably and the pipeline retries it with
//! backoff, up to its retry bound.
//!
//! [`import_chain`] stores a chain from a file (`snapsync import`) with the same checks: hash
//! links from the genesis and body roots.
//!
//! Logs use the tracing targets `sync::headers`, `sync::blocks` (bodies and receipts, with a
//! `kind` field), `sync::execution` and
//! `sync::import`.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod block_data;
mod error;
mod execution;
mod headers;
mod history;
mod import;
mod start;
mod stored;

pub use block_data::{
    BlockData, BlockDataConfig, BlockDataEnd, BlockDataStage, Bodies, BodiesConfig, BodiesStage,
    Receipts, ReceiptsStage,
};
pub use error::{
    BlockDataError, ChainImportError, ExecutionError, ExecutorError, HeadersError, StartError,
    StoredHeaderError,
};
pub use execution::{BlockExecutor, ExecutionConfig, ExecutionStage, StoredBlock};
pub use headers::{HeadersConfig, HeadersStage};
pub use history::{ChainStages, History, UnknownHistory};
pub use import::{ImportConfig, ImportedChain, import_chain};
pub use snapsync_fetch::{verify_body, verify_receipts};
pub use snapsync_net::{BodyField, BodyMismatch};
pub use start::StageStart;
pub use stored::{store_header, stored_header};
