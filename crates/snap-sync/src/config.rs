//! The settings of the snap sync stage, read from TOML.
//!
//! Durations are integer milliseconds in fields ending in `_ms`; sizes are integer bytes in
//! fields ending in `_bytes`. Every field has a default, so a file names only what it changes,
//! and bounds (checked by [`SnapSyncConfig::validate`]): lower ones so that the sync can make
//! progress, upper ones so that its memory and its waits stay bounded whatever a file says.
//! Durations are at most an hour; the memory the settings allow (ETL buffers, replies in
//! flight) stays within about 12 GiB at their bounds. A configuration file is at most
//! [`SnapSyncConfig::MAX_FILE_BYTES`] (1 MiB).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use snapsync_etl::CollectorConfig;
use snapsync_fetch::{FetchConfig, PeerSetConfig};

use crate::{ConfigError, TomlError};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Every setting of the snap sync stage.
///
/// Read it with [`from_toml_str`](Self::from_toml_str) or [`load`](Self::load) (both validate);
/// a built or edited value is checked with [`validate`](Self::validate). Missing fields and
/// sections take their defaults; unknown ones are errors, so a misspelt setting is never
/// silently ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapSyncConfig {
    /// Code hashes asked for in one `GetByteCodes` request. Default 128 (go-ethereum asks for
    /// 84: its 512 KiB request size over 24 KiB codes, times 4); 1 to 1024, the most a
    /// go-ethereum server answers. Fewer codes per request give more requests to spread over
    /// the peers and a shorter tail; lower it if peers time out on bytecode requests.
    pub bytecodes_per_request: u64,
    /// Trie-node paths asked for in one `GetTrieNodes` request (healing). Default 384, as
    /// go-ethereum; 1 to 1024. Lower it if healing requests time out.
    pub trie_nodes_per_request: u64,
    /// How many requests run at once.
    pub concurrency: ConcurrencyConfig,
    /// Request sizing, timeouts, backoff and retries.
    pub requests: RequestsConfig,
    /// How the account hash space is divided.
    pub accounts: AccountsConfig,
    /// How storage is requested.
    pub storage: StorageConfig,
    /// Which block's state is synced, and when it moves.
    pub pivot: PivotConfig,
    /// Sorting downloaded data before it is written.
    pub etl: EtlConfig,
}

/// How many requests run at once (`[concurrency]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConcurrencyConfig {
    /// Most requests in flight over all peers and kinds. Default 64: enough for 8 peers with
    /// a few hundred milliseconds of latency to keep several requests each on the way (the
    /// peer set pipelines each link as deep as its bandwidth-delay product needs, and
    /// requests waiting for a peer cost nothing). Raise it with many fast peers (the sync is
    /// then bound by peers, not by this cap); lower it to spare bandwidth. 1 to 1024, and at
    /// most 4 GiB of replies in flight: `max_requests × requests.max_request_bytes` ≤ 4 GiB
    /// (each reply in flight is held while it is verified).
    pub max_requests: u64,
    /// Most requests in flight to one peer. Default 8. The peer set pipelines a peer just
    /// deep enough to keep its link busy (see `requests.pipeline_slack_ms`); this caps it,
    /// for fragile peers. 1 to 256 (a link is full long before).
    pub max_in_flight_per_peer: usize,
}

