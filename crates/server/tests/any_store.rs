//! The server over the storage seam: the same state in snapsync-db (`MemoryDatabase`) and in
//! `MapStore` (plain ordered maps, sharing no code with snapsync-db) gets the same replies, byte
//! for byte, for random requests of every kind over generated states (a property over seeds).

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, keccak256};
use snapsync_db::MemoryDatabase;
use snapsync_etl::CollectorConfig;
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{
    AccountHash, CompactPath, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    KECCAK_EMPTY, RawTrieNodePathSet, SlotHash,
};
use snapsync_server::{BlockServer, BlockStart, HeadersQuery, ServerLimits, SnapServer};
use snapsync_sim::{GeneratedState, StateSpec};
use snapsync_storage::test_utils::MapStore;
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use snapsync_trie::Nibbles;
use std::sync::Arc;

/// Requests of each kind per generated state.
const REQUESTS: usize = 40;

/// Copies every account, slot, code and trie node of `from` into the empty `to`, through the
/// seam's sorted appends.
fn copy_state(from: &impl StateRead, to: &impl StateStore) {
    let mut txn = to.writer().unwrap();
    txn.append_accounts(&mut from.accounts(KeyRange::all()).unwrap()).unwrap();
    txn.append_slots(&mut from.all_slots(KeyRange::all()).unwrap()).unwrap();
    txn.append_codes(&mut from.codes(KeyRange::all()).unwrap()).unwrap();
    txn.append_account_nodes(&mut from.account_nodes(KeyRange::all()).unwrap()).unwrap();
    txn.append_storage_nodes(&mut from.all_storage_nodes(KeyRange::all()).unwrap()).unwrap();
    txn.commit().unwrap();
}

/// One generated state served from both stores.
struct Twins {
    db: SnapServer<MemoryDatabase>,
    map: SnapServer<MapStore>,
    root: B256,
    accounts: Vec<AccountHash>,
    storage_accounts: Vec<AccountHash>,
    codes: Vec<B256>,
    node_paths: Vec<Nibbles>,
}

impl Twins {
    fn generate(seed: u64) -> Self {
        let spec = StateSpec::small().with_accounts(150 + usize::try_from(seed % 5).unwrap() * 60);
        let state = GeneratedState::generate(seed, &spec);
        let db = Arc::new(MemoryDatabase::new());
        let report = state.import_into(&*db, &CollectorConfig::new(1 << 20)).unwrap();
        let map = Arc::new(MapStore::new());
        copy_state(&db.reader().unwrap(), &*map);
        let view = map.reader().unwrap();
        let accounts: Vec<(AccountHash, _)> =
            view.accounts(KeyRange::all()).unwrap().map(Result::unwrap).collect();
        let codes = view.codes(KeyRange::all()).unwrap().map(|e| e.unwrap().0).collect();
        let node_paths = view.account_nodes(KeyRange::all()).unwrap().map(|e| e.unwrap().0);
        let (db_server, map_server) = (SnapServer::default(), SnapServer::default());
        db_server.add_state(report.state_root, db).unwrap();
        map_server.add_state(report.state_root, map).unwrap();
        Self {
            db: db_server,
            map: map_server,
            root: report.state_root,
            storage_accounts: accounts
                .iter()
                .filter(|(_, account)| account.has_storage())
                .map(|(hash, _)| *hash)
                .collect(),
            accounts: accounts.into_iter().map(|(hash, _)| hash).collect(),
            codes,
            node_paths: node_paths.collect(),
        }
    }

    /// A hash that is a stored account's (or a random one).
    fn account(&self, rng: &mut TestRng) -> AccountHash {
        match rng.pick(&self.accounts) {
            Some(hash) if rng.chance(3, 4) => *hash,
            _ => AccountHash(random_hash(rng)),
        }
    }
}

fn random_hash(rng: &mut TestRng) -> B256 {
    B256::from_slice(&rng.bytes(32))
}

/// A byte budget: often tiny (a cut reply), sometimes 0, sometimes far above the cap.
fn budget(rng: &mut TestRng) -> u64 {
    match rng.below(4) {
        0 => 0,
        1 => u64::try_from(rng.in_range(1..=600)).unwrap(),
        2 => u64::try_from(rng.in_range(600..=20_000)).unwrap(),
        _ => 64 << 20,
    }
}

fn account_request(twins: &Twins, rng: &mut TestRng) -> GetAccountRange {
    let origin = twins.account(rng);
    let limit =
        if rng.chance(1, 2) { AccountHash(B256::repeat_byte(0xff)) } else { twins.account(rng) };
    GetAccountRange {
        request_id: rng.next_u64(),
        root_hash: twins.root,
        starting_hash: origin,
        limit_hash: limit,
        response_bytes: budget(rng),
    }
}

fn storage_request(twins: &Twins, rng: &mut TestRng) -> GetStorageRanges {
    let count = rng.in_range(1..=8);
    let account_hashes = (0..count)
        .map(|_| match rng.pick(&twins.storage_accounts) {
            Some(hash) if rng.chance(4, 5) => *hash,
            _ => twins.account(rng),
        })
        .collect();
    let slot = |rng: &mut TestRng| rng.chance(1, 2).then(|| SlotHash(random_hash(rng)));
    GetStorageRanges {
        request_id: rng.next_u64(),
        root_hash: twins.root,
        account_hashes,
        starting_hash: slot(rng),
        limit_hash: slot(rng),
        response_bytes: budget(rng),
    }
}

fn codes_request(twins: &Twins, rng: &mut TestRng) -> GetByteCodes {
    let hashes = (0..rng.in_range(0..=12))
        .map(|_| match rng.below(3) {
            0 => KECCAK_EMPTY,
            1 => random_hash(rng),
            _ => rng.pick(&twins.codes).copied().unwrap_or(KECCAK_EMPTY),
        })
        .collect();
    GetByteCodes { request_id: rng.next_u64(), hashes, response_bytes: budget(rng) }
}

