//! [`SnapServer`]: the states served, and the dispatch of requests to the handlers.

use crate::{
    AddStateError, ReadError, ServeError, ServerLimits,
    account_range::serve_account_range,
    byte_codes::serve_byte_codes,
    states::{States, stored_root},
    storage_ranges::serve_storage_ranges,
    trie_nodes::serve_trie_nodes,
};
use alloy_primitives::B256;
use snapsync_primitives::{
    AccountRange, ByteCodes, EMPTY_ROOT_HASH, GetAccountRange, GetByteCodes, GetStorageRanges,
    GetTrieNodes, SnapMessage, StorageRanges, TrieNodes,
};
use snapsync_storage::StateStore;
use std::{
    fmt,
    sync::{Arc, PoisonError, RwLock},
};

/// A snap/1 server over the states it holds.
///
/// Each state is a store (any [`StateStore`]: snapsync-db's redb or memory backends,
/// `dyn snapsync_db::Database`, or a client's own) whose stored account trie has the state's
/// root, as `snapsync_db::import_state` or a completed sync leaves it. The server keeps the last
/// [`ServerLimits::max_states`] states added, like go-ethereum's 128 recent states, and answers a
/// request for any other root with an empty response.
///
/// Every method takes `&self`: share the server between connections behind an `Arc`. Requests
/// read a snapshot ([`StateStore::reader`]) of their state's store, so a state can be added
/// while others are served.
pub struct SnapServer<S: StateStore + ?Sized> {
    states: RwLock<States<S>>,
    limits: ServerLimits,
}

impl<S: StateStore + ?Sized> fmt::Debug for SnapServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapServer")
            .field("roots", &self.roots())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S: StateStore + ?Sized> Default for SnapServer<S> {
    fn default() -> Self {
        Self::new(ServerLimits::default())
    }
}

impl<S: StateStore + ?Sized> SnapServer<S> {
    /// A server with no states, answering within `limits`.
    pub fn new(limits: ServerLimits) -> Self {
        Self { states: RwLock::default(), limits }
    }

    /// The limits requests are answered within.
    pub const fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// Serves the state `root` from `db`, as the newest state; evicts the oldest states beyond
    /// [`ServerLimits::max_states`]. Adding a held root again replaces its store.
    ///
    /// # Errors
    /// [`AddStateError::RootMismatch`] when the root node stored in `db` does not hash to `root`
    /// (for the empty root: when a root node is stored); [`AddStateError::Store`] when reading it
    /// fails. The server is unchanged then.
    pub fn add_state(&self, root: B256, db: Arc<S>) -> Result<(), AddStateError> {
        let stored = stored_root(&*db).map_err(|source| AddStateError::Store { root, source })?;
        if stored.unwrap_or(EMPTY_ROOT_HASH) != root {
            return Err(AddStateError::RootMismatch { root, stored });
        }
        let evicted = self.write_states().insert(root, db, self.limits.max_states);
        tracing::debug!(target: "sync::server", %root, ?evicted, "serving state");
        Ok(())
    }

    /// Stops serving the state `root` (as a peer forgets an old state); whether it was served.
    pub fn remove_state(&self, root: B256) -> bool {
        let removed = self.write_states().remove(root);
        if removed {
            tracing::debug!(target: "sync::server", %root, "state no longer served");
        }
        removed
    }

    /// The roots of the states served, oldest first.
    pub fn roots(&self) -> Vec<B256> {
        self.read_states().roots()
    }

    /// Whether the state `root` is served.
    pub fn has_state(&self, root: B256) -> bool {
        self.read_states().get(&root).is_some()
    }

    /// Answers `GetAccountRange` (see the crate docs for the accounting). An unknown root, or a
    /// store failure, gets an empty response.
    pub fn account_range(&self, request: &GetAccountRange) -> AccountRange {
        let empty = || AccountRange { request_id: request.request_id, ..AccountRange::default() };
        let Some(view) = self.view(request.root_hash, "account range") else { return empty() };
        answered(serve_account_range(&view, request, &self.limits), "account range")
            .unwrap_or_else(empty)
    }

