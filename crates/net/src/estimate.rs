//! What one peer delivers for one request kind, and the request sizing derived from it.
//!
//! # Model
//!
//! Each response is a measurement of `bytes` delivered in `elapsed` (from lease to response).
//! Two exponentially weighted moving averages are kept, as go-ethereum's `msgrate` does:
//!
//! - **throughput** `tp`: the mean of `bytes / elapsed`, in bytes per second;
//! - **round trip** `rtt`: the mean of `elapsed`.
//!
//! From them, with the [`PeerSetConfig`] `T = target_round_trip`:
//!
//! - **budget** `= clamp(tp × T, min_request_bytes, max_request_bytes)`: the bytes the peer
//!   delivers in one target round trip. With latency `L` and bandwidth `B`, a request of `b`
//!   bytes measures `tp = b / (L + b/B)`, so the budget settles where `L + b/B = T`, at
//!   `b = B × (T − L)`: each request takes about `T`, and `b → B × T` as `L ≪ T`.
//! - **in-flight limit** `= clamp(⌈tp × T / max_request_bytes⌉, 1, max_in_flight_per_peer)`:
//!   1 while a single request can carry a target round trip's worth of bytes; once the budget
//!   is capped at `max_request_bytes`, enough requests to carry `tp × T` together
//!   (pipelining).
//! - **timeout** `= clamp(timeout_rtt_multiple × max(rtt, budget / tp), timeout_min,
//!   timeout_max)`: a multiple of how long this request is expected to take.
//!
//! Before the first response the estimate is unknown: the budget is `min_request_bytes`, one
//! request at a time, with the `timeout_max` timeout.
//!
//! A timeout halves `tp` (smaller requests next, as TCP backs off) and enters `rtt` with the
//! time waited (longer timeouts next). A response under half its budget may only have run out
//! of data (the end of a range, a short code), not of bandwidth: it can raise `tp` but not
//! lower it.

use std::time::Duration;

use crate::PeerSetConfig;

/// Shortest elapsed time a measurement is taken to have, so a response timed at zero (a
/// clock that did not advance) does not measure infinite throughput.
const MIN_ELAPSED_SECS: f64 = 1e-3;

/// A response under this fraction of its budget only raises the throughput estimate.
const PARTIAL_RESPONSE_FRACTION: f64 = 0.5;

/// What a timeout leaves of the throughput estimate.
const TIMEOUT_THROUGHPUT_FACTOR: f64 = 0.5;

/// One peer's measured capacity for one request kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Estimate {
    /// Mean bytes per second of responses; `None` before the first.
    throughput: Option<f64>,
    /// Mean seconds from lease to response or timeout; `None` before the first.
    rtt: Option<f64>,
    /// Responses and timeouts measured, which weighs the first measurements more.
    measurements: u64,
}

impl Estimate {
    /// Mean throughput in bytes per second, once a response was measured.
    pub(crate) const fn throughput(&self) -> Option<f64> {
        self.throughput
    }

