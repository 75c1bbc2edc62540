//! Genesis hashes and fork ids of real chains, against values published elsewhere: the genesis
//! hashes alloy-consensus carries (`MAINNET_GENESIS_HASH`, ...; also the values reth and the
//! networks' docs publish), ethereum/tests' mainnet genesis RLP, block 1's `parentHash` in hive's
//! chain, the EIP-2124 mainnet vectors, and the fork id ethereumjs announces on the hive chain.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_consensus::{
    Header,
    constants::{
        HOLESKY_GENESIS_HASH, HOODI_GENESIS_HASH, MAINNET_GENESIS_HASH, SEPOLIA_GENESIS_HASH,
    },
};
use alloy_primitives::{B256, b256, hex};
use alloy_rlp::{Decodable, Encodable};
use snapsync_genesis::{
    ChainSpec, ChainSpecError, EthereumHardfork, ForkHash, ForkId, ForkIdError, Head, KnownNetwork,
};
use snapsync_primitives::test_utils::require_fixture;

fn known(test: &str, file: &str, network: KnownNetwork) -> Option<ChainSpec> {
    let path = require_fixture(test, file)?;
    Some(ChainSpec::load_for(path, network).unwrap())
}

fn hive(test: &str) -> Option<ChainSpec> {
    let path = require_fixture(test, "geth-hive/genesis.json")?;
    Some(ChainSpec::load(path).unwrap())
}

