//! What the simulated network serves, and what a sync's result is checked against: whole
//! states and chains, generated from a seed or loaded from files.
//!
//! - [`GeneratedState`]: a state (accounts with code and storage) held in memory as plain maps,
//!   drawn from a seed and a [`StateSpec`] or loaded from a genesis file or state dump, with its
//!   root and counts computed from scratch; imported into a database
//!   ([`GeneratedState::import_into`]) to serve it, compared with one
//!   ([`GeneratedState::compare_with_db`], [`StateMismatch`]) to check a sync;
//! - [`GeneratedChain`]: headers and empty bodies over that state changing block by block
//!   ([`StateDiff`]), with the state at any block, its roots kept up to date incrementally;
//! - [`ExecutedChain`]: real blocks over that state (transfers, storage calls, creations,
//!   withdrawals by the [`Actors`]), built by executing them, with chosen blocks' states kept;
//! - [`ChainFixture`]: a real chain decoded from an RLP chain file.
//!
//! They moved here from the former `snapsync-testing` crate because the simulator (and the
//! tests and the CLI that run it) are their users; seeds draw from `snapsync-primitives`'
//! [`TestRng`](snapsync_primitives::test_utils::TestRng).

mod actors;
mod chain;
mod chain_fixture;
mod db_check;
mod diff_generator;
mod executed_chain;
mod generated_account;
mod generated_state;
mod incremental_root;
mod size_distribution;
mod state_diff;
mod state_file;
mod state_generator;
mod state_import;
mod state_spec;
mod state_values;
mod trie_cache;

pub use actors::{Actors, CHAIN_ID, STORE_CODE, TxKindMix};
pub use chain::GeneratedChain;
pub use chain_fixture::{ChainFixture, ChainFixtureError};
pub use db_check::StateMismatch;
pub use executed_chain::{ChainShape, ExecutedChain, ExecutedChainError, KeptStates};
pub use generated_account::GeneratedAccount;
pub use generated_state::GeneratedState;
pub use size_distribution::SizeDistribution;
pub use state_diff::{AccountChange, AccountUpdate, StateDiff};
pub use state_spec::{StateProfile, StateSpec, UnknownProfile, mainnet};
