//! The accounts of a verified range, held compactly: [`AccountList`].
//!
//! A verified account range waits, with the others in flight, until a step takes it: the replies
//! waiting are what the memory budget's reply share bounds. Decoded, an account with its hash
//! takes 136 bytes; most accounts have no storage and no code, and a small nonce and balance, so
//! the snap/1 wire form of one is about 45 bytes. The list keeps each account's fields trimmed
//! (no leading zero bytes, no empty root or hash) and decodes them as they are read, so a held
//! range takes about what it took on the wire.

use alloy_primitives::{B256, U256};
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};

/// The header bit of an account with a storage root other than the empty one.
const HAS_STORAGE: u8 = 0x10;
/// The header bit of an account with a code hash other than the empty one.
const HAS_CODE: u8 = 0x20;
/// The header bits holding the nonce's length in bytes (0 to 8).
const NONCE_LENGTH: u8 = 0x0f;

/// Accounts in hash order, each held in a few bytes more than its fields need (see the
/// module docs): read them with [`iter`](Self::iter).
///
/// ```
/// use snapsync_fetch::AccountList;
/// use snapsync_primitives::{AccountHash, TrieAccount};
/// let account = TrieAccount { nonce: 7, ..TrieAccount::EMPTY };
/// let list: AccountList = [(AccountHash::ZERO, account)].into_iter().collect();
/// assert_eq!(list.iter().collect::<Vec<_>>(), [(AccountHash::ZERO, account)]);
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccountList {
    hashes: Vec<AccountHash>,
    /// Each account's fields end to end: a header byte (the nonce's length, whether a storage
    /// root and a code hash follow), the balance's length, the nonce and balance big-endian
    /// without leading zeros, then the storage root and the code hash if not empty.
    fields: Vec<u8>,
}

impl AccountList {
    /// An empty list with room for `accounts` accounts of about the size of an account without
    /// storage or code.
    pub fn with_capacity(accounts: usize) -> Self {
        Self { hashes: Vec::with_capacity(accounts), fields: Vec::with_capacity(accounts * 12) }
    }

    /// Adds `account` with hash `hash` at the end (the caller keeps the hash order).
    #[expect(clippy::cast_possible_truncation, reason = "lengths of at most 8 and 32 bytes")]
    pub fn push(&mut self, hash: AccountHash, account: &TrieAccount) {
        let nonce = account.nonce.to_be_bytes();
        let nonce = trimmed(&nonce);
        let balance = account.balance.to_be_bytes::<32>();
        let balance = trimmed(&balance);
        let has_storage = account.storage_root != EMPTY_ROOT_HASH;
        let has_code = account.code_hash != KECCAK_EMPTY;
        // At most 8 and 32 bytes: the lengths fit their bits.
        let mut header = nonce.len() as u8;
        if has_storage {
            header |= HAS_STORAGE;
        }
        if has_code {
            header |= HAS_CODE;
        }
        self.fields.extend_from_slice(&[header, balance.len() as u8]);
        self.fields.extend_from_slice(nonce);
        self.fields.extend_from_slice(balance);
        if has_storage {
            self.fields.extend_from_slice(account.storage_root.as_slice());
        }
        if has_code {
            self.fields.extend_from_slice(account.code_hash.as_slice());
        }
        self.hashes.push(hash);
    }

    /// How many accounts the list holds.
    pub const fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the list holds no account.
    pub const fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The accounts' hashes, in order.
    pub fn hashes(&self) -> &[AccountHash] {
        &self.hashes
    }

    /// The accounts with their hashes, in order, decoded as they are read.
    pub fn iter(&self) -> AccountListIter<'_> {
        AccountListIter { hashes: self.hashes.iter(), fields: &self.fields }
    }

    /// The accounts with their hashes, decoded into a vector.
    pub fn to_vec(&self) -> Vec<(AccountHash, TrieAccount)> {
        self.iter().collect()
    }

    /// Releases the capacity grown beyond the accounts.
    pub fn shrink_to_fit(&mut self) {
        self.hashes.shrink_to_fit();
        self.fields.shrink_to_fit();
    }

    /// Bytes the list holds on the heap: its capacities.
    pub const fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * size_of::<AccountHash>() + self.fields.capacity()
    }
}

impl<'a> IntoIterator for &'a AccountList {
    type Item = (AccountHash, TrieAccount);
    type IntoIter = AccountListIter<'a>;

    fn into_iter(self) -> AccountListIter<'a> {
        self.iter()
    }
}