#[test]
fn mainnet_genesis_hash_and_rlp() {
    let Some(spec) =
        known("mainnet_genesis_hash_and_rlp", "genesis/mainnet.json", KnownNetwork::Mainnet)
    else {
        return;
    };
    let expected = b256!("0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
    assert_eq!(MAINNET_GENESIS_HASH, expected);
    assert_eq!(spec.genesis_hash(), expected);
    assert_eq!(spec.chain_id(), 1);
    assert_eq!(spec.genesis_header().base_fee_per_gas, None);

    // ethereum/tests BasicTests: the whole header's RLP, byte for byte.
    let Some(path) = require_fixture(
        "mainnet_genesis_hash_and_rlp",
        "ethereum-tests/BasicTests/genesishashestest.json",
    ) else {
        return;
    };
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let block = hex::decode(json["genesis_rlp_hex"].as_str().unwrap()).unwrap();
    let mut items = alloy_rlp::Header::decode_bytes(&mut &block[..], true).unwrap();
    let header = Header::decode(&mut items).unwrap();
    let mut ours = Vec::new();
    spec.genesis_header().encode(&mut ours);
    let mut theirs = Vec::new();
    header.encode(&mut theirs);
    assert_eq!(ours, theirs);
    assert_eq!(
        json["genesis_hash"].as_str().unwrap().trim_start_matches("0x"),
        hex::encode(expected)
    );
}

#[test]
fn sepolia_holesky_hoodi_genesis_hashes() {
    let cases = [
        (
            "genesis/sepolia.json",
            KnownNetwork::Sepolia,
            SEPOLIA_GENESIS_HASH,
            b256!("0x25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9"),
        ),
        (
            "genesis/holesky.json",
            KnownNetwork::Holesky,
            HOLESKY_GENESIS_HASH,
            b256!("0xb5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4"),
        ),
        (
            "genesis/hoodi.json",
            KnownNetwork::Hoodi,
            HOODI_GENESIS_HASH,
            b256!("0xbbe312868b376a3001692a646dd2d7d1e4406380dfd86b98aa8a34d1557c971b"),
        ),
    ];
    for (file, network, alloy, expected) in cases {
        let Some(spec) = known("sepolia_holesky_hoodi_genesis_hashes", file, network) else {
            return;
        };
        assert_eq!(alloy, expected, "{network}");
        assert_eq!(spec.genesis_hash(), expected, "{network}");
        assert_eq!(spec.chain_id(), network.chain_id());
    }
}

#[test]
fn hoodi_config_in_the_file_gives_the_same_spec_as_the_known_schedule() {
    let Some(path) = require_fixture("hoodi_config_in_the_file", "genesis/hoodi.json") else {
        return;
    };
    let from_file = ChainSpec::load(&path).unwrap();
    let known = ChainSpec::load_for(&path, KnownNetwork::Hoodi).unwrap();
    assert_eq!(from_file.genesis_hash(), HOODI_GENESIS_HASH);
    assert_eq!(from_file.chain_id(), 560_048);
    // Cancun at genesis: blob gas fields and the parent beacon root; Prague later: no requests.
    let header = from_file.genesis_header();
    assert_eq!(header.excess_blob_gas, Some(0));
    assert_eq!(header.parent_beacon_block_root, Some(B256::ZERO));
    assert_eq!(header.requests_hash, None);
    // Both agree on the fork id at genesis and after Prague; the file predates Osaka, so only
    // the known schedule announces it as the next fork.
    assert_eq!(from_file.fork_id(0, 1_742_212_800), known.fork_id(0, 1_742_212_800));
    let (file_id, known_id) =
        (from_file.fork_id(1_000_000, 1_743_000_000), known.fork_id(1_000_000, 1_743_000_000));
    assert_eq!(file_id.hash, known_id.hash);
    assert_eq!(file_id.next, 0);
    assert_eq!(
        Some(known_id.next),
        known
            .forks()
            .iter()
            .find(|(f, _)| *f == EthereumHardfork::Osaka)
            .and_then(|(_, c)| c.as_timestamp())
    );
}

#[test]
fn hive_genesis_hash_is_block_ones_parent_and_its_fork_id_is_ethereumjs() {
    let Some(spec) = hive("hive_genesis_hash") else { return };
    let Some(chain) = require_fixture("hive_genesis_hash", "geth-hive/chain.rlp") else { return };
    let chain = std::fs::read(chain).unwrap();
    let mut block = alloy_rlp::Header::decode_bytes(&mut &chain[..], true).unwrap();
    let block_1 = Header::decode(&mut block).unwrap();
    let expected = b256!("0xbd6a252af394d80904c5993b859574bd4669642cea00a116970ec7887db67533");
    assert_eq!(block_1.parent_hash, expected);
    assert_eq!(spec.genesis_hash(), expected);
    assert_eq!(spec.chain_id(), 3_503_995_874_084_926);
    let header = spec.genesis_header();
    assert!(header.requests_hash.is_none() && header.withdrawals_root.is_some());
    assert_eq!(header.base_fee_per_gas, Some(1_000_000_000));
    assert!(spec.forks().is_active(EthereumHardfork::Prague, 12, 120));
    assert_eq!(spec.deposit_contract(), Some(alloy_primitives::Address::ZERO));
    assert_eq!(spec.blob_params().prague.max_blob_count, 9);

    // ethereumjs announces [0x377aaa78, 0] at head 600 (timestamp 6000): Cancun at 60 and
    // Prague at 120 are past; Shanghai at 0 is at genesis and not counted.
    assert_eq!(spec.fork_id(600, 6000), ForkId { hash: ForkHash(hex!("377aaa78")), next: 0 });
    // Before Cancun, the next fork is Cancun's time.
    let genesis = spec.fork_id(0, 0);
    assert_eq!(genesis.next, 60);
    assert_eq!(genesis.hash, ForkHash::from(expected));
    let filter = spec.fork_filter(Head { number: 600, timestamp: 6000, ..Head::default() });
    assert!(filter.validate(ForkId { hash: ForkHash(hex!("377aaa78")), next: 0 }).is_ok());
    assert!(matches!(
        filter.validate(ForkId { hash: ForkHash(hex!("deadbeef")), next: 0 }),
        Err(ForkIdError::LocalIncompatibleOrStale { .. })
    ));
}

/// EIP-2124's mainnet table (https://eips.ethereum.org/EIPS/eip-2124#test-cases), head by head,
/// with the later mainnet forks from geth's forkid tests.
#[test]
fn eip2124_mainnet_vectors() {
    let Some(spec) =
        known("eip2124_mainnet_vectors", "genesis/mainnet.json", KnownNetwork::Mainnet)
    else {
        return;
    };
    let vectors: [(u64, u64, [u8; 4], u64); 24] = [
        (0, 0, hex!("fc64ec04"), 1_150_000),
        (1_149_999, 0, hex!("fc64ec04"), 1_150_000),
        (1_150_000, 0, hex!("97c2c34c"), 1_920_000),
        (1_919_999, 0, hex!("97c2c34c"), 1_920_000),
        (1_920_000, 0, hex!("91d1f948"), 2_463_000),
        (2_462_999, 0, hex!("91d1f948"), 2_463_000),
        (2_463_000, 0, hex!("7a64da13"), 2_675_000),
        (2_674_999, 0, hex!("7a64da13"), 2_675_000),
        (2_675_000, 0, hex!("3edd5b10"), 4_370_000),
        (4_369_999, 0, hex!("3edd5b10"), 4_370_000),
        (4_370_000, 0, hex!("a00bc324"), 7_280_000),
        (7_279_999, 0, hex!("a00bc324"), 7_280_000),
        (7_280_000, 0, hex!("668db0af"), 9_069_000),
        (9_068_999, 0, hex!("668db0af"), 9_069_000),
        (9_069_000, 0, hex!("879d6e30"), 9_200_000),
        (9_199_999, 0, hex!("879d6e30"), 9_200_000),
        (9_200_000, 0, hex!("e029e991"), 12_244_000),
        (12_244_000, 0, hex!("0eb440f6"), 12_965_000),
        (12_965_000, 0, hex!("b715077d"), 13_773_000),
        (13_773_000, 0, hex!("20c327fc"), 15_050_000),
        (15_050_000, 0, hex!("f0afd0e3"), 1_681_338_455),
        (20_000_000, 1_681_338_455, hex!("dce96c2d"), 1_710_338_135),
        (20_000_000, 1_710_338_135, hex!("9f3d2254"), 1_746_612_311),
        (20_000_000, 1_746_612_311, hex!("c376cf8b"), 1_764_798_551),
    ];
    for (number, timestamp, hash, next) in vectors {
        assert_eq!(
            spec.fork_id(number, timestamp),
            ForkId { hash: ForkHash(hash), next },
            "head {number} at {timestamp}"
        );
    }
}

#[test]
fn a_file_without_config_needs_a_network() {
    let json = br#"{"gasLimit":"0x1388","difficulty":"0x1","alloc":{}}"#;
    assert!(matches!(ChainSpec::from_genesis_json(json), Err(ChainSpecError::MissingConfig)));
    let spec = ChainSpec::from_genesis_json_for(json, KnownNetwork::Sepolia).unwrap();
    assert_eq!(spec.chain_id(), 11_155_111);
}

#[test]
fn hostile_files_are_typed_errors() {
    let cases: [&[u8]; 5] = [
        br#"{"config":{"chainId":1},"gasLimit":"0x1","difficulty":"0x1","alloc":{"zz":{}}}"#,
        br#"{"config":{"chainId":1,"amsterdamTime":0},"gasLimit":"0x1","difficulty":"0x1","alloc":{}}"#,
        br#"{"config":{"chainId":1,"londonBlock":"x"},"gasLimit":"0x1","difficulty":"0x1","alloc":{}}"#,
        br#"{"config":{"chainId":1}"#,
        b"\xff\xfe",
    ];
    let errors: Vec<_> =
        cases.iter().map(|json| ChainSpec::from_genesis_json(json).unwrap_err()).collect();
    assert!(matches!(errors[0], ChainSpecError::Genesis(_)), "{}", errors[0]);
    assert!(matches!(
        errors[1],
        ChainSpecError::UnsupportedAtGenesis { fork: EthereumHardfork::Amsterdam }
    ));
    assert!(matches!(errors[2], ChainSpecError::Fields(_)));
    assert!(matches!(errors[3], ChainSpecError::Fields(_)));
    assert!(matches!(errors[4], ChainSpecError::Fields(_)));
}

#[test]
fn forks_at_genesis_shape_the_header() {
    let spec = ChainSpec::from_genesis_json(
        br#"{"config":{"chainId":7,"londonBlock":0,"shanghaiTime":0,"cancunTime":0,"pragueTime":0},
             "gasLimit":"0x1","difficulty":"0x0","baseFeePerGas":"0x7","excessBlobGas":"0x9","alloc":{}}"#,
    )
    .unwrap();
    let header = spec.genesis_header();
    assert_eq!(header.base_fee_per_gas, Some(7));
    assert_eq!(header.excess_blob_gas, Some(9));
    assert_eq!(header.blob_gas_used, Some(0));
    assert_eq!(header.requests_hash, Some(alloy_eips::eip7685::EMPTY_REQUESTS_HASH));
    assert_eq!(header.hash_slow(), spec.genesis_hash());
    let plain = ChainSpec::from_genesis_json(
        br#"{"config":{"chainId":7},"gasLimit":"0x1","difficulty":"0x0","baseFeePerGas":"0x7","alloc":{}}"#,
    )
    .unwrap();
    // The base fee is only part of the header when London is active.
    assert_eq!(plain.genesis_header().base_fee_per_gas, None);
    assert_eq!(plain.genesis_header().withdrawals_root, None);
}
