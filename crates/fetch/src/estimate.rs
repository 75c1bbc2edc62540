//! What one peer's link delivers, and the request sizing derived from it.
//!
//! # Model
//!
//! A peer's link is one pipe shared by all its requests: a response of `b` bytes needs the
//! round-trip latency `L` before its first byte, then `b / B` seconds at the link's bandwidth
//! `B`, and responses cross the link one after another (first in, first out). So a response to
//! a request issued at `t_i` arrives at `t_a = max(t_i + L, t_p) + b / B`, where `t_p` is when
//! the response before it finished arriving.
//!
//! The estimates are read off the arrivals, as BBR reads a TCP connection's:
//!
//! - **rate** `B̂`: a response issued before the previous one arrived (`t_i < t_p`) was queued
//!   behind it; a run of such responses is a *burst*, and after each the bytes of the burst's
//!   last [`BURST_SPAN`] responses over the time since the arrival before them are a
//!   *delivery-rate sample*. A response issued after
//!   the previous one arrived starts a new burst and measures `b / (t_a − t_i) = b / (L + b/B)`.
//!   Under the model no sample exceeds `B`, and a burst in which the link never went idle
//!   measures exactly `B` (averaging out the arrivals' timer jitter as it grows), so `B̂` is the
//!   **maximum** of the last [`RATE_WINDOW`] burst samples, or of the last lone samples while
//!   there is no burst sample (lone samples, which include the latency, would otherwise drag
//!   it down whenever the link idles, at the end of a phase).
//! - **latency** `L̂`: a response that was not queued took `t_a − t_i = L + b/B`, so `L̂` is
//!   `t_a − t_i − b / B̂` over the last [`TRIP_WINDOW`] such responses (their minimum, computed
//!   with the current `B̂`). Queued responses are left out: they include the wait behind the
//!   others, and a latency taken to include it would ask for more pipelining, which queues
//!   more.
//!
//! Burst samples over less than [`MIN_SAMPLE_SECS`] are timer noise and are not taken.
//! A timeout halves `B̂` (smaller requests next, as TCP backs off).
//!
//! Per peer and request kind, an EWMA of the response time (for statistics). Per request kind,
//! over all peers, the mean response size ([`SizeEstimate`]): storage requests capped by their
//! account count, or the last range of a chunk, carry less than their budget, so more of them
//! fit the pipe.

use std::{collections::VecDeque, time::Duration};

use tokio::time::Instant;

use crate::PeerSetConfig;

/// Delivery-rate samples the rate estimate is the maximum of.
pub(crate) const RATE_WINDOW: usize = 8;

/// Responses the latency estimate is the minimum over.
pub(crate) const TRIP_WINDOW: usize = 8;

/// Responses of a burst a rate sample spans: enough to average out the arrivals' timer
/// jitter, few enough to forget an idle gap early in a long burst.
pub(crate) const BURST_SPAN: usize = 4;

/// Shortest interval a burst's rate sample is taken over: shorter ones are mostly timer
/// granularity, not transfer time.
pub(crate) const MIN_SAMPLE_SECS: f64 = 0.005;

/// Shortest elapsed time a lone response is taken to have, so a response timed at zero (a
/// clock that did not advance) does not measure infinite throughput.
const MIN_ELAPSED_SECS: f64 = 1e-3;

/// Weight of a larger response in a kind's typical response size, once past the first few. It
/// rises faster than it falls: taking responses for smaller than they are queues too much on
/// a link (a longer tail when the work runs out), taking them for larger only leaves some of
/// the pipelining slack unused.
const SIZE_RISE_WEIGHT: f64 = 0.5;

/// Weight of a smaller response in a kind's typical response size, once past the first few.
const SIZE_FALL_WEIGHT: f64 = 0.125;

/// A response carrying this fraction of its budget reached it: the work had more.
const FULL_FRACTION: f64 = 0.9;

/// What a timeout leaves of the rate estimate.
const TIMEOUT_RATE_FACTOR: f64 = 0.5;

