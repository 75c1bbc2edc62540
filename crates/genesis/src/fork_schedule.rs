//! A chain's forks and when each activates: the rules a block is checked and executed under,
//! and the list EIP-2124 fork ids are computed from.
//!
//! The forks are `alloy-hardforks`' [`EthereumHardfork`] names with their [`ForkCondition`]s
//! (block, total difficulty or timestamp). A schedule comes from a genesis file's `config`
//! ([`ForkSchedule::from_chain_config`]) or from a public network's known schedule
//! ([`KnownNetwork`](crate::KnownNetwork)).

use alloy_eip2124::ForkFilterKey;
use alloy_genesis::ChainConfig;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::U256;

/// The forks of a chain with their activation conditions, one entry per fork, in fork order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkSchedule {
    forks: Vec<(EthereumHardfork, ForkCondition)>,
}

impl ForkSchedule {
    /// A schedule from `(fork, condition)` pairs; a fork listed twice keeps its last condition,
    /// and forks whose condition is [`ForkCondition::Never`] are left out.
    pub fn new(forks: impl IntoIterator<Item = (EthereumHardfork, ForkCondition)>) -> Self {
        let mut schedule: Vec<(EthereumHardfork, ForkCondition)> = Vec::new();
        for (fork, condition) in forks {
            schedule.retain(|(existing, _)| *existing != fork);
            if condition != ForkCondition::Never {
                schedule.push((fork, condition));
            }
        }
        schedule.sort_by_key(|(fork, _)| *fork);
        Self { forks: schedule }
    }

    /// The schedule a geth-style `config` describes.
    ///
    /// Block forks map one to one (`eip150Block` is Tangerine Whistle, `eip155Block` Spurious
    /// Dragon — geth's `eip158Block` is the same fork and is only used when `eip155Block` is
    /// absent); the DAO fork is listed when `daoForkBlock` is set, whatever `daoForkSupport`
    /// says, because fork ids count it either way. The merge (Paris) is a total-difficulty
    /// condition: its activation block is `mergeNetsplitBlock` when given, block 0 when the TTD
    /// is reached by the genesis difficulty (`genesis_difficulty`), and otherwise unknown
    /// (`u64::MAX`). Timestamp forks run from Shanghai through Osaka, the blob-parameter-only
    /// forks BPO1–BPO5, and Amsterdam. Frontier is active at block 0.
    pub fn from_chain_config(config: &ChainConfig, genesis_difficulty: U256) -> Self {
        let block = |number: Option<u64>| number.map_or(ForkCondition::Never, ForkCondition::Block);
        let time = |t: Option<u64>| t.map_or(ForkCondition::Never, ForkCondition::Timestamp);
        let paris = config.terminal_total_difficulty.map_or(ForkCondition::Never, |ttd| {
            let activation = match config.merge_netsplit_block {
                Some(number) => number,
                None if ttd <= genesis_difficulty => 0,
                None => u64::MAX,
            };
            ForkCondition::TTD {
                activation_block_number: activation,
                fork_block: config.merge_netsplit_block,
                total_difficulty: ttd,
            }
        });
        use EthereumHardfork as F;
        Self::new([
            (F::Frontier, ForkCondition::Block(0)),
            (F::Homestead, block(config.homestead_block)),
            (F::Dao, block(config.dao_fork_block)),
            (F::Tangerine, block(config.eip150_block)),
            (F::SpuriousDragon, block(config.eip155_block.or(config.eip158_block))),
            (F::Byzantium, block(config.byzantium_block)),
            (F::Constantinople, block(config.constantinople_block)),
            (F::Petersburg, block(config.petersburg_block)),
            (F::Istanbul, block(config.istanbul_block)),
            (F::MuirGlacier, block(config.muir_glacier_block)),
            (F::Berlin, block(config.berlin_block)),
            (F::London, block(config.london_block)),
            (F::ArrowGlacier, block(config.arrow_glacier_block)),
            (F::GrayGlacier, block(config.gray_glacier_block)),
            (F::Paris, paris),
            (F::Shanghai, time(config.shanghai_time)),
            (F::Cancun, time(config.cancun_time)),
            (F::Prague, time(config.prague_time)),
            (F::Osaka, time(config.osaka_time)),
            (F::Bpo1, time(config.bpo1_time)),
            (F::Bpo2, time(config.bpo2_time)),
            (F::Bpo3, time(config.bpo3_time)),
            (F::Bpo4, time(config.bpo4_time)),
            (F::Bpo5, time(config.bpo5_time)),
            (F::Amsterdam, time(config.amsterdam_time)),
        ])
    }

