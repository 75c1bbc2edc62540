//! The server's answers, request kind by request kind, checked against the stored state and with
//! `verify_range_proof`, on both backends where cheap.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_rlp::Encodable;
use snapsync_db::test_utils::{TestDb, memory_db as memory, redb_db as redb};
use snapsync_db::{
    Bodies, Database, HashedAccounts, HeaderNumbers, Headers, ImportAccount, MemoryDatabase,
    TableRead, import_state,
};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{
    AccountHash, AccountRange, CompactPath, EMPTY_ROOT_HASH, GetAccountRange, GetByteCodes,
    GetStorageRanges, GetTrieNodes, KECCAK_EMPTY, RawTrieNodePathSet, SlotHash, SnapMessage,
    StorageRanges, TrieAccount,
};
use snapsync_server::{
    AddStateError, BlockServer, BlockStart, HeadersQuery, ServeError, ServerLimits, SnapServer,
};
use snapsync_trie::{Nibbles, verify_range_proof};
use std::sync::Arc;

const MAX: B256 = B256::repeat_byte(0xff);

const BACKENDS: [fn() -> TestDb; 2] = [memory, redb];

fn hash(rng: &mut TestRng) -> B256 {
    B256::from_slice(&rng.bytes(32))
}

/// `count` random accounts; every `storage_every`-th has 1 to 60 slots (none if 0), every fourth
/// has one of three codes.
fn random_accounts(seed: u64, count: usize, storage_every: usize) -> Vec<ImportAccount> {
    let mut rng = TestRng::new(seed);
    let codes = [Bytes::from_static(&[0x60; 100]), Bytes::from_static(&[0x61; 7]), Bytes::new()];
    (0..count)
        .map(|i| {
            let storage = if storage_every != 0 && i % storage_every == 0 {
                let slots = rng.in_range(1..=60);
                (0..slots)
                    .map(|_| (SlotHash(hash(&mut rng)), U256::from(rng.next_u64() >> 8)))
                    .collect()
            } else {
                Vec::new()
            };
            ImportAccount {
                hash: AccountHash(hash(&mut rng)),
                nonce: rng.next_u64() % 1000,
                balance: U256::from(rng.next_u64()),
                code: if i % 4 == 0 { codes[i % 3].clone() } else { Bytes::new() },
                storage,
            }
        })
        .collect()
}

/// A server over one imported state; returns it with the state's root and database.
fn serve(
    test: &TestDb,
    accounts: Vec<ImportAccount>,
    limits: ServerLimits,
) -> (SnapServer<dyn Database>, B256) {
    let report = import_state(&*test.db, accounts, &CollectorConfig::new(1 << 20)).unwrap();
    let server = SnapServer::new(limits);
    server.add_state(report.state_root, Arc::clone(&test.db)).unwrap();
    (server, report.state_root)
}

/// The stored accounts in hash order.
fn stored_accounts(db: &dyn Database) -> Vec<(AccountHash, TrieAccount)> {
    db.view().unwrap().iter::<HashedAccounts>().unwrap().map(Result::unwrap).collect()
}

/// go-ethereum's cost of an account in a range reply.
fn account_cost(account: &TrieAccount) -> u64 {
    32 + account.to_slim().length() as u64
}

fn account_request(root: B256, origin: B256, limit: B256, bytes: u64) -> GetAccountRange {
    GetAccountRange {
        request_id: 7,
        root_hash: root,
        starting_hash: AccountHash(origin),
        limit_hash: AccountHash(limit),
        response_bytes: bytes,
    }
}

/// Checks the reply's proof against `root` and returns `has_more`.
fn verify_accounts(root: B256, origin: B256, reply: &AccountRange) -> bool {
    let keys: Vec<_> = reply.accounts.iter().map(|entry| entry.hash.0).collect();
    let values: Vec<_> =
        reply.accounts.iter().map(|entry| alloy_rlp::encode(entry.account.into_full())).collect();
    verify_range_proof(root, origin.as_slice(), &keys, &values, &reply.proof).unwrap()
}

