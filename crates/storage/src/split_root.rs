//! The state root computed in sixteen parts, one per first nibble of the account hashes, on
//! several threads over one snapshot.
//!
//! Below the root, the account trie's subtries under each first nibble are independent: the
//! accounts whose hash starts with nibble `n`, their storage tries and the slots in their span
//! make the node at path `[n]` and nothing else. So each part is walked as
//! [`compute_state_root`](crate::compute_state_root) walks the whole state (accounts and slots
//! side by side, each storage root compared with its account's), on whichever thread is free,
//! and only the top of the trie is built from the parts at the end:
//!
//! - a part of one account hands up its leaf;
//! - a part of more hands up the node below its own root: all of its keys share at least the
//!   first nibble, so its root is an extension over a branch at their common prefix `P`, and
//!   that branch (the last node its builder emits before the root) is what the whole trie holds
//!   at `P`, known by its hash.
//!
//! A [`TrieBuilder`] given those leaves and hashed subtries in order builds the extensions and
//! the branch above them, as the single pass would have: the same root, every leaf hashed once.
//! Each account is still handed to a visitor, one per part ([`AccountVisitor`]), so checks that
//! ride on the walk run in the parts too.

use crate::{
    StateError, StateRead, StateReport, StoreError,
    state_root::{AccountSpan, NoStorageNodes, walk_state_in},
};
use alloy_primitives::{B256, keccak256};
use alloy_trie::Nibbles;
use snapsync_primitives::{AccountHash, TrieAccount};
use snapsync_trie::{NodeSink, NoopSink, TrieBuilder};
use std::{
    convert::Infallible,
    num::NonZeroUsize,
    sync::atomic::{AtomicUsize, Ordering},
};

/// How many parts the state is split into: one per first nibble.
pub const STATE_PARTS: usize = 16;

/// Receives each account of one part of the state as [`compute_state_root_split`] walks it.
pub trait AccountVisitor: Send {
    /// Visits the account stored under `hash`, after its slots were hashed.
    ///
    /// # Errors
    /// Whatever the visitor's own reads fail with; the walk stops with it.
    fn visit(&mut self, hash: AccountHash, account: &TrieAccount) -> Result<(), StoreError>;
}

/// [`compute_state_root_visiting`](crate::compute_state_root_visiting) in
/// [`STATE_PARTS`] parts walked by up to `threads` threads over `view` (see the module docs):
/// the report of the whole state, the same as the single pass's, and each part's visitor
/// (made by `new_visitor`), in hash order.
///
/// # Errors
/// As [`compute_state_root`](crate::compute_state_root), and the visitors' errors: the first
/// part's error in hash order.
///
/// # Panics
/// When a part's walk panics (a defect, not an input): the panic is carried to the caller.
pub fn compute_state_root_split<R, V>(
    view: &R,
    threads: NonZeroUsize,
    new_visitor: impl Fn() -> V + Sync,
) -> Result<(StateReport, Vec<V>), StateError>
where
    R: StateRead + Sync + ?Sized,
    V: AccountVisitor,
{
    let parts = walk_parts(view, threads.get().min(STATE_PARTS), &new_visitor)?;
    let mut top = TrieBuilder::new(NoopSink);
    let mut report = StateReport {
        state_root: B256::ZERO,
        accounts: 0,
        storage_slots: 0,
        storage_mismatches: Vec::new(),
        orphan_storages: Vec::new(),
    };
    let mut visitors = Vec::with_capacity(parts.len());
    for part in parts {
        let trie_error = |source| StateError::Trie { account: None, source };
        match part.top {
            PartTop::Empty => {}
            PartTop::Leaf { key, value } => {
                top.add_leaf(key.as_ref(), &value).map_err(trie_error)?;
            }
            PartTop::Subtree { path, hash } => {
                top.add_hashed_subtree(path, hash).map_err(trie_error)?;
            }
        }
        report.accounts += part.report.accounts;
        report.storage_slots += part.report.storage_slots;
        report.storage_mismatches.extend(part.report.storage_mismatches);
        report.orphan_storages.extend(part.report.orphan_storages);
        visitors.push(part.visitor);
    }
    report.state_root =
        top.finish().map_err(|source| StateError::Trie { account: None, source })?.0;
    Ok((report, visitors))
}

/// What one part hands up to the top of the trie.
enum PartTop {
    /// No account.
    Empty,
    /// Its only account's leaf.
    Leaf { key: AccountHash, value: Vec<u8> },
    /// The node at `path` (the accounts' common prefix), known by `hash`.
    Subtree { path: Nibbles, hash: B256 },
}

