//! One step's gathered data: verified entries waiting in ETL collectors for `execute`.

use crate::{SnapSyncConfig, state::SyncState};
use alloy_consensus::{Header, Sealed};
use snapsync_db::{Bytecodes, DbError, HashedAccounts, HashedStorages, TableCollector, WriteTxn};
use snapsync_etl::CollectorConfig;

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
    /// Whether `execute` builds the tries and checks the root (the last step).
    pub(crate) finish: bool,
}

/// Verified entries of a step, per table, sorted through ETL on the way in.
#[derive(Debug)]
pub(crate) struct StepWrites {
    pub(crate) accounts: TableCollector<HashedAccounts>,
    pub(crate) slots: TableCollector<HashedStorages>,
    pub(crate) codes: TableCollector<Bytecodes>,
    /// Payload bytes gathered (hash + value of each entry).
    pub(crate) bytes: u64,
    /// Bytes after which the step stops asking for more.
    budget: u64,
}

impl StepWrites {
    /// Empty collectors spilling as `etl` says, with the step budget of `config`.
    pub(crate) fn new(etl: &CollectorConfig, config: &SnapSyncConfig) -> Self {
        Self {
            accounts: TableCollector::new(etl.clone()),
            slots: TableCollector::new(etl.clone()),
            codes: TableCollector::new(etl.clone()),
            bytes: 0,
            budget: config.etl.step_bytes,
        }
    }

    /// Counts `bytes` of verified payload towards the step budget.
    pub(crate) const fn add_bytes(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Whether the step has gathered enough and should stop asking.
    pub(crate) const fn is_full(&self) -> bool {
        self.bytes >= self.budget
    }

    /// Appends every gathered entry, sorted, into its table.
    pub(crate) fn write_into(&mut self, txn: &mut WriteTxn) -> Result<(), DbError> {
        self.accounts.append_into(txn)?;
        self.slots.append_into(txn)?;
        self.codes.append_into(txn)?;
        Ok(())
    }
}