#[test]
fn account_budget_includes_the_crossing_account_and_proofs_verify() {
    for open in BACKENDS {
        let test = open();
        let (server, root) = serve(&test, random_accounts(1, 300, 0), ServerLimits::default());
        let stored = stored_accounts(&*test.db);
        for budget in [0, 1, 500, 2000, 4000] {
            let reply = server.account_range(&account_request(root, B256::ZERO, MAX, budget));
            assert_eq!(reply.request_id, 7);
            let costs: Vec<u64> = stored.iter().map(|(_, a)| account_cost(a)).collect();
            let expected = (1..=costs.len())
                .find(|&n| costs[..n].iter().sum::<u64>() > budget)
                .unwrap_or(costs.len());
            assert_eq!(reply.accounts.len(), expected, "budget {budget}");
            assert!(costs[..expected - 1].iter().sum::<u64>() <= budget);
            for (entry, (hash, account)) in reply.accounts.iter().zip(&stored) {
                assert_eq!((entry.hash, entry.account.into_full()), (*hash, *account));
            }
            assert!(verify_accounts(root, B256::ZERO, &reply), "more accounts follow");
        }
        // The whole state in one reply: no more.
        let reply = server.account_range(&account_request(root, B256::ZERO, MAX, 1 << 20));
        assert_eq!(reply.accounts.len(), stored.len());
        assert!(!verify_accounts(root, B256::ZERO, &reply));
    }
}

#[test]
fn account_limit_is_included_and_origin_after_the_last_proves_absence() {
    for open in BACKENDS {
        let test = open();
        let (server, root) = serve(&test, random_accounts(2, 100, 0), ServerLimits::default());
        let stored = stored_accounts(&*test.db);
        let (origin, limit) = (stored[10].0.0, stored[20].0.0);
        let reply = server.account_range(&account_request(root, origin, limit, 1 << 20));
        assert_eq!(reply.accounts.len(), 11);
        assert_eq!(reply.accounts.last().unwrap().hash, stored[20].0);
        assert!(verify_accounts(root, origin, &reply));

        // A limit between two accounts: the next one is the last returned.
        let between = B256::from(U256::from_be_bytes(limit.0) + U256::from(1));
        let reply = server.account_range(&account_request(root, origin, between, 1 << 20));
        assert_eq!(reply.accounts.last().unwrap().hash, stored[21].0);

        // A limit before the origin still returns the first account at the origin.
        let reply = server.account_range(&account_request(root, origin, B256::ZERO, 1 << 20));
        assert_eq!(reply.accounts.len(), 1);

        // Nothing at or after the origin: no accounts, and a proof of that.
        let after = stored.last().unwrap().0.0;
        let after = B256::from(U256::from_be_bytes(after.0) + U256::from(1));
        let reply = server.account_range(&account_request(root, after, MAX, 4000));
        assert!(reply.accounts.is_empty() && !reply.proof.is_empty());
        assert!(!verify_accounts(root, after, &reply));
    }
}

#[test]
fn account_budget_is_capped_at_2_mib() {
    let test = memory();
    // About 50 bytes an account: 60,000 of them are well over 2 MiB.
    let (server, root) = serve(&test, random_accounts(3, 60_000, 0), ServerLimits::default());
    let reply = server.account_range(&account_request(root, B256::ZERO, MAX, u64::MAX));
    let costs: Vec<u64> =
        reply.accounts.iter().map(|e| account_cost(&e.account.into_full())).collect();
    let total: u64 = costs.iter().sum();
    assert!(total > 2 * 1024 * 1024, "{total}");
    assert!(total - costs.last().unwrap() <= 2 * 1024 * 1024);
    assert!(reply.accounts.len() < 60_000);
    assert!(verify_accounts(root, B256::ZERO, &reply));
}

