//! Locating `../shared/fixtures` from any crate of the workspace.

use std::path::{Path, PathBuf};

/// The directory holding the shared external fixtures (`<workspace>/../shared/fixtures`), or the
/// value of `SNAPSYNC_FIXTURES` when set. `None` when it does not exist.
pub fn fixtures_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SNAPSYNC_FIXTURES") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    // crates/primitives -> workspace root -> its parent.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.parent()?;
    let dir = workspace.parent()?.join("shared").join("fixtures");
    dir.is_dir().then_some(dir)
}

/// The path of one fixture file or directory, relative to [`fixtures_dir`], if it exists.
pub fn fixture_path(relative: &str) -> Option<PathBuf> {
    let path = fixtures_dir()?.join(relative);
    path.exists().then_some(path)
}

/// Like [`fixture_path`], but prints a loud skip notice on stderr when the fixture is absent, so a
/// test that returns early because of it is visible in the output.
pub fn require_fixture(test: &str, relative: &str) -> Option<PathBuf> {
    let path = fixture_path(relative);
    if path.is_none() {
        eprintln!(
            "SKIPPED {test}: fixture `{relative}` not found (expected ../shared/fixtures beside the \
             repository, or SNAPSYNC_FIXTURES)"
        );
    }
    path
}
