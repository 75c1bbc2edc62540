//! Account ranges: every chunk of the hash space downloaded in order, one request per chunk at
//! a time (a chunk's next request starts where its last reply ended), chunks concurrently.

use crate::state::{AccountChunk, Counts};
use crate::step::StepWrites;
use alloy_primitives::B256;
use alloy_rlp::Encodable;
use snapsync_etl::EtlError;
use snapsync_fetch::{AccountRangeRequest, VerifiedAccountRange};
use tracing::debug;

/// The first chunk that is neither done nor `busy` (a request of it in flight).
pub(crate) fn next_chunk(chunks: &[AccountChunk], busy: &[bool]) -> Option<usize> {
    chunks.iter().zip(busy).position(|(chunk, busy)| !chunk.done && !busy)
}

/// The request continuing `chunk` in the state of `root`.
pub(crate) const fn request_for(chunk: &AccountChunk, root: B256) -> AccountRangeRequest {
    AccountRangeRequest { root, origin: chunk.next, limit: chunk.end, response_bytes: 0 }
}

/// Takes a verified range into the chunk: its accounts up to the chunk's end are kept, and the
/// chunk continues after the last one, or is done when the trie has nothing more in it. Returns
/// how many of the range's accounts were kept (the first ones).
pub(crate) fn apply_range(
    chunk: &mut AccountChunk,
    range: &VerifiedAccountRange,
    writes: &mut StepWrites,
    counts: &mut Counts,
) -> Result<usize, EtlError> {
    let has_more = range.has_more();
    let last = range.last();
    let mut kept = 0u64;
    for (hash, account) in range.accounts().iter().take_while(|(hash, _)| *hash <= chunk.end) {
        writes.accounts.insert(&hash, &account)?;
        writes.add_bytes(32 + account.length() as u64);
        kept += 1;
    }
    counts.accounts += kept;
    // Every node of the range is a node of the pivot's trie, those above accounts past the
    // chunk's end included (the next chunk computes them again, identical).
    writes.add_account_nodes(|take| range.for_each_stored_node(take))?;
    match last.filter(|last| has_more && *last < chunk.end).and_then(|last| last.checked_next()) {
        Some(next) => chunk.next = next,
        None => chunk.done = true,
    }
    debug!(target: "sync::snap::accounts", kept, next = %chunk.next, done = chunk.done, "account range stored");
    Ok(usize::try_from(kept).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SnapSyncConfig;
    use snapsync_etl::CollectorConfig;
    use snapsync_fetch::verify_account_range;
    use snapsync_primitives::{AccountHash, TrieAccount};

    fn writes() -> StepWrites {
        StepWrites::new(&CollectorConfig::new(1 << 20), &SnapSyncConfig::default())
    }

    fn hash(byte: u8) -> AccountHash {
        AccountHash::from(B256::repeat_byte(byte))
    }

    /// A verified range of the given accounts (the whole trie: no proof needed).
    fn whole_trie(hashes: &[u8]) -> VerifiedAccountRange {
        let accounts: Vec<_> = hashes.iter().map(|&b| (hash(b), TrieAccount::EMPTY)).collect();
        let root = snapsync_trie::trie_root(
            accounts.iter().map(|(hash, account)| (*hash, alloy_rlp::encode(account))),
        )
        .unwrap();
        let request = AccountRangeRequest {
            root,
            origin: AccountHash::ZERO,
            limit: AccountHash::MAX,
            response_bytes: 1 << 20,
        };
        let reply = snapsync_primitives::AccountRange {
            request_id: 1,
            accounts: accounts
                .iter()
                .map(|(hash, account)| snapsync_primitives::AccountEntry {
                    hash: *hash,
                    account: (*account).into(),
                })
                .collect(),
            proof: Vec::new(),
        };
        verify_account_range(&request, reply).unwrap().verified().unwrap()
    }

    #[test]
    fn accounts_past_the_chunk_end_are_left_to_the_next_chunk() {
        let mut chunk = AccountChunk { next: hash(0x10), end: hash(0x30), done: false };
        let mut counts = Counts::default();
        let mut writes = writes();
        let kept =
            apply_range(&mut chunk, &whole_trie(&[0x10, 0x20, 0x40]), &mut writes, &mut counts)
                .unwrap();
        assert_eq!((kept, counts.accounts), (2, 2));
        assert_eq!(writes.accounts.len(), 2);
        assert!(chunk.done);
    }

    /// The range's nodes land in the store when the step keeps nodes, but the leaf nodes below
    /// the root (a root leaf is encoded again from its account, byte for byte the node
    /// verification hashed), and none when it does not; the stored trie finds every node, the
    /// leaf nodes derived from the accounts.
    #[test]
    fn a_range_s_nodes_are_stored_but_leaf_nodes_below_the_root_only_if_the_step_keeps_nodes() {
        use snapsync_storage::{
            AccountTrie, KeyRange, StateRead, StateStore, StateWrite, test_utils::MapStore,
        };
        use snapsync_trie::{Nibbles, NodeSource, TrieBuilder, VecSink};
        use std::collections::BTreeMap;

        // Three leaf nodes below a root branch; one leaf, the root itself.
        for (leaves, nodes) in [(&[0x10, 0x20, 0x40][..], 4), (&[0x10][..], 1)] {
            let range = whole_trie(leaves);
            let mut builder = TrieBuilder::new(VecSink::default());
            for (hash, account) in range.accounts() {
                builder.add_leaf(hash.as_ref(), &alloy_rlp::encode(account)).unwrap();
            }
            let expected: BTreeMap<_, _> = builder.finish().unwrap().1.nodes.into_iter().collect();
            assert_eq!(expected.len(), nodes);
            for keep in [false, true] {
                let mut chunk =
                    AccountChunk { next: hash(0x00), end: AccountHash::MAX, done: false };
                let mut writes = writes().keeping_nodes(keep);
                apply_range(&mut chunk, &range, &mut writes, &mut Counts::default()).unwrap();
                let store = MapStore::new();
                let mut txn = store.writer().unwrap();
                for (hash, account) in range.accounts() {
                    txn.put_account(&hash, &account).unwrap();
                }
                writes.write_into(&mut txn).unwrap();
                txn.commit().unwrap();
                let view = store.reader().unwrap();
                let stored: BTreeMap<_, _> =
                    view.account_nodes(KeyRange::all()).unwrap().map(Result::unwrap).collect();
                if !keep {
                    assert!(stored.is_empty());
                    continue;
                }
                // The root only: a branch over three leaves, or the one leaf itself.
                assert_eq!(stored.len(), 1);
                assert_eq!(stored.get(&Nibbles::default()), expected.get(&Nibbles::default()));
                for (path, node) in &expected {
                    assert_eq!(AccountTrie::new(&view).node(path).unwrap().as_ref(), Some(node));
                }
            }
        }
    }

    #[test]
    fn an_exhausted_trie_finishes_the_chunk() {
        let mut chunk = AccountChunk { next: hash(0x00), end: hash(0x80), done: false };
        let mut counts = Counts::default();
        apply_range(&mut chunk, &whole_trie(&[0x10]), &mut writes(), &mut counts).unwrap();
        assert!(chunk.done);
        assert_eq!(counts.accounts, 1);
    }
}
