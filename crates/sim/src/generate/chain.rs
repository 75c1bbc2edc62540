//! [`GeneratedChain`]: a chain of headers whose state roots are those of a generated state and
//! its random per-block changes, for sync tests that need a pivot, a moving head and the state
//! at each block.
//!
//! # Blocks
//!
//! Block 0 is the genesis: its header carries the root of the initial state. Each later block
//! applies a random [`StateDiff`] (see `diff_generator.rs`: transfers, new accounts, storage
//! writes including in large contracts, deployments, self-destructs) and its header carries the
//! new root and links to its parent by `parent_hash = parent.hash_slow()`.
//!
//! Bodies are empty, and the headers say so: no transactions, receipts or ommers, no
//! withdrawals (a Shanghai+ body with an empty withdrawal list), no gas used and no blobs. A
//! Bodies stage checking a body against its header's roots accepts them. The state changes are
//! therefore not the effect of the blocks' transactions, which a snap sync never executes and
//! cannot tell. The other fields are plausible Cancun values: 12-second slots, a 36M gas limit,
//! a base fee falling by 1/8 per empty block (EIP-1559), random `prevrandao` and beacon roots.
//!
//! # Cost
//!
//! Every header's hash depends on every earlier root, so every root is computed at
//! construction, incrementally (see `incremental_root.rs`): building the initial tries costs
//! about what [`GeneratedState::state_root`] costs, then each block costs time proportional to
//! its changes times the trie depth, not to the state. Only the genesis state and the diffs are
//! kept: [`GeneratedChain::state_at`] clones the genesis state and replays the diffs up to the
//! block (`O(state + changes)`, no root computed).

use crate::generate::diff_generator::DiffGenerator;
use crate::generate::incremental_root::IncrementalStateRoot;
use crate::generate::state_values::random_hash;
use crate::{GeneratedState, StateDiff, StateSpec};
use alloy_consensus::{BlockBody, EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, TxEnvelope};
use alloy_primitives::{Address, B64, B256, Bytes, Sealable, Sealed};
use snapsync_primitives::test_utils::TestRng;
use std::collections::HashMap;

/// Timestamp of the genesis block (November 2023).
const GENESIS_TIMESTAMP: u64 = 1_700_000_000;
/// Seconds between blocks.
pub(crate) const SLOT_SECONDS: u64 = 12;
/// Gas limit of every block.
const GAS_LIMIT: u64 = 36_000_000;
/// Base fee of the genesis block: 1 gwei.
const GENESIS_BASE_FEE: u64 = 1_000_000_000;
/// `extra_data` of every header (named after the crate these chains were first generated in;
/// changing it would change every generated header hash).
const EXTRA_DATA: &[u8] = b"snapsync-testing";
/// Mixed into the seed for the header fields and for the diffs, so that they draw independent
/// streams from the state's.
const HEADER_SALT: u64 = 0x6865_6164_6572_7321;
const DIFF_SALT: u64 = 0x6469_6666_7321_2121;

/// A chain of empty blocks over a changing generated state: headers, bodies, and the state at
/// any block.
///
/// ```
/// use snapsync_sim::{GeneratedChain, StateSpec};
/// let spec = StateSpec::small().with_accounts(200).with_huge_contracts(1, 500);
/// let chain = GeneratedChain::new(1, &spec, 3, 10);
/// assert_eq!(chain.head_number(), 3);
/// let state = chain.state_at(2).unwrap();
/// assert_eq!(state.state_root(), chain.header(2).unwrap().state_root);
/// assert_eq!(chain.header(3).unwrap().parent_hash, chain.header(2).unwrap().hash());
/// ```
#[derive(Debug, Clone)]
pub struct GeneratedChain {
    genesis_state: GeneratedState,
    genesis: Sealed<Header>,
    /// Blocks 1 to head, in order.
    blocks: Vec<GeneratedBlock>,
    numbers: HashMap<B256, u64>,
}

/// A block after genesis: its header and the changes that led to its state.
#[derive(Debug, Clone)]
struct GeneratedBlock {
    header: Sealed<Header>,
    diff: StateDiff,
}

