//! Corruption probes: `snapsync verify` and `snapsync sync`, run as processes, on copies of a
//! synced data directory and of an interrupted one whose `snapsync.redb` was damaged (bits or
//! bytes flipped at random offsets, or the file truncated), many seeds each.
//!
//! The contract, for every run: the process ends with exit code 0, 1 or 2; it never panics;
//! when it reports the state verified, the stored data is right (for `verify` on the synced
//! directory, every table equals the undamaged original's; otherwise the state's leaves and trie
//! nodes equal those of an honest full sync of the same chain); and no peer is penalised (they
//! are all honest: damage on our side must never be blamed on them).
//!
//! `PROBE_SEEDS` sets the seeds per data directory (default 32, eight of each kind of damage); each seed damages two copies,
//! one for `verify --json`, one for `sync --json`. A tally of verdicts and error messages is
//! printed at the end (run with `--nocapture` to see it).
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
use serde_json::Value;
use snapsync::db::{RedbDatabase, RedbOptions, STATE_TABLES, TABLE_NAMES};
use snapsync_db::test_utils::{Damage, table_differences};
use snapsync_primitives::test_utils::TestRng;
use std::{
    collections::BTreeMap,
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};
use support::Child;

/// The chain every probe syncs: the same accounts and seed for both data directories.
/// Three transactions per block (one of each kind) keep the chain real but quick to build: each
/// `sync` probe builds it again.
const SOURCE: [&str; 6] = ["--accounts", "3000", "--seed", "5", "--txs-per-block", "3"];
/// The database file inside a data directory.
const DB_FILE: &str = "snapsync.redb";
/// Seeds per data directory unless `PROBE_SEEDS` says otherwise.
const DEFAULT_SEEDS: usize = 32;
/// Probes running at once (each runs one process at a time).
const PARALLEL: usize = 2;

fn snapsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).args(args).output().unwrap()
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// The last line of stdout as JSON, if it is JSON.
fn json(output: &Output) -> Option<Value> {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last()?).ok()
}

/// Which data directory a probe damages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Datadir {
    /// A sync that ran to its end.
    Synced,
    /// A sync killed after some commits, in the Accounts or Storages phase.
    Interrupted,
}

/// Which command a probe runs on its damaged copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Run {
    Verify,
    Sync,
}

/// How a probe's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Verified,
    Exit1,
    Exit2,
    /// Exit 0 without reporting the state verified.
    Exit0Unverified,
    /// Any other exit code, or killed by a signal.
    Abnormal,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Verified => "verified",
            Self::Exit1 => "exit 1",
            Self::Exit2 => "exit 2",
            Self::Exit0Unverified => "exit 0 unverified",
            Self::Abnormal => "abnormal exit",
        })
    }
}

/// The undamaged data directories and the honest result to compare with.
struct Originals {
    synced: PathBuf,
    interrupted: PathBuf,
    /// `sync --json` of the synced directory.
    honest: Value,
    /// The synced directory's database, opened from a copy of its own (the originals are only
    /// ever copied, never opened): what every verified store must hold.
    reference: RedbDatabase,
}

/// One probe's outcome.
struct Outcome {
    datadir: Datadir,
    run: Run,
    verdict: Verdict,
    /// The first `error:` line on stderr, if any.
    error: Option<String>,
    /// Broken promises; empty when the probe passed.
    failures: Vec<Failure>,
}

/// A broken promise: which one (for the tally), and the details (for the report).
struct Failure {
    kind: String,
    detail: String,
}

impl Failure {
    fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { kind: kind.into(), detail: detail.into() }
    }
}

/// Syncs the chain to its end into `dir`; returns the report.
fn synced_datadir(dir: &Path) -> Value {
    let output = snapsync(&[&["sync", "--json", "--datadir", path(dir)], &SOURCE[..]].concat());
    let report = json(&output).unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["verified"], true, "{report}");
    report
}

/// A data directory of a sync killed in the Accounts or Storages phase after at least one
/// commit of data: one slow peer and steps of at most 200 ms make the sync last seconds.
fn interrupted_datadir(base: &Path) -> PathBuf {
    let config = base.join("slow-steps.toml");
    std::fs::write(&config, "[step]\nmax_bytes = 65536\nmax_interval = \"200ms\"\n").unwrap();
    let network = ["--peers", "1", "--bandwidth-mbps", "1", "--config", path(&config)];
    for delay_ms in [1_200, 2_000, 800, 3_000, 500] {
        let dir = base.join(format!("interrupted-{delay_ms}"));
        let args = [&["sync", "--datadir", path(&dir)], &SOURCE[..], &network[..]].concat();
        let mut child = Child::spawn(&args);
        child.wait_for("SnapSync: started");
        thread::sleep(Duration::from_millis(delay_ms));
        child.child.kill().unwrap();
        child.child.wait().unwrap();
        let verify = snapsync(&["verify", "--json", "--datadir", path(&dir)]);
        let stderr = String::from_utf8_lossy(&verify.stderr).into_owned();
        let accounts = json(&verify).and_then(|report| report["accounts"].as_u64()).unwrap_or(0);
        let in_phase =
            ["(phase Accounts)", "(phase Storages)"].iter().any(|phase| stderr.contains(phase));
        eprintln!("killed after {delay_ms} ms: exit {:?}, {accounts} accounts", verify.status);
        if verify.status.code() == Some(1) && accounts > 0 && in_phase {
            return dir;
        }
    }
    panic!("no kill landed after a commit and before the Bytecodes phase");
}

