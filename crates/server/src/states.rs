//! The states a server holds: root → store, the most recent
//! [`ServerLimits::max_states`](crate::ServerLimits::max_states) kept.

use alloy_primitives::{B256, keccak256};
use snapsync_storage::{StateRead, StateStore, StoreError};
use snapsync_trie::Nibbles;
use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

/// The served states, oldest first.
#[derive(Debug)]
pub(crate) struct States<S: ?Sized> {
    order: VecDeque<B256>,
    by_root: HashMap<B256, Arc<S>>,
}

impl<S: ?Sized> Default for States<S> {
    fn default() -> Self {
        Self { order: VecDeque::new(), by_root: HashMap::new() }
    }
}

impl<S: ?Sized> States<S> {
    /// Holds `store` as the state `root`, the newest (re-adding a root replaces its store and
    /// makes it the newest). Returns the roots evicted to stay within `max` states.
    pub(crate) fn insert(&mut self, root: B256, store: Arc<S>, max: usize) -> Vec<B256> {
        if self.by_root.insert(root, store).is_some() {
            self.order.retain(|held| *held != root);
        }
        self.order.push_back(root);
        let mut evicted = Vec::new();
        while self.order.len() > max {
            if let Some(oldest) = self.order.pop_front() {
                self.by_root.remove(&oldest);
                evicted.push(oldest);
            }
        }
        evicted
    }

    /// Drops the state `root`; whether it was held.
    pub(crate) fn remove(&mut self, root: B256) -> bool {
        self.order.retain(|held| *held != root);
        self.by_root.remove(&root).is_some()
    }

    /// The store holding the state `root`.
    pub(crate) fn get(&self, root: &B256) -> Option<Arc<S>> {
        self.by_root.get(root).cloned()
    }

    /// The roots held, oldest first.
    pub(crate) fn roots(&self) -> Vec<B256> {
        self.order.iter().copied().collect()
    }

    /// The distinct stores holding the states, the newest state's first.
    pub(crate) fn stores_newest_first(&self) -> Vec<Arc<S>> {
        let mut stores: Vec<Arc<S>> = Vec::new();
        for root in self.order.iter().rev() {
            if let Some(store) = self.by_root.get(root)
                && !stores.iter().any(|seen| Arc::ptr_eq(seen, store))
            {
                stores.push(Arc::clone(store));
            }
        }
        stores
    }
}

/// The root of the account trie stored in `store`: the hash of the node at the empty path, or
/// `None` when there is none (an empty state, or no trie at all).
pub(crate) fn stored_root<S: StateStore + ?Sized>(store: &S) -> Result<Option<B256>, StoreError> {
    Ok(store.reader()?.account_node(&Nibbles::default())?.map(keccak256))
}
