//! The hive chain file read after its genesis: 600 blocks, each the child of the one before,
//! the first of the genesis header [`ChainSpec`] builds; each body matching its header.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_consensus::proofs::calculate_transaction_root;
use snapsync_genesis::{ChainFile, ChainFileError, ChainLink, ChainSpec};
use snapsync_primitives::test_utils::require_fixture;

#[test]
fn hive_chain_links_to_the_genesis_built_from_its_genesis_file() {
    let test = "hive_chain_links_to_the_genesis_built_from_its_genesis_file";
    let (Some(genesis), Some(chain)) = (
        require_fixture(test, "geth-hive/genesis.json"),
        require_fixture(test, "geth-hive/chain.rlp"),
    ) else {
        return;
    };
    let spec = ChainSpec::load(genesis).unwrap();
    let blocks: Vec<_> = ChainFile::open(&chain)
        .unwrap()
        .after(ChainLink { number: 0, hash: spec.genesis_hash() })
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(blocks.len(), 600);
    assert_eq!(blocks.last().unwrap().header.number, 600);
    assert_eq!(
        blocks.last().unwrap().header.state_root.to_string(),
        "0x8fcfb02cfca007773bd55bc1c3e50a3c8612a59c87ce057e5957e8bf17c1728b"
    );
    for block in &blocks {
        let header = &block.header;
        assert_eq!(calculate_transaction_root(&block.body.transactions), header.transactions_root);
        assert_eq!(block.body.calculate_withdrawals_root(), header.withdrawals_root);
    }
    // After another genesis (mainnet's), block 1 does not link.
    let Some(mainnet) = require_fixture(test, "genesis/mainnet.json") else { return };
    let mainnet = ChainSpec::load_for(mainnet, snapsync_genesis::KnownNetwork::Mainnet).unwrap();
    let first = ChainFile::open(&chain)
        .unwrap()
        .after(ChainLink { number: 0, hash: mainnet.genesis_hash() })
        .next()
        .unwrap();
    assert!(matches!(first, Err(ChainFileError::BrokenLink { number: 1, .. })), "{first:?}");
}
