//! A snap/1 server answering from any store behind the storage seam, with go-ethereum's limits
//! and accounting.
//!
//! # Why
//!
//! A client is only as good as the servers it is tested against, and the servers on the network
//! are go-ethereum. This crate answers the four snap/1 requests the way go-ethereum's
//! `eth/protocols/snap/handlers.go` does, from any [`StateStore`](snapsync_storage::StateStore)
//! holding a trie-backed state (snapsync-db after `import_state` or a finished sync, or a
//! client's own store), so that the sync can be run against it in simulations, checked against
//! the hive conformance cases, and a client can serve snap/1 from its own database.
//!
//! # How
//!
//! [`SnapServer<S>`](SnapServer) holds states by root, each an `Arc<S>` whose stored account
//! trie has that root (checked when added), the last [`ServerLimits::max_states`] kept. Each
//! request reads one snapshot ([`StateStore::reader`](snapsync_storage::StateStore::reader)),
//! only through [`StateRead`](snapsync_storage::StateRead):
//!
//! - **accounts** ([`SnapServer::account_range`]): the accounts walked from the origin
//!   ([`StateRead::accounts`](snapsync_storage::StateRead::accounts)); an account costs 32 bytes
//!   plus its slim RLP; the account that reaches the limit hash or crosses the byte budget is
//!   included; the proof covers the origin and the last account
//!   ([`prove_account_range`](snapsync_storage::prove_account_range), read by path from the
//!   stored trie, every node checked against its parent's hash);
//! - **storage** ([`SnapServer::storage_ranges`]): per account, the same walk over its slots
//!   ([`StateRead::slots`](snapsync_storage::StateRead::slots); origin and limit for the first
//!   account only), no new account once the budget is reached, a 10% slack within one account,
//!   and a proof ([`prove_storage_range`](snapsync_storage::prove_storage_range)) only for a
//!   range cut short or starting after zero, which ends the reply;
//! - **bytecodes** ([`SnapServer::byte_codes`]): at most 1024 hashes, the empty-code hash answered
//!   with an empty blob, unknown hashes left out;
//! - **trie nodes** ([`SnapServer::trie_nodes`]): each path walked from the root
//!   (`snapsync_trie::walk_path`), with go-ethereum's answers for paths that name no node (an
//!   empty blob, or nothing), bounded by bytes, lookups and time; a request with an empty path
//!   set is refused ([`ServeError`]).
//!
//! Byte budgets are capped at 2 MiB whatever the request asks, without a floor (a budget of 0
//! still gets one item); the count caps ([`ServerLimits`]) bound every loop, and replies grow
//! only as items are read, so no request allocates more than its capped budget allows. An
//! unknown root, and any store failure, get an empty response: that is what go-ethereum sends,
//! and what a client must handle anyway. [`BlockServer<S>`](BlockServer) serves block headers
//! and bodies as raw RLP from the same kind of store.
//!
//! # Where this differs from go-ethereum
//!
//! - A storage reply carries a list for every account served, empty when it has no slots in
//!   range, so that lists and requested accounts stay aligned; go-ethereum leaves empty lists
//!   out. An unknown account is served as one without storage.
//! - A `GetTrieNodes` request with an empty path set is refused even when its root is unknown or
//!   its budget would have closed the reply before that set (go-ethereum only notices the set
//!   when it reaches it).
//! - A `GetStorageRanges` request is served for at most
//!   [`ServerLimits::max_storage_accounts`] accounts, and storage, bytecode and trie node requests
//!   stop at [`ServerLimits::max_request_time`]; go-ethereum bounds only trie nodes by time.
//! - Bytecodes are looked up in the stores of every state held (usually one), newest first.

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod account_range;
mod blocks;
mod byte_codes;
mod error;
mod limits;
mod server;
mod states;
mod storage_ranges;
mod trie_nodes;

pub use blocks::{BlockServer, BlockStart, HeadersQuery};
pub use error::{AddStateError, ServeError};
pub use limits::ServerLimits;
pub use server::SnapServer;

pub(crate) use error::ReadError;
