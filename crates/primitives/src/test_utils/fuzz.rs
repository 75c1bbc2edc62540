//! Machinery for the fuzz-style property tests of the decoders and the range-proof verifier.
//!
//! cargo-fuzz needs a nightly toolchain, so the fuzz targets are proptest properties run with a
//! large case count instead. This module holds what they share:
//!
//! - [`fuzz_config`]: a case count that `PROPTEST_CASES` overrides, so CI runs few cases and a
//!   long run many, from the same test;
//! - byte-level mutations of valid encodings ([`ByteEdit`], [`byte_edit`], [`apply_byte_edits`]);
//! - structure-aware mutations of RLP trees ([`RlpEdit`], [`rlp_edit`], [`apply_rlp_edit`]),
//!   which keep the input well-formed RLP so decoders get past the RLP layer into their field
//!   checks;
//! - non-canonical re-encodings of well-formed RLP ([`HeaderQuirk`], [`encode_with_quirk`]),
//!   which every strict decoder must refuse;
//! - arbitrary RLP trees with sizes around the encoding boundaries ([`any_rlp_item`]).

use crate::RlpItem;
use alloy_primitives::Bytes;
use alloy_rlp::{EMPTY_LIST_CODE, EMPTY_STRING_CODE};
use proptest::{collection::vec, prelude::*, sample::Index, test_runner::Config};

/// A proptest configuration running `default_cases` cases, or as many as the `PROPTEST_CASES`
/// environment variable says.
///
/// `ProptestConfig::with_cases` would ignore the variable; this keeps every other setting at
/// proptest's defaults (which read the rest of the `PROPTEST_*` variables).
pub fn fuzz_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.trim().parse().ok())
        .unwrap_or(default_cases);
    Config { cases, ..Config::default() }
}

/// One byte-level change to an encoding. Positions are taken modulo the input's length, so any
/// edit applies to any input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteEdit {
    /// XOR one byte with a non-zero mask.
    Flip {
        /// Position (modulo the length).
        index: usize,
        /// Non-zero mask.
        mask: u8,
    },
    /// Add or subtract one from a byte (wrapping): off-by-one lengths and counts.
    Nudge {
        /// Position (modulo the length).
        index: usize,
        /// Add one when `true`, subtract one otherwise.
        up: bool,
    },
    /// Keep only the first bytes (the length modulo the input's length plus one).
    Truncate {
        /// New length (modulo the length plus one).
        len: usize,
    },
    /// Insert one byte.
    Insert {
        /// Position (modulo the length plus one).
        index: usize,
        /// The byte.
        byte: u8,
    },
    /// Remove one byte.
    Remove {
        /// Position (modulo the length).
        index: usize,
    },
    /// Remove up to `len` bytes from `index` on.
    RemoveRange {
        /// Position (modulo the length).
        index: usize,
        /// How many bytes at most.
        len: usize,
    },
    /// Insert a copy of up to `len` bytes from `index` on right after them.
    Duplicate {
        /// Position (modulo the length).
        index: usize,
        /// How many bytes at most.
        len: usize,
    },
}

/// Any [`ByteEdit`]; ranges and counts stay small so that edits are local.
pub fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        3 => (any::<usize>(), 1..=255u8).prop_map(|(index, mask)| ByteEdit::Flip { index, mask }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(index, up)| ByteEdit::Nudge { index, up }),
        2 => any::<usize>().prop_map(|len| ByteEdit::Truncate { len }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(index, byte)| ByteEdit::Insert { index, byte }),
        2 => any::<usize>().prop_map(|index| ByteEdit::Remove { index }),
        1 => (any::<usize>(), 1usize..40)
            .prop_map(|(index, len)| ByteEdit::RemoveRange { index, len }),
        1 => (any::<usize>(), 1usize..40).prop_map(|(index, len)| ByteEdit::Duplicate { index, len }),
    ]
}

