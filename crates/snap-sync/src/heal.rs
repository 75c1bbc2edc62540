//! Healing: the stored state made into the pivot's trie, by trie nodes fetched by path.
//!
//! After the pivot moved, the stored accounts and slots are a patchwork: each range is right for
//! the root it was proven against, not necessarily for the pivot's. The verifying step rebuilds
//! the tries from the stored leaves (so the stored nodes are exactly the trie of the stored
//! leaves) and, when the root differs, hands over to a [`HealPass`] towards the pivot's root.
//!
//! # The walk
//!
//! Starting at the root, each target is a path and the hash the pivot's trie has there. If the
//! node stored at that path has that hash, the whole subtree below is already right (a node's
//! hash commits to everything under it, and the stored nodes are the trie of the stored leaves):
//! nothing below is fetched. Otherwise the node is fetched (`GetTrieNodes`, checked against the
//! hash), and:
//!
//! - a branch: every hashed child becomes a target; an inline child is walked in place; the key
//!   ranges of its empty children are removed from the flat tables (the pivot has nothing there);
//! - an extension: everything under its path but outside its child's is removed;
//! - a leaf: everything under its path but its own key is removed, and the leaf is written. An
//!   account leaf whose storage root differs from the stored storage trie's root makes that
//!   storage trie a target; a code hash not stored is fetched.
//!
//! So the walk fetches exactly the nodes that differ from the stored trie (every differing node's
//! ancestors differ too), which is the minimum. Accounts whose slots did not match their storage
//! root (storage whose state stopped being served before it was complete) are healed the same way
//! once the account trie is done and committed, against the storage root their (now healed)
//! account holds.
//!
//! A pass does not write trie nodes: the verifying step after it rebuilds them from the healed
//! leaves and compares the root again. That keeps the invariant the walk relies on (stored nodes
//! are the trie of the stored leaves) whatever happens in between, crashes and further pivot
//! moves included: the pass is held in memory only, and a restart or a new pivot begins with a
//! verifying step.

use crate::SnapPhase;
use crate::{
    SnapSyncConfig, SnapSyncError,
    bytecodes::store_codes,
    inflight::{InFlight, StepOutcome},
    scan::missing_codes,
    state::SyncState,
    step::{Deletion, StepWrites},
};
use alloy_primitives::{B256, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles};
use snapsync_fetch::{ByteCodesRequest, Fetcher, NodeTarget, TrieNodesRequest, VerifiedTrieNodes};
use snapsync_primitives::{AccountHash, SlotHash, TrieAccount};
use snapsync_storage::{AccountTrie, StateRead, StorageTrie, keys_under};
use snapsync_trie::{ChildRef, NodeSource, TrieNodeRef, decode_node};
use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
};
use tracing::debug;

/// What the verifying step found wrong besides the root: where healing starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HealSeeds {
    /// Accounts whose stored slots do not hash to their storage root, and slots without an
    /// account.
    pub(crate) storages: Vec<AccountHash>,
}

/// One walk from the pivot's root over the differing parts of the stored state. See the module
/// docs.
#[derive(Debug)]
pub(crate) struct HealPass {
    root: B256,
    /// Account-trie nodes to fetch.
    accounts: VecDeque<NodeTarget>,
    /// Storage-trie nodes to fetch.
    storages: VecDeque<NodeTarget>,
    /// Account-trie requests in flight.
    accounts_in_flight: usize,
    /// Accounts whose storage trie is being healed.
    queued: HashSet<AccountHash>,
    /// Accounts with inconsistent storage, seeded once the account trie is healed.
    unseeded: Vec<AccountHash>,
    /// Code hashes to fetch, and every one ever wanted (each is asked for once).
    codes: Vec<B256>,
    wanted_codes: HashSet<B256>,
    /// Deletions found outside a step (the seeding, an empty pivot state), for the next step.
    deletions: Vec<Deletion>,
    /// Whether the account trie is healed and the rest was seeded.
    seeded: bool,
}

