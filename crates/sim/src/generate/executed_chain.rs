//! [`ExecutedChain`]: a chain of real blocks over a generated state, each built by executing
//! its transactions, so every header's roots, gas and bloom are what execution gives.
//!
//! # How it is made
//!
//! 1. The genesis state is the generated state (seed-determined, of any [`StateSpec`] shape)
//!    with the [`Actors`] added: funded EOAs with seed-derived keys, storage-writing contracts
//!    and the EIP-4788 beacon-roots contract. It is imported into a [`MemoryDatabase`] (hashed
//!    tables, codes and every trie node), and the model is dropped.
//! 2. Each block is made from a template: 12 seconds after its parent, the gas limit kept, a
//!    random `prevrandao` and beacon root, [`ChainShape::withdrawals_per_block`] withdrawals
//!    and [`ChainShape::txs_per_block`] signed transactions taking turns as transfers (to
//!    known and new addresses), storage calls (writing, overwriting and clearing slots) and
//!    contract creations. The executor's block builder
//!    ([`EvmExecutor::build`](snapsync_execution::EvmExecutor::build)) runs them on the
//!    database and seals the header; the database then holds the block's state.
//! 3. The states of the blocks asked for ([`ExecutedChain::build`]'s `keep`) are kept as forks
//!    of the database ([`MemoryDatabase::fork`]): the tables they share with later states are
//!    not copied, so each kept state costs the tables changed after it, a whole second copy of
//!    the state once the blocks after it touch every table. [`KeptStates::OnDisk`] copies each
//!    kept state into a redb file instead ([`copy_tables`]), so the process holds the state
//!    once, the builder's.
//!
//! The chain runs [`ExecutedChain::rules`]: chain id [`CHAIN_ID`], every fork through Cancun
//! active from genesis (Shanghai for [`ChainShape::empty`]), mainnet's blob parameters. The same seed and shape give the same
//! chain, header for header.

use crate::generate::actors::{Actors, TxKindMix};
use crate::generate::chain::{SLOT_SECONDS, genesis_header};
use crate::generate::state_values::random_hash;
use crate::{CHAIN_ID, GeneratedState};
use alloy_consensus::{Header, ReceiptEnvelope};
use alloy_eips::eip4895::Withdrawal;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_primitives::{B256, Bytes, Sealable, Sealed};
use snapsync_db::{
    Database, DbError, ImportError, MemoryDatabase, RedbDatabase, RedbOptions, copy_tables,
};
use snapsync_etl::CollectorConfig;
use snapsync_execution::{BlockError, BlockTemplate, ChainRules, EvmExecutor};
use snapsync_net::EthBlockBody;
use snapsync_primitives::test_utils::TestRng;
use snapsync_storage::{StateStore, StateWrite, StoreError};
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::Arc,
};

/// Sort buffer of each of the genesis import's collectors (they spill to the system's temporary
/// directory beyond it): 16 MiB, against the 64 MiB default, keeps the import's peak near the
/// size of the state it builds (measured: no slower).
const IMPORT_BUFFER: usize = 16 << 20;

/// Mixed into the seed for the blocks' randomness, so it is independent of the state's.
const BLOCK_SALT: u64 = 0x626c_6f63_6b73_2121;
/// EOAs sending the transactions.
const SENDERS: usize = 64;
/// `extra_data` of every built header.
const EXTRA_DATA: &[u8] = b"snapsync executed";

/// What each block of an [`ExecutedChain`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainShape {
    /// Blocks after the genesis.
    pub blocks: u64,
    /// Transactions per block, taking turns as transfer, storage call, creation.
    pub txs_per_block: usize,
    /// Most slots one storage call writes (each call writes 1 to this many).
    pub slots_per_call: usize,
    /// Withdrawals per block.
    pub withdrawals_per_block: usize,
    /// Whether the actors are added to the genesis state (they must be, for transactions).
    pub with_actors: bool,
    /// The last fork, active from genesis with every one before it (see
    /// [`ExecutedChain::rules_through`]).
    pub last_fork: EthereumHardfork,
}

impl ChainShape {
    /// `blocks` blocks of `txs_per_block` transactions, storage calls writing up to 4 slots,
    /// 2 withdrawals per block.
    pub const fn new(blocks: u64, txs_per_block: usize) -> Self {
        Self {
            blocks,
            txs_per_block,
            slots_per_call: 4,
            withdrawals_per_block: 2,
            with_actors: true,
            last_fork: EthereumHardfork::Cancun,
        }
    }

    /// `blocks` empty blocks under Shanghai's rules and no actors: nothing touches the genesis
    /// state, whatever it holds (under Cancun's the EIP-4788 system call would write the
    /// beacon-roots contract of a state that has one), so every block keeps its root.
    pub const fn empty(blocks: u64) -> Self {
        Self {
            blocks,
            txs_per_block: 0,
            slots_per_call: 0,
            withdrawals_per_block: 0,
            with_actors: false,
            last_fork: EthereumHardfork::Shanghai,
        }
    }
}

