//! `snapsync sync` and `snapsync verify`, run as processes: verified syncs from generated states,
//! a dump and a genesis file; resume (after a clean end and after SIGKILL); a data directory of
//! another chain refused; hostile peers; unusable arguments; the metrics file.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
use serde_json::Value;
use snapsync_primitives::test_utils::require_fixture;
use std::{
    path::Path,
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};
use support::Child;

const MAINNET_ROOT: &str = "0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544";
const HEAD_ROOT: &str = "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";

fn snapsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsync")).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The last line of stdout, as JSON, after checking the exit code.
fn json(output: &Output, code: i32) -> Value {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(output.status.code(), Some(code), "stdout: {text}\nstderr: {}", stderr(output));
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// `sync --json` with `args`, expected to end verified.
fn synced(args: &[&str]) -> Value {
    let mut all = vec!["sync", "--json"];
    all.extend_from_slice(args);
    let report = json(&snapsync(&all), 0);
    assert_eq!(report["verified"], true, "{report}");
    report
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// The head state root and the gas the `chain:` line on stderr gives for the built chain.
fn chain_line(stderr: &str) -> (String, u64) {
    let line = stderr.lines().find(|line| line.starts_with("chain: blocks")).unwrap();
    let gas = line.split(" gas)").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    (line.rsplit(' ').next().unwrap().to_owned(), gas)
}

/// The counts and root the `source:` line on stderr gives for the generated state.
fn source_line(stderr: &str) -> (u64, u64, u64, String) {
    let line = stderr.lines().find(|line| line.starts_with("source: ")).unwrap();
    let number = |unit: &str| {
        let before = line.split(&format!(" {unit}")).next().unwrap();
        before.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
    };
    let root = line.rsplit(' ').next().unwrap().to_owned();
    (number("accounts"), number("storage slots"), number("bytecodes"), root)
}

#[test]
fn a_generated_state_syncs_into_memory_with_its_counts_and_root() {
    let output = snapsync(&["sync", "--memory", "--json", "--accounts", "3000", "--seed", "7"]);
    let report = json(&output, 0);
    let (accounts, slots, codes, genesis_root) = source_line(&stderr(&output));
    let (head_root, chain_gas) = chain_line(&stderr(&output));
    assert_eq!(report["verified"], true);
    // The verdict is the tip's root, reached by executing blocks 65 to 128 on the synced state.
    assert_eq!(report["state_root"], head_root.as_str());
    assert_ne!(head_root, genesis_root);
    assert_eq!(report["head_block"], 128);
    assert_eq!(report["blocks_executed"], 64);
    let gas = report["gas_used"].as_u64().unwrap();
    assert!(gas > 0 && gas < chain_gas, "{gas} of the chain's {chain_gas}");
    assert!(report["execution_ms"].is_u64());
    // The pivot's state is the generated one with the actors added and 64 blocks executed: more
    // accounts (senders, contracts, new recipients) and slots; the codes of the generated state
    // plus the storage contracts' and the beacon-roots contract's (creations deploy the former).
    assert_eq!(accounts, 3000);
    assert!(report["accounts"].as_u64().unwrap() > accounts, "{report}");
    assert!(report["storage_slots"].as_u64().unwrap() > slots, "{report}");
    assert_eq!(report["bytecodes"], codes + 2);
    assert!(slots > 1_000 && codes > 0, "a realistic mix: {slots} slots, {codes} codes");
    assert_eq!(report["pivot_block"], 64);
    assert!(report["trie_nodes"].as_u64().unwrap() > 3000);
    assert_eq!(
        (report["healed_trie_nodes"].as_u64(), report["pivot_moves"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(report["bytes_downloaded"].as_u64().unwrap() > 0);
    assert!(report["requests"].as_u64().unwrap() > 0);
    assert_eq!(report["resumed"], false);
    assert_eq!(report.as_object().unwrap().len(), 17, "{report}");
    let text = stderr(&output);
    assert!(text.contains("SnapSync → Headers → Bodies → Receipts → Execution"), "{text}");
    assert!(
        text.contains(
            "; Headers alongside SnapSync; Bodies alongside SnapSync; Receipts alongside SnapSync)"
        ),
        "the history downloads while the state does: {text}"
    );
    assert!(text.contains("Bodies: finished at block 128"), "{text}");
    assert!(text.contains("Execution: finished at block 128"), "{text}");
}

#[test]
fn a_datadir_resumes_is_verified_and_refuses_another_chain() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let args = ["--datadir", path(&datadir), "--accounts", "2000", "--seed", "3"];
    let first = synced(&args);
    assert_eq!(first["resumed"], false);
    assert!(first["bytes_downloaded"].as_u64().unwrap() > 0);

    assert_eq!(first["blocks_executed"], 64);
    let again = synced(&args);
    assert_eq!(again["resumed"], true);
    assert_eq!(again["bytes_downloaded"], 0);
    assert_eq!(again["blocks_executed"], 0);
    assert_eq!(again["state_root"], first["state_root"]);
    assert_eq!(again["accounts"], first["accounts"]);

    // Refused before anything is synced; the metrics file is written all the same.
    let metrics = dir.path().join("refused.prom");
    let other = snapsync(&[
        "sync",
        "--json",
        "--datadir",
        path(&datadir),
        "--accounts",
        "2000",
        "--metrics-file",
        path(&metrics),
    ]);
    assert_eq!(other.status.code(), Some(2));
    assert!(other.stdout.is_empty());
    let message = stderr(&other);
    assert!(message.contains("holds a sync of another chain"), "{message}");
    assert!(message.contains("--seed"), "{message}");
    let prom = std::fs::read_to_string(&metrics).unwrap();
    // It read the stored pivot and refused before a single request was sent.
    assert!(prom_sum(&prom, "snapsync_db_read_views_total") >= 1.0, "{prom}");
    assert_eq!(prom_sum(&prom, "snapsync_peers_requests_sent_total"), 0.0, "{prom}");

    let verify = snapsync(&["verify", "--json", "--datadir", path(&datadir)]);
    let verdict = json(&verify, 0);
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["state_root"], first["state_root"]);
    assert_eq!(verdict["expected_root"], first["state_root"]);
    assert_eq!(verdict["pivot_block"], 64);
    // The stored state is the tip's: the pivot's and the accounts blocks 65 to 128 created.
    assert_eq!(verdict["state_block"], 128);
    assert!(verdict["accounts"].as_u64() > first["accounts"].as_u64(), "{verdict}");
    assert_eq!(verdict["storage_root_mismatches"], 0);
    let human = snapsync(&["verify", "--datadir", path(&datadir)]);
    assert_eq!(human.status.code(), Some(0));
    let text = String::from_utf8(human.stdout).unwrap();
    assert_eq!(text.lines().last(), first["state_root"].as_str());
}

#[test]
fn verify_cannot_run_without_a_synced_datadir() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let output = snapsync(&["verify", "--json", "--datadir", path(&missing)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(stderr(&output).contains("does not exist"), "{}", stderr(&output));
    assert!(!missing.exists(), "verify must not create the directory");

    let output = snapsync(&["verify", "--datadir", path(dir.path())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("holds no snapsync database"), "{}", stderr(&output));

    std::fs::write(dir.path().join("snapsync.redb"), b"not a database").unwrap();
    let output = snapsync(&["verify", "--datadir", path(dir.path())]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).starts_with("error: "), "{}", stderr(&output));
}

#[test]
fn the_hive_head_state_dump_syncs_to_its_root() {
    let Some(dump) = require_fixture("sync_from_dump", "geth-hive/headstate.json") else {
        return;
    };
    let report = synced(&["--memory", "--from-dump", dump.to_str().unwrap()]);
    // Over a state file the blocks are empty: executing them leaves the file's state.
    assert_eq!(report["state_root"], HEAD_ROOT);
    assert_eq!(
        (report["blocks_executed"].as_u64(), report["gas_used"].as_u64()),
        (Some(64), Some(0))
    );
    assert_eq!(report["accounts"], 194);
    assert_eq!(report["storage_slots"], 2164);
}

#[test]
fn the_mainnet_genesis_syncs_to_its_root() {
    let Some(genesis) = require_fixture("sync_from_genesis", "genesis/mainnet.json") else {
        return;
    };
    let report = synced(&["--memory", "--from-genesis", genesis.to_str().unwrap()]);
    assert_eq!(report["state_root"], MAINNET_ROOT);
    assert_eq!(report["accounts"], 8893);
    let wrong = snapsync(&["sync", "--memory", "--from-dump", genesis.to_str().unwrap()]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("use --from-genesis"), "{}", stderr(&wrong));
}

#[test]
fn two_hostile_peers_of_four_do_not_change_the_result() {
    let base = ["--memory", "--accounts", "4000", "--seed", "11", "--peers", "4"];
    let honest = synced(&base);
    let mut args = base.to_vec();
    args.extend(["--faulty-peers", "2"]);
    let hostile = synced(&args);
    assert_eq!(hostile["state_root"], honest["state_root"]);
    for key in ["accounts", "storage_slots", "bytecodes", "trie_nodes"] {
        assert_eq!(hostile[key], honest[key], "{key}");
    }
}

#[test]
fn with_no_honest_peer_the_sync_fails_in_bounded_time() {
    let started = Instant::now();
    let args = ["sync", "--json", "--memory", "--accounts", "2000", "--peers", "4"];
    let output = snapsync(&[&args[..], &["--faulty-peers", "4", "--allow-all-faulty"]].concat());
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    let report = json(&output, 1);
    assert_eq!(report["verified"], false);
    assert_eq!(report["state_root"], Value::Null);
    let message = stderr(&output);
    assert!(message.contains("error: the sync failed"), "{message}");
    assert!(message.contains("no peer"), "{message}");
    assert!(message.contains("4 of 4 peers"), "{message}");
}

#[test]
fn a_moving_tip_moves_the_pivot_heals_and_ends_at_the_final_pivot() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let args = ["--accounts", "4000", "--seed", "9", "--pivot-moves", "2", "--peers", "4"];
    let output = snapsync(
        &[&["sync", "--json", "--faulty-peers", "1", "--datadir", path(&datadir)], &args[..]]
            .concat(),
    );
    let report = json(&output, 0);
    assert_eq!(report["verified"], true, "{}", stderr(&output));
    assert_eq!(report["pivot_moves"], 2);
    // Tips 128, 185, 242 with the default distances: the final pivot is 242 - 64.
    assert_eq!(report["pivot_block"], 178);
    assert!(report["healed_trie_nodes"].as_u64().unwrap() > 0, "{report}");
    assert!(stderr(&output).contains("Bodies: finished at block 242"), "{}", stderr(&output));
    // Executed from the final pivot to the final tip, ending at the tip's root.
    assert_eq!(
        (report["head_block"].as_u64(), report["blocks_executed"].as_u64()),
        (Some(242), Some(64))
    );
    assert!(report["gas_used"].as_u64().unwrap() > 0);
    assert_eq!(report["state_root"], chain_line(&stderr(&output)).0.as_str());
    // The stored state is the final pivot's, as an independent recomputation finds it.
    let verify = snapsync(&["verify", "--datadir", path(&datadir)]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    // A re-run resumes the finished sync: nothing to download.
    let again = snapsync(&[&["sync", "--json", "--datadir", path(&datadir)], &args[..]].concat());
    let again = json(&again, 0);
    assert_eq!(
        (again["resumed"].clone(), again["pivot_block"].clone()),
        (Value::Bool(true), 178.into())
    );
}

#[test]
fn a_mainnet_shaped_state_syncs_to_its_root() {
    let args = ["sync", "--memory", "--json", "--accounts", "20000", "--profile", "mainnet"];
    let output = snapsync(&args);
    let report = json(&output, 0);
    let (accounts, slots, _, _) = source_line(&stderr(&output));
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["state_root"], chain_line(&stderr(&output)).0.as_str());
    assert_eq!(accounts, 20_000);
    assert!(report["accounts"].as_u64().unwrap() > accounts, "{report}");
    assert!(report["storage_slots"].as_u64().unwrap() > slots, "{report}");
    // Mainnet has 4.46 slots per account (`snapsync_sim::mainnet`).
    #[expect(clippy::cast_precision_loss)]
    let per_account = slots as f64 / accounts as f64;
    assert!((3.3..5.6).contains(&per_account), "{per_account} slots per account");
    assert!(stderr(&output).contains("mainnet shape"), "{}", stderr(&output));

    let refused =
        snapsync(&["sync", "--memory", "--profile", "mainnet", "--from-genesis", "x.json"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("cannot be used with"), "{}", stderr(&refused));
}

#[test]
fn unusable_arguments_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[pivot]\ndistance = 0\n").unwrap();
    let missing = dir.path().join("none.json");
    let cases: [(&[&str], &str); 7] = [
        (&["--pivot-moves", "65"], "--pivot-moves"),
        (&["--faulty-peers", "4"], "--allow-all-faulty"),
        (&["--faulty-peers", "5", "--allow-all-faulty"], "exceeds --peers 4"),
        (&["--peers", "0"], "--peers"),
        (&["--accounts", "10", "--from-genesis", "x.json"], "cannot be used with"),
        (&["--config", path(&config)], "pivot.distance"),
        (&["--from-dump", path(&missing)], "none.json"),
    ];
    for (extra, needle) in cases {
        let output = snapsync(&[&["sync", "--memory"], extra].concat());
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {message}");
        assert!(output.stdout.is_empty(), "{extra:?}");
        assert!(message.contains(needle), "{extra:?}: {needle:?} not in {message}");
    }
}

#[test]
fn a_killed_sync_resumes_without_fetching_everything_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steps.toml");
    std::fs::write(&config, "[step]\nmax_bytes = 65536\n").unwrap();
    let source = [
        "--accounts",
        "30000",
        "--seed",
        "5",
        "--latency-ms",
        "100",
        "--bandwidth-mbps",
        "20",
        "--config",
        path(&config),
    ];
    let clean = synced(&[&["--memory"], &source[..]].concat());
    let full = clean["bytes_downloaded"].as_u64().unwrap();

    // Kill at a later point each time until the kill lands after some committed progress and
    // before the end.
    let mut interrupted = None;
    for delay_ms in [800, 1400, 2000] {
        let datadir = dir.path().join(format!("killed-{delay_ms}"));
        let args = [&["sync", "--datadir", path(&datadir)], &source[..]].concat();
        let mut child = Child::spawn(&args);
        child.wait_for("SnapSync: started");
        thread::sleep(Duration::from_millis(delay_ms));
        child.child.kill().unwrap();
        let status = child.child.wait().unwrap();
        assert!(!status.success(), "killed at {delay_ms} ms, yet it exited normally");
        let verify = snapsync(&["verify", "--json", "--datadir", path(&datadir)]);
        let progress = match verify.status.code() {
            Some(1) => json(&verify, 1)["accounts"].as_u64().unwrap(),
            _ => 0, // nothing committed yet (code 2), or already finished (code 0)
        };
        eprintln!("killed at {delay_ms} ms: {progress} accounts stored, exit {:?}", verify.status);
        if progress > 0 {
            interrupted = Some(datadir);
            break;
        }
    }
    let datadir = interrupted.expect("no kill point landed after a commit and before the end");

    let resumed = synced(&[&["--datadir", path(&datadir)], &source[..]].concat());
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["state_root"], clean["state_root"]);
    for key in ["accounts", "storage_slots", "bytecodes", "trie_nodes"] {
        assert_eq!(resumed[key], clean[key], "{key}");
    }
    let restart = resumed["bytes_downloaded"].as_u64().unwrap();
    eprintln!("the restart downloaded {restart} bytes, a full run {full}");
    assert!(restart < full, "the restart downloaded {restart} bytes, a full run {full}");
    let verdict = json(&snapsync(&["verify", "--json", "--datadir", path(&datadir)]), 0);
    assert_eq!(verdict["state_root"], clean["state_root"]);
}

/// A finished data directory of a small generated state (seed 3), synced in this call.
fn finished_datadir(dir: &Path) -> std::path::PathBuf {
    let datadir = dir.join("finished");
    synced(&["--accounts", "2000", "--seed", "3", "--datadir", path(&datadir)]);
    datadir
}

fn sync_again(datadir: &Path) -> Output {
    snapsync(&["sync", "--json", "--accounts", "2000", "--seed", "3", "--datadir", path(datadir)])
}

#[test]
fn a_finished_datadir_is_verified_again_in_the_run_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = finished_datadir(dir.path());
    let again = sync_again(&datadir);
    let report = json(&again, 0);
    assert_eq!(report["verified"], true, "{report}");
    assert!(stderr(&again).contains("already synced; the stored leaves were hashed again"));
    assert_eq!(report["blocks_executed"], 0);

    // One leaf changed behind redb's back but with valid checksums (what a bug, or a disk that
    // the checksums cannot see, would leave): the stored nodes still hash to the pivot's root.
    {
        use snapsync_db::{Database, HashedAccounts, RedbDatabase, RedbOptions, TableRead};
        let db = RedbDatabase::open(datadir.join("snapsync.redb"), RedbOptions::default()).unwrap();
        let mut txn = db.write().unwrap();
        let (hash, mut account) = txn.iter::<HashedAccounts>().unwrap().last().unwrap().unwrap();
        account.nonce += 1;
        txn.put::<HashedAccounts>(&hash, &account).unwrap();
        txn.commit().unwrap();
    }
    let again = sync_again(&datadir);
    let message = stderr(&again);
    assert_eq!(again.status.code(), Some(2), "{message}");
    assert!(message.contains("local corruption"), "{message}");
    assert!(message.contains("no longer matches"), "{message}");
    assert!(!message.contains("penalised"), "{message}");
    assert!(!String::from_utf8_lossy(&again.stdout).contains("\"verified\":true"));
    let verify = json(&snapsync(&["verify", "--json", "--datadir", path(&datadir)]), 1);
    assert_eq!(verify["verified"], false);
}

