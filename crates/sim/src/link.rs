//! A peer's network link: round-trip latency and a bandwidth its replies share.

use std::time::Duration;
use tokio::time::Instant;

/// The link to one simulated peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Round-trip latency added to every request.
    pub latency: Duration,
    /// Bytes per second the peer can send; `None` for unlimited.
    pub bandwidth: Option<u64>,
}

impl Link {
    /// No latency, unlimited bandwidth.
    pub const INSTANT: Self = Self { latency: Duration::ZERO, bandwidth: None };

    /// A link of `latency_ms` round trip and `mbps` megabits per second.
    pub const fn new(latency_ms: u64, mbps: u64) -> Self {
        Self { latency: Duration::from_millis(latency_ms), bandwidth: Some(mbps * 1_000_000 / 8) }
    }

    /// How long `bytes` take to cross the link.
    pub fn transfer_time(&self, bytes: usize) -> Duration {
        match self.bandwidth {
            Some(rate) if rate > 0 => Duration::from_secs_f64(bytes as f64 / rate as f64),
            _ => Duration::ZERO,
        }
    }
}

/// When a peer's link is free again: replies queue behind each other on it.
#[derive(Debug)]
pub(crate) struct LinkQueue {
    free_at: Instant,
}

impl LinkQueue {
    pub(crate) fn new() -> Self {
        Self { free_at: Instant::now() }
    }

    /// When a reply of `bytes`, requested at `now`, has fully arrived: after the round trip, and
    /// after the replies already queued on the link.
    pub(crate) fn schedule(&mut self, link: &Link, now: Instant, bytes: usize) -> Instant {
        let start = (now + link.latency).max(self.free_at);
        let done = start + link.transfer_time(bytes);
        self.free_at = done;
        done
    }
}
