//! [`ChainSpec`]: what a node needs to know about its chain before the first peer — chain id,
//! fork schedule, merge and blob parameters, and the genesis header with its hash — built from
//! a genesis file. The eth handshake uses it (network id, genesis hash, fork id) and block
//! execution will use its fork rules.

use crate::{ChainSpecError, ForkSchedule, GenesisFields, GenesisState, KnownNetwork, StateFile};
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_eip2124::{ForkFilter, ForkId, Head};
use alloy_eips::{
    BlobScheduleBlobParams, eip1559::INITIAL_BASE_FEE, eip7685::EMPTY_REQUESTS_HASH,
    eip7840::BlobParams,
};
use alloy_hardforks::EthereumHardfork;
use alloy_primitives::{Address, B64, B256, Sealable, Sealed, U256};
use snapsync_primitives::EMPTY_ROOT_HASH;
use std::path::Path;

/// A chain's rules and genesis, built from a genesis file.
///
/// Built only by the constructors, so the genesis header always agrees with the fork schedule
/// and the file's `alloc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    chain_id: u64,
    forks: ForkSchedule,
    terminal_total_difficulty: Option<U256>,
    blob_params: BlobScheduleBlobParams,
    deposit_contract: Option<Address>,
    dao_fork_support: bool,
    genesis_header: Sealed<Header>,
}

impl ChainSpec {
    /// The spec of a genesis file that has a `config` (geth's format).
    ///
    /// # Errors
    ///
    /// [`ChainSpecError::MissingConfig`] without one; [`ChainSpecError::Fields`] for an invalid
    /// config or header field; [`ChainSpecError::Genesis`] for an invalid `alloc`;
    /// [`ChainSpecError::UnsupportedAtGenesis`] when Amsterdam or later is active at genesis.
    pub fn from_genesis_json(json: &[u8]) -> Result<Self, ChainSpecError> {
        let fields = GenesisFields::from_slice(json)?;
        let config = fields.config.clone().ok_or(ChainSpecError::MissingConfig)?;
        let forks = ForkSchedule::from_chain_config(&config, fields.difficulty);
        let spec = Rules {
            chain_id: config.chain_id,
            forks,
            terminal_total_difficulty: config.terminal_total_difficulty,
            blob_params: config.blob_schedule_blob_params(),
            deposit_contract: config.deposit_contract_address,
            dao_fork_support: config.dao_fork_support,
        };
        spec.with_genesis(&fields, &GenesisState::from_slice(json)?)
    }

    /// The spec of a public network's genesis file: the chain id and forks are `network`'s
    /// (a `config` in the file, if any, is ignored), the header fields and `alloc` the file's.
    ///
    /// # Errors
    ///
    /// As [`from_genesis_json`](Self::from_genesis_json), except that a missing `config` is fine.
    pub fn from_genesis_json_for(
        json: &[u8],
        network: KnownNetwork,
    ) -> Result<Self, ChainSpecError> {
        let fields = GenesisFields::from_slice(json)?;
        let forks = network.fork_schedule();
        let scheduled = [
            (EthereumHardfork::Bpo1, BlobParams::bpo1()),
            (EthereumHardfork::Bpo2, BlobParams::bpo2()),
        ]
        .into_iter()
        .filter_map(|(fork, params)| {
            forks
                .iter()
                .find(|(f, _)| *f == fork)
                .and_then(|(_, c)| c.as_timestamp())
                .map(|t| (t, params))
        });
        let spec = Rules {
            chain_id: network.chain_id(),
            terminal_total_difficulty: network.terminal_total_difficulty(),
            blob_params: BlobScheduleBlobParams::mainnet().with_scheduled(scheduled),
            deposit_contract: Some(network.deposit_contract()),
            // The public networks that had the DAO fork (mainnet) took its state change.
            dao_fork_support: true,
            forks,
        };
        spec.with_genesis(&fields, &GenesisState::from_slice(json)?)
    }

