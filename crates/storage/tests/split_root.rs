//! The state root in sixteen parts on several threads (`compute_state_root_split`) against the
//! single pass (`compute_state_root_visiting`), on random states: empty, one account, all under
//! one nibble, a nibble with one account, slots without an account, storage roots that disagree;
//! with any set of parts walked beforehand (`walk_state_part`), also over an older snapshot.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used)]

use alloy_primitives::{B256, U256};
use proptest::{collection::vec, prelude::*};
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{
    AccountVisitor, StatePartId, StateStore, StateWrite, StoreError, compute_state_root_split,
    compute_state_root_split_with, compute_state_root_visiting, test_utils::MapStore,
    walk_state_part,
};
use std::num::NonZeroUsize;

/// Collects the accounts it is handed.
#[derive(Default)]
struct Seen(Vec<AccountHash>);

impl AccountVisitor for Seen {
    fn visit(&mut self, hash: AccountHash, _: &TrieAccount) -> Result<(), StoreError> {
        self.0.push(hash);
        Ok(())
    }
}

/// An account hash: `first` picks the first byte (so states crowd under few nibbles), `rest`
/// the others.
fn hash(first: u8, rest: u64) -> B256 {
    let mut hash = B256::from(U256::from(rest).wrapping_mul(U256::from(0x9e37_79b9_7f4a_7c15_u64)));
    hash[0] = first;
    hash
}

/// A stored state: accounts `(first byte, rest, slots, storage root right)`, and orphan slots.
fn store(accounts: &[(u8, u64, u8, bool)], orphans: &[(u8, u64)]) -> MapStore {
    let store = MapStore::new();
    let mut txn = store.writer().unwrap();
    for &(first, rest, slots, right) in accounts {
        let account_hash = AccountHash::new(hash(first, rest));
        let slots: Vec<_> = (1..=u64::from(slots))
            .map(|slot| (SlotHash::new(hash(0, slot)), U256::from(slot)))
            .collect();
        for (slot, value) in &slots {
            txn.put_slot(&account_hash, slot, *value).unwrap();
        }
        let storage_root = if right {
            snapsync_trie::trie_root(
                slots
                    .iter()
                    .map(|(slot, value)| (slot.as_ref().to_vec(), alloy_rlp::encode(value))),
            )
            .unwrap()
        } else {
            B256::repeat_byte(7)
        };
        let account = TrieAccount { nonce: rest, storage_root, ..TrieAccount::default() };
        txn.put_account(&account_hash, &account).unwrap();
    }
    for &(first, rest) in orphans {
        let owner = AccountHash::new(hash(first, rest ^ 0xdead));
        txn.put_slot(&owner, &SlotHash::new(hash(0, 1)), U256::from(9)).unwrap();
    }
    txn.commit().unwrap();
    store
}

fn agree(store: &MapStore, threads: usize) {
    agree_with_walked(store, threads, 0);
}

/// The split root over `store` agrees with the single pass, with the parts in `walked` (a bit
/// per nibble) walked on their own first, in reverse order.
fn agree_with_walked(store: &MapStore, threads: usize, walked: u16) {
    let view = store.reader().unwrap();
    let mut sequential = Seen::default();
    let single =
        compute_state_root_visiting(&view, |hash, account| sequential.visit(hash, account))
            .unwrap();
    let threads = NonZeroUsize::new(threads).unwrap();
    let (split, visitors) = if walked == 0 {
        compute_state_root_split(&view, threads, Seen::default).unwrap()
    } else {
        let parts = StatePartId::all()
            .rev()
            .filter(|id| walked & (1 << id.nibble()) != 0)
            .map(|id| walk_state_part(&view, id, Seen::default()).unwrap())
            .collect();
        compute_state_root_split_with(&view, threads, parts, Seen::default).unwrap()
    };
    assert_eq!(split, single);
    assert_eq!(visitors.len(), 16);
    let seen: Vec<_> = visitors.into_iter().flat_map(|seen| seen.0).collect();
    assert_eq!(seen, sequential.0, "every account visited once, by its part, in hash order");
}

#[test]
fn a_part_walked_over_an_older_snapshot_counts_while_it_is_unchanged() {
    let store = store(&[(0x30, 1, 2, true), (0x31, 2, 0, true), (0x90, 3, 1, true)], &[]);
    let old = store.reader().unwrap();
    let part = StatePartId::new(3).unwrap();
    let walked = walk_state_part(&old, part, Seen::default()).unwrap();
    assert_eq!((walked.accounts(), walked.storage_slots()), (2, 2));
    // Other parts change after the snapshot; part 3 does not.
    let mut txn = store.writer().unwrap();
    for (first, rest) in [(0x05, 4), (0x95, 5), (0xf0, 6)] {
        let account = TrieAccount { nonce: rest, ..TrieAccount::default() };
        txn.put_account(&AccountHash::new(hash(first, rest)), &account).unwrap();
    }
    txn.commit().unwrap();
    let view = store.reader().unwrap();
    let whole = compute_state_root_visiting(&view, |_, _| Ok(())).unwrap();
    let threads = NonZeroUsize::new(2).unwrap();
    let (split, _) =
        compute_state_root_split_with(&view, threads, vec![walked], Seen::default).unwrap();
    assert_eq!(split, whole);
    assert_eq!(split.accounts, 6);
}

#[test]
fn part_ids_cover_the_hash_space_in_order() {
    assert_eq!(StatePartId::all().count(), 16);
    assert_eq!(StatePartId::new(16), None);
    let mut previous_last: Option<B256> = None;
    for id in StatePartId::all() {
        let (first, last) = (*id.first_hash().as_b256(), *id.last_hash().as_b256());
        assert!(id.contains(&id.first_hash()) && id.contains(&id.last_hash()));
        assert_eq!(first[0] >> 4, id.nibble());
        if let Some(previous) = previous_last {
            assert_eq!(
                U256::from_be_bytes(previous.0) + U256::from(1),
                U256::from_be_bytes(first.0)
            );
            assert!(!id.contains(&AccountHash::new(previous)));
        }
        previous_last = Some(last);
    }
    assert_eq!(previous_last, Some(B256::repeat_byte(0xff)));
}

#[test]
fn small_shapes_make_the_single_pass_root() {
    let shapes: [&[(u8, u64, u8, bool)]; 5] = [
        &[],
        &[(0x30, 1, 0, true)],
        &[(0x30, 1, 2, true), (0x3f, 2, 0, true)],
        &[(0x30, 1, 0, true), (0x30, 2, 0, true), (0xa1, 3, 3, true)],
        &[(0x00, 1, 1, true), (0xff, 2, 0, false), (0x12, 3, 0, true), (0x13, 4, 2, true)],
    ];
    for accounts in shapes {
        for threads in [1, 2, 5] {
            agree(&store(accounts, &[]), threads);
        }
    }
    // Slots without an account, in a part of their own and beside accounts.
    agree(&store(&[(0x30, 1, 1, true)], &[(0x30, 5), (0x70, 6)]), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_states_make_the_single_pass_root(
        accounts in vec((prop_oneof![Just(0x40u8), any::<u8>()], any::<u64>(), 0u8..4, prop::bool::weighted(0.9)), 0..60),
        orphans in vec((any::<u8>(), any::<u64>()), 0..3),
        threads in 1usize..4,
        walked in prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
    ) {
        agree_with_walked(&store(&accounts, &orphans), threads, walked);
    }
}
