//! Shared test machinery for the snapsync workspace.
//!
//! Every crate's tests reach external fixtures, random tries and other helpers through this
//! crate, so that no test file carries its own copy of them.

mod fixtures;
pub use fixtures::{fixture_path, fixtures_dir, require_fixture};
