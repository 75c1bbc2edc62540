//! [`ChainRules`]: the fork rules blocks are executed and checked under, from a
//! [`ChainSpec`] (a genesis file's `config`) or named directly (the networks of ethereum/tests).
//!
//! It is what alloy-evm's Ethereum block executor asks for ([`EthExecutorSpec`]: the fork
//! activations and the deposit contract), plus the chain id and the blob parameters per fork
//! (EIP-7840 `blobSchedule`, the blob-parameter-only forks included).

use alloy_eips::{BlobScheduleBlobParams, eip7840::BlobParams};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, U256};
use revm::primitives::hardfork::SpecId;
use snapsync_genesis::{ChainSpec, ForkSchedule};

/// A chain's execution rules. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRules {
    chain_id: u64,
    forks: ForkSchedule,
    blob_params: BlobScheduleBlobParams,
    deposit_contract: Option<Address>,
}

impl ChainRules {
    /// Rules from their parts.
    pub const fn new(
        chain_id: u64,
        forks: ForkSchedule,
        blob_params: BlobScheduleBlobParams,
        deposit_contract: Option<Address>,
    ) -> Self {
        Self { chain_id, forks, blob_params, deposit_contract }
    }

    /// The rules of `spec`. A chain that does not support the DAO fork
    /// ([`ChainSpec::dao_fork_support`]) gets no DAO transfer, even with a `daoForkBlock`.
    pub fn from_spec(spec: &ChainSpec) -> Self {
        let forks = if spec.dao_fork_support() {
            spec.forks().clone()
        } else {
            ForkSchedule::new(
                spec.forks().iter().filter(|(fork, _)| *fork != EthereumHardfork::Dao),
            )
        };
        Self::new(spec.chain_id(), forks, spec.blob_params().clone(), spec.deposit_contract())
    }

    /// The rules of an ethereum/tests network name (`"Cancun"`, `"Prague"`,
    /// `"ShanghaiToCancunAtTime15k"`, ...) on chain id 1, every fork up to the named one active
    /// from genesis; `None` for a name not known.
    pub fn for_test_network(name: &str) -> Option<Self> {
        use EthereumHardfork as F;
        let (last, transition): (F, Option<(F, ForkCondition)>) = match name {
            "Frontier" => (F::Frontier, None),
            "Homestead" => (F::Homestead, None),
            "EIP150" | "TangerineWhistle" => (F::Tangerine, None),
            "EIP158" | "SpuriousDragon" => (F::SpuriousDragon, None),
            "Byzantium" => (F::Byzantium, None),
            "Constantinople" => (F::Constantinople, None),
            "ConstantinopleFix" | "Petersburg" => (F::Petersburg, None),
            "Istanbul" => (F::Istanbul, None),
            "Berlin" => (F::Berlin, None),
            "London" => (F::London, None),
            "Merge" | "Paris" => (F::Paris, None),
            "Shanghai" => (F::Shanghai, None),
            "Cancun" => (F::Cancun, None),
            "Prague" => (F::Prague, None),
            "Osaka" => (F::Osaka, None),
            "ParisToShanghaiAtTime15k" => {
                (F::Paris, Some((F::Shanghai, ForkCondition::Timestamp(15_000))))
            }
            "ShanghaiToCancunAtTime15k" => {
                (F::Shanghai, Some((F::Cancun, ForkCondition::Timestamp(15_000))))
            }
            "CancunToPragueAtTime15k" => {
                (F::Cancun, Some((F::Prague, ForkCondition::Timestamp(15_000))))
            }
            "PragueToOsakaAtTime15k" => {
                (F::Prague, Some((F::Osaka, ForkCondition::Timestamp(15_000))))
            }
            _ => return None,
        };
        Some(Self::through(1, last, transition))
    }

    /// The rules of a chain `chain_id` with every fork up to `last` active from genesis (the
    /// merge at block 0 with no difficulty, the timestamp forks at 0), then `transition`,
    /// mainnet's blob parameters and deposit contract. The ethereum/tests networks are these
    /// on chain id 1; a synthetic chain picks its own id.
    pub fn through(
        chain_id: u64,
        last: EthereumHardfork,
        transition: Option<(EthereumHardfork, ForkCondition)>,
    ) -> Self {
        use EthereumHardfork as F;
        let mut forks = Vec::new();
        for fork in TEST_FORKS.iter().copied().take_while(|fork| *fork <= last) {
            let condition = match fork {
                F::Paris => ForkCondition::TTD {
                    activation_block_number: 0,
                    fork_block: Some(0),
                    total_difficulty: U256::ZERO,
                },
                F::Shanghai | F::Cancun | F::Prague | F::Osaka => ForkCondition::Timestamp(0),
                _ => ForkCondition::Block(0),
            };
            forks.push((fork, condition));
        }
        forks.extend(transition);
        let deposit_contract = Some(alloy_eips::eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS);
        Self::new(
            chain_id,
            ForkSchedule::new(forks),
            BlobScheduleBlobParams::mainnet(),
            deposit_contract,
        )
    }

