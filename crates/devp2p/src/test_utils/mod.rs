//! Test machinery shared by the workspace's tests (feature `test-utils`; never used by the
//! library).

pub mod ethereumjs;
