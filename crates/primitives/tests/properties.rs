//! Property tests: every encoding round-trips, and decoding any bytes (random, RLP-shaped, or
//! mutations of valid messages) never panics and yields either an error or a value that
//! re-encodes consistently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, Bytes, U256};
use nybbles::Nibbles;
use proptest::{collection::vec, prelude::*};
use snapsync_primitives::{
    AccountEntry, AccountHash, AccountRange, ByteCodes, CompactPath, EMPTY_ROOT_HASH, FromRlp,
    GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes, KECCAK_EMPTY,
    RawTrieNodePathSet, RlpItem, SlimAccount, SlotHash, SnapMessage, StorageRanges, StorageSlot,
    TrieAccount, TrieNodePathSet, TrieNodes,
};

fn b256() -> impl Strategy<Value = B256> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(B256::from),
        Just(B256::ZERO),
        Just(B256::repeat_byte(0xff)),
    ]
}

fn u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        Just(U256::ZERO),
        Just(U256::MAX),
    ]
}

fn u64_value() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0..256u64, Just(u64::MAX)]
}

/// A hash that is often the given "empty" value.
fn hash_or(empty: B256) -> impl Strategy<Value = B256> {
    prop_oneof![Just(empty), b256()]
}

fn bytes(max_len: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max_len).prop_map(Bytes::from)
}

fn trie_account() -> impl Strategy<Value = TrieAccount> {
    (u64_value(), u256(), hash_or(EMPTY_ROOT_HASH), hash_or(KECCAK_EMPTY)).prop_map(
        |(nonce, balance, storage_root, code_hash)| TrieAccount {
            nonce,
            balance,
            storage_root,
            code_hash,
        },
    )
}

fn nibbles() -> impl Strategy<Value = Nibbles> {
    vec(0u8..16, 0..=64).prop_map(Nibbles::from_nibbles)
}

fn path_set() -> impl Strategy<Value = TrieNodePathSet> {
    prop_oneof![
        nibbles().prop_map(TrieNodePathSet::account),
        (b256(), vec(nibbles(), 1..4)).prop_map(|(account, paths)| {
            TrieNodePathSet::storage(AccountHash(account), paths).unwrap()
        }),
    ]
}

fn raw_path_set() -> impl Strategy<Value = RawTrieNodePathSet> {
    prop_oneof![
        path_set().prop_map(|set| set.to_raw()),
        vec(bytes(40), 0..4).prop_map(RawTrieNodePathSet),
    ]
}

fn get_account_range() -> impl Strategy<Value = GetAccountRange> {
    (u64_value(), b256(), b256(), b256(), u64_value()).prop_map(
        |(request_id, root_hash, starting, limit, response_bytes)| GetAccountRange {
            request_id,
            root_hash,
            starting_hash: AccountHash(starting),
            limit_hash: AccountHash(limit),
            response_bytes,
        },
    )
}

fn account_range() -> impl Strategy<Value = AccountRange> {
    let entry = (b256(), trie_account()).prop_map(|(hash, account)| AccountEntry {
        hash: AccountHash(hash),
        account: account.into(),
    });
    (u64_value(), vec(entry, 0..5), vec(bytes(80), 0..4))
        .prop_map(|(request_id, accounts, proof)| AccountRange { request_id, accounts, proof })
}

