//! The `snapsync` command-line tool.
fn main() {}