/// Three accounts with storage of 40 slots each (and one without), in hash order.
fn storage_state(
    test: &TestDb,
) -> (SnapServer<dyn Database>, B256, Vec<(AccountHash, TrieAccount)>) {
    let mut rng = TestRng::new(4);
    let mut accounts: Vec<ImportAccount> = (0..3)
        .map(|_| ImportAccount {
            hash: AccountHash(hash(&mut rng)),
            storage: (0..40)
                .map(|_| (SlotHash(hash(&mut rng)), U256::from(rng.next_u64())))
                .collect(),
            ..ImportAccount::default()
        })
        .collect();
    accounts.push(ImportAccount { hash: AccountHash(hash(&mut rng)), ..Default::default() });
    let (server, root) = serve(test, accounts, ServerLimits::default());
    (server, root, stored_accounts(&*test.db))
}

fn storage_request(root: B256, accounts: &[AccountHash], bytes: u64) -> GetStorageRanges {
    GetStorageRanges {
        request_id: 9,
        root_hash: root,
        account_hashes: accounts.to_vec(),
        starting_hash: None,
        limit_hash: None,
        response_bytes: bytes,
    }
}

/// Verifies list `index` of `reply` against `account`'s storage root; returns `has_more`.
fn verify_slots(reply: &StorageRanges, index: usize, account: &TrieAccount, origin: B256) -> bool {
    let slots = &reply.slots[index];
    let keys: Vec<_> = slots.iter().map(|slot| slot.hash.0).collect();
    let values: Vec<_> = slots.iter().map(|slot| slot.data.to_vec()).collect();
    let proof = if index + 1 == reply.slots.len() { &reply.proof[..] } else { &[] };
    verify_range_proof(account.storage_root, origin.as_slice(), &keys, &values, proof).unwrap()
}

#[test]
fn storage_ranges_cut_mid_account_with_a_proof_only_at_the_end() {
    for open in BACKENDS {
        let test = open();
        let (server, root, stored) = storage_state(&test);
        let hashes: Vec<_> = stored.iter().map(|(hash, _)| *hash).collect();
        let with_storage: Vec<_> = stored.iter().filter(|(_, a)| a.has_storage()).collect();
        assert_eq!(with_storage.len(), 3);

        // Everything fits: one list per account, the empty one included, no proof.
        let reply = server.storage_ranges(&storage_request(root, &hashes, 1 << 20));
        assert_eq!(reply.request_id, 9);
        assert_eq!(reply.slots.len(), 4);
        assert!(reply.proof.is_empty());
        for (index, (_, account)) in stored.iter().enumerate() {
            assert!(!verify_slots(&reply, index, account, B256::ZERO));
        }

        // A budget that ends inside the second account with storage: complete lists before it,
        // a cut list with a proof, and nothing after.
        let accounts: Vec<_> = with_storage.iter().map(|(hash, _)| *hash).collect();
        let slot_cost = |reply: &StorageRanges| -> u64 {
            reply.slots.iter().flatten().map(|slot| 32 + slot.data.len() as u64).sum()
        };
        let first_cost = {
            let one = server.storage_ranges(&storage_request(root, &accounts[..1], 1 << 20));
            slot_cost(&one)
        };
        let budget = first_cost + 400;
        let reply = server.storage_ranges(&storage_request(root, &accounts, budget));
        assert_eq!(reply.slots.len(), 2);
        assert_eq!(reply.slots[0].len(), 40);
        assert!(reply.slots[1].len() < 40 && !reply.proof.is_empty());
        assert!(!verify_slots(&reply, 0, &with_storage[0].1, B256::ZERO));
        assert!(verify_slots(&reply, 1, &with_storage[1].1, B256::ZERO), "the cut range has more");
        // The slot crossing the hard limit (budget + 10%) is the last one.
        let total = slot_cost(&reply);
        let last = 32 + reply.slots[1].last().unwrap().data.len() as u64;
        assert!(total - last < budget + budget / 10 && total >= budget + budget / 10);

        // The budget exactly used up by the first account: no second account is started.
        let reply = server.storage_ranges(&storage_request(root, &accounts, first_cost));
        assert_eq!(reply.slots.len(), 1);
        assert!(reply.proof.is_empty());
    }
}