/// Request sizing, timeouts, backoff and retries (`[requests]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestsConfig {
    /// Smallest response budget a request asks for, and a new peer's first budget. Default
    /// 64 KiB (65536); at least 1, at most `max_request_bytes`. Smaller requests are dominated
    /// by latency.
    pub min_request_bytes: u64,
    /// Largest response budget a request asks for. Default 2 MiB (2097152), the most
    /// go-ethereum serves in one response; at most 16 MiB, the devp2p message limit.
    pub max_request_bytes: u64,
    /// How long one response should take to cross its peer's link, in ms: its budget is the
    /// link's measured rate times this. Default 500. Longer means fewer, larger requests;
    /// shorter means cheaper losses, finer scheduling and a shorter tail at the end of each
    /// phase. Pipelining hides the latency, so it need not exceed the round trip. 1 ms to one
    /// hour, as every duration here.
    pub target_round_trip_ms: u64,
    /// Transfer time, in ms, the peer set keeps queued on a link beyond its latency: a peer
    /// takes another request once the responses already asked of it will have crossed its
    /// link within `latency + pipeline_slack_ms`, so the next response starts as the last one
    /// ends. Default 50. Raise it if links idle between responses (a busy machine answering
    /// late); lower it for less queueing on each link.
    pub pipeline_slack_ms: u64,
    /// Shortest request timeout, in ms. Default 2000; at most `timeout_max_ms`. Raise it on
    /// high-latency links.
    pub timeout_min_ms: u64,
    /// Longest request timeout (and a peer's first timeout), in ms. Default 30000; at most one
    /// hour. Every request of the stage's fetcher is timed by these settings: snap requests,
    /// the header requests choosing the pivot, and those of the headers and bodies stages given
    /// the same fetcher; a reply must be able to arrive within it.
    pub timeout_max_ms: u64,
    /// Rest after a peer's first consecutive failure, in ms; doubles with each further one.
    /// Default 1000; at most `backoff_cap_ms`.
    pub backoff_base_ms: u64,
    /// Longest rest, in ms. Default 64000 (the base doubled six times); at most one hour.
    pub backoff_cap_ms: u64,
    /// Attempts (each to the best available peer) before a request, and the sync, fails.
    /// Default 32; 1 to 1024, so that a request no peer answers fails within
    /// `max_attempts × timeout_max_ms`. Raise it on networks with many unreliable peers.
    pub max_attempts: u32,
    /// Longest wait, in ms, for a peer to take a request (every peer serving the state busy or
    /// resting after failures) before the request fails; the stage then fails the step
    /// recoverably and the pipeline retries it. Default 60000; 1 ms to one hour. Raise it with
    /// few peers that fail often (a rest can last `backoff_cap_ms`); lower it to hand a step
    /// that no peer can serve back to the pipeline sooner.
    pub peer_wait_ms: u64,
}

/// How the account hash space is divided (`[accounts]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Equal chunks the 2^256 account hash space is split into, downloaded concurrently and
    /// resumed independently. Default 64 (go-ethereum: 16): each chunk is a chain of requests,
    /// one after another, so 8 peers with several requests each on the way need several
    /// dozen. More chunks give more parallelism with many peers, at more proof overhead.
    /// 1 to 4096: every chunk is kept in memory and rewritten in the progress record of each
    /// step, and more chunks than requests in flight (at most 1024) cannot all be busy.
    pub chunks: u64,
}

/// How storage is requested (`[storage]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Accounts whose storage is asked for in one `GetStorageRanges` request. Default 256.
    /// Small contracts are batched so that a request carries more than proofs, and a batch
    /// of them fills a good part of a link's bandwidth-delay product. 1 to 1024: a reply is
    /// capped by its byte budget, so longer lists only grow the request.
    pub accounts_per_batch: u64,
    /// Storage slots beyond which a contract counts as huge and its slot hash space is split
    /// into [`split_sub_ranges`](Self::split_sub_ranges) ranges fetched concurrently. Default
    /// 20000 (go-ethereum splits from about 16384): a larger contract fetched range after
    /// range by one peer would leave the others idle. Lower it to parallelise more contracts.
    /// 1 to 1,000,000,000 (beyond any contract: the largest on mainnet hold tens of millions).
    pub split_threshold_slots: u64,
    /// Sub-ranges a huge contract's storage is split into. Default 16; 2 to 256 (each
    /// sub-range is tracked in the progress record, and more cannot all be in flight).
    pub split_sub_ranges: u64,
}

/// Which block's state is synced, and when it moves (`[pivot]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PivotConfig {
    /// Blocks between the chain tip and the pivot when it is chosen. Default 64, as
    /// go-ethereum: deep enough to be past reorgs. 1 to 126 (`move_distance` must lie between
    /// it and 128).
    pub distance: u64,
    /// The pivot moves (to `distance` behind the tip) once the tip is this many blocks ahead
    /// of it. Default 120. Must exceed `distance` and stay below 128: peers serve the state of
    /// about the 128 most recent blocks only, and a pivot older than that cannot be served.
    pub move_distance: u64,
}