impl GeneratedChain {
    /// A chain of `blocks` blocks after genesis over a state of `spec`'s shape, each block
    /// drawing `changes_per_block` random operations (none: the state never changes), all
    /// determined by `seed`.
    pub fn new(seed: u64, spec: &StateSpec, blocks: u64, changes_per_block: usize) -> Self {
        Self::from_genesis_state(
            seed,
            GeneratedState::generate(seed, spec),
            blocks,
            changes_per_block,
        )
    }

    /// As [`GeneratedChain::new`], over a given initial state (a loaded genesis file, a state
    /// built by hand).
    pub fn from_genesis_state(
        seed: u64,
        genesis_state: GeneratedState,
        blocks: u64,
        changes_per_block: usize,
    ) -> Self {
        let mut rng = TestRng::new(seed ^ HEADER_SALT);
        let mut roots = IncrementalStateRoot::new(&genesis_state);
        let genesis = genesis_header(roots.root(), &mut rng).seal_slow();
        let mut chain = Self {
            genesis,
            blocks: Vec::with_capacity(usize::try_from(blocks).unwrap_or(0)),
            numbers: HashMap::new(),
            genesis_state,
        };
        chain.numbers.insert(chain.genesis.hash(), 0);
        let mut generator = DiffGenerator::new(seed ^ DIFF_SALT, &chain.genesis_state);
        let mut state = chain.genesis_state.clone();
        for _ in 0..blocks {
            let diff = generator.next_diff(&state, changes_per_block);
            state.apply(&diff);
            let root = roots.update(&state, &diff);
            let header = child_header(chain.head(), root, &mut rng).seal_slow();
            chain.numbers.insert(header.hash(), header.number);
            chain.blocks.push(GeneratedBlock { header, diff });
        }
        chain
    }

    /// The number of the last block.
    pub fn head_number(&self) -> u64 {
        self.head().number
    }

    /// The header of the last block, with its hash.
    pub fn head(&self) -> &Sealed<Header> {
        self.blocks.last().map_or(&self.genesis, |block| &block.header)
    }

    /// The header of block `number` with its hash, if the chain has it.
    pub fn header(&self, number: u64) -> Option<&Sealed<Header>> {
        match number.checked_sub(1) {
            None => Some(&self.genesis),
            Some(index) => self.block(index).map(|block| &block.header),
        }
    }

    /// The header whose hash is `hash`, if the chain has it.
    pub fn header_by_hash(&self, hash: &B256) -> Option<&Sealed<Header>> {
        self.header(*self.numbers.get(hash)?)
    }

    /// Every header from genesis to head.
    pub fn headers(&self) -> impl DoubleEndedIterator<Item = &Sealed<Header>> + '_ {
        std::iter::once(&self.genesis).chain(self.blocks.iter().map(|block| &block.header))
    }

    /// The body of block `number`: empty, with an empty withdrawal list, as its header's roots
    /// say.
    pub fn body(&self, number: u64) -> Option<BlockBody<TxEnvelope>> {
        self.header(number)?;
        Some(BlockBody {
            transactions: Vec::new(),
            ommers: Vec::new(),
            withdrawals: Some(Default::default()),
        })
    }

    /// The state at genesis.
    pub const fn genesis_state(&self) -> &GeneratedState {
        &self.genesis_state
    }

    /// The changes block `number` made (none for genesis or past the head).
    pub fn diff(&self, number: u64) -> Option<&StateDiff> {
        self.block(number.checked_sub(1)?).map(|block| &block.diff)
    }

    /// The state after block `number`: the genesis state with the diffs of blocks 1 to
    /// `number` applied. Costs a copy of the genesis state plus the changes replayed.
    pub fn state_at(&self, number: u64) -> Option<GeneratedState> {
        let blocks = usize::try_from(number).ok().filter(|n| *n <= self.blocks.len())?;
        let mut state = self.genesis_state.clone();
        for block in &self.blocks[..blocks] {
            state.apply(&block.diff);
        }
        Some(state)
    }

    fn block(&self, index: u64) -> Option<&GeneratedBlock> {
        self.blocks.get(usize::try_from(index).ok()?)
    }
}

/// The genesis header over `state_root`.
pub(crate) fn genesis_header(state_root: B256, rng: &mut TestRng) -> Header {
    let beneficiary = Address::from_slice(&rng.bytes(20));
    Header {
        number: 0,
        timestamp: GENESIS_TIMESTAMP,
        base_fee_per_gas: Some(GENESIS_BASE_FEE),
        beneficiary,
        ..empty_block_header(state_root, rng)
    }
}

