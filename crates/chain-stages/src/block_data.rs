//! [`BlockDataStage`]: what belongs to the stored headers and is checked against them — bodies
//! ([`Bodies`]) and receipts ([`Receipts`]) — fetched, verified and stored block by block.
//!
//! # Trust
//!
//! The headers stage stored only headers linked to the trusted tip, and a header commits to its
//! block's data: to its body through the transactions root, ommers hash and withdrawals root
//! ([`verify_body`](snapsync_fetch::verify_body)), to its receipts through the receipts root
//! ([`verify_receipts`](snapsync_fetch::verify_receipts)). Data that matches its stored header is
//! the block's, whoever sent it, and data that does not is proof of a bad peer. The requests go
//! through the stage's [`Fetcher`], which checks the replies, reports and bans a bad peer and
//! asks the next one, with the timeouts, backoff and hedging of every other request. An empty
//! answer (the peer lacks the blocks) is not a fault: the peer is marked and the request goes to
//! another; after a short answer the missing blocks are asked for again.
//!
//! # Steps and checkpoints
//!
//! The stage works upwards from its checkpoint (or from the lowest stored header on its first
//! run), never below its configured start ([`BlockDataConfig::start`]), up to its end
//! ([`BlockDataConfig::end`]: by default the headers stage's finished checkpoint, the tip; for
//! receipts in the default pipeline, the snap sync pivot, above which execution makes them).
//! Each step `ready` reads up to `batch_size` stored headers, requests their data by hash and
//! verifies it; `execute` writes the verified prefix (by block number) and returns the highest
//! block written as the checkpoint, done when it is the end. Resuming continues above the
//! checkpoint, so nothing stored is fetched again.

use crate::{BlockDataError, StageStart, start::committed_block, stored::stored_header};
use alloy_consensus::Header;
use alloy_primitives::{Bytes, Sealable, Sealed};
use snapsync_fetch::{BlockBodiesRequest, BlockReceiptsRequest, FetchError, Fetcher};
use snapsync_net::{EthBlockBody, EthReceipt};
use snapsync_stages::{
    ExecInput, ExecOutput, Stage, StageCheckpoint, StageError, StageId, UnwindInput, UnwindOutput,
};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite, StoreError};
use std::{future::Future, marker::PhantomData, sync::Arc};
use tracing::{debug, info};

/// A kind of per-block data the [`BlockDataStage`] fetches: how it is asked for, stored and
/// removed.
pub trait BlockData: Send + Sync + 'static {
    /// One block's data, verified against its header.
    type Item: Send + Sync + std::fmt::Debug + 'static;
    /// The stage's id.
    const STAGE: StageId;
    /// What it is, in logs and errors ("bodies", "receipts").
    const NAME: &'static str;
    /// Items per committed step (and most per request) by default.
    const DEFAULT_BATCH: u64;

    /// Verified data of a prefix (at least the first) of `headers`' blocks, through `fetcher`.
    fn fetch(
        fetcher: &Fetcher,
        headers: Vec<Sealed<Header>>,
    ) -> impl Future<Output = Result<Vec<Self::Item>, FetchError>> + Send;

    /// Stores block `number`'s data.
    fn put<W: StateWrite + ?Sized>(
        txn: &mut W,
        number: u64,
        item: &Self::Item,
    ) -> Result<(), StoreError>;

    /// The numbers of the blocks in `range` with stored data.
    fn stored<R: StateRead + ?Sized>(
        view: &R,
        range: KeyRange<u64>,
    ) -> Result<Vec<u64>, StoreError>;

    /// Removes block `number`'s data.
    fn delete<W: StateWrite + ?Sized>(txn: &mut W, number: u64) -> Result<bool, StoreError>;
}

/// Block bodies: transactions, ommers and withdrawals, checked against the header's roots.
#[derive(Debug)]
pub struct Bodies;

impl BlockData for Bodies {
    type Item = EthBlockBody;
    const STAGE: StageId = StageId::BODIES;
    const NAME: &'static str = "bodies";
    /// eth's soft limit per request.
    const DEFAULT_BATCH: u64 = 128;

    async fn fetch(
        fetcher: &Fetcher,
        headers: Vec<Sealed<Header>>,
    ) -> Result<Vec<EthBlockBody>, FetchError> {
        Ok(fetcher.block_bodies(BlockBodiesRequest::new(headers)).await?.into_bodies())
    }

    fn put<W: StateWrite + ?Sized>(
        txn: &mut W,
        number: u64,
        body: &EthBlockBody,
    ) -> Result<(), StoreError> {
        txn.put_body(number, &Bytes::from(alloy_rlp::encode(body)))
    }

    fn stored<R: StateRead + ?Sized>(
        view: &R,
        range: KeyRange<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        view.bodies(range)?.map(|entry| entry.map(|(number, _)| number)).collect()
    }

    fn delete<W: StateWrite + ?Sized>(txn: &mut W, number: u64) -> Result<bool, StoreError> {
        txn.delete_body(number)
    }
}

/// Block receipts, checked against the header's receipts root.
#[derive(Debug)]
pub struct Receipts;

