//! An independent client to test against: `@ethereumjs/client` 0.10.5 from npm, run offline on
//! loopback on a chain given as a genesis file and an RLP chain file.
//!
//! [`Ethereumjs::start`] installs the client once (about 20 s, 111 MB, cached under the given
//! directory keyed by the version), starts it with a `--require` preload that binds its TCP and
//! UDP sockets to 127.0.0.1, no discovery, JSON-RPC on a free loopback port, and waits (at most
//! 3 minutes) until it has imported and executed the chain. Dropping it stops the process by
//! its PID (SIGTERM, then SIGKILL after 10 s); its data lives in a temporary directory.
//!
//! Facts (see `../shared/design/ethereumjs-peer.md`): it speaks eth/66–68, advertises snap/1
//! but never answers snap requests, and 0.10.5 does not answer eth `GetReceipts` (its handler
//! throws).

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)] // test machinery

use crate::Enode;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The client's version.
pub const VERSION: &str = "0.10.5";
const CLI: &str = "node_modules/@ethereumjs/client/dist/esm/bin/cli.js";

/// Rebinds every listening TCP server and UDP socket of the node to loopback.
const LOOPBACK_PRELOAD: &str = r#"
const net = require('net');
const dgram = require('dgram');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null) { args[0] = { ...args[0], host: '127.0.0.1' }; }
  else if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    if (typeof args[1] === 'string') { args[1] = '127.0.0.1'; } else { args.splice(1, 0, '127.0.0.1'); }
  }
  return listen.apply(this, args);
};
const bind = dgram.Socket.prototype.bind;
dgram.Socket.prototype.bind = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null) { args[0] = { ...args[0], address: '127.0.0.1' }; }
  else if (typeof args[0] === 'number') {
    if (typeof args[1] === 'string') { args[1] = '127.0.0.1'; } else { args.splice(1, 0, '127.0.0.1'); }
  }
  return bind.apply(this, args);
};
"#;

/// Whether `program --version` runs.
fn works(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The npm install of the client, cached per version under `cache`.
fn installed_client(cache: &Path) -> Option<PathBuf> {
    let dir = cache.join(format!("ethereumjs-client-{VERSION}"));
    if dir.join(CLI).is_file() {
        return Some(dir);
    }
    std::fs::create_dir_all(&dir).ok()?;
    eprintln!("installing @ethereumjs/client@{VERSION} into {}", dir.display());
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .arg(format!("@ethereumjs/client@{VERSION}"))
        .current_dir(&dir)
        .status()
        .ok()?;
    (status.success() && dir.join(CLI).is_file()).then_some(dir)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running ethereumjs node; dropping it stops the process.
#[derive(Debug)]
pub struct Ethereumjs {
    child: Child,
    dir: tempfile::TempDir,
    log: PathBuf,
    /// Its RLPx address.
    pub enode: Enode,
    /// Its JSON-RPC port on 127.0.0.1.
    pub rpc_port: u16,
}

impl Ethereumjs {
    /// Starts the node on the chain (`genesis`, geth format; `chain`, RLP blocks), installing
    /// the client under `cache` first if needed; `Err` with the reason to print in a `SKIPPED`
    /// line when node or npm are missing or the install fails.
    ///
    /// # Panics
    /// When the node exits or does not import the chain within 3 minutes.
    pub fn start(cache: &Path, genesis: &Path, chain: &Path) -> Result<Self, String> {
        if !works("node") || !works("npm") {
            return Err("node or npm not found".to_owned());
        }
        let client = installed_client(cache)
            .ok_or_else(|| "npm install @ethereumjs/client failed (no registry?)".to_owned())?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(genesis, dir.path().join("genesis.json")).unwrap();
        std::fs::write(dir.path().join("loopback.cjs"), LOOPBACK_PRELOAD).unwrap();
        let log = dir.path().join("node.log");
        let (port, rpc_port) = (free_port(), free_port());
        let child = Command::new("node")
            .arg("--require")
            .arg(dir.path().join("loopback.cjs"))
            .arg(client.join(CLI))
            .arg("--gethGenesis")
            .arg(dir.path().join("genesis.json"))
            .arg("--dataDir")
            .arg(dir.path().join("data"))
            .args(["--port", &port.to_string(), "--extIP", "127.0.0.1"])
            .args(["--discDns=false", "--discV4=false", "--isSingleNode", "--saveReceipts"])
            .args(["--rpc", "--rpcAddr", "127.0.0.1", "--rpcPort", &rpc_port.to_string()])
            .arg("--loadBlocksFromRlp")
            .arg(chain)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn node");
        let placeholder =
            Enode { id: crate::NodeId::from_bytes([0; 64]), addr: ([127, 0, 0, 1], port).into() };
        let mut node = Self { child, dir, log, enode: placeholder, rpc_port };
        node.enode = node.wait_until_started();
        Ok(node)
    }

    fn wait_until_started(&mut self) -> Enode {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let output = std::fs::read_to_string(&self.log).unwrap_or_default();
            if output.contains("Client started successfully") {
                // The node writes its URL to <datadir>/<chain name>/rlpx.
                let data = self.dir.path().join("data");
                let url = std::fs::read_dir(&data)
                    .unwrap()
                    .filter_map(Result::ok)
                    .find_map(|entry| std::fs::read_to_string(entry.path().join("rlpx")).ok())
                    .expect("the node writes its enode");
                return url.trim().parse().expect("enode URL");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ethereumjs exited with {status}:\n{output}");
            }
            assert!(Instant::now() < deadline, "ethereumjs did not start in 180 s:\n{output}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Ethereumjs {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
