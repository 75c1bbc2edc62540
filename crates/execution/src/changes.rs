//! A block's state changes: written through [`StateWrite`] ([`write_changes`]) and kept as a
//! [`ChangeSet`] (the values before the block) so the block can be reverted exactly
//! ([`revert_changes`]).
//!
//! revm's bundle names accounts by address and slots by key; the store is hashed, so each is
//! hashed once here. An account whose storage changed gets its storage root recomputed (its
//! changed slots rehashed against its stored storage-trie nodes, see [`StateRoot`]); an account
//! revm removed (self-destructed, or empty and touched under EIP-161) loses its slots too. Codes
//! are written by hash and never removed (they are valid under any root).

use crate::{BlockError, StateRoot};
use alloy_primitives::{B256, U256};
use revm::database::BundleState;
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, KECCAK_EMPTY, SlotHash, TrieAccount};
use snapsync_storage::{KeyRange, StateWrite, account_slots};
use std::collections::{BTreeMap, BTreeSet};

/// The values a block changed, as they were before it: enough to revert it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Each changed account and its value before the block (`None`: it did not exist).
    pub accounts: Vec<(AccountHash, Option<TrieAccount>)>,
    /// Each changed slot and its value before the block (zero: it was not set).
    pub slots: Vec<(AccountHash, SlotHash, U256)>,
}

/// The keys whose leaves changed, for the state root update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Accounts inserted, updated or removed.
    pub accounts: BTreeSet<AccountHash>,
    /// Per account, the slots inserted, updated or removed.
    pub slots: BTreeMap<AccountHash, BTreeSet<SlotHash>>,
}

impl Touched {
    /// Adds the keys of `other`.
    pub fn extend(&mut self, other: &Self) {
        self.accounts.extend(other.accounts.iter().copied());
        for (account, slots) in &other.slots {
            self.slots.entry(*account).or_default().extend(slots.iter().copied());
        }
    }

    /// The keys a change set names.
    pub fn of(changes: &ChangeSet) -> Self {
        let mut touched = Self::default();
        for (account, _) in &changes.accounts {
            touched.accounts.insert(*account);
        }
        for (account, slot, _) in &changes.slots {
            touched.accounts.insert(*account);
            touched.slots.entry(*account).or_default().insert(*slot);
        }
        touched
    }
}

/// What [`write_changes`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The values before.
    pub changes: ChangeSet,
    /// The keys written.
    pub touched: Touched,
}

/// Writes the changes of `bundle` (one block's, or several blocks') into `txn`: codes, slots,
/// then accounts with their new storage roots (each changed storage trie updated, see
/// [`StateRoot::update_storage`]). The account trie is not updated here.
///
/// # Errors
/// Store failures.
pub fn write_changes<W: StateWrite + ?Sized>(
    txn: &mut W,
    bundle: &BundleState,
) -> Result<Written, BlockError> {
    for (hash, code) in &bundle.contracts {
        if *hash != KECCAK_EMPTY {
            txn.put_code(hash, &code.original_bytes())?;
        }
    }
    let mut written = Written::default();
    let mut slots_written: BTreeSet<SlotHash> = BTreeSet::new();
    let mut accounts: Vec<_> =
        bundle.state.iter().map(|(address, account)| (AccountHash::of(address), account)).collect();
    accounts.sort_by_key(|(hash, _)| *hash);
    for (hash, account) in accounts {
        let before = txn.account(&hash)?;
        slots_written.clear();
        if account.was_destroyed() || account.info.is_none() {
            wipe_slots(txn, hash, &mut written.changes, &mut slots_written)?;
        }
        for (key, slot) in &account.storage {
            let present = slot.present_value;
            let slot_hash = SlotHash::of(&B256::from(*key));
            let stored = txn.slot(&hash, &slot_hash)?.unwrap_or_default();
            if stored == present {
                continue;
            }
            if !account.was_destroyed() || stored != U256::ZERO {
                written.changes.slots.push((hash, slot_hash, stored));
            }
            txn.put_slot(&hash, &slot_hash, present)?;
            slots_written.insert(slot_hash);
        }
        let storage_root = if slots_written.is_empty() {
            None
        } else {
            Some(StateRoot::update_storage(txn, hash, &slots_written)?)
        };
        let after = match &account.info {
            None => None,
            Some(info) => {
                let storage_root = if let Some(root) = storage_root {
                    root
                } else {
                    before.map_or(EMPTY_ROOT_HASH, |account| account.storage_root)
                };
                Some(TrieAccount {
                    nonce: info.nonce,
                    balance: info.balance,
                    storage_root,
                    code_hash: info.code_hash,
                })
            }
        };
        if after != before {
            written.changes.accounts.push((hash, before));
            match after {
                Some(account) => txn.put_account(&hash, &account)?,
                None => {
                    txn.delete_account(&hash)?;
                }
            }
        }
    }
    // revm's bundle iterates slots in hash-map order: sorted, a block's change set is the same
    // bytes whoever executes it (each slot is recorded once).
    written.changes.slots.sort_unstable_by_key(|(account, slot, _)| (*account, *slot));
    written.touched = Touched::of(&written.changes);
    Ok(written)
}

