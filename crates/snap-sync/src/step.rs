//! One step's gathered data: verified entries waiting in ETL collectors for `execute`.

use crate::{SnapSyncConfig, state::SyncState};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_db::{Bytecodes, DbError, HashedAccounts, HashedStorages, TableCollector, WriteTxn};
use snapsync_etl::CollectorConfig;
use snapsync_primitives::{AccountHash, SlotHash};
use tokio::sync::watch;

/// What one `ready` gathered and the matching `execute` writes, in one transaction with the
/// state record that describes it.
#[derive(Debug)]
pub(crate) struct Step {
    /// The stage's state after this step.
    pub(crate) state: SyncState,
    /// A newly chosen pivot's header, to store.
    pub(crate) pivot_header: Option<Sealed<Header>>,
    /// Verified data of the step.
    pub(crate) writes: StepWrites,
    /// Whether `execute` builds the tries and compares the root (the verifying step).
    pub(crate) finish: bool,
}

/// Entries healing found absent from the pivot's state: inclusive key ranges to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// Accounts from the first to the last hash, with all their slots.
    Accounts(AccountHash, AccountHash),
    /// Slots of one account from the first to the last hash.
    Slots(AccountHash, SlotHash, SlotHash),
}

impl Deletion {
    /// Removes the entries; returns how many accounts and slots went.
    fn apply(&self, txn: &mut WriteTxn) -> Result<(u64, u64), DbError> {
        match *self {
            Self::Accounts(first, last) => {
                let accounts = txn.delete_range::<HashedAccounts>(first..=last)?;
                let slots = (first, SlotHash::ZERO)..=(last, SlotHash::MAX);
                Ok((accounts, txn.delete_range::<HashedStorages>(slots)?))
            }
            Self::Slots(account, first, last) => {
                let slots = (account, first)..=(account, last);
                Ok((0, txn.delete_range::<HashedStorages>(slots)?))
            }
        }
    }
}

/// Verified entries of a step, per table, sorted through ETL on the way in, and the ranges
/// healing removes (applied first).
#[derive(Debug)]
pub(crate) struct StepWrites {
    pub(crate) accounts: TableCollector<HashedAccounts>,
    pub(crate) slots: TableCollector<HashedStorages>,
    pub(crate) codes: TableCollector<Bytecodes>,
    pub(crate) deletions: Vec<Deletion>,
    /// Payload bytes gathered (hash + value of each entry).
    pub(crate) bytes: u64,
    /// Bytes after which the step stops asking for more.
    budget: u64,
    /// The tip as of the step's start: when it changes, the step ends early, so that a pivot
    /// move is not held up by a long step.
    tip: Option<watch::Receiver<B256>>,
}

impl StepWrites {
    /// Empty collectors spilling as `etl` says, with the step budget of `config`.
    pub(crate) fn new(etl: &CollectorConfig, config: &SnapSyncConfig) -> Self {
        Self {
            accounts: TableCollector::new(etl.clone()),
            slots: TableCollector::new(etl.clone()),
            codes: TableCollector::new(etl.clone()),
            deletions: Vec::new(),
            bytes: 0,
            budget: config.etl.step_bytes,
            tip: None,
        }
    }

    /// Ends the step early once `tip` changes.
    pub(crate) fn until_tip_changes(mut self, tip: watch::Receiver<B256>) -> Self {
        self.tip = Some(tip);
        self
    }

    /// Counts `bytes` of verified payload towards the step budget.
    pub(crate) const fn add_bytes(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Whether the step has gathered enough (or the tip moved) and should stop asking.
    pub(crate) fn is_full(&self) -> bool {
        let tip_changed = self.tip.as_ref().is_some_and(|tip| tip.has_changed().unwrap_or(false));
        self.bytes >= self.budget || tip_changed
    }

    /// Applies the deletions, then appends every gathered entry, sorted, into its table.
    /// Returns the accounts and slots deleted.
    pub(crate) fn write_into(&mut self, txn: &mut WriteTxn) -> Result<(u64, u64), DbError> {
        let (mut accounts, mut slots) = (0, 0);
        for deletion in self.deletions.drain(..) {
            let (a, s) = deletion.apply(txn)?;
            (accounts, slots) = (accounts + a, slots + s);
        }
        self.accounts.append_into(txn)?;
        self.slots.append_into(txn)?;
        self.codes.append_into(txn)?;
        Ok((accounts, slots))
    }
}
