//! The knobs of the peer set's request sizing, pipelining, timeouts and backoff.
//!
//! [`PeerSetConfig`] is itself the configuration-file type (the `[peers]` section of the snap
//! sync stage's TOML): durations are human-readable strings (`"500ms"`, `"2s"`, `"1m 4s"`),
//! every field has a default, unknown fields are refused, and [`PeerSetConfig::validate`] is the
//! one check both a file and a value built in code go through.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Settings of a [`PeerSet`](crate::PeerSet).
///
/// The defaults suit mainnet peers (tens of milliseconds to a second of latency, hundreds of
/// KB/s to tens of MB/s); each one's rationale is on its constant. In TOML, durations are
/// strings such as `"500ms"` or `"2s"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    #[serde(with = "humantime_serde")]
    pub target_round_trip: Duration,
    /// Most requests in flight to one peer, all kinds together: a cap on the pipelining that
    /// keeps a link busy (see [`pipeline_slack`](Self::pipeline_slack)).
    pub max_in_flight_per_peer: usize,
    /// Transfer time the peer set keeps queued on a link beyond its latency. A peer takes
    /// another request while the responses already asked of it will have finished arriving
    /// less than `latency + pipeline_slack` from now: the new response then starts as the
    /// last one ends, so the link never idles, and no more than this waits behind it. It
    /// covers the time between a slot opening and the request being sent.
    #[serde(with = "humantime_serde")]
    pub pipeline_slack: Duration,
    /// A request's timeout is this multiple of the time it is expected to take (the wait for
    /// the responses queued before it on the link, its latency, and its whole budget at the
    /// link's measured rate), within
    /// [`timeout_min`](Self::timeout_min)..=[`timeout_max`](Self::timeout_max). At least 1.
    pub timeout_rtt_multiple: f64,
    /// Shortest timeout, whatever the estimates: absorbs jitter and server-side hiccups.
    #[serde(with = "humantime_serde")]
    pub timeout_min: Duration,
    /// Longest timeout, and the timeout of a peer's first request of a kind.
    #[serde(with = "humantime_serde")]
    pub timeout_max: Duration,
    /// Backoff after a peer's first consecutive failure or timeout; it doubles with each
    /// further one.
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    /// Longest backoff.
    #[serde(with = "humantime_serde")]
    pub backoff_cap: Duration,
    /// Weight of a new measurement in the per-kind round-trip average (EWMA), in
    /// `(0, 1]`. Until `1 / measurement_impact` responses are measured, each weighs
    /// `1 / responses` instead (a plain mean), so a new peer's estimate settles fast.
    pub measurement_impact: f64,
}

impl PeerSetConfig {
    /// Default [`min_request_bytes`](Self::min_request_bytes): 64 KiB.
    pub const DEFAULT_MIN_REQUEST_BYTES: u64 = 64 * 1024;
    /// Default [`max_request_bytes`](Self::max_request_bytes): 512 KiB. go-ethereum serves up to
    /// 2 MiB in one response, but a verified reply is held (with the nodes its verification
    /// computed) until a step takes it, so the replies a sync can keep in flight within its
    /// memory budget are fewer the larger each may be: with 512 KiB, the default budget of
    /// snap sync keeps 32 in flight instead of 8, which 8 peers at 100–250 ms of latency need
    /// to keep their links full. A link's own budget (its rate × `target_round_trip`) is below
    /// this up to about 8 Mbit/s anyway.
    pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 512 * 1024;
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
    /// Longest duration any setting accepts: one hour (a peer silent longer is gone; every
    /// wait of the sync is bounded by a few of these).
    pub const MAX_DURATION: Duration = Duration::from_secs(60 * 60);
    /// Largest accepted [`max_request_bytes`](Self::max_request_bytes): 16 MiB, the devp2p
    /// message limit.
    pub const MAX_REQUEST_BYTES_LIMIT: u64 = 16 * 1024 * 1024;
    /// Largest accepted [`max_in_flight_per_peer`](Self::max_in_flight_per_peer): 256 (a link
    /// is full long before).
    pub const MAX_IN_FLIGHT_PER_PEER_LIMIT: usize = 256;

