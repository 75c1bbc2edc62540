//! [`Scenario`]: a generated chain served by simulated peers, ready for a sync to run against.
//!
//! The tests, the CLI's `sync` command and the examples all need the same world: a chain whose
//! headers carry the roots of a generated state, a snap/1 server holding the state of the blocks
//! peers should serve, and a [`SimNetwork`] of peers with chosen links and behaviours serving
//! both the state and the chain. This builds it once, in one place.

use crate::{
    Behaviour, BlockSource, ExecutedChain, GeneratedChain, Link, SimNetwork, SimPeer,
    SnapResponder, StateSpec,
};
use alloy_primitives::B256;
use snapsync_db::{Database, ImportError, MemoryDatabase};
use snapsync_etl::CollectorConfig;
use snapsync_server::{AddStateError, ServerLimits, SnapServer};
use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

/// Why a scenario could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A block to serve is not in the chain.
    #[error("block {0} is not in the generated chain")]
    UnknownBlock(u64),
    /// Importing a block's state into the server's database failed.
    #[error("importing the state of block {block}: {source}")]
    Import {
        /// The block.
        block: u64,
        /// The import error.
        #[source]
        source: ImportError,
    },
    /// The server refused a state.
    #[error("serving the state of block {block}: {source}")]
    Serve {
        /// The block.
        block: u64,
        /// The server's error.
        #[source]
        source: Box<AddStateError>,
    },
}

/// A chain, a server holding some of its states, and peers serving both.
pub struct Scenario<C = GeneratedChain> {
    /// The chain the peers serve.
    pub chain: Arc<C>,
    /// The snap/1 server behind every peer.
    pub server: Arc<SnapServer<dyn Database>>,
    /// The simulated peers.
    pub network: Arc<SimNetwork>,
}

impl<C> std::fmt::Debug for Scenario<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario").field("network", &self.network).finish_non_exhaustive()
    }
}

impl Scenario {
    /// `peers` serving `chain`'s headers and bodies, and the state of each block in `served`
    /// (blocks with equal roots share one imported copy). The server keeps its default limits.
    ///
    /// # Errors
    /// [`ScenarioError`] for a block outside the chain or a state that cannot be imported.
    pub fn new(
        chain: GeneratedChain,
        peers: Vec<SimPeer>,
        served: impl IntoIterator<Item = u64>,
    ) -> Result<Self, ScenarioError> {
        let server = Arc::new(SnapServer::new(ServerLimits::default()));
        let mut imported: HashMap<B256, Arc<dyn Database>> = HashMap::new();
        for block in served {
            let header = chain.header(block).ok_or(ScenarioError::UnknownBlock(block))?;
            let root = header.state_root;
            let db = match imported.entry(root) {
                Entry::Occupied(entry) => Arc::clone(entry.get()),
                Entry::Vacant(entry) => {
                    let state = chain.state_at(block).ok_or(ScenarioError::UnknownBlock(block))?;
                    let db: Arc<dyn Database> = Arc::new(MemoryDatabase::new());
                    state
                        .import_into(db.as_ref(), &CollectorConfig::default())
                        .map_err(|source| ScenarioError::Import { block, source })?;
                    Arc::clone(entry.insert(db))
                }
            };
            server
                .add_state(root, db)
                .map_err(|source| ScenarioError::Serve { block, source: Box::new(source) })?;
        }
        Ok(Self::serving(chain, server, peers))
    }

    /// The hash of the chain's head: the tip a consensus client would announce.
    pub fn tip(&self) -> B256 {
        self.chain.head().hash()
    }

    /// The demo world of `examples/embed_stage.rs` (and of the test that runs it): a generated
    /// chain of [`DEMO_HEAD`](Self::DEMO_HEAD) blocks over a small state of 2,000 accounts (seed
    /// 7), four honest peers on 10 ms, 1 Gbit/s links serving it, and the state of the block
    /// `pivot_distance` below the head (the pivot a sync at that distance picks).
    ///
    /// # Errors
    /// [`ScenarioError::UnknownBlock`] for a distance beyond the chain.
    pub fn demo(pivot_distance: u64) -> Result<Self, ScenarioError> {
        let pivot = Self::DEMO_HEAD
            .checked_sub(pivot_distance)
            .ok_or(ScenarioError::UnknownBlock(pivot_distance))?;
        let chain =
            GeneratedChain::new(7, &StateSpec::small().with_accounts(2_000), Self::DEMO_HEAD, 0);
        let peers = (0..4).map(|seed| SimPeer::new(Link::new(10, 1_000), Behaviour::Honest, seed));
        Self::new(chain, peers.collect(), [pivot])
    }

    /// The head of [`demo`](Self::demo)'s chain.
    pub const DEMO_HEAD: u64 = 80;
}

impl Scenario<ExecutedChain> {
    /// `peers` serving `chain`'s headers, bodies and receipts, and each state it kept (taken
    /// from the chain: forgetting one frees it).
    ///
    /// # Errors
    /// [`ScenarioError::Serve`] when a kept state's stored root is not its header's.
    pub fn executed(mut chain: ExecutedChain, peers: Vec<SimPeer>) -> Result<Self, ScenarioError> {
        let server = Arc::new(SnapServer::new(ServerLimits::default()));
        for (block, state) in chain.take_states() {
            let header = chain.header(block).ok_or(ScenarioError::UnknownBlock(block))?;
            server
                .add_state(header.state_root, state)
                .map_err(|source| ScenarioError::Serve { block, source: Box::new(source) })?;
        }
        Ok(Self::serving(chain, server, peers))
    }

    /// The hash of the chain's head.
    pub fn tip(&self) -> B256 {
        self.chain.head().hash()
    }
}

impl<C: BlockSource + 'static> Scenario<C> {
    /// `peers` answering from `server` and serving `chain`'s blocks.
    fn serving(chain: C, server: Arc<SnapServer<dyn Database>>, peers: Vec<SimPeer>) -> Self {
        let chain = Arc::new(chain);
        let blocks: Arc<dyn BlockSource> = chain.clone();
        let responder: Arc<dyn SnapResponder> = server.clone();
        let network = Arc::new(SimNetwork::new(responder, peers).with_blocks(blocks));
        Self { chain, server, network }
    }

    /// Stops serving the state of block `number` (peers forget states older than about 128
    /// blocks); whether it was served.
    pub fn forget_state_of(&self, number: u64) -> bool {
        self.chain
            .header_by_number(number)
            .is_some_and(|header| self.server.remove_state(header.state_root))
    }
}