fn get_storage_ranges() -> impl Strategy<Value = GetStorageRanges> {
    let bound = || proptest::option::of(b256().prop_map(SlotHash));
    (u64_value(), b256(), vec(b256().prop_map(AccountHash), 0..4), bound(), bound(), u64_value())
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

fn storage_ranges() -> impl Strategy<Value = StorageRanges> {
    let slot = prop_oneof![
        (b256(), u256()).prop_map(|(hash, value)| StorageSlot::from_value(SlotHash(hash), value)),
        (b256(), bytes(40)).prop_map(|(hash, data)| StorageSlot { hash: SlotHash(hash), data }),
    ];
    (u64_value(), vec(vec(slot, 0..4), 0..3), vec(bytes(80), 0..3))
        .prop_map(|(request_id, slots, proof)| StorageRanges { request_id, slots, proof })
}

fn get_byte_codes() -> impl Strategy<Value = GetByteCodes> {
    (u64_value(), vec(b256(), 0..5), u64_value()).prop_map(
        |(request_id, hashes, response_bytes)| GetByteCodes { request_id, hashes, response_bytes },
    )
}

fn byte_codes() -> impl Strategy<Value = ByteCodes> {
    (u64_value(), vec(bytes(100), 0..4))
        .prop_map(|(request_id, codes)| ByteCodes { request_id, codes })
}

fn get_trie_nodes() -> impl Strategy<Value = GetTrieNodes> {
    (u64_value(), b256(), vec(raw_path_set(), 0..4), u64_value()).prop_map(
        |(request_id, root_hash, paths, response_bytes)| GetTrieNodes {
            request_id,
            root_hash,
            paths,
            response_bytes,
        },
    )
}

fn trie_nodes() -> impl Strategy<Value = TrieNodes> {
    (u64_value(), vec(bytes(100), 0..4))
        .prop_map(|(request_id, nodes)| TrieNodes { request_id, nodes })
}

fn snap_message() -> impl Strategy<Value = SnapMessage> {
    prop_oneof![
        get_account_range().prop_map(SnapMessage::from),
        account_range().prop_map(SnapMessage::from),
        get_storage_ranges().prop_map(SnapMessage::from),
        storage_ranges().prop_map(SnapMessage::from),
        get_byte_codes().prop_map(SnapMessage::from),
        byte_codes().prop_map(SnapMessage::from),
        get_trie_nodes().prop_map(SnapMessage::from),
        trie_nodes().prop_map(SnapMessage::from),
    ]
}

fn rlp_item() -> impl Strategy<Value = RlpItem> {
    let leaf = prop_oneof![
        bytes(3).prop_map(RlpItem::Bytes),
        bytes(70).prop_map(RlpItem::Bytes),
        Just(RlpItem::Bytes(B256::repeat_byte(0x5a).into())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| vec(inner, 0..6).prop_map(RlpItem::List))
}

/// A small change to valid bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Flip { index: usize, mask: u8 },
    Truncate { len: usize },
    Insert { index: usize, byte: u8 },
    Remove { index: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(index, mask)| Mutation::Flip { index, mask }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), any::<u8>()).prop_map(|(index, byte)| Mutation::Insert { index, byte }),
        any::<usize>().prop_map(|index| Mutation::Remove { index }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip { index, mask } if len > 0 => bytes[index % len] ^= mask,
        Mutation::Truncate { len: new_len } => bytes.truncate(new_len % (len + 1)),
        Mutation::Insert { index, byte } => bytes.insert(index % (len + 1), byte),
        Mutation::Remove { index } if len > 0 => {
            bytes.remove(index % len);
        }
        _ => {}
    }
    bytes
}