/// Removes every slot of `account`, recording each in `changes` and `written`.
fn wipe_slots<W: StateWrite + ?Sized>(
    txn: &mut W,
    account: AccountHash,
    changes: &mut ChangeSet,
    written: &mut BTreeSet<SlotHash>,
) -> Result<(), BlockError> {
    let slots: Vec<(SlotHash, U256)> =
        txn.slots(&account, KeyRange::all())?.collect::<Result<_, _>>()?;
    if slots.is_empty() {
        return Ok(());
    }
    written.extend(slots.iter().map(|(slot, _)| *slot));
    changes.slots.extend(slots.into_iter().map(|(slot, value)| (account, slot, value)));
    txn.delete_slots(account_slots(account, KeyRange::all()))?;
    Ok(())
}

/// Puts back the values of `changes` (a block's, applied after it): the flat state is then the
/// block's parent's. Returns the keys written, for the state root update.
///
/// # Errors
/// Store failures.
pub fn revert_changes<W: StateWrite + ?Sized>(
    txn: &mut W,
    changes: &ChangeSet,
) -> Result<Touched, BlockError> {
    for (account, slot, value) in &changes.slots {
        txn.put_slot(account, slot, *value)?;
    }
    for (account, before) in &changes.accounts {
        match before {
            Some(value) => txn.put_account(account, value)?,
            None => {
                txn.delete_account(account)?;
            }
        }
    }
    Ok(Touched::of(changes))
}

/// The bytes of an encoded account entry: hash, presence, nonce, balance, storage root, code
/// hash.
const ACCOUNT_ENTRY: usize = 32 + 1 + 8 + 32 + 32 + 32;
/// The bytes of an encoded slot entry: account, slot, value.
const SLOT_ENTRY: usize = 32 * 3;

impl ChangeSet {
    /// Whether the block changed nothing.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.slots.is_empty()
    }

    /// The change set as bytes: the two counts (u32, big-endian), then fixed-size entries.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            8 + self.accounts.len() * ACCOUNT_ENTRY + self.slots.len() * SLOT_ENTRY,
        );
        // Counts above u32::MAX cannot occur: a block's gas bounds the entries it changes.
        out.extend_from_slice(
            &u32::try_from(self.accounts.len()).unwrap_or(u32::MAX).to_be_bytes(),
        );
        out.extend_from_slice(&u32::try_from(self.slots.len()).unwrap_or(u32::MAX).to_be_bytes());
        for (hash, before) in &self.accounts {
            out.extend_from_slice(hash.0.as_slice());
            let account = before.unwrap_or_default();
            out.push(u8::from(before.is_some()));
            out.extend_from_slice(&account.nonce.to_be_bytes());
            out.extend_from_slice(&account.balance.to_be_bytes::<32>());
            out.extend_from_slice(account.storage_root.as_slice());
            out.extend_from_slice(account.code_hash.as_slice());
        }
        for (account, slot, value) in &self.slots {
            out.extend_from_slice(account.0.as_slice());
            out.extend_from_slice(slot.0.as_slice());
            out.extend_from_slice(&value.to_be_bytes::<32>());
        }
        out
    }

    /// Decodes [`encode`](Self::encode)'s bytes; `None` when they are not a change set (the
    /// lengths must match the counts exactly, so nothing is allocated beyond the input's size).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (counts, rest) = bytes.split_first_chunk::<8>()?;
        let accounts = u32::from_be_bytes(counts[..4].try_into().ok()?) as usize;
        let slots = u32::from_be_bytes(counts[4..].try_into().ok()?) as usize;
        let expected =
            accounts.checked_mul(ACCOUNT_ENTRY)?.checked_add(slots.checked_mul(SLOT_ENTRY)?)?;
        if rest.len() != expected {
            return None;
        }
        let (account_bytes, slot_bytes) = rest.split_at(accounts * ACCOUNT_ENTRY);
        let b256 = |bytes: &[u8]| B256::from_slice(bytes);
        let accounts = account_bytes
            .chunks_exact(ACCOUNT_ENTRY)
            .map(|entry| {
                let account = TrieAccount {
                    nonce: u64::from_be_bytes(entry[33..41].try_into().ok()?),
                    balance: U256::from_be_slice(&entry[41..73]),
                    storage_root: b256(&entry[73..105]),
                    code_hash: b256(&entry[105..137]),
                };
                let before = match entry[32] {
                    0 => None,
                    1 => Some(account),
                    _ => return None,
                };
                Some((AccountHash(b256(&entry[..32])), before))
            })
            .collect::<Option<_>>()?;
        let slots = slot_bytes
            .chunks_exact(SLOT_ENTRY)
            .map(|entry| {
                (
                    AccountHash(b256(&entry[..32])),
                    SlotHash(b256(&entry[32..64])),
                    U256::from_be_slice(&entry[64..]),
                )
            })
            .collect();
        Some(Self { accounts, slots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_sets_round_trip_and_reject_bad_lengths() {
        let changes = ChangeSet {
            accounts: vec![
                (AccountHash(B256::repeat_byte(1)), None),
                (
                    AccountHash(B256::repeat_byte(2)),
                    Some(TrieAccount {
                        nonce: 5,
                        balance: U256::from(9),
                        ..TrieAccount::default()
                    }),
                ),
            ],
            slots: vec![(
                AccountHash(B256::repeat_byte(2)),
                SlotHash(B256::repeat_byte(3)),
                U256::from(4),
            )],
        };
        let bytes = changes.encode();
        assert_eq!(ChangeSet::decode(&bytes), Some(changes));
        assert_eq!(ChangeSet::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(ChangeSet::decode(&[0xff; 8]), None);
        assert_eq!(ChangeSet::decode(&[]), None);
        assert_eq!(ChangeSet::decode(&[0; 8]), Some(ChangeSet::default()));
    }
}
