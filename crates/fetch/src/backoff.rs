//! How long a peer that failed rests before it is asked again.

use std::time::Duration;

use tokio::time::Instant;

use crate::PeerSetConfig;

/// Exponential backoff over a peer's consecutive failures: after the `n`-th, the peer rests
/// `min(backoff_base × 2^(n−1), backoff_cap)`. A response resets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Failures and timeouts since the last response.
    consecutive_failures: u32,
    /// When the peer may be asked again, if it is resting.
    until: Option<Instant>,
}

impl Backoff {
    /// Enters a failure at `now`; returns how long the peer rests.
    pub(crate) fn fail(&mut self, now: Instant, config: &PeerSetConfig) -> Duration {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let delay = delay_after(self.consecutive_failures, config);
        let until = now.checked_add(delay).unwrap_or(now);
        // A late failure of an older request never shortens a longer rest.
        self.until = Some(self.until.map_or(until, |current| current.max(until)));
        delay
    }

    /// Enters a response: the peer is healthy again.
    pub(crate) fn succeed(&mut self) {
        self.consecutive_failures = 0;
        self.until = None;
    }

    /// Whether the peer is resting at `now`.
    pub(crate) fn is_resting(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    /// When the rest ends, if the peer is resting at `now`.
    pub(crate) fn resting_until(&self, now: Instant) -> Option<Instant> {
        self.until.filter(|until| now < *until)
    }

    /// Failures and timeouts since the last response.
    pub(crate) const fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
}

/// `min(base × 2^(failures−1), cap)`, without overflow.
fn delay_after(failures: u32, config: &PeerSetConfig) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    config
        .backoff_base
        .checked_mul(1 << doublings)
        .map_or(config.backoff_cap, |delay| delay.min(config.backoff_cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_up_to_the_cap() {
        let config = PeerSetConfig {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(10),
            ..PeerSetConfig::default()
        };
        let delays: Vec<u64> = (1..=6).map(|n| delay_after(n, &config).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(delay_after(u32::MAX, &config), Duration::from_secs(10));
    }

    #[test]
    fn rest_ends_at_the_delay_and_a_response_resets() {
        let config = PeerSetConfig::default();
        let start = Instant::now();
        let mut backoff = Backoff::default();
        assert!(!backoff.is_resting(start));
        let delay = backoff.fail(start, &config);
        assert!(backoff.is_resting(start + delay - Duration::from_millis(1)));
        assert!(!backoff.is_resting(start + delay));
        assert_eq!(backoff.resting_until(start), Some(start + delay));
        assert_eq!(backoff.resting_until(start + delay), None);
        backoff.fail(start + delay, &config);
        assert_eq!(backoff.consecutive_failures(), 2);
        backoff.succeed();
        assert_eq!(backoff, Backoff::default());
    }
}
