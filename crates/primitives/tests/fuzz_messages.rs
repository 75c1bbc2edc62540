//! Fuzz target for the snap/1 decoders: `SnapMessage::decode` for every message code, each
//! message's `FromRlp` (and so the field decoders of `decoder.rs`), `AccountEntry`,
//! `StorageSlot` and `StorageSlot::value`, `SlimAccount`, `TrieAccount`, `RawTrieNodePathSet` and
//! `RawTrieNodePathSet::to_typed`, `RlpItem` and `CompactPath`.
//!
//! Inputs: arbitrary bytes; arbitrary RLP trees; valid encodings of random messages with byte
//! edits (flip, nudge, insert, delete, truncate, duplicate) and with structural RLP edits (items
//! replaced, removed, duplicated, swapped, wrapped, resized); valid encodings re-encoded with one
//! non-canonical header. Every decoder sees every input. Properties:
//! - never a panic;
//! - strict canonical decoding: anything that decodes re-encodes to exactly the input bytes, with
//!   one deliberate exception (a finding, documented on `SlimAccount`): an account body may carry
//!   the empty storage root or empty code hash as the full 32-byte hash, as go-ethereum accepts,
//!   and re-encodes with the empty string instead. The check pins that down: the re-encoding
//!   differs from the input only in those two fields of account bodies, and decodes to the same
//!   value;
//! - `FromRlp::from_rlp`, `FromRlp::decode_prefix` (with bytes after the value) and
//!   `alloy_rlp::Decodable` agree;
//! - a valid path set converts to its typed form and back to the same bytes; a slot value that
//!   decodes re-encodes to the slot's data;
//! - a non-canonical header anywhere in a valid message is refused.
//!
//! Bounded allocation is checked in `fuzz_messages_alloc.rs` (a counting allocator needs a test
//! binary of its own). Case counts are small for CI (a few seconds in release); `PROPTEST_CASES`
//! raises them: `PROPTEST_CASES=100000 cargo test --release -p snapsync-primitives --test
//! fuzz_messages`.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::B256;
use alloy_rlp::{Decodable, Encodable};
use proptest::{collection::vec, prelude::*, sample::Index};
use snapsync_primitives::test_utils::{
    any_rlp_item, any_snap_message, apply_byte_edits, apply_rlp_edit, byte_edits,
    encode_with_quirk, fuzz_config, header_quirk, rlp_edit,
};
use snapsync_primitives::{
    AccountEntry, AccountRange, ByteCodes, CompactPath, DecodeError, EMPTY_ROOT_HASH, FromRlp,
    GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes, KECCAK_EMPTY,
    RawTrieNodePathSet, RlpItem, SlimAccount, SnapMessage, StorageRanges, StorageSlot, TrieAccount,
    TrieNodes,
};
use std::fmt::Debug;

/// Where a type holds slim account bodies, whose empty hashes may arrive in the long form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slim {
    /// Nowhere: decoding must be exactly canonical.
    None,
    /// The value is a slim account.
    Account,
    /// The value is an `[hash, account]` entry.
    Entry,
    /// The value is an `AccountRange`: `[id, [entry, ...], proof]`.
    Range,
}

impl Slim {
    /// The empty hash whose 32-byte form the item at `path` (indices from the root) may carry.
    fn tolerated(self, path: &[usize]) -> Option<B256> {
        let field = match (self, path) {
            (Self::Account, [field])
            | (Self::Entry, [1, field])
            | (Self::Range, [1, _, 1, field]) => *field,
            _ => return None,
        };
        match field {
            2 => Some(EMPTY_ROOT_HASH),
            3 => Some(KECCAK_EMPTY),
            _ => None,
        }
    }
}

/// Checks that `reencoded` is `input` except for empty hashes `slim` tolerates in the long form
/// (in `input`) that became empty strings (in `reencoded`).
fn only_tolerated_differences(
    input: &[u8],
    reencoded: &[u8],
    slim: Slim,
) -> Result<(), TestCaseError> {
    fn walk(
        a: &RlpItem,
        b: &RlpItem,
        path: &mut Vec<usize>,
        slim: Slim,
    ) -> Result<(), TestCaseError> {
        match (a, b) {
            (RlpItem::List(xs), RlpItem::List(ys)) if xs.len() == ys.len() => {
                for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                    path.push(i);
                    walk(x, y, path, slim)?;
                    path.pop();
                }
                Ok(())
            }
            (RlpItem::Bytes(x), RlpItem::Bytes(y)) if x == y => Ok(()),
            (RlpItem::Bytes(x), RlpItem::Bytes(y))
                if y.is_empty() && slim.tolerated(path).is_some_and(|h| x[..] == h[..]) =>
            {
                Ok(())
            }
            _ => Err(TestCaseError::fail(format!(
                "re-encoding differs at {path:?}: {a:?} became {b:?}"
            ))),
        }
    }
    if input == reencoded {
        return Ok(());
    }
    prop_assert!(
        slim != Slim::None,
        "not canonical: {:02x?} re-encodes as {:02x?}",
        input,
        reencoded
    );
    let a = RlpItem::from_rlp(input).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    let b = RlpItem::from_rlp(reencoded).unwrap();
    walk(&a, &b, &mut Vec::new(), slim)
}