    /// Reads a genesis file with a `config` from disk (at most
    /// [`StateFile::MAX_FILE_BYTES`]); see [`from_genesis_json`](Self::from_genesis_json).
    ///
    /// # Errors
    ///
    /// [`ChainSpecError::Genesis`] when the file cannot be read or is over the cap; otherwise as
    /// [`from_genesis_json`](Self::from_genesis_json).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ChainSpecError> {
        Self::from_genesis_json(&read(path.as_ref())?)
    }

    /// Reads a public network's genesis file from disk; see
    /// [`from_genesis_json_for`](Self::from_genesis_json_for).
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn load_for(path: impl AsRef<Path>, network: KnownNetwork) -> Result<Self, ChainSpecError> {
        Self::from_genesis_json_for(&read(path.as_ref())?, network)
    }

    /// The chain id (the eth network id of every public network).
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The forks and their activation conditions.
    pub const fn forks(&self) -> &ForkSchedule {
        &self.forks
    }

    /// The merge's terminal total difficulty, if the chain has one.
    pub const fn terminal_total_difficulty(&self) -> Option<U256> {
        self.terminal_total_difficulty
    }

    /// The blob parameters per fork (EIP-7840 `blobSchedule`; the defaults for forks it omits).
    pub const fn blob_params(&self) -> &BlobScheduleBlobParams {
        &self.blob_params
    }

    /// The deposit contract's address, if configured.
    pub const fn deposit_contract(&self) -> Option<Address> {
        self.deposit_contract
    }

    /// Whether the chain applies the DAO fork's state change at its block (`daoForkSupport`).
    /// The fork is in [`forks`](Self::forks) whenever its block is set, since fork ids count it
    /// either way; execution drains the DAO accounts only when this is true.
    pub const fn dao_fork_support(&self) -> bool {
        self.dao_fork_support
    }

    /// The genesis header.
    pub fn genesis_header(&self) -> &Header {
        self.genesis_header.inner()
    }

    /// The genesis header's hash.
    pub fn genesis_hash(&self) -> B256 {
        self.genesis_header.hash()
    }

    /// The EIP-2124 fork filter for a node whose head is `head` (number and timestamp matter):
    /// its [`ForkFilter::current`] is the fork id to announce, and [`ForkFilter::validate`]
    /// judges a peer's.
    pub fn fork_filter(&self, head: Head) -> ForkFilter {
        ForkFilter::new(
            head,
            self.genesis_hash(),
            self.genesis_header().timestamp,
            self.forks.fork_filter_keys(),
        )
    }

    /// The fork id for a head at block `number` with `timestamp`.
    pub fn fork_id(&self, number: u64, timestamp: u64) -> ForkId {
        self.fork_filter(Head { number, timestamp, ..Head::default() }).current()
    }
}

/// A spec without its genesis header yet.
struct Rules {
    chain_id: u64,
    forks: ForkSchedule,
    terminal_total_difficulty: Option<U256>,
    blob_params: BlobScheduleBlobParams,
    deposit_contract: Option<Address>,
    dao_fork_support: bool,
}

impl Rules {
    fn with_genesis(
        self,
        fields: &GenesisFields,
        alloc: &GenesisState,
    ) -> Result<ChainSpec, ChainSpecError> {
        let state_root = alloc.state_root()?.state_root;
        let header = genesis_header(&self.forks, fields, state_root)?;
        Ok(ChainSpec {
            chain_id: self.chain_id,
            forks: self.forks,
            terminal_total_difficulty: self.terminal_total_difficulty,
            blob_params: self.blob_params,
            deposit_contract: self.deposit_contract,
            dao_fork_support: self.dao_fork_support,
            genesis_header: header.seal_slow(),
        })
    }
}

/// The genesis header: the file's fields, plus the fields of every fork active at genesis with
/// their genesis values (EIP-1559 base fee 1 gwei unless set, empty withdrawals root,
/// zero blob gas and parent beacon root, the empty requests hash).
fn genesis_header(
    forks: &ForkSchedule,
    fields: &GenesisFields,
    state_root: B256,
) -> Result<Header, ChainSpecError> {
    let number = fields.number.unwrap_or(0);
    let active = |fork| forks.is_active(fork, number, fields.timestamp);
    if let Some(fork) =
        [EthereumHardfork::Amsterdam, EthereumHardfork::Bogota].into_iter().find(|f| active(*f))
    {
        return Err(ChainSpecError::UnsupportedAtGenesis { fork });
    }
    let cancun = active(EthereumHardfork::Cancun);
    Ok(Header {
        parent_hash: fields.parent_hash.unwrap_or_default(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: fields.coinbase,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Default::default(),
        difficulty: fields.difficulty,
        number,
        gas_limit: fields.gas_limit,
        gas_used: fields.gas_used.unwrap_or(0),
        timestamp: fields.timestamp,
        extra_data: fields.extra_data.clone(),
        mix_hash: fields.mix_hash,
        nonce: B64::from(fields.nonce),
        base_fee_per_gas: active(EthereumHardfork::London)
            .then(|| fields.base_fee_per_gas.unwrap_or(INITIAL_BASE_FEE)),
        withdrawals_root: active(EthereumHardfork::Shanghai).then_some(EMPTY_ROOT_HASH),
        blob_gas_used: cancun.then(|| fields.blob_gas_used.unwrap_or(0)),
        excess_blob_gas: cancun.then(|| fields.excess_blob_gas.unwrap_or(0)),
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: active(EthereumHardfork::Prague).then_some(EMPTY_REQUESTS_HASH),
        ..Header::default()
    })
}

fn read(path: &Path) -> Result<Vec<u8>, ChainSpecError> {
    crate::read_capped(path, StateFile::MAX_FILE_BYTES).map_err(|source| {
        ChainSpecError::Genesis(crate::GenesisError::Io { path: path.to_owned(), source })
    })
}