/// One to `max` [`ByteEdit`]s.
pub fn byte_edits(max: usize) -> impl Strategy<Value = Vec<ByteEdit>> {
    vec(byte_edit(), 1..=max.max(1))
}

/// `bytes` with `edit` applied. Edits that need a byte do nothing to an empty input.
pub fn apply_byte_edit(mut bytes: Vec<u8>, edit: &ByteEdit) -> Vec<u8> {
    let len = bytes.len();
    match *edit {
        ByteEdit::Flip { index, mask } if len > 0 => bytes[index % len] ^= mask,
        ByteEdit::Nudge { index, up } if len > 0 => {
            let byte = &mut bytes[index % len];
            *byte = if up { byte.wrapping_add(1) } else { byte.wrapping_sub(1) };
        }
        ByteEdit::Truncate { len: new_len } => bytes.truncate(new_len % (len + 1)),
        ByteEdit::Insert { index, byte } => bytes.insert(index % (len + 1), byte),
        ByteEdit::Remove { index } if len > 0 => {
            bytes.remove(index % len);
        }
        ByteEdit::RemoveRange { index, len: count } if len > 0 => {
            let start = index % len;
            let end = start.saturating_add(count).min(len);
            bytes.drain(start..end);
        }
        ByteEdit::Duplicate { index, len: count } if len > 0 => {
            let start = index % len;
            let end = start.saturating_add(count).min(len);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
        _ => {}
    }
    bytes
}

/// `bytes` with every edit applied in order.
pub fn apply_byte_edits(bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    edits.iter().fold(bytes, apply_byte_edit)
}

/// A byte string of a length around the RLP boundaries: empty, one byte (below and above
/// `0x80`), 31–33 bytes (hash-sized), 55–56 bytes (short/long form), or up to `max_len`.
pub fn rlp_bytes(max_len: usize) -> impl Strategy<Value = Bytes> {
    let sized =
        |range: std::ops::RangeInclusive<usize>| vec(any::<u8>(), range).prop_map(Bytes::from);
    prop_oneof![
        Just(Bytes::new()),
        (0u8..0x80).prop_map(|byte| Bytes::from(vec![byte])),
        (0x80u8..=0xff).prop_map(|byte| Bytes::from(vec![byte])),
        sized(31..=33),
        sized(55..=56),
        sized(0..=max_len.max(1)),
    ]
}

/// Arbitrary RLP trees: strings from [`rlp_bytes`] (and a 32-byte word, the commonest field),
/// lists up to six items, nested up to six levels.
pub fn any_rlp_item() -> impl Strategy<Value = RlpItem> {
    let leaf = prop_oneof![
        4 => rlp_bytes(70).prop_map(RlpItem::Bytes),
        1 => any::<[u8; 32]>().prop_map(|word| RlpItem::Bytes(Bytes::from(word.to_vec()))),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| vec(inner, 0..6).prop_map(RlpItem::List))
}

/// One structural change to an RLP tree, at the node numbered `at` in pre-order (modulo the
/// node count; the root is node 0). The result is still well-formed RLP.
#[derive(Debug, Clone)]
pub enum RlpEdit {
    /// Replace the node with another item.
    Replace {
        /// Which node.
        at: Index,
        /// The new item.
        with: RlpItem,
    },
    /// Remove the node from its list (nothing for the root).
    Remove {
        /// Which node.
        at: Index,
    },
    /// Insert a copy of the node right after it (nothing for the root).
    Duplicate {
        /// Which node.
        at: Index,
    },
    /// Exchange the node with its next sibling, if any.
    SwapWithNext {
        /// Which node.
        at: Index,
    },
    /// Replace the node by a one-item list holding it.
    Wrap {
        /// Which node.
        at: Index,
    },
    /// Replace a list by its first item (the empty string when empty); a string by a list of it.
    Unwrap {
        /// Which node.
        at: Index,
    },
    /// Append a byte to a string, or an empty string to a list.
    Grow {
        /// Which node.
        at: Index,
        /// The byte appended.
        byte: u8,
    },
    /// Drop the last byte of a string, or the last item of a list.
    Shrink {
        /// Which node.
        at: Index,
    },
}

/// Any [`RlpEdit`].
pub fn rlp_edit() -> impl Strategy<Value = RlpEdit> {
    prop_oneof![
        3 => (any::<Index>(), any_rlp_item()).prop_map(|(at, with)| RlpEdit::Replace { at, with }),
        2 => any::<Index>().prop_map(|at| RlpEdit::Remove { at }),
        2 => any::<Index>().prop_map(|at| RlpEdit::Duplicate { at }),
        1 => any::<Index>().prop_map(|at| RlpEdit::SwapWithNext { at }),
        1 => any::<Index>().prop_map(|at| RlpEdit::Wrap { at }),
        1 => any::<Index>().prop_map(|at| RlpEdit::Unwrap { at }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| RlpEdit::Grow { at, byte }),
        2 => any::<Index>().prop_map(|at| RlpEdit::Shrink { at }),
    ]
}

/// Number of nodes of an RLP tree (strings and lists, the root included).
pub fn rlp_node_count(item: &RlpItem) -> usize {
    match item {
        RlpItem::Bytes(_) => 1,
        RlpItem::List(items) => 1 + items.iter().map(rlp_node_count).sum::<usize>(),
    }
}

/// Applies `edit` to the tree `root`.
pub fn apply_rlp_edit(root: &mut RlpItem, edit: &RlpEdit) {
    let at = match edit {
        RlpEdit::Replace { at, .. }
        | RlpEdit::Remove { at }
        | RlpEdit::Duplicate { at }
        | RlpEdit::SwapWithNext { at }
        | RlpEdit::Wrap { at }
        | RlpEdit::Unwrap { at }
        | RlpEdit::Grow { at, .. }
        | RlpEdit::Shrink { at } => at.index(rlp_node_count(root)),
    };
    if at == 0 {
        edit_node(root, edit);
        return;
    }
    let mut target = at;
    edit_child(root, &mut target, edit);
}

/// Finds the node numbered `target` (counting `item`'s descendants in pre-order from 1) and edits
/// it in its parent list. Returns whether it was found.
fn edit_child(item: &mut RlpItem, target: &mut usize, edit: &RlpEdit) -> bool {
    let RlpItem::List(items) = item else { return false };
    for position in 0..items.len() {
        *target -= 1;
        if *target == 0 {
            edit_in_list(items, position, edit);
            return true;
        }
        if edit_child(&mut items[position], target, edit) {
            return true;
        }
    }
    false
}

/// Edits that need the parent list; the others go to [`edit_node`].
fn edit_in_list(items: &mut Vec<RlpItem>, position: usize, edit: &RlpEdit) {
    match edit {
        RlpEdit::Remove { .. } => {
            items.remove(position);
        }
        RlpEdit::Duplicate { .. } => {
            let copy = items[position].clone();
            items.insert(position + 1, copy);
        }
        RlpEdit::SwapWithNext { .. } => {
            if position + 1 < items.len() {
                items.swap(position, position + 1);
            }
        }
        _ => edit_node(&mut items[position], edit),
    }
}

fn edit_node(node: &mut RlpItem, edit: &RlpEdit) {
    match edit {
        RlpEdit::Replace { with, .. } => *node = with.clone(),
        RlpEdit::Wrap { .. } => *node = RlpItem::List(vec![node.clone()]),
        RlpEdit::Unwrap { .. } => {
            *node = match node {
                RlpItem::List(items) => {
                    items.first().cloned().unwrap_or(RlpItem::Bytes(Bytes::new()))
                }
                RlpItem::Bytes(_) => RlpItem::List(vec![node.clone()]),
            }
        }
        RlpEdit::Grow { byte, .. } => match node {
            RlpItem::Bytes(bytes) => {
                let mut grown = bytes.to_vec();
                grown.push(*byte);
                *bytes = Bytes::from(grown);
            }
            RlpItem::List(items) => items.push(RlpItem::Bytes(Bytes::new())),
        },
        RlpEdit::Shrink { .. } => match node {
            RlpItem::Bytes(bytes) => *bytes = bytes.slice(..bytes.len().saturating_sub(1)),
            RlpItem::List(items) => {
                items.pop();
            }
        },
        // The root has no parent list.
        RlpEdit::Remove { .. } | RlpEdit::Duplicate { .. } | RlpEdit::SwapWithNext { .. } => {}
    }
}

/// A way of encoding one RLP item's header that is valid RLP structure but not canonical: a
/// strict decoder must refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderQuirk {
    /// The long form (`0xb8`/`0xf8` and a length byte) for a payload under 56 bytes; falls back
    /// to [`HeaderQuirk::LeadingZeroLength`] for longer payloads.
    LongForm,
    /// The long form with a zero byte in front of the length.
    LeadingZeroLength,
    /// A single byte below `0x80` as a one-byte string (`0x81 b`); falls back to
    /// [`HeaderQuirk::LongForm`] for any other item.
    WrapSingleByte,
}

