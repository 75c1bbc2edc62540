//! The verifying step: check the stored tries against the pivot's root.
//!
//! When every range was proven against the pivot's root into empty tables (see
//! [`VerifiedNodes`]), the stored nodes are the ones verification computed: the root node hashes
//! to the pivot's state root, every account with storage has a root node hashing to its storage
//! root, every code is stored and the accounts are those the download counted. The stored leaves
//! are then hashed once more ([`check_stored_leaves`]: a streaming pass, no writes) so that
//! `Done` is a statement about the leaves, not only about the nodes stored beside them; the
//! parts of the state that were final before the download ended were hashed then, in the
//! background (`part_checks.rs`), and only the others are walked here. Otherwise (a pivot move,
//! a resumed older sync, a failed check) the tries are built from the stored leaves and
//! compared with the pivot's root, and healing starts from whatever differs. `snapsync verify`
//! recomputes the root independently either way.

use crate::SnapPhase;
use crate::{
    SnapSyncError,
    heal::HealSeeds,
    leaf_check::{
        LeafCheck, NodeCheck, PartFindings, check_stored_leaves_and_nodes, hash_stored_codes,
    },
    scan::missing_codes,
    state::{SyncState, VerifiedNodes},
};
use alloy_primitives::keccak256;
use alloy_trie::Nibbles;
use snapsync_etl::CollectorConfig;
use snapsync_primitives::AccountHash;
use snapsync_storage::{StatePart, StateRead, StateWrite, rebuild_state_trie_in};
use tracing::{debug, info, warn};

/// What the verifying step found.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The stored state is the pivot's, whole: the state is `Done`.
    Matches,
    /// It is not: healing starts from these seeds (the state is `Healing`).
    Differs {
        /// Where healing starts besides the root.
        seeds: HealSeeds,
        /// The root of the stored state.
        stored_root: alloy_primitives::B256,
    },
}

/// Checks the stored tries (see the module docs): the verified nodes when [`VerifiedNodes`]
/// holds and `nodes_check` (made in `ready`, see [`NodesCheck`]) found them complete, else the
/// nodes of the account trie and of each storage trie are written from the stored leaves
/// (replacing any stored ones; see `rebuild_state_trie_in`) and the account trie's root must be the
/// pivot's state root, every account's slots must hash to its storage root and every code must
/// be stored. On success the state is `Done`, otherwise `Healing`, with what was found wrong.
///
/// # Errors
/// Database and ETL failures.
pub(crate) fn build_and_check_tries(
    txn: &mut (impl StateWrite + ?Sized),
    etl: &CollectorConfig,
    state: &mut SyncState,
    nodes_check: Option<NodesCheck>,
) -> Result<Verdict, SnapSyncError> {
    if VerifiedNodes::hold(&*txn, state)? {
        if let Some(NodesCheck::Complete(check)) = nodes_check {
            // The nodes are the pivot's: the leaves beside them must still make them.
            if !check.matches() {
                return Err(SnapSyncError::StoredStateDamaged {
                    pivot: state.pivot.number,
                    detail: check.to_string(),
                });
            }
            // Exact, whatever the step boundaries (steps write shared nodes again).
            state.counts.trie_nodes = txn.count_account_nodes()? + txn.count_storage_nodes()?;
            state.phase = SnapPhase::Done;
            info!(
                target: "sync::snap::verify",
                root = %state.pivot.state_root,
                accounts = state.counts.accounts,
                slots = state.counts.slots,
                nodes = state.counts.trie_nodes,
                "stored state matches the pivot (verified nodes)"
            );
            return Ok(Verdict::Matches);
        }
        // The rebuilt nodes are the trie of the stored leaves, whatever its root; healing
        // relies on that from now on.
        warn!(target: "sync::snap::verify", checked = nodes_check.is_some(), "verified nodes incomplete: rebuilding the tries");
        VerifiedNodes::remove(txn)?;
    }
    let rebuilt = rebuild_state_trie_in(txn, etl)?;
    let report = &rebuilt.report;
    state.counts.trie_nodes = rebuilt.account_nodes + rebuilt.storage_nodes;
    // Exact figures: healing replaces and removes entries the download phases counted.
    (state.counts.accounts, state.counts.slots) = (report.accounts, report.storage_slots);
    let mut storages: Vec<AccountHash> =
        report.storage_mismatches.iter().map(|mismatch| mismatch.account).collect();
    storages.extend(&report.orphan_storages);
    let codes = missing_codes(&*txn)?;
    let (_, damaged_codes) = hash_stored_codes(&*txn)?;
    if let Some(first) = damaged_codes.first() {
        // Codes are stored only after they hash to their key: this one changed on disk since.
        return Err(SnapSyncError::StoredStateDamaged {
            pivot: state.pivot.number,
            detail: format!(
                "stored code {first} (and {} more) no longer hashes to its key",
                damaged_codes.len() - 1
            ),
        });
    }
    if report.state_root == state.pivot.state_root && storages.is_empty() && codes.is_empty() {
        state.phase = SnapPhase::Done;
        info!(
            target: "sync::snap::verify",
            root = %report.state_root,
            accounts = report.accounts,
            slots = report.storage_slots,
            nodes = state.counts.trie_nodes,
            "stored state matches the pivot"
        );
        return Ok(Verdict::Matches);
    }
    state.phase = SnapPhase::Healing;
    info!(
        target: "sync::snap::verify",
        pivot = state.pivot.number,
        expected = %state.pivot.state_root,
        stored = %report.state_root,
        storages = storages.len(),
        codes = codes.len(),
        "stored state differs from the pivot's: healing"
    );
    Ok(Verdict::Differs { seeds: HealSeeds { storages }, stored_root: report.state_root })
}