/// One heal request's work.
#[derive(Debug)]
enum Work {
    Nodes(Vec<NodeTarget>),
    Codes(Vec<B256>),
}

impl HealPass {
    /// A pass towards `root` over the state stored in `view`, with the verifying step's `seeds`.
    ///
    /// # Errors
    /// Database failures.
    pub(crate) fn new(
        root: B256,
        view: &(impl StateRead + ?Sized),
        seeds: HealSeeds,
    ) -> Result<Self, SnapSyncError> {
        let mut pass = Self {
            root,
            accounts: VecDeque::new(),
            storages: VecDeque::new(),
            accounts_in_flight: 0,
            queued: HashSet::new(),
            unseeded: seeds.storages,
            codes: Vec::new(),
            wanted_codes: HashSet::new(),
            deletions: Vec::new(),
            seeded: false,
        };
        let root_target = NodeTarget { account: None, path: Nibbles::default(), hash: root };
        if root == EMPTY_ROOT_HASH {
            pass.deletions.push(Deletion::Accounts(AccountHash::ZERO, AccountHash::MAX));
        } else if !stored_matches(view, &root_target)? {
            pass.accounts.push_back(root_target);
        }
        Ok(pass)
    }

    /// The root this pass heals towards.
    pub(crate) const fn root(&self) -> B256 {
        self.root
    }

    /// Items still to do: nodes and codes queued, accounts whose storage is still to be seeded.
    pub(crate) fn pending(&self) -> u64 {
        (self.accounts.len() + self.storages.len() + self.unseeded.len() + self.codes.len()) as u64
    }

    /// Whether nothing is left to fetch.
    pub(crate) fn is_done(&self) -> bool {
        self.seeded && self.pending() == 0 && self.accounts_in_flight == 0
    }

    /// Once the account trie is healed and committed: the storage tries of accounts whose slots
    /// disagree with the storage root they hold now, and every code a stored account lacks.
    fn seed(&mut self, view: &(impl StateRead + ?Sized)) -> Result<(), SnapSyncError> {
        if !self.seeded {
            self.seeded = true;
            for code in missing_codes(view)? {
                self.want_code(code);
            }
        }
        for account in std::mem::take(&mut self.unseeded) {
            if self.queued.contains(&account) {
                continue;
            }
            let storage_root =
                view.account(&account)?.map_or(EMPTY_ROOT_HASH, |stored| stored.storage_root);
            if storage_root == EMPTY_ROOT_HASH {
                self.deletions.push(Deletion::Slots(account, SlotHash::ZERO, SlotHash::MAX));
            } else {
                self.heal_storage(view, account, storage_root)?;
            }
        }
        Ok(())
    }

    /// Queues `account`'s storage trie with root `storage_root`, unless it is already stored.
    fn heal_storage(
        &mut self,
        view: &(impl StateRead + ?Sized),
        account: AccountHash,
        storage_root: B256,
    ) -> Result<(), SnapSyncError> {
        let target =
            NodeTarget { account: Some(account), path: Nibbles::default(), hash: storage_root };
        if self.queued.insert(account) && !stored_matches(view, &target)? {
            self.storages.push_back(target);
        }
        Ok(())
    }

    fn want_code(&mut self, code_hash: B256) {
        if self.wanted_codes.insert(code_hash) {
            self.codes.push(code_hash);
        }
    }

    /// The next request: account-trie nodes first, then storage-trie nodes, then codes. `None`
    /// while the account trie is not finished and nothing else is available, and when seeding
    /// must wait for the next step (the account trie's leaves must be committed first).
    fn next_work(&mut self, nodes: usize, codes: usize) -> Option<Work> {
        if !self.accounts.is_empty() {
            let take = self.accounts.len().min(nodes);
            self.accounts_in_flight += 1;
            return Some(Work::Nodes(self.accounts.drain(..take).collect()));
        }
        if !self.storages.is_empty() {
            let take = self.storages.len().min(nodes);
            return Some(Work::Nodes(self.storages.drain(..take).collect()));
        }
        if self.accounts_in_flight > 0 || !self.seeded || !self.unseeded.is_empty() {
            return None;
        }
        if !self.codes.is_empty() {
            let take = self.codes.len().min(codes);
            return Some(Work::Codes(self.codes.drain(..take).collect()));
        }
        None
    }

