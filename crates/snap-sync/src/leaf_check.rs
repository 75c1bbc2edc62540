//! The stored leaves, hashed again: the one check whose result may be reported as "verified".
//!
//! Every range was proven before it was written, and the verifying step compares the stored trie
//! nodes with the pivot's root. But nodes and leaves are separate entries: a leaf damaged on
//! disk after its range was verified leaves the nodes as they were. So whatever is reported as
//! verified — the stage's `Done`, the `snapsync sync` verdict on a finished datadir, `snapsync
//! verify` — comes from [`check_stored_leaves`], which streams the flat tables through the trie
//! builder (no writes, one sequential read of each table), hashes every stored code, and
//! compares the result with the pivot's root.

use crate::{SnapSyncError, scan::MissingCodes};
use alloy_primitives::{B256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_storage::{
    AccountVisitor, KeyRange, StatePart, StatePartId, StateRead, StateReport, StoreError,
    compute_state_root_split_with, walk_state_part,
};
use std::{fmt, num::NonZeroUsize};

/// What hashing the stored leaves found, against the root they should make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafCheck {
    /// The root the stored leaves should make (the pivot's state root).
    pub expected_root: B256,
    /// The account trie's root over the stored accounts, per-account storage roots, counts.
    pub report: StateReport,
    /// Stored codes, all hashed.
    pub codes: u64,
    /// Stored codes whose bytes do not hash to their key (damaged), the first few.
    pub damaged_codes: Vec<B256>,
    /// Code hashes of stored accounts whose code is not stored, the first few.
    pub missing_codes: Vec<B256>,
}

/// Most code hashes a [`LeafCheck`] lists per kind (it counts them all in its message).
const LISTED: usize = 16;

impl LeafCheck {
    /// Whether the stored leaves are exactly the state of [`expected_root`](Self::expected_root):
    /// the root matches, every account's slots make its storage root, no slots lack an account,
    /// and every code is stored and intact.
    pub fn matches(&self) -> bool {
        self.report.state_root == self.expected_root
            && self.report.is_consistent()
            && self.damaged_codes.is_empty()
            && self.missing_codes.is_empty()
    }
}

impl fmt::Display for LeafCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        write!(
            f,
            "the stored leaves make state root {} (expected {}); {} accounts' slots do not make \
             their storage root, {} accounts have slots but no account entry, {} codes are \
             damaged, {} are missing",
            report.state_root,
            self.expected_root,
            report.storage_mismatches.len(),
            report.orphan_storages.len(),
            self.damaged_codes.len(),
            self.missing_codes.len()
        )
    }
}

/// Hashes every stored account, slot and code of `view` (see the module docs) and compares the
/// result with `expected_root`. The accounts are walked in sixteen parts on as many
/// threads as the machine has cores ([`compute_state_root_split_with`]; the calling thread is one of
/// them and blocks until all are done). Memory: the trie builders' stacks and the listed hashes.
///
/// # Errors
/// Database failures, including entries that do not decode (damage the caller reports as
/// such: see [`SnapSyncError::is_local`]).
pub fn check_stored_leaves(
    view: &(impl StateRead + Sync + ?Sized),
    expected_root: B256,
) -> Result<LeafCheck, SnapSyncError> {
    Ok(check_stored_leaves_and_nodes(view, expected_root, NodeCheck::Skip, Vec::new())?.0)
}

/// Whether the leaf pass also checks the storage tries' root nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeCheck {
    /// Every account with storage must have a stored storage-trie root node hashing to its
    /// storage root.
    StorageRoots,
    /// The leaves only.
    Skip,
}

