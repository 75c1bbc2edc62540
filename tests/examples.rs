//! The examples, run as processes against their simulated peers: they must finish and print what
//! they promise.
//!
//! `cargo test` builds the examples (without running them) next to the test binaries, in
//! `target/<profile>/examples/`; these tests run the built binaries from there. A filtered run
//! (`cargo test --test examples`) does not build them: build them first with
//! `cargo build --examples` (with `--release` for a release test run).

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync::snap_sync::SnapSyncConfig;
use snapsync_sim::Scenario;
use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

/// The built example `name`: `target/<profile>/examples/<name>`, the test binary being
/// `target/<profile>/deps/examples-<hash>`.
fn example(name: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile_dir = test.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not built: `cargo test` builds examples unless filtered to one target; run \
         `cargo build --examples` (with the test run's profile) first",
        path.display()
    );
    path
}

#[test]
fn embed_stage_syncs_and_prints_the_pivot_root() {
    // The demo world of examples/embed_stage.rs, pivot at the default distance below the head.
    let distance = SnapSyncConfig::default().pivot.distance;
    let pivot = Scenario::DEMO_HEAD - distance;
    let root = Scenario::demo(distance).unwrap().chain.header(pivot).unwrap().state_root;

    let started = Instant::now();
    let output = Command::new(example("embed_stage")).output().unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let expected = format!("verified state root {root} at block {pivot}");
    assert_eq!(stdout.lines().last(), Some(expected.as_str()), "stdout:\n{stdout}");
    // The default stages and the example's own, in order.
    let finished: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("[pipeline] ")?.split_once(" finished at block "))
        .map(|(stage, _)| stage)
        .collect();
    assert_eq!(finished, ["SnapSync", "LogPivot", "Headers", "Bodies"], "stdout:\n{stdout}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

/// The acceptance bound on the embedding example: every line of the file counts, comments and
/// imports included, so that embedding stays a page of code.
#[test]
fn embed_stage_is_at_most_80_lines() {
    let source = include_str!("../examples/embed_stage.rs");
    let lines = source.lines().count();
    assert!(lines <= 80, "examples/embed_stage.rs has {lines} lines; the bound is 80");
    // It is the embedding the docs describe: the client's network, the default stages, a stage
    // of its own.
    for part in
        ["impl PeerSource for", "impl PeerRequests for", "DefaultStages::new", "Stage<S> for"]
    {
        assert!(source.contains(part), "examples/embed_stage.rs lost `{part}`");
    }
}