/// The verified nodes checked against the stored leaves, before the verifying step's
/// transaction opens: over the step's snapshot, in `ready`, where the hashing may take every
/// core ([`check_verified_nodes`]). The snapshot holds what the transaction will: the verifying
/// step writes nothing before it checks, and only this stage writes the state.
#[derive(Debug)]
pub(crate) enum NodesCheck {
    /// The nodes form the whole state; hashing the stored leaves again gave this.
    Complete(LeafCheck),
    /// They do not: the tries are rebuilt from the leaves.
    Incomplete,
}

/// The stored leaves hashed again ([`check_stored_leaves`]), if the nodes stored while
/// downloading (every range proven against the pivot's root, see [`VerifiedNodes`]) form the
/// whole state: the root node hashes to the pivot's state root, every account with storage has
/// a storage-trie root node hashing to its storage root, every code is stored, and the stored
/// accounts are as many as the download kept. The node checks ride on the leaf pass: one walk
/// of the accounts, in parts on every core ([`check_stored_leaves`]). `checked` are the parts
/// checked while the rest downloaded (see `part_checks.rs`): only the others are walked here.
///
/// # Errors
/// As [`check_stored_leaves`].
pub(crate) fn check_verified_nodes(
    view: &(impl StateRead + Sync + ?Sized),
    state: &SyncState,
    checked: Vec<StatePart<PartFindings>>,
) -> Result<NodesCheck, SnapSyncError> {
    let root = view.account_node(&Nibbles::default())?;
    if root.is_none_or(|node| keccak256(&node) != state.pivot.state_root) {
        return Ok(NodesCheck::Incomplete);
    }
    let early = checked.len();
    let (check, storage_nodes) = check_stored_leaves_and_nodes(
        view,
        state.pivot.state_root,
        NodeCheck::StorageRoots,
        checked,
    )?;
    debug!(target: "sync::snap::verify", early, "stored leaves checked");
    let complete = storage_nodes
        && check.missing_codes.is_empty()
        && check.report.accounts == state.counts.accounts;
    Ok(if complete { NodesCheck::Complete(check) } else { NodesCheck::Incomplete })
}
