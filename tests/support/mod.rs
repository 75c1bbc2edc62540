//! Driving the `snapsync` binary from the CLI test targets: machinery they share.

// Each test target uses part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

/// A `snapsync` child process whose stderr lines arrive on a channel, so a test can wait for a
/// line and kill the child at that point.
pub(crate) struct Child {
    /// The process.
    pub(crate) child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Child {
    /// Starts `snapsync ARGS…` with stdout discarded and stderr read line by line.
    pub(crate) fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapsync"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits (at most 30 s per line) for a stderr line starting with `prefix`.
    pub(crate) fn wait_for(&self, prefix: &str) {
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(30)).unwrap();
            if line.starts_with(prefix) {
                return;
            }
        }
    }
}

/// A finished `snapsync` run whose stderr lines were timed as they arrived, so a test can tell
/// how long a phase between two lines took.
pub(crate) struct TimedRun {
    /// How it exited.
    pub(crate) status: std::process::ExitStatus,
    /// Its whole stdout.
    pub(crate) stdout: String,
    /// Each stderr line, with the time from the start to its arrival.
    pub(crate) lines: Vec<(Duration, String)>,
}

impl TimedRun {
    /// Runs `command` (stdout and stderr piped here) to its end.
    pub(crate) fn run(command: &mut Command) -> Self {
        let started = std::time::Instant::now();
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = thread::spawn(move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .map(|line| (started.elapsed(), line))
                .collect::<Vec<_>>()
        });
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
        let status = child.wait().unwrap();
        Self { status, stdout, lines: reader.join().unwrap() }
    }

    /// When the first stderr line starting with `prefix` arrived.
    pub(crate) fn at(&self, prefix: &str) -> Option<Duration> {
        self.lines.iter().find(|(_, line)| line.starts_with(prefix)).map(|(at, _)| *at)
    }

    /// The stderr, as text.
    pub(crate) fn stderr(&self) -> String {
        self.lines.iter().map(|(_, line)| format!("{line}\n")).collect()
    }
}

/// The hive fixture's files (`/work/shared/fixtures/geth-hive`), or `None` (with a loud SKIPPED
/// line) when absent.
pub(crate) struct Hive {
    /// genesis.json.
    pub(crate) genesis: std::path::PathBuf,
    /// chain.rlp: blocks 1 to 600.
    pub(crate) chain: std::path::PathBuf,
    /// headstate.json: the state of block 600.
    pub(crate) state: std::path::PathBuf,
}

impl Hive {
    /// Block 600's hash.
    pub(crate) const HEAD_HASH: &str =
        "0x44e3809c9a3cda717f00aea3a9da336d149612c8d5657fbc0028176ef8d94d2a";
    /// Block 600's state root (fixtures README).
    pub(crate) const HEAD_ROOT: &str =
        "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b";

    /// `snapsync import --json` of the chain and the head state into `datadir`, checked to
    /// succeed.
    pub(crate) fn import(&self, datadir: &std::path::Path) {
        self.run_import(datadir, Some(&self.state));
    }

    /// `snapsync import --json` of the chain alone into `datadir`: executed from the genesis,
    /// which also stores every block's receipts. Checked to succeed.
    #[allow(dead_code)] // not every test binary that includes this module executes the chain
    pub(crate) fn import_executed(&self, datadir: &std::path::Path) {
        self.run_import(datadir, None);
    }

    fn run_import(&self, datadir: &std::path::Path, state: Option<&std::path::Path>) {
        let mut import = Command::new(env!("CARGO_BIN_EXE_snapsync"));
        import.args(["import", "--json", "--datadir"]).arg(datadir);
        import.arg("--genesis").arg(&self.genesis).arg("--chain").arg(&self.chain);
        if let Some(state) = state {
            import.arg("--state").arg(state);
        }
        let output = import.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    /// The fixture for `test`.
    pub(crate) fn load(test: &str) -> Option<Self> {
        use snapsync_primitives::test_utils::require_fixture;
        Some(Self {
            genesis: require_fixture(test, "geth-hive/genesis.json")?,
            chain: require_fixture(test, "geth-hive/chain.rlp")?,
            state: require_fixture(test, "geth-hive/headstate.json")?,
        })
    }
}

/// A `snapsync serve` process: started, its `enode://` URL read from the first stdout line; sent
/// SIGTERM (then killed) when dropped.
pub(crate) struct Server {
    /// The process.
    pub(crate) child: std::process::Child,
    /// The URL it printed.
    pub(crate) enode: String,
}

impl Server {
    /// Starts `snapsync serve --datadir DIR --listen 127.0.0.1:0` and reads its URL (within
    /// 30 s).
    pub(crate) fn start(datadir: &std::path::Path) -> Self {
        Self::start_with(datadir, &[])
    }

    /// As [`start`](Self::start), with the further serve options `args` (e.g. `--withhold`).
    pub(crate) fn start_with(datadir: &std::path::Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapsync"))
            .args(["serve", "--listen", "127.0.0.1:0", "--datadir"])
            .arg(datadir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, first) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = send.send(line);
        });
        let enode = first.recv_timeout(Duration::from_secs(30)).unwrap().trim().to_owned();
        assert!(enode.starts_with("enode://"), "the first stdout line is the URL: {enode:?}");
        Self { child, enode }
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit; its status and stderr.
    pub(crate) fn stop(mut self) -> (std::process::ExitStatus, String) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "serve did not stop on SIGTERM");
            thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