    /// The forks and their conditions, in fork order.
    pub fn iter(&self) -> impl Iterator<Item = (EthereumHardfork, ForkCondition)> + '_ {
        self.forks.iter().copied()
    }

    /// Whether `fork` is active for the block with this number and timestamp (a block or
    /// timestamp condition is checked against the matching value; a TTD condition against its
    /// activation block).
    pub fn is_active(&self, fork: EthereumHardfork, number: u64, timestamp: u64) -> bool {
        self.ethereum_fork_activation(fork).active_at_timestamp_or_number(timestamp, number)
    }

    /// The EIP-2124 fork list: every block fork's number (the merge only when its fork block
    /// is known) and every timestamp fork's time. `ForkFilter` drops those at genesis and
    /// duplicates.
    pub fn fork_filter_keys(&self) -> impl Iterator<Item = ForkFilterKey> + '_ {
        self.forks.iter().filter_map(|(_, condition)| match *condition {
            ForkCondition::Block(number) => Some(ForkFilterKey::Block(number)),
            ForkCondition::TTD { fork_block, .. } => fork_block.map(ForkFilterKey::Block),
            ForkCondition::Timestamp(time) => Some(ForkFilterKey::Time(time)),
            ForkCondition::Never => None,
        })
    }
}

impl EthereumHardforks for ForkSchedule {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.forks
            .iter()
            .find(|(listed, _)| *listed == fork)
            .map_or(ForkCondition::Never, |(_, condition)| *condition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ChainConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_geth_config_maps_to_named_forks() {
        let config = config(
            r#"{"chainId":1,"homesteadBlock":5,"daoForkBlock":7,"daoForkSupport":false,
                "eip150Block":9,"eip158Block":11,"londonBlock":20,"shanghaiTime":100,
                "bpo2Time":300,"terminalTotalDifficulty":"0x10"}"#,
        );
        let schedule = ForkSchedule::from_chain_config(&config, U256::from(1));
        let forks: Vec<_> = schedule.iter().collect();
        assert_eq!(
            forks,
            vec![
                (EthereumHardfork::Frontier, ForkCondition::Block(0)),
                (EthereumHardfork::Homestead, ForkCondition::Block(5)),
                (EthereumHardfork::Dao, ForkCondition::Block(7)),
                (EthereumHardfork::Tangerine, ForkCondition::Block(9)),
                (EthereumHardfork::SpuriousDragon, ForkCondition::Block(11)),
                (EthereumHardfork::London, ForkCondition::Block(20)),
                (
                    EthereumHardfork::Paris,
                    ForkCondition::TTD {
                        activation_block_number: u64::MAX,
                        fork_block: None,
                        total_difficulty: U256::from(16)
                    }
                ),
                (EthereumHardfork::Shanghai, ForkCondition::Timestamp(100)),
                (EthereumHardfork::Bpo2, ForkCondition::Timestamp(300)),
            ]
        );
        assert!(schedule.is_active(EthereumHardfork::London, 20, 0));
        assert!(!schedule.is_active(EthereumHardfork::London, 19, 0));
        assert!(schedule.is_active(EthereumHardfork::Shanghai, 0, 100));
        assert!(!schedule.is_active(EthereumHardfork::Cancun, u64::MAX, u64::MAX));
        let keys: Vec<_> = schedule.fork_filter_keys().collect();
        assert_eq!(
            keys,
            [0, 5, 7, 9, 11, 20]
                .map(ForkFilterKey::Block)
                .into_iter()
                .chain([ForkFilterKey::Time(100), ForkFilterKey::Time(300)])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_ttd_reached_at_genesis_activates_the_merge_at_block_zero() {
        let config = config(r#"{"chainId":1,"terminalTotalDifficulty":131072}"#);
        let schedule = ForkSchedule::from_chain_config(&config, U256::from(131_072));
        assert!(schedule.is_active(EthereumHardfork::Paris, 0, 0));
    }

    #[test]
    fn later_entries_replace_earlier_ones_and_never_is_dropped() {
        let schedule = ForkSchedule::new([
            (EthereumHardfork::London, ForkCondition::Block(3)),
            (EthereumHardfork::Berlin, ForkCondition::Block(1)),
            (EthereumHardfork::London, ForkCondition::Block(4)),
            (EthereumHardfork::Cancun, ForkCondition::Never),
        ]);
        assert_eq!(
            schedule.iter().collect::<Vec<_>>(),
            vec![
                (EthereumHardfork::Berlin, ForkCondition::Block(1)),
                (EthereumHardfork::London, ForkCondition::Block(4)),
            ]
        );
    }
}