#[test]
fn a_flipped_bit_inside_a_stored_value_is_database_corruption_for_sync_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = finished_datadir(dir.path());
    let file = datadir.join("snapsync.redb");
    let code = {
        use snapsync_db::{Bytecodes, Database, RedbDatabase, RedbOptions, TableRead};
        let db = RedbDatabase::open_read_only(&file, RedbOptions::default()).unwrap();
        let view = db.view().unwrap();
        let codes = view.iter::<Bytecodes>().unwrap().map(Result::unwrap);
        codes.max_by_key(|(_, code)| code.len()).unwrap().1
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(code.len()).position(|window| window == &code[..]).unwrap();
    bytes[at + code.len() / 2] ^= 0x04;
    std::fs::write(&file, &bytes).unwrap();

    for output in
        [sync_again(&datadir), snapsync(&["verify", "--json", "--datadir", path(&datadir)])]
    {
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert!(message.contains("database corrupted"), "{message}");
        assert!(!message.contains("panicked"), "{message}");
        assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    }
}

#[test]
fn verify_never_writes_and_names_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = finished_datadir(dir.path());
    let file = datadir.join("snapsync.redb");
    let before = std::fs::read(&file).unwrap();
    json(&snapsync(&["verify", "--json", "--datadir", path(&datadir)]), 0);
    assert!(std::fs::read(&file).unwrap() == before, "verify changed the database file");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("snapsync.redb"), b"").unwrap();
    let output = snapsync(&["verify", "--datadir", path(&empty)]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains(&format!("{} is empty", empty.join("snapsync.redb").display())));
    assert_eq!(std::fs::read(empty.join("snapsync.redb")).unwrap(), b"");

    let output = snapsync(&["verify", "--datadir", path(&file)]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("is a regular file, not a data directory"), "{message}");
    let output = snapsync(&["sync", "--accounts", "10", "--datadir", path(&file)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is a regular file, not a data directory"));
}

#[test]
fn a_closed_stdout_is_an_error_not_a_lost_result() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = finished_datadir(dir.path());
    let command = format!(
        "exec >&-; exec '{}' verify --json --datadir '{}'",
        env!("CARGO_BIN_EXE_snapsync"),
        path(&datadir)
    );
    let output = Command::new("sh").args(["-c", &command]).output().unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("stdout is closed"), "{message}");
}

