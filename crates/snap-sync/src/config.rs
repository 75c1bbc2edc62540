//! The settings of the snap sync stage, read from TOML.
//!
//! Durations are human-readable strings (`"500ms"`, `"2s"`, `"1m 4s"`); sizes are integer bytes
//! in fields ending in `_bytes`. Every field has a default, so a file names only what it
//! changes, and bounds (checked by [`SnapSyncConfig::validate`], the one check a file and a
//! value built in code both go through): lower ones so that the sync can make progress, upper
//! ones so that its memory and its waits stay bounded whatever a file says. The `[peers]` and
//! `[fetch]` sections are the scheduler's own settings types ([`PeerSetConfig`],
//! [`FetchConfig`]), embedded as they are, so there is one definition, default and bound of
//! each. Durations are at most an hour; the memory the settings allow (ETL buffers, replies in
//! flight) stays within about 12 GiB at their bounds. A configuration file is at most
//! [`SnapSyncConfig::MAX_FILE_BYTES`] (1 MiB).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use snapsync_etl::CollectorConfig;
use snapsync_fetch::{FetchConfig, PeerSetConfig};

use crate::{
    ConfigError, TomlError,
    memory::{HELD_REPLY_FACTOR, MemoryConfig, within_share},
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Every setting of the snap sync stage.
///
/// Read it with [`from_toml_str`](Self::from_toml_str) or [`load`](Self::load) (both validate);
/// a built or edited value is checked with [`validate`](Self::validate). Missing fields and
/// sections take their defaults; unknown ones are errors, so a misspelt setting is never
/// silently ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The peer set: request sizing, pipelining, timeouts and backoff (`[peers]`).
    pub peers: PeerSetConfig,
    /// Retries and the wait for a free peer (`[fetch]`).
    pub fetch: FetchConfig,
    /// How the account hash space is divided.
    pub accounts: AccountsConfig,
    /// How storage is requested.
    pub storage: StorageConfig,
    /// Which block's state is synced, and when it moves.
    pub pivot: PivotConfig,
    /// How much one step gathers before it is written and committed.
    pub step: StepConfig,
    /// Sorting downloaded data before it is written.
    pub etl: EtlConfig,
    /// The one setting that bounds the sync's memory, and its shares (`[memory]`).
    pub memory: MemoryConfig,
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
    /// most 4 GiB of replies in flight: `max_requests × peers.max_request_bytes` ≤ 4 GiB
    /// (each reply in flight is held while it is verified). (Requests in flight to one peer:
    /// `peers.max_in_flight_per_peer`.) A cap: the requests in flight are also at most what
    /// the reply share of `memory.budget_bytes` holds
    /// ([`SnapSyncConfig::requests_in_flight`]).
    pub max_requests: u64,
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
    /// go-ethereum: deep enough to be past reorgs. 0 to 126 (`move_distance` must lie between
    /// it and 128); 0 syncs the tip's own state, for a small private chain whose peers hold
    /// only their head state.
    pub distance: u64,
    /// The pivot moves (to `distance` behind the tip) once the tip is this many blocks ahead
    /// of it. Default 120. Must exceed `distance` and stay below 128: peers serve the state of
    /// about the 128 most recent blocks only, and a pivot older than that cannot be served.
    pub move_distance: u64,
}

/// How much one sync step gathers before it is written and committed (`[step]`): together
/// these bound what a crash loses, in bytes and in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepConfig {
    /// Verified bytes one step gathers before it is written and committed: the leaves and
    /// codes (key and value) and the trie nodes their proofs computed (path and node), so
    /// that the bound holds for what the step buffers and writes. Default (unset):
    /// 8 MiB (8388608), or one step's share of `memory.budget_bytes` (a sixteenth: two steps
    /// are held, the one committing and the next, gathered meanwhile) if that is less
    /// ([`SnapSyncConfig::step_bytes`]); 64 KiB to 4 GiB, and at most that share when set.
    /// A crash loses at most one step of downloads; smaller steps resume more finely but commit
    /// (and fsync) more often; larger ones make the last commit, which no download overlaps,
    /// longer (8 MiB against 32 MiB: 63–68% instead of 59–62% of eight 8 Mbit/s links used at
    /// 250 ms, the same CPU time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Longest time one step gathers before it is written and committed, if it holds anything
    /// by then. Default `"2s"`; 100 ms to one hour. The download's requests go on, their
    /// answers filling the next step; a healing step's requests not yet sent to a peer by then
    /// are given up unsent (their work stays for the next step), those on the way are awaited,
    /// so it commits about one response time later. Shorter means finer resume on slow links,
    /// at more commits.
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
}