/// Copies `original`'s database into a new directory `name` under `base`.
fn copy_of(original: &Path, base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(original.join(DB_FILE), dir.join(DB_FILE)).unwrap();
    dir
}

thread_local! {
    /// Set while this thread reads a damaged copy: a panic then is caught, counted and not shown.
    static READING_DAMAGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Opens a database read from a possibly damaged file; a panic inside redb counts as an error.
fn open_db(dir: &Path) -> Result<RedbDatabase, String> {
    let file = dir.join(DB_FILE);
    catch_unwind(AssertUnwindSafe(|| RedbDatabase::open(&file, RedbOptions::default())))
        .map_err(|_| "opening it panicked".to_owned())?
        .map_err(|error| format!("it does not open: {error}"))
}

/// Whether `tables` of the database in `damaged` hold exactly what they hold in `reference`.
fn same_tables(
    damaged: &Path,
    reference: &RedbDatabase,
    tables: &[&'static str],
) -> Result<(), String> {
    let compare = || -> Result<(), String> {
        let damaged = open_db(damaged)?;
        let differences = table_differences(&damaged, reference, tables)
            .map_err(|error| format!("reading it failed: {error}"))?;
        match differences.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} table(s) differ, first {} after {} equal entries",
                differences.len(),
                first.table,
                first.equal_entries
            )),
        }
    };
    READING_DAMAGED.set(true);
    let result = catch_unwind(AssertUnwindSafe(compare));
    READING_DAMAGED.set(false);
    result.unwrap_or_else(|_| Err("reading it panicked".into()))
}

/// The verdict of `output`, and whether it reported the state verified.
fn verdict(output: &Output) -> Verdict {
    let verified = json(output).is_some_and(|report| report["verified"] == true);
    match output.status.code() {
        Some(0) if verified => Verdict::Verified,
        Some(0) => Verdict::Exit0Unverified,
        Some(1) => Verdict::Exit1,
        Some(2) => Verdict::Exit2,
        _ => Verdict::Abnormal,
    }
}

/// The `K` of "note: K of N peers were penalised", if the line is there.
fn penalised_peers(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|line| line.contains("peers were penalised"))?;
    line.strip_prefix("note: ")?.split(' ').next()?.parse().ok()
}