/// A file system mounted for a test, unmounted when dropped; `None` (with a loud `SKIPPED`) where
/// the test may not mount (not root, no `mount`).
struct Mount(std::path::PathBuf);

impl Mount {
    fn new(test: &str, args: &[&str], at: &Path) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount").args(args).arg(at).output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self(at.to_path_buf())),
            Ok(output) => {
                eprintln!("SKIPPED {test}: cannot mount ({})", stderr(&output).trim());
                None
            }
            Err(error) => {
                eprintln!("SKIPPED {test}: cannot run mount ({error})");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn verify_works_on_a_read_only_mount() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = finished_datadir(dir.path());
    let at = dir.path().join("read-only");
    let test = "verify_works_on_a_read_only_mount";
    let Some(_bind) = Mount::new(test, &["--bind", path(&datadir)], &at) else { return };
    let Some(_ro) = Mount::new(test, &["-o", "remount,bind,ro"], &at) else { return };
    assert!(std::fs::write(at.join("probe"), b"x").is_err(), "the mount is writable");
    let report = json(&snapsync(&["verify", "--json", "--datadir", path(&at)]), 0);
    assert_eq!(report["verified"], true);
}

#[test]
fn a_full_disk_is_a_local_error_whether_redb_or_an_etl_spill_meets_it() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let test = "a_full_disk_is_a_local_error_whether_redb_or_an_etl_spill_meets_it";
    let Some(_tmpfs) = Mount::new(test, &["-t", "tmpfs", "-o", "size=3m", "tmpfs"], &small) else {
        return;
    };
    // The database on the full disk.
    let output = snapsync(&["sync", "--accounts", "20000", "--datadir", path(&small.join("db"))]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("the local store failed (no peer is at fault)"), "{message}");
    assert!(message.contains("No space left on device"), "{message}");
    std::fs::remove_dir_all(small.join("db")).unwrap();
    // The spill files on the full disk, the database elsewhere.
    let config = dir.path().join("etl.toml");
    let etl = small.join("etl");
    std::fs::write(&config, format!("[etl]\nbuffer_bytes = 1048576\ndir = {:?}\n", path(&etl)))
        .unwrap();
    let datadir = dir.path().join("roomy");
    let output = snapsync(&[
        "sync",
        "--accounts",
        "60000",
        "--datadir",
        path(&datadir),
        "--config",
        path(&config),
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("the local store failed (no peer is at fault)"), "{message}");
    assert!(message.contains("ETL") && message.contains("No space left on device"), "{message}");
    assert!(!message.contains("penalised"), "{message}");
}

/// The sum of the series of `name` in Prometheus text `prom` (one series if `name` has labels).
fn prom_sum(prom: &str, name: &str) -> f64 {
    prom.lines()
        .filter(|line| {
            line.starts_with(&format!("{name} "))
                || (!name.contains('{') && line.starts_with(&format!("{name}{{")))
        })
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[test]
fn metrics_file_holds_every_component_s_metrics_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.prom");
    let args =
        ["--memory", "--accounts", "3000", "--seed", "5", "--peers", "4", "--faulty-peers", "1"];
    let mut all = args.to_vec();
    all.extend(["--metrics-file", path(&file)]);
    let report = synced(&all);
    let prom = std::fs::read_to_string(&file).unwrap();
    // Every request the network received was counted, by kind; every verified byte too.
    let sent = prom_sum(&prom, "snapsync_peers_requests_sent_total");
    assert_eq!(sent, report["requests"].as_f64().unwrap(), "{prom}");
    assert!(prom.contains("snapsync_peers_requests_sent_total{kind=\"account_range\"}"));
    let bytes = prom_sum(&prom, "snapsync_cli_sync_bytes_downloaded");
    assert_eq!(bytes, report["bytes_downloaded"].as_f64().unwrap());
    // A step per stage at least, each committed.
    for stage in ["Headers", "Bodies", "SnapSync", "Execution"] {
        let steps = prom_sum(&prom, &format!("snapsync_pipeline_steps_total{{stage=\"{stage}\"}}"));
        assert!(steps >= 1.0, "{stage}: {prom}");
    }
    let steps = prom_sum(&prom, "snapsync_pipeline_steps_total");
    assert!(prom_sum(&prom, "snapsync_db_commits_total") >= steps);
    assert!(prom_sum(&prom, "snapsync_etl_collected_entries_total") >= 3000.0);
    // The pivot's accounts: the generated 3000, the actors and those blocks 1 to 64 created.
    assert_eq!(prom_sum(&prom, "snapsync_sync_accounts"), report["accounts"].as_f64().unwrap());
    assert!(report["accounts"].as_u64().unwrap() > 3000);
    assert_eq!(prom_sum(&prom, "snapsync_cli_sync_verified"), 1.0);
    // Described: types and help lines for the library's metrics.
    assert!(prom.contains("# TYPE snapsync_peers_requests_sent_total counter"), "{prom}");
    assert!(prom.contains("# TYPE snapsync_pipeline_step_duration_seconds"), "{prom}");
}
