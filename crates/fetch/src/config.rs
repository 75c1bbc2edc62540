//! The knobs of the peer set's request sizing, pipelining, timeouts and backoff.

use std::time::Duration;

use crate::ConfigError;

/// Settings of a [`PeerSet`](crate::PeerSet).
///
/// The defaults suit mainnet peers (tens of milliseconds to a second of latency, hundreds of
/// KB/s to tens of MB/s); each one's rationale is on its constant.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerSetConfig {
    /// Smallest response budget a request asks for, and the budget of a peer's first request
    /// of a kind (before anything is measured). Requests smaller than this are dominated by
    /// latency and per-message overhead.
    pub min_request_bytes: u64,
    /// Largest response budget a request asks for. Faster peers get several requests in flight
    /// instead of larger ones: a lost request costs at most this much, and servers cap
    /// responses anyway (go-ethereum serves at most 2 MiB).
    pub max_request_bytes: u64,
    /// How long one response should take to cross its link: a request's budget is the bytes
    /// the peer delivers in this time (its measured rate times this). Longer means fewer,
    /// larger requests; shorter means finer-grained scheduling, cheaper losses and shorter
    /// tails when the work runs out.
    pub target_round_trip: Duration,
    /// Most requests in flight to one peer, all kinds together: a cap on the pipelining that
    /// keeps a link busy (see [`pipeline_slack`](Self::pipeline_slack)).
    pub max_in_flight_per_peer: usize,
    /// Transfer time the peer set keeps queued on a link beyond its latency. A peer takes
    /// another request while the responses already asked of it will have finished arriving
    /// less than `latency + pipeline_slack` from now: the new response then starts as the
    /// last one ends, so the link never idles, and no more than this waits behind it. It
    /// covers the time between a slot opening and the request being sent.
    pub pipeline_slack: Duration,
    /// A request's timeout is this multiple of the time it is expected to take (the wait for
    /// the responses queued before it on the link, its latency, and its whole budget at the
    /// link's measured rate), within
    /// [`timeout_min`](Self::timeout_min)..=[`timeout_max`](Self::timeout_max). At least 1.
    pub timeout_rtt_multiple: f64,
    /// Shortest timeout, whatever the estimates: absorbs jitter and server-side hiccups.
    pub timeout_min: Duration,
    /// Longest timeout, and the timeout of a peer's first request of a kind.
    pub timeout_max: Duration,
    /// Backoff after a peer's first consecutive failure or timeout; it doubles with each
    /// further one.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_cap: Duration,
    /// Weight of a new measurement in the per-kind round-trip average (EWMA), in
    /// `(0, 1]`. Until `1 / measurement_impact` responses are measured, each weighs
    /// `1 / responses` instead (a plain mean), so a new peer's estimate settles fast.
    pub measurement_impact: f64,
}

impl PeerSetConfig {
    /// Default [`min_request_bytes`](Self::min_request_bytes): 64 KiB.
    pub const DEFAULT_MIN_REQUEST_BYTES: u64 = 64 * 1024;
    /// Default [`max_request_bytes`](Self::max_request_bytes): 2 MiB, the most go-ethereum
    /// serves in one response.
    pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 2 * 1024 * 1024;
    /// Default [`target_round_trip`](Self::target_round_trip): 500 ms. Pipelining hides the
    /// latency, so a request need not outlast it; shorter requests end a phase with a shorter
    /// tail.
    pub const DEFAULT_TARGET_ROUND_TRIP: Duration = Duration::from_millis(500);
    /// Default [`max_in_flight_per_peer`](Self::max_in_flight_per_peer): 8, enough for a
    /// 250 ms link to stay busy with responses of a tenth of its bandwidth-delay product.
    pub const DEFAULT_MAX_IN_FLIGHT_PER_PEER: usize = 8;
    /// Default [`pipeline_slack`](Self::pipeline_slack): 50 ms.
    pub const DEFAULT_PIPELINE_SLACK: Duration = Duration::from_millis(50);
    /// Default [`timeout_rtt_multiple`](Self::timeout_rtt_multiple): 3, as go-ethereum's
    /// `msgrate` scales its timeouts.
    pub const DEFAULT_TIMEOUT_RTT_MULTIPLE: f64 = 3.0;
    /// Default [`timeout_min`](Self::timeout_min): 2 s.
    pub const DEFAULT_TIMEOUT_MIN: Duration = Duration::from_secs(2);
    /// Default [`timeout_max`](Self::timeout_max): 30 s.
    pub const DEFAULT_TIMEOUT_MAX: Duration = Duration::from_secs(30);
    /// Default [`backoff_base`](Self::backoff_base): 1 s.
    pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
    /// Default [`backoff_cap`](Self::backoff_cap): 64 s (the base doubled six times).
    pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(64);
    /// Default [`measurement_impact`](Self::measurement_impact): 0.1, as go-ethereum's
    /// `msgrate`.
    pub const DEFAULT_MEASUREMENT_IMPACT: f64 = 0.1;
    /// Longest duration any setting accepts: one day.
    pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