    /// Mean round trip, once a response or timeout was measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtt.map(duration_from_secs)
    }

    /// Enters a response of `bytes` for a request of `budget` bytes that took `elapsed`.
    pub(crate) fn record_response(
        &mut self,
        bytes: u64,
        budget: u64,
        elapsed: Duration,
        config: &PeerSetConfig,
    ) {
        let weight = self.next_weight(config);
        let secs = elapsed.as_secs_f64().max(MIN_ELAPSED_SECS);
        let measured = bytes as f64 / secs;
        let partial = (bytes as f64) < budget as f64 * PARTIAL_RESPONSE_FRACTION;
        self.throughput = match self.throughput {
            None => Some(measured),
            Some(mean) if partial && measured < mean => Some(mean),
            Some(mean) => Some(blend(mean, measured, weight)),
        };
        self.rtt = Some(self.rtt.map_or(secs, |mean| blend(mean, secs, weight)));
        self.measurements = self.measurements.saturating_add(1);
    }

    /// Enters a request that timed out after `elapsed`.
    pub(crate) fn record_timeout(&mut self, elapsed: Duration, config: &PeerSetConfig) {
        let weight = self.next_weight(config);
        let secs = elapsed.as_secs_f64().max(MIN_ELAPSED_SECS);
        self.throughput = self.throughput.map(|mean| mean * TIMEOUT_THROUGHPUT_FACTOR);
        self.rtt = Some(self.rtt.map_or(secs, |mean| blend(mean, secs, weight)));
        self.measurements = self.measurements.saturating_add(1);
    }

    /// Weight of the next measurement: a plain mean at first, the configured impact later.
    fn next_weight(&self, config: &PeerSetConfig) -> f64 {
        let plain_mean = 1.0 / (self.measurements as f64 + 1.0);
        plain_mean.max(config.measurement_impact)
    }

    /// Response budget of the next request.
    pub(crate) fn budget(&self, config: &PeerSetConfig) -> u64 {
        let Some(throughput) = self.throughput else {
            return config.min_request_bytes;
        };
        let wanted = f64_to_u64(throughput * config.target_round_trip.as_secs_f64());
        wanted.clamp(config.min_request_bytes, config.max_request_bytes)
    }

    /// Most requests of this kind worth having in flight to the peer.
    pub(crate) fn in_flight_limit(&self, config: &PeerSetConfig) -> usize {
        let Some(throughput) = self.throughput else {
            return 1;
        };
        let in_target_round_trip = throughput * config.target_round_trip.as_secs_f64();
        let requests = (in_target_round_trip / config.max_request_bytes as f64).ceil();
        usize::try_from(f64_to_u64(requests))
            .unwrap_or(usize::MAX)
            .clamp(1, config.max_in_flight_per_peer)
    }

    /// Timeout of a request with `budget` bytes.
    pub(crate) fn timeout(&self, budget: u64, config: &PeerSetConfig) -> Duration {
        let Some(throughput) = self.throughput.filter(|tp| *tp > 0.0) else {
            return config.timeout_max;
        };
        let transfer = budget as f64 / throughput;
        let expected = self.rtt.unwrap_or(transfer).max(transfer);
        let timeout = duration_from_secs(expected * config.timeout_rtt_multiple);
        timeout.clamp(config.timeout_min, config.timeout_max)
    }
}

/// The EWMA step: `mean` moved towards `sample` by `weight`.
fn blend(mean: f64, sample: f64, weight: f64) -> f64 {
    mean + (sample - mean) * weight
}

