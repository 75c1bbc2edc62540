//! `snapsync sync --peer ENODE [--peer ENODE …] --genesis GENESIS.json [--tip HASH]
//! [--pivot-distance N]`: the same pipeline as the simulated sync, over real peers.
//!
//! A [`Network`] (snapsync-devp2p) dials every `--peer` (each handshake, Hello and Status —
//! network id, genesis and fork id from the genesis file — validated), and the default stages run
//! through it. The tip is `--tip` (trusted); without it, the highest head the peers announced in
//! their Status, which is taken on trust (said on stderr and in the JSON line's
//! `tip_on_trust`). `--pivot-distance` (default 64; 0 = the tip) lets a small chain whose peers
//! keep only their head state be synced. The report is the simulated sync's, with each peer's
//! counts (per kind: requests asked, answers, items) on stderr and in the JSON line's `peers`.

use super::{
    RETRY, SyncArgs, Timeouts, drive,
    report::{LeafVerdict, SyncReport},
    sync_failed, verdict_of_this_run, write_history, write_pipeline_line,
};
use crate::cli::{CliError, Outcome, datadir::Storage};
use alloy_primitives::{B256, U256};
use clap::Args;
use snapsync::DefaultStages;
use snapsync_chain_stages::History;
use snapsync_devp2p::{ChainStatus, Enode, Network, NetworkConfig, NodeKey, PeerRecord};
use snapsync_genesis::ChainSpec;
use snapsync_net::{PeerSource, RequestKind};
use snapsync_snap_sync::{SnapSyncConfig, stored_summary};
use snapsync_stages::Pipeline;
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};
use tokio::sync::watch;

/// The real-network options of `snapsync sync`.
#[derive(Debug, Args)]
pub(crate) struct WireArgs {
    /// Sync from this node over RLPx (enode://ID@HOST:PORT) instead of simulated peers;
    /// repeatable. Needs --genesis.
    #[arg(
        long = "peer",
        value_name = "ENODE",
        requires = "genesis",
        conflicts_with = "pivot_moves"
    )]
    peer: Vec<Enode>,
    /// The chain's genesis file (chain id, genesis hash and fork schedule for the Status
    /// exchange), with --peer; with --from-chain, the genesis of the chain file.
    #[arg(long, value_name = "GENESIS.json")]
    pub(super) genesis: Option<PathBuf>,
    /// The trusted tip's hash, with --peer. Default: the highest head the peers announce,
    /// taken on trust.
    #[arg(long, value_name = "HASH", requires = "peer")]
    tip: Option<B256>,
    /// Blocks between the tip and the pivot, with --peer (0: the tip's own state; at most 126).
    /// Default 64, or the --config file's pivot.distance. With --from-chain: blocks between the
    /// chain's head and the pivot (default 64).
    #[arg(long, value_name = "N")]
    pub(super) pivot_distance: Option<u64>,
}

impl WireArgs {
    /// Whether the sync is to run over real peers.
    pub(super) const fn is_set(&self) -> bool {
        !self.peer.is_empty()
    }
}

/// Over real peers the progress line shows no timeout count (the per-peer figures in the
/// report have them).
struct Untracked;

impl Timeouts for Untracked {
    fn timeouts(&self) -> u64 {
        0
    }
}

