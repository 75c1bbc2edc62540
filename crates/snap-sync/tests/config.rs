//! `SnapSyncConfig`: defaults, TOML round trips, overrides, and every validation rule.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use snapsync_snap_sync::{ConfigError, HELD_REPLY_FACTOR, MemoryConfig, SnapSyncConfig};

/// The field, value and rule of `config`'s validation error, if it is [`ConfigError::Invalid`].
fn invalid(config: &SnapSyncConfig) -> Option<(&'static str, u64, String)> {
    match config.validate() {
        Err(ConfigError::Invalid { field, value, rule }) => Some((field, value, rule)),
        _ => None,
    }
}

/// The field `config`'s validation error names, whatever its variant.
fn field_of(config: &SnapSyncConfig) -> &'static str {
    config.validate().unwrap_err().field().unwrap()
}

#[test]
fn defaults_validate_and_match_the_documentation() {
    let config = SnapSyncConfig::default();
    config.validate().unwrap();
    assert_eq!(config.concurrency.max_requests, 64);
    assert_eq!(config.peers.max_in_flight_per_peer, 8);
    assert_eq!(config.peers.min_request_bytes, 64 * 1024);
    assert_eq!(config.peers.max_request_bytes, 512 * 1024);
    assert_eq!(config.peers.target_round_trip, Duration::from_millis(500));
    assert_eq!(config.peers.pipeline_slack, Duration::from_millis(50));
    assert_eq!(config.peers.timeout_min, Duration::from_secs(2));
    assert_eq!(config.peers.timeout_max, Duration::from_secs(30));
    assert_eq!(config.peers.backoff_base, Duration::from_secs(1));
    assert_eq!(config.peers.backoff_cap, Duration::from_secs(64));
    assert_eq!(config.fetch.max_attempts, 32);
    assert_eq!(config.fetch.peer_wait, Duration::from_secs(60));
    assert_eq!(config.step.max_bytes, None);
    assert_eq!(config.step_bytes(), 8 * 1024 * 1024);
    assert_eq!(config.step.max_interval, Duration::from_secs(2));
    // One source: the sections are the scheduler's own settings, with its defaults.
    assert_eq!(config.peers, snapsync_fetch::PeerSetConfig::default());
    assert_eq!(config.fetch, snapsync_fetch::FetchConfig::default());
    assert_eq!(config.accounts.chunks, 64);
    assert_eq!(config.storage.accounts_per_batch, 256);
    assert_eq!(config.storage.split_threshold_slots, 20_000);
    assert_eq!(config.storage.split_sub_ranges, 16);
    assert_eq!(config.bytecodes_per_request, 128);
    assert_eq!(config.trie_nodes_per_request, 384);
    assert_eq!(config.pivot.distance, 64);
    assert_eq!(config.pivot.move_distance, 120);
    assert_eq!(config.etl.buffer_bytes, None);
    assert_eq!(config.etl.dir, None);
    assert_eq!(config.memory.budget_bytes, 512 * 1024 * 1024);
}

#[test]
fn empty_toml_is_the_default() {
    assert_eq!(SnapSyncConfig::from_toml_str("").unwrap(), SnapSyncConfig::default());
}