/// `secs` as a duration; negative and NaN give zero, too large gives [`Duration::MAX`].
fn duration_from_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// `value` rounded towards zero into a `u64`, saturating: negative and NaN give 0, values
/// past `u64::MAX` give `u64::MAX` (what `as` does for floats, spelled out for the lints).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn f64_to_u64(value: f64) -> u64 {
    value as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1_000_000.0;

    fn config() -> PeerSetConfig {
        PeerSetConfig {
            timeout_min: Duration::from_millis(100),
            timeout_max: Duration::from_secs(60),
            ..PeerSetConfig::default()
        }
    }

    /// Feeds `rounds` requests at the current budget to a peer with `latency` and
    /// `bandwidth` (bytes/s) that always fills the budget.
    fn run_synthetic_peer(
        estimate: &mut Estimate,
        config: &PeerSetConfig,
        latency: Duration,
        bandwidth: f64,
        rounds: usize,
    ) {
        for _ in 0..rounds {
            let budget = estimate.budget(config);
            let elapsed = latency + duration_from_secs(budget as f64 / bandwidth);
            estimate.record_response(budget, budget, elapsed, config);
        }
    }

    fn relative_error(actual: f64, expected: f64) -> f64 {
        (actual - expected).abs() / expected
    }

    #[test]
    fn unknown_peer_gets_the_minimum_one_at_a_time_and_the_longest_timeout() {
        let config = config();
        let estimate = Estimate::default();
        assert_eq!(estimate.budget(&config), config.min_request_bytes);
        assert_eq!(estimate.in_flight_limit(&config), 1);
        assert_eq!(estimate.timeout(config.min_request_bytes, &config), config.timeout_max);
        assert_eq!(estimate.rtt(), None);
    }

    #[test]
    fn budget_converges_to_bandwidth_times_target_minus_latency() {
        let config = config();
        let bandwidth = MB;
        let mut estimate = Estimate::default();
        run_synthetic_peer(&mut estimate, &config, Duration::from_millis(50), bandwidth, 200);
        let expected = bandwidth * (1.0 - 0.05);
        let budget = estimate.budget(&config) as f64;
        assert!(relative_error(budget, expected) < 0.01, "budget {budget}, expected {expected}");
        let rtt = estimate.rtt().unwrap().as_secs_f64();
        assert!(relative_error(rtt, 1.0) < 0.01, "a request takes the target round trip: {rtt}");
    }

    #[test]
    fn budget_approaches_bandwidth_times_target_without_latency() {
        let config = config();
        let mut estimate = Estimate::default();
        run_synthetic_peer(&mut estimate, &config, Duration::ZERO, 0.5 * MB, 50);
        let budget = estimate.budget(&config) as f64;
        assert!(relative_error(budget, 0.5 * MB) < 0.01, "budget {budget}");
    }

    #[test]
    fn budget_is_clamped_to_the_configured_range() {
        let config = config();
        let mut fast = Estimate::default();
        run_synthetic_peer(&mut fast, &config, Duration::from_millis(20), 100.0 * MB, 50);
        assert_eq!(fast.budget(&config), config.max_request_bytes);
        let mut slow = Estimate::default();
        run_synthetic_peer(&mut slow, &config, Duration::from_millis(20), 1_000.0, 50);
        assert_eq!(slow.budget(&config), config.min_request_bytes);
        assert_eq!(slow.in_flight_limit(&config), 1);
    }

    #[test]
    fn pipelines_when_a_maximal_request_does_not_fill_the_target_round_trip() {
        let config = config();
        let mut estimate = Estimate::default();
        run_synthetic_peer(&mut estimate, &config, Duration::from_millis(50), 20.0 * MB, 50);
        // A 2 MiB request takes 50 ms + 105 ms, so about six fit in a second; capped at 4.
        assert_eq!(estimate.in_flight_limit(&config), config.max_in_flight_per_peer);
        let mut moderate = Estimate::default();
        run_synthetic_peer(&mut moderate, &config, Duration::from_millis(50), 4.0 * MB, 50);
        // 2 MiB take 50 ms + 524 ms: two in flight carry a second's worth.
        assert_eq!(moderate.in_flight_limit(&config), 2);
    }

    #[test]
    fn timeout_is_a_multiple_of_the_expected_time_within_bounds() {
        let config = config();
        let mut estimate = Estimate::default();
        run_synthetic_peer(&mut estimate, &config, Duration::from_millis(100), MB, 100);
        let budget = estimate.budget(&config);
        let timeout = estimate.timeout(budget, &config).as_secs_f64();
        assert!(relative_error(timeout, 3.0) < 0.02, "3 × a 1 s request: {timeout}");
        let tight = PeerSetConfig { timeout_max: Duration::from_secs(2), ..config };
        assert_eq!(estimate.timeout(budget, &tight), Duration::from_secs(2));
    }

    #[test]
    fn timeouts_shrink_requests_and_lengthen_timeouts() {
        let config = config();
        let mut estimate = Estimate::default();
        run_synthetic_peer(&mut estimate, &config, Duration::from_millis(100), MB, 50);
        let budget = estimate.budget(&config);
        let timeout = estimate.timeout(budget, &config);
        estimate.record_timeout(timeout, &config);
        assert!(estimate.budget(&config) < budget * 6 / 10);
        assert!(estimate.timeout(budget, &config) > timeout);
    }

    #[test]
    fn partial_responses_do_not_drag_throughput_down() {
        let config = config();
        let mut estimate = Estimate::default();
        estimate.record_response(1_000_000, 1_000_000, Duration::from_secs(1), &config);
        estimate.record_response(1_000, 1_000_000, Duration::from_millis(100), &config);
        assert_eq!(estimate.throughput(), Some(MB));
        estimate.record_response(600_000, 1_000_000, Duration::from_secs(1), &config);
        assert!(estimate.throughput().unwrap() < MB, "a mostly full response counts");
    }

    #[test]
    fn zero_elapsed_and_zero_bytes_stay_finite() {
        let config = config();
        let mut estimate = Estimate::default();
        estimate.record_response(1_000, 1_000, Duration::ZERO, &config);
        assert!(estimate.throughput().unwrap().is_finite());
        let mut empty = Estimate::default();
        empty.record_response(0, 1_000, Duration::from_secs(1), &config);
        assert_eq!(empty.budget(&config), config.min_request_bytes);
        assert_eq!(empty.timeout(config.min_request_bytes, &config), config.timeout_max);
    }

    #[test]
    fn float_conversions_saturate() {
        assert_eq!(f64_to_u64(-1.0), 0);
        assert_eq!(f64_to_u64(f64::NAN), 0);
        assert_eq!(f64_to_u64(1e30), u64::MAX);
        assert_eq!(duration_from_secs(f64::NAN), Duration::ZERO);
        assert_eq!(duration_from_secs(1e30), Duration::MAX);
    }
}
