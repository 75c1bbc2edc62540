//! `snapsync serve --datadir DIR --listen ADDR:PORT [--nodekey FILE] [--genesis GENESIS.json]
//! [--withhold KIND,…]`: serves a data directory to real peers over RLPx.
//!
//! The data directory (written by `import`, or a finished `sync`) is opened read-only. Its
//! finished state is served over snap/1 through `snapsync-server`, and its headers, bodies and
//! receipts over eth, by a [`Network`] listening on `ADDR:PORT`. Status announces the stored
//! head and the fork id of the genesis file's schedule (`--genesis`, by default the copy
//! `import` keeps in the data directory). The first line on stdout is the node's
//! `enode://…@ADDR:PORT` URL, flushed at once, so a script can read it and dial; the node then
//! serves until SIGINT or SIGTERM, disconnects its peers (telling them it is quitting) and
//! prints what each peer was served on stderr.
//!
//! `--withhold headers,bodies,receipts` (any of them) answers those eth requests with empty
//! replies, as a node that pruned that history does: peers syncing from it take them from other
//! peers, without penalty. snap/1 is served as without it.
//!
//! Exit 0 after a clean shutdown, 2 when it cannot start (no data directory, a port in use).

use super::{CliError, Outcome, datadir::Storage};
use alloy_consensus::Header;
use alloy_primitives::{U256, keccak256};
use alloy_rlp::Decodable;
use clap::Args;
use snapsync_devp2p::{
    ChainHead, ChainStatus, HistoryKind, Network, NetworkConfig, NodeKey, StoreHandler, Withholding,
};
use snapsync_genesis::ChainSpec;
use snapsync_server::{ServerLimits, SnapServer};
use snapsync_snap_sync::stored_summary;
use snapsync_storage::{StateRead, StateStore};
use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

/// The genesis file `import` keeps in a data directory, and `serve` reads by default.
pub(crate) const GENESIS_FILE: &str = "genesis.json";

/// Arguments of `snapsync serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The data directory to serve (opened read-only).
    #[arg(long, value_name = "DIR")]
    datadir: PathBuf,
    /// Where to accept RLPx connections (port 0: any free port; the URL printed says which).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// The node key: 64 hex digits. Created with a fresh key when the file does not exist, so
    /// the node keeps its id across runs. Default: a fresh key for this run only.
    #[arg(long, value_name = "FILE")]
    nodekey: Option<PathBuf>,
    /// The chain's genesis file (fork schedule, chain id). Default: DIR/genesis.json, which
    /// `import` writes.
    #[arg(long, value_name = "GENESIS.json")]
    genesis: Option<PathBuf>,
    /// Kinds of history to answer with empty replies, as a node that pruned them does (peers
    /// take them from other peers); comma-separated or repeated. snap/1 is served as without
    /// it. Default: none withheld.
    #[arg(long, value_name = "KIND", value_enum, value_delimiter = ',')]
    withhold: Vec<Withheld>,
}

/// A kind of history `--withhold` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Withheld {
    /// Block headers (GetBlockHeaders).
    Headers,
    /// Block bodies (GetBlockBodies).
    Bodies,
    /// Receipts (GetReceipts).
    Receipts,
}

impl From<Withheld> for HistoryKind {
    fn from(kind: Withheld) -> Self {
        match kind {
            Withheld::Headers => Self::Headers,
            Withheld::Bodies => Self::Bodies,
            Withheld::Receipts => Self::Receipts,
        }
    }
}