    /// Answers `GetStorageRanges`. An unknown root, or a store failure, gets an empty
    /// response.
    pub fn storage_ranges(&self, request: &GetStorageRanges) -> StorageRanges {
        let empty = || StorageRanges { request_id: request.request_id, ..StorageRanges::default() };
        let Some(view) = self.view(request.root_hash, "storage ranges") else { return empty() };
        answered(serve_storage_ranges(&view, request, &self.limits), "storage ranges")
            .unwrap_or_else(empty)
    }

    /// Answers `GetByteCodes` from the stores of every state served, the newest first. A store
    /// failure gets an empty response.
    pub fn byte_codes(&self, request: &GetByteCodes) -> ByteCodes {
        let empty = || ByteCodes { request_id: request.request_id, codes: Vec::new() };
        let stores = self.read_states().stores_newest_first();
        let views: Result<Vec<S::Reader>, _> = stores.iter().map(|db| db.reader()).collect();
        let views = match views {
            Ok(views) => views,
            Err(error) => {
                tracing::warn!(target: "sync::server", %error, "cannot read a state for bytecodes");
                return empty();
            }
        };
        answered(serve_byte_codes(&views, request, &self.limits), "bytecodes").unwrap_or_else(empty)
    }

    /// Answers `GetTrieNodes`. An unknown root, or a store failure, gets an empty response.
    ///
    /// # Errors
    /// [`ServeError::EmptyPathSet`] when a path set has no items, whatever the root: the request
    /// is refused, as go-ethereum refuses it.
    pub fn trie_nodes(&self, request: &GetTrieNodes) -> Result<TrieNodes, ServeError> {
        if let Some(index) = request.paths.iter().position(|set| set.0.is_empty()) {
            return Err(ServeError::EmptyPathSet { request_id: request.request_id, index });
        }
        let empty = || TrieNodes { request_id: request.request_id, nodes: Vec::new() };
        let Some(view) = self.view(request.root_hash, "trie nodes") else { return Ok(empty()) };
        Ok(answered(serve_trie_nodes(&view, request, &self.limits), "trie nodes")
            .unwrap_or_else(empty))
    }

    /// Answers a request message with its response message; `Ok(None)` for a response message,
    /// which a server does not answer.
    ///
    /// # Errors
    /// As [`trie_nodes`](Self::trie_nodes): the request is refused.
    pub fn handle(&self, message: &SnapMessage) -> Result<Option<SnapMessage>, ServeError> {
        Ok(Some(match message {
            SnapMessage::GetAccountRange(request) => self.account_range(request).into(),
            SnapMessage::GetStorageRanges(request) => self.storage_ranges(request).into(),
            SnapMessage::GetByteCodes(request) => self.byte_codes(request).into(),
            SnapMessage::GetTrieNodes(request) => self.trie_nodes(request)?.into(),
            SnapMessage::AccountRange(_)
            | SnapMessage::StorageRanges(_)
            | SnapMessage::ByteCodes(_)
            | SnapMessage::TrieNodes(_) => return Ok(None),
        }))
    }

    /// A snapshot of the state `root`, if it is served and readable.
    fn view(&self, root: B256, kind: &'static str) -> Option<S::Reader> {
        let Some(db) = self.read_states().get(&root) else {
            tracing::debug!(target: "sync::server", %root, kind, "request for a state not served");
            return None;
        };
        db.reader()
            .inspect_err(|error| {
                tracing::warn!(target: "sync::server", %root, kind, %error, "cannot read state");
            })
            .ok()
    }

    fn read_states(&self) -> std::sync::RwLockReadGuard<'_, States<S>> {
        self.states.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_states(&self) -> std::sync::RwLockWriteGuard<'_, States<S>> {
        self.states.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The response, or `None` (logged) when serving failed.
fn answered<T>(result: Result<T, ReadError>, kind: &'static str) -> Option<T> {
    result
        .inspect_err(|error| {
            tracing::warn!(target: "sync::server", kind, %error, "cannot serve request");
        })
        .ok()
}