/// Runs `run` on `dir` (a damaged copy of `datadir`'s original) and checks the contract.
fn probe(originals: &Originals, datadir: Datadir, run: Run, dir: &Path) -> Outcome {
    let output = match run {
        Run::Verify => snapsync(&["verify", "--json", "--datadir", path(dir)]),
        Run::Sync => snapsync(&[&["sync", "--json", "--datadir", path(dir)], &SOURCE[..]].concat()),
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let verdict = verdict(&output);
    let mut failures = Vec::new();
    if !matches!(output.status.code(), Some(0..=2)) {
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let detail = format!("{:?}; stderr ends: {:?}", output.status, tail);
        failures.push(Failure::new("abnormal exit", detail));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        let line = stderr.lines().find(|line| line.contains("panicked")).unwrap_or("");
        // Where: the file and line after "panicked at", without the thread's id.
        let place = line.split("panicked at ").nth(1).unwrap_or(line);
        let file = place.rsplit('/').next().unwrap_or(place).trim_end_matches(':');
        failures.push(Failure::new(format!("panicked at {file}"), line));
    }
    if let Some(penalised) = penalised_peers(&stderr).filter(|&count| count > 0) {
        failures.push(Failure::new("honest peers penalised", format!("{penalised} of them")));
    }
    if verdict == Verdict::Verified {
        let checked = match (datadir, run) {
            (Datadir::Synced, Run::Verify) => same_tables(dir, &originals.reference, TABLE_NAMES),
            _ => same_tables(dir, &originals.reference, &STATE_TABLES),
        };
        if let Err(problem) = checked {
            let kind = match problem.split(" table(s) differ, first ").nth(1) {
                Some(rest) => format!(
                    "{run:?} verified, data differs (first in {})",
                    rest.split(' ').next().unwrap_or("")
                ),
                None => format!("{run:?} verified, data unreadable"),
            };
            failures.push(Failure::new(kind, problem));
        }
        let root = json(&output).map(|report| report["state_root"].clone());
        if root.as_ref() != Some(&originals.honest["state_root"]) {
            failures.push(Failure::new("verified with a wrong root", format!("{root:?}")));
        }
    }
    let error = stderr.lines().find(|line| line.starts_with("error:")).map(str::to_owned);
    Outcome { datadir, run, verdict, error, failures }
}

/// Damages two copies of `datadir`'s original with probe `index`'s seed, and probes them.
fn probe_seed(originals: &Originals, base: &Path, datadir: Datadir, index: usize) -> Vec<Outcome> {
    let original = match datadir {
        Datadir::Synced => &originals.synced,
        Datadir::Interrupted => &originals.interrupted,
    };
    let damage = Damage::for_probe(index);
    let mut outcomes = Vec::new();
    for run in [Run::Verify, Run::Sync] {
        let dir = copy_of(original, base, &format!("{datadir:?}-{index}-{run:?}"));
        let seed = u64::try_from(index).unwrap() * 2 + u64::from(run == Run::Sync);
        let what = damage.apply(&dir.join(DB_FILE), &mut TestRng::new(seed)).unwrap();
        let mut outcome = probe(originals, datadir, run, &dir);
        for failure in &mut outcome.failures {
            failure.detail = format!(
                "{datadir:?} #{index} {run:?} ({what}): {}: {}",
                failure.kind, failure.detail
            );
        }
        outcomes.push(outcome);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    outcomes
}

/// Counts and the first failures, printed at the end.
fn tally(outcomes: &[Outcome]) -> String {
    let mut verdicts: BTreeMap<(Datadir, Run, Verdict), usize> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in outcomes {
        *verdicts.entry((outcome.datadir, outcome.run, outcome.verdict)).or_default() += 1;
        if let Some(error) = &outcome.error {
            let short: String = error.chars().take(110).collect();
            *errors.entry(short).or_default() += 1;
        }
    }
    let failed = outcomes.iter().filter(|outcome| !outcome.failures.is_empty()).count();
    let mut text = format!("corruption probes: {} runs, {failed} failed\n", outcomes.len());
    for ((datadir, run, verdict), count) in &verdicts {
        text.push_str(&format!("  {datadir:?} {run:?}: {verdict} × {count}\n"));
    }
    let mut errors: Vec<_> = errors.into_iter().collect();
    errors.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    text.push_str(&format!("  {} distinct error lines, the most frequent:\n", errors.len()));
    for (error, count) in errors.iter().take(8) {
        text.push_str(&format!("    {count} × {error}\n"));
    }
    let mut kinds: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for failure in outcomes.iter().flat_map(|outcome| &outcome.failures) {
        kinds.entry(&failure.kind).or_insert((0, &failure.detail)).0 += 1;
    }
    for (kind, (count, example)) in &kinds {
        let example: String = example.chars().take(300).collect();
        text.push_str(&format!("  failure × {count}: {kind}\n    e.g. {example}\n"));
    }
    text
}

#[test]
fn damaged_stores_end_in_a_verified_result_or_a_clear_error() {
    let started = Instant::now();
    // Panics inside redb while this test reads damaged copies are caught and counted; keep
    // them off stderr. Every other panic is shown.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !READING_DAMAGED.get() {
            default_hook(info);
        }
    }));
    let seeds: usize = std::env::var("PROBE_SEEDS").map_or(DEFAULT_SEEDS, |n| n.parse().unwrap());
    let base = tempfile::tempdir().unwrap();
    let synced = base.path().join("synced");
    let honest = synced_datadir(&synced);
    let interrupted = interrupted_datadir(base.path());
    let reference = open_db(&copy_of(&synced, base.path(), "reference")).unwrap();
    let originals = Originals { synced, interrupted, honest, reference };
    eprintln!("data directories ready after {:?}", started.elapsed());

    let jobs: Vec<(Datadir, usize)> = [Datadir::Synced, Datadir::Interrupted]
        .into_iter()
        .flat_map(|datadir| (0..seeds).map(move |index| (datadir, index)))
        .collect();
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for worker in 0..PARALLEL {
            let (jobs, next, outcomes, originals) = (&jobs, &next, &outcomes, &originals);
            let base = base.path();
            thread::Builder::new()
                .name(format!("probe-{worker}"))
                .spawn_scoped(scope, move || {
                    while let Some(&(datadir, index)) =
                        jobs.get(next.fetch_add(1, Ordering::SeqCst))
                    {
                        let done = probe_seed(originals, base, datadir, index);
                        outcomes.lock().unwrap().extend(done);
                    }
                })
                .unwrap();
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    eprintln!("{}after {:?}", tally(&outcomes), started.elapsed());
    let failures: Vec<&str> =
        outcomes.iter().flat_map(|outcome| &outcome.failures).map(|f| f.detail.as_str()).collect();
    assert_eq!(outcomes.len(), jobs.len() * 2, "a probe did not finish");
    assert!(
        failures.is_empty(),
        "{} broken promises, the first:\n{}",
        failures.len(),
        failures
            .iter()
            .take(12)
            .map(|failure| format!("  {failure}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