/// Sorting downloaded data before it is written (`[etl]`). The default: no setting given,
/// the buffer derived from the memory budget and the directory `<datadir>/etl`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtlConfig {
    /// Memory of one in-memory sort buffer before it spills to a sorted run file. Default
    /// (unset): the ETL share of `memory.budget_bytes` over the five buffers a step fills
    /// ([`MemoryConfig::etl_buffer_bytes`]: 25.6 MiB of the default 512 MiB budget); 1 MiB to
    /// 2 GiB, and at most that share when set. Larger means fewer runs and a faster merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_bytes: Option<usize>,
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
    /// Recent blocks whose state peers serve; the pivot must move before falling this far back.
    pub const SERVED_ROOTS: u64 = 128;
    /// Largest accepted `pivot.distance`: `pivot.move_distance` must fit between it and 128.
    pub const MAX_PIVOT_DISTANCE: u64 = Self::SERVED_ROOTS - 2;
    /// Smallest accepted `etl.buffer_bytes`: 1 MiB.
    pub const MIN_ETL_BUFFER_BYTES: usize = 1024 * 1024;
    /// Largest accepted `etl.buffer_bytes`: 2 GiB (five buffers: 10 GiB).
    pub const MAX_ETL_BUFFER_BYTES: usize = 2 * 1024 * 1024 * 1024;
    /// Largest accepted `concurrency.max_requests`.
    pub const MAX_REQUESTS: u64 = 1024;
    /// Most reply bytes the settings may keep in flight:
    /// `concurrency.max_requests × peers.max_request_bytes`.
    pub const MAX_IN_FLIGHT_BYTES: u64 = 4 * GIB;
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
    /// unknown field; [`ConfigError::Renamed`] for a setting of an earlier version, naming its
    /// new key; the errors of [`validate`](Self::validate).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|error| TomlError::new(&error, text))?;
        refuse_renamed(&table)?;
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
    /// setting outside its bounds (each field's documentation gives them), and for
    /// `concurrency.max_requests × peers.max_request_bytes` above 4 GiB, `pivot.move_distance`
    /// not above `pivot.distance` or not below 128, `step.max_interval` outside 100 ms to one
    /// hour; [`ConfigError::Setting`] for a `[peers]` or `[fetch]` setting its own `validate`
    /// refuses ([`PeerSetConfig::validate`], [`FetchConfig::validate`]: durations 1 ms to one
    /// hour, a minimum above its maximum, …); [`ConfigError::EmptyEtlDir`] for an empty
    /// `etl.dir`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_counts()?;
        self.peers.validate().map_err(|source| ConfigError::setting("peers", source))?;
        self.fetch.validate().map_err(|source| ConfigError::setting("fetch", source))?;
        self.validate_in_flight_bytes()?;
        self.pivot.validate()?;
        self.step.validate()?;
        self.etl.validate()?;
        self.memory.validate()?;
        self.validate_shares()
    }

    /// The settings the memory budget shares out must fit their shares.
    fn validate_shares(&self) -> Result<(), ConfigError> {
        let memory = &self.memory;
        if let Some(bytes) = self.step.max_bytes {
            within_share("step.max_bytes", bytes, memory.step_bytes(), "a sixteenth")?;
        }
        if let Some(buffer) = self.etl.buffer_bytes {
            let share = memory.etl_buffer_bytes();
            within_share("etl.buffer_bytes", as_u64(buffer), share, "a quarter over five buffers")?;
        }
        let held = self.peers.max_request_bytes.saturating_mul(HELD_REPLY_FACTOR);
        if held > memory.replies_bytes() {
            return Err(ConfigError::Invalid {
                field: "peers.max_request_bytes",
                value: self.peers.max_request_bytes,
                rule: format!(
                    "times {HELD_REPLY_FACTOR} (a verified reply as held) must be at most {}, \
                     a quarter of memory.budget_bytes",
                    memory.replies_bytes()
                ),
            });
        }
        Ok(())
    }

    /// Requests in flight at most: `concurrency.max_requests`, or fewer if the reply share of
    /// `memory.budget_bytes` holds fewer replies of `peers.max_request_bytes`
    /// ([`MemoryConfig::request_slots`]; 32 with the defaults).
    pub fn requests_in_flight(&self) -> u64 {
        let slots = self.memory.request_slots(self.peers.max_request_bytes);
        self.concurrency.max_requests.min(slots).max(1)
    }

    /// Verified bytes one step gathers: `step.max_bytes` if set, else
    /// [`StepConfig::DEFAULT_MAX_BYTES`] or one step's share of `memory.budget_bytes`
    /// ([`MemoryConfig::step_bytes`]) if that is less.
    pub fn step_bytes(&self) -> u64 {
        let derived = StepConfig::DEFAULT_MAX_BYTES.min(self.memory.step_bytes());
        self.step.max_bytes.unwrap_or(derived)
    }

    /// Bytes of one ETL sort buffer: `etl.buffer_bytes` if set, else its share of
    /// `memory.budget_bytes` ([`MemoryConfig::etl_buffer_bytes`]).
    pub fn etl_buffer_bytes(&self) -> usize {
        let derived = usize::try_from(self.memory.etl_buffer_bytes()).unwrap_or(usize::MAX);
        self.etl.buffer_bytes.unwrap_or(derived)
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
        let in_flight = self.concurrency.max_requests.saturating_mul(self.peers.max_request_bytes);
        if in_flight > Self::MAX_IN_FLIGHT_BYTES {
            return Err(ConfigError::Invalid {
                field: "concurrency.max_requests",
                value: self.concurrency.max_requests,
                rule: format!(
                    "times peers.max_request_bytes ({}) must be at most 4294967296 (4 GiB) \
                     of replies in flight",
                    self.peers.max_request_bytes
                ),
            });
        }
        Ok(())
    }

    /// The ETL collectors' settings: a buffer of [`etl_buffer_bytes`](Self::etl_buffer_bytes)
    /// (each collector of a step gets its share of the memory budget), spilling into
    /// [`etl.dir`](EtlConfig::dir) or else `datadir/etl`. The directory is not created here; it
    /// must exist before the first spill. I/O buffers and merge fan-in keep
    /// [`CollectorConfig`]'s defaults.
    pub fn collector_config(&self, datadir: &Path) -> CollectorConfig {
        CollectorConfig::new(self.etl_buffer_bytes()).with_temp_dir(self.etl.etl_dir(datadir))
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
            0,
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

impl StepConfig {
    /// Default [`max_bytes`](Self::max_bytes): 8 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 8 * MIB;
    /// Smallest accepted [`max_bytes`](Self::max_bytes): 64 KiB.
    pub const MIN_MAX_BYTES: u64 = 64 * KIB;
    /// Largest accepted [`max_bytes`](Self::max_bytes): 4 GiB.
    pub const MAX_MAX_BYTES: u64 = 4 * GIB;
    /// Default [`max_interval`](Self::max_interval): 2 s.
    pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(2);
    /// Shortest accepted [`max_interval`](Self::max_interval): 100 ms (each step commits, and
    /// each commit syncs the disk).
    pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
    /// Longest accepted [`max_interval`](Self::max_interval): one hour.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(60 * 60);

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(bytes) = self.max_bytes {
            at_least(
                "step.max_bytes",
                bytes,
                Self::MIN_MAX_BYTES,
                "must be at least 65536 (64 KiB)",
            )?;
            at_most(
                "step.max_bytes",
                bytes,
                Self::MAX_MAX_BYTES,
                "must be at most 4294967296 (4 GiB)",
            )?;
        }
        let interval = u64::try_from(self.max_interval.as_millis()).unwrap_or(u64::MAX);
        if self.max_interval < Self::MIN_INTERVAL {
            return Err(ConfigError::Invalid {
                field: "step.max_interval",
                value: interval,
                rule: "must be at least 100ms (value in ms)".to_owned(),
            });
        }
        at_most("step.max_interval", interval, 3_600_000, "must be at most 1h (value in ms)")
    }
}