    /// Checks the settings against each other.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] for a zero size, count or duration;
    /// [`ConfigError::RequestBytesInverted`], [`ConfigError::TimeoutsInverted`] and
    /// [`ConfigError::BackoffInverted`] when a minimum exceeds its maximum;
    /// [`ConfigError::TooLong`] for a duration over [`MAX_DURATION`](Self::MAX_DURATION);
    /// [`ConfigError::OutOfRange`] for a timeout multiple below 1 or a measurement impact
    /// outside `(0, 1]` (or either not a number).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_request_bytes()?;
        self.validate_durations()?;
        self.validate_factors()
    }

    fn validate_request_bytes(&self) -> Result<(), ConfigError> {
        if self.min_request_bytes == 0 {
            return Err(ConfigError::Zero { field: "min_request_bytes" });
        }
        if self.min_request_bytes > self.max_request_bytes {
            return Err(ConfigError::RequestBytesInverted {
                min: self.min_request_bytes,
                max: self.max_request_bytes,
            });
        }
        if self.max_in_flight_per_peer == 0 {
            return Err(ConfigError::Zero { field: "max_in_flight_per_peer" });
        }
        Ok(())
    }

    fn validate_durations(&self) -> Result<(), ConfigError> {
        let durations = [
            ("target_round_trip", self.target_round_trip),
            ("pipeline_slack", self.pipeline_slack),
            ("timeout_min", self.timeout_min),
            ("timeout_max", self.timeout_max),
            ("backoff_base", self.backoff_base),
            ("backoff_cap", self.backoff_cap),
        ];
        for (field, value) in durations {
            if value.is_zero() {
                return Err(ConfigError::Zero { field });
            }
            if value > Self::MAX_DURATION {
                return Err(ConfigError::TooLong { field, value, limit: Self::MAX_DURATION });
            }
        }
        if self.timeout_min > self.timeout_max {
            return Err(ConfigError::TimeoutsInverted {
                min: self.timeout_min,
                max: self.timeout_max,
            });
        }
        if self.backoff_base > self.backoff_cap {
            return Err(ConfigError::BackoffInverted {
                base: self.backoff_base,
                cap: self.backoff_cap,
            });
        }
        Ok(())
    }

    fn validate_factors(&self) -> Result<(), ConfigError> {
        let multiple = self.timeout_rtt_multiple;
        if !(multiple.is_finite() && multiple >= 1.0) {
            return Err(ConfigError::OutOfRange {
                field: "timeout_rtt_multiple",
                value: multiple,
                range: "[1, ∞)",
            });
        }
        let impact = self.measurement_impact;
        if !(impact > 0.0 && impact <= 1.0) {
            return Err(ConfigError::OutOfRange {
                field: "measurement_impact",
                value: impact,
                range: "(0, 1]",
            });
        }
        Ok(())
    }
}

impl Default for PeerSetConfig {
    fn default() -> Self {
        Self {
            min_request_bytes: Self::DEFAULT_MIN_REQUEST_BYTES,
            max_request_bytes: Self::DEFAULT_MAX_REQUEST_BYTES,
            target_round_trip: Self::DEFAULT_TARGET_ROUND_TRIP,
            max_in_flight_per_peer: Self::DEFAULT_MAX_IN_FLIGHT_PER_PEER,
            pipeline_slack: Self::DEFAULT_PIPELINE_SLACK,
            timeout_rtt_multiple: Self::DEFAULT_TIMEOUT_RTT_MULTIPLE,
            timeout_min: Self::DEFAULT_TIMEOUT_MIN,
            timeout_max: Self::DEFAULT_TIMEOUT_MAX,
            backoff_base: Self::DEFAULT_BACKOFF_BASE,
            backoff_cap: Self::DEFAULT_BACKOFF_CAP,
            measurement_impact: Self::DEFAULT_MEASUREMENT_IMPACT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(PeerSetConfig::default().validate(), Ok(()));
    }

    #[test]
    fn zero_values_name_the_field() {
        let zero_min = PeerSetConfig { min_request_bytes: 0, ..PeerSetConfig::default() };
        assert_eq!(zero_min.validate(), Err(ConfigError::Zero { field: "min_request_bytes" }));
        let no_slots = PeerSetConfig { max_in_flight_per_peer: 0, ..PeerSetConfig::default() };
        assert_eq!(no_slots.validate(), Err(ConfigError::Zero { field: "max_in_flight_per_peer" }));
        let no_target =
            PeerSetConfig { target_round_trip: Duration::ZERO, ..PeerSetConfig::default() };
        assert_eq!(no_target.validate(), Err(ConfigError::Zero { field: "target_round_trip" }));
    }

    #[test]
    fn inverted_bounds_carry_both_values() {
        let bytes =
            PeerSetConfig { min_request_bytes: 10, max_request_bytes: 5, ..Default::default() };
        assert_eq!(bytes.validate(), Err(ConfigError::RequestBytesInverted { min: 10, max: 5 }));
        let timeouts = PeerSetConfig {
            timeout_min: Duration::from_secs(5),
            timeout_max: Duration::from_secs(4),
            ..Default::default()
        };
        let error = timeouts.validate().unwrap_err();
        assert_eq!(error.to_string(), "timeout_min (5s) exceeds timeout_max (4s)");
        let backoff = PeerSetConfig {
            backoff_base: Duration::from_secs(100),
            backoff_cap: Duration::from_secs(10),
            ..Default::default()
        };
        assert!(matches!(backoff.validate(), Err(ConfigError::BackoffInverted { .. })));
    }

    #[test]
    fn durations_over_a_day_are_rejected() {
        let config =
            PeerSetConfig { backoff_cap: Duration::from_secs(u64::MAX), ..Default::default() };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TooLong { field: "backoff_cap", .. })
        ));
    }

    #[test]
    fn factors_out_of_range_or_nan_are_rejected() {
        for multiple in [0.5, f64::NAN, f64::INFINITY] {
            let config = PeerSetConfig { timeout_rtt_multiple: multiple, ..Default::default() };
            assert!(matches!(
                config.validate(),
                Err(ConfigError::OutOfRange { field: "timeout_rtt_multiple", .. })
            ));
        }
        for impact in [0.0, -0.1, 1.5, f64::NAN] {
            let config = PeerSetConfig { measurement_impact: impact, ..Default::default() };
            let error = config.validate().unwrap_err();
            assert!(error.to_string().starts_with("measurement_impact is"), "{error}");
        }
    }
}