impl BlockData for Receipts {
    type Item = Vec<EthReceipt>;
    const STAGE: StageId = StageId::RECEIPTS;
    const NAME: &'static str = "receipts";
    /// eth's soft limit per request.
    const DEFAULT_BATCH: u64 = 128;

    async fn fetch(
        fetcher: &Fetcher,
        headers: Vec<Sealed<Header>>,
    ) -> Result<Vec<Vec<EthReceipt>>, FetchError> {
        Ok(fetcher.block_receipts(BlockReceiptsRequest::new(headers)).await?.into_receipts())
    }

    fn put<W: StateWrite + ?Sized>(
        txn: &mut W,
        number: u64,
        receipts: &Vec<EthReceipt>,
    ) -> Result<(), StoreError> {
        txn.put_block_receipts(number, &Bytes::from(alloy_rlp::encode(receipts)))
    }

    fn stored<R: StateRead + ?Sized>(
        view: &R,
        range: KeyRange<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        view.block_receipts_range(range)?.map(|entry| entry.map(|(number, _)| number)).collect()
    }

    fn delete<W: StateWrite + ?Sized>(txn: &mut W, number: u64) -> Result<bool, StoreError> {
        txn.delete_block_receipts(number)
    }
}

/// The last block a [`BlockDataStage`] covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BlockDataEnd {
    /// The headers stage's finished checkpoint: the tip.
    HeadersTip,
    /// The block another stage's checkpoint reached, but at most the headers' tip (for
    /// receipts: the snap sync pivot; above it, execution makes them). The stage may still be
    /// running (the stage is then [alongside](snapsync_stages::StageSetBuilder::alongside) it):
    /// its committed block so far is the end (the pivot chosen so far), and before it has
    /// committed a block there is nothing to do yet; the pipeline runs this stage again once
    /// the other has finished, up to its final block.
    AtStage(StageId),
}

/// Settings of a [`BlockDataStage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDataConfig {
    /// The lowest block whose data is fetched (never below the lowest stored header either): a
    /// fixed block, or the block after another stage's checkpoint (the snap sync pivot + 1).
    pub start: StageStart,
    /// The last block whose data is fetched. Default [`BlockDataEnd::HeadersTip`].
    pub end: BlockDataEnd,
    /// Blocks per committed step (and most per request). Default the kind's
    /// ([`BlockData::DEFAULT_BATCH`]).
    pub batch_size: u64,
}

impl BlockDataConfig {
    /// Data of every stored header up to the headers' tip (start block 0), in batches of
    /// `batch_size`.
    pub const fn new(batch_size: u64) -> Self {
        Self { start: StageStart::Block(0), end: BlockDataEnd::HeadersTip, batch_size }
    }

    /// The defaults, with data from the block after the one `stage`'s finished checkpoint
    /// reached (for the snap sync stage: the pivot + 1) up to the headers' tip.
    pub fn after_stage(stage: StageId) -> Self {
        Self { start: StageStart::AfterStage(stage), ..Self::default() }
    }
}

/// Settings of the bodies stage ([`BlockDataConfig`] with bodies' batch size by default).
pub type BodiesConfig = BlockDataConfig;

impl Default for BlockDataConfig {
    /// Every stored header's data, 128 blocks per step.
    fn default() -> Self {
        Self::new(128)
    }
}

/// What `ready` leaves for `execute`.
#[derive(Debug)]
enum Pending<T> {
    Done(StageCheckpoint),
    /// Verified data of blocks `first..`, the stage's end being `end`.
    Batch {
        first: u64,
        end: u64,
        items: Vec<T>,
    },
}

/// The next batch to fetch, read from the store.
enum Plan {
    Done(StageCheckpoint),
    Fetch { end: u64, headers: Vec<Sealed<Header>> },
}

/// Downloads and verifies one kind of data of the stored headers. See the module docs.
#[derive(Debug)]
pub struct BlockDataStage<D: BlockData> {
    fetcher: Arc<Fetcher>,
    config: BlockDataConfig,
    pending: Option<Pending<D::Item>>,
    kind: PhantomData<D>,
}

/// The stage that downloads the bodies of the stored headers.
pub type BodiesStage = BlockDataStage<Bodies>;

/// The stage that downloads the receipts of the stored headers (below the pivot, in the
/// default pipeline).
pub type ReceiptsStage = BlockDataStage<Receipts>;

impl<D: BlockData> BlockDataStage<D> {
    /// A stage asking peers through `fetcher` (in a pipeline with the snap sync stage, that
    /// stage's `SnapSyncStage::fetcher`) for the data of the stored headers (read through the
    /// views the pipeline hands it) from `config.start` to `config.end`.
    pub const fn new(fetcher: Arc<Fetcher>, config: BlockDataConfig) -> Self {
        Self { fetcher, config, pending: None, kind: PhantomData }
    }

    /// Where the stage's work begins: a fixed block, or after another stage (which must then
    /// have finished before this stage runs).
    pub const fn start(&self) -> &StageStart {
        &self.config.start
    }

