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
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_storage::{KeyRange, StateRead, StateReport, StoreError, compute_state_root_visiting};
use std::fmt;

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
/// result with `expected_root`. Memory: the trie builders' stacks and the listed hashes.
///
/// # Errors
/// Database failures, including entries that do not decode (damage the caller reports as
/// such: see [`SnapSyncError::is_local`]).
pub fn check_stored_leaves(
    view: &(impl StateRead + ?Sized),
    expected_root: B256,
) -> Result<LeafCheck, SnapSyncError> {
    check_stored_leaves_visiting(view, expected_root, |_, _| Ok(()))
}

/// [`check_stored_leaves`], handing each stored account to `visit` in the same pass (the
/// missing codes are found in it too): one walk of the accounts, not one per check.
///
/// # Errors
/// As [`check_stored_leaves`], and `visit`'s errors.
pub(crate) fn check_stored_leaves_visiting(
    view: &(impl StateRead + ?Sized),
    expected_root: B256,
    mut visit: impl FnMut(AccountHash, &TrieAccount) -> Result<(), StoreError>,
) -> Result<LeafCheck, SnapSyncError> {
    let mut missing = MissingCodes::default();
    let report = compute_state_root_visiting(view, |hash, account| {
        missing.check(view, account)?;
        visit(hash, account)
    })?;
    let (codes, damaged_codes) = hash_stored_codes(view)?;
    let mut missing = missing.into_vec();
    missing.truncate(LISTED);
    Ok(LeafCheck { expected_root, report, codes, damaged_codes, missing_codes: missing })
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