/// Decodes `bytes` as a `T` every way there is and checks that they agree, and that a value
/// re-encodes canonically (up to `slim`). Returns the value when it decoded.
fn check<T>(bytes: &[u8], slim: Slim) -> Result<Option<T>, TestCaseError>
where
    T: FromRlp + Encodable + Decodable + PartialEq + Debug,
{
    let decoded = T::from_rlp(bytes);
    // `Decodable` over the same bytes, all of them consumed.
    let adapter = alloy_rlp::decode_exact::<T>(bytes);
    prop_assert_eq!(decoded.as_ref().ok(), adapter.as_ref().ok(), "{}", T::NAME);
    // Errors render.
    if let Err(error) = &decoded {
        let _ = (error.to_string(), error.root_cause().to_string());
        return Ok(None);
    }
    let value = decoded.unwrap();
    let reencoded = alloy_rlp::encode(&value);
    prop_assert_eq!(reencoded.len(), value.length());
    only_tolerated_differences(bytes, &reencoded, slim)?;
    let again = T::from_rlp(&reencoded);
    prop_assert_eq!(again.as_ref(), Ok(&value), "{} re-decodes", T::NAME);
    // A prefix decode leaves what follows.
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(&[0x80, 0xc0, 0x01]);
    let mut buf = &longer[..];
    let prefix = T::decode_prefix(&mut buf);
    prop_assert_eq!(prefix.as_ref(), Ok(&value));
    prop_assert_eq!(buf, &[0x80, 0xc0, 0x01][..]);
    Ok(Some(value))
}

/// `SnapMessage::decode` under code `id`: canonical (up to slim accounts in `AccountRange`),
/// the same as the message type's own decoder, an unknown code always refused.
fn check_message(id: u8, bytes: &[u8]) -> Result<(), TestCaseError> {
    let decoded = SnapMessage::decode(id, bytes);
    if id > TrieNodes::ID {
        prop_assert_eq!(decoded, Err(DecodeError::UnknownMessageId { id }));
        return Ok(());
    }
    let typed: Option<SnapMessage> = match id {
        GetAccountRange::ID => check::<GetAccountRange>(bytes, Slim::None)?.map(Into::into),
        AccountRange::ID => check::<AccountRange>(bytes, Slim::Range)?.map(Into::into),
        GetStorageRanges::ID => check::<GetStorageRanges>(bytes, Slim::None)?.map(Into::into),
        StorageRanges::ID => check::<StorageRanges>(bytes, Slim::None)?.map(Into::into),
        GetByteCodes::ID => check::<GetByteCodes>(bytes, Slim::None)?.map(Into::into),
        ByteCodes::ID => check::<ByteCodes>(bytes, Slim::None)?.map(Into::into),
        GetTrieNodes::ID => check::<GetTrieNodes>(bytes, Slim::None)?.map(Into::into),
        _ => check::<TrieNodes>(bytes, Slim::None)?.map(Into::into),
    };
    prop_assert_eq!(decoded.as_ref().ok(), typed.as_ref());
    if let Ok(message) = decoded {
        prop_assert_eq!(message.id(), id);
        let slim = if id == AccountRange::ID { Slim::Range } else { Slim::None };
        only_tolerated_differences(bytes, &message.to_rlp(), slim)?;
        if let SnapMessage::StorageRanges(ranges) = &message {
            for slot in ranges.slots.iter().flatten() {
                if let Ok(value) = slot.value() {
                    prop_assert_eq!(alloy_rlp::encode(value), slot.data.to_vec());
                }
            }
        }
        if let SnapMessage::GetTrieNodes(request) = &message {
            for set in &request.paths {
                check_path_set(set)?;
            }
        }
    }
    Ok(())
}

/// A path set that validates converts back to exactly its wire form.
fn check_path_set(raw: &RawTrieNodePathSet) -> Result<(), TestCaseError> {
    if let Ok(typed) = raw.to_typed() {
        prop_assert_eq!(&typed.to_raw(), raw);
        prop_assert_eq!(typed.node_count() + usize::from(raw.0.len() > 1), raw.0.len());
    }
    Ok(())
}

