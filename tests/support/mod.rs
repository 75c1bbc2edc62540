//! Driving the `snapsync` binary from the CLI test targets: machinery they share.

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
