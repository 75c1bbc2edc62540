//! [`ServerLimits`]: how much work one request may cost.

use std::time::{Duration, Instant};

/// How much work the server spends on one request. Every default is go-ethereum's
/// (`eth/protocols/snap/handler.go`), except [`max_storage_accounts`](Self::max_storage_accounts),
/// which go-ethereum does not have, and [`max_request_time`](Self::max_request_time), which it
/// applies to trie nodes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Cap on a response's byte budget, whatever the request asks: 2 MiB. Requests asking less
    /// get what they ask; there is no floor (a budget of 0 still returns the first item, which is
    /// what go-ethereum does and the hive suite expects).
    pub soft_response_bytes: u64,
    /// States held at once; adding one more evicts the oldest: 128.
    pub max_states: usize,
    /// Code hashes looked at per `GetByteCodes`; the rest of the request is ignored: 1024.
    pub max_code_lookups: usize,
    /// Trie node reads per `GetTrieNodes` before the response is closed: 1024.
    pub max_trie_node_lookups: usize,
    /// Accounts looked at per `GetStorageRanges`: 4096 (go-ethereum clients ask for at most 512;
    /// the cap only bounds the work of a hostile request, which gets a shorter, valid answer).
    pub max_storage_accounts: usize,
    /// Time spent on one request before its response is closed: 5 s (go-ethereum's
    /// `maxTrieNodeTimeSpent`, applied here to storage, bytecode and trie node requests).
    pub max_request_time: Duration,
    /// Headers per `GetBlockHeaders`: 1024.
    pub max_headers: usize,
    /// Bodies per `GetBlockBodies`: 1024.
    pub max_bodies: usize,
}

impl ServerLimits {
    /// go-ethereum's `softResponseLimit`.
    pub const DEFAULT_SOFT_RESPONSE_BYTES: u64 = 2 * 1024 * 1024;
    /// The states go-ethereum keeps available for serving (its 128 diff layers).
    pub const DEFAULT_MAX_STATES: usize = 128;

    /// The byte budget of a request that asks for `requested` bytes.
    pub(crate) fn response_bytes(&self, requested: u64) -> u64 {
        requested.min(self.soft_response_bytes)
    }

    /// When a request started now must be closed.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline(Instant::now().checked_add(self.max_request_time))
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            soft_response_bytes: Self::DEFAULT_SOFT_RESPONSE_BYTES,
            max_states: Self::DEFAULT_MAX_STATES,
            max_code_lookups: 1024,
            max_trie_node_lookups: 1024,
            max_storage_accounts: 4096,
            max_request_time: Duration::from_secs(5),
            max_headers: 1024,
            max_bodies: 1024,
        }
    }
}

/// The instant a request's work must stop (`None`: never, for an unrepresentable time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// Whether the time is up.
    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|deadline| Instant::now() >= deadline)
    }
}
