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

/// One of the [`STATE_PARTS`] parts of the state: the accounts whose hash starts with one
/// nibble, with their slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatePartId(u8);

impl StatePartId {
    /// The part of the accounts whose hash starts with `nibble`; `None` above 15.
    pub fn new(nibble: u8) -> Option<Self> {
        (usize::from(nibble) < STATE_PARTS).then_some(Self(nibble))
    }

    /// Every part, in hash order.
    pub fn all() -> impl DoubleEndedIterator<Item = Self> + ExactSizeIterator {
        (0..16).map(Self)
    }

    /// The first nibble of its accounts' hashes.
    pub const fn nibble(self) -> u8 {
        self.0
    }

    /// Its position among the parts (its nibble).
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The lowest account hash in the part.
    pub fn first_hash(self) -> AccountHash {
        let mut hash = B256::ZERO;
        hash[0] = self.0 << 4;
        AccountHash::new(hash)
    }

    /// The highest account hash in the part.
    pub fn last_hash(self) -> AccountHash {
        let mut hash = B256::repeat_byte(0xff);
        hash[0] = (self.0 << 4) | 0x0f;
        AccountHash::new(hash)
    }

    /// Whether `hash` lies in the part.
    pub fn contains(self, hash: &AccountHash) -> bool {
        hash.as_b256()[0] >> 4 == self.0
    }

    /// The span of its accounts, for the walk.
    fn span(self) -> AccountSpan {
        let end = Self::new(self.0 + 1).map(Self::first_hash);
        AccountSpan::From { start: self.first_hash(), end }
    }
}

/// One part of the state walked on its own ([`walk_state_part`]): what the top of the trie
/// needs from it, its counts and findings, and its visitor. Combined with the other fifteen by
/// [`compute_state_root_split_with`], it gives the same report as the whole walk.
#[derive(Debug)]
pub struct StatePart<V> {
    id: StatePartId,
    top: PartTop,
    report: StateReport,
    visitor: V,
}

impl<V> StatePart<V> {
    /// Which part this is.
    pub const fn id(&self) -> StatePartId {
        self.id
    }

    /// The part's accounts.
    pub const fn accounts(&self) -> u64 {
        self.report.accounts
    }

    /// The part's slots.
    pub const fn storage_slots(&self) -> u64 {
        self.report.storage_slots
    }

    /// The part's visitor, after it visited every account of the part.
    pub const fn visitor(&self) -> &V {
        &self.visitor
    }

    /// The same part with its visitor turned into `f`'s result (for example a visitor that
    /// borrowed a snapshot into what it found, which outlives the snapshot).
    pub fn map_visitor<W>(self, f: impl FnOnce(V) -> W) -> StatePart<W> {
        StatePart { id: self.id, top: self.top, report: self.report, visitor: f(self.visitor) }
    }
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
    compute_state_root_split_with(view, threads, Vec::new(), new_visitor)
}

/// [`compute_state_root_split`] with some parts walked already: `walked` (each walked by
/// [`walk_state_part`], over a snapshot in which the part's accounts and slots are those of
/// `view`) are taken as they are, the others are walked over `view`. A part given twice counts
/// once (the last one). The result is the whole state's, as if every part had been walked here.
///
/// # Errors
/// As [`compute_state_root_split`].
///
/// # Panics
/// As [`compute_state_root_split`].
pub fn compute_state_root_split_with<R, V>(
    view: &R,
    threads: NonZeroUsize,
    walked: Vec<StatePart<V>>,
    new_visitor: impl Fn() -> V + Sync,
) -> Result<(StateReport, Vec<V>), StateError>
where
    R: StateRead + Sync + ?Sized,
    V: AccountVisitor,
{
    let mut parts: Vec<Option<StatePart<V>>> = (0..STATE_PARTS).map(|_| None).collect();
    for part in walked {
        let index = part.id.index();
        parts[index] = Some(part);
    }
    let missing: Vec<StatePartId> =
        StatePartId::all().filter(|id| parts[id.index()].is_none()).collect();
    for part in walk_parts(view, threads.get().min(STATE_PARTS), &missing, &new_visitor)? {
        let index = part.id.index();
        parts[index] = Some(part);
    }
    combine_parts(parts.into_iter().flatten())
}

/// The report of the whole state from its sixteen parts, in hash order.
fn combine_parts<V>(
    parts: impl Iterator<Item = StatePart<V>>,
) -> Result<(StateReport, Vec<V>), StateError> {
    let mut top = TrieBuilder::new(NoopSink);
    let mut report = StateReport {
        state_root: B256::ZERO,
        accounts: 0,
        storage_slots: 0,
        storage_mismatches: Vec::new(),
        orphan_storages: Vec::new(),
    };
    let mut visitors = Vec::with_capacity(STATE_PARTS);
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
#[derive(Debug)]
enum PartTop {
    /// No account.
    Empty,
    /// Its only account's leaf.
    Leaf { key: AccountHash, value: Vec<u8> },
    /// The node at `path` (the accounts' common prefix), known by `hash`.
    Subtree { path: Nibbles, hash: B256 },
}

/// The parts `ids`, walked by `threads` threads taking the next part as they finish one (so one
/// huge contract does not hold up the rest), in the order of `ids`.
fn walk_parts<R, V>(
    view: &R,
    threads: usize,
    ids: &[StatePartId],
    new_visitor: &(impl Fn() -> V + Sync),
) -> Result<Vec<StatePart<V>>, StateError>
where
    R: StateRead + Sync + ?Sized,
    V: AccountVisitor,
{
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut walked = Vec::new();
        loop {
            let taken = next.fetch_add(1, Ordering::Relaxed);
            let Some(&id) = ids.get(taken) else { return walked };
            let part = walk_state_part(view, id, new_visitor());
            let failed = part.is_err();
            walked.push((taken, part));
            if failed {
                // Stop taking parts; the others finish theirs.
                next.store(ids.len(), Ordering::Relaxed);
                return walked;
            }
        }
    };
    let mut walked: Vec<(usize, Result<StatePart<V>, StateError>)> =
        if threads <= 1 || ids.len() <= 1 {
            worker()
        } else {
            std::thread::scope(|scope| {
                let helpers: Vec<_> =
                    (1..threads.min(ids.len())).map(|_| scope.spawn(worker)).collect();
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
    walked.sort_by_key(|(taken, _)| *taken);
    walked.into_iter().map(|(_, part)| part).collect()
}

/// The accounts of part `id` and their slots, walked over `view` (as
/// [`compute_state_root_visiting`](crate::compute_state_root_visiting) walks the whole state,
/// each account handed to `visitor`), with what the part hands up to the top of the trie.
///
/// # Errors
/// As [`compute_state_root`](crate::compute_state_root), and `visitor`'s errors.
pub fn walk_state_part<R, V>(
    view: &R,
    id: StatePartId,
    mut visitor: V,
) -> Result<StatePart<V>, StateError>
where
    R: StateRead + ?Sized,
    V: AccountVisitor,
{
    let span = id.span();
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
            None => unreachable_shape(id)?,
        },
    };
    Ok(StatePart { id, top, report, visitor })
}

/// A part of two or more accounts whose builder emitted no node below its root: impossible for
/// the stored accounts (32-byte keys, leaves of at least 70 bytes, so the branch is hashed and
/// emitted), reported as the damaged data it would take.
fn unreachable_shape(id: StatePartId) -> Result<PartTop, StateError> {
    Err(StateError::Store(StoreError::Corrupt {
        collection: crate::Collection::Accounts,
        key: format!("{:x}…", id.nibble()),
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