/// Account paths of stored nodes (and their prefixes, extensions and random bytes), and storage
/// sets of stored accounts with random short paths.
fn nodes_request(twins: &Twins, rng: &mut TestRng) -> GetTrieNodes {
    let path = |rng: &mut TestRng| -> Bytes {
        let Some(stored) = rng.pick(&twins.node_paths).copied() else { return Bytes::new() };
        match rng.below(4) {
            0 => Bytes::from(rng.bytes_in(0..=4)),
            1 => {
                let mut longer = stored;
                longer.push(u8::try_from(rng.below(16)).unwrap());
                CompactPath::extension(longer).encode().into()
            }
            _ => CompactPath::extension(stored).encode().into(),
        }
    };
    let paths = (0..rng.in_range(1..=6))
        .map(|_| {
            let set = if rng.chance(1, 3) {
                let account = match rng.pick(&twins.storage_accounts) {
                    Some(hash) => hash.0,
                    None => random_hash(rng),
                };
                let mut items = vec![Bytes::copy_from_slice(account.as_slice())];
                items.extend((0..rng.in_range(1..=3)).map(|_| path(rng)));
                items
            } else {
                vec![path(rng)]
            };
            RawTrieNodePathSet(set)
        })
        .collect();
    GetTrieNodes {
        request_id: rng.next_u64(),
        root_hash: twins.root,
        paths,
        response_bytes: budget(rng),
    }
}

#[test]
fn a_map_store_serves_the_same_replies_as_snapsync_db() {
    for seed in 0..6u64 {
        let twins = Twins::generate(seed);
        let mut rng = TestRng::new(seed ^ 0x5e4e);
        let mut nonempty = [0usize; 4];
        for _ in 0..REQUESTS {
            let request = account_request(&twins, &mut rng);
            let reply = twins.db.account_range(&request);
            nonempty[0] += usize::from(!reply.accounts.is_empty());
            assert_eq!(twins.map.account_range(&request), reply, "seed {seed}: {request:?}");

            let request = storage_request(&twins, &mut rng);
            let reply = twins.db.storage_ranges(&request);
            nonempty[1] += usize::from(reply.slots.iter().any(|slots| !slots.is_empty()));
            assert_eq!(twins.map.storage_ranges(&request), reply, "seed {seed}: {request:?}");

            let request = codes_request(&twins, &mut rng);
            let reply = twins.db.byte_codes(&request);
            nonempty[2] += usize::from(reply.codes.iter().any(|code| !code.is_empty()));
            assert_eq!(twins.map.byte_codes(&request), reply, "seed {seed}: {request:?}");

            let request = nodes_request(&twins, &mut rng);
            let reply = twins.db.trie_nodes(&request).unwrap();
            nonempty[3] += usize::from(reply.nodes.iter().any(|node| !node.is_empty()));
            assert_eq!(twins.map.trie_nodes(&request).unwrap(), reply, "seed {seed}: {request:?}");
        }
        // The requests reached real data, not only empty replies.
        assert!(nonempty.iter().all(|&n| n > REQUESTS / 4), "seed {seed}: {nonempty:?}");
    }
}

#[test]
fn a_state_not_stored_in_the_store_is_refused_whatever_the_store() {
    let map = Arc::new(MapStore::new());
    let server = SnapServer::<MapStore>::new(ServerLimits::default());
    assert!(server.add_state(B256::repeat_byte(3), Arc::clone(&map)).is_err());
    server.add_state(snapsync_primitives::EMPTY_ROOT_HASH, map).unwrap();
}

fn header(n: u64) -> Bytes {
    Bytes::from(vec![0xc0 + u8::try_from(n).unwrap(); 10])
}

/// Ten headers and every other body, written through the seam.
fn fill_blocks<S: StateStore + ?Sized>(store: &S) {
    let mut txn = store.writer().unwrap();
    for n in 0..10u64 {
        txn.put_header(n, &keccak256(header(n)), &header(n)).unwrap();
        if n % 2 == 0 {
            txn.put_body(n, &Bytes::from(vec![u8::try_from(n).unwrap(); 3])).unwrap();
        }
    }
    txn.commit().unwrap();
}

#[test]
fn blocks_are_served_alike_from_both_stores() {
    let (db, map) = (Arc::new(MemoryDatabase::new()), Arc::new(MapStore::new()));
    fill_blocks(&*db);
    fill_blocks(&*map);
    let db = BlockServer::new(db, ServerLimits::default());
    let map = BlockServer::new(map, ServerLimits::default());
    let mut rng = TestRng::new(9);
    let block = |rng: &mut TestRng| u64::try_from(rng.below(14)).unwrap();
    let mut served = 0;
    for _ in 0..200 {
        let start = if rng.chance(1, 2) {
            BlockStart::Number(block(&mut rng))
        } else {
            BlockStart::Hash(keccak256(header(block(&mut rng))))
        };
        let query = HeadersQuery {
            start,
            limit: u64::try_from(rng.below(12)).unwrap(),
            skip: u64::try_from(rng.below(3)).unwrap(),
            reverse: rng.chance(1, 2),
        };
        let headers = db.headers(&query);
        served += headers.len();
        assert_eq!(map.headers(&query), headers, "{query:?}");
        let hashes: Vec<B256> =
            (0..rng.below(6)).map(|_| keccak256(header(block(&mut rng)))).collect();
        assert_eq!(map.bodies(&hashes), db.bodies(&hashes), "{hashes:?}");
    }
    assert!(served > 200, "the queries reached stored headers: {served}");
}
