//! The snap sync stage; this release: its configuration.
//!
//! `SnapSyncStage` (downloading the state at a pivot block over snap/1, verified, into the
//! database) will live here. For now the crate holds [`SnapSyncConfig`], every knob of that
//! stage, read from TOML and checked by [`SnapSyncConfig::validate`], and the conversions into the
//! configurations of the pieces it drives: the peer set ([`snapsync_net::PeerSetConfig`]), the
//! fetcher ([`snapsync_fetch::FetchConfig`]) and the ETL collectors
//! ([`snapsync_etl::CollectorConfig`]).
//!
//! ```
//! use snapsync_snap_sync::SnapSyncConfig;
//!
//! let config = SnapSyncConfig::from_toml_str("[pivot]\ndistance = 32\n")?;
//! assert_eq!(config.pivot.distance, 32);
//! assert_eq!(config.concurrency.max_requests, 16); // everything else keeps its default
//! # Ok::<(), snapsync_snap_sync::ConfigError>(())
//! ```
//!
//! `docs/configuration.md` lists every setting with its default and when to change it.

mod config;
mod error;

pub use config::{
    AccountsConfig, ConcurrencyConfig, EtlConfig, PivotConfig, RequestsConfig, SnapSyncConfig,
    StorageConfig,
};
pub use error::{ConfigError, TomlError};
