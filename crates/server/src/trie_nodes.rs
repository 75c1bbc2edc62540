//! `GetTrieNodes`: nodes by path, in request order, with go-ethereum's answers for paths that name
//! no node.
//!
//! A path set is one compact-encoded account trie path, or a 32-byte account hash followed by
//! compact-encoded paths of that account's storage trie. Each path is resolved by walking the
//! stored trie from the root, every hashed node checked against its parent's reference (as
//! go-ethereum's `Trie.GetNode` does), with three outcomes:
//!
//! - a hashed node ends exactly at the path: it is served;
//! - the path ends inside a node, runs past a leaf, or reaches an empty child: an **empty blob** is
//!   served in its place (the hive suite expects `keccak256("")` for these);
//! - the path ends at a node embedded in its parent (no hash of its own), or a node is missing:
//!   **nothing** is served for it, and in a storage set its remaining paths are skipped.
//!
//! Paths are decoded as go-ethereum's `compactToHex` does, leniently: an empty item is the root,
//! a non-zero padding nibble is ignored, a flag other than 0 or 1 keeps the terminator (such a
//! path only ever names a value, so it gets an empty blob, or nothing when it is exactly a leaf's
//! key). A path longer than 64 nibbles names no node: empty blob. A storage set whose first item
//! is not a known account's 32-byte hash is skipped.
//!
//! The response closes after the path that takes it past the byte budget, the lookup cap or the
//! time limit ([`ServerLimits`]). A request with an empty path set is refused before any of this
//! ([`ServeError::EmptyPathSet`](crate::ServeError::EmptyPathSet)).

use crate::{ReadError, ServerLimits, limits::Deadline};
use alloy_primitives::{B256, Bytes};
use snapsync_primitives::{
    AccountHash, CompactPath, CompactPathError, EMPTY_ROOT_HASH, GetTrieNodes, TrieNodes,
};
use snapsync_storage::{AccountTrie, StateRead, StorageTrie, StoreError};
use snapsync_trie::{Nibbles, NodeSource, PathEnd, TrieNodeRef, decode_node, walk_path};

/// The answer to `request` from `view`, whose account trie has root `request.root_hash`.
pub(crate) fn serve_trie_nodes<R: StateRead + ?Sized>(
    view: &R,
    request: &GetTrieNodes,
    limits: &ServerLimits,
) -> Result<TrieNodes, ReadError> {
    let mut response = Response::new(limits, request.response_bytes);
    for set in &request.paths {
        match set.0.as_slice() {
            // Refused before serving; nothing to answer for it.
            [] => {}
            [path] => {
                let found =
                    find_node(&AccountTrie::new(view), request.root_hash, path, &mut response)?;
                response.push(found);
            }
            [account, paths @ ..] => serve_storage_set(view, account, paths, &mut response)?,
        }
        if response.is_full() {
            break;
        }
    }
    Ok(TrieNodes { request_id: request.request_id, nodes: response.nodes })
}

/// Serves the storage trie paths of one set, stopping at the first that cannot be served.
fn serve_storage_set<R: StateRead + ?Sized>(
    view: &R,
    account: &[u8],
    paths: &[Bytes],
    response: &mut Response,
) -> Result<(), StoreError> {
    let Ok(account) = B256::try_from(account).map(AccountHash) else { return Ok(()) };
    response.loads += 1;
    let Some(state) = view.account(&account)? else { return Ok(()) };
    let trie = StorageTrie::new(view, account);
    for path in paths {
        let found = find_node(&trie, state.storage_root, path, response)?;
        if matches!(found, Found::Unservable) {
            break;
        }
        response.push(found);
        if response.is_full() {
            break;
        }
    }
    Ok(())
}

/// What a path resolves to.
#[derive(Debug)]
enum Found {
    /// The hashed node at the path.
    Node(Bytes),
    /// No node can be at the path: answered with an empty blob.
    Absent,
    /// The path ends at an embedded node, or a node is missing: not answered.
    Unservable,
}

/// The nodes served so far and what they cost.
struct Response {
    nodes: Vec<Bytes>,
    bytes: u64,
    byte_budget: u64,
    loads: usize,
    max_loads: usize,
    deadline: Deadline,
}

impl Response {
    fn new(limits: &ServerLimits, requested_bytes: u64) -> Self {
        Self {
            nodes: Vec::new(),
            bytes: 0,
            byte_budget: limits.response_bytes(requested_bytes),
            loads: 0,
            max_loads: limits.max_trie_node_lookups,
            deadline: limits.deadline(),
        }
    }

    /// Adds the answer for one path.
    fn push(&mut self, found: Found) {
        match found {
            Found::Node(node) => {
                self.bytes = self.bytes.saturating_add(node.len() as u64);
                self.nodes.push(node);
            }
            Found::Absent => self.nodes.push(Bytes::new()),
            Found::Unservable => {}
        }
    }