impl EtlConfig {
    /// The run-file directory: [`dir`](Self::dir), or else `datadir/etl`.
    pub fn etl_dir(&self, datadir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| datadir.join("etl"))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(buffer) = self.buffer_bytes {
            at_least(
                "etl.buffer_bytes",
                as_u64(buffer),
                as_u64(SnapSyncConfig::MIN_ETL_BUFFER_BYTES),
                "must be at least 1048576 (1 MiB)",
            )?;
            at_most(
                "etl.buffer_bytes",
                as_u64(buffer),
                as_u64(SnapSyncConfig::MAX_ETL_BUFFER_BYTES),
                "must be at most 2147483648 (2 GiB): a step fills five such buffers",
            )?;
        }
        if self.dir.as_ref().is_some_and(|dir| dir.as_os_str().is_empty()) {
            return Err(ConfigError::EmptyEtlDir);
        }
        Ok(())
    }
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        Self { max_requests: 64 }
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

impl Default for StepConfig {
    fn default() -> Self {
        Self { max_bytes: None, max_interval: Self::DEFAULT_MAX_INTERVAL }
    }
}

impl Default for SnapSyncConfig {
    fn default() -> Self {
        Self {
            bytecodes_per_request: Self::DEFAULT_BYTECODES_PER_REQUEST,
            trie_nodes_per_request: Self::DEFAULT_TRIE_NODES_PER_REQUEST,
            concurrency: ConcurrencyConfig::default(),
            peers: PeerSetConfig::default(),
            fetch: FetchConfig::default(),
            accounts: AccountsConfig::default(),
            storage: StorageConfig::default(),
            pivot: PivotConfig::default(),
            step: StepConfig::default(),
            etl: EtlConfig::default(),
            memory: MemoryConfig::default(),
        }
    }
}