    /// Checks the settings against each other.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] for a zero size, count or duration; [`ConfigError::TooLarge`] for
    /// `max_request_bytes` over [`MAX_REQUEST_BYTES_LIMIT`](Self::MAX_REQUEST_BYTES_LIMIT) or
    /// `max_in_flight_per_peer` over
    /// [`MAX_IN_FLIGHT_PER_PEER_LIMIT`](Self::MAX_IN_FLIGHT_PER_PEER_LIMIT);
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
        if self.max_request_bytes > Self::MAX_REQUEST_BYTES_LIMIT {
            return Err(ConfigError::TooLarge {
                field: "max_request_bytes",
                value: self.max_request_bytes,
                limit: Self::MAX_REQUEST_BYTES_LIMIT,
            });
        }
        if self.max_in_flight_per_peer == 0 {
            return Err(ConfigError::Zero { field: "max_in_flight_per_peer" });
        }
        if self.max_in_flight_per_peer > Self::MAX_IN_FLIGHT_PER_PEER_LIMIT {
            return Err(ConfigError::TooLarge {
                field: "max_in_flight_per_peer",
                value: u64::try_from(self.max_in_flight_per_peer).unwrap_or(u64::MAX),
                limit: Self::MAX_IN_FLIGHT_PER_PEER_LIMIT as u64,
            });
        }
        Ok(())
    }

    fn validate_durations(&self) -> Result<(), ConfigError> {
        check_durations(&[
            ("target_round_trip", self.target_round_trip),
            ("pipeline_slack", self.pipeline_slack),
            ("timeout_min", self.timeout_min),
            ("timeout_max", self.timeout_max),
            ("backoff_base", self.backoff_base),
            ("backoff_cap", self.backoff_cap),
        ])?;
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

/// Each duration must be positive and at most [`PeerSetConfig::MAX_DURATION`].
pub(crate) fn check_durations(durations: &[(&'static str, Duration)]) -> Result<(), ConfigError> {
    for &(field, value) in durations {
        if value.is_zero() {
            return Err(ConfigError::Zero { field });
        }
        if value > PeerSetConfig::MAX_DURATION {
            return Err(ConfigError::TooLong { field, value, limit: PeerSetConfig::MAX_DURATION });
        }
    }
    Ok(())
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
    fn durations_over_an_hour_are_rejected() {
        let config =
            PeerSetConfig { backoff_cap: Duration::from_secs(u64::MAX), ..Default::default() };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TooLong { field: "backoff_cap", .. })
        ));
    }

    #[test]
    fn sizes_over_their_limits_are_rejected() {
        let config =
            PeerSetConfig { max_request_bytes: 16 * 1024 * 1024 + 1, ..Default::default() };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TooLarge { field: "max_request_bytes", limit: 16_777_216, .. })
        ));
        let config = PeerSetConfig { max_in_flight_per_peer: 257, ..Default::default() };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TooLarge { field: "max_in_flight_per_peer", value: 257, .. })
        ));
        let at_limits = PeerSetConfig {
            max_request_bytes: 16 * 1024 * 1024,
            max_in_flight_per_peer: 256,
            timeout_max: PeerSetConfig::MAX_DURATION,
            backoff_cap: PeerSetConfig::MAX_DURATION,
            ..Default::default()
        };
        assert_eq!(at_limits.validate(), Ok(()));
    }

    #[test]
    fn durations_read_and_write_as_human_readable_strings() {
        let config: PeerSetConfig =
            toml::from_str("timeout_min = \"1s 500ms\"\nbackoff_cap = \"2m\"\n").unwrap();
        assert_eq!(config.timeout_min, Duration::from_millis(1500));
        assert_eq!(config.backoff_cap, Duration::from_secs(120));
        assert_eq!(config.timeout_max, PeerSetConfig::DEFAULT_TIMEOUT_MAX);
        let written = toml::to_string(&PeerSetConfig::default()).unwrap();
        assert!(written.contains("target_round_trip = \"500ms\""), "{written}");
        assert_eq!(toml::from_str::<PeerSetConfig>(&written).unwrap(), PeerSetConfig::default());
        let error = toml::from_str::<PeerSetConfig>("timeout_min = 2000\n").unwrap_err();
        assert!(error.to_string().contains("timeout_min"), "{error}");
        let error = toml::from_str::<PeerSetConfig>("timeout_min_ms = \"2s\"\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `timeout_min_ms`"), "{error}");
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