    /// The highest block to cover: the headers' finished tip, or the named stage's block below
    /// it; `None` while the headers stage is mid-round or has not run.
    fn end_block(&self, view: &(impl StateRead + ?Sized)) -> Result<Option<u64>, StageError> {
        let Some(bytes) = view.checkpoint(StageId::HEADERS.as_str())? else { return Ok(None) };
        let headers = StageCheckpoint::decode(&bytes).map_err(BlockDataError::from)?;
        if headers.progress.is_some() {
            // The headers stage is mid-round: its stored headers do not reach down yet.
            return Ok(None);
        }
        Ok(Some(match &self.config.end {
            BlockDataEnd::HeadersTip => headers.block_number,
            BlockDataEnd::AtStage(stage) => match committed_block(view, stage)? {
                Some(block) => block.min(headers.block_number),
                None => return Ok(None),
            },
        }))
    }

    fn plan(
        &self,
        view: &(impl StateRead + ?Sized),
        input: &ExecInput,
    ) -> Result<Plan, StageError> {
        let current = input.checkpoint();
        let Some(end) = self.end_block(view)? else { return Ok(Plan::Done(current)) };
        let lowest_stored = view.first_header()?.map_or(0, |(number, _)| number);
        let start = self.config.start.first_block(view)?;
        let next = input
            .checkpoint
            .as_ref()
            .map_or(0, |checkpoint| checkpoint.block_number + 1)
            .max(lowest_stored)
            .max(start);
        if next > end {
            return Ok(Plan::Done(StageCheckpoint::new(current.block_number.max(end))));
        }
        let last = end.min(next.saturating_add(self.config.batch_size.max(1) - 1));
        let headers = (next..=last)
            .map(|number| stored_header(view, number).map(Header::seal_slow))
            .collect::<Result<_, _>>()?;
        Ok(Plan::Fetch { end, headers })
    }

    /// Verified data for `headers`, in order, through the fetcher: after a short reply the rest
    /// is asked for again, until all are in or a request fails. A failure after some data came
    /// in ends the batch there (the rest is the next step's).
    async fn fetch(&self, headers: &[Sealed<Header>]) -> Result<Vec<D::Item>, FetchError> {
        let mut items: Vec<D::Item> = Vec::with_capacity(headers.len());
        while let Some(wanted) = headers.get(items.len()..).filter(|wanted| !wanted.is_empty()) {
            match D::fetch(&self.fetcher, wanted.to_vec()).await {
                Ok(verified) => items.extend(verified),
                Err(error) if items.is_empty() => return Err(error),
                Err(error) => {
                    debug!(target: "sync::blocks", kind = D::NAME, got = items.len(), %error, "batch cut short");
                    break;
                }
            }
        }
        Ok(items)
    }
}

impl<S: StateStore + ?Sized, D: BlockData> Stage<S> for BlockDataStage<D> {
    fn id(&self) -> StageId {
        D::STAGE
    }

    async fn ready(&mut self, view: &S::Reader, input: ExecInput) -> Result<(), StageError> {
        self.pending = None;
        let (end, headers) = match self.plan(view, &input)? {
            Plan::Done(checkpoint) => {
                self.pending = Some(Pending::Done(checkpoint));
                return Ok(());
            }
            Plan::Fetch { end, headers } => (end, headers),
        };
        let (first, last) = match (headers.first(), headers.last()) {
            (Some(first), Some(last)) => (first.number, last.number),
            _ => return Err(BlockDataError::NotReady.into()),
        };
        let items = self.fetch(&headers).await.map_err(|source| {
            BlockDataError::NoPeerDelivered { kind: D::NAME, from: first, to: last, source }
        })?;
        if items.is_empty() {
            return Err(BlockDataError::NotReady.into());
        }
        self.pending = Some(Pending::Batch { first, end, items });
        Ok(())
    }

    fn execute(
        &mut self,
        txn: &mut S::Writer,
        _input: ExecInput,
    ) -> Result<ExecOutput, StageError> {
        let (first, end, items) = match self.pending.take() {
            None => return Err(BlockDataError::NotReady.into()),
            Some(Pending::Done(checkpoint)) => return Ok(ExecOutput::done(checkpoint)),
            Some(Pending::Batch { first, end, items }) => (first, end, items),
        };
        let mut last = first;
        for (number, item) in (first..).zip(&items) {
            D::put(txn, number, item)?;
            last = number;
        }
        debug!(target: "sync::blocks", kind = D::NAME, first, last, "written");
        let checkpoint = StageCheckpoint::new(last);
        if last >= end {
            info!(target: "sync::blocks", kind = D::NAME, end, "complete");
            return Ok(ExecOutput::done(checkpoint));
        }
        Ok(ExecOutput::in_progress(checkpoint))
    }

    fn unwind(
        &mut self,
        txn: &mut S::Writer,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        self.pending = None;
        let doomed = D::stored(txn, KeyRange::from(input.unwind_to + 1..))?;
        for number in &doomed {
            D::delete(txn, *number)?;
        }
        info!(target: "sync::blocks", kind = D::NAME, to = input.unwind_to, removed = doomed.len(), "unwound");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}