/// Every decoder on `bytes`.
fn check_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    for id in 0..=TrieNodes::ID + 1 {
        check_message(id, bytes)?;
    }
    check::<TrieAccount>(bytes, Slim::None)?;
    check::<SlimAccount>(bytes, Slim::Account)?;
    check::<AccountEntry>(bytes, Slim::Entry)?;
    if let Some(slot) = check::<StorageSlot>(bytes, Slim::None)?
        && let Ok(value) = slot.value()
    {
        prop_assert_eq!(alloy_rlp::encode(value), slot.data.to_vec());
    }
    if let Some(set) = check::<RawTrieNodePathSet>(bytes, Slim::None)? {
        check_path_set(&set)?;
    }
    check::<RlpItem>(bytes, Slim::None)?;
    if let Ok(path) = CompactPath::decode(bytes) {
        prop_assert_eq!(path.encode(), bytes.to_vec());
    }
    Ok(())
}

/// A valid encoding of any value the decoders take: a message, or one of its parts.
fn valid_encoding() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => any_snap_message().prop_map(|message| message.to_rlp()),
        1 => snapsync_primitives::test_utils::any_trie_account().prop_map(alloy_rlp::encode),
        1 => snapsync_primitives::test_utils::any_trie_account()
            .prop_map(|account| alloy_rlp::encode(SlimAccount::from(account))),
        1 => snapsync_primitives::test_utils::any_raw_path_set().prop_map(alloy_rlp::encode),
    ]
}

proptest! {
    #![proptest_config(fuzz_config(5000))]

    /// Arbitrary bytes, into every decoder.
    #[test]
    fn arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        check_everything(&bytes)?;
    }

    /// Arbitrary well-formed RLP, into every decoder.
    #[test]
    fn arbitrary_rlp(item in any_rlp_item()) {
        check_everything(&alloy_rlp::encode(&item))?;
    }

    /// Valid encodings with byte edits: an error or a canonical value, in every decoder.
    #[test]
    fn edited_encodings(bytes in valid_encoding(), edits in byte_edits(4)) {
        check_everything(&apply_byte_edits(bytes, &edits))?;
    }

    /// Valid encodings with structural RLP edits: well-formed RLP that gets past the RLP layer
    /// into the field checks of every decoder.
    #[test]
    fn restructured_encodings(bytes in valid_encoding(), edits in vec(rlp_edit(), 1..4)) {
        let mut tree = RlpItem::from_rlp(&bytes).unwrap();
        for edit in &edits {
            apply_rlp_edit(&mut tree, edit);
        }
        check_everything(&alloy_rlp::encode(&tree))?;
    }

    /// A valid message with one non-canonical header anywhere is refused.
    #[test]
    fn non_canonical_messages(message in any_snap_message(), at in any::<Index>(), quirk in header_quirk()) {
        let bytes = message.to_rlp();
        let tree = RlpItem::from_rlp(&bytes).unwrap();
        let quirky = encode_with_quirk(&tree, at, quirk);
        prop_assert_ne!(&quirky, &bytes);
        let decoded = SnapMessage::decode(message.id(), &quirky);
        prop_assert!(decoded.is_err(), "non-canonical {:02x?} decoded as {:?}", quirky, decoded);
        check_everything(&quirky)?;
    }
}

/// The tolerated non-canonical form, pinned: an account body with both empty hashes in their
/// 32-byte form decodes, in an `AccountRange` too, and re-encodes shorter.
#[test]
fn long_form_empty_hashes_are_the_only_tolerance() {
    let mut body = vec![0xf8, 0x44, 0x01, 0x02, 0xa0];
    body.extend_from_slice(EMPTY_ROOT_HASH.as_slice());
    body.push(0xa0);
    body.extend_from_slice(KECCAK_EMPTY.as_slice());
    let account = SlimAccount::from_rlp(&body).unwrap();
    assert_eq!(alloy_rlp::encode(account), [0xc4, 0x01, 0x02, 0x80, 0x80]);

    let entry = [&[0xf8, 0x67, 0xa0][..], &[0x11; 32], &body].concat();
    let range = [&[0xf8, 0x6d, 0x07, 0xf8, 0x69][..], &entry, &[0xc0]].concat();
    let message = SnapMessage::decode(AccountRange::ID, &range).unwrap();
    assert_ne!(message.to_rlp(), range);
    let result: Result<(), TestCaseError> = (|| {
        check::<SlimAccount>(&body, Slim::Account)?;
        check::<AccountEntry>(&entry, Slim::Entry)?;
        check_message(AccountRange::ID, &range)
    })();
    result.unwrap();
    // The same long form anywhere else is not tolerated by the check.
    assert!(only_tolerated_differences(&range, &message.to_rlp(), Slim::None).is_err());
}