    /// The chain id.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The forks.
    pub const fn forks(&self) -> &ForkSchedule {
        &self.forks
    }

    /// The blob parameters in force for a block at `timestamp`: the latest scheduled
    /// blob-parameter-only fork, else Osaka's, Prague's or Cancun's, whichever is active;
    /// `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if let Some(params) = self.blob_params.active_scheduled_params_at_timestamp(timestamp)
            && self.is_osaka_active_at_timestamp(timestamp)
        {
            return Some(*params);
        }
        if self.is_osaka_active_at_timestamp(timestamp) {
            Some(*self.blob_params.osaka())
        } else if self.is_prague_active_at_timestamp(timestamp) {
            Some(*self.blob_params.prague())
        } else if self.is_cancun_active_at_timestamp(timestamp) {
            Some(*self.blob_params.cancun())
        } else {
            None
        }
    }

    /// The EVM revision for a block with this number and timestamp.
    pub fn spec_id(&self, number: u64, timestamp: u64) -> SpecId {
        alloy_evm::spec_by_timestamp_and_block_number(self, timestamp, number)
    }
}

/// The forks the test networks activate, in order.
const TEST_FORKS: [EthereumHardfork; 15] = {
    use EthereumHardfork as F;
    [
        F::Frontier,
        F::Homestead,
        F::Tangerine,
        F::SpuriousDragon,
        F::Byzantium,
        F::Constantinople,
        F::Petersburg,
        F::Istanbul,
        F::Berlin,
        F::London,
        F::Paris,
        F::Shanghai,
        F::Cancun,
        F::Prague,
        F::Osaka,
    ]
};

impl EthereumHardforks for ChainRules {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.forks.ethereum_fork_activation(fork)
    }
}

impl EthExecutorSpec for ChainRules {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.deposit_contract
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_networks_activate_their_forks_at_genesis() {
        let cancun = ChainRules::for_test_network("Cancun").unwrap();
        assert_eq!(cancun.spec_id(0, 0), SpecId::CANCUN);
        assert_eq!(cancun.blob_params_at(0), Some(BlobParams::cancun()));
        let london = ChainRules::for_test_network("London").unwrap();
        assert_eq!(london.spec_id(5, 5), SpecId::LONDON);
        assert_eq!(london.blob_params_at(5), None);
        let to_cancun = ChainRules::for_test_network("ShanghaiToCancunAtTime15k").unwrap();
        assert_eq!(to_cancun.spec_id(3, 14_999), SpecId::SHANGHAI);
        assert_eq!(to_cancun.spec_id(4, 15_000), SpecId::CANCUN);
        assert!(ChainRules::for_test_network("Nowhere").is_none());
    }

    #[test]
    fn the_dao_fork_applies_only_with_dao_fork_support() {
        let genesis = |support: bool| {
            format!(
                r#"{{"config":{{"chainId":7,"homesteadBlock":0,"daoForkBlock":5,"daoForkSupport":{support}}},
                "difficulty":"0x1","gasLimit":"0x1000000","alloc":{{}}}}"#
            )
        };
        let dao = |support| {
            let spec = ChainSpec::from_genesis_json(genesis(support).as_bytes()).unwrap();
            assert_eq!(spec.dao_fork_support(), support);
            ChainRules::from_spec(&spec)
                .ethereum_fork_activation(EthereumHardfork::Dao)
                .transitions_at_block(5)
        };
        assert!(dao(true));
        assert!(!dao(false));
    }

    #[test]
    fn scheduled_blob_parameters_follow_osaka() {
        let osaka = ChainRules::for_test_network("Osaka").unwrap();
        let bpo = BlobScheduleBlobParams::mainnet().with_scheduled([(100, BlobParams::bpo1())]);
        let rules = ChainRules { blob_params: bpo, ..osaka };
        assert_eq!(rules.blob_params_at(99), Some(BlobParams::osaka()));
        assert_eq!(rules.blob_params_at(100), Some(BlobParams::bpo1()));
    }
}
