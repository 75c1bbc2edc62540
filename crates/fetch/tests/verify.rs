//! Every reply kind: honest replies verify; each kind of bad data is refused with its reason.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use alloy_primitives::{B256, Bytes, U256, keccak256};
use snapsync_fetch::*;
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{
    AccountEntry, AccountHash, AccountRange, ByteCodes, SlimAccount, SlotHash, StorageRanges,
    StorageSlot, TrieAccount, TrieNodes,
};
use snapsync_trie::{Nibbles, RangeProofError, TrieBuilder, VecSink, prove_range, trie_root};

fn random_hash(rng: &mut TestRng) -> B256 {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    B256::from(bytes)
}

/// A sorted account state and its root.
fn accounts(seed: u64, count: usize) -> (B256, Vec<(AccountHash, TrieAccount)>) {
    let mut rng = TestRng::new(seed);
    let mut accounts: Vec<(AccountHash, TrieAccount)> = (0..count)
        .map(|_| {
            let account = TrieAccount {
                nonce: rng.next_u64() % 100,
                balance: U256::from(rng.next_u64()),
                ..TrieAccount::EMPTY
            };
            (AccountHash::from(random_hash(&mut rng)), account)
        })
        .collect();
    accounts.sort_by_key(|(hash, _)| *hash);
    let root = trie_root(accounts.iter().map(|(h, a)| (*h, alloy_rlp::encode(a)))).unwrap();
    (root, accounts)
}

/// What an honest server answers for `accounts[start..end]` asked from `origin`.
fn honest_account_reply(
    all: &[(AccountHash, TrieAccount)],
    origin: AccountHash,
    start: usize,
    end: usize,
) -> AccountRange {
    let leaves = all.iter().map(|(h, a)| (*h, alloy_rlp::encode(a)));
    let last = all[end - 1].0;
    let proof = prove_range(leaves, origin.as_ref(), Some(last.as_ref())).unwrap();
    let accounts = all[start..end]
        .iter()
        .map(|(hash, account)| AccountEntry { hash: *hash, account: SlimAccount::from(*account) })
        .collect();
    AccountRange { request_id: 1, accounts, proof }
}

fn account_request(root: B256, origin: AccountHash) -> AccountRangeRequest {
    AccountRangeRequest { root, origin, limit: AccountHash::MAX, response_bytes: 512 * 1024 }
}

#[test]
fn honest_account_ranges_verify_with_has_more() {
    let (root, all) = accounts(1, 500);
    for (start, end) in [(0, 500), (0, 1), (100, 250), (499, 500)] {
        let origin = all[start].0;
        let reply = honest_account_reply(&all, origin, start, end);
        let verified = verify_account_range(&account_request(root, origin), reply)
            .unwrap()
            .verified()
            .unwrap();
        assert_eq!(verified.accounts().to_vec(), all[start..end]);
        assert_eq!(verified.has_more(), end < all.len());
    }
}

#[test]
fn an_empty_account_reply_means_unavailable() {
    let (root, _) = accounts(2, 10);
    let empty = AccountRange { request_id: 1, accounts: vec![], proof: vec![] };
    assert_eq!(
        verify_account_range(&account_request(root, AccountHash::ZERO), empty),
        Ok(Answer::Unavailable)
    );
}

#[test]
fn bad_account_ranges_are_refused() {
    let (root, all) = accounts(3, 300);
    let origin = all[10].0;
    let request = account_request(root, origin);
    let honest = honest_account_reply(&all, origin, 10, 60);

    let mut altered = honest.clone();
    altered.accounts[5].account.balance += U256::from(1);
    assert!(matches!(verify_account_range(&request, altered), Err(InvalidResponse::RangeProof(_))));

    let mut gap = honest.clone();
    gap.accounts.remove(20);
    assert!(matches!(verify_account_range(&request, gap), Err(InvalidResponse::RangeProof(_))));

    let mut no_proof_node = honest.clone();
    no_proof_node.proof.pop();
    assert!(verify_account_range(&request, no_proof_node).is_err());

    let mut before_origin = honest_account_reply(&all, all[9].0, 9, 60);
    before_origin.request_id = 2;
    assert!(matches!(
        verify_account_range(&request, before_origin),
        Err(InvalidResponse::RangeProof(RangeProofError::InvalidEdgeKeys { .. }))
    ));

    let small = AccountRangeRequest { response_bytes: 100, ..request };
    assert!(matches!(
        verify_account_range(&small, honest),
        Err(InvalidResponse::Oversized { budget: 100, .. })
    ));
}