#[test]
fn storage_origin_and_limit_apply_to_the_first_account_and_force_a_proof() {
    let test = memory();
    let (server, root, stored) = storage_state(&test);
    let accounts: Vec<_> =
        stored.iter().filter(|(_, a)| a.has_storage()).map(|(hash, _)| *hash).collect();
    let all = server.storage_ranges(&storage_request(root, &accounts[..1], 1 << 20));
    let origin = all.slots[0][5].hash;
    let limit = all.slots[0][9].hash;
    let request = GetStorageRanges {
        starting_hash: Some(origin),
        limit_hash: Some(limit),
        ..storage_request(root, &accounts, 1 << 20)
    };
    let reply = server.storage_ranges(&request);
    assert_eq!(reply.slots.len(), 1, "a proof ends the reply");
    assert_eq!(reply.slots[0], all.slots[0][5..=9].to_vec());
    let account = stored.iter().find(|(hash, _)| *hash == accounts[0]).unwrap().1;
    assert!(verify_slots(&reply, 0, &account, origin.0));

    // A budget of 0 serves nothing (no account is started once the budget is reached).
    assert!(server.storage_ranges(&storage_request(root, &accounts, 0)).slots.is_empty());
}

#[test]
fn bytecodes_cap_empty_code_unknown_hashes_and_budget() {
    let test = memory();
    let (server, _) = serve(&test, random_accounts(5, 40, 0), ServerLimits::default());
    let big = keccak256([0x60; 100]);
    let small = keccak256([0x61; 7]);
    let request =
        |hashes: Vec<B256>, bytes| GetByteCodes { request_id: 3, hashes, response_bytes: bytes };

    let reply = server.byte_codes(&request(vec![KECCAK_EMPTY; 2000], 1 << 20));
    assert_eq!(reply.codes.len(), 1024);
    assert!(reply.codes.iter().all(|code| code.is_empty()));

    let reply = server.byte_codes(&request(vec![B256::ZERO, small, EMPTY_ROOT_HASH, big], 1 << 20));
    assert_eq!(reply.codes, vec![Bytes::from_static(&[0x61; 7]), Bytes::from_static(&[0x60; 100])]);

    // The code crossing the budget is the last: 100 + 100 + 100 > 250.
    assert_eq!(server.byte_codes(&request(vec![big; 10], 250)).codes.len(), 3);
    assert_eq!(server.byte_codes(&request(vec![big; 10], 0)).codes.len(), 1);
}

fn nodes_request(root: B256, sets: Vec<Vec<Vec<u8>>>) -> GetTrieNodes {
    let paths = sets
        .into_iter()
        .map(|set| RawTrieNodePathSet(set.into_iter().map(Bytes::from).collect()))
        .collect();
    GetTrieNodes { request_id: 5, root_hash: root, paths, response_bytes: 5000 }
}

fn compact(nibbles: &[u8]) -> Vec<u8> {
    CompactPath::extension(Nibbles::from_nibbles(nibbles)).encode()
}