/// Any [`HeaderQuirk`].
pub fn header_quirk() -> impl Strategy<Value = HeaderQuirk> {
    prop_oneof![
        Just(HeaderQuirk::LongForm),
        Just(HeaderQuirk::LeadingZeroLength),
        Just(HeaderQuirk::WrapSingleByte),
    ]
}

/// The canonical encoding of `root`, except that node `at` (pre-order, modulo the node count)
/// gets a non-canonical header as `quirk` says. The result always differs from the canonical
/// encoding, and lists around the node carry their true (larger) lengths.
pub fn encode_with_quirk(root: &RlpItem, at: Index, quirk: HeaderQuirk) -> Vec<u8> {
    let mut target = at.index(rlp_node_count(root));
    let mut out = Vec::new();
    encode_quirky(root, &mut target, quirk, &mut out);
    out
}

/// Encodes `item`; the node for which `target` reaches zero gets the quirk. `target` counts
/// down in pre-order.
fn encode_quirky(item: &RlpItem, target: &mut usize, quirk: HeaderQuirk, out: &mut Vec<u8>) {
    let this = *target == 0;
    *target = target.wrapping_sub(1);
    match item {
        RlpItem::Bytes(bytes) => {
            if this {
                quirky_header(false, bytes, quirk, out);
            } else {
                alloy_rlp::Encodable::encode(&bytes[..], out);
            }
        }
        RlpItem::List(items) => {
            let mut payload = Vec::new();
            for child in items {
                encode_quirky(child, target, quirk, &mut payload);
            }
            if this {
                quirky_header(true, &payload, quirk, out);
            } else {
                alloy_rlp::Header { list: true, payload_length: payload.len() }.encode(out);
                out.extend_from_slice(&payload);
            }
        }
    }
}

