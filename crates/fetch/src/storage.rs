//! Storage ranges: `GetStorageRanges` asked for several accounts, each slot set checked against
//! its own account's storage root.

use crate::{Answer, InvalidResponse, budget::check_budget};
use alloy_primitives::{B256, U256};
use snapsync_primitives::{AccountHash, GetStorageRanges, SlotHash, StorageRanges, StorageSlot};
use snapsync_trie::{Nibbles, NodeList, ProofLimits, StoredNodes, verify_range_proof_into};

/// One account whose storage is asked for, with the storage root its (verified) account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageTarget {
    /// The account.
    pub account: AccountHash,
    /// Its storage root, from a verified account.
    pub storage_root: B256,
}

/// What was asked: the storage of `accounts` in the state with root `root`; `origin` and `limit`
/// bound the first account's slots only (servers apply them to the first account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRangesRequest {
    /// The state root the accounts belong to (selects the state on the server).
    pub root: B256,
    /// The accounts, in the order asked.
    pub accounts: Vec<StorageTarget>,
    /// First slot of the first account.
    pub origin: SlotHash,
    /// Last slot of the first account.
    pub limit: SlotHash,
    /// Byte budget of the reply.
    pub response_bytes: u64,
}

impl StorageRangesRequest {
    /// The wire message for this request (origin and limit left out when they are the whole
    /// hash space, as geth sends them).
    pub fn to_message(&self, request_id: u64) -> GetStorageRanges {
        GetStorageRanges {
            request_id,
            root_hash: self.root,
            account_hashes: self.accounts.iter().map(|target| target.account).collect(),
            starting_hash: (self.origin != SlotHash::ZERO).then_some(self.origin),
            limit_hash: (self.limit != SlotHash::MAX).then_some(self.limit),
            response_bytes: self.response_bytes,
        }
    }
}

/// One account's slots, proven against its storage root: all of them from the origin on when
/// `has_more` is false, else a prefix; with the storage-trie nodes their verification computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStorage {
    account: AccountHash,
    slots: Vec<(SlotHash, U256)>,
    has_more: bool,
    nodes: NodeList,
}

impl VerifiedStorage {
    /// The account.
    pub const fn account(&self) -> AccountHash {
        self.account
    }

    /// The slots, in hash order, values non-zero.
    pub fn slots(&self) -> &[(SlotHash, U256)] {
        &self.slots
    }

    /// Takes the slots.
    pub fn into_slots(self) -> Vec<(SlotHash, U256)> {
        self.slots
    }

    /// Whether the storage trie holds slots after the last one returned.
    pub const fn has_more(&self) -> bool {
        self.has_more
    }

    /// The hashed nodes of the account's storage trie that verification computed and a store
    /// keeps: all but the leaf nodes below the root (all of the trie's others when the set came
    /// without a proof). As for [`VerifiedAccountRange::nodes`](crate::VerifiedAccountRange::nodes),
    /// they are real nodes of the trie with the target's storage root.
    pub const fn nodes(&self) -> &NodeList {
        &self.nodes
    }

    /// Hands `f` each of [`nodes`](Self::nodes) with its path.
    ///
    /// # Errors
    /// The first error of `f`; the nodes after it are not visited.
    pub fn for_each_stored_node<E>(
        &self,
        mut f: impl FnMut(&Nibbles, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.nodes.iter().try_for_each(|(path, rlp)| f(path, rlp))
    }
}

/// The verified slot sets of a reply, one per account from the first requested on (a server
/// may stop before the last account; ask again for the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStorageRanges {
    sets: Vec<VerifiedStorage>,
}

impl VerifiedStorageRanges {
    /// The sets, in request order.
    pub fn sets(&self) -> &[VerifiedStorage] {
        &self.sets
    }

    /// Takes the sets.
    pub fn into_sets(self) -> Vec<VerifiedStorage> {
        self.sets
    }
}

/// Checks a `StorageRanges` reply against its request.
///
/// # Errors
/// [`InvalidResponse`] when there are more sets than accounts, a proof on a set that is not the
/// last, a set that does not verify against its account's storage root, a stored zero or
/// malformed value, or a reply that ignores the byte budget.
pub fn verify_storage_ranges(
    request: &StorageRangesRequest,
    reply: StorageRanges,
) -> Result<Answer<VerifiedStorageRanges>, InvalidResponse> {
    if reply.slots.is_empty() && reply.proof.is_empty() {
        return Ok(Answer::Unavailable);
    }
    if reply.slots.len() > request.accounts.len() {
        return Err(InvalidResponse::TooManyItems {
            kind: "storage slot sets",
            got: reply.slots.len(),
            requested: request.accounts.len(),
        });
    }
    if reply.slots.is_empty() {
        return Err(InvalidResponse::ProofNotLast { sets: 0 });
    }
    check_budget(
        reply.slots.iter().flatten().map(|slot| 32 + slot.data.len()),
        request.response_bytes,
    )?;
    let last = reply.slots.len() - 1;
    let sets = reply
        .slots
        .into_iter()
        .zip(&request.accounts)
        .enumerate()
        .map(|(index, (slots, target))| {
            let origin = if index == 0 { request.origin } else { SlotHash::ZERO };
            let proof: &[_] = if index == last { &reply.proof } else { &[] };
            verify_slot_set(index, target, origin, &slots, proof)
        })
        .collect::<Result<_, _>>()?;
    Ok(Answer::Verified(VerifiedStorageRanges { sets }))
}

/// Verifies one account's slots from `origin` against its storage root.
fn verify_slot_set(
    index: usize,
    target: &StorageTarget,
    origin: SlotHash,
    slots: &[StorageSlot],
    proof: &[alloy_primitives::Bytes],
) -> Result<VerifiedStorage, InvalidResponse> {
    let account = target.account;
    let keys: Vec<SlotHash> = slots.iter().map(|slot| slot.hash).collect();
    let values: Vec<&[u8]> = slots.iter().map(|slot| slot.data.as_ref()).collect();
    let (has_more, StoredNodes(mut nodes)) = verify_range_proof_into(
        target.storage_root,
        origin.as_ref(),
        &keys,
        &values,
        proof,
        ProofLimits::default(),
        StoredNodes(NodeList::default()),
    )
    .map_err(|source| InvalidResponse::StorageProof { account: account.into(), index, source })?;
    // The reply is held until a step takes it: with its nodes only, not their growth slack.
    nodes.shrink_to_fit();
    let slots = slots
        .iter()
        .map(|slot| match slot.value() {
            Ok(value) if !value.is_zero() => Ok((slot.hash, value)),
            _ => Err(InvalidResponse::InvalidSlotValue {
                account: account.into(),
                slot: slot.hash.into(),
            }),
        })
        .collect::<Result<_, _>>()?;
    Ok(VerifiedStorage { account, slots, has_more, nodes })
}
