//! The states a server holds: root → database, the most recent
//! [`ServerLimits::max_states`](crate::ServerLimits::max_states) kept.

use alloy_primitives::{B256, keccak256};
use snapsync_db::{AccountTrieNodes, Database, DbError, TableRead};
use snapsync_trie::Nibbles;
use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

/// The served states, oldest first.
#[derive(Debug, Default)]
pub(crate) struct States {
    order: VecDeque<B256>,
    by_root: HashMap<B256, Arc<dyn Database>>,
}

impl States {
    /// Holds `db` as the state `root`, the newest (re-adding a root replaces its database and
    /// makes it the newest). Returns the roots evicted to stay within `max` states.
    pub(crate) fn insert(&mut self, root: B256, db: Arc<dyn Database>, max: usize) -> Vec<B256> {
        if self.by_root.insert(root, db).is_some() {
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

    /// The database holding the state `root`.
    pub(crate) fn get(&self, root: &B256) -> Option<Arc<dyn Database>> {
        self.by_root.get(root).cloned()
    }

    /// The roots held, oldest first.
    pub(crate) fn roots(&self) -> Vec<B256> {
        self.order.iter().copied().collect()
    }

    /// The distinct databases holding the states, the newest state's first.
    pub(crate) fn databases_newest_first(&self) -> Vec<Arc<dyn Database>> {
        let mut databases: Vec<Arc<dyn Database>> = Vec::new();
        for root in self.order.iter().rev() {
            if let Some(db) = self.by_root.get(root)
                && !databases.iter().any(|seen| Arc::ptr_eq(seen, db))
            {
                databases.push(Arc::clone(db));
            }
        }
        databases
    }
}

/// The root of the account trie stored in `db`: the hash of the node at the empty path, or `None`
/// when there is none (an empty state, or no trie at all).
pub(crate) fn stored_root(db: &dyn Database) -> Result<Option<B256>, DbError> {
    Ok(db.view()?.get::<AccountTrieNodes>(&Nibbles::default())?.map(keccak256))
}