/// One peer's measured link: rate and latency over all request kinds.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LinkEstimate {
    /// The last delivery-rate samples of bursts, bytes per second, oldest first.
    burst_rates: VecDeque<f64>,
    /// The last delivery-rate samples of responses that were not queued, oldest first.
    lone_rates: VecDeque<f64>,
    /// The last responses that were not queued: (seconds from lease to arrival, bytes), oldest
    /// first.
    trips: VecDeque<(f64, u64)>,
    /// When the last response arrived.
    last_arrival: Option<Instant>,
    /// The current burst's last arrivals and their bytes, oldest first: the arrival that began
    /// it (a response that was not queued, its bytes not counted), then the responses queued
    /// behind it, at most [`BURST_SPAN`] of them.
    burst: VecDeque<(Instant, u64)>,
}

impl LinkEstimate {
    /// Bytes per second the link delivers, once a response was measured.
    pub(crate) fn rate(&self) -> Option<f64> {
        let rates = if self.burst_rates.is_empty() { &self.lone_rates } else { &self.burst_rates };
        rates.iter().copied().reduce(f64::max).filter(|rate| *rate > 0.0)
    }

    /// Seconds from a request to the first byte of its response, once the rate is known.
    pub(crate) fn latency_secs(&self) -> Option<f64> {
        let rate = self.rate()?;
        self.trips
            .iter()
            .map(|(elapsed, bytes)| (elapsed - *bytes as f64 / rate).max(0.0))
            .reduce(f64::min)
    }

    /// [`latency_secs`](Self::latency_secs) as a duration.
    pub(crate) fn latency(&self) -> Option<Duration> {
        self.latency_secs().map(duration_from_secs)
    }

    /// Enters a response of `bytes` to a request issued at `issued_at`, arrived at `arrived`.
    pub(crate) fn record_response(&mut self, bytes: u64, issued_at: Instant, arrived: Instant) {
        let elapsed = arrived.saturating_duration_since(issued_at).as_secs_f64();
        let queued = self.last_arrival.is_some_and(|previous| previous > issued_at);
        if queued && !self.burst.is_empty() {
            push_bounded(&mut self.burst, (arrived, bytes), BURST_SPAN + 1);
            if let Some(sample) = burst_rate(&self.burst) {
                push_bounded(&mut self.burst_rates, sample, RATE_WINDOW);
            }
        } else {
            if bytes > 0 {
                let sample = bytes as f64 / elapsed.max(MIN_ELAPSED_SECS);
                push_bounded(&mut self.lone_rates, sample, RATE_WINDOW);
            }
            self.burst.clear();
            self.burst.push_back((arrived, 0));
        }
        if !queued {
            push_bounded(&mut self.trips, (elapsed, bytes), TRIP_WINDOW);
        }
        self.last_arrival = Some(self.last_arrival.map_or(arrived, |last| last.max(arrived)));
    }

    /// Enters a timeout: the rate estimate halves, and the samples that made it are dropped.
    pub(crate) fn record_timeout(&mut self) {
        if let Some(rate) = self.rate() {
            self.lone_rates.clear();
            self.burst_rates.clear();
            self.burst_rates.push_back(rate * TIMEOUT_RATE_FACTOR);
        }
    }

    /// Response budget of the next request: `rate × target_round_trip` within the configured
    /// bounds, or the minimum while unmeasured.
    pub(crate) fn budget(&self, config: &PeerSetConfig) -> u64 {
        let Some(rate) = self.rate() else {
            return config.min_request_bytes;
        };
        let wanted = f64_to_u64(rate * config.target_round_trip.as_secs_f64());
        wanted.clamp(config.min_request_bytes, config.max_request_bytes)
    }
}

/// One peer's round trip for one request kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct KindEstimate {
    /// Mean seconds from lease to response or timeout; `None` before the first.
    rtt: Option<f64>,
    /// Responses and timeouts measured, which weighs the first measurements more.
    measurements: u64,
}