/// A storage trie: sorted slots, the slot data as sent, and its root.
struct Storage {
    root: B256,
    slots: Vec<StorageSlot>,
}

fn storage(seed: u64, count: usize) -> Storage {
    let mut rng = TestRng::new(seed);
    let mut slots: Vec<StorageSlot> = (0..count)
        .map(|_| {
            let value = U256::from(rng.next_u64() | 1);
            StorageSlot::from_value(SlotHash::from(random_hash(&mut rng)), value)
        })
        .collect();
    slots.sort_by_key(|slot| slot.hash);
    let root = trie_root(slots.iter().map(|s| (s.hash, s.data.clone()))).unwrap();
    Storage { root, slots }
}

fn target(account: u8, storage: &Storage) -> StorageTarget {
    StorageTarget {
        account: AccountHash::from(B256::repeat_byte(account)),
        storage_root: storage.root,
    }
}

#[test]
fn storage_sets_verify_each_against_its_own_root() {
    let (small, big) = (storage(10, 5), storage(11, 400));
    let request = StorageRangesRequest {
        root: B256::ZERO,
        accounts: vec![target(1, &small), target(2, &big)],
        origin: SlotHash::ZERO,
        limit: SlotHash::MAX,
        response_bytes: 1 << 20,
    };
    // The small contract whole without a proof, the big one cut after 100 slots with a proof.
    let leaves = big.slots.iter().map(|s| (s.hash, s.data.clone()));
    let proof = prove_range(leaves, &[0u8; 32], Some(big.slots[99].hash.as_ref())).unwrap();
    let reply = StorageRanges {
        request_id: 1,
        slots: vec![small.slots.clone(), big.slots[..100].to_vec()],
        proof: proof.clone(),
    };
    let verified = verify_storage_ranges(&request, reply).unwrap().verified().unwrap();
    assert_eq!(verified.sets().len(), 2);
    assert!(!verified.sets()[0].has_more());
    assert_eq!(verified.sets()[0].slots().len(), 5);
    assert!(verified.sets()[1].has_more());
    assert_eq!(verified.sets()[1].slots()[0].1, big.slots[0].value().unwrap());

    // The storage of another account under this one's root.
    let swapped = StorageRanges {
        request_id: 1,
        slots: vec![big.slots[..100].to_vec(), small.slots.clone()],
        proof: proof.clone(),
    };
    assert!(matches!(
        verify_storage_ranges(&request, swapped),
        Err(InvalidResponse::StorageProof { index: 0, .. })
    ));

    // A proof may only end the reply: an incomplete first set is refused.
    let cut_first = StorageRanges {
        request_id: 1,
        slots: vec![small.slots[..3].to_vec(), big.slots[..100].to_vec()],
        proof,
    };
    assert!(matches!(
        verify_storage_ranges(&request, cut_first),
        Err(InvalidResponse::StorageProof { index: 0, .. })
    ));

    // More sets than accounts asked.
    let extra =
        StorageRanges { request_id: 1, slots: vec![small.slots, vec![], vec![]], proof: vec![] };
    assert!(matches!(
        verify_storage_ranges(&request, extra),
        Err(InvalidResponse::TooManyItems { got: 3, requested: 2, .. })
    ));

    let empty = StorageRanges { request_id: 1, slots: vec![], proof: vec![] };
    assert_eq!(verify_storage_ranges(&request, empty), Ok(Answer::Unavailable));
}

#[test]
fn a_proven_zero_slot_value_is_refused() {
    // A hostile peer can build a trie holding a zero value and hand out its root as a storage
    // root only if the account says so; the value check still refuses it.
    let slots = vec![StorageSlot {
        hash: SlotHash::from(B256::repeat_byte(1)),
        data: Bytes::from_static(&[0x80]),
    }];
    let root = trie_root(slots.iter().map(|s| (s.hash, s.data.clone()))).unwrap();
    let request = StorageRangesRequest {
        root: B256::ZERO,
        accounts: vec![StorageTarget { account: AccountHash::ZERO, storage_root: root }],
        origin: SlotHash::ZERO,
        limit: SlotHash::MAX,
        response_bytes: 1000,
    };
    let reply = StorageRanges { request_id: 1, slots: vec![slots], proof: vec![] };
    assert!(matches!(
        verify_storage_ranges(&request, reply),
        Err(InvalidResponse::InvalidSlotValue { .. })
    ));
}