/// Sorting downloaded data before it is written (`[etl]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtlConfig {
    /// Memory of the in-memory sort buffer before it spills to a sorted run file. Default
    /// 256 MiB (268435456); 1 MiB to 2 GiB. Larger means fewer runs and a faster merge. A step
    /// fills one buffer per table it writes (five), so the bound keeps them within 10 GiB.
    pub buffer_bytes: usize,
    /// Verified bytes one step gathers before it is written and committed. Default 32 MiB
    /// (33554432); 64 KiB to 4 GiB. A crash loses at most one step of downloads; smaller steps
    /// resume more finely but commit (and fsync) more often; beyond a few hundred MiB, larger
    /// ones only lose more on a crash.
    pub step_bytes: u64,
    /// Longest time, in ms, one step gathers before it is written and committed, if it holds
    /// anything by then. Default 2000; 100..=3600000 (one hour). Requests not yet sent to a
    /// peer by then are given up unsent (their work stays for the next step), those on the
    /// way are awaited, so the step commits about one response time later. Together with
    /// `step_bytes` this bounds what a crash loses, in time and in bytes (see
    /// `docs/configuration.md`). Shorter means finer resume on slow links, at more commits.
    pub max_step_interval_ms: u64,
    /// Directory the ETL run directories go in. Default (unset): `<datadir>/etl`. The stage
    /// creates it if missing and, at start, removes the run directories processes that ended
    /// without removing them left there (never a live one: several syncs may share it). Put it
    /// on a disk with room for the state, not on a RAM-backed tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl SnapSyncConfig {
    /// Default [`bytecodes_per_request`](Self::bytecodes_per_request).
    pub const DEFAULT_BYTECODES_PER_REQUEST: u64 = 128;
    /// Default [`trie_nodes_per_request`](Self::trie_nodes_per_request).
    pub const DEFAULT_TRIE_NODES_PER_REQUEST: u64 = 384;
    /// Most bytecodes or trie nodes one request may ask for: go-ethereum serves no more.
    pub const MAX_ITEMS_PER_REQUEST: u64 = 1024;
    /// Largest accepted `requests.max_request_bytes`: the devp2p message limit.
    pub const MAX_REQUEST_BYTES_LIMIT: u64 = 16 * MIB;
    /// Longest accepted duration: one hour (a peer silent longer is gone; every wait of the
    /// sync is bounded by a few of these).
    pub const MAX_DURATION_MS: u64 = 60 * 60 * 1000;
    /// Recent blocks whose state peers serve; the pivot must move before falling this far back.
    pub const SERVED_ROOTS: u64 = 128;
    /// Largest accepted `pivot.distance`: `pivot.move_distance` must fit between it and 128.
    pub const MAX_PIVOT_DISTANCE: u64 = Self::SERVED_ROOTS - 2;
    /// Smallest accepted `etl.buffer_bytes`: 1 MiB.
    pub const MIN_ETL_BUFFER_BYTES: usize = 1024 * 1024;
    /// Largest accepted `etl.buffer_bytes`: 2 GiB (five buffers: 10 GiB).
    pub const MAX_ETL_BUFFER_BYTES: usize = 2 * 1024 * 1024 * 1024;
    /// Smallest accepted `etl.step_bytes`: 64 KiB.
    pub const MIN_ETL_STEP_BYTES: u64 = 64 * KIB;
    /// Largest accepted `etl.step_bytes`: 4 GiB.
    pub const MAX_ETL_STEP_BYTES: u64 = 4 * GIB;
    /// Largest accepted `concurrency.max_requests`.
    pub const MAX_REQUESTS: u64 = 1024;
    /// Largest accepted `concurrency.max_in_flight_per_peer`.
    pub const MAX_IN_FLIGHT_PER_PEER: u64 = 256;
    /// Most reply bytes the settings may keep in flight:
    /// `concurrency.max_requests × requests.max_request_bytes`.
    pub const MAX_IN_FLIGHT_BYTES: u64 = 4 * GIB;
    /// Largest accepted `requests.max_attempts`.
    pub const MAX_ATTEMPTS: u64 = 1024;
    /// Largest accepted `accounts.chunks`.
    pub const MAX_ACCOUNT_CHUNKS: u64 = 4096;
    /// Largest accepted `storage.accounts_per_batch`.
    pub const MAX_ACCOUNTS_PER_BATCH: u64 = 1024;
    /// Largest accepted `storage.split_threshold_slots`.
    pub const MAX_SPLIT_THRESHOLD_SLOTS: u64 = 1_000_000_000;
    /// Largest accepted `storage.split_sub_ranges`.
    pub const MAX_SPLIT_SUB_RANGES: u64 = 256;
    /// Largest configuration file [`load`](Self::load) reads: 1 MiB (every setting written
    /// out takes under 1 KiB).
    pub const MAX_FILE_BYTES: u64 = MIB;

    /// Parses and [validates](Self::validate) a TOML configuration; missing fields keep their
    /// defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Toml`] (with line and column) for malformed TOML, a wrong type or an
    /// unknown field; the errors of [`validate`](Self::validate).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|error| TomlError::new(&error, text))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates the TOML file at `path`, if it is at most
    /// [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] when the file cannot be read, is not UTF-8 or is larger than the
    /// cap (its source then carries an [`InputTooLarge`](snapsync_genesis::InputTooLarge));
    /// otherwise as [`from_toml_str`](Self::from_toml_str).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = snapsync_genesis::read_capped_string(path, Self::MAX_FILE_BYTES)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml_str(&text)
    }

    /// The configuration as TOML, every field written (except an unset `etl.dir`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Serialize`] when `etl.dir` is not valid UTF-8.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        Ok(toml::to_string(self)?)
    }

    /// Checks every setting, alone and against the others.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`], naming the field, its value and the rule with its bound, for a
    /// setting outside its bounds (each field's documentation gives them; durations 1 ms to one
    /// hour), and for: `requests.min_request_bytes` above `requests.max_request_bytes`;
    /// `requests.timeout_min_ms` above `requests.timeout_max_ms`; `requests.backoff_base_ms`
    /// above `requests.backoff_cap_ms`; `concurrency.max_requests ×
    /// requests.max_request_bytes` above 4 GiB; `pivot.move_distance` not above
    /// `pivot.distance` or not below 128; `etl.max_step_interval_ms` outside 100..=3600000.
    /// [`ConfigError::EmptyEtlDir`] for an empty `etl.dir`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_counts()?;
        self.requests.validate()?;
        self.validate_in_flight_bytes()?;
        self.pivot.validate()?;
        self.etl.validate()
    }

    fn validate_counts(&self) -> Result<(), ConfigError> {
        const SERVER: &str = "the most a snap/1 server answers";
        let counts = [
            (
                "bytecodes_per_request",
                self.bytecodes_per_request,
                1,
                Self::MAX_ITEMS_PER_REQUEST,
                SERVER,
            ),
            (
                "trie_nodes_per_request",
                self.trie_nodes_per_request,
                1,
                Self::MAX_ITEMS_PER_REQUEST,
                SERVER,
            ),
            (
                "concurrency.max_requests",
                self.concurrency.max_requests,
                1,
                Self::MAX_REQUESTS,
                "every request in flight holds its reply",
            ),
            (
                "concurrency.max_in_flight_per_peer",
                as_u64(self.concurrency.max_in_flight_per_peer),
                1,
                Self::MAX_IN_FLIGHT_PER_PEER,
                "a link is full long before",
            ),
            (
                "accounts.chunks",
                self.accounts.chunks,
                1,
                Self::MAX_ACCOUNT_CHUNKS,
                "every chunk is held in memory and in each step's progress record",
            ),
            (
                "storage.accounts_per_batch",
                self.storage.accounts_per_batch,
                1,
                Self::MAX_ACCOUNTS_PER_BATCH,
                "a reply is capped by its byte budget anyway",
            ),
            (
                "storage.split_threshold_slots",
                self.storage.split_threshold_slots,
                1,
                Self::MAX_SPLIT_THRESHOLD_SLOTS,
                "beyond any contract",
            ),
            (
                "storage.split_sub_ranges",
                self.storage.split_sub_ranges,
                2,
                Self::MAX_SPLIT_SUB_RANGES,
                "every sub-range is held in the progress record",
            ),
        ];
        for (field, value, min, max, why) in counts {
            within(field, value, min, max, why)?;
        }
        Ok(())
    }

    /// Replies in flight are held while they are verified: their total is bounded.
    fn validate_in_flight_bytes(&self) -> Result<(), ConfigError> {
        let in_flight =
            self.concurrency.max_requests.saturating_mul(self.requests.max_request_bytes);
        if in_flight > Self::MAX_IN_FLIGHT_BYTES {
            return Err(ConfigError::Invalid {
                field: "concurrency.max_requests",
                value: self.concurrency.max_requests,
                rule: format!(
                    "times requests.max_request_bytes ({}) must be at most 4294967296 (4 GiB) \
                     of replies in flight",
                    self.requests.max_request_bytes
                ),
            });
        }
        Ok(())
    }

    /// The peer set's settings: request sizes, in-flight limit, timeouts and backoff from
    /// [`requests`](Self::requests) and [`concurrency`](Self::concurrency); the timeout multiple
    /// and measurement impact keep [`PeerSetConfig`]'s defaults.
    pub fn peer_set_config(&self) -> PeerSetConfig {
        let requests = &self.requests;
        PeerSetConfig {
            min_request_bytes: requests.min_request_bytes,
            max_request_bytes: requests.max_request_bytes,
            target_round_trip: Duration::from_millis(requests.target_round_trip_ms),
            pipeline_slack: Duration::from_millis(requests.pipeline_slack_ms),
            max_in_flight_per_peer: self.concurrency.max_in_flight_per_peer,
            timeout_min: Duration::from_millis(requests.timeout_min_ms),
            timeout_max: Duration::from_millis(requests.timeout_max_ms),
            backoff_base: Duration::from_millis(requests.backoff_base_ms),
            backoff_cap: Duration::from_millis(requests.backoff_cap_ms),
            ..PeerSetConfig::default()
        }
    }

    /// The fetcher's settings: [`requests.max_attempts`](RequestsConfig::max_attempts) and
    /// [`requests.peer_wait_ms`](RequestsConfig::peer_wait_ms); the idle poll and hedging keep
    /// [`FetchConfig`]'s defaults.
    pub fn fetch_config(&self) -> FetchConfig {
        FetchConfig {
            max_attempts: self.requests.max_attempts,
            peer_wait: Duration::from_millis(self.requests.peer_wait_ms),
            ..FetchConfig::default()
        }
    }

    /// The ETL collectors' settings: [`etl.buffer_bytes`](EtlConfig::buffer_bytes), spilling
    /// into [`etl.dir`](EtlConfig::dir) or else `datadir/etl`. The directory is not created
    /// here; it must exist before the first spill. I/O buffers and merge fan-in keep
    /// [`CollectorConfig`]'s defaults.
    pub fn collector_config(&self, datadir: &Path) -> CollectorConfig {
        CollectorConfig::new(self.etl.buffer_bytes).with_temp_dir(self.etl.etl_dir(datadir))
    }
}

