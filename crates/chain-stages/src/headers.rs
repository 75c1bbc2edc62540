//! [`HeadersStage`]: the chain of headers from a trusted tip down to the pivot.
//!
//! # Trust
//!
//! Peers are not trusted; the tip hash is. It comes from outside (a consensus client's
//! forkchoice, through a [`watch`] channel), and everything else is derived from it by hash
//! links: the first header of a round must hash to the tip, and every next header (walking down)
//! must hash to the `parent_hash` of the one above it, with its number one below. A header that
//! passes is the canonical one whoever sent it; a reply that fails is proof of a bad peer. The
//! requests go through the stage's [`Fetcher`], which checks the replies
//! ([`verify_block_headers`](snapsync_fetch::verify_block_headers)), reports a bad peer
//! ([`Penalty::InvalidData`](snapsync_net::Penalty::InvalidData)), bans it, and asks the next
//! peer, with the timeouts, backoff and hedging of every other request.
//!
//! # Rounds and checkpoints
//!
//! A *round* downloads blocks `floor..=tip`: `floor` is the configured start
//! ([`HeadersConfig::start`]) on the first run and the last finished round's tip + 1 afterwards,
//! but never below the start (see [`StageStart`]). Each step `ready` fetches up to
//! `batch_size` headers falling from the next hash (the tip, then the lowest stored header's
//! parent hash) and verifies them; `execute` writes them (`Headers`, `HeaderNumbers`) and returns
//! the checkpoint, committed with them by the pipeline:
//!
//! - mid-round: `block_number` = the round's tip, progress `Entities { processed, total }`
//!   (headers stored from the tip down, headers in the round). The lowest stored header is then
//!   `tip + 1 - processed`; resuming reads its parent hash from the database and continues, so
//!   nothing committed is fetched again;
//! - round finished: `block_number` = the round's tip, no progress. When the lowest header of a
//!   round lands, its parent hash must be the stored hash of `floor - 1` (if that header is
//!   stored), or the stage fails fatally (a reorg below the checkpoint, not handled here).
//!
//! A later run with a tip already stored is done at once; a new tip starts a new round above
//! the checkpoint.
//!
//! # Starting after the pivot
//!
//! With [`HeadersConfig::after_stage`] (the snap sync stage's id, `snapsync_snap_sync::SNAP_SYNC`, in the default pipeline) the first
//! round's floor is the block after the one that stage's finished checkpoint reached, the block
//! after the pivot. That stage must have stored the pivot's header in `Headers` and
//! `HeaderNumbers` (as this stage encodes them): a round starting there fails fatally without it
//! ([`HeadersError::MissingAnchor`]), and the round's lowest header must link to it by hash like
//! to any stored header below a floor. A tip that is the pivot itself leaves nothing to download:
//! the stage finishes at the pivot.

use crate::{
    HeadersError, StageStart,
    stored::{decode_stored_header, store_header, stored_header},
};
use alloy_consensus::Header;
use alloy_primitives::{B256, Sealed};
use snapsync_fetch::{BlockHeadersRequest, Fetcher};
use snapsync_stages::{
    EntitiesCheckpoint, ExecInput, ExecOutput, Stage, StageCheckpoint, StageError, StageId,
    StageProgress, UnwindInput, UnwindOutput, wait_for_tip,
};
use snapsync_storage::{StateRead, StateStore, StateWrite};
use std::sync::Arc;
use tokio::sync::watch;
use tracing::{debug, info};

/// Settings of the [`HeadersStage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadersConfig {
    /// The lowest block to download: a fixed block (the pivot, or 1 for a full chain) or the
    /// block after another stage's checkpoint (the snap sync pivot + 1). The first run starts
    /// there and no round goes below it.
    pub start: StageStart,
    /// Headers per request and per committed step.
    pub batch_size: u64,
}

impl HeadersConfig {
    /// Headers from block `start` up, in batches of 512.
    pub const fn new(start: u64) -> Self {
        Self::starting(StageStart::Block(start))
    }

    /// Headers from the block after the one `stage`'s finished checkpoint reached (for
    /// the snap sync stage: the pivot + 1), in batches of 512.
    pub const fn after_stage(stage: StageId) -> Self {
        Self::starting(StageStart::AfterStage(stage))
    }

    /// Headers from `start` up, in batches of 512.
    pub const fn starting(start: StageStart) -> Self {
        Self { start, batch_size: 512 }
    }
}

/// The part of a chain a round downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Round {
    tip: u64,
    floor: u64,
}