/// Why an executed chain could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExecutedChainError {
    /// Importing the genesis state failed.
    #[error("importing the genesis state: {0}")]
    Import(#[from] ImportError),
    /// The builder failed on a block.
    #[error("building block {number}: {source}")]
    Build {
        /// The block.
        number: u64,
        /// The builder's error.
        #[source]
        source: BlockError,
    },
    /// The builder left out a generated transaction: the generator made an invalid one.
    #[error("block {number} left out generated transaction {index}: {reason}")]
    Skipped {
        /// The block.
        number: u64,
        /// The transaction's index in the template.
        index: usize,
        /// Why, as the EVM said.
        reason: String,
    },
    /// The builder's store failed.
    #[error("the builder's store: {0}")]
    Store(#[from] StoreError),
    /// A kept state could not be written to its file.
    #[error("keeping the state of block {number} in {}: {source}", path.display())]
    Keep {
        /// The block.
        number: u64,
        /// The file.
        path: PathBuf,
        /// The database's error.
        #[source]
        source: DbError,
    },
}

/// Where an [`ExecutedChain`] keeps the states it is asked to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptStates {
    /// As forks of the builder's in-memory database: no I/O, but a state costs a copy of every
    /// table the blocks after it change.
    InMemory,
    /// Copied into `state-<block>.redb` files in this existing directory, each opened with a
    /// page cache of `cache_bytes`: the process holds the builder's state only.
    OnDisk {
        /// The directory.
        dir: PathBuf,
        /// Page cache of each file's database.
        cache_bytes: usize,
    },
}

impl KeptStates {
    /// The state of block `number`, as `db` holds it now, kept.
    fn keep(
        &self,
        number: u64,
        db: &MemoryDatabase,
    ) -> Result<Arc<dyn Database>, ExecutedChainError> {
        let Self::OnDisk { dir, cache_bytes } = self else {
            return Ok(Arc::new(db.fork()));
        };
        let path = dir.join(format!("state-{number}.redb"));
        let failed = |source| ExecutedChainError::Keep { number, path: path.clone(), source };
        let options = RedbOptions { cache_size: *cache_bytes, ..RedbOptions::default() };
        let file = RedbDatabase::open(&path, options).map_err(failed)?;
        copy_tables(db, &file).map_err(failed)?;
        Ok(Arc::new(file))
    }
}

/// One built block.
#[derive(Debug, Clone)]
struct ExecutedBlock {
    header: Sealed<Header>,
    body: EthBlockBody,
    receipts: Vec<ReceiptEnvelope>,
}

/// A chain of executed blocks and the states kept of it. See the module docs.
#[derive(Debug)]
pub struct ExecutedChain {
    rules: ChainRules,
    /// Blocks 0 (the genesis, empty body) to head.
    blocks: Vec<ExecutedBlock>,
    numbers: HashMap<B256, u64>,
    states: BTreeMap<u64, Arc<dyn Database>>,
}

impl ExecutedChain {
    /// The rules of a chain of [`ChainShape::last_fork`] `last_fork`: chain id [`CHAIN_ID`],
    /// every fork through `last_fork` from genesis, mainnet's blob parameters.
    pub fn rules_through(last_fork: EthereumHardfork) -> ChainRules {
        ChainRules::through(CHAIN_ID, last_fork, None)
    }

    /// The rules the chain runs (those of its shape's last fork).
    pub const fn rules(&self) -> &ChainRules {
        &self.rules
    }

    /// The actors of `seed`'s chains, as at genesis.
    pub fn actors(seed: u64) -> Actors {
        Actors::new(seed, SENDERS)
    }

    /// Block 0's state of the chain of `seed` over `state`: `state` with the actors added.
    pub fn genesis_state(seed: u64, mut state: GeneratedState) -> GeneratedState {
        Self::actors(seed).add_to(&mut state);
        state
    }

