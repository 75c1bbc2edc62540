//! The sync's memory budget (`[memory]`): one setting that bounds the sync's own memory, shared
//! out between what holds it.
//!
//! | share | of the budget | what it bounds |
//! |---|---|---|
//! | replies in flight | 1/4 | `requests in flight × HELD_REPLY_FACTOR × peers.max_request_bytes`: each verified reply is held, with the trie nodes its verification computed, until a step takes it (while a step commits, the next step takes them) |
//! | ETL buffers | 1/4 | the five sort buffers of a step (accounts, slots, codes, account-trie nodes, storage-trie nodes), one fifth each: `etl.buffer_bytes` |
//! | database cache | 1/4 | the page cache of the database the sync writes into (the CLI opens its data directory with it) |
//! | steps | 1/8 | the verified data of two steps (leaves, codes, trie nodes): the one committing and the next, gathered meanwhile; `step.max_bytes` each, a sixteenth |
//! | the rest | 1/8 | the storage and code queues (bounded by the request slots), the progress record, a healing pass's frontier, a reply being verified, the allocator's slack |
//!
//! The derived settings ([`etl.buffer_bytes`](crate::EtlConfig::buffer_bytes) unset, the
//! request slots) follow the budget; an explicit `etl.buffer_bytes`, `step.max_bytes` or
//! `peers.max_request_bytes` is refused if it does not fit its share, and
//! `concurrency.max_requests` caps the request slots the reply share allows.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The sync's memory budget (`[memory]`); see the module docs for its shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Bytes the sync's own memory is bounded by: replies in flight, ETL buffers, the database
    /// cache, the step's payload and the queues, each within its share. Default 512 MiB
    /// (536870912); 64 MiB to 64 GiB. Raise it on a large machine for larger ETL buffers
    /// (fewer spills) and more requests in flight with large replies; lower it on a small one.
    pub budget_bytes: u64,
}

/// How many collectors one step fills: accounts, slots, codes, account-trie nodes and
/// storage-trie nodes.
pub const STEP_COLLECTORS: u64 = 5;

/// Bytes a reply may hold per byte of `peers.max_request_bytes`: a reply may run past its
/// budget (a server stops after the item that crosses it, as go-ethereum's does), and while it
/// is verified it is held decoded (an account as a 136-byte struct, against about 45 bytes on
/// the wire) with the leaves encoded again and the nodes being computed. Once verified, an
/// account range keeps its accounts compactly ([`AccountList`](snapsync_fetch::AccountList))
/// and the trie nodes a store keeps. Measured on the default generated state, a full account
/// range asked with a 512 KiB budget (11,519 accounts, 524,300 bytes of accounts on the wire):
/// held verified, 0.51 MB of accounts and 0.81 MB of nodes, 2.5 bytes per byte of reply
/// (4.5 with its accounts decoded, before the compact list). The factor keeps room for the
/// reply being verified.
pub const HELD_REPLY_FACTOR: u64 = 8;

impl MemoryConfig {
    /// Default [`budget_bytes`](Self::budget_bytes): 512 MiB.
    pub const DEFAULT_BUDGET_BYTES: u64 = 512 * MIB;
    /// Smallest accepted [`budget_bytes`](Self::budget_bytes): 64 MiB.
    pub const MIN_BUDGET_BYTES: u64 = 64 * MIB;
    /// Largest accepted [`budget_bytes`](Self::budget_bytes): 64 GiB.
    pub const MAX_BUDGET_BYTES: u64 = 64 * GIB;

    /// The share of the replies in flight: a quarter of the budget.
    pub const fn replies_bytes(&self) -> u64 {
        self.budget_bytes / 4
    }

    /// The share of the step's ETL sort buffers: a quarter of the budget.
    pub const fn etl_bytes(&self) -> u64 {
        self.budget_bytes / 4
    }

    /// One ETL sort buffer: the ETL share over the [`STEP_COLLECTORS`] a step fills.
    pub const fn etl_buffer_bytes(&self) -> u64 {
        self.etl_bytes() / STEP_COLLECTORS
    }

    /// The share of the database's page cache: a quarter of the budget.
    pub const fn cache_bytes(&self) -> u64 {
        self.budget_bytes / 4
    }

    /// The share of the steps' verified data: an eighth of the budget, for two steps (the one
    /// committing and the next, gathered meanwhile).
    pub const fn steps_bytes(&self) -> u64 {
        self.budget_bytes / 8
    }

    /// The most one step gathers: half the [steps' share](Self::steps_bytes), a sixteenth of
    /// the budget.
    pub const fn step_bytes(&self) -> u64 {
        self.steps_bytes() / 2
    }

    /// Requests the reply share holds with replies of up to `max_request_bytes` each (at least
    /// one).
    pub const fn request_slots(&self, max_request_bytes: u64) -> u64 {
        let held = max_request_bytes.saturating_mul(HELD_REPLY_FACTOR);
        if held == 0 {
            return 1;
        }
        let slots = self.replies_bytes() / held;
        if slots == 0 { 1 } else { slots }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let value = self.budget_bytes;
        let rule = if value < Self::MIN_BUDGET_BYTES {
            "must be at least 67108864 (64 MiB)"
        } else if value > Self::MAX_BUDGET_BYTES {
            "must be at most 68719476736 (64 GiB)"
        } else {
            return Ok(());
        };
        Err(ConfigError::Invalid { field: "memory.budget_bytes", value, rule: rule.to_owned() })
    }
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self { budget_bytes: Self::DEFAULT_BUDGET_BYTES }
    }
}

/// Refuses `value` of `field` above `share` bytes, the share `what` of `memory.budget_bytes`.
pub(crate) fn within_share(
    field: &'static str,
    value: u64,
    share: u64,
    what: &str,
) -> Result<(), ConfigError> {
    if value > share {
        return Err(ConfigError::Invalid {
            field,
            value,
            rule: format!("must be at most {share}, {what} of memory.budget_bytes"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_add_up_to_the_budget_at_most() {
        let memory = MemoryConfig::default();
        let rest = memory.budget_bytes / 8;
        let total = memory.replies_bytes()
            + memory.etl_buffer_bytes() * STEP_COLLECTORS
            + memory.cache_bytes()
            + 2 * memory.step_bytes()
            + rest;
        assert!(total <= memory.budget_bytes, "{total} > {}", memory.budget_bytes);
    }

    #[test]
    fn request_slots_follow_the_reply_share() {
        let memory = MemoryConfig { budget_bytes: 512 * MIB };
        // 128 MiB of replies held at eight times 2 MiB each: 8 requests.
        assert_eq!(memory.request_slots(2 * MIB), 8);
        assert_eq!(memory.request_slots(512 * 1024), 32);
        assert_eq!(memory.request_slots(64 * MIB), 1);
        assert_eq!(memory.request_slots(0), 1);
    }
}
