//! Comparing two databases table by table, at the byte level: the logical content, whatever
//! the backend's file layout. Used to tell whether a damaged store still holds what an intact
//! one does.

use crate::{Database, DbError, Direction, Entry, KeyBounds, KvRead};

/// Where two databases first differ in one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDifference {
    /// The table.
    pub table: &'static str,
    /// Entries read in both before the difference.
    pub equal_entries: u64,
    /// The first entry of each that differs (`None`: that table ended there).
    pub left: Option<Entry>,
    /// The other database's entry there.
    pub right: Option<Entry>,
}

/// The tables among `tables` whose entries differ between `left` and `right`, each with its
/// first difference; empty when every one is equal.
///
/// # Errors
/// Either backend's read failures.
pub fn table_differences(
    left: &dyn Database,
    right: &dyn Database,
    tables: &[&'static str],
) -> Result<Vec<TableDifference>, DbError> {
    let (left, right) = (left.begin_read()?, right.begin_read()?);
    let mut differences = Vec::new();
    for &table in tables {
        if let Some(difference) = first_difference(&*left, &*right, table)? {
            differences.push(difference);
        }
    }
    Ok(differences)
}

/// The first entry at which `table` differs between the two snapshots.
fn first_difference(
    left: &dyn KvRead,
    right: &dyn KvRead,
    table: &'static str,
) -> Result<Option<TableDifference>, DbError> {
    let mut lefts = left.range(table, KeyBounds::all(), Direction::Forward)?;
    let mut rights = right.range(table, KeyBounds::all(), Direction::Forward)?;
    let mut equal_entries = 0;
    loop {
        let (left, right) = (lefts.next().transpose()?, rights.next().transpose()?);
        if left.is_none() && right.is_none() {
            return Ok(None);
        }
        if left != right {
            return Ok(Some(TableDifference { table, equal_entries, left, right }));
        }
        equal_entries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bytecodes, HashedAccounts, MemoryDatabase, TABLE_NAMES};

    fn with_codes(codes: &[(u8, &[u8])]) -> MemoryDatabase {
        let db = MemoryDatabase::new();
        let mut txn = db.begin_write().unwrap();
        for (key, code) in codes {
            txn.put(<Bytecodes as crate::Table>::NAME, &[*key; 32], code).unwrap();
        }
        txn.commit().unwrap();
        db
    }

    #[test]
    fn equal_databases_have_no_differences() {
        let (a, b) = (with_codes(&[(1, b"a"), (2, b"b")]), with_codes(&[(1, b"a"), (2, b"b")]));
        assert!(table_differences(&a, &b, TABLE_NAMES).unwrap().is_empty());
    }

    #[test]
    fn a_changed_or_missing_entry_is_found_in_its_table() {
        let a = with_codes(&[(1, b"a"), (2, b"b")]);
        let changed = with_codes(&[(1, b"a"), (2, b"c")]);
        let differences = table_differences(&a, &changed, TABLE_NAMES).unwrap();
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].table, "Bytecodes");
        assert_eq!(differences[0].equal_entries, 1);
        let shorter = with_codes(&[(1, b"a")]);
        let differences = table_differences(&a, &shorter, TABLE_NAMES).unwrap();
        assert_eq!(differences[0].right, None);
        let names = [<HashedAccounts as crate::Table>::NAME];
        assert!(table_differences(&a, &changed, &names).unwrap().is_empty());
    }
}