impl RequestsConfig {
    /// Default [`min_request_bytes`](Self::min_request_bytes): 64 KiB.
    pub const DEFAULT_MIN_REQUEST_BYTES: u64 = 64 * KIB;
    /// Default [`max_request_bytes`](Self::max_request_bytes): 2 MiB.
    pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 2 * MIB;
    /// Default [`target_round_trip_ms`](Self::target_round_trip_ms): 500 ms.
    pub const DEFAULT_TARGET_ROUND_TRIP_MS: u64 = 500;
    /// Default [`pipeline_slack_ms`](Self::pipeline_slack_ms): 50 ms.
    pub const DEFAULT_PIPELINE_SLACK_MS: u64 = 50;
    /// Default [`timeout_min_ms`](Self::timeout_min_ms): 2 s.
    pub const DEFAULT_TIMEOUT_MIN_MS: u64 = 2_000;
    /// Default [`timeout_max_ms`](Self::timeout_max_ms): 30 s.
    pub const DEFAULT_TIMEOUT_MAX_MS: u64 = 30_000;
    /// Default [`backoff_base_ms`](Self::backoff_base_ms): 1 s.
    pub const DEFAULT_BACKOFF_BASE_MS: u64 = 1_000;
    /// Default [`backoff_cap_ms`](Self::backoff_cap_ms): 64 s.
    pub const DEFAULT_BACKOFF_CAP_MS: u64 = 64_000;
    /// Default [`max_attempts`](Self::max_attempts).
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 32;
    /// Default [`peer_wait_ms`](Self::peer_wait_ms): 60 s.
    pub const DEFAULT_PEER_WAIT_MS: u64 = 60_000;