impl KindEstimate {
    /// Mean round trip, once a response or timeout was measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtt.map(duration_from_secs)
    }

    /// Enters a response or timeout after `elapsed`.
    pub(crate) fn record(&mut self, elapsed: Duration, config: &PeerSetConfig) {
        let weight = next_weight(self.measurements, config.measurement_impact);
        self.rtt = Some(blend_or(self.rtt, elapsed.as_secs_f64(), weight));
        self.measurements = self.measurements.saturating_add(1);
    }
}

/// How large the responses of one request kind turn out, over all peers.
///
/// A response is either *full* (it reached its budget: the work had more) or *short* (the work
/// ran out first: the end of a range, a batch of small contracts, a few codes). The size of
/// short responses belongs to the work, not to the peer, so it is learnt over all peers: a
/// typical size, moved by each response, to which a full response counts as at least the
/// typical size (it only shows that the work is larger than its budget). Until a short
/// response is seen, the size is guessed from the full ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SizeEstimate {
    /// Typical response bytes; `None` before the first short response.
    mean: Option<f64>,
    /// The largest full response, while no short one was seen.
    largest_full: Option<f64>,
    /// Non-empty responses measured.
    measurements: u64,
}

impl SizeEstimate {
    /// Mean response bytes, once a non-empty response was measured.
    #[cfg(test)]
    pub(crate) const fn mean(&self) -> Option<f64> {
        self.mean
    }

    /// Bytes a response to a request of `budget` bytes is expected to carry, at most the budget
    /// (and at least one byte): the typical size once a short response was seen; before, twice
    /// the largest full response (responses are at least that large, and taking them for much
    /// larger would leave a new peer's link idle until a short one arrives); the budget when
    /// nothing was measured.
    pub(crate) fn expected_bytes(&self, budget: u64) -> u64 {
        let guess = self.mean.or(self.largest_full.map(|full| full * 2.0));
        guess.map_or(budget, |bytes| f64_to_u64(bytes).clamp(1, budget.max(1)))
    }

    /// Enters a response of `bytes` (zero: empty, not measured) to a `budget`-byte request.
    pub(crate) fn record(&mut self, bytes: u64, budget: u64) {
        let full = bytes as f64 >= budget as f64 * FULL_FRACTION;
        let sample = match self.mean {
            _ if bytes == 0 => return,
            // Only shows that the work is larger than this budget: no size yet.
            None if full => {
                let bytes = bytes as f64;
                self.largest_full = Some(self.largest_full.map_or(bytes, |full| full.max(bytes)));
                return;
            }
            Some(mean) if full => (bytes as f64).max(mean),
            _ => bytes as f64,
        };
        let impact = match self.mean {
            Some(mean) if sample > mean => SIZE_RISE_WEIGHT,
            _ => SIZE_FALL_WEIGHT,
        };
        let weight = next_weight(self.measurements, impact);
        self.mean = Some(blend_or(self.mean, sample, weight));
        self.measurements = self.measurements.saturating_add(1);
    }
}

/// Weight of the next of `measurements + 1` measurements: a plain mean at first, then
/// `impact`.
fn next_weight(measurements: u64, impact: f64) -> f64 {
    let plain_mean = 1.0 / (measurements as f64 + 1.0);
    plain_mean.max(impact)
}

/// The rate over `burst`: the bytes after its first arrival, over the time since it; `None`
/// for no bytes or an interval below [`MIN_SAMPLE_SECS`].
fn burst_rate(burst: &VecDeque<(Instant, u64)>) -> Option<f64> {
    let (from, _) = burst.front()?;
    let (to, _) = burst.back()?;
    let bytes: u64 = burst.iter().skip(1).map(|(_, bytes)| *bytes).sum();
    let interval = to.saturating_duration_since(*from).as_secs_f64();
    (bytes > 0 && interval >= MIN_SAMPLE_SECS).then(|| bytes as f64 / interval)
}

/// Appends `value`, dropping the oldest beyond `limit`.
fn push_bounded<T>(values: &mut VecDeque<T>, value: T, limit: usize) {
    if values.len() >= limit {
        values.pop_front();
    }
    values.push_back(value);
}

