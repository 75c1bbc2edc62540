//! The hive snap/1 conformance cases, run against snapsync's server on a fixture's states.
//!
//! # Why
//!
//! go-ethereum's hive suite checks a snap/1 server with a table of requests over a known chain.
//! The fixtures folder holds that table as data (`snap-cases.json`) next to the chain's states, so
//! the same checks can run without a network: this crate loads the states, serves them with
//! [`snapsync_server::SnapServer`], and compares every reply with the case's expectations. It
//! proves the server (and the importer under it) behave as go-ethereum does, and gives the sync a
//! server it can trust in simulations.
//!
//! # How
//!
//! 1. [`Fixture::load`] imports `headstate.json` (the state named `"head"`) and, if present,
//!    `genesis.json` (`"genesis"`) into memory databases with [`snapsync_db::import_state`]; see
//!    [`fixture`](Fixture) for which states are served.
//! 2. [`CaseFile::load`] parses the cases defensively: a malformed case is an error naming the
//!    case and the field, never a panic.
//! 3. [`run`] sends each case's request to the server and records, per case, every difference from
//!    the expectations (counts, first and last hashes, slots, node hashes, refusal) and every
//!    failed verification: range proofs against the state or storage root, `has_more` against
//!    the state, codes and nodes by hash. The [`Report`] prints one line per failed case and
//!    `N passed, M failed`.
//!
//! Nothing here is specific to one fixture: any directory of the same shape with a cases file of
//! the same format works.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod cases;
mod error;
mod fields;
mod fixture;
mod report;
mod run;

pub use cases::{
    AccountRangeCase, ByteCodesCase, Case, CaseFile, CaseKind, DEFAULT_TRIE_NODES_BYTES,
    ExpectedSlot, RootRef, StorageRangesCase, TrieNodesCase, TrieNodesExpect,
};
pub use error::ConformanceError;
pub use fixture::{Fixture, FixtureState, GENESIS, HEAD, MAX_HEAD_BLOCK_BYTES};
pub use report::{CaseOutcome, Report};
pub use run::run;