#[test]
fn default_round_trips_through_toml_exactly() {
    let text = SnapSyncConfig::default().to_toml_string().unwrap();
    let parsed = SnapSyncConfig::from_toml_str(&text).unwrap();
    assert_eq!(parsed, SnapSyncConfig::default());
    assert_eq!(parsed.to_toml_string().unwrap(), text);
    // Every field is written out.
    for name in [
        "bytecodes_per_request",
        "[concurrency]",
        "timeout_min = \"2s\"",
        "move_distance",
        "[step]",
        "max_interval = \"2s\"",
        "peer_wait = \"1m\"",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

#[test]
fn a_custom_config_with_an_etl_dir_round_trips() {
    let mut config = SnapSyncConfig::default();
    config.etl.dir = Some(PathBuf::from("/var/lib/snapsync/etl"));
    config.pivot.distance = 10;
    config.fetch.max_attempts = 5;
    let text = config.to_toml_string().unwrap();
    assert_eq!(SnapSyncConfig::from_toml_str(&text).unwrap(), config);
}

#[test]
fn a_partial_toml_overrides_only_what_it_names() {
    let text = "trie_nodes_per_request = 100\n\n[peers]\ntimeout_min = \"500ms\"\n\n[etl]\ndir = \"/tmp/etl\"\n";
    let config = SnapSyncConfig::from_toml_str(text).unwrap();
    let mut expected = SnapSyncConfig { trie_nodes_per_request: 100, ..Default::default() };
    expected.peers.timeout_min = Duration::from_millis(500);
    expected.etl.dir = Some(PathBuf::from("/tmp/etl"));
    assert_eq!(config, expected);
}

#[test]
fn unknown_fields_are_errors_naming_them() {
    for (text, name, line) in [
        ("typo_field = 1\n", "typo_field", 1),
        ("[peers]\ntimeout_ms = 5\n", "timeout_ms", 2),
        ("[requests]\n", "requests", 1),
        ("[nonsense]\n", "nonsense", 1),
    ] {
        let error = SnapSyncConfig::from_toml_str(text).unwrap_err();
        let ConfigError::Toml(toml) = &error else { panic!("{error:?}") };
        assert!(toml.message.contains(&format!("unknown field `{name}`")), "{error}");
        assert_eq!(toml.line, Some(line), "{error}");
        assert!(error.to_string().contains(name));
    }
}

#[test]
fn settings_of_earlier_versions_name_their_new_key() {
    for (text, old, new) in [
        ("[etl]\nstep_bytes = 65536\n", "etl.step_bytes", "step.max_bytes"),
        ("[etl]\nmax_step_interval_ms = 200\n", "etl.max_step_interval_ms", "step.max_interval"),
        ("[requests]\ntimeout_max_ms = 500\n", "requests.timeout_max_ms", "peers.timeout_max"),
        ("[requests]\nmax_attempts = 5\n", "requests.max_attempts", "fetch.max_attempts"),
        (
            "[concurrency]\nmax_in_flight_per_peer = 2\n",
            "concurrency.max_in_flight_per_peer",
            "peers.max_in_flight_per_peer",
        ),
    ] {
        let error = SnapSyncConfig::from_toml_str(text).unwrap_err();
        assert!(
            matches!(&error, ConfigError::Renamed { old: got, new: want } if got == old && *want == new),
            "{error:?}"
        );
        assert!(error.to_string().contains(&format!("use `{new}`")), "{error}");
    }
}

#[test]
fn durations_must_be_strings_with_units() {
    let error = SnapSyncConfig::from_toml_str("[peers]\ntimeout_min = 2000\n").unwrap_err();
    assert!(matches!(error, ConfigError::Toml(_)), "{error}");
    let error =
        SnapSyncConfig::from_toml_str("[step]\nmax_interval = \"2 parsecs\"\n").unwrap_err();
    let ConfigError::Toml(toml) = &error else { panic!("{error:?}") };
    assert_eq!(toml.line, Some(2), "{error}");
}

#[test]
fn malformed_toml_reports_the_line() {
    let error =
        SnapSyncConfig::from_toml_str("[pivot]\ndistance = 64\nmove_distance = = 3\n").unwrap_err();
    let ConfigError::Toml(toml) = &error else { panic!("{error:?}") };
    assert_eq!(toml.line, Some(3), "{error}");
    assert!(toml.column.is_some());
    assert!(error.to_string().starts_with("invalid TOML at line 3, column"), "{error}");

    // A wrong type is located too.
    let error = SnapSyncConfig::from_toml_str("\n[pivot]\ndistance = \"far\"\n").unwrap_err();
    let ConfigError::Toml(toml) = &error else { panic!("{error:?}") };
    assert_eq!(toml.line, Some(3), "{error}");

    // Negative numbers into unsigned fields are errors, not wrap-arounds.
    let error = SnapSyncConfig::from_toml_str("[accounts]\nchunks = -1\n").unwrap_err();
    assert!(matches!(error, ConfigError::Toml(_)), "{error}");
}

#[test]
fn from_toml_str_validates() {
    let error = SnapSyncConfig::from_toml_str("[pivot]\nmove_distance = 200\n").unwrap_err();
    assert_eq!(error.field(), Some("pivot.move_distance"));
    assert_eq!(
        error.to_string(),
        "pivot.move_distance = 200 is invalid: must be below 128: peers serve the state of the \
         last 128 blocks only"
    );
}

#[test]
fn zero_values_are_rejected_naming_the_field() {
    type Set = fn(&mut SnapSyncConfig);
    let cases: [(&str, Set); 21] = [
        ("bytecodes_per_request", |c| c.bytecodes_per_request = 0),
        ("trie_nodes_per_request", |c| c.trie_nodes_per_request = 0),
        ("concurrency.max_requests", |c| c.concurrency.max_requests = 0),
        ("peers.max_in_flight_per_peer", |c| c.peers.max_in_flight_per_peer = 0),
        ("accounts.chunks", |c| c.accounts.chunks = 0),
        ("storage.accounts_per_batch", |c| c.storage.accounts_per_batch = 0),
        ("storage.split_threshold_slots", |c| c.storage.split_threshold_slots = 0),
        ("storage.split_sub_ranges", |c| c.storage.split_sub_ranges = 0),
        ("peers.min_request_bytes", |c| c.peers.min_request_bytes = 0),
        ("peers.min_request_bytes", |c| c.peers.max_request_bytes = 0),
        ("peers.target_round_trip", |c| c.peers.target_round_trip = Duration::ZERO),
        ("peers.pipeline_slack", |c| c.peers.pipeline_slack = Duration::ZERO),
        ("peers.timeout_min", |c| c.peers.timeout_min = Duration::ZERO),
        ("peers.timeout_max", |c| {
            c.peers.timeout_min = Duration::from_millis(1);
            c.peers.timeout_max = Duration::ZERO;
        }),
        ("peers.backoff_base", |c| c.peers.backoff_base = Duration::ZERO),
        ("peers.backoff_cap", |c| {
            c.peers.backoff_base = Duration::from_millis(1);
            c.peers.backoff_cap = Duration::ZERO;
        }),
        ("fetch.max_attempts", |c| c.fetch.max_attempts = 0),
        ("fetch.peer_wait", |c| c.fetch.peer_wait = Duration::ZERO),
        ("fetch.idle_poll", |c| c.fetch.idle_poll = Duration::ZERO),
        ("etl.buffer_bytes", |c| c.etl.buffer_bytes = Some(0)),
        ("step.max_bytes", |c| c.step.max_bytes = Some(0)),
    ];
    for (field, set) in cases {
        let mut config = SnapSyncConfig::default();
        set(&mut config);
        let error = config.validate().unwrap_err();
        assert_eq!(error.field(), Some(field), "{error}");
    }
}

#[test]
fn inverted_bounds_name_both_fields() {
    let mut config = SnapSyncConfig::default();
    config.peers.min_request_bytes = 4 * 1024 * 1024;
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "peers.min_request_bytes is invalid: min_request_bytes (4194304) exceeds \
         max_request_bytes (524288)"
    );

    let mut config = SnapSyncConfig::default();
    config.peers.timeout_min = Duration::from_secs(40);
    let error = config.validate().unwrap_err();
    assert_eq!(error.field(), Some("peers.timeout_min"));
    assert_eq!(
        error.to_string(),
        "peers.timeout_min is invalid: timeout_min (40s) exceeds timeout_max (30s)"
    );

    let mut config = SnapSyncConfig::default();
    config.peers.backoff_base = Duration::from_secs(100);
    let error = config.validate().unwrap_err();
    assert_eq!(error.field(), Some("peers.backoff_base"));
    assert!(error.to_string().contains("backoff_cap (64s)"), "{error}");
}

#[test]
fn limits_are_enforced() {
    let mut config = SnapSyncConfig::default();
    config.peers.max_request_bytes = 16 * 1024 * 1024 + 1;
    assert_eq!(field_of(&config), "peers.max_request_bytes");

    let mut config = SnapSyncConfig::default();
    config.peers.backoff_cap = Duration::from_millis(60 * 60 * 1000 + 1);
    let error = config.validate().unwrap_err();
    assert_eq!(error.field(), Some("peers.backoff_cap"));
    assert!(error.to_string().ends_with("longer than the 3600s limit"), "{error}");

    let mut config = SnapSyncConfig::default();
    config.storage.split_sub_ranges = 1;
    assert_eq!(invalid(&config).unwrap().0, "storage.split_sub_ranges");
}

/// Sets one field of a default configuration.
type Set = fn(&mut SnapSyncConfig, u64);

/// Every bounded field, its largest accepted value, and the bound's text in the error.
fn upper_bounds() -> Vec<(&'static str, u64, Set)> {
    vec![
        ("bytecodes_per_request", 1024, |c, v| c.bytecodes_per_request = v),
        ("trie_nodes_per_request", 1024, |c, v| c.trie_nodes_per_request = v),
        ("concurrency.max_requests", 1024, |c, v| c.concurrency.max_requests = v),
        ("accounts.chunks", 4096, |c, v| c.accounts.chunks = v),
        ("storage.accounts_per_batch", 1024, |c, v| c.storage.accounts_per_batch = v),
        ("storage.split_threshold_slots", 1_000_000_000, |c, v| {
            c.storage.split_threshold_slots = v;
        }),
        ("storage.split_sub_ranges", 256, |c, v| c.storage.split_sub_ranges = v),
        ("pivot.distance", 126, |c, v| {
            c.pivot.distance = v;
            c.pivot.move_distance = 127;
        }),
        // The largest buffers and steps fit only the largest budget's shares.
        ("etl.buffer_bytes", 2 * 1024 * 1024 * 1024, |c, v| {
            c.memory.budget_bytes = MemoryConfig::MAX_BUDGET_BYTES;
            c.etl.buffer_bytes = Some(usize::try_from(v).unwrap());
        }),
        ("step.max_bytes", 4 * 1024 * 1024 * 1024, |c, v| {
            c.memory.budget_bytes = MemoryConfig::MAX_BUDGET_BYTES;
            c.step.max_bytes = Some(v);
        }),
        ("memory.budget_bytes", MemoryConfig::MAX_BUDGET_BYTES, |c, v| c.memory.budget_bytes = v),
    ]
}

/// The `[peers]` and `[fetch]` bounds, checked by their own `validate`: the largest accepted
/// value (durations in ms) and a setter.
fn section_upper_bounds() -> Vec<(&'static str, u64, Set)> {
    vec![
        ("peers.max_in_flight_per_peer", 256, |c, v| {
            c.peers.max_in_flight_per_peer = usize::try_from(v).unwrap();
        }),
        ("peers.max_request_bytes", 16 * 1024 * 1024, |c, v| c.peers.max_request_bytes = v),
        ("peers.target_round_trip", 3_600_000, |c, v| {
            c.peers.target_round_trip = Duration::from_millis(v);
        }),
        ("peers.pipeline_slack", 3_600_000, |c, v| {
            c.peers.pipeline_slack = Duration::from_millis(v);
        }),
        ("peers.timeout_max", 3_600_000, |c, v| c.peers.timeout_max = Duration::from_millis(v)),
        ("peers.backoff_cap", 3_600_000, |c, v| c.peers.backoff_cap = Duration::from_millis(v)),
        ("fetch.peer_wait", 3_600_000, |c, v| c.fetch.peer_wait = Duration::from_millis(v)),
        ("fetch.max_attempts", 1024, |c, v| c.fetch.max_attempts = u32::try_from(v).unwrap()),
    ]
}

#[test]
fn every_section_upper_bound_is_accepted_and_one_more_is_rejected_naming_it() {
    for (field, max, set) in section_upper_bounds() {
        let mut config = SnapSyncConfig::default();
        set(&mut config, max);
        assert!(config.validate().is_ok(), "{field} = {max}: {:?}", config.validate());
        set(&mut config, max + 1);
        let error = config.validate().unwrap_err();
        assert!(matches!(error, ConfigError::Setting { .. }), "{error:?}");
        assert_eq!(error.field(), Some(field), "{error}");
        assert!(error.to_string().starts_with(&format!("{field} is invalid")), "{error}");
    }
}

#[test]
fn every_upper_bound_is_accepted_and_one_more_is_rejected_naming_it() {
    for (field, max, set) in upper_bounds() {
        let mut config = SnapSyncConfig::default();
        set(&mut config, max);
        assert!(config.validate().is_ok(), "{field} = {max}: {:?}", config.validate());
        set(&mut config, max + 1);
        let error = config.validate().unwrap_err();
        let (named, value, rule) = invalid(&config).unwrap();
        assert_eq!((named, value), (field, max + 1), "{error}");
        assert!(rule.starts_with(&format!("must be at most {max}")), "{field}: {rule}");
        assert!(error.to_string().starts_with(&format!("{field} = {} is invalid", max + 1)));
    }
}

#[test]
fn the_largest_numbers_are_rejected_not_allocated() {
    // 10 million chunks took 6 GB within a minute; u64::MAX aborted the process.
    for chunks in [10_000_000, u64::MAX] {
        let text = format!("[accounts]\nchunks = {}\n", chunks.min(i64::MAX as u64));
        let error = SnapSyncConfig::from_toml_str(&text).unwrap_err();
        assert_eq!(error.field(), Some("accounts.chunks"), "{error}");
        assert!(error.to_string().contains("must be at most 4096"), "{error}");
    }
    // u64::MAX itself, written out, is refused too (by the parser or by the bound).
    let error =
        SnapSyncConfig::from_toml_str("[accounts]\nchunks = 18446744073709551615\n").unwrap_err();
    assert!(
        matches!(error, ConfigError::Toml(_)) || error.field() == Some("accounts.chunks"),
        "{error:?}"
    );
}

#[test]
fn replies_in_flight_are_bounded_together() {
    let mut config = SnapSyncConfig::default();
    config.concurrency.max_requests = 256;
    config.peers.max_request_bytes = 16 * 1024 * 1024;
    config.validate().unwrap();
    config.concurrency.max_requests = 257;
    let (field, value, rule) = invalid(&config).unwrap();
    assert_eq!((field, value), ("concurrency.max_requests", 257));
    assert_eq!(
        rule,
        "times peers.max_request_bytes (16777216) must be at most 4294967296 (4 GiB) of \
         replies in flight"
    );
}

#[test]
fn a_config_file_is_read_up_to_one_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let mut text = "# padding\n".repeat(104_858); // just over 1 MiB of comments
    text.push_str("[accounts]\nchunks = 8\n");
    std::fs::write(&path, &text).unwrap();
    let error = SnapSyncConfig::load(&path).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("big.toml"), "{message}");
    assert!(message.contains("size cap of 1048576 bytes (1 MiB)"), "{message}");

    let mut fits = "# padding\n".repeat(100_000); // 1,000,000 bytes
    fits.push_str("[accounts]\nchunks = 8\n");
    std::fs::write(&path, &fits).unwrap();
    assert_eq!(SnapSyncConfig::load(&path).unwrap().accounts.chunks, 8);

    if cfg!(unix) {
        let error = SnapSyncConfig::load(Path::new("/dev/zero")).unwrap_err();
        assert!(error.to_string().contains("/dev/zero"), "{error}");
        assert!(error.to_string().contains("1 MiB"), "{error}");
    }
}

