//! One step's gathered data: verified entries waiting in ETL collectors for `execute`.

use crate::{SnapSyncConfig, finish::NodesCheck, state::SyncState};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use snapsync_etl::{CollectorConfig, EtlError};
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_storage::{
    AccountNodes, Accounts, Codes, KeyRange, Slots, SortedCollector, StateWrite, StorageNodes,
    StoreError,
};
use snapsync_trie::Nibbles;
use std::{collections::HashSet, time::Duration};
use tokio::{sync::watch, time::Instant};

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
    /// For the first step of a sync into empty state tables: the pivot root to record as the
    /// root every stored node and entry is proven against (see `state::VerifiedNodes`).
    pub(crate) verified_nodes: Option<B256>,
    /// For the verifying step over verified nodes: their check, made in `ready`.
    pub(crate) nodes_check: Option<NodesCheck>,
}

/// How full a step is, as its waiting requests watch it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fill {
    /// The step holds some verified bytes.
    holds_any: bool,
    /// The step holds its byte budget.
    reached_budget: bool,
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
    fn apply(&self, txn: &mut (impl StateWrite + ?Sized)) -> Result<(u64, u64), StoreError> {
        match *self {
            Self::Accounts(first, last) => {
                let accounts = txn.delete_accounts(KeyRange::from(first..=last))?;
                let slots = (first, SlotHash::ZERO)..=(last, SlotHash::MAX);
                Ok((accounts, txn.delete_slots(slots.into())?))
            }
            Self::Slots(account, first, last) => {
                let slots = (account, first)..=(account, last);
                Ok((0, txn.delete_slots(slots.into())?))
            }
        }
    }
}

/// Verified entries of a step, per table, sorted through ETL on the way in, and the ranges
/// healing removes (applied first).
///
/// When the step keeps nodes ([`keeping_nodes`](Self::keeping_nodes)), the trie nodes that
/// verifying its ranges computed go with them: every range of the sync proven against one root,
/// those nodes together are the trie, and the verifying step need not hash the leaves again.
#[derive(Debug)]
pub(crate) struct StepWrites {
    pub(crate) accounts: SortedCollector<Accounts>,
    pub(crate) slots: SortedCollector<Slots>,
    codes: SortedCollector<Codes>,
    /// The hashes of the codes in `codes`.
    code_hashes: HashSet<B256>,
    account_nodes: SortedCollector<AccountNodes>,
    storage_nodes: SortedCollector<StorageNodes>,
    /// Whether verified ranges' nodes are kept.
    keep_nodes: bool,
    pub(crate) deletions: Vec<Deletion>,
    /// Bytes gathered: key and value of each entry, trie nodes included.
    pub(crate) bytes: u64,
    /// Bytes after which the step ends.
    budget: u64,
    /// The collectors' settings and `step.max_interval`, for the next step's writes.
    etl: CollectorConfig,
    interval: Duration,
    /// When the step ends if it holds anything: `step.max_interval` after it began.
    deadline: Instant,
    /// Whether the step holds anything, and whether it holds `budget` bytes: watched by its
    /// requests still waiting for a peer, which are given up once the step is full.
    fill: watch::Sender<Fill>,
    /// The tip as of the step's start: when it changes, the step ends early, so that a pivot
    /// move is not held up by a long step.
    tip: Option<watch::Receiver<B256>>,
}

impl StepWrites {
    /// Empty collectors spilling as `etl` says, with the step budget of `config`.
    pub(crate) fn new(etl: &CollectorConfig, config: &SnapSyncConfig) -> Self {
        Self::empty(etl.clone(), config.step_bytes(), config.step.max_interval)
    }

    /// Empty writes for the step after this one, starting now: the same budget, interval, tip
    /// and node keeping.
    pub(crate) fn successor(&self) -> Self {
        let mut next = Self::empty(self.etl.clone(), self.budget, self.interval);
        next.keep_nodes = self.keep_nodes;
        next.tip.clone_from(&self.tip);
        next
    }

