//! The simulated peers of `snapsync sync`: how many, on which links, and which of them lie.

use crate::cli::CliError;
use clap::{Args, value_parser};
use snapsync_fetch::PeerSetConfig;
use snapsync_sim::{Behaviour, Link, SimPeer};
use std::time::Duration;

/// Most simulated peers (each is a task and a link queue over the one served state).
const MAX_PEERS: u64 = 256;
/// Longest simulated round trip: one minute (and below `peers.timeout_max`, checked
/// against the configuration).
const MAX_LATENCY_MS: u64 = 60_000;
/// Fastest simulated link: 1 Tbit/s (higher would overflow the byte rate computation).
const MAX_MBPS: u64 = 1_000_000;

/// The hostile behaviours faulty peers get, in turn: each corrupts replies the sync asks for
/// (`WrongNode` only corrupts trie-node replies, which a sync asks for only when it heals after
/// pivot moves).
const HOSTILE: [Behaviour; 11] = [
    Behaviour::BadProof,
    Behaviour::AlterValue,
    Behaviour::Gap,
    Behaviour::ExtraItems,
    Behaviour::WrongStorage,
    Behaviour::GarbageCode,
    Behaviour::WrongNode,
    Behaviour::Oversized,
    Behaviour::BrokenLink,
    Behaviour::BadBody,
    Behaviour::Random,
];

/// The network options of `snapsync sync`.
#[derive(Debug, Args)]
pub(crate) struct PeerArgs {
    /// Simulated peers, all serving the chain and the pivot's state.
    #[arg(long, default_value_t = 4, value_parser = value_parser!(u64).range(1..=MAX_PEERS))]
    peers: u64,
    /// Round-trip latency of every peer's link, in milliseconds; below the configuration's
    /// peers.timeout_max (default "30s"), so that a reply can arrive in time.
    #[arg(
        long,
        default_value_t = 0,
        value_parser = value_parser!(u64).range(0..=MAX_LATENCY_MS)
    )]
    latency_ms: u64,
    /// Bandwidth of each peer's link, in Mbit/s (default: unlimited).
    #[arg(long, value_parser = value_parser!(u64).range(1..=MAX_MBPS))]
    bandwidth_mbps: Option<u64>,
    /// How many of the peers are hostile, each with one of the simulated faults in turn (bad
    /// proofs, altered values, gaps, extra items, wrong storage, garbage code, oversized replies,
    /// wrong trie nodes, broken header links, bad bodies, random faults). Must be below --peers.
    #[arg(long, default_value_t = 0, value_parser = value_parser!(u64).range(0..=MAX_PEERS))]
    faulty_peers: u64,
    /// Allow --faulty-peers to equal --peers: a sync with no honest peer, which must fail.
    #[arg(long)]
    allow_all_faulty: bool,
}

impl PeerArgs {
    /// Checks the options against each other.
    ///
    /// # Errors
    /// [`CliError::Usage`] for more faulty peers than peers, or as many without
    /// `--allow-all-faulty`.
    pub(super) fn validate(&self) -> Result<(), CliError> {
        if self.faulty_peers > self.peers {
            return Err(CliError::Usage(format!(
                "--faulty-peers {} exceeds --peers {}",
                self.faulty_peers, self.peers
            )));
        }
        if self.faulty_peers == self.peers && !self.allow_all_faulty {
            return Err(CliError::Usage(format!(
                "--faulty-peers {} leaves no honest peer of {}: the sync could only fail; pass \
                 --allow-all-faulty to run it anyway",
                self.faulty_peers, self.peers
            )));
        }
        Ok(())
    }

    /// Checks that a reply can arrive within the longest request timeout (which is also the
    /// first request's to each peer, and each header request's): at or above it, every
    /// request would time out and the sync could only wait and fail.
    ///
    /// # Errors
    /// [`CliError::Usage`] naming `--latency-ms` and `peers.timeout_max` with their values.
    pub(super) fn validate_timing(&self, peers: &PeerSetConfig) -> Result<(), CliError> {
        if Duration::from_millis(self.latency_ms) >= peers.timeout_max {
            return Err(CliError::Usage(format!(
                "--latency-ms {} is not below peers.timeout_max ({:?}), the longest a request \
                 waits for its reply: no reply could arrive in time; lower --latency-ms or raise \
                 peers.timeout_max with --config",
                self.latency_ms, peers.timeout_max
            )));
        }
        Ok(())
    }