#[test]
fn per_request_counts_are_capped_at_1024() {
    let mut config = SnapSyncConfig {
        bytecodes_per_request: 1024,
        trie_nodes_per_request: 1024,
        ..Default::default()
    };
    config.validate().unwrap();

    config.bytecodes_per_request = 1025;
    let (field, value, rule) = invalid(&config).unwrap();
    assert_eq!((field, value), ("bytecodes_per_request", 1025));
    assert!(rule.contains("1024"), "{rule}");

    config.bytecodes_per_request = 512;
    config.trie_nodes_per_request = 2000;
    assert_eq!(invalid(&config).unwrap().0, "trie_nodes_per_request");
}

#[test]
fn the_pivot_moves_after_its_distance_and_before_128() {
    let mut config = SnapSyncConfig::default();
    for (distance, move_distance, ok) in
        [(64, 64, false), (64, 63, false), (64, 65, true), (64, 127, true), (64, 128, false)]
    {
        config.pivot.distance = distance;
        config.pivot.move_distance = move_distance;
        if ok {
            config.validate().unwrap();
        } else {
            let (field, value, _) = invalid(&config).unwrap();
            assert_eq!((field, value), ("pivot.move_distance", move_distance));
        }
    }
    config.pivot.distance = 64;
    config.pivot.move_distance = 64;
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "pivot.move_distance = 64 is invalid: must exceed pivot.distance (64)"
    );
}