    /// Builds the chain of `shape` over `genesis_state` with the actors of `seed` added, keeping
    /// the state of every block `keep` says (block 0 included). See the module docs.
    ///
    /// # Errors
    /// [`ExecutedChainError`]: the import, a block the builder refused or a transaction it
    /// left out, a store failure.
    pub fn build(
        seed: u64,
        genesis_state: GeneratedState,
        shape: &ChainShape,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Self, ExecutedChainError> {
        Self::build_keeping(seed, genesis_state, shape, keep, &KeptStates::InMemory)
    }

    /// As [`build`](Self::build), keeping the states where `kept` says.
    ///
    /// # Errors
    /// As [`build`](Self::build); [`ExecutedChainError::Keep`] when a kept state's file cannot
    /// be created or written.
    pub fn build_keeping(
        seed: u64,
        genesis_state: GeneratedState,
        shape: &ChainShape,
        keep: impl Fn(u64) -> bool,
        kept: &KeptStates,
    ) -> Result<Self, ExecutedChainError> {
        let mut actors = Self::actors(seed);
        let genesis_state = if shape.with_actors {
            Self::genesis_state(seed, genesis_state)
        } else {
            genesis_state
        };
        let db = MemoryDatabase::new();
        // The model is consumed as it is collected, and the collectors spill beyond small
        // buffers: the import holds little more than the state it builds.
        let imported = genesis_state.import_consumed(&db, &CollectorConfig::new(IMPORT_BUFFER))?;
        let mut rng = TestRng::new(seed ^ BLOCK_SALT);
        let rules = Self::rules_through(shape.last_fork);
        let mut genesis_header = genesis_header(imported.state_root, &mut rng);
        if !rules.is_cancun_active_at_timestamp(genesis_header.timestamp) {
            genesis_header.blob_gas_used = None;
            genesis_header.excess_blob_gas = None;
            genesis_header.parent_beacon_block_root = None;
        }
        let genesis = ExecutedBlock {
            header: genesis_header.seal_slow(),
            body: EthBlockBody {
                transactions: Vec::new(),
                ommers: Vec::new(),
                withdrawals: Some(Vec::new().into()),
            },
            receipts: Vec::new(),
        };
        let executor = EvmExecutor::new(rules.clone());
        let mut chain =
            Self { rules, blocks: vec![genesis], numbers: HashMap::new(), states: BTreeMap::new() };
        if keep(0) {
            chain.states.insert(0, kept.keep(0, &db)?);
        }
        let mut withdrawal_index = 0;
        for number in 1..=shape.blocks {
            let parent = chain.head();
            let mut template = BlockTemplate {
                timestamp: parent.timestamp + SLOT_SECONDS,
                beneficiary: parent.beneficiary,
                prevrandao: random_hash(&mut rng),
                parent_beacon_block_root: random_hash(&mut rng),
                gas_limit: parent.gas_limit,
                extra_data: Bytes::from_static(EXTRA_DATA),
                ..BlockTemplate::default()
            };
            for _ in 0..shape.withdrawals_per_block {
                template.withdrawals.push(Withdrawal {
                    index: withdrawal_index,
                    validator_index: rng.below(1_000_000) as u64,
                    address: actors.recipient(&mut rng),
                    amount: 1 + rng.below(32_000_000_000) as u64,
                });
                withdrawal_index += 1;
            }
            for index in 0..shape.txs_per_block {
                let kind = TxKindMix::of(index);
                template.transactions.push(actors.transaction(
                    kind,
                    shape.slots_per_call,
                    &mut rng,
                ));
            }
            let mut txn = db.writer()?;
            let built = executor
                .build(&mut txn, parent, &template)
                .map_err(|source| ExecutedChainError::Build { number, source })?;
            if let Some(skipped) = built.skipped.first() {
                return Err(ExecutedChainError::Skipped {
                    number,
                    index: skipped.index,
                    reason: skipped.reason.clone(),
                });
            }
            StateWrite::commit(txn)?;
            if keep(number) {
                chain.states.insert(number, kept.keep(number, &db)?);
            }
            chain.push(ExecutedBlock {
                header: built.header,
                body: built.body,
                receipts: built.receipts,
            });
        }
        chain.numbers =
            chain.blocks.iter().map(|block| (block.header.hash(), block.header.number)).collect();
        Ok(chain)
    }

    fn push(&mut self, block: ExecutedBlock) {
        self.blocks.push(block);
    }

    /// The number of the last block.
    pub fn head_number(&self) -> u64 {
        self.head().number
    }

    /// The last block's header.
    pub fn head(&self) -> &Sealed<Header> {
        // The genesis is always there: `build` starts with it.
        &self.blocks[self.blocks.len() - 1].header
    }

    /// The header of block `number`, if the chain has it.
    pub fn header(&self, number: u64) -> Option<&Sealed<Header>> {
        self.block(number).map(|block| &block.header)
    }

    /// The header whose hash is `hash`, if the chain has it.
    pub fn header_by_hash(&self, hash: &B256) -> Option<&Sealed<Header>> {
        self.header(*self.numbers.get(hash)?)
    }

    /// Every header from genesis to head.
    pub fn headers(&self) -> impl DoubleEndedIterator<Item = &Sealed<Header>> + '_ {
        self.blocks.iter().map(|block| &block.header)
    }

    /// The body of block `number`.
    pub fn body(&self, number: u64) -> Option<&EthBlockBody> {
        self.block(number).map(|block| &block.body)
    }

    /// The receipts of block `number`, in transaction order.
    pub fn receipts(&self, number: u64) -> Option<&[ReceiptEnvelope]> {
        self.block(number).map(|block| &block.receipts[..])
    }

    /// The kept state of block `number` (a database holding it, trie nodes included).
    pub fn state(&self, number: u64) -> Option<&Arc<dyn Database>> {
        self.states.get(&number)
    }

    /// Takes the kept states out (to serve them: whoever holds them then decides when they
    /// are freed).
    pub fn take_states(&mut self) -> BTreeMap<u64, Arc<dyn Database>> {
        std::mem::take(&mut self.states)
    }

    /// The blocks whose states are kept.
    pub fn kept_states(&self) -> impl Iterator<Item = u64> + '_ {
        self.states.keys().copied()
    }

    fn block(&self, number: u64) -> Option<&ExecutedBlock> {
        self.blocks.get(usize::try_from(number).ok()?)
    }
}