    /// Targets a failed or short reply did not answer, back to the front of their queue.
    fn requeue(&mut self, targets: impl IntoIterator<Item = NodeTarget>) {
        for target in targets.into_iter().collect::<Vec<_>>().into_iter().rev() {
            match target.account {
                None => self.accounts.push_front(target),
                Some(_) => self.storages.push_front(target),
            }
        }
    }

    /// Walks the verified nodes of a reply; targets it left out go back to the queue. Returns the
    /// nodes taken.
    fn take_reply(
        &mut self,
        view: &(impl StateRead + ?Sized),
        asked: Vec<NodeTarget>,
        reply: VerifiedTrieNodes,
        writes: &mut StepWrites,
    ) -> Result<u64, SnapSyncError> {
        if asked.first().is_some_and(|target| target.account.is_none()) {
            self.accounts_in_flight = self.accounts_in_flight.saturating_sub(1);
        }
        let nodes = reply.into_nodes();
        let answered: HashSet<(Option<AccountHash>, Nibbles)> =
            nodes.iter().map(|(target, _)| (target.account, target.path)).collect();
        self.requeue(asked.into_iter().filter(|t| !answered.contains(&(t.account, t.path))));
        for (target, node) in &nodes {
            writes.add_bytes(node.len() as u64);
            self.walk_node(view, target.account, target.path, node, writes)?;
        }
        Ok(nodes.len() as u64)
    }

    /// Takes the (verified) node at `path` of the account trie (`account` `None`) or of
    /// `account`'s storage trie; see the module docs.
    fn walk_node(
        &mut self,
        view: &(impl StateRead + ?Sized),
        account: Option<AccountHash>,
        path: Nibbles,
        rlp: &[u8],
        writes: &mut StepWrites,
    ) -> Result<(), SnapSyncError> {
        let bad = |reason: &'static str| SnapSyncError::BadTrieNode { account, path, reason };
        match decode_node(rlp).map_err(bad)? {
            TrieNodeRef::Branch { children, .. } => {
                for (nibble, child) in (0u8..).zip(children) {
                    let mut child_path = path;
                    child_path.push(nibble);
                    self.walk_child(view, account, child_path, child, writes)?;
                }
            }
            TrieNodeRef::Extension { key, child } => {
                let child_path = path.join(&key);
                delete_under(account, &path, Some(&child_path), writes);
                self.walk_child(view, account, child_path, child, writes)?;
            }
            TrieNodeRef::Leaf { key, value } => {
                let full = path.join(&key);
                if full.len() != 64 {
                    return Err(bad("leaf key is not 32 bytes long"));
                }
                delete_under(account, &path, Some(&full), writes);
                let key = B256::from_slice(&full.pack());
                self.write_leaf(view, account, key, value, writes).map_err(|e| match e {
                    LeafError::Decode(reason) => bad(reason),
                    LeafError::Sync(error) => error,
                })?;
            }
        }
        Ok(())
    }