/// Where the next request starts.
#[derive(Debug)]
enum Cursor {
    /// Nothing to do; finish at this checkpoint.
    Done(StageCheckpoint),
    /// A new round from the tip hash down to `floor`.
    NewRound { tip: B256, floor: u64 },
    /// The round continues at `hash`, block `number`.
    Continue { round: Round, hash: B256, number: u64 },
}

/// What `ready` leaves for `execute`.
#[derive(Debug)]
enum Pending {
    Done(StageCheckpoint),
    /// Verified headers, falling and linked, all within `round`.
    Batch {
        round: Round,
        headers: Vec<Sealed<Header>>,
    },
}

/// Downloads and verifies headers from a trusted tip down to a start block. See the module docs.
#[derive(Debug)]
pub struct HeadersStage {
    fetcher: Arc<Fetcher>,
    tip: watch::Receiver<B256>,
    config: HeadersConfig,
    pending: Option<Pending>,
}

impl HeadersStage {
    /// A headers stage asking peers through `fetcher` (in a pipeline with the snap sync stage,
    /// that stage's `SnapSyncStage::fetcher`, so that one peer set scores, rests and bans the
    /// peers for every request), following the tip hashes sent on `tip` (`B256::ZERO`: none
    /// yet; the stage waits for one). Its stored headers it reads through the views the
    /// pipeline hands it.
    pub const fn new(
        fetcher: Arc<Fetcher>,
        tip: watch::Receiver<B256>,
        config: HeadersConfig,
    ) -> Self {
        Self { fetcher, tip, config, pending: None }
    }

    /// Where the stage's work begins: a fixed block, or after another stage (which must then
    /// have finished before this stage runs).
    pub const fn start(&self) -> &StageStart {
        &self.config.start
    }

    /// The current tip, waiting for the first one.
    async fn current_tip(&mut self) -> Result<B256, HeadersError> {
        wait_for_tip(&mut self.tip).await.ok_or(HeadersError::TipChannelClosed)
    }

    /// Where to continue, from the checkpoint and the stored headers.
    fn cursor(
        &self,
        view: &(impl StateRead + ?Sized),
        input: &ExecInput,
        tip: B256,
    ) -> Result<Cursor, StageError> {
        if let Some(checkpoint) = &input.checkpoint {
            if let Some(StageProgress::Entities(progress)) = &checkpoint.progress {
                return resume_round(view, checkpoint.block_number, progress);
            }
            if view.header_number(&tip)?.is_some() {
                return Ok(Cursor::Done(checkpoint.clone()));
            }
        }
        let start = self.config.start.first_block(view)?;
        let floor = input
            .checkpoint
            .as_ref()
            .map_or(start, |checkpoint| (checkpoint.block_number + 1).max(start));
        if floor == start
            && let Some(stage) = self.config.start.after()
        {
            // The start comes from `stage`, which stored the header below it.
            let anchor = start.saturating_sub(1);
            if view.header(anchor)?.is_none() {
                return Err(
                    HeadersError::MissingAnchor { stage: stage.clone(), number: anchor }.into()
                );
            }
            if view.header_number(&tip)? == Some(anchor) {
                return Ok(Cursor::Done(StageCheckpoint::new(anchor)));
            }
        }
        Ok(Cursor::NewRound { tip, floor })
    }

    /// Up to `limit` verified headers falling from `hash`; see [`fetch_falling`].
    async fn fetch(
        &self,
        hash: B256,
        number: Option<u64>,
        limit: u64,
    ) -> Result<Vec<Sealed<Header>>, HeadersError> {
        fetch_falling(&self.fetcher, hash, number, limit).await
    }
}

/// Where an unfinished round continues: below its lowest stored header.
fn resume_round(
    view: &(impl StateRead + ?Sized),
    block: u64,
    progress: &EntitiesCheckpoint,
) -> Result<Cursor, StageError> {
    let EntitiesCheckpoint { processed, total } = *progress;
    let bad = HeadersError::BadCheckpoint { block, processed, total };
    let floor = (block + 1).checked_sub(total).filter(|_| total > 0);
    let lowest = (block + 1).checked_sub(processed).filter(|_| processed > 0);
    let (Some(floor), Some(lowest)) = (floor, lowest) else {
        return Err(bad.into());
    };
    if lowest <= floor {
        return Err(bad.into());
    }
    let header = stored_header(view, lowest)?;
    Ok(Cursor::Continue {
        round: Round { tip: block, floor },
        hash: header.parent_hash,
        number: lowest - 1,
    })
}