/// Syncs over real peers and prints the report (as the simulated `sync_and_report`).
///
/// # Errors
/// [`CliError::ChainSpec`] for the genesis file, [`CliError::Config`] for the pivot distance,
/// [`CliError::Network`] when no peer could be connected, [`CliError::Usage`] for a
/// post-merge history of a chain not proof-of-stake from its genesis; store, pipeline, runtime
/// and output failures.
pub(super) fn sync_and_report(
    args: &SyncArgs,
    mut config: SnapSyncConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let wire = &args.wire;
    let genesis = wire.genesis.as_ref().ok_or_else(|| {
        CliError::Usage("--peer needs --genesis (the chain's genesis file)".to_owned())
    })?;
    let spec = ChainSpec::load(genesis)?;
    if let Some(distance) = wire.pivot_distance {
        config.pivot.distance = distance;
        config.validate()?;
    }
    let merge_block = merge_block(&spec, args.history)?;
    let storage = if args.memory {
        Storage::memory()?
    } else {
        Storage::create(&args.datadir, super::cache_bytes(&config))?
    };
    if let Some(line) = storage.describe_open() {
        writeln!(err, "{line}")?;
    }
    let before = stored_summary(&storage.db.view()?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let network = Arc::new(Network::new(
        NodeKey::generate(),
        ChainStatus::at_genesis(&spec),
        NetworkConfig::default(),
    ));
    let started = Instant::now();
    let result = runtime.block_on(async {
        connect(&network, &wire.peer, err).await?;
        let (tip, on_trust) = choose_tip(&network, wire.tip, err)?;
        let (_tip_sender, tip) = watch::channel(tip);
        let stages = DefaultStages::new(Arc::clone(&network), tip, config, &storage.dir)?
            .with_history(args.history, merge_block);
        let progress = stages.progress();
        let mut pipeline =
            Pipeline::new(storage.db.clone(), stages.build()?).with_retry_policy(RETRY);
        write_pipeline_line(err, &pipeline, args.history)?;
        let mut view = super::display::ProgressView::new(std::io::stderr().is_terminal());
        let result = drive(&mut pipeline, &progress, &mut view, &mut Untracked, err).await;
        view.finish();
        network.shutdown().await;
        Ok::<_, CliError>((result, on_trust))
    });
    let elapsed = started.elapsed();
    let (result, on_trust) = result?;
    let failed = sync_failed(result, err)?;
    let records = network.records();
    for record in &records {
        writeln!(err, "{record}")?;
    }
    write_history(&storage.db.view()?, args.history, err)?;
    let summary = stored_summary(&storage.db.view()?)?;
    let check: Option<LeafVerdict> = match &summary {
        Some(summary) if summary.is_done() && !failed => {
            Some(verdict_of_this_run(&storage, summary, before.as_ref(), err)?)
        }
        _ => None,
    };
    let bytes = records.iter().map(|record| record.bytes).sum();
    let requests = records.iter().flat_map(|record| record.answered).sum();
    let report =
        SyncReport::new(summary.as_ref(), check, (bytes, requests), elapsed, before.is_some());
    if args.json {
        writeln!(out, "{}", json_line(&report, on_trust, &records))?;
    } else {
        report.write_human(out)?;
        if on_trust {
            writeln!(out, "tip taken on trust from the peers' Status (no --tip)")?;
        }
    }
    Ok(if report.verified && !failed { Outcome::Success } else { Outcome::Disagreement })
}

/// The chain's first proof-of-stake block, for the history below the pivot.
///
/// # Errors
/// [`CliError::Usage`] for `post-merge` on a chain that is not proof-of-stake from its genesis
/// (its merge block is not known from the genesis file alone).
fn merge_block(spec: &ChainSpec, history: History) -> Result<u64, CliError> {
    if spec.terminal_total_difficulty() == Some(U256::ZERO) || history != History::PostMerge {
        return Ok(0);
    }
    Err(CliError::Usage(
        "--history post-merge with --peer needs a chain that is proof-of-stake from its genesis \
         (terminalTotalDifficulty 0); use --history all or none"
            .to_owned(),
    ))
}

/// Dials every peer at once; each outcome on stderr.
///
/// # Errors
/// The last dial's error when no peer could be connected.
async fn connect(network: &Network, peers: &[Enode], err: &mut dyn Write) -> Result<(), CliError> {
    let dials: Vec<_> = peers
        .iter()
        .map(|&enode| {
            let network = network.clone();
            (enode, tokio::spawn(async move { network.dial(enode).await }))
        })
        .collect();
    let mut last_error = None;
    for (enode, dial) in dials {
        match dial.await {
            Ok(Ok(peer)) => writeln!(err, "peer {enode}: connected ({peer})")?,
            Ok(Err(error)) => {
                writeln!(err, "peer {enode}: not connected: {error}")?;
                last_error = Some(error);
            }
            Err(error) => writeln!(err, "peer {enode}: the dial failed: {error}")?,
        }
    }
    match (network.peer_count(), last_error) {
        (0, Some(error)) => Err(error.into()),
        (0, None) => Err(CliError::Usage("no peer could be connected".to_owned())),
        _ => Ok(()),
    }
}

/// The tip: `--tip`, or the highest head the peers announced (taken on trust).
///
/// # Errors
/// [`CliError::Usage`] when no peer announced a head.
fn choose_tip(
    network: &Network,
    tip: Option<B256>,
    err: &mut dyn Write,
) -> Result<(B256, bool), CliError> {
    if let Some(tip) = tip {
        writeln!(err, "tip: {tip} (--tip)")?;
        return Ok((tip, false));
    }
    let heads = network.peers().into_iter().filter_map(|peer| peer.head.map(|h| (peer.id, h)));
    let (peer, head) = heads
        .max_by_key(|(_, head)| head.number)
        .ok_or_else(|| CliError::Usage("no peer announced a head; pass --tip".to_owned()))?;
    let number =
        head.number.map_or_else(|| "number not announced".to_owned(), |n| format!("block {n}"));
    writeln!(
        err,
        "tip: {} ({number}) as announced by peer {peer}, taken on trust: no --tip was given",
        head.hash
    )?;
    Ok((head.hash, true))
}

/// The report's JSON line with the real network's fields: `tip_on_trust` and `peers` (each
/// peer's client, what it was asked, answered and items per kind, and how it ended).
fn json_line(report: &SyncReport, on_trust: bool, records: &[PeerRecord]) -> String {
    let line = report.json_line();
    let body = line.strip_suffix('}').unwrap_or(&line);
    let peers: Vec<String> = records.iter().map(peer_json).collect();
    format!(r#"{body},"tip_on_trust":{on_trust},"peers":[{}]}}"#, peers.join(","))
}

/// One peer as JSON: id, client, requests asked, answers and items per kind, bytes, why it
/// ended.
fn peer_json(record: &PeerRecord) -> String {
    let kinds: Vec<String> = RequestKind::ALL
        .iter()
        .map(|kind| {
            format!(
                r#""{}":{{"asked":{},"answers":{},"items":{}}}"#,
                kind.message_name(),
                record.asked(*kind),
                record.answered(*kind),
                record.items(*kind)
            )
        })
        .collect();
    let ended = record
        .ended
        .as_ref()
        .map_or_else(|| "null".to_owned(), |end| json_string(&end.to_string()));
    format!(
        r#"{{"id":"{}","client":{},"snap":{},"bytes":{},{},"ended":{ended}}}"#,
        record.id,
        json_string(&record.client),
        record.capabilities.snap,
        record.bytes,
        kinds.join(",")
    )
}

/// `text` as a JSON string (quotes, backslashes and control characters escaped).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
