//! Test machinery for storage tests, behind the `test-utils` feature (and in this crate's own
//! unit tests):
//!
//! - [`TestDb`], [`memory_db`] and [`redb_db`]: fresh databases of each backend, so a suite runs
//!   the same assertions on every one;
//! - [`table_differences`]: two databases compared table by table at the byte level
//!   ([`TableDifference`]), to tell whether a damaged store still holds what an intact one does;
//! - [`Damage`]: storage faults done to a file (flipped bits or bytes, a truncated tail),
//!   reproducible from a seed.
//!
//! The feature turns `tempfile` into a dependency (the redb databases' directories), and
//! `snapsync-primitives`' own `test-utils` (its
//! [`TestRng`](snapsync_primitives::test_utils::TestRng) drives [`Damage`]).

mod db_compare;
mod file_damage;
mod test_db;

pub use db_compare::{TableDifference, table_differences};
pub use file_damage::Damage;
pub use test_db::{TestDb, memory_db, redb_db};