#[test]
fn trie_nodes_serve_nodes_empty_blobs_and_refuse_empty_sets() {
    for open in BACKENDS {
        let test = open();
        let (server, root, stored) = storage_state(&test);
        let (storage_account, account) = *stored.iter().find(|(_, a)| a.has_storage()).unwrap();
        let first_nibble = storage_account.0[0] >> 4;

        let reply = server
            .trie_nodes(&nodes_request(
                root,
                vec![
                    vec![vec![0x00]],
                    // Into the account trie's root branch: the child at that nibble is a leaf
                    // (four accounts), and a path past it ends inside nothing.
                    vec![compact(&[first_nibble, 0, 0, 0, 0, 0])],
                    // Overlong.
                    vec![vec![0x00; 40]],
                    // An empty item is the root, as go-ethereum reads it.
                    vec![vec![]],
                    vec![storage_account.0.to_vec(), vec![0x00], compact(&[1, 2, 3, 4, 5, 6, 7])],
                    // An unknown account: nothing at all.
                    vec![vec![0xee; 32], vec![0x00]],
                ],
            ))
            .unwrap();
        let hashes: Vec<B256> = reply.nodes.iter().map(keccak256).collect();
        assert_eq!(
            hashes,
            vec![root, KECCAK_EMPTY, KECCAK_EMPTY, root, account.storage_root, KECCAK_EMPTY]
        );

        let refused = server.trie_nodes(&nodes_request(root, vec![vec![], vec![vec![0x00]]]));
        assert_eq!(refused, Err(ServeError::EmptyPathSet { request_id: 5, index: 0 }));
    }
}

#[test]
fn trie_nodes_skip_embedded_nodes_and_stop_at_the_lookup_cap() {
    // Two slots sharing 63 nibbles: their leaves are embedded in the branch at depth 63.
    let account = AccountHash(B256::repeat_byte(0x11));
    let mut low = [0x22u8; 32];
    low[31] = 0x20;
    let mut high = low;
    high[31] = 0x21;
    let state = vec![ImportAccount {
        hash: account,
        storage: vec![
            (SlotHash(B256::from(low)), U256::from(1)),
            (SlotHash(B256::from(high)), U256::from(2)),
        ],
        ..Default::default()
    }];
    let test = memory();
    let limits = ServerLimits { max_trie_node_lookups: 3, ..ServerLimits::default() };
    let (server, root) = serve(&test, state, limits);
    let mut path: Vec<u8> = Nibbles::unpack(low).to_vec();
    path.truncate(63);
    let embedded = compact(&path);
    let reply = server
        .trie_nodes(&nodes_request(
            root,
            vec![vec![account.0.to_vec(), vec![0x00], embedded, vec![0x00]], vec![vec![0x00]]],
        ))
        .unwrap();
    // The storage root (an extension over the branch), then nothing for the embedded leaf and the
    // rest of that set; the account root follows.
    assert_eq!(reply.nodes.len(), 2);
    assert_eq!(keccak256(&reply.nodes[1]), root);

    // Every path costs lookups: with a cap of 3, a long request closes early.
    let many = vec![vec![vec![0x00]]; 10];
    assert_eq!(server.trie_nodes(&nodes_request(root, many)).unwrap().nodes.len(), 4);
}

#[test]
fn unknown_roots_get_empty_responses() {
    let test = memory();
    let (server, root) = serve(&test, random_accounts(6, 20, 2), ServerLimits::default());
    let stored = stored_accounts(&*test.db);
    let storage_root = stored.iter().find(|(_, a)| a.has_storage()).unwrap().1.storage_root;
    for unknown in [B256::repeat_byte(0x13), storage_root, EMPTY_ROOT_HASH] {
        let reply = server.account_range(&account_request(unknown, B256::ZERO, MAX, 4000));
        assert!(reply.accounts.is_empty() && reply.proof.is_empty());
        let accounts: Vec<_> = stored.iter().map(|(hash, _)| *hash).collect();
        let reply = server.storage_ranges(&storage_request(unknown, &accounts, 4000));
        assert!(reply.slots.is_empty() && reply.proof.is_empty());
        let reply = server.trie_nodes(&nodes_request(unknown, vec![vec![vec![0x00]]])).unwrap();
        assert!(reply.nodes.is_empty());
    }
    assert!(server.has_state(root));
}