    fn validate(&self) -> Result<(), ConfigError> {
        at_least("requests.min_request_bytes", self.min_request_bytes, 1, "must be at least 1")?;
        at_most(
            "requests.max_request_bytes",
            self.max_request_bytes,
            SnapSyncConfig::MAX_REQUEST_BYTES_LIMIT,
            "must be at most 16777216 (16 MiB), the devp2p message limit",
        )?;
        not_above(
            ("requests.min_request_bytes", self.min_request_bytes),
            ("requests.max_request_bytes", self.max_request_bytes),
        )?;
        let durations = [
            ("requests.target_round_trip_ms", self.target_round_trip_ms),
            ("requests.pipeline_slack_ms", self.pipeline_slack_ms),
            ("requests.timeout_min_ms", self.timeout_min_ms),
            ("requests.timeout_max_ms", self.timeout_max_ms),
            ("requests.backoff_base_ms", self.backoff_base_ms),
            ("requests.backoff_cap_ms", self.backoff_cap_ms),
            ("requests.peer_wait_ms", self.peer_wait_ms),
        ];
        for (field, value) in durations {
            at_least(field, value, 1, "must be at least 1 ms")?;
            at_most(
                field,
                value,
                SnapSyncConfig::MAX_DURATION_MS,
                "must be at most 3600000 ms (one hour)",
            )?;
        }
        not_above(
            ("requests.timeout_min_ms", self.timeout_min_ms),
            ("requests.timeout_max_ms", self.timeout_max_ms),
        )?;
        not_above(
            ("requests.backoff_base_ms", self.backoff_base_ms),
            ("requests.backoff_cap_ms", self.backoff_cap_ms),
        )?;
        within(
            "requests.max_attempts",
            u64::from(self.max_attempts),
            1,
            SnapSyncConfig::MAX_ATTEMPTS,
            "a request no peer answers must fail in bounded time",
        )
    }
}