/// One walked part.
struct Part<V> {
    top: PartTop,
    report: StateReport,
    visitor: V,
}

/// Every part, walked by `threads` threads taking the next part as they finish one (so one huge
/// contract does not hold up the rest), in part order.
fn walk_parts<R, V>(
    view: &R,
    threads: usize,
    new_visitor: &(impl Fn() -> V + Sync),
) -> Result<Vec<Part<V>>, StateError>
where
    R: StateRead + Sync + ?Sized,
    V: AccountVisitor,
{
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut walked = Vec::new();
        loop {
            let nibble = next.fetch_add(1, Ordering::Relaxed);
            if nibble >= STATE_PARTS {
                return walked;
            }
            let part = walk_part(view, nibble, new_visitor());
            let failed = part.is_err();
            walked.push((nibble, part));
            if failed {
                // Stop taking parts; the others finish theirs.
                next.store(STATE_PARTS, Ordering::Relaxed);
                return walked;
            }
        }
    };
    let mut walked: Vec<(usize, Result<Part<V>, StateError>)> = if threads <= 1 {
        worker()
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
            let mut walked = worker();
            for helper in helpers {
                match helper.join() {
                    Ok(theirs) => walked.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            walked
        })
    };
    walked.sort_by_key(|(nibble, _)| *nibble);
    walked.into_iter().map(|(_, part)| part).collect()
}

/// The accounts under first nibble `nibble`: walked, with what they hand up.
fn walk_part<R, V>(view: &R, nibble: usize, mut visitor: V) -> Result<Part<V>, StateError>
where
    R: StateRead + ?Sized,
    V: AccountVisitor,
{
    let span = part_span(nibble);
    let (report, below_root) =
        walk_state_in(view, span, BelowRoot::default(), &mut NoStorageNodes, |hash, account| {
            visitor.visit(hash, account)
        })?;
    let top = match report.accounts {
        0 => PartTop::Empty,
        1 => only_leaf(view, span)?,
        _ => match below_root.last {
            Some((path, rlp)) => PartTop::Subtree { path, hash: keccak256(&rlp) },
            // Two leaves under one nibble always make an extension over a hashed branch.
            None => unreachable_shape(nibble)?,
        },
    };
    Ok(Part { top, report, visitor })
}

/// A part of two or more accounts whose builder emitted no node below its root: impossible for
/// the stored accounts (32-byte keys, leaves of at least 70 bytes, so the branch is hashed and
/// emitted), reported as the damaged data it would take.
fn unreachable_shape(nibble: usize) -> Result<PartTop, StateError> {
    Err(StateError::Store(StoreError::Corrupt {
        collection: crate::Collection::Accounts,
        key: format!("{nibble:x}…"),
        reason: "two or more accounts under this nibble make no branch".into(),
    }))
}

/// The leaf of the one account in `span`.
fn only_leaf<R: StateRead + ?Sized>(view: &R, span: AccountSpan) -> Result<PartTop, StateError> {
    let Some(entry) = view.accounts(span.accounts())?.next() else {
        return Ok(PartTop::Empty);
    };
    let (key, account) = entry?;
    Ok(PartTop::Leaf { key, value: alloy_rlp::encode(account) })
}

/// The span of the accounts whose hash starts with nibble `nibble` (0 to 15).
fn part_span(nibble: usize) -> AccountSpan {
    let first = |nibble: usize| {
        let mut hash = B256::ZERO;
        // `nibble` < 16: the high half of the first byte.
        hash[0] = u8::try_from(nibble << 4).unwrap_or(0xf0);
        AccountHash::new(hash)
    };
    let end = (nibble + 1 < STATE_PARTS).then(|| first(nibble + 1));
    AccountSpan::From { start: first(nibble), end }
}

/// Keeps the last node emitted below the root: in a part of two or more accounts, the branch
/// at their common prefix (children are emitted before parents, the root last).
#[derive(Default)]
struct BelowRoot {
    last: Option<(Nibbles, Vec<u8>)>,
}

impl NodeSink for BelowRoot {
    type Error = Infallible;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        if !path.is_empty() {
            let (kept_path, kept) = self.last.get_or_insert_with(Default::default);
            *kept_path = *path;
            kept.clear();
            kept.extend_from_slice(rlp);
        }
        Ok(())
    }
}