#[test]
fn the_oldest_state_is_evicted_after_128_and_roots_are_checked() {
    let server = SnapServer::default();
    let mut states = Vec::new();
    for i in 0..129u8 {
        let db: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
        let account = ImportAccount {
            hash: AccountHash(B256::repeat_byte(i)),
            nonce: 1,
            ..ImportAccount::default()
        };
        let report = import_state(&*db, [account], &CollectorConfig::new(1 << 16)).unwrap();
        server.add_state(report.state_root, Arc::clone(&db)).unwrap();
        states.push(report.state_root);
    }
    assert_eq!(server.roots(), states[1..].to_vec());
    assert!(!server.has_state(states[0]));
    let evicted = server.account_range(&account_request(states[0], B256::ZERO, MAX, 100));
    assert!(evicted.accounts.is_empty());
    let kept = server.account_range(&account_request(states[1], B256::ZERO, MAX, 100));
    assert_eq!(kept.accounts.len(), 1);
    // A removed state is forgotten at once; the others stay, in order.
    assert!(server.remove_state(states[1]) && !server.remove_state(states[1]));
    assert_eq!(server.roots(), states[2..].to_vec());
    let removed = server.account_range(&account_request(states[1], B256::ZERO, MAX, 100));
    assert!(removed.accounts.is_empty());

    let wrong = server.add_state(B256::repeat_byte(1), Arc::new(MemoryDatabase::new()));
    assert!(matches!(wrong, Err(AddStateError::RootMismatch { stored: None, .. })), "{wrong:?}");
    // An empty database is the empty state.
    server.add_state(EMPTY_ROOT_HASH, Arc::new(MemoryDatabase::new())).unwrap();
    assert_eq!(server.roots().len(), 128, "the removal made room");
    assert!(server.has_state(states[2]) && server.has_state(EMPTY_ROOT_HASH));
}

#[test]
fn handle_answers_requests_and_ignores_responses() {
    let test = memory();
    let (server, root) = serve(&test, random_accounts(7, 10, 0), ServerLimits::default());
    let request = SnapMessage::from(account_request(root, B256::ZERO, MAX, 4000));
    let Some(SnapMessage::AccountRange(reply)) = server.handle(&request).unwrap() else {
        panic!("not an account range")
    };
    assert_eq!(reply.accounts.len(), 10);
    assert_eq!(server.handle(&SnapMessage::AccountRange(reply)), Ok(None));
    let refused = SnapMessage::from(nodes_request(root, vec![vec![]]));
    assert!(server.handle(&refused).is_err());
}

#[test]
fn headers_and_bodies_walk_the_block_tables() {
    let db: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
    let header = |n: u64| Bytes::from(vec![0xc0 + u8::try_from(n).unwrap(); 10]);
    let mut txn = db.write().unwrap();
    for n in 0..10u64 {
        txn.put::<Headers>(&n, &header(n)).unwrap();
        txn.put::<HeaderNumbers>(&keccak256(header(n)), &n).unwrap();
        if n % 2 == 0 {
            txn.put::<Bodies>(&n, &Bytes::from(vec![u8::try_from(n).unwrap(); 3])).unwrap();
        }
    }
    txn.commit().unwrap();
    let server = BlockServer::new(db, ServerLimits::default());
    let query = |start, limit, skip, reverse| HeadersQuery { start, limit, skip, reverse };

    let rising = server.headers(&query(BlockStart::Number(2), 3, 0, false));
    assert_eq!(rising, vec![header(2), header(3), header(4)]);
    let falling = server.headers(&query(BlockStart::Hash(keccak256(header(9))), 4, 2, true));
    assert_eq!(falling, vec![header(9), header(6), header(3), header(0)]);
    assert_eq!(server.headers(&query(BlockStart::Number(8), 100, 0, false)).len(), 2);
    assert!(server.headers(&query(BlockStart::Hash(B256::ZERO), 5, 0, false)).is_empty());

    let bodies = server.bodies(&[keccak256(header(4)), B256::ZERO, keccak256(header(5))]);
    assert_eq!(bodies, vec![Bytes::from(vec![4u8; 3])]);
}