#[test]
fn the_etl_buffer_and_dir_are_checked() {
    let mut config = SnapSyncConfig::default();
    config.etl.buffer_bytes = Some(1024 * 1024);
    config.validate().unwrap();
    config.etl.buffer_bytes = Some(1024 * 1024 - 1);
    let (field, value, rule) = invalid(&config).unwrap();
    assert_eq!((field, value), ("etl.buffer_bytes", 1_048_575));
    assert!(rule.contains("1 MiB"), "{rule}");

    let error = SnapSyncConfig::from_toml_str("[etl]\ndir = \"\"\n").unwrap_err();
    assert!(matches!(error, ConfigError::EmptyEtlDir), "{error}");
    assert_eq!(error.field(), Some("etl.dir"));
}

#[test]
fn the_step_interval_defaults_to_2_s_and_is_bounded() {
    assert_eq!(SnapSyncConfig::default().step.max_interval, Duration::from_secs(2));
    let parsed = SnapSyncConfig::from_toml_str("[step]\nmax_interval = \"100ms\"\n").unwrap();
    assert_eq!(parsed.step.max_interval, Duration::from_millis(100));
    let mut config = SnapSyncConfig::default();
    config.step.max_interval = Duration::from_secs(3600);
    config.validate().unwrap();
    for (value, bound) in [(99, "at least 100ms"), (0, "at least 100ms"), (3_600_001, "at most 1h")]
    {
        config.step.max_interval = Duration::from_millis(value);
        let (field, got, rule) = invalid(&config).unwrap();
        assert_eq!((field, got), ("step.max_interval", value));
        assert!(rule.contains(bound), "{rule}");
    }
    let error = SnapSyncConfig::from_toml_str("[step]\nmax_interval = \"50ms\"\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "step.max_interval = 50 is invalid: must be at least 100ms (value in ms)"
    );
}

