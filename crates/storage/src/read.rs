//! [`StateRead`]: what snap sync, healing and the chain stages read from a store.

use crate::{KeyRange, StoreError};
use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};

/// A streaming read: entries in ascending key order, each a `Result` (a corrupt entry or a
/// backend failure midway ends the stream with an error).
pub type StoreIter<'a, T> = Box<dyn Iterator<Item = Result<T, StoreError>> + Send + 'a>;

/// One storage slot in the global (account, slot) order.
pub type SlotEntry = (AccountHash, SlotHash, U256);

/// One storage-trie node in the global (account, path) order.
pub type StorageNodeEntry = (AccountHash, Nibbles, Bytes);

/// Reads of a consistent snapshot (a read view) or of a write transaction's own state (its
/// writes visible to itself).
///
/// Keys are typed, never bytes. Ranges stream in ascending key order; nibble paths order as
/// the trie is walked (a path before its extensions, siblings in nibble order). Zero storage
/// values are never stored, so [`slot`](Self::slot) returns `None` rather than zero.
///
/// The trait is dyn-compatible: algorithms that only read (state roots, node sources for
/// healing, range proofs) take `&dyn StateRead` or a generic `R: StateRead + ?Sized`.
///
/// # Errors
/// Every method fails with [`StoreError`] on a backend failure or a corrupt stored entry.
pub trait StateRead: Send {
    /// The account with hash `hash`.
    fn account(&self, hash: &AccountHash) -> Result<Option<TrieAccount>, StoreError>;

    /// Accounts whose hash is in `range`, ascending.
    fn accounts(
        &self,
        range: KeyRange<AccountHash>,
    ) -> Result<StoreIter<'_, (AccountHash, TrieAccount)>, StoreError>;

    /// The value of `slot` in the storage of `account`.
    fn slot(&self, account: &AccountHash, slot: &SlotHash) -> Result<Option<U256>, StoreError>;

    /// Slots of `account` whose hash is in `range`, ascending.
    fn slots(
        &self,
        account: &AccountHash,
        range: KeyRange<SlotHash>,
    ) -> Result<StoreIter<'_, (SlotHash, U256)>, StoreError>;

    /// Slots of every account, in (account, slot) order, within `range` (root computation
    /// streams all of them in one pass).
    fn all_slots(
        &self,
        range: KeyRange<(AccountHash, SlotHash)>,
    ) -> Result<StoreIter<'_, SlotEntry>, StoreError>;

    /// The code with hash `hash`.
    fn code(&self, hash: &B256) -> Result<Option<Bytes>, StoreError>;

    /// Codes whose hash is in `range`, ascending.
    fn codes(&self, range: KeyRange<B256>) -> Result<StoreIter<'_, (B256, Bytes)>, StoreError>;

    /// The account-trie node at `path` (its RLP).
    fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, StoreError>;

