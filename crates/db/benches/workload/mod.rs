//! The workload shared by the criterion benchmarks and the `db_figures` example: N accounts as
//! snap sync receives them (in no particular order), sorted through an ETL collector.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{B256, U256, keccak256};
use snapsync_etl::{Collector, CollectorConfig};
use snapsync_primitives::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The `i`-th account: every fourth is a contract (own storage root and code hash); balances
/// and nonces vary in length, so the RLP is 70 to 110 bytes.
pub fn account(i: u64) -> TrieAccount {
    let seed = keccak256(i.to_le_bytes());
    let balance = U256::from_be_slice(&seed[..usize::try_from(i % 12).unwrap() + 1]);
    if i.is_multiple_of(4) {
        TrieAccount {
            nonce: i % 100_000,
            balance,
            storage_root: keccak256(seed),
            code_hash: keccak256(&seed[..16]),
        }
    } else {
        TrieAccount {
            nonce: i % 300,
            balance,
            storage_root: EMPTY_ROOT_HASH,
            code_hash: KECCAK_EMPTY,
        }
    }
}

/// The hashed address of the `i`-th account.
pub fn account_hash(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

/// `n` accounts collected, in arrival order, into an ETL collector keyed by account hash with the
/// account's RLP as value.
pub fn collect_accounts(n: u64, config: CollectorConfig) -> Collector<B256, Vec<u8>> {
    let mut collector = Collector::new(config);
    for i in 0..n {
        collector.insert(&account_hash(i), &alloy_rlp::encode(account(i))).unwrap();
    }
    collector
}

/// The same accounts, sorted, in memory.
pub fn sorted_accounts(n: u64) -> Vec<(B256, Vec<u8>)> {
    let mut accounts: Vec<_> =
        (0..n).map(|i| (account_hash(i), alloy_rlp::encode(account(i)))).collect();
    accounts.sort_unstable_by_key(|a| a.0);
    accounts
}

/// A cheap deterministic sequence of indexes below `n`, for random reads.
pub fn random_indexes(n: u64, count: usize) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        })
        .collect()
}