#[test]
fn sections_carry_the_settings() {
    let text = "[peers]\nmax_in_flight_per_peer = 2\nmin_request_bytes = 1000\n\
                max_request_bytes = 5000\ntarget_round_trip = \"1500ms\"\npipeline_slack = \"20ms\"\n\
                timeout_min = \"300ms\"\ntimeout_max = \"9s\"\nbackoff_base = \"250ms\"\n\
                backoff_cap = \"4s\"\n\n[fetch]\nmax_attempts = 7\npeer_wait = \"2.5s\"\n\n\
                [etl]\nbuffer_bytes = 2097152\n";
    let config = SnapSyncConfig::from_toml_str(text).unwrap();

    let peers = &config.peers;
    assert_eq!(peers.min_request_bytes, 1000);
    assert_eq!(peers.max_request_bytes, 5000);
    assert_eq!(peers.target_round_trip, Duration::from_millis(1500));
    assert_eq!(peers.pipeline_slack, Duration::from_millis(20));
    assert_eq!(peers.max_in_flight_per_peer, 2);
    assert_eq!(peers.timeout_min, Duration::from_millis(300));
    assert_eq!(peers.timeout_max, Duration::from_secs(9));
    assert_eq!(peers.backoff_base, Duration::from_millis(250));
    assert_eq!(peers.backoff_cap, Duration::from_secs(4));

    assert_eq!(config.fetch.max_attempts, 7);
    assert_eq!(config.fetch.peer_wait, Duration::from_millis(2500));

    let collector = config.collector_config(Path::new("/data"));
    assert_eq!(collector.buffer_capacity, 2 * 1024 * 1024);
    assert_eq!(collector.temp_dir, Some(PathBuf::from("/data/etl")));

    let mut custom = config;
    custom.etl.dir = Some(PathBuf::from("/fast/etl"));
    assert_eq!(
        custom.collector_config(Path::new("/data")).temp_dir,
        Some(PathBuf::from("/fast/etl"))
    );
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap-sync.toml");
    std::fs::write(&path, "[accounts]\nchunks = 32\n").unwrap();
    assert_eq!(SnapSyncConfig::load(&path).unwrap().accounts.chunks, 32);

    let missing = dir.path().join("missing.toml");
    let error = SnapSyncConfig::load(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error}");
    assert!(error.to_string().contains("missing.toml"), "{error}");
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../../docs/configuration.md");
    let start = doc.find("```toml\n").expect("an example TOML block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("a closed block");
    let config = SnapSyncConfig::from_toml_str(&doc[start..end]).unwrap();
    // The example spells out the defaults, with the ETL directory set.
    let mut expected = SnapSyncConfig::default();
    expected.etl.dir = Some(PathBuf::from("/var/lib/snapsync/etl"));
    assert_eq!(config, expected);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = SnapSyncConfig::from_toml_str(&text);
    }

    #[test]
    fn toml_like_text_never_panics(
        text in "([a-z_\\[\\]. =\"0-9\n#-]|pivot|peers|fetch|step|etl|dir|distance|ms|max_interval){0,80}"
    ) {
        if let Err(error) = SnapSyncConfig::from_toml_str(&text) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn valid_configs_round_trip(
        distance in 1u64..126,
        extra in 1u64..64,
        chunks in 1u64..=4096,
        timeout_min_ms in 1u64..30_000,
        interval_ms in 100u64..3_600_000,
    ) {
        let mut config = SnapSyncConfig::default();
        config.pivot.distance = distance;
        config.pivot.move_distance = (distance + extra).min(127);
        config.accounts.chunks = chunks;
        config.peers.timeout_min = Duration::from_millis(timeout_min_ms);
        config.step.max_interval = Duration::from_millis(interval_ms);
        prop_assume!(config.validate().is_ok());
        let text = config.to_toml_string().unwrap();
        prop_assert_eq!(SnapSyncConfig::from_toml_str(&text).unwrap(), config);
    }
}

#[test]
fn the_memory_budget_is_bounded_and_shared_out() {
    const MIB: u64 = 1024 * 1024;
    let mut config = SnapSyncConfig::default();
    config.memory.budget_bytes = MemoryConfig::MIN_BUDGET_BYTES - 1;
    let (field, value, rule) = invalid(&config).unwrap();
    assert_eq!((field, value), ("memory.budget_bytes", 64 * MIB - 1));
    assert!(rule.contains("at least 67108864 (64 MiB)"), "{rule}");
    // The smallest budget alone is valid: every derived setting follows it.
    config.memory.budget_bytes = MemoryConfig::MIN_BUDGET_BYTES;
    config.validate().unwrap();
    assert_eq!(config.step_bytes(), 4 * MIB);
    assert_eq!(config.etl_buffer_bytes() as u64, 16 * MIB / 5);
    assert_eq!(config.requests_in_flight(), 4);
    // The default budget: an 8 MiB step, 25.6 MiB buffers, 32 replies of 512 KiB.
    let config = SnapSyncConfig::default();
    assert_eq!(config.step_bytes(), 8 * MIB);
    assert_eq!(config.etl_buffer_bytes() as u64, 128 * MIB / 5);
    assert_eq!(config.requests_in_flight(), 32);
    assert_eq!(config.memory.cache_bytes(), 128 * MIB);
    // A larger budget gives more of each, up to the explicit caps.
    let config = SnapSyncConfig::from_toml_str("[memory]\nbudget_bytes = 4294967296\n").unwrap();
    assert_eq!(config.step_bytes(), 8 * MIB);
    assert_eq!(config.etl_buffer_bytes() as u64, 1024 * MIB / 5);
    assert_eq!(config.requests_in_flight(), 64);
}

#[test]
fn explicit_settings_must_fit_their_share_of_the_budget() {
    const MIB: u64 = 1024 * 1024;
    let budget = |text: &str| format!("[memory]\nbudget_bytes = {}\n{text}", 256 * MIB);
    // One step's share is a sixteenth (two steps are held): 16 MiB of 256 MiB.
    SnapSyncConfig::from_toml_str(&budget("[step]\nmax_bytes = 16777216\n")).unwrap();
    let error = SnapSyncConfig::from_toml_str(&budget("[step]\nmax_bytes = 16777217\n"));
    let error = error.unwrap_err().to_string();
    assert_eq!(
        error,
        "step.max_bytes = 16777217 is invalid: must be at most 16777216, a sixteenth of \
         memory.budget_bytes"
    );
    // A buffer's share is a quarter over five: 12.8 MiB of 256 MiB.
    let share = 64 * MIB / 5;
    SnapSyncConfig::from_toml_str(&budget(&format!("[etl]\nbuffer_bytes = {share}\n"))).unwrap();
    let text = budget(&format!("[etl]\nbuffer_bytes = {}\n", share + 1));
    let error = SnapSyncConfig::from_toml_str(&text).unwrap_err();
    assert_eq!(error.field(), Some("etl.buffer_bytes"), "{error}");
    assert!(error.to_string().contains("a quarter over five buffers"), "{error}");
    // One reply as held must fit the reply share (a quarter): 64 MiB of 256 MiB.
    let fits = 64 * MIB / HELD_REPLY_FACTOR;
    let mut config = SnapSyncConfig::from_toml_str(&budget("")).unwrap();
    config.peers.max_request_bytes = fits;
    config.validate().unwrap();
    assert_eq!(config.requests_in_flight(), 1);
    config.peers.max_request_bytes = fits + 1;
    let (field, value, rule) = invalid(&config).unwrap();
    assert_eq!((field, value), ("peers.max_request_bytes", fits + 1));
    assert!(rule.contains("a quarter of memory.budget_bytes"), "{rule}");
    // `concurrency.max_requests` caps the slots the budget gives.
    let mut config = SnapSyncConfig::default();
    config.concurrency.max_requests = 3;
    assert_eq!(config.requests_in_flight(), 3);
}

#[test]
fn the_collectors_are_given_their_share() {
    let mut config = SnapSyncConfig::default();
    let datadir = Path::new("/data");
    let share = usize::try_from(config.memory.etl_buffer_bytes()).unwrap();
    assert_eq!(config.collector_config(datadir).buffer_capacity, share);
    // 640 MiB: a quarter over five is 32 MiB.
    config.memory.budget_bytes = 640 * 1024 * 1024;
    assert_eq!(config.collector_config(datadir).buffer_capacity, 32 * 1024 * 1024);
    assert!(share < 32 * 1024 * 1024);
    config.etl.buffer_bytes = Some(3 * 1024 * 1024);
    assert_eq!(config.collector_config(datadir).buffer_capacity, 3 * 1024 * 1024);
}
