//! Copying a database's committed tables into another: a state held in memory moved to disk.

use crate::{
    Database, DbError,
    kv::{Direction, EntrySource, KeyBounds, KvIter},
    tables::TABLE_NAMES,
};

/// Copies every table of `from`'s committed state into `to`, in one write transaction of `to`,
/// appending each table in key order; returns the entries copied. `to`'s tables must be empty.
///
/// # Errors
/// [`DbError::NotEmpty`] (nothing copied) when a table of `to` holds entries; backend failures
/// of either database.
pub fn copy_tables(from: &dyn Database, to: &dyn Database) -> Result<u64, DbError> {
    let source = from.begin_read()?;
    let mut txn = to.begin_write()?;
    for &table in TABLE_NAMES {
        let entries = txn.len(table)?;
        if entries > 0 {
            return Err(DbError::NotEmpty { table, entries });
        }
    }
    let mut copied = 0;
    for &table in TABLE_NAMES {
        let entries = source.range(table, KeyBounds::all(), Direction::Forward)?;
        copied += txn.append_sorted(table, &mut Entries(entries))?;
    }
    txn.commit()?;
    Ok(copied)
}

/// A table walk as an [`EntrySource`].
struct Entries<'a>(KvIter<'a>);

impl EntrySource for Entries<'_> {
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        let Some(entry) = self.0.next() else { return Ok(false) };
        let (k, v) = entry?;
        *key = k;
        *value = v;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryDatabase, RedbDatabase, RedbOptions};

    fn filled() -> MemoryDatabase {
        let db = MemoryDatabase::new();
        let mut txn = db.begin_write().unwrap();
        for i in 0u8..50 {
            txn.put("HashedAccounts", &[i; 32], &[i, 1]).unwrap();
            txn.put("Bytecodes", &[i; 32], &[i; 7]).unwrap();
        }
        txn.put("SnapProgress", b"snap-sync", b"record").unwrap();
        txn.commit().unwrap();
        db
    }

    fn all(db: &dyn Database, table: &'static str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let read = db.begin_read().unwrap();
        read.range(table, KeyBounds::all(), Direction::Forward)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn every_table_is_copied_whole() {
        let from = filled();
        let dir = tempfile::tempdir().unwrap();
        let to = RedbDatabase::open(dir.path().join("copy.redb"), RedbOptions::default()).unwrap();
        assert_eq!(copy_tables(&from, &to).unwrap(), 101);
        for table in TABLE_NAMES {
            assert_eq!(all(&to, table), all(&from, table), "{table}");
        }
        assert_eq!(all(&to, "HashedAccounts").len(), 50);
    }

    #[test]
    fn a_target_holding_entries_is_refused_and_unchanged() {
        let from = filled();
        let to = MemoryDatabase::new();
        let mut txn = to.begin_write().unwrap();
        txn.put("HashedAccounts", &[200; 32], &[1]).unwrap();
        txn.commit().unwrap();
        let error = copy_tables(&from, &to).unwrap_err();
        assert!(
            matches!(error, DbError::NotEmpty { table: "HashedAccounts", entries: 1 }),
            "{error}"
        );
        assert_eq!(all(&to, "HashedAccounts").len(), 1);
        assert!(all(&to, "Bytecodes").is_empty());
    }
}
