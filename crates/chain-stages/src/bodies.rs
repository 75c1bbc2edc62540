//! [`BodiesStage`]: the bodies of the stored headers, each checked against its header.
//!
//! # Trust
//!
//! The headers stage stored only headers linked to the trusted tip, and a header commits to its
//! body (transactions root, ommers hash, withdrawals root; see [`verify_body`]). So a body that
//! matches its stored header is the block's body whoever sent it, and one that does not is proof
//! of a bad peer. The requests go through the stage's [`Fetcher`], which checks the replies
//! ([`verify_block_bodies`](snapsync_fetch::verify_block_bodies)), reports and bans a bad peer
//! and asks the next one, with the timeouts, backoff and hedging of every other request. An
//! empty answer (the peer lacks the blocks) is not a fault: the peer is marked and the bodies go
//! to another; after a short answer the missing bodies are asked for again.
//!
//! # Steps and checkpoints
//!
//! The stage works upwards from its checkpoint (or from the lowest stored header on its first
//! run) to the headers stage's finished checkpoint, read from `StageCheckpoints`, never below its
//! configured start ([`BodiesConfig::start`]: by default none; after the snap sync stage, the
//! pivot + 1, so the pivot's header, stored by that stage, gets no body). Each step
//! `ready` reads up to `batch_size` headers, requests their bodies by hash and verifies them;
//! `execute` writes the verified prefix (`Bodies`, body RLP by number) and returns the highest
//! block written as the checkpoint, done when it is the headers' tip. Resuming continues above
//! the checkpoint, so no stored body is fetched again.

use crate::{BodiesError, StageStart, stored::stored_header};
use alloy_consensus::Header;
use alloy_primitives::{Bytes, Sealable, Sealed};
use snapsync_fetch::{BlockBodiesRequest, FetchError, Fetcher};
use snapsync_net::EthBlockBody;
use snapsync_stages::{
    ExecInput, ExecOutput, Stage, StageCheckpoint, StageError, StageId, UnwindInput, UnwindOutput,
};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use std::sync::Arc;
use tracing::{debug, info};

/// Settings of the [`BodiesStage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodiesConfig {
    /// The lowest block whose body is fetched (bodies are never fetched below the lowest stored
    /// header either): a fixed block, or the block after another stage's checkpoint (the snap
    /// sync pivot + 1).
    pub start: StageStart,
    /// Bodies per committed step (and most per request).
    pub batch_size: u64,
}

impl BodiesConfig {
    /// The defaults, with bodies from the block after the one `stage`'s finished checkpoint
    /// reached (for the snap sync stage: the pivot + 1).
    pub fn after_stage(stage: StageId) -> Self {
        Self { start: StageStart::AfterStage(stage), ..Self::default() }
    }
}

impl Default for BodiesConfig {
    /// Bodies of every stored header (start block 0), 128 per step (eth's soft limit per
    /// request).
    fn default() -> Self {
        Self { start: StageStart::Block(0), batch_size: 128 }
    }
}

/// What `ready` leaves for `execute`.
#[derive(Debug)]
enum Pending {
    Done(StageCheckpoint),
    /// Verified bodies of blocks `first..`, the headers' tip being `tip`.
    Batch {
        first: u64,
        tip: u64,
        bodies: Vec<EthBlockBody>,
    },
}

/// Downloads and verifies the bodies of the stored headers. See the module docs.
#[derive(Debug)]
pub struct BodiesStage {
    fetcher: Arc<Fetcher>,
    config: BodiesConfig,
    pending: Option<Pending>,
}

/// The next batch to fetch, read from the database.
enum Plan {
    Done(StageCheckpoint),
    Fetch { tip: u64, headers: Vec<Sealed<Header>> },
}

impl BodiesStage {
    /// A bodies stage asking peers through `fetcher` (in a pipeline with the snap sync stage,
    /// that stage's `SnapSyncStage::fetcher`) for the bodies of the stored headers (read
    /// through the views the pipeline hands it) below the headers stage's checkpoint.
    pub const fn new(fetcher: Arc<Fetcher>, config: BodiesConfig) -> Self {
        Self { fetcher, config, pending: None }
    }