/// [`check_stored_leaves`], and with [`NodeCheck::StorageRoots`] also whether every account
/// with storage has a stored storage-trie root node hashing to its storage root (checked in the
/// same walk: one pass over the accounts, not one per check); `true` when not checked.
///
/// `walked` are parts checked already ([`check_part`], with the same `nodes`), over a snapshot
/// in which their accounts, slots and storage-trie nodes are those of `view`: they are taken as
/// they are, except that the codes they found missing are looked up again in `view`.
///
/// # Errors
/// As [`check_stored_leaves`].
pub(crate) fn check_stored_leaves_and_nodes<R: StateRead + Sync + ?Sized>(
    view: &R,
    expected_root: B256,
    nodes: NodeCheck,
    walked: Vec<StatePart<PartFindings>>,
) -> Result<(LeafCheck, bool), SnapSyncError> {
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let new_part = || PartCheck { view, found: PartFindings::new(nodes) };
    let walked = walked
        .into_iter()
        .map(|part| part.map_visitor(|found| PartCheck { view, found }))
        .collect();
    let (report, parts) = compute_state_root_split_with(view, threads, walked, new_part)?;
    let (codes, damaged_codes) = hash_stored_codes(view)?;
    let nodes_hold = parts.iter().all(|part| part.found.storage_nodes != Some(false));
    let mut missing = MissingCodes::default();
    for part in parts {
        missing.merge(part.found.missing);
    }
    // A part checked early may have found codes missing that were stored since.
    missing.keep_unstored(view)?;
    let mut missing_codes = missing.into_vec();
    missing_codes.truncate(LISTED);
    let check = LeafCheck { expected_root, report, codes, damaged_codes, missing_codes };
    Ok((check, nodes_hold))
}

/// Part `id` of the state checked over `view` as [`check_stored_leaves_and_nodes`] checks each
/// part: its slots hashed against its accounts' storage roots, its accounts' codes looked up,
/// and with `nodes` its storage tries' root nodes; for that function's `walked`.
///
/// # Errors
/// As [`check_stored_leaves`].
pub(crate) fn check_part<R: StateRead + Sync + ?Sized>(
    view: &R,
    id: StatePartId,
    nodes: NodeCheck,
) -> Result<StatePart<PartFindings>, SnapSyncError> {
    let part = walk_state_part(view, id, PartCheck { view, found: PartFindings::new(nodes) })?;
    Ok(part.map_visitor(|check| check.found))
}

/// What the leaf pass found in one part besides its accounts and slots.
#[derive(Debug)]
pub(crate) struct PartFindings {
    missing: MissingCodes,
    /// Whether every account so far passed the storage-node check; `None`: not checked.
    storage_nodes: Option<bool>,
}

impl PartFindings {
    fn new(nodes: NodeCheck) -> Self {
        let storage_nodes = (nodes == NodeCheck::StorageRoots).then_some(true);
        Self { missing: MissingCodes::default(), storage_nodes }
    }
}

/// What the leaf pass checks of each account of one part besides its slots: its code is stored,
/// and (when asked) its storage trie's root node is stored and hashes to its storage root.
struct PartCheck<'v, R: ?Sized> {
    view: &'v R,
    found: PartFindings,
}

impl<R: StateRead + Sync + ?Sized> AccountVisitor for PartCheck<'_, R> {
    fn visit(&mut self, hash: AccountHash, account: &TrieAccount) -> Result<(), StoreError> {
        let found = &mut self.found;
        found.missing.check(self.view, account)?;
        let storage = account.storage_root;
        if found.storage_nodes == Some(true) && storage != EMPTY_ROOT_HASH {
            let node = self.view.storage_node(&hash, &Nibbles::default())?;
            found.storage_nodes = Some(node.is_some_and(|node| keccak256(&node) == storage));
        }
        Ok(())
    }
}

/// Hashes every stored code: how many, and the first few that do not hash to their key.
pub(crate) fn hash_stored_codes(
    view: &(impl StateRead + ?Sized),
) -> Result<(u64, Vec<B256>), SnapSyncError> {
    let (mut codes, mut damaged) = (0, Vec::new());
    for entry in view.codes(KeyRange::all())? {
        let (hash, code) = entry?;
        codes += 1;
        if keccak256(&code) != hash && damaged.len() < LISTED {
            damaged.push(hash);
        }
    }
    Ok((codes, damaged))
}