fn quirky_header(list: bool, payload: &[u8], quirk: HeaderQuirk, out: &mut Vec<u8>) {
    // The long-form code base: `0xb7`/`0xf7` plus the length of the length.
    let long_base = if list { EMPTY_LIST_CODE + 55 } else { EMPTY_STRING_CODE + 55 };
    let len_bytes: Vec<u8> = {
        let be = payload.len().to_be_bytes();
        let first = be.iter().position(|b| *b != 0).unwrap_or(be.len() - 1);
        be[first..].to_vec()
    };
    let quirk = match quirk {
        HeaderQuirk::WrapSingleByte if !list && payload.len() == 1 && payload[0] < 0x80 => {
            out.extend_from_slice(&[EMPTY_STRING_CODE + 1, payload[0]]);
            return;
        }
        HeaderQuirk::WrapSingleByte => HeaderQuirk::LongForm,
        other => other,
    };
    match quirk {
        HeaderQuirk::LongForm if payload.len() < 56 => {
            out.push(long_base + 1);
            out.push(len_bytes[len_bytes.len() - 1]);
        }
        _ => {
            // A zero in front of the length bytes; at most 8 length bytes fit the code.
            let len_of_len = u8::try_from(len_bytes.len() + 1).unwrap_or(8).min(8);
            out.push(long_base + len_of_len);
            out.push(0);
            out.extend_from_slice(&len_bytes[len_bytes.len() + 1 - usize::from(len_of_len)..]);
        }
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FromRlp;
    use proptest::{strategy::ValueTree, test_runner::TestRunner};

    fn bytes(data: &[u8]) -> RlpItem {
        RlpItem::Bytes(Bytes::copy_from_slice(data))
    }

    #[test]
    fn byte_edits_apply_modulo_the_length() {
        let input = vec![1, 2, 3, 4];
        let apply = |edit| apply_byte_edit(input.clone(), &edit);
        assert_eq!(apply(ByteEdit::Flip { index: 5, mask: 0xff }), [1, 0xfd, 3, 4]);
        assert_eq!(apply(ByteEdit::Nudge { index: 0, up: false }), [0, 2, 3, 4]);
        assert_eq!(apply(ByteEdit::Truncate { len: 7 }), [1, 2]);
        assert_eq!(apply(ByteEdit::Insert { index: 4, byte: 9 }), [1, 2, 3, 4, 9]);
        assert_eq!(apply(ByteEdit::Remove { index: 3 }), [1, 2, 3]);
        assert_eq!(apply(ByteEdit::RemoveRange { index: 1, len: 2 }), [1, 4]);
        assert_eq!(apply(ByteEdit::Duplicate { index: 2, len: 9 }), [1, 2, 3, 4, 3, 4]);
        assert_eq!(apply_byte_edit(Vec::new(), &ByteEdit::Remove { index: 3 }), [0u8; 0]);
    }

    #[test]
    fn rlp_edits_keep_the_tree_well_formed() {
        // [a, [b, c], d]: nodes 0 (root), 1 a, 2 [b, c], 3 b, 4 c, 5 d.
        let tree = RlpItem::List(vec![
            bytes(b"a"),
            RlpItem::List(vec![bytes(b"b"), bytes(b"c")]),
            bytes(b"d"),
        ]);
        assert_eq!(rlp_node_count(&tree), 6);
        let mut runner = TestRunner::deterministic();
        let mut seen_change = false;
        for _ in 0..200 {
            let edit = rlp_edit().new_tree(&mut runner).unwrap().current();
            let mut edited = tree.clone();
            apply_rlp_edit(&mut edited, &edit);
            // Always well-formed: the encoding decodes back to the edited tree.
            let encoded = alloy_rlp::encode(&edited);
            assert_eq!(RlpItem::from_rlp(&encoded), Ok(edited.clone()));
            seen_change |= edited != tree;
        }
        assert!(seen_change);
    }

    #[test]
    fn quirks_are_refused_by_a_strict_decoder() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..300 {
            let (item, at, quirk) = (any_rlp_item(), any::<Index>(), header_quirk())
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let canonical = alloy_rlp::encode(&item);
            let quirky = encode_with_quirk(&item, at, quirk);
            assert_ne!(quirky, canonical);
            assert!(RlpItem::from_rlp(&quirky).is_err(), "{quirk:?} accepted: {quirky:02x?}");
        }
        // The three forms, on the string 0x05 and the list [].
        let five = bytes(&[5]);
        let first = any::<Index>().new_tree(&mut runner).unwrap().current();
        assert_eq!(encode_with_quirk(&five, first, HeaderQuirk::WrapSingleByte), [0x81, 5]);
        assert_eq!(encode_with_quirk(&five, first, HeaderQuirk::LongForm), [0xb8, 1, 5]);
        assert_eq!(
            encode_with_quirk(&five, first, HeaderQuirk::LeadingZeroLength),
            [0xb9, 0, 1, 5]
        );
        let empty = RlpItem::List(Vec::new());
        assert_eq!(encode_with_quirk(&empty, first, HeaderQuirk::LongForm), [0xf8, 0]);
    }
}