/// Decodes `bytes` as message `id` and checks the outcome is an error or consistent: the
/// value re-encodes to bytes that decode to it again, and to the input itself unless slim
/// account bodies used the long form of empty hashes (only possible in `AccountRange`).
fn check_decode_is_consistent(id: u8, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(message) = SnapMessage::decode(id, bytes) {
        prop_assert_eq!(message.id(), id);
        let encoded = message.to_rlp();
        prop_assert_eq!(encoded.len(), message.length());
        prop_assert_eq!(SnapMessage::decode(id, &encoded), Ok(message));
        if id != AccountRange::ID {
            prop_assert_eq!(encoded.as_slice(), bytes);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn messages_round_trip(message in snap_message()) {
        let encoded = message.to_rlp();
        prop_assert_eq!(encoded.len(), message.length());
        prop_assert_eq!(SnapMessage::decode(message.id(), &encoded), Ok(message));
    }

    #[test]
    fn accounts_round_trip_in_both_encodings(account in trie_account()) {
        let full = alloy_rlp::encode(account);
        prop_assert_eq!(full.len(), alloy_rlp::Encodable::length(&account));
        prop_assert_eq!(TrieAccount::from_rlp(&full), Ok(account));

        let slim = SlimAccount::from(account);
        let encoded = alloy_rlp::encode(slim);
        prop_assert_eq!(encoded.len(), alloy_rlp::Encodable::length(&slim));
        prop_assert_eq!(SlimAccount::from_rlp(&encoded), Ok(slim));
        prop_assert_eq!(slim.into_full(), account);
        // The full encoding is also a (non-canonical) slim encoding of the same account.
        prop_assert_eq!(SlimAccount::from_rlp(&full), Ok(slim));
    }

    #[test]
    fn compact_paths_round_trip(nibbles in nibbles(), is_leaf in any::<bool>()) {
        let path = CompactPath::new(nibbles, is_leaf);
        let encoded = path.encode();
        prop_assert_eq!(encoded.len(), path.encoded_len());
        prop_assert_eq!(CompactPath::decode(&encoded), Ok(path));
    }

    #[test]
    fn compact_path_decoding_is_canonical(bytes in vec(any::<u8>(), 0..40)) {
        if let Ok(path) = CompactPath::decode(&bytes) {
            prop_assert_eq!(path.encode(), bytes);
        }
    }

    #[test]
    fn path_sets_round_trip(set in path_set()) {
        let raw = set.to_raw();
        prop_assert_eq!(raw.to_typed(), Ok(set));
        prop_assert_eq!(RawTrieNodePathSet::from_rlp(&alloy_rlp::encode(&raw)), Ok(raw));
    }

    #[test]
    fn rlp_items_round_trip(item in rlp_item()) {
        let encoded = alloy_rlp::encode(&item);
        prop_assert_eq!(encoded.len(), alloy_rlp::Encodable::length(&item));
        prop_assert_eq!(RlpItem::from_rlp(&encoded), Ok(item));
    }

    #[test]
    fn rlp_item_decoding_is_canonical(bytes in vec(any::<u8>(), 0..80)) {
        if let Ok(item) = RlpItem::from_rlp(&bytes) {
            prop_assert_eq!(alloy_rlp::encode(&item), bytes);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn random_bytes_decode_consistently(id in 0u8..10, bytes in vec(any::<u8>(), 0..120)) {
        check_decode_is_consistent(id, &bytes)?;
    }

    #[test]
    fn rlp_shaped_input_decodes_consistently(item in rlp_item()) {
        let bytes = alloy_rlp::encode(&item);
        for id in 0..8 {
            check_decode_is_consistent(id, &bytes)?;
        }
        if let Ok(account) = TrieAccount::from_rlp(&bytes) {
            prop_assert_eq!(alloy_rlp::encode(account), bytes.clone());
        }
        if let Ok(account) = SlimAccount::from_rlp(&bytes) {
            prop_assert_eq!(SlimAccount::from_rlp(&alloy_rlp::encode(account)), Ok(account));
        }
    }

    #[test]
    fn mutated_messages_decode_consistently(
        message in snap_message(),
        mutations in vec(mutation(), 1..4),
        other_id in 0u8..8,
    ) {
        let bytes = mutations.iter().fold(message.to_rlp(), mutate);
        check_decode_is_consistent(message.id(), &bytes)?;
        check_decode_is_consistent(other_id, &bytes)?;
    }

    #[test]
    fn mutated_accounts_decode_consistently(
        account in trie_account(),
        mutation in mutation(),
    ) {
        let full = mutate(alloy_rlp::encode(account), &mutation);
        if let Ok(decoded) = TrieAccount::from_rlp(&full) {
            prop_assert_eq!(alloy_rlp::encode(decoded), full);
        }
        let slim = mutate(alloy_rlp::encode(SlimAccount::from(account)), &mutation);
        if let Ok(decoded) = SlimAccount::from_rlp(&slim) {
            prop_assert_eq!(SlimAccount::from_rlp(&alloy_rlp::encode(decoded)), Ok(decoded));
        }
    }
}