/// Up to `limit` headers falling from `hash` (block `number`, when known), linked by hash from
/// it, through `fetcher`: it asks one peer after another until a reply verifies, banning and
/// reporting the peers whose reply is provably wrong.
async fn fetch_falling(
    fetcher: &Fetcher,
    hash: B256,
    number: Option<u64>,
    limit: u64,
) -> Result<Vec<Sealed<Header>>, HeadersError> {
    let request = BlockHeadersRequest::falling(hash, number, limit);
    match fetcher.block_headers(request).await {
        Ok(headers) => Ok(headers.into_headers()),
        Err(source) => Err(HeadersError::NoPeerDelivered { hash, number, source }),
    }
}

impl<S: StateStore + ?Sized> Stage<S> for HeadersStage {
    fn id(&self) -> StageId {
        StageId::HEADERS
    }

    async fn ready(&mut self, view: &S::Reader, input: ExecInput) -> Result<(), StageError> {
        self.pending = None;
        let tip = self.current_tip().await?;
        let batch = self.config.batch_size.max(1);
        let pending = match self.cursor(view, &input, tip)? {
            Cursor::Done(checkpoint) => Pending::Done(checkpoint),
            Cursor::Continue { round, hash, number } => {
                let limit = batch.min(number - round.floor + 1);
                let headers = self.fetch(hash, Some(number), limit).await?;
                Pending::Batch { round, headers }
            }
            Cursor::NewRound { tip, floor } => {
                let mut headers = self.fetch(tip, None, batch).await?;
                let number = headers.first().map_or(0, |header| header.number);
                if number < floor {
                    return Err(HeadersError::TipBelowFloor { tip, number, floor }.into());
                }
                headers.retain(|header| header.number >= floor);
                info!(target: "sync::headers", %tip, number, floor, "new round");
                Pending::Batch { round: Round { tip: number, floor }, headers }
            }
        };
        self.pending = Some(pending);
        Ok(())
    }

    fn execute(
        &mut self,
        txn: &mut S::Writer,
        _input: ExecInput,
    ) -> Result<ExecOutput, StageError> {
        let (round, headers) = match self.pending.take() {
            None => return Err(HeadersError::NotReady.into()),
            Some(Pending::Done(checkpoint)) => return Ok(ExecOutput::done(checkpoint)),
            Some(Pending::Batch { round, headers }) => (round, headers),
        };
        let Some(lowest) = headers.last() else { return Err(HeadersError::NotReady.into()) };
        for header in &headers {
            store_header(txn, header)?;
        }
        let checkpoint = StageCheckpoint::new(round.tip);
        debug!(target: "sync::headers", lowest = lowest.number, tip = round.tip, count = headers.len(), "headers written");
        if lowest.number > round.floor {
            let progress = EntitiesCheckpoint {
                processed: round.tip - lowest.number + 1,
                total: round.tip - round.floor + 1,
            };
            return Ok(ExecOutput::in_progress(
                checkpoint.with_progress(StageProgress::Entities(progress)),
            ));
        }
        if let Some(below) = lowest.number.checked_sub(1)
            && txn.header(below)?.is_some()
        {
            let stored = stored_header(txn, below)?.hash_slow();
            if stored != lowest.parent_hash {
                return Err(HeadersError::DoesNotConnect {
                    number: lowest.number,
                    parent: lowest.parent_hash,
                    stored,
                }
                .into());
            }
        }
        info!(target: "sync::headers", tip = round.tip, floor = round.floor, "round finished");
        Ok(ExecOutput::done(checkpoint))
    }

    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        self.pending = None;
        // Mid-round the stored headers hang from the tip, not from below: drop the whole round.
        let keep = match input.checkpoint.progress {
            Some(StageProgress::Entities(EntitiesCheckpoint { total, .. })) => input
                .unwind_to
                .min((input.checkpoint.block_number + 1).saturating_sub(total).saturating_sub(1)),
            _ => input.unwind_to,
        };
        let mut doomed = Vec::new();
        for entry in txn.headers((keep + 1..).into())? {
            let (number, rlp) = entry?;
            let header = decode_stored_header(number, &rlp)?;
            doomed.push((number, header.hash_slow()));
        }
        for (number, hash) in &doomed {
            txn.delete_header(*number, hash)?;
        }
        info!(target: "sync::headers", to = keep, removed = doomed.len(), "unwound");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(keep) })
    }
}
