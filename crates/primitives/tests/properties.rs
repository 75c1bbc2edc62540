//! Property tests: every encoding round-trips, and decoding any bytes (random, RLP-shaped, or
//! mutations of valid messages) never panics and yields either an error or a value that
//! re-encodes consistently.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::{collection::vec, prelude::*};
use snapsync_primitives::test_utils::{
    any_nibbles, any_path_set, any_rlp_item, any_snap_message, any_trie_account, apply_byte_edit,
    byte_edit,
};
use snapsync_primitives::{
    AccountRange, CompactPath, FromRlp, RawTrieNodePathSet, RlpItem, SlimAccount, SnapMessage,
    TrieAccount,
};

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
    fn messages_round_trip(message in any_snap_message()) {
        let encoded = message.to_rlp();
        prop_assert_eq!(encoded.len(), message.length());
        prop_assert_eq!(SnapMessage::decode(message.id(), &encoded), Ok(message));
    }

    #[test]
    fn accounts_round_trip_in_both_encodings(account in any_trie_account()) {
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
    fn compact_paths_round_trip(nibbles in any_nibbles(), is_leaf in any::<bool>()) {
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
    fn path_sets_round_trip(set in any_path_set()) {
        let raw = set.to_raw();
        prop_assert_eq!(raw.to_typed(), Ok(set));
        prop_assert_eq!(RawTrieNodePathSet::from_rlp(&alloy_rlp::encode(&raw)), Ok(raw));
    }

    #[test]
    fn rlp_items_round_trip(item in any_rlp_item()) {
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
    fn rlp_shaped_input_decodes_consistently(item in any_rlp_item()) {
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
        message in any_snap_message(),
        mutations in vec(byte_edit(), 1..4),
        other_id in 0u8..8,
    ) {
        let bytes = mutations.iter().fold(message.to_rlp(), apply_byte_edit);
        check_decode_is_consistent(message.id(), &bytes)?;
        check_decode_is_consistent(other_id, &bytes)?;
    }

    #[test]
    fn mutated_accounts_decode_consistently(
        account in any_trie_account(),
        mutation in byte_edit(),
    ) {
        let full = apply_byte_edit(alloy_rlp::encode(account), &mutation);
        if let Ok(decoded) = TrieAccount::from_rlp(&full) {
            prop_assert_eq!(alloy_rlp::encode(decoded), full);
        }
        let slim = apply_byte_edit(alloy_rlp::encode(SlimAccount::from(account)), &mutation);
        if let Ok(decoded) = SlimAccount::from_rlp(&slim) {
            prop_assert_eq!(SlimAccount::from_rlp(&alloy_rlp::encode(decoded)), Ok(decoded));
        }
    }
}