    /// Whether no peer is honest.
    pub(super) const fn all_faulty(&self) -> bool {
        self.faulty_peers >= self.peers
    }

    /// The peers: the honest ones first, then the faulty ones, each peer seeded by its index.
    pub(super) fn peers(&self) -> Vec<SimPeer> {
        let link = self.link();
        let honest = self.peers.saturating_sub(self.faulty_peers);
        (0..self.peers)
            .map(|index| {
                let behaviour = index
                    .checked_sub(honest)
                    .and_then(|faulty| usize::try_from(faulty).ok())
                    .map_or(Behaviour::Honest, |faulty| HOSTILE[faulty % HOSTILE.len()].clone());
                SimPeer::new(link, behaviour, index)
            })
            .collect()
    }

    /// The link every peer has.
    fn link(&self) -> Link {
        let latency = Duration::from_millis(self.latency_ms);
        match self.bandwidth_mbps {
            Some(mbps) => Link { latency, ..Link::new(0, mbps) },
            None => Link { latency, bandwidth: None },
        }
    }

    /// E.g. `4 peers (2 faulty: BadProof, AlterValue), 50 ms round trip, 100 Mbit/s each`.
    pub(super) fn describe(&self) -> String {
        let mut text = format!("{} peers", self.peers);
        if self.faulty_peers > 0 {
            let faults: Vec<String> = self
                .peers()
                .iter()
                .filter(|peer| peer.behaviour != Behaviour::Honest)
                .map(|peer| format!("{:?}", peer.behaviour))
                .collect();
            text.push_str(&format!(" ({} faulty: {})", self.faulty_peers, faults.join(", ")));
        }
        text.push_str(&format!(", {} ms round trip", self.latency_ms));
        match self.bandwidth_mbps {
            Some(mbps) => text.push_str(&format!(", {mbps} Mbit/s each")),
            None => text.push_str(", unlimited bandwidth"),
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(peers: u64, faulty_peers: u64, allow_all_faulty: bool) -> PeerArgs {
        PeerArgs { peers, latency_ms: 20, bandwidth_mbps: Some(8), faulty_peers, allow_all_faulty }
    }

    #[test]
    fn faulty_peers_come_last_with_faults_in_turn() {
        let peers = args(4, 2, false).peers();
        let behaviours: Vec<_> = peers.iter().map(|peer| peer.behaviour.clone()).collect();
        assert_eq!(
            behaviours,
            [Behaviour::Honest, Behaviour::Honest, Behaviour::BadProof, Behaviour::AlterValue]
        );
        assert_eq!(peers[0].link, Link::new(20, 8));
        let many = args(12, 12, true).peers();
        assert_eq!(many[10].behaviour, Behaviour::Random);
        assert_eq!(many[11].behaviour, Behaviour::BadProof, "the rotation starts again");
    }

    #[test]
    fn the_latency_must_stay_below_the_longest_timeout() {
        let requests =
            PeerSetConfig { timeout_max: Duration::from_millis(21), ..PeerSetConfig::default() };
        assert!(args(4, 0, false).validate_timing(&requests).is_ok());
        let requests = PeerSetConfig { timeout_max: Duration::from_millis(20), ..requests };
        let error = args(4, 0, false).validate_timing(&requests).unwrap_err().to_string();
        assert!(
            error.starts_with("--latency-ms 20 is not below peers.timeout_max (20ms)"),
            "{error}"
        );
    }

    #[test]
    fn no_honest_peer_must_be_asked_for() {
        assert!(args(4, 3, false).validate().is_ok());
        let error = args(4, 4, false).validate().unwrap_err().to_string();
        assert!(error.contains("--allow-all-faulty"), "{error}");
        assert!(args(4, 4, true).validate().is_ok());
        let error = args(4, 5, true).validate().unwrap_err().to_string();
        assert!(error.contains("exceeds --peers 4"), "{error}");
    }
}
