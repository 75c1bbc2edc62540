//! Seeding a database with a [`GeneratedState`] through `snapsync_db::import_state`, so that a
//! test server (or a test of the trie tables) serves exactly the model's state.

use crate::GeneratedState;
use snapsync_db::{Database, ImportAccount, ImportError, ImportReport, import_state};
use snapsync_etl::CollectorConfig;

impl GeneratedState {
    /// The accounts as the importer takes them, in trie order, storage in slot order.
    pub fn import_accounts(&self) -> impl Iterator<Item = ImportAccount> + '_ {
        self.accounts().iter().map(|(hash, account)| ImportAccount {
            hash: *hash,
            nonce: account.nonce,
            balance: account.balance,
            code: account.code().clone(),
            storage: account.storage().iter().map(|(slot, value)| (*slot, *value)).collect(),
        })
    }

    /// The accounts as the importer takes them, the model consumed as they are taken: each
    /// account's memory is freed once it is collected, so an import holds the model and its
    /// sorted copy together no longer than it must.
    pub fn into_import_accounts(self) -> impl Iterator<Item = ImportAccount> {
        self.into_accounts().into_iter().map(|(hash, account)| ImportAccount {
            hash,
            nonce: account.nonce,
            balance: account.balance,
            code: account.code().clone(),
            storage: account.storage().iter().map(|(slot, value)| (*slot, *value)).collect(),
        })
    }

    /// Imports the state into the empty database `db`, consuming it (see
    /// [`into_import_accounts`](Self::into_import_accounts)).
    ///
    /// # Errors
    /// As [`import_into`](Self::import_into).
    pub fn import_consumed(
        self,
        db: &dyn Database,
        etl: &CollectorConfig,
    ) -> Result<ImportReport, ImportError> {
        import_state(db, self.into_import_accounts(), etl)
    }

    /// Imports the state into the empty database `db`: hashed tables, bytecodes and every trie
    /// node (see `snapsync_db::import_state`).
    ///
    /// # Errors
    /// As `import_state`: a non-empty database, collector or database failures.
    pub fn import_into(
        &self,
        db: &dyn Database,
        etl: &CollectorConfig,
    ) -> Result<ImportReport, ImportError> {
        import_state(db, self.import_accounts(), etl)
    }
}

#[cfg(test)]
mod tests {
    use crate::{GeneratedState, StateSpec};
    use snapsync_db::{Database, MemoryDatabase, compute_state_root};
    use snapsync_etl::CollectorConfig;

    #[test]
    fn imported_state_has_the_model_root_and_counts() {
        let state = GeneratedState::generate(21, &StateSpec::small());
        let db = MemoryDatabase::new();
        let report = state.import_into(&db, &CollectorConfig::new(1 << 20)).unwrap();
        let root = state.state_root();
        assert_eq!(report.state_root, root);
        let counts = state.counts();
        assert_eq!(report.accounts, u64::try_from(counts.accounts).unwrap());
        assert_eq!(report.storage_slots, u64::try_from(counts.storage_slots).unwrap());
        assert_eq!(report.bytecodes, u64::try_from(counts.bytecodes).unwrap());
        assert_eq!(compute_state_root(&db.view().unwrap()).unwrap().state_root, root);
        assert_eq!(state.compare_with_db(&db, 10).unwrap(), vec![]);
    }
}