    fn empty(etl: CollectorConfig, budget: u64, interval: Duration) -> Self {
        Self {
            accounts: SortedCollector::new(etl.clone()),
            slots: SortedCollector::new(etl.clone()),
            codes: SortedCollector::new(etl.clone()),
            code_hashes: HashSet::new(),
            account_nodes: SortedCollector::new(etl.clone()),
            storage_nodes: SortedCollector::new(etl.clone()),
            keep_nodes: false,
            deletions: Vec::new(),
            bytes: 0,
            budget,
            deadline: Instant::now() + interval,
            etl,
            interval,
            fill: watch::Sender::new(Fill::default()),
            tip: None,
        }
    }

    /// Ends the step early once `tip` changes.
    pub(crate) fn until_tip_changes(mut self, tip: watch::Receiver<B256>) -> Self {
        self.tip = Some(tip);
        self
    }

    /// Keeps the nodes of verified ranges when `keep` is true (every range of the sync so far
    /// proven against the pivot's root, into tables that held nothing else).
    pub(crate) const fn keeping_nodes(mut self, keep: bool) -> Self {
        self.keep_nodes = keep;
        self
    }

    /// Takes the account-trie nodes a verified account range computed, if nodes are kept:
    /// `nodes` hands each node (path and encoding) to the function it is given (else it is not
    /// called, so leaf nodes are not encoded). They count towards the step budget (path and
    /// node bytes), as the leaves do.
    pub(crate) fn add_account_nodes(
        &mut self,
        nodes: impl FnOnce(&mut NodeTaker<'_>) -> Result<(), EtlError>,
    ) -> Result<(), EtlError> {
        if self.keep_nodes {
            let mut bytes = 0;
            let collector = &mut self.account_nodes;
            nodes(&mut |path, rlp| {
                collector.insert(path, rlp)?;
                bytes += node_bytes(path, rlp);
                Ok(())
            })?;
            self.add_bytes(bytes);
        }
        Ok(())
    }

    /// Takes the nodes of `account`'s storage trie a verified slot set computed, if nodes are
    /// kept (as [`add_account_nodes`](Self::add_account_nodes); a node's key also holds the
    /// account).
    pub(crate) fn add_storage_nodes(
        &mut self,
        account: AccountHash,
        nodes: impl FnOnce(&mut NodeTaker<'_>) -> Result<(), EtlError>,
    ) -> Result<(), EtlError> {
        if self.keep_nodes {
            let mut bytes = 0;
            let collector = &mut self.storage_nodes;
            nodes(&mut |path, rlp| {
                collector.insert(&(account, *path), rlp)?;
                bytes += 32 + node_bytes(path, rlp);
                Ok(())
            })?;
            self.add_bytes(bytes);
        }
        Ok(())
    }

    /// Takes a verified code, counting it towards the step budget.
    pub(crate) fn add_code(&mut self, hash: &B256, code: &[u8]) -> Result<(), EtlError> {
        self.codes.insert(hash, code)?;
        self.code_hashes.insert(*hash);
        self.add_bytes(32 + code.len() as u64);
        Ok(())
    }

    /// The hashes of the codes the step holds.
    pub(crate) fn code_hashes(&self) -> impl Iterator<Item = &B256> {
        self.code_hashes.iter()
    }

    /// Whether the step keeps the nodes of verified ranges.
    pub(crate) const fn keeps_nodes(&self) -> bool {
        self.keep_nodes
    }

    /// Takes over what `gathered` (this step's [`successor`](Self::successor), filled while
    /// the step before committed) holds: its entries, bytes and deadline; this step's tip is
    /// kept, so a tip change seen since is not seen again.
    pub(crate) fn adopt(&mut self, mut gathered: Self) {
        gathered.tip = self.tip.take();
        *self = gathered;
    }

    /// Counts `bytes` of verified data (leaves, codes, trie nodes) towards the step budget.
    pub(crate) fn add_bytes(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        let fill = Fill { holds_any: self.bytes > 0, reached_budget: self.bytes >= self.budget };
        self.fill.send_if_modified(|current| std::mem::replace(current, fill) != fill);
    }

    /// Whether the step is full and ends: it holds `step.max_bytes`, or it holds anything and
    /// `step.max_interval` have passed since it began, or the tip moved.
    pub(crate) fn is_full(&self) -> bool {
        let overdue = self.bytes > 0 && Instant::now() >= self.deadline;
        self.bytes >= self.budget || overdue || self.tip_changed()
    }

    /// Whether the tip moved since the step began: what is asked for now may be for a pivot
    /// about to move.
    pub(crate) fn tip_changed(&self) -> bool {
        self.tip.as_ref().is_some_and(|tip| tip.has_changed().unwrap_or(false))
    }

    /// A future that completes once the step is full by its bytes or by its interval (as
    /// [`is_full`](Self::is_full), the tip aside): a request of the step still waiting for a
    /// peer then is given up unsent
    /// ([`FetchError::NotStarted`](snapsync_fetch::FetchError::NotStarted)), so the step ends
    /// once the requests already on their way are in.
    pub(crate) fn full_signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let deadline = self.deadline;
        let mut by_bytes = self.fill.subscribe();
        let mut by_time = self.fill.subscribe();
        async move {
            let reached_budget = async {
                // An error means the step is gone: nothing waits for this request any more.
                let _ = by_bytes.wait_for(|fill| fill.reached_budget).await;
            };
            let overdue = async {
                tokio::time::sleep_until(deadline).await;
                let _ = by_time.wait_for(|fill| fill.holds_any).await;
            };
            tokio::select! {
                () = reached_budget => {}
                () = overdue => {}
            }
        }
    }

    /// Applies the deletions, then appends every gathered entry, sorted, into its table.
    /// Returns the trie nodes written (a node already stored by an earlier step, such as the
    /// root, is replaced by its identical self and counted again).
    pub(crate) fn write_into(
        &mut self,
        txn: &mut (impl StateWrite + ?Sized),
    ) -> Result<u64, StoreError> {
        for deletion in self.deletions.drain(..) {
            deletion.apply(txn)?;
        }
        self.accounts.append_into(txn)?;
        self.slots.append_into(txn)?;
        self.codes.append_into(txn)?;
        let nodes = self.account_nodes.append_into(txn)? + self.storage_nodes.append_into(txn)?;
        Ok(nodes)
    }
}

/// Takes one trie node, its path and encoding, into a step (see
/// [`StepWrites::add_account_nodes`]).
pub(crate) type NodeTaker<'a> = dyn FnMut(&Nibbles, &[u8]) -> Result<(), EtlError> + 'a;

/// What a trie node counts towards the step budget: its path (a nibble a byte) and its bytes.
fn node_bytes(path: &Nibbles, rlp: &[u8]) -> u64 {
    (path.len() + rlp.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(keep_nodes: bool) -> StepWrites {
        let mut config = SnapSyncConfig::default();
        config.step.max_bytes = Some(64 * 1024);
        StepWrites::new(&CollectorConfig::new(1 << 20), &config).keeping_nodes(keep_nodes)
    }

    /// Nodes of `count` × (a 3-nibble path and a 100-byte node).
    fn nodes(count: usize) -> Vec<(Nibbles, Vec<u8>)> {
        (0..=15u8)
            .cycle()
            .take(count)
            .map(|n| (Nibbles::from_nibbles([n, 1, 2]), vec![0xaa; 100]))
            .collect()
    }

    /// `nodes` as a step takes them.
    fn handed(
        nodes: &[(Nibbles, Vec<u8>)],
    ) -> impl FnOnce(&mut NodeTaker<'_>) -> Result<(), EtlError> + '_ {
        move |take| nodes.iter().try_for_each(|(path, rlp)| take(path, rlp))
    }

    #[test]
    fn kept_nodes_count_towards_the_step_budget() {
        let mut step = writes(true);
        step.add_account_nodes(handed(&nodes(10))).unwrap();
        assert_eq!(step.bytes, 10 * 103);
        // A storage node's key also holds its account.
        step.add_storage_nodes(AccountHash::ZERO, handed(&nodes(10))).unwrap();
        assert_eq!(step.bytes, 10 * 103 + 10 * (32 + 103));
        assert!(!step.is_full());
        step.add_account_nodes(handed(&nodes(700))).unwrap();
        assert!(step.is_full(), "nodes alone fill a step: {} bytes", step.bytes);
    }

    #[test]
    fn nodes_not_kept_count_nothing() {
        let mut step = writes(false);
        step.add_account_nodes(handed(&nodes(10))).unwrap();
        step.add_storage_nodes(AccountHash::ZERO, handed(&nodes(10))).unwrap();
        assert_eq!(step.bytes, 0);
        assert_eq!(step.account_nodes.len() + step.storage_nodes.len(), 0);
    }
}
