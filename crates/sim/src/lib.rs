//! A simulated snap/1 network, to show what the sync does against peers we control.
//!
//! snapsync never opens a socket, so every claim about sync behaviour is shown against in-process
//! peers. [`SimNetwork`] implements the embedder-facing seam (`PeerSource`, `PeerRequests`) over any number of
//! [`SimPeer`]s. Each peer answers from a [`SnapResponder`] (a snap/1 server over a real
//! database), delays its replies by its [`Link`] (round-trip latency, and bandwidth shared by its
//! concurrent replies), and then applies its [`Behaviour`]: honest, slow, stalling, stateless,
//! serving some roots only, or one of the hostile faults (bad proofs, gaps, altered values, extra
//! items, wrong storage, oversized replies, garbage code, wrong trie nodes, a random mixture, and
//! for headers and bodies a broken hash link or a body that does not match its header).
//!
//! Behaviours are data: chosen per peer, switchable mid-run with
//! [`SimNetwork::set_behaviour`]. Randomness comes from per-peer seeds and time from tokio, so a
//! test under paused time is a function of its seeds. With [`SimNetwork::with_blocks`] the peers
//! also serve headers and bodies from a [`BlockSource`] (a generated chain, or a real one
//! loaded as a [`ChainFixture`]). The network records every penalty the
//! client reports and disconnects peers it is told to, as a real network would.
//!
//! What the peers serve comes from here too: [`GeneratedState`] and [`GeneratedChain`] (a state
//! and a chain over it drawn from a seed and a [`StateSpec`], or loaded from a genesis file),
//! which sync tests also compare their result with ([`GeneratedState::compare_with_db`]).

// The unit tests are given every dev-dependency of the package, most of them for other test
// targets; `.ci/check-dev-deps` checks that each is used by some target.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod behaviour;
mod blocks;
mod generate;
mod link;
mod network;
mod responder;
mod scenario;
mod server;

pub use behaviour::Behaviour;
pub use blocks::BlockSource;
pub use generate::{
    AccountChange, AccountUpdate, Actors, CHAIN_ID, ChainFixture, ChainFixtureError, ChainShape,
    ExecutedChain, ExecutedChainError, GeneratedAccount, GeneratedChain, GeneratedState,
    KeptStates, STORE_CODE, SizeDistribution, StateDiff, StateMismatch, StateProfile, StateSpec,
    TxKindMix, UnknownProfile, mainnet,
};
pub use link::Link;
pub use network::{Report, SimNetwork, SimPeer};
pub use responder::SnapResponder;
pub use scenario::{Scenario, ScenarioError};