#[test]
fn bytecodes_are_matched_in_request_order() {
    let codes: Vec<Bytes> = (0u8..4).map(|i| Bytes::from(vec![0x60, i, 0x00])).collect();
    let hashes: Vec<B256> = codes.iter().map(keccak256).collect();
    let request = ByteCodesRequest { hashes: hashes.clone(), response_bytes: 1000 };

    // The server lacks the second code: it skips it.
    let served = ByteCodes {
        request_id: 1,
        codes: vec![codes[0].clone(), codes[2].clone(), codes[3].clone()],
    };
    let verified = verify_byte_codes(&request, served).unwrap().verified().unwrap();
    let got: Vec<B256> = verified.codes().iter().map(|(hash, _)| *hash).collect();
    assert_eq!(got, [hashes[0], hashes[2], hashes[3]]);

    let garbage =
        ByteCodes { request_id: 1, codes: vec![codes[0].clone(), Bytes::from_static(b"junk")] };
    assert!(matches!(
        verify_byte_codes(&request, garbage),
        Err(InvalidResponse::UnrequestedCode { index: 1, .. })
    ));
    let reordered = ByteCodes { request_id: 1, codes: vec![codes[1].clone(), codes[0].clone()] };
    assert!(matches!(
        verify_byte_codes(&request, reordered),
        Err(InvalidResponse::UnrequestedCode { index: 1, .. })
    ));
    let too_many = ByteCodes { request_id: 1, codes: vec![codes[0].clone(); 5] };
    assert!(matches!(
        verify_byte_codes(&request, too_many),
        Err(InvalidResponse::TooManyItems { .. })
    ));
    assert_eq!(
        verify_byte_codes(&request, ByteCodes { request_id: 1, codes: vec![] }),
        Ok(Answer::Unavailable)
    );
}

#[test]
fn trie_nodes_are_checked_against_expected_hashes() {
    let (_, all) = accounts(4, 200);
    let mut builder = TrieBuilder::new(VecSink::default());
    for (hash, account) in &all {
        builder.add_leaf(hash.as_ref(), &alloy_rlp::encode(account)).unwrap();
    }
    let (root, sink) = builder.finish().unwrap();
    let picked: Vec<(Nibbles, Bytes)> = sink.nodes.iter().rev().take(5).cloned().collect();
    let targets: Vec<NodeTarget> = picked
        .iter()
        .map(|(path, node)| NodeTarget { account: None, path: *path, hash: keccak256(node) })
        .collect();
    let request = TrieNodesRequest { root, targets, response_bytes: 1 << 20 };

    let mut nodes: Vec<Bytes> = picked.iter().map(|(_, node)| node.clone()).collect();
    nodes[2] = Bytes::new(); // not served
    let verified =
        verify_trie_nodes(&request, TrieNodes { request_id: 1, nodes: nodes.clone() }).unwrap();
    let verified = verified.verified().unwrap();
    assert_eq!(verified.nodes().len(), 4);
    assert!(verified.nodes().iter().all(|(target, node)| keccak256(node) == target.hash));

    nodes.swap(0, 1);
    assert!(matches!(
        verify_trie_nodes(&request, TrieNodes { request_id: 1, nodes }),
        Err(InvalidResponse::WrongNode { index: 0, .. })
    ));
    // Nothing but empty blobs: the peer lacks the state, as with an empty reply.
    let blank = TrieNodes { request_id: 1, nodes: vec![Bytes::new(); 3] };
    assert_eq!(verify_trie_nodes(&request, blank), Ok(Answer::Unavailable));
    let too_many = TrieNodes { request_id: 1, nodes: vec![picked[0].1.clone(); 6] };
    assert!(matches!(
        verify_trie_nodes(&request, too_many),
        Err(InvalidResponse::TooManyItems { .. })
    ));
}

#[test]
fn trie_node_requests_keep_target_order_in_path_sets() {
    let account = |byte| Some(AccountHash::from(B256::repeat_byte(byte)));
    let node = |account, nibbles: &[u8]| NodeTarget {
        account,
        path: Nibbles::from_nibbles(nibbles),
        hash: B256::ZERO,
    };
    let request = TrieNodesRequest {
        root: B256::ZERO,
        targets: vec![
            node(None, &[1]),
            node(account(7), &[2]),
            node(account(7), &[3, 4]),
            node(None, &[]),
            node(account(7), &[5]),
        ],
        response_bytes: 1000,
    };
    let message = request.to_message(9).unwrap();
    let sizes: Vec<usize> = message.paths.iter().map(|set| set.0.len()).collect();
    assert_eq!(sizes, [1, 3, 1, 2]);
    let typed: Vec<usize> =
        message.paths.iter().map(|set| set.to_typed().unwrap().node_count()).collect();
    assert_eq!(typed.iter().sum::<usize>(), request.targets.len());
}