    /// Account-trie nodes whose path is in `range`, in trie order.
    fn account_nodes(
        &self,
        range: KeyRange<Nibbles>,
    ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError>;

    /// The storage-trie node of `account` at `path`.
    fn storage_node(
        &self,
        account: &AccountHash,
        path: &Nibbles,
    ) -> Result<Option<Bytes>, StoreError>;

    /// Storage-trie nodes of `account` whose path is in `range`, in trie order.
    fn storage_nodes(
        &self,
        account: &AccountHash,
        range: KeyRange<Nibbles>,
    ) -> Result<StoreIter<'_, (Nibbles, Bytes)>, StoreError>;

    /// Storage-trie nodes of every account, in (account, path) order, within `range`.
    fn all_storage_nodes(
        &self,
        range: KeyRange<(AccountHash, Nibbles)>,
    ) -> Result<StoreIter<'_, StorageNodeEntry>, StoreError>;

    /// The header of block `number` (its RLP).
    fn header(&self, number: u64) -> Result<Option<Bytes>, StoreError>;

    /// Headers whose number is in `range`, ascending.
    fn headers(&self, range: KeyRange<u64>) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError>;

    /// The number of the stored header with hash `hash`.
    fn header_number(&self, hash: &B256) -> Result<Option<u64>, StoreError>;

    /// The highest stored header.
    fn last_header(&self) -> Result<Option<(u64, Bytes)>, StoreError>;

    /// The body of block `number` (its RLP).
    fn body(&self, number: u64) -> Result<Option<Bytes>, StoreError>;

    /// Bodies whose number is in `range`, ascending.
    fn bodies(&self, range: KeyRange<u64>) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError>;

    /// The highest stored body.
    fn last_body(&self) -> Result<Option<(u64, Bytes)>, StoreError>;

    /// The receipts of block `number` (the RLP list of its receipts).
    fn block_receipts(&self, number: u64) -> Result<Option<Bytes>, StoreError>;

    /// Blocks' receipts whose number is in `range`, ascending.
    fn block_receipts_range(
        &self,
        range: KeyRange<u64>,
    ) -> Result<StoreIter<'_, (u64, Bytes)>, StoreError>;

    /// The checkpoint record of stage `stage` (encoded by the pipeline).
    fn checkpoint(&self, stage: &str) -> Result<Option<Bytes>, StoreError>;

    /// The progress record under `key` (encoded by its owner, e.g. the snap stage).
    fn progress(&self, key: &str) -> Result<Option<Bytes>, StoreError>;

    /// Every progress record, ascending by key.
    fn progress_records(&self) -> Result<StoreIter<'_, (String, Bytes)>, StoreError>;

    /// The lowest stored header.
    fn first_header(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
        self.headers(KeyRange::all())?.next().transpose()
    }

    /// How many account-trie nodes are stored (a full scan unless the backend keeps a count).
    fn count_account_nodes(&self) -> Result<u64, StoreError> {
        count(self.account_nodes(KeyRange::all())?)
    }

    /// How many storage-trie nodes are stored, over all accounts.
    fn count_storage_nodes(&self) -> Result<u64, StoreError> {
        count(self.all_storage_nodes(KeyRange::all())?)
    }

    /// Whether no account, slot or trie node is stored (codes and chain data do not count).
    fn is_state_empty(&self) -> Result<bool, StoreError> {
        Ok(self.accounts(KeyRange::all())?.next().transpose()?.is_none()
            && self.all_slots(KeyRange::all())?.next().transpose()?.is_none()
            && self.account_nodes(KeyRange::all())?.next().transpose()?.is_none()
            && self.all_storage_nodes(KeyRange::all())?.next().transpose()?.is_none())
    }
}

fn count<T>(entries: StoreIter<'_, T>) -> Result<u64, StoreError> {
    let mut count = 0;
    for entry in entries {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// The slots of one account in `range`, as a range over the global (account, slot) order (an
/// unbounded end stays within the account).
pub fn account_slots(
    account: AccountHash,
    range: KeyRange<SlotHash>,
) -> KeyRange<(AccountHash, SlotHash)> {
    within(account, range, SlotHash::ZERO, SlotHash::MAX)
}

/// The storage-trie nodes of one account in `range`, as a range over the global (account, path)
/// order (an unbounded end stays within the account: the longest all-`f` path is the last).
pub fn account_storage_nodes(
    account: AccountHash,
    range: KeyRange<Nibbles>,
) -> KeyRange<(AccountHash, Nibbles)> {
    let last = Nibbles::from_nibbles([0x0f; 64]);
    within(account, range, Nibbles::new(), last)
}

fn within<K>(
    account: AccountHash,
    range: KeyRange<K>,
    first: K,
    last: K,
) -> KeyRange<(AccountHash, K)> {
    use std::ops::Bound;
    let start = match range.start {
        Bound::Unbounded => Bound::Included((account, first)),
        bound => bound.map(|key| (account, key)),
    };
    let end = match range.end {
        Bound::Unbounded => Bound::Included((account, last)),
        bound => bound.map(|key| (account, key)),
    };
    KeyRange::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::B256;
    use std::ops::Bound;

    #[test]
    fn one_accounts_ranges_stay_within_the_account() {
        let account = AccountHash(B256::repeat_byte(7));
        let slots = account_slots(account, KeyRange::all());
        assert_eq!(slots.start, Bound::Included((account, SlotHash::ZERO)));
        assert_eq!(slots.end, Bound::Included((account, SlotHash::MAX)));
        let next = AccountHash(B256::repeat_byte(8));
        let nodes = account_storage_nodes(account, KeyRange::all());
        assert!(nodes.contains_key(&(account, Nibbles::new())));
        assert!(nodes.contains_key(&(account, Nibbles::from_nibbles([0x0f; 64]))));
        assert!(!nodes.contains_key(&(next, Nibbles::new())));
        let from = account_slots(account, (SlotHash::MAX..).into());
        assert!(!from.contains_key(&(next, SlotHash::ZERO)));
    }
}