    fn plan(
        &self,
        view: &(impl StateRead + ?Sized),
        input: &ExecInput,
    ) -> Result<Plan, StageError> {
        let current = input.checkpoint();
        let headers_checkpoint = match view.checkpoint(StageId::HEADERS.as_str())? {
            Some(bytes) => StageCheckpoint::decode(&bytes).map_err(BodiesError::from)?,
            None => return Ok(Plan::Done(current)),
        };
        if headers_checkpoint.progress.is_some() {
            // The headers stage is mid-round: its stored headers do not reach down yet.
            return Ok(Plan::Done(current));
        }
        let tip = headers_checkpoint.block_number;
        let lowest_stored = view.first_header()?.map_or(0, |(number, _)| number);
        let start = self.config.start.first_block(view)?;
        let next = match &input.checkpoint {
            Some(checkpoint) => checkpoint.block_number + 1,
            None => 0,
        }
        .max(lowest_stored)
        .max(start);
        if next > tip {
            return Ok(Plan::Done(StageCheckpoint::new(current.block_number.max(tip))));
        }
        let last = tip.min(next.saturating_add(self.config.batch_size.max(1) - 1));
        let mut headers = Vec::new();
        for number in next..=last {
            headers.push(stored_header(view, number)?.seal_slow());
        }
        Ok(Plan::Fetch { tip, headers })
    }

    /// Verified bodies for `headers`, in order, through the fetcher: after a short reply the
    /// rest is asked for again, until all are in or a request fails. A failure after some bodies
    /// came in ends the batch there (the rest is the next step's).
    async fn fetch(&self, headers: &[Sealed<Header>]) -> Result<Vec<EthBlockBody>, FetchError> {
        let mut bodies: Vec<EthBlockBody> = Vec::with_capacity(headers.len());
        while let Some(wanted) = headers.get(bodies.len()..).filter(|wanted| !wanted.is_empty()) {
            let request = BlockBodiesRequest::new(wanted.to_vec());
            match self.fetcher.block_bodies(request).await {
                Ok(verified) => bodies.extend(verified.into_bodies()),
                Err(error) if bodies.is_empty() => return Err(error),
                Err(error) => {
                    debug!(target: "sync::bodies", got = bodies.len(), %error, "batch cut short");
                    break;
                }
            }
        }
        Ok(bodies)
    }
}

impl<S: StateStore + ?Sized> Stage<S> for BodiesStage {
    fn id(&self) -> StageId {
        StageId::BODIES
    }

    async fn ready(&mut self, view: &S::Reader, input: ExecInput) -> Result<(), StageError> {
        self.pending = None;
        let (tip, headers) = match self.plan(view, &input)? {
            Plan::Done(checkpoint) => {
                self.pending = Some(Pending::Done(checkpoint));
                return Ok(());
            }
            Plan::Fetch { tip, headers } => (tip, headers),
        };
        let (first, last) = match (headers.first(), headers.last()) {
            (Some(first), Some(last)) => (first.number, last.number),
            _ => return Err(BodiesError::NotReady.into()),
        };
        let bodies = self.fetch(&headers).await.map_err(|source| BodiesError::NoPeerDelivered {
            from: first,
            to: last,
            source,
        })?;
        if bodies.is_empty() {
            return Err(BodiesError::NotReady.into());
        }
        self.pending = Some(Pending::Batch { first, tip, bodies });
        Ok(())
    }

    fn execute(
        &mut self,
        txn: &mut S::Writer,
        _input: ExecInput,
    ) -> Result<ExecOutput, StageError> {
        let (first, tip, bodies) = match self.pending.take() {
            None => return Err(BodiesError::NotReady.into()),
            Some(Pending::Done(checkpoint)) => return Ok(ExecOutput::done(checkpoint)),
            Some(Pending::Batch { first, tip, bodies }) => (first, tip, bodies),
        };
        let mut last = first;
        for (number, body) in (first..).zip(&bodies) {
            txn.put_body(number, &Bytes::from(alloy_rlp::encode(body)))?;
            last = number;
        }
        debug!(target: "sync::bodies", first, last, "bodies written");
        let checkpoint = StageCheckpoint::new(last);
        if last >= tip {
            info!(target: "sync::bodies", tip, "bodies complete");
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
        let mut doomed = Vec::new();
        for entry in txn.bodies(KeyRange::from(input.unwind_to + 1..))? {
            doomed.push(entry?.0);
        }
        for number in &doomed {
            txn.delete_body(*number)?;
        }
        info!(target: "sync::bodies", to = input.unwind_to, removed = doomed.len(), "unwound");
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}
