//! proptest strategies for snap/1 values: hashes, integers and accounts with their edge values,
//! trie node path sets (valid and raw), and every one of the eight messages.

use crate::{
    AccountEntry, AccountHash, AccountRange, ByteCodes, EMPTY_ROOT_HASH, GetAccountRange,
    GetByteCodes, GetStorageRanges, GetTrieNodes, KECCAK_EMPTY, RawTrieNodePathSet, SlotHash,
    SnapMessage, StorageRanges, StorageSlot, TrieAccount, TrieNodePathSet, TrieNodes,
};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use proptest::{collection::vec, prelude::*};

/// A 32-byte hash: random, all zeros or all `0xff`.
pub fn any_b256() -> impl Strategy<Value = B256> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(B256::from),
        Just(B256::ZERO),
        Just(B256::repeat_byte(0xff)),
    ]
}

/// A 256-bit integer: small, random, zero or the maximum.
pub fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        Just(U256::ZERO),
        Just(U256::MAX),
    ]
}

/// A 64-bit integer: random, one byte, or the maximum.
pub fn any_u64() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0..256u64, Just(u64::MAX)]
}

/// A hash that is often the given "empty" value.
pub fn hash_or(empty: B256) -> impl Strategy<Value = B256> {
    prop_oneof![Just(empty), any_b256()]
}

/// Random bytes, shorter than `max_len`.
pub fn any_bytes(max_len: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max_len).prop_map(Bytes::from)
}

/// An account whose hashes are often the empty storage root and empty code hash.
pub fn any_trie_account() -> impl Strategy<Value = TrieAccount> {
    (any_u64(), any_u256(), hash_or(EMPTY_ROOT_HASH), hash_or(KECCAK_EMPTY)).prop_map(
        |(nonce, balance, storage_root, code_hash)| TrieAccount {
            nonce,
            balance,
            storage_root,
            code_hash,
        },
    )
}

/// A nibble path of 0 to 64 nibbles.
pub fn any_nibbles() -> impl Strategy<Value = Nibbles> {
    vec(0u8..16, 0..=64).prop_map(Nibbles::from_nibbles)
}

/// A valid path set: an account trie path, or an account with one to three storage paths.
pub fn any_path_set() -> impl Strategy<Value = TrieNodePathSet> {
    prop_oneof![
        any_nibbles().prop_map(TrieNodePathSet::account),
        (any_b256(), vec(any_nibbles(), 1..4)).prop_map(|(account, paths)| {
            match TrieNodePathSet::storage(AccountHash(account), paths) {
                Ok(set) => set,
                // `paths` has at least one element.
                Err(_) => TrieNodePathSet::account(Nibbles::new()),
            }
        }),
    ]
}

/// A path set in wire form: a valid one, or up to three arbitrary byte strings.
pub fn any_raw_path_set() -> impl Strategy<Value = RawTrieNodePathSet> {
    prop_oneof![
        any_path_set().prop_map(|set| set.to_raw()),
        vec(any_bytes(40), 0..4).prop_map(RawTrieNodePathSet),
    ]
}

/// A `GetAccountRange`.
pub fn any_get_account_range() -> impl Strategy<Value = GetAccountRange> {
    (any_u64(), any_b256(), any_b256(), any_b256(), any_u64()).prop_map(
        |(request_id, root_hash, starting, limit, response_bytes)| GetAccountRange {
            request_id,
            root_hash,
            starting_hash: AccountHash(starting),
            limit_hash: AccountHash(limit),
            response_bytes,
        },
    )
}

/// An `AccountRange` of up to four accounts and three proof nodes.
pub fn any_account_range() -> impl Strategy<Value = AccountRange> {
    let entry = (any_b256(), any_trie_account()).prop_map(|(hash, account)| AccountEntry {
        hash: AccountHash(hash),
        account: account.into(),
    });
    (any_u64(), vec(entry, 0..5), vec(any_bytes(80), 0..4))
        .prop_map(|(request_id, accounts, proof)| AccountRange { request_id, accounts, proof })
}

/// A `GetStorageRanges`, with empty or explicit bounds.
pub fn any_get_storage_ranges() -> impl Strategy<Value = GetStorageRanges> {
    let bound = || proptest::option::of(any_b256().prop_map(SlotHash));
    (
        any_u64(),
        any_b256(),
        vec(any_b256().prop_map(AccountHash), 0..4),
        bound(),
        bound(),
        any_u64(),
    )
        .prop_map(
            |(request_id, root_hash, account_hashes, starting_hash, limit_hash, response_bytes)| {
                GetStorageRanges {
                    request_id,
                    root_hash,
                    account_hashes,
                    starting_hash,
                    limit_hash,
                    response_bytes,
                }
            },
        )
}

/// A `StorageRanges`: slots hold encoded values or arbitrary bytes.
pub fn any_storage_ranges() -> impl Strategy<Value = StorageRanges> {
    let slot = prop_oneof![
        (any_b256(), any_u256())
            .prop_map(|(hash, value)| StorageSlot::from_value(SlotHash(hash), value)),
        (any_b256(), any_bytes(40))
            .prop_map(|(hash, data)| StorageSlot { hash: SlotHash(hash), data }),
    ];
    (any_u64(), vec(vec(slot, 0..4), 0..3), vec(any_bytes(80), 0..3))
        .prop_map(|(request_id, slots, proof)| StorageRanges { request_id, slots, proof })
}

/// A `GetByteCodes`.
pub fn any_get_byte_codes() -> impl Strategy<Value = GetByteCodes> {
    (any_u64(), vec(any_b256(), 0..5), any_u64()).prop_map(
        |(request_id, hashes, response_bytes)| GetByteCodes { request_id, hashes, response_bytes },
    )
}

/// A `ByteCodes`.
pub fn any_byte_codes() -> impl Strategy<Value = ByteCodes> {
    (any_u64(), vec(any_bytes(100), 0..4))
        .prop_map(|(request_id, codes)| ByteCodes { request_id, codes })
}

/// A `GetTrieNodes`, whose path sets are valid or raw.
pub fn any_get_trie_nodes() -> impl Strategy<Value = GetTrieNodes> {
    (any_u64(), any_b256(), vec(any_raw_path_set(), 0..4), any_u64()).prop_map(
        |(request_id, root_hash, paths, response_bytes)| GetTrieNodes {
            request_id,
            root_hash,
            paths,
            response_bytes,
        },
    )
}

/// A `TrieNodes`.
pub fn any_trie_nodes() -> impl Strategy<Value = TrieNodes> {
    (any_u64(), vec(any_bytes(100), 0..4))
        .prop_map(|(request_id, nodes)| TrieNodes { request_id, nodes })
}

/// Any of the eight snap/1 messages, equally likely.
pub fn any_snap_message() -> impl Strategy<Value = SnapMessage> {
    prop_oneof![
        any_get_account_range().prop_map(SnapMessage::from),
        any_account_range().prop_map(SnapMessage::from),
        any_get_storage_ranges().prop_map(SnapMessage::from),
        any_storage_ranges().prop_map(SnapMessage::from),
        any_get_byte_codes().prop_map(SnapMessage::from),
        any_byte_codes().prop_map(SnapMessage::from),
        any_get_trie_nodes().prop_map(SnapMessage::from),
        any_trie_nodes().prop_map(SnapMessage::from),
    ]
}