/// The EWMA step from `mean` (or `sample` itself when there is none yet).
fn blend_or(mean: Option<f64>, sample: f64, weight: f64) -> f64 {
    mean.map_or(sample, |mean| mean + (sample - mean) * weight)
}

/// `secs` as a duration; negative and NaN give zero, too large gives [`Duration::MAX`].
pub(crate) fn duration_from_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// `value` rounded towards zero into a `u64`, saturating: negative and NaN give 0, values
/// past `u64::MAX` give `u64::MAX` (what `as` does for floats, spelled out for the lints).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn f64_to_u64(value: f64) -> u64 {
    value as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MB: f64 = 1_000_000.0;

    fn secs(value: f64) -> Duration {
        Duration::from_secs_f64(value)
    }

    /// A link of `latency` and `bandwidth` (bytes/s): the FIFO model of the module docs.
    struct Pipe {
        latency: f64,
        bandwidth: f64,
        free_at: f64,
    }

    impl Pipe {
        fn arrival(&mut self, issued: f64, bytes: u64) -> f64 {
            let start = (issued + self.latency).max(self.free_at);
            self.free_at = start + bytes as f64 / self.bandwidth;
            self.free_at
        }
    }

    fn relative_error(actual: f64, expected: f64) -> f64 {
        (actual - expected).abs() / expected
    }

    #[test]
    fn unmeasured_link_gets_the_minimum_budget() {
        let config = PeerSetConfig::default();
        let link = LinkEstimate::default();
        assert_eq!(link.rate(), None);
        assert_eq!(link.latency(), None);
        assert_eq!(link.budget(&config), config.min_request_bytes);
    }

    #[test]
    fn a_lone_response_is_a_lower_bound_and_a_queued_one_measures_the_bandwidth() {
        let start = Instant::now();
        let at = |secs_after: f64| start + secs(secs_after);
        let mut pipe = Pipe { latency: 0.1, bandwidth: MB, free_at: 0.0 };
        let mut link = LinkEstimate::default();
        // Two probes issued together: the first arrives alone, the second queued behind it.
        let first = pipe.arrival(0.0, 64_000);
        let second = pipe.arrival(0.0, 64_000);
        link.record_response(64_000, start, at(first));
        let lone = link.rate().unwrap();
        assert!(relative_error(lone, 64_000.0 / 0.164) < 1e-9, "{lone}");
        link.record_response(64_000, start, at(second));
        assert!(relative_error(link.rate().unwrap(), MB) < 1e-6);
        let latency = link.latency_secs().unwrap();
        assert!((latency - 0.1).abs() < 1e-6, "{latency}");
    }

    #[test]
    fn budget_is_the_rate_times_the_target_round_trip_within_bounds() {
        let config = PeerSetConfig::default();
        let start = Instant::now();
        let mut link = LinkEstimate::default();
        link.record_response(500_000, start, start + secs(1.0));
        let target = config.target_round_trip.as_secs_f64();
        assert_eq!(link.budget(&config), f64_to_u64(500_000.0 * target));
        let mut fast = LinkEstimate::default();
        fast.record_response(50_000_000, start, start + secs(1.0));
        assert_eq!(fast.budget(&config), config.max_request_bytes);
        let mut slow = LinkEstimate::default();
        slow.record_response(1_000, start, start + secs(1.0));
        assert_eq!(slow.budget(&config), config.min_request_bytes);
    }

    #[test]
    fn a_timeout_halves_the_rate() {
        let start = Instant::now();
        let mut link = LinkEstimate::default();
        link.record_response(1_000_000, start, start + secs(1.0));
        link.record_timeout();
        assert_eq!(link.rate(), Some(500_000.0));
        let mut unmeasured = LinkEstimate::default();
        unmeasured.record_timeout();
        assert_eq!(unmeasured.rate(), None);
    }

    #[test]
    fn simultaneous_arrivals_are_not_rate_samples() {
        let start = Instant::now();
        let mut link = LinkEstimate::default();
        link.record_response(10_000, start, start + secs(0.2));
        link.record_response(10_000, start, start + secs(0.201));
        assert_eq!(link.rate(), Some(50_000.0), "1 ms is below the sampling floor");
    }

    #[test]
    fn short_responses_set_the_expected_size_and_full_ones_only_raise_it() {
        let mut size = SizeEstimate::default();
        assert_eq!(size.expected_bytes(1_000), 1_000, "unknown: the budget");
        size.record(0, 1_000);
        assert_eq!(size.mean(), None, "an empty response measures nothing");
        size.record(300, 1_000);
        size.record(100, 1_000);
        assert_eq!(size.mean(), Some(200.0));
        assert_eq!(size.expected_bytes(10_000), 200);
        assert_eq!(size.expected_bytes(50), 50, "never more than the budget");
        // A full response of a small budget says the work is larger: it does not lower the mean.
        size.record(64, 64);
        assert_eq!(size.mean(), Some(200.0));
        size.record(2_000, 2_000);
        assert!(size.mean().unwrap() > 200.0);
        // It rises faster than it falls.
        let raised = size.mean().unwrap();
        for _ in 0..10 {
            size.record(100, 1_000);
        }
        let fallen = size.mean().unwrap();
        assert!(fallen > 100.0 && fallen < raised, "{raised} → {fallen}");
        let mut only_full = SizeEstimate::default();
        only_full.record(64, 64);
        only_full.record(100, 100);
        assert_eq!(only_full.expected_bytes(1_000), 200, "twice the largest full response");
        assert_eq!(only_full.expected_bytes(150), 150);
    }

    #[test]
    fn round_trips_average() {
        let config = PeerSetConfig::default();
        let mut kind = KindEstimate::default();
        assert_eq!(kind.rtt(), None);
        kind.record(secs(0.1), &config);
        kind.record(secs(0.3), &config);
        assert_eq!(kind.rtt(), Some(secs(0.2)));
    }

    #[test]
    fn float_conversions_saturate() {
        assert_eq!(f64_to_u64(-1.0), 0);
        assert_eq!(f64_to_u64(f64::NAN), 0);
        assert_eq!(f64_to_u64(1e30), u64::MAX);
        assert_eq!(duration_from_secs(f64::NAN), Duration::ZERO);
        assert_eq!(duration_from_secs(1e30), Duration::MAX);
    }

    proptest! {
        /// Any link, kept busy by requests of any sizes issued two at a time, is measured to
        /// within a percent, latency included, and never overestimated.
        #[test]
        fn a_busy_link_is_measured_exactly(
            latency_ms in 0u64..500,
            // Fast enough for the test to be quick, slow enough that the smallest response
            // takes longer than the sampling floor.
            kbps in 50u64..4_000,
            sizes in proptest::collection::vec(20_000u64..2_000_000, 4..40),
        ) {
            let bandwidth = kbps as f64 * 1000.0;
            let latency = latency_ms as f64 / 1000.0;
            let start = Instant::now();
            let mut pipe = Pipe { latency, bandwidth, free_at: 0.0 };
            let mut link = LinkEstimate::default();
            let mut issued = 0.0;
            for pair in sizes.chunks(2) {
                let arrivals: Vec<f64> =
                    pair.iter().map(|bytes| pipe.arrival(issued, *bytes)).collect();
                for (bytes, arrival) in pair.iter().zip(&arrivals) {
                    link.record_response(*bytes, start + secs(issued), start + secs(*arrival));
                }
                issued = arrivals.last().copied().unwrap_or(issued);
            }
            let rate = link.rate().unwrap();
            prop_assert!(rate <= bandwidth * 1.000_001, "{rate} > {bandwidth}");
            prop_assert!(relative_error(rate, bandwidth) < 0.01, "{rate} vs {bandwidth}");
            let measured = link.latency_secs().unwrap();
            prop_assert!(
                (measured - latency).abs() < 0.002 + latency * 0.01,
                "latency {measured} vs {latency}"
            );
        }
    }
}
