//! [`BlockServer`]: block headers and bodies (eth `GetBlockHeaders` / `GetBlockBodies`) from a
//! store's headers, header numbers and bodies ([`StateRead::header`],
//! [`StateRead::header_number`], [`StateRead::body`]), as raw RLP.
//!
//! The answers are plain RLP so that any network layer can wrap them in its own message types.
//! The limits are go-ethereum's: 1024 headers or bodies, and the 2 MiB soft byte limit.

use crate::ServerLimits;
use alloy_primitives::{B256, Bytes};
use snapsync_storage::{StateRead, StateStore, StoreError};
use std::sync::Arc;

/// The first block of a header query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockStart {
    /// The canonical block at this height.
    Number(u64),
    /// The block with this hash.
    Hash(B256),
}

/// An eth `GetBlockHeaders` query: up to `limit` headers from `start`, every `skip + 1`-th block,
/// towards lower numbers when `reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeadersQuery {
    /// The first header.
    pub start: BlockStart,
    /// Most headers wanted.
    pub limit: u64,
    /// Blocks left out between two headers.
    pub skip: u64,
    /// Whether to walk towards the genesis.
    pub reverse: bool,
}

/// Serves headers and bodies from one store (any [`StateStore`]: snapsync-db's, or a client's
/// own).
#[derive(Debug)]
pub struct BlockServer<S: StateStore + ?Sized> {
    db: Arc<S>,
    limits: ServerLimits,
}

impl<S: StateStore + ?Sized> Clone for BlockServer<S> {
    fn clone(&self) -> Self {
        Self { db: Arc::clone(&self.db), limits: self.limits.clone() }
    }
}

impl<S: StateStore + ?Sized> BlockServer<S> {
    /// A server over the headers and bodies of `db`.
    pub const fn new(db: Arc<S>, limits: ServerLimits) -> Self {
        Self { db, limits }
    }

    /// The header RLPs answering `query`, in walking order: the walk stops at the first block not
    /// stored, at the query's limit, at [`ServerLimits::max_headers`], or once the soft byte
    /// limit is reached. A database failure gets an empty answer (logged).
    pub fn headers(&self, query: &HeadersQuery) -> Vec<Bytes> {
        self.read("headers", |view| self.walk_headers(view, query))
    }

    /// The body RLPs of the blocks `hashes`, in request order, unknown ones left out, within
    /// [`ServerLimits::max_bodies`] and the soft byte limit. A database failure gets an empty
    /// answer (logged).
    pub fn bodies(&self, hashes: &[B256]) -> Vec<Bytes> {
        self.read("bodies", |view| self.collect_bodies(view, hashes))
    }

    /// The stored receipt lists (each the RLP list of one block's receipts, as the receipts
    /// stage stores them) of the blocks `hashes`, in request order, unknown ones left out,
    /// within [`ServerLimits::max_bodies`] lists and the soft byte limit. A database failure gets
    /// an empty answer (logged).
    pub fn receipts(&self, hashes: &[B256]) -> Vec<Bytes> {
        self.read("receipts", |view| {
            self.collect(view, hashes, |view, number| view.block_receipts(number))
        })
    }

    fn walk_headers(
        &self,
        view: &S::Reader,
        query: &HeadersQuery,
    ) -> Result<Vec<Bytes>, StoreError> {
        let mut number = match query.start {
            BlockStart::Number(number) => number,
            BlockStart::Hash(hash) => match view.header_number(&hash)? {
                Some(number) => number,
                None => return Ok(Vec::new()),
            },
        };
        let count = usize::try_from(query.limit).unwrap_or(usize::MAX).min(self.limits.max_headers);
        let step = query.skip.saturating_add(1);
        let (mut headers, mut bytes) = (Vec::new(), 0u64);
        while headers.len() < count && bytes < self.limits.soft_response_bytes {
            let Some(header) = view.header(number)? else { break };
            bytes = bytes.saturating_add(header.len() as u64);
            headers.push(header);
            let next =
                if query.reverse { number.checked_sub(step) } else { number.checked_add(step) };
            let Some(next) = next else { break };
            number = next;
        }
        Ok(headers)
    }

    fn collect_bodies(&self, view: &S::Reader, hashes: &[B256]) -> Result<Vec<Bytes>, StoreError> {
        self.collect(view, hashes, |view, number| view.body(number))
    }

    /// Per hash in `hashes`, the item `read` finds for its block, unknown ones left out, within
    /// [`ServerLimits::max_bodies`] items and the soft byte limit.
    fn collect(
        &self,
        view: &S::Reader,
        hashes: &[B256],
        read: impl Fn(&S::Reader, u64) -> Result<Option<Bytes>, StoreError>,
    ) -> Result<Vec<Bytes>, StoreError> {
        let (mut bodies, mut bytes) = (Vec::new(), 0u64);
        for hash in hashes.iter().take(self.limits.max_bodies.saturating_mul(2)) {
            if bytes >= self.limits.soft_response_bytes || bodies.len() >= self.limits.max_bodies {
                break;
            }
            let Some(number) = view.header_number(hash)? else { continue };
            let Some(body) = read(view, number)? else { continue };
            bytes = bytes.saturating_add(body.len() as u64);
            bodies.push(body);
        }
        Ok(bodies)
    }

    /// Runs `serve` on a snapshot; an empty answer on failure.
    fn read(
        &self,
        kind: &'static str,
        serve: impl FnOnce(&S::Reader) -> Result<Vec<Bytes>, StoreError>,
    ) -> Vec<Bytes> {
        self.db.reader().and_then(|view| serve(&view)).unwrap_or_else(|error| {
            tracing::warn!(target: "sync::server", kind, %error, "cannot serve blocks");
            Vec::new()
        })
    }
}