impl PivotConfig {
    /// Default [`distance`](Self::distance).
    pub const DEFAULT_DISTANCE: u64 = 64;
    /// Default [`move_distance`](Self::move_distance).
    pub const DEFAULT_MOVE_DISTANCE: u64 = 120;

    fn validate(&self) -> Result<(), ConfigError> {
        within(
            "pivot.distance",
            self.distance,
            1,
            SnapSyncConfig::MAX_PIVOT_DISTANCE,
            "pivot.move_distance must lie between it and 128",
        )?;
        if self.move_distance <= self.distance {
            return Err(ConfigError::Invalid {
                field: "pivot.move_distance",
                value: self.move_distance,
                rule: format!("must exceed pivot.distance ({})", self.distance),
            });
        }
        if self.move_distance >= SnapSyncConfig::SERVED_ROOTS {
            return Err(ConfigError::Invalid {
                field: "pivot.move_distance",
                value: self.move_distance,
                rule: "must be below 128: peers serve the state of the last 128 blocks only"
                    .to_owned(),
            });
        }
        Ok(())
    }
}

impl EtlConfig {
    /// Default [`buffer_bytes`](Self::buffer_bytes): 256 MiB.
    pub const DEFAULT_BUFFER_BYTES: usize = 256 * 1024 * 1024;
    /// Default [`step_bytes`](Self::step_bytes): 32 MiB.
    pub const DEFAULT_STEP_BYTES: u64 = 32 * MIB;
    /// Default [`max_step_interval_ms`](Self::max_step_interval_ms): 2 s.
    pub const DEFAULT_MAX_STEP_INTERVAL_MS: u64 = 2_000;
    /// Smallest accepted [`max_step_interval_ms`](Self::max_step_interval_ms): 100 ms (each
    /// step commits, and each commit syncs the disk).
    pub const MIN_STEP_INTERVAL_MS: u64 = 100;
    /// Largest accepted [`max_step_interval_ms`](Self::max_step_interval_ms): one hour.
    pub const MAX_STEP_INTERVAL_MS: u64 = 60 * 60 * 1000;