/// Settings of earlier versions, by section and key, with the key that replaced each.
const RENAMED: [(&str, &str, &str); 13] = [
    ("requests", "min_request_bytes", "peers.min_request_bytes"),
    ("requests", "max_request_bytes", "peers.max_request_bytes"),
    ("requests", "target_round_trip_ms", "peers.target_round_trip"),
    ("requests", "pipeline_slack_ms", "peers.pipeline_slack"),
    ("requests", "timeout_min_ms", "peers.timeout_min"),
    ("requests", "timeout_max_ms", "peers.timeout_max"),
    ("requests", "backoff_base_ms", "peers.backoff_base"),
    ("requests", "backoff_cap_ms", "peers.backoff_cap"),
    ("requests", "max_attempts", "fetch.max_attempts"),
    ("requests", "peer_wait_ms", "fetch.peer_wait"),
    ("concurrency", "max_in_flight_per_peer", "peers.max_in_flight_per_peer"),
    ("etl", "step_bytes", "step.max_bytes"),
    ("etl", "max_step_interval_ms", "step.max_interval"),
];

/// Refuses a setting of an earlier version with [`ConfigError::Renamed`], naming its new key.
fn refuse_renamed(table: &toml::Table) -> Result<(), ConfigError> {
    for (section, key, new) in RENAMED {
        let present = table
            .get(section)
            .and_then(toml::Value::as_table)
            .is_some_and(|section| section.contains_key(key));
        if present {
            return Err(ConfigError::Renamed { old: format!("{section}.{key}"), new });
        }
    }
    Ok(())
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
