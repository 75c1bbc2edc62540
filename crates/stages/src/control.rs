//! How a client steers the pipeline: what a pass ended with ([`ControlFlow`]), what to do next
//! ([`Command`], from a [`PipelineControl`]) and how to stop it early ([`CancelToken`]).
//!
//! [`Pipeline::run`](crate::Pipeline::run) and [`Pipeline::unwind_to`](crate::Pipeline::unwind_to)
//! each make one pass and return a [`ControlFlow`]. [`Pipeline::run_loop`](crate::Pipeline::run_loop)
//! chains passes: after each one it hands the flow to a [`PipelineControl`] (a
//! `tokio::sync::mpsc::Receiver<Command>` is one) and does what the returned [`Command`] says:
//! run to a new target, unwind, or stop.
//!
//! A [`CancelToken`] stops the pipeline early from anywhere (another task, a signal handler).
//! The pipeline notices it between steps, while a stage's `ready` waits (the future is dropped),
//! during a retry's backoff and while waiting for the next command; a step whose `execute` or
//! `unwind` is running is finished by the stage but its transaction is dropped uncommitted, so
//! the stored checkpoints keep describing the stored data.

use crate::StageId;
use std::{future::Future, sync::Arc};
use tokio::sync::{mpsc, watch};

/// A one-way switch a client flips to cancel a pipeline; clones share the switch.
///
/// Once cancelled it stays cancelled: every later [`Pipeline::run`](crate::Pipeline::run),
/// [`unwind_to`](crate::Pipeline::unwind_to) and [`run_loop`](crate::Pipeline::run_loop) of a
/// pipeline holding it returns [`ControlFlow::Cancelled`] at once. To go on, build a new pipeline
/// (with new stages) on the same database: it resumes from the stored checkpoints.
#[derive(Debug, Clone)]
pub struct CancelToken {
    switch: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self { switch: Arc::new(watch::Sender::new(false)) }
    }

    /// Cancels: every holder of a clone sees it. Cancelling again does nothing.
    pub fn cancel(&self) {
        self.switch.send_replace(true);
    }

    /// Whether [`cancel`](Self::cancel) was called on this token or a clone.
    pub fn is_cancelled(&self) -> bool {
        *self.switch.borrow()
    }

    /// Completes once the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        let mut changes = self.switch.subscribe();
        if changes.wait_for(|cancelled| *cancelled).await.is_err() {
            // Cannot happen: `self` holds the sender, so the channel is open while this runs.
            // Never report a cancellation that did not happen.
            std::future::pending::<()>().await;
        }
    }
}

/// How a pass of the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlFlow {
    /// [`Pipeline::run`](crate::Pipeline::run): every stage reached `target` or reported done.
    Finished {
        /// The target of the pass.
        target: Option<u64>,
    },
    /// [`Pipeline::unwind_to`](crate::Pipeline::unwind_to): every stage's checkpoint is at or
    /// below `block`.
    Unwound {
        /// The unwind target.
        block: u64,
    },
    /// The [`CancelToken`] was triggered. The pass stopped between steps or abandoned the step
    /// in flight; nothing of an abandoned step was committed.
    Cancelled {
        /// The stage that was running or about to run; `None` when the pipeline was waiting
        /// for a [`Command`] or no stage was left.
        stage: Option<StageId>,
    },
}

impl ControlFlow {
    /// Whether the pass was cancelled.
    pub const fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }
}

/// What [`Pipeline::run_loop`](crate::Pipeline::run_loop) does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run every stage to `target` (`None`: until each stage decides it is done, e.g. at the
    /// tip it follows), resuming from the stored checkpoints.
    Continue {
        /// The target passed to the stages.
        target: Option<u64>,
    },
    /// Unwind every stage above `to` down to it, last stage first.
    Unwind {
        /// The block to unwind to.
        to: u64,
    },
    /// Return from the loop.
    Stop,
}

/// The source of [`Command`]s for [`Pipeline::run_loop`](crate::Pipeline::run_loop).
///
/// Implemented for `tokio::sync::mpsc` receivers of commands (a closed channel means
/// [`Command::Stop`]), so a client drives the loop by sending commands; implement it to decide
/// from the flow itself (e.g. follow a new tip after every finished pass).
pub trait PipelineControl: Send {
    /// The next command, now that a pass ended with `flow` (never [`ControlFlow::Cancelled`]:
    /// a cancelled loop returns without asking). The pipeline stops waiting, and the loop
    /// returns [`ControlFlow::Cancelled`], if its [`CancelToken`] is cancelled meanwhile.
    fn next(&mut self, flow: &ControlFlow) -> impl Future<Output = Command> + Send;
}

impl PipelineControl for mpsc::Receiver<Command> {
    async fn next(&mut self, _flow: &ControlFlow) -> Command {
        self.recv().await.unwrap_or(Command::Stop)
    }
}

impl PipelineControl for mpsc::UnboundedReceiver<Command> {
    async fn next(&mut self, _flow: &ControlFlow) -> Command {
        self.recv().await.unwrap_or(Command::Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_token_is_shared_and_sticky() {
        let token = CancelToken::new();
        let clone = token.clone();
        assert!(!clone.is_cancelled());
        let waiter = tokio::spawn(async move { clone.cancelled().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        token.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("the waiter sees the cancellation")
            .expect("the waiter does not panic");
        token.cancel();
        assert!(token.is_cancelled());
        // Already cancelled: completes at once.
        token.cancelled().await;
    }

    #[tokio::test]
    async fn a_closed_channel_means_stop() {
        let (sender, mut receiver) = mpsc::channel(1);
        sender.send(Command::Unwind { to: 3 }).await.expect("the receiver is alive");
        drop(sender);
        let flow = ControlFlow::Finished { target: None };
        assert_eq!(receiver.next(&flow).await, Command::Unwind { to: 3 });
        assert_eq!(receiver.next(&flow).await, Command::Stop);
    }
}
