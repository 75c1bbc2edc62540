//! How the pipeline retries recoverable failures.
//!
//! A recoverable failure (see [`StageError`](crate::StageError)) is retried after an
//! exponentially growing pause, up to a bound of consecutive failures; a successful step resets
//! the count. The bound keeps a stage that is really stuck (no peer will ever serve the pivot)
//! from spinning forever: the pipeline then stops with
//! [`PipelineError::RetriesExhausted`](crate::PipelineError::RetriesExhausted), and the caller
//! decides (pick a new pivot, wait for peers, give up).

use std::time::Duration;

/// Retry bound and backoff for recoverable stage failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after consecutive recoverable failures of one step before giving up (0: none).
    pub max_retries: u32,
    /// The pause before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure stops the pipeline.
    pub const NONE: Self =
        Self { max_retries: 0, initial_backoff: Duration::ZERO, max_backoff: Duration::ZERO };

    /// The pause before retry number `retry` (1-based): `initial_backoff × 2^(retry-1)`, capped
    /// at `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(31);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = RetryPolicy {
            max_retries: 100,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let pauses: Vec<_> = (1..=6).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }
}
