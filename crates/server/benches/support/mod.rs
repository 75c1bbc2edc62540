//! A large random state in redb, served, for the throughput bench and example.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use alloy_primitives::{B256, Bytes, U256};
use snapsync_db::{Database, ImportAccount, RedbDatabase, RedbOptions, import_state};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{AccountHash, AccountRange, GetAccountRange};
use snapsync_server::{ServerLimits, SnapServer};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tempfile::TempDir;

/// The response size the figures are measured at.
pub(crate) const RESPONSE_BYTES: u64 = 512 * 1024;

/// A served state and what building it took.
pub(crate) struct LargeState {
    pub(crate) server: SnapServer<dyn Database>,
    pub(crate) root: B256,
    pub(crate) accounts: u64,
    pub(crate) import_time: Duration,
    _dir: TempDir,
}

/// `count` random accounts: a quarter contracts with one of 64 codes, the rest plain; no storage
/// (account ranges do not read it).
fn accounts(count: u64) -> impl Iterator<Item = ImportAccount> {
    let mut rng = TestRng::new(0x5e4e);
    let codes: Vec<Bytes> = (0u8..64).map(|i| Bytes::from(vec![i; 100 + usize::from(i)])).collect();
    (0..count).map(move |_| {
        let hash = AccountHash(B256::from_slice(&rng.bytes(32)));
        let code = if rng.chance(1, 4) { rng.pick(&codes).cloned().unwrap() } else { Bytes::new() };
        ImportAccount {
            hash,
            nonce: rng.next_u64() % 65_536,
            balance: U256::from(rng.next_u64()),
            code,
            storage: Vec::new(),
        }
    })
}

/// Imports `count` random accounts into a redb database in a temporary directory and serves it.
pub(crate) fn build(count: u64) -> LargeState {
    let dir = tempfile::tempdir().unwrap();
    let options = RedbOptions { cache_size: 1 << 30, ..RedbOptions::default() };
    let db: Arc<dyn Database> =
        Arc::new(RedbDatabase::open(dir.path().join("state.redb"), options).unwrap());
    let started = Instant::now();
    let etl = CollectorConfig::new(128 << 20).with_temp_dir(dir.path());
    let report = import_state(&*db, accounts(count), &etl).unwrap();
    let import_time = started.elapsed();
    let server = SnapServer::new(ServerLimits::default());
    server.add_state(report.state_root, db).unwrap();
    LargeState {
        server,
        root: report.state_root,
        accounts: report.accounts,
        import_time,
        _dir: dir,
    }
}

impl LargeState {
    /// A request for [`RESPONSE_BYTES`] from a random origin.
    pub(crate) fn request(&self, rng: &mut TestRng) -> GetAccountRange {
        GetAccountRange {
            request_id: rng.next_u64(),
            root_hash: self.root,
            starting_hash: AccountHash(B256::from_slice(&rng.bytes(32))),
            limit_hash: AccountHash(B256::repeat_byte(0xff)),
            response_bytes: RESPONSE_BYTES,
        }
    }

    /// Serves one request; returns the reply and its encoded size.
    pub(crate) fn serve(&self, request: &GetAccountRange) -> (AccountRange, usize) {
        let reply = self.server.account_range(request);
        let size = alloy_rlp::Encodable::length(&reply);
        (reply, size)
    }
}
