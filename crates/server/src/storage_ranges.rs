//! `GetStorageRanges`: the slots of several accounts, the origin and limit applying to the first.
//!
//! go-ethereum's accounting: a slot costs 32 bytes plus its value's RLP. No account is started
//! once the budget is reached; within an account the walk goes on up to a hard limit 10% above
//! the budget (so that a contract is rarely split), the slot crossing it included. A range is
//! proven only when it was cut short or starts after the zero hash, and a proof ends the reply.
//!
//! Unlike go-ethereum, every account served gets its list, empty when it has no slots in range,
//! so that the `i`-th list always belongs to the `i`-th requested account (go-ethereum leaves
//! empty lists out, which shifts the lists after them); an unknown account is served as one
//! without storage.

use crate::{ReadError, ServerLimits};
use snapsync_primitives::{
    AccountHash, EMPTY_ROOT_HASH, GetStorageRanges, SlotHash, StorageRanges, StorageSlot,
};
use snapsync_storage::{StateRead, prove_storage_range};

/// The answer to `request` from `view`.
pub(crate) fn serve_storage_ranges<R: StateRead + ?Sized>(
    view: &R,
    request: &GetStorageRanges,
    limits: &ServerLimits,
) -> Result<StorageRanges, ReadError> {
    let budget = limits.response_bytes(request.response_bytes);
    let hard_limit = budget.saturating_add(budget / 10);
    let deadline = limits.deadline();
    let mut response =
        StorageRanges { request_id: request.request_id, slots: Vec::new(), proof: Vec::new() };
    let mut size = 0u64;
    let accounts = request.account_hashes.iter().take(limits.max_storage_accounts);
    for (index, &account) in accounts.enumerate() {
        if size >= budget || deadline.passed() {
            break;
        }
        let (origin, limit) = if index == 0 {
            (request.origin(), request.limit())
        } else {
            (SlotHash::ZERO, SlotHash::MAX)
        };
        let range = AccountSlots::walk(view, account, origin, limit, hard_limit, &mut size)?;
        let proven = origin != SlotHash::ZERO || range.cut;
        let last = range.slots.last().map(|slot| slot.hash);
        response.slots.push(range.slots);
        if proven {
            let root = view.account(&account)?.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
            response.proof = prove_storage_range(view, account, root, origin, last)?;
            break;
        }
    }
    Ok(response)
}

/// The slots served for one account.
struct AccountSlots {
    slots: Vec<StorageSlot>,
    /// Whether the walk stopped at the hard limit with slots left in range.
    cut: bool,
}

impl AccountSlots {
    /// Walks `account`'s slots from `origin`, stopping after the first at or past `limit`, or
    /// before the next one once `size` reaches `hard_limit`.
    fn walk<R: StateRead + ?Sized>(
        view: &R,
        account: AccountHash,
        origin: SlotHash,
        limit: SlotHash,
        hard_limit: u64,
        size: &mut u64,
    ) -> Result<Self, ReadError> {
        let mut slots = Vec::new();
        for entry in view.slots(&account, (origin..).into())? {
            if *size >= hard_limit {
                return Ok(Self { slots, cut: true });
            }
            let (hash, value) = entry?;
            let slot = StorageSlot::from_value(hash, value);
            *size = size.saturating_add(32 + slot.data.len() as u64);
            slots.push(slot);
            if hash >= limit {
                break;
            }
        }
        Ok(Self { slots, cut: false })
    }
}