    /// Whether the response must close: bytes, lookups or time used up.
    fn is_full(&self) -> bool {
        self.bytes > self.byte_budget || self.loads > self.max_loads || self.deadline.passed()
    }
}

/// Resolves the wire path `raw` in the trie of `source` with root `root`.
fn find_node<S: NodeSource<Error = StoreError>>(
    source: &S,
    root: B256,
    raw: &[u8],
    response: &mut Response,
) -> Result<Found, StoreError> {
    let Some(target) = Target::decode(raw) else {
        response.loads += 1;
        return Ok(Found::Absent);
    };
    if root == EMPTY_ROOT_HASH {
        response.loads += 1;
        return Ok(Found::Absent);
    }
    let fetch = |path: &Nibbles, _| {
        response.loads += 1;
        source.node(path)
    };
    Ok(match walk_path(root, &target.nibbles, fetch, |_, _| {})? {
        // A terminated path names a value, never a node.
        PathEnd::At { node, .. } if target.terminated => names_value_at(&node),
        PathEnd::At { node, hashed: true } => Found::Node(node),
        // An embedded node has no hash of its own to be asked by.
        PathEnd::At { hashed: false, .. } => Found::Unservable,
        // A terminated path that is exactly the leaf's key names its value, not a node.
        PathEnd::Absent { names_value } if names_value && target.terminated => Found::Unservable,
        PathEnd::Absent { .. } => Found::Absent,
        PathEnd::Unavailable { .. } | PathEnd::Invalid { .. } => Found::Unservable,
    })
}

/// The answer for a terminated path that ends exactly at `node`: the value slot of a branch, or
/// of a leaf with nothing left of its key, holds a value (not served); anything else has none.
fn names_value_at(node: &[u8]) -> Found {
    match decode_node(node) {
        Ok(TrieNodeRef::Branch { value: [], .. }) => Found::Absent,
        Ok(TrieNodeRef::Branch { .. }) => Found::Unservable,
        Ok(TrieNodeRef::Leaf { key, .. }) if key.is_empty() => Found::Unservable,
        Ok(_) => Found::Absent,
        Err(_) => Found::Unservable,
    }
}

/// A requested path as go-ethereum's `compactToHex` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    nibbles: Nibbles,
    /// Whether the path ends with the terminator (a flag other than 0 or 1): it then names a
    /// value, never a node.
    terminated: bool,
}

impl Target {
    /// Decodes a wire path; `None` for one longer than any key, which names no node.
    fn decode(raw: &[u8]) -> Option<Self> {
        match CompactPath::decode(raw) {
            Ok(path) => Some(Self { nibbles: *path.nibbles(), terminated: path.is_leaf() }),
            Err(CompactPathError::Empty) => {
                Some(Self { nibbles: Nibbles::default(), terminated: false })
            }
            Err(CompactPathError::TooLong { .. }) => None,
            Err(CompactPathError::InvalidFlag { .. } | CompactPathError::NonZeroPadding { .. }) => {
                let mut canonical = raw.to_vec();
                canonical[0] = canonical_flag_byte(raw[0]);
                Self::decode(&canonical)
            }
        }
    }
}

/// The first byte of a compact path rewritten to a valid flag with go-ethereum's reading: bit 0 of
/// the flag is the odd flag, any flag of 2 or more keeps the terminator, and the low nibble is
/// padding (zeroed) unless the path is odd.
fn canonical_flag_byte(first: u8) -> u8 {
    let flag = first >> 4;
    let odd = flag & 1;
    let terminated = u8::from(flag >= 2);
    let low = if odd == 1 { first & 0x0f } else { 0 };
    (terminated << 5) | (odd << 4) | low
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(raw: &[u8]) -> Option<(Vec<u8>, bool)> {
        Target::decode(raw).map(|t| (t.nibbles.to_vec(), t.terminated))
    }

    #[test]
    fn paths_decode_as_geth_compact_to_hex() {
        assert_eq!(target(&[]), Some((vec![], false)));
        assert_eq!(target(&[0x00]), Some((vec![], false)));
        assert_eq!(target(&[0x1a, 0x87]), Some((vec![0xa, 8, 7], false)));
        // Non-zero padding is ignored.
        assert_eq!(target(&[0x05, 0x12]), Some((vec![1, 2], false)));
        // Leaf flags and invalid flags keep the terminator; odd flags keep the first nibble.
        assert_eq!(target(&[0x3a]), Some((vec![0xa], true)));
        assert_eq!(target(&[0x4f, 0x12]), Some((vec![1, 2], true)));
        assert_eq!(target(&[0x5f, 0x12]), Some((vec![0xf, 1, 2], true)));
        // Longer than a key.
        assert_eq!(target(&[0x00; 34]), None);
    }
}