/// The header of the block after `parent`, over `state_root`.
fn child_header(parent: &Sealed<Header>, state_root: B256, rng: &mut TestRng) -> Header {
    Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        timestamp: parent.timestamp + SLOT_SECONDS,
        base_fee_per_gas: parent.base_fee_per_gas.map(next_base_fee_after_empty_block),
        beneficiary: parent.beneficiary,
        ..empty_block_header(state_root, rng)
    }
}

/// The fields every header of an empty Cancun block has, over `state_root`.
fn empty_block_header(state_root: B256, rng: &mut TestRng) -> Header {
    Header {
        state_root,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        gas_limit: GAS_LIMIT,
        gas_used: 0,
        extra_data: Bytes::from_static(EXTRA_DATA),
        mix_hash: random_hash(rng),
        nonce: B64::ZERO,
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(random_hash(rng)),
        ..Header::default()
    }
}

/// EIP-1559 after a block that used no gas: the base fee falls by an eighth.
const fn next_base_fee_after_empty_block(base_fee: u64) -> u64 {
    base_fee - base_fee / 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> StateSpec {
        StateSpec::small().with_accounts(3_000).with_huge_contracts(1, 8_000)
    }

    #[test]
    fn roots_match_the_replayed_states() {
        let chain = GeneratedChain::new(4, &spec(), 140, 30);
        assert_eq!(chain.head_number(), 140);
        for number in [0, 1, 2, 17, 64, 139, 140] {
            let state = chain.state_at(number).unwrap();
            assert_eq!(state.state_root(), chain.header(number).unwrap().state_root, "{number}");
        }
        assert!(chain.state_at(141).is_none() && chain.header(141).is_none());
        assert_ne!(chain.state_at(5).unwrap(), chain.state_at(5 + 128).unwrap());
        assert_ne!(chain.header(5).unwrap().state_root, chain.header(133).unwrap().state_root);
    }

    #[test]
    fn headers_link_and_bodies_match_their_roots() {
        let chain = GeneratedChain::new(5, &spec(), 20, 5);
        let headers: Vec<_> = chain.headers().collect();
        assert_eq!(headers.len(), 21);
        assert_eq!(headers[0].parent_hash, B256::ZERO);
        for (number, pair) in (1u64..).zip(headers.windows(2)) {
            let (parent, child) = (pair[0], pair[1]);
            assert_eq!(child.number, number);
            assert_eq!(child.parent_hash, parent.hash_slow());
            assert_eq!(child.parent_hash, parent.hash());
            assert_eq!(child.timestamp, parent.timestamp + SLOT_SECONDS);
            assert!(child.base_fee_per_gas < parent.base_fee_per_gas);
            assert_eq!(chain.header_by_hash(&child.hash()).map(|h| h.number), Some(number));
        }
        for header in headers {
            let body = chain.body(header.number).unwrap();
            assert_eq!(body.calculate_ommers_root(), header.ommers_hash);
            assert_eq!(
                alloy_consensus::proofs::calculate_transaction_root(&body.transactions),
                header.transactions_root
            );
            assert_eq!(body.calculate_withdrawals_root(), header.withdrawals_root);
            assert_eq!(header.gas_used, 0);
        }
        assert!(chain.body(21).is_none());
        assert!(chain.diff(0).is_none() && chain.diff(20).is_some() && chain.diff(21).is_none());
    }

    #[test]
    fn the_seed_decides() {
        let small = StateSpec::small().with_accounts(300).with_huge_contracts(1, 400);
        let hashes = |seed| {
            GeneratedChain::new(seed, &small, 10, 5).headers().map(|h| h.hash()).collect::<Vec<_>>()
        };
        assert_eq!(hashes(1), hashes(1));
        let other = hashes(2);
        assert!(hashes(1).iter().zip(&other).all(|(a, b)| a != b));
    }

    #[test]
    fn without_changes_the_root_stays() {
        let small = StateSpec::small().with_accounts(100).with_huge_contracts(0, 0);
        let chain = GeneratedChain::new(3, &small, 4, 0);
        let roots: Vec<_> = chain.headers().map(|h| h.state_root).collect();
        assert!(roots.iter().all(|root| *root == roots[0]));
        assert_eq!(chain.state_at(4).unwrap(), *chain.genesis_state());
    }
}