    fn walk_child(
        &mut self,
        view: &(impl StateRead + ?Sized),
        account: Option<AccountHash>,
        path: Nibbles,
        child: ChildRef<'_>,
        writes: &mut StepWrites,
    ) -> Result<(), SnapSyncError> {
        match child {
            ChildRef::Empty => delete_under(account, &path, None, writes),
            ChildRef::Inline(rlp) => self.walk_node(view, account, path, rlp, writes)?,
            ChildRef::Hash(hash) => {
                let target = NodeTarget { account, path, hash };
                if !stored_matches(view, &target)? {
                    match account {
                        None => self.accounts.push_back(target),
                        Some(_) => self.storages.push_back(target),
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes a leaf of the pivot's trie into the flat tables, and queues what an account leaf
    /// needs beyond itself (its storage trie, its code).
    fn write_leaf(
        &mut self,
        view: &(impl StateRead + ?Sized),
        account: Option<AccountHash>,
        key: B256,
        mut value: &[u8],
        writes: &mut StepWrites,
    ) -> Result<(), LeafError> {
        let decode = |_| LeafError::Decode("leaf value is not canonical RLP");
        match account {
            None => {
                let hash = AccountHash::from(key);
                let trie_account = TrieAccount::decode(&mut value).map_err(decode)?;
                writes.accounts.insert(&hash, &trie_account).map_err(SnapSyncError::from)?;
                if trie_account.storage_root == EMPTY_ROOT_HASH {
                    writes.deletions.push(Deletion::Slots(hash, SlotHash::ZERO, SlotHash::MAX));
                } else {
                    self.heal_storage(view, hash, trie_account.storage_root)?;
                }
                let code = trie_account.code_hash;
                if code != KECCAK_EMPTY && view.code(&code)?.is_none() {
                    self.want_code(code);
                }
            }
            Some(account) => {
                let slot = U256::decode(&mut value).map_err(decode)?;
                writes
                    .slots
                    .insert(&(account, SlotHash::from(key)), &slot)
                    .map_err(SnapSyncError::from)?;
            }
        }
        if !value.is_empty() {
            return Err(LeafError::Decode("trailing bytes after the leaf value"));
        }
        Ok(())
    }
}

/// Why a leaf could not be taken.
#[derive(Debug)]
enum LeafError {
    /// Its value does not decode (a node that hashed right but holds no valid leaf).
    Decode(&'static str),
    /// Anything else.
    Sync(SnapSyncError),
}

impl<E: Into<SnapSyncError>> From<E> for LeafError {
    fn from(error: E) -> Self {
        Self::Sync(error.into())
    }
}

/// Removes from the flat tables everything under `path` of the account trie (`account` `None`,
/// accounts and their slots) or of `account`'s storage trie, except what is under `keep`.
fn delete_under(
    account: Option<AccountHash>,
    path: &Nibbles,
    keep: Option<&Nibbles>,
    writes: &mut StepWrites,
) {
    let (first, last) = prefix_bounds(path);
    let ranges = match keep.map(prefix_bounds) {
        None => [Some((first, last)), None],
        Some((keep_first, keep_last)) => [
            (first < keep_first).then(|| (first, keep_first - U256::from(1))),
            (keep_last < last).then(|| (keep_last + U256::from(1), last)),
        ],
    };
    for (first, last) in ranges.into_iter().flatten() {
        let (first, last) = (B256::from(first), B256::from(last));
        writes.deletions.push(match account {
            None => Deletion::Accounts(AccountHash::from(first), AccountHash::from(last)),
            Some(account) => Deletion::Slots(account, SlotHash::from(first), SlotHash::from(last)),
        });
    }
}

/// The first and last 32-byte keys under the nibble path `path`, as numbers.
fn prefix_bounds(path: &Nibbles) -> (U256, U256) {
    let (first, last) = keys_under(path);
    (U256::from_be_bytes(first.0), U256::from_be_bytes(last.0))
}

/// Whether the node at `target`'s path has `target`'s hash (so the subtree is right): the node
/// stored there, or the leaf node the flat table holds there (leaf nodes need not be stored,
/// see [`AccountTrie`]).
fn stored_matches(
    view: &(impl StateRead + ?Sized),
    target: &NodeTarget,
) -> Result<bool, SnapSyncError> {
    let stored = match target.account {
        None => AccountTrie::new(view).node(&target.path)?,
        Some(account) => StorageTrie::new(view, account).node(&target.path)?,
    };
    Ok(stored.is_some_and(|node| keccak256(&node) == target.hash))
}

/// Heal settings a step needs.
#[derive(Debug, Clone, Copy)]
struct Limits {
    nodes: usize,
    codes: usize,
    max_requests: usize,
}

impl Limits {
    fn new(config: &SnapSyncConfig) -> Self {
        let count = |value: u64| usize::try_from(value).unwrap_or(usize::MAX).max(1);
        Self {
            nodes: count(config.trie_nodes_per_request),
            codes: count(config.bytecodes_per_request),
            max_requests: count(config.requests_in_flight()),
        }
    }
}

/// One healing step: trie nodes (and codes) of `pass` fetched, walked, and their leaves and
/// deletions gathered into `writes`, until the step is full or nothing can be asked.
pub(crate) async fn heal_step(
    fetcher: &Arc<Fetcher>,
    view: &(impl StateRead + Sync + ?Sized),
    config: &SnapSyncConfig,
    pass: &mut HealPass,
    state: &mut SyncState,
    writes: &mut StepWrites,
) -> Result<(), SnapSyncError> {
    let limits = Limits::new(config);
    if pass.accounts.is_empty() && pass.accounts_in_flight == 0 {
        pass.seed(view)?;
    }
    writes.deletions.append(&mut pass.deletions);
    let root = pass.root;
    let mut inflight = InFlight::new(limits.max_requests);
    let mut outcome = StepOutcome::default();
    loop {
        while !outcome.failed() && !writes.is_full() && inflight.has_room() {
            let Some(work) = pass.next_work(limits.nodes, limits.codes) else { break };
            let (fetcher, full) = (Arc::clone(fetcher), writes.full_signal());
            match &work {
                Work::Nodes(targets) => {
                    let request =
                        TrieNodesRequest { root, targets: targets.clone(), response_bytes: 0 };
                    inflight.spawn(work, async move {
                        fetcher.trie_nodes_until(request, full).await.map(Fetched::Nodes)
                    });
                }
                Work::Codes(hashes) => {
                    let request = ByteCodesRequest { hashes: hashes.clone(), response_bytes: 0 };
                    inflight.spawn(work, async move {
                        fetcher.byte_codes_until(request, full).await.map(Fetched::Codes)
                    });
                }
            }
        }
        let Some((work, result)) = inflight.next().await? else { break };
        match (work, result) {
            (Work::Nodes(asked), Ok(Fetched::Nodes(reply))) => {
                let taken = pass.take_reply(view, asked, reply, writes)?;
                state.counts.healed_nodes += taken;
                outcome.progressed();
            }
            (Work::Codes(asked), Ok(Fetched::Codes(reply))) => {
                let missing = store_codes(asked, &reply, writes, &mut state.counts)?;
                pass.codes.extend(missing);
                outcome.progressed();
            }
            // A failure, a request not sent before the step was full (or, impossibly, the
            // other kind of answer): the work goes back.
            (Work::Nodes(asked), result) => {
                if asked.first().is_some_and(|target| target.account.is_none()) {
                    pass.accounts_in_flight = pass.accounts_in_flight.saturating_sub(1);
                }
                pass.requeue(asked);
                outcome.fail_unless_unsent(result);
            }
            (Work::Codes(asked), result) => {
                pass.codes.extend(asked);
                outcome.fail_unless_unsent(result);
            }
        }
    }
    debug!(
        target: "sync::snap::heal",
        healed = state.counts.healed_nodes,
        pending = pass.pending(),
        deletions = writes.deletions.len(),
        "heal step gathered"
    );
    let pivot = state.pivot.number;
    outcome.into_result(|source| SnapSyncError::Fetch { phase: SnapPhase::Healing, pivot, source })
}

/// A heal request's verified answer.
#[derive(Debug)]
enum Fetched {
    Nodes(VerifiedTrieNodes),
    Codes(snapsync_fetch::VerifiedByteCodes),
}
