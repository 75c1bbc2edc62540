//! Bounds on every number and every input of the `snapsync` binary, run as a process: each
//! out-of-bounds flag, configuration value and oversized input file is refused with exit code 2
//! and a message naming it and its bound; a sync whose replies come too late says so and fails
//! within bounded time; a state dump whose claims its data contradicts is refused unless asked.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_primitives::test_utils::require_fixture;
use std::{
    path::PathBuf,
    process::{Command, Output},
    time::{Duration, Instant},
};

fn snapsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts that `args` exit with code 2, print nothing on stdout, and say every one of `needles`
/// on stderr; returns stderr.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let output = snapsync(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    assert!(output.stdout.is_empty(), "{args:?}");
    for needle in needles {
        assert!(message.contains(needle), "{args:?}: {needle:?} not in {message:?}");
    }
    message
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("snapsync-bounds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `contents` to `name` in the directory; its path.
    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A sparse file of `len` zero bytes (no disk is used); its path.
    fn sparse(&self, name: &str, len: u64) -> String {
        let path = self.0.join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_sync_number_has_an_upper_bound_named_in_its_error() {
    for (flag, value, bound) in [
        ("--accounts", "5000001", "1..=5000000"),
        ("--accounts", "18446744073709551615", "1..=5000000"),
        ("--peers", "257", "1..=256"),
        ("--latency-ms", "60001", "0..=60000"),
        ("--bandwidth-mbps", "1000001", "1..=1000000"),
        ("--faulty-peers", "257", "0..=256"),
        ("--pivot-moves", "65", "0..=64"),
        ("--txs-per-block", "301", "0..=300"),
    ] {
        refused(&["sync", "--memory", flag, value], &[flag, value, bound]);
    }
    // Not a number at all, or negative: also exit 2, naming the flag.
    refused(&["sync", "--memory", "--accounts=-1"], &["--accounts"]);
    refused(&["sync", "--memory", "--seed", "1e3"], &["--seed"]);
}

#[test]
fn the_world_is_bounded_across_flags() {
    refused(
        &["sync", "--memory", "--accounts", "300000", "--pivot-moves", "64"],
        &["--accounts (300000)", "--pivot-moves 64", "19500000 account states", "5000000"],
    );
    refused(
        &[
            "sync",
            "--memory",
            "--accounts",
            "1000",
            "--pivot-moves",
            "64",
            "--txs-per-block",
            "300",
        ],
        // 128 + 64 × 57 blocks of 300 transactions.
        &["--txs-per-block 300", "3776 blocks", "1132800 transactions", "500000"],
    );
}

#[test]
fn a_latency_no_reply_can_beat_is_refused_up_front() {
    let started = Instant::now();
    refused(
        &["sync", "--memory", "--accounts", "1000", "--latency-ms", "30000"],
        &["--latency-ms 30000", "peers.timeout_max (30s)", "no reply could arrive"],
    );
    let scratch = Scratch::new("latency");
    let config =
        scratch.file("short.toml", "[peers]\ntimeout_min = \"100ms\"\ntimeout_max = \"500ms\"\n");
    refused(
        &["sync", "--memory", "--accounts", "1000", "--latency-ms", "800", "--config", &config],
        &["--latency-ms 800", "peers.timeout_max (500ms)"],
    );
    assert!(started.elapsed() < Duration::from_secs(5), "refused before building anything");
}

/// Replies that take longer than the longest timeout (20 ms of latency, but 35 KB of headers
/// over 1 Mbit/s take 280 ms, against 100 ms): the pivot is never resolved. The progress lines
/// count the timeouts, and the sync fails after its bounded retries, within seconds. The chain's
/// blocks carry no transactions: building a chain of real ones is not what is timed here.
#[test]
fn a_sync_that_keeps_timing_out_says_so_and_fails_in_bounded_time() {
    let scratch = Scratch::new("timeouts");
    let config =
        scratch.file("short.toml", "[peers]\ntimeout_min = \"50ms\"\ntimeout_max = \"100ms\"\n");
    let started = Instant::now();
    let output = snapsync(&[
        "sync",
        "--memory",
        "--accounts",
        "1000",
        "--txs-per-block",
        "0",
        "--peers",
        "2",
        "--latency-ms",
        "20",
        "--bandwidth-mbps",
        "1",
        "--config",
        &config,
    ]);
    let elapsed = started.elapsed();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(elapsed < Duration::from_secs(9), "took {elapsed:?}");
    let progress = message
        .lines()
        .find(|line| line.contains("requests timed out"))
        .unwrap_or_else(|| panic!("no progress line counts the timeouts: {message}"));
    assert!(progress.contains("SnapSync: choosing the pivot, "), "{progress}");
    // Every peer stalled past its timeouts, so none counts as serving the headers any more. The
    // headers stage runs alongside the snap stage and asks for the same headers: whichever of
    // the two gives up first ends the sync, after its bounded retries.
    assert!(message.contains("choosing the pivot: no peer delivered headers"), "{message}");
    assert!(message.contains("no peer serves the 65 headers"), "{message}");
    let gave_up = ["SnapSync", "Headers"].into_iter().find(|stage| {
        message.contains(&format!("error: the sync failed: stage {stage} failed 5 times"))
    });
    assert!(gave_up.is_some(), "{message}");
    assert!(String::from_utf8(output.stdout).unwrap().contains("NOT verified"));
}

#[test]
fn config_values_are_bounded_with_the_field_and_the_bound() {
    let scratch = Scratch::new("config");
    for (toml, needles) in [
        ("[accounts]\nchunks = 10000000\n", ["accounts.chunks = 10000000", "at most 4096"]),
        (
            "[fetch]\nmax_attempts = 5000\n",
            ["fetch.max_attempts is invalid", "over the 1024 limit"],
        ),
        (
            "[peers]\nbackoff_cap = \"1h 1ms\"\n",
            ["peers.backoff_cap is invalid", "the 3600s limit"],
        ),
        (
            "[etl]\nstep_bytes = 65536\n",
            ["`etl.step_bytes` is no longer a setting", "`step.max_bytes`"],
        ),
        ("[etl]\nbuffer_bytes = 4294967296\n", ["etl.buffer_bytes", "2 GiB"]),
        ("[storage]\nsplit_sub_ranges = 100000\n", ["storage.split_sub_ranges", "at most 256"]),
        ("[pivot]\ndistance = 127\nmove_distance = 127\n", ["pivot.distance = 127", "at most 126"]),
    ] {
        let config = scratch.file("bad.toml", toml);
        let message =
            refused(&["sync", "--memory", "--accounts", "1000", "--config", &config], &needles);
        assert!(message.starts_with("error: --config: "), "{message}");
    }
}

#[test]
fn input_files_are_read_with_a_size_cap() {
    let scratch = Scratch::new("inputs");
    let big_config = scratch.sparse("big.toml", 1024 * 1024 + 1);
    refused(
        &["sync", "--memory", "--config", &big_config],
        &["cannot read", "big.toml", "size cap of 1048576 bytes (1 MiB)"],
    );
    let big_state = scratch.sparse("big.json", 256 * 1024 * 1024 + 1);
    refused(&["state-root", &big_state], &["big.json", "268435456 bytes (256 MiB)"]);
    refused(&["sync", "--memory", "--from-dump", &big_state], &["big.json", "(256 MiB)"]);
    refused(&["sync", "--memory", "--from-genesis", &big_state], &["big.json", "(256 MiB)"]);
    let big_cases = scratch.sparse("cases.json", 16 * 1024 * 1024 + 1);
    let fixture = scratch.0.to_str().unwrap();
    refused(
        &["conformance", "--fixture", fixture, "--cases", &big_cases],
        &["cases.json", "16777216 bytes (16 MiB)"],
    );
}

/// `/dev/zero` never ends: every input that can be given a path fails fast, at its cap.
#[cfg(unix)]
#[test]
fn dev_zero_fails_fast_everywhere() {
    let zero = "/dev/zero";
    let started = Instant::now();
    refused(&["state-root", zero], &["cannot read /dev/zero", "(256 MiB)"]);
    refused(&["sync", "--memory", "--from-dump", zero], &["/dev/zero", "(256 MiB)"]);
    refused(&["sync", "--memory", "--config", zero], &["/dev/zero", "(1 MiB)"]);
    let scratch = Scratch::new("zero");
    let fixture = scratch.0.to_str().unwrap();
    refused(
        &["conformance", "--fixture", fixture, "--cases", zero],
        &["cannot read /dev/zero", "(16 MiB)"],
    );
    // A fixture whose state file is /dev/zero, through a link.
    std::os::unix::fs::symlink(zero, scratch.0.join("headstate.json")).unwrap();
    let cases = scratch.file("cases.json", r#"{"cases": []}"#);
    refused(
        &["conformance", "--fixture", fixture, "--cases", &cases],
        &["headstate.json", "(256 MiB)"],
    );
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
}

/// The hive dump with one account's `key` changed: `state-root` and `sync --from-dump` judge it
/// alike, and only an explicit flag serves it, saying its claims went unchecked.
#[test]
fn a_dump_whose_claims_its_data_contradicts_is_refused_unless_asked() {
    let Some(dump) = require_fixture("bounds_false_dump_claims", "geth-hive/headstate.json") else {
        return;
    };
    let text = std::fs::read_to_string(&dump).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let accounts = json["accounts"].as_object_mut().unwrap();
    let address = accounts.keys().nth(3).unwrap().clone();
    accounts[&address]["key"] = format!("0x{}", "11".repeat(32)).into();
    let scratch = Scratch::new("claims");
    let tampered = scratch.file("tampered.json", &json.to_string());

    let state_root = snapsync(&["state-root", &tampered]);
    assert_eq!(state_root.status.code(), Some(1));
    let field = format!("account {address}: field \"key\"");
    assert!(stderr(&state_root).contains(&field), "{}", stderr(&state_root));

    refused(
        &["sync", "--memory", "--from-dump", &tampered],
        &["--from-dump", "tampered.json", &field, "--ignore-dump-claims"],
    );

    let ignored = snapsync(&["sync", "--memory", "--from-dump", &tampered, "--ignore-dump-claims"]);
    assert_eq!(ignored.status.code(), Some(0), "{}", stderr(&ignored));
    assert!(
        stderr(&ignored).contains("(its own claims NOT checked: --ignore-dump-claims)"),
        "{}",
        stderr(&ignored)
    );

    let honest = snapsync(&["sync", "--memory", "--from-dump", dump.to_str().unwrap()]);
    assert_eq!(honest.status.code(), Some(0), "{}", stderr(&honest));
    assert!(stderr(&honest).contains("(its own claims agree with its data)"));
}

#[test]
fn a_false_root_is_a_false_claim_too() {
    let Some(dump) = require_fixture("bounds_false_dump_root", "geth-hive/headstate.json") else {
        return;
    };
    let text = std::fs::read_to_string(&dump).unwrap();
    let root = "8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";
    let scratch = Scratch::new("root");
    let tampered = scratch.file("root.json", &text.replacen(root, &"22".repeat(32), 1));
    refused(
        &["sync", "--memory", "--from-dump", &tampered],
        &["differs from the file's root 0x2222", "(field \"root\")"],
    );
}