/// Runs `serve`.
///
/// # Errors
/// [`CliError::NothingToVerify`] without a data directory, [`CliError::ChainSpec`] for a
/// missing or invalid genesis file, [`CliError::Usage`] for an unreadable node key or an empty
/// store, [`CliError::Network`] when the address cannot be listened on; store and runtime
/// failures.
pub(crate) fn run(
    args: &ServeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let storage = Storage::open_read_only(&args.datadir)?;
    let genesis = args.genesis.clone().unwrap_or_else(|| args.datadir.join(GENESIS_FILE));
    let spec = ChainSpec::load(&genesis)?;
    let key = node_key(args.nodekey.as_deref())?;
    let (head, handler) = serving(&storage, &spec, err)?;
    let withheld: Vec<HistoryKind> = args.withhold.iter().map(|&kind| kind.into()).collect();
    let handler = Withholding::new(handler, &withheld);
    if !handler.withheld().is_empty() {
        let kinds: Vec<&str> = handler.withheld().iter().map(|kind| kind.name()).collect();
        writeln!(err, "withholding {}: answered with empty replies", kinds.join(", "))?;
    }
    let status = ChainStatus::new(&spec, head);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let network = Network::serving(key, status, NetworkConfig::default(), Arc::new(handler));
        let enode = network.listen(args.listen).await?;
        writeln!(out, "{enode}")?;
        out.flush()?;
        writeln!(err, "serving block {} ({}) on {}", head.number, head.hash, enode.addr)?;
        wait_for_signal().await?;
        writeln!(err, "shutting down")?;
        network.shutdown().await;
        for record in network.records() {
            writeln!(err, "{record}")?;
        }
        Ok(Outcome::Success)
    })
}

/// The stored head, and the handler serving the store (its finished state over snap/1, if it
/// has one).
///
/// # Errors
/// [`CliError::Usage`] for a store without headers; store failures.
fn serving(
    storage: &Storage,
    spec: &ChainSpec,
    err: &mut dyn Write,
) -> Result<(ChainHead, StoreHandler<dyn snapsync_db::Database>), CliError> {
    let view = storage.db.reader()?;
    let Some((number, rlp)) = view.last_header()? else {
        return Err(CliError::Usage(format!(
            "{} holds no headers: `snapsync import` a chain into it first",
            storage.label
        )));
    };
    let header = Header::decode(&mut rlp.as_ref())
        .map_err(|error| CliError::Corrupt(format!("stored header {number}: {error}")))?;
    let head = ChainHead {
        number,
        hash: keccak256(&rlp),
        timestamp: header.timestamp,
        total_difficulty: spec.terminal_total_difficulty().unwrap_or(U256::ZERO),
    };
    let snap = Arc::new(SnapServer::new(ServerLimits::default()));
    match stored_summary(&view)? {
        Some(summary) if summary.is_done() => {
            let pivot = summary.pivot;
            snap.add_state(pivot.state_root, Arc::clone(&storage.db))
                .map_err(|error| CliError::Corrupt(format!("the stored state: {error}")))?;
            writeln!(err, "state: block {} (root {}) over snap/1", pivot.number, pivot.state_root)?;
        }
        _ => writeln!(err, "state: none finished in {}; serving blocks only", storage.label)?,
    }
    drop(view);
    let handler = StoreHandler::new(Arc::clone(&storage.db), snap, ServerLimits::default());
    Ok((head, handler))
}

/// The node key in `path` (created when missing), or a fresh one.
///
/// # Errors
/// [`CliError::Usage`] for a file that is not 64 hex digits of a valid key, or that cannot be
/// read or written.
fn node_key(path: Option<&Path>) -> Result<NodeKey, CliError> {
    let Some(path) = path else { return Ok(NodeKey::generate()) };
    let usage = |what: String| CliError::Usage(format!("--nodekey {}: {what}", path.display()));
    if !path.exists() {
        let key = NodeKey::generate();
        let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(path, hex).map_err(|e| usage(format!("cannot write: {e}")))?;
        return Ok(key);
    }
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read: {e}")))?;
    let bytes: [u8; 32] = alloy_primitives::hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| usage("not 64 hex digits".to_owned()))?;
    NodeKey::from_bytes(&bytes).ok_or_else(|| usage("not a valid secp256k1 key".to_owned()))
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM.
///
/// # Errors
/// When the signal handlers cannot be installed.
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
