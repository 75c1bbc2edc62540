//! Requests in flight: spawned so that verification runs on every core, bounded in number.

use crate::SnapSyncError;
use snapsync_fetch::FetchError;
use std::future::Future;
use tokio::task::JoinSet;

/// Spawned fetches, each tagged with the work item it serves.
#[derive(Debug)]
pub(crate) struct InFlight<W, T> {
    tasks: JoinSet<(W, Result<T, FetchError>)>,
    limit: usize,
}

impl<W: Send + 'static, T: Send + 'static> InFlight<W, T> {
    /// At most `limit` (at least one) requests at once.
    pub(crate) fn new(limit: usize) -> Self {
        Self { tasks: JoinSet::new(), limit: limit.max(1) }
    }

    /// Lets the requests in flight run to their end unwatched: their answers are dropped, but
    /// each is still verified and its peer judged (a hostile reply is penalised, a lease is
    /// handed back as it ends), which aborting them would skip.
    pub(crate) fn detach(mut self) {
        self.tasks.detach_all();
    }

    /// Whether another request may start.
    pub(crate) fn has_room(&self) -> bool {
        self.tasks.len() < self.limit
    }

    /// Starts `fetch` for `work`.
    pub(crate) fn spawn<F>(&mut self, work: W, fetch: F)
    where
        F: Future<Output = Result<T, FetchError>> + Send + 'static,
    {
        self.tasks.spawn(async move { (work, fetch.await) });
    }

    /// The next finished request, `None` when none is in flight.
    ///
    /// # Errors
    /// [`SnapSyncError::TaskFailed`] when a request task panicked or was cancelled.
    pub(crate) async fn next(
        &mut self,
    ) -> Result<Option<(W, Result<T, FetchError>)>, SnapSyncError> {
        match self.tasks.join_next().await {
            None => Ok(None),
            Some(Ok(done)) => Ok(Some(done)),
            Some(Err(error)) => Err(SnapSyncError::TaskFailed { reason: error.to_string() }),
        }
    }
}

/// How a step's requests ended: the first failure, and whether anything moved forward.
#[derive(Debug, Default)]
pub(crate) struct StepOutcome {
    failure: Option<FetchError>,
    progressed: bool,
}

impl StepOutcome {
    /// Records that a request moved the state forward.
    pub(crate) const fn progressed(&mut self) {
        self.progressed = true;
    }

    /// Records a failed request (the first one is kept); no new requests should start.
    pub(crate) fn fail(&mut self, error: FetchError) {
        self.failure.get_or_insert(error);
    }

    /// Records `result`'s error as the step's failure, unless the request was merely not sent
    /// before the step was full (its work goes back to its queue either way; an `Ok` here is
    /// an answer of another kind than asked, which cannot be taken).
    pub(crate) fn fail_unless_unsent<T>(&mut self, result: Result<T, FetchError>) {
        match result {
            Err(FetchError::NotStarted { .. }) | Ok(_) => {}
            Err(error) => self.fail(error),
        }
    }

    /// Whether a request failed in this step.
    pub(crate) const fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// `Ok` when the step has something to commit (even if some request failed: progress is
    /// kept and the failing work is retried by the next step), else the failure.
    pub(crate) fn into_result(
        self,
        wrap: impl FnOnce(FetchError) -> SnapSyncError,
    ) -> Result<(), SnapSyncError> {
        match self.failure {
            Some(error) if !self.progressed => Err(wrap(error)),
            _ => Ok(()),
        }
    }
}