    /// The run-file directory: [`dir`](Self::dir), or else `datadir/etl`.
    pub fn etl_dir(&self, datadir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| datadir.join("etl"))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        at_least(
            "etl.buffer_bytes",
            as_u64(self.buffer_bytes),
            as_u64(SnapSyncConfig::MIN_ETL_BUFFER_BYTES),
            "must be at least 1048576 (1 MiB)",
        )?;
        at_most(
            "etl.buffer_bytes",
            as_u64(self.buffer_bytes),
            as_u64(SnapSyncConfig::MAX_ETL_BUFFER_BYTES),
            "must be at most 2147483648 (2 GiB): a step fills five such buffers",
        )?;
        at_least(
            "etl.step_bytes",
            self.step_bytes,
            SnapSyncConfig::MIN_ETL_STEP_BYTES,
            "must be at least 65536 (64 KiB)",
        )?;
        at_most(
            "etl.step_bytes",
            self.step_bytes,
            SnapSyncConfig::MAX_ETL_STEP_BYTES,
            "must be at most 4294967296 (4 GiB)",
        )?;
        at_least(
            "etl.max_step_interval_ms",
            self.max_step_interval_ms,
            Self::MIN_STEP_INTERVAL_MS,
            "must be at least 100 ms",
        )?;
        at_most(
            "etl.max_step_interval_ms",
            self.max_step_interval_ms,
            Self::MAX_STEP_INTERVAL_MS,
            "must be at most 3600000 ms (one hour)",
        )?;
        if self.dir.as_ref().is_some_and(|dir| dir.as_os_str().is_empty()) {
            return Err(ConfigError::EmptyEtlDir);
        }
        Ok(())
    }
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        Self {
            max_requests: 64,
            max_in_flight_per_peer: PeerSetConfig::DEFAULT_MAX_IN_FLIGHT_PER_PEER,
        }
    }
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            min_request_bytes: Self::DEFAULT_MIN_REQUEST_BYTES,
            max_request_bytes: Self::DEFAULT_MAX_REQUEST_BYTES,
            target_round_trip_ms: Self::DEFAULT_TARGET_ROUND_TRIP_MS,
            pipeline_slack_ms: Self::DEFAULT_PIPELINE_SLACK_MS,
            timeout_min_ms: Self::DEFAULT_TIMEOUT_MIN_MS,
            timeout_max_ms: Self::DEFAULT_TIMEOUT_MAX_MS,
            backoff_base_ms: Self::DEFAULT_BACKOFF_BASE_MS,
            backoff_cap_ms: Self::DEFAULT_BACKOFF_CAP_MS,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            peer_wait_ms: Self::DEFAULT_PEER_WAIT_MS,
        }
    }
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self { chunks: 64 }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { accounts_per_batch: 256, split_threshold_slots: 20_000, split_sub_ranges: 16 }
    }
}

impl Default for PivotConfig {
    fn default() -> Self {
        Self { distance: Self::DEFAULT_DISTANCE, move_distance: Self::DEFAULT_MOVE_DISTANCE }
    }
}

impl Default for EtlConfig {
    fn default() -> Self {
        Self {
            buffer_bytes: Self::DEFAULT_BUFFER_BYTES,
            step_bytes: Self::DEFAULT_STEP_BYTES,
            max_step_interval_ms: Self::DEFAULT_MAX_STEP_INTERVAL_MS,
            dir: None,
        }
    }
}

impl Default for SnapSyncConfig {
    fn default() -> Self {
        Self {
            bytecodes_per_request: Self::DEFAULT_BYTECODES_PER_REQUEST,
            trie_nodes_per_request: Self::DEFAULT_TRIE_NODES_PER_REQUEST,
            concurrency: ConcurrencyConfig::default(),
            requests: RequestsConfig::default(),
            accounts: AccountsConfig::default(),
            storage: StorageConfig::default(),
            pivot: PivotConfig::default(),
            etl: EtlConfig::default(),
        }
    }
}

fn as_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

fn at_least(field: &'static str, value: u64, min: u64, rule: &str) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::Invalid { field, value, rule: rule.to_owned() });
    }
    Ok(())
}

fn at_most(field: &'static str, value: u64, max: u64, rule: &str) -> Result<(), ConfigError> {
    if value > max {
        return Err(ConfigError::Invalid { field, value, rule: rule.to_owned() });
    }
    Ok(())
}

/// `value` must lie in `min..=max`; above it, the rule says `why` the bound is there.
fn within(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
    why: &str,
) -> Result<(), ConfigError> {
    at_least(field, value, min, &format!("must be at least {min}"))?;
    at_most(field, value, max, &format!("must be at most {max} ({why})"))
}

/// `low` must not exceed `high`; the error names `low`.
fn not_above(low: (&'static str, u64), high: (&'static str, u64)) -> Result<(), ConfigError> {
    if low.1 > high.1 {
        return Err(ConfigError::Invalid {
            field: low.0,
            value: low.1,
            rule: format!("must not exceed {} ({})", high.0, high.1),
        });
    }
    Ok(())
}