/// The accounts of an [`AccountList`] with their hashes, in order, decoded as they are read.
#[derive(Debug, Clone)]
pub struct AccountListIter<'a> {
    hashes: std::slice::Iter<'a, AccountHash>,
    /// The fields of the accounts not read yet.
    fields: &'a [u8],
}

impl Iterator for AccountListIter<'_> {
    type Item = (AccountHash, TrieAccount);

    fn next(&mut self) -> Option<Self::Item> {
        let hash = *self.hashes.next()?;
        Some((hash, next_account(&mut self.fields)?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Each hash has its fields (see `next_account`).
        self.hashes.size_hint()
    }
}

impl FromIterator<(AccountHash, TrieAccount)> for AccountList {
    fn from_iter<I: IntoIterator<Item = (AccountHash, TrieAccount)>>(accounts: I) -> Self {
        let accounts = accounts.into_iter();
        let mut list = Self::with_capacity(accounts.size_hint().0);
        for (hash, account) in accounts {
            list.push(hash, &account);
        }
        list
    }
}

/// `bytes` without its leading zero bytes.
fn trimmed(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|byte| **byte == 0).count();
    &bytes[zeros..]
}

/// Decodes the account at the front of `fields` and moves past it; `None` if `fields` does not
/// start with one (never, for the fields [`AccountList::push`] wrote).
fn next_account(fields: &mut &[u8]) -> Option<TrieAccount> {
    let (&[header, balance_length], rest) = fields.split_first_chunk::<2>()?;
    let (nonce, rest) = rest.split_at_checked(usize::from(header & NONCE_LENGTH))?;
    let (balance, mut rest) = rest.split_at_checked(usize::from(balance_length))?;
    let mut hash_or = |flag: u8, empty: B256| -> Option<B256> {
        if header & flag == 0 {
            return Some(empty);
        }
        let (hash, after) = rest.split_first_chunk::<32>()?;
        rest = after;
        Some(B256::from(*hash))
    };
    let storage_root = hash_or(HAS_STORAGE, EMPTY_ROOT_HASH)?;
    let code_hash = hash_or(HAS_CODE, KECCAK_EMPTY)?;
    *fields = rest;
    Some(TrieAccount {
        nonce: nonce.iter().fold(0, |nonce, byte| (nonce << 8) | u64::from(*byte)),
        balance: U256::try_from_be_slice(balance)?,
        storage_root,
        code_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn account() -> impl Strategy<Value = (AccountHash, TrieAccount)> {
        let hash = any::<[u8; 32]>().prop_map(B256::from);
        let root = prop_oneof![Just(EMPTY_ROOT_HASH), Just(B256::ZERO), hash.clone()];
        let code = prop_oneof![Just(KECCAK_EMPTY), Just(B256::ZERO), hash.clone()];
        let balance = prop_oneof![
            Just(U256::ZERO),
            Just(U256::MAX),
            any::<u64>().prop_map(U256::from),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        ];
        let nonce = prop_oneof![Just(0), Just(u64::MAX), any::<u64>()];
        (hash, nonce, balance, root, code).prop_map(
            |(hash, nonce, balance, storage_root, code_hash)| {
                (AccountHash::from(hash), TrieAccount { nonce, balance, storage_root, code_hash })
            },
        )
    }

    proptest! {
        /// Every account reads back as it was pushed, in order: nonces and balances of every
        /// length, zero and all-ones included, empty and other roots and code hashes.
        #[test]
        fn accounts_read_back_as_pushed(accounts in prop::collection::vec(account(), 0..64)) {
            let list: AccountList = accounts.iter().copied().collect();
            prop_assert_eq!(list.len(), accounts.len());
            prop_assert_eq!(&list.to_vec(), &accounts);
            let hashes: Vec<AccountHash> = accounts.iter().map(|(hash, _)| *hash).collect();
            prop_assert_eq!(list.hashes(), hashes.as_slice());
        }
    }

    #[test]
    fn an_account_without_storage_or_code_takes_its_trimmed_fields() {
        let account =
            TrieAccount { nonce: 1, balance: U256::from(1_000_000u32), ..TrieAccount::EMPTY };
        let list: AccountList = [(AccountHash::ZERO, account)].into_iter().collect();
        // Header, balance length, one nonce byte, three balance bytes.
        assert_eq!(list.fields.len(), 2 + 1 + 3);
        let contract = TrieAccount { storage_root: B256::ZERO, code_hash: B256::ZERO, ..account };
        let list: AccountList = [(AccountHash::ZERO, contract)].into_iter().collect();
        assert_eq!(list.fields.len(), 2 + 1 + 3 + 64);
    }
}
