//! [`ChainFixture`]: a real chain decoded from an RLP chain file (geth's `chain.rlp`, as hive
//! uses), for tests of the headers and bodies stages against real headers and bodies: typed and
//! blob transactions, withdrawals, every fork's header fields.
//!
//! The file is a concatenation of RLP blocks (`[header, transactions, ommers, withdrawals?]`), in
//! ascending order without the genesis. Loading reads it with `snapsync_genesis::ChainFile`,
//! which decodes every block, seals its header and checks that each block links to the one
//! before it, so a test can trust the fixture as its oracle.

use alloy_consensus::{BlockBody, Header, TxEnvelope};
use alloy_primitives::{B256, Sealed};
use snapsync_genesis::{ChainBlock, ChainFile, ChainFileError};
use std::{collections::HashMap, path::Path};

/// Why a chain file did not load.
#[derive(Debug, thiserror::Error)]
pub enum ChainFixtureError {
    /// A block could not be read, does not decode, or does not link to the one before it.
    #[error(transparent)]
    File(#[from] ChainFileError),
    /// The file holds no block.
    #[error("the chain file holds no block")]
    Empty,
}

/// The blocks of a chain file: sealed headers and bodies by number and hash.
#[derive(Debug, Clone)]
pub struct ChainFixture {
    headers: Vec<Sealed<Header>>,
    bodies: Vec<BlockBody<TxEnvelope>>,
    numbers: HashMap<B256, u64>,
}

impl ChainFixture {
    /// Loads the RLP chain file at `path`.
    ///
    /// # Errors
    /// [`ChainFixtureError`] when the file cannot be read, a block does not decode, the blocks do
    /// not link, or there is none.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ChainFixtureError> {
        Self::from_blocks(ChainFile::open(path)?)
    }

    /// Decodes concatenated RLP blocks.
    ///
    /// # Errors
    /// As [`load`](Self::load), without the reading.
    pub fn from_rlp(bytes: &[u8]) -> Result<Self, ChainFixtureError> {
        Self::from_blocks(ChainFile::new(bytes))
    }

    /// Collects the blocks of a chain file (checked to link by [`ChainFile`]).
    fn from_blocks(
        blocks: impl Iterator<Item = Result<ChainBlock, ChainFileError>>,
    ) -> Result<Self, ChainFixtureError> {
        let (mut headers, mut bodies, mut numbers) = (Vec::new(), Vec::new(), HashMap::new());
        for block in blocks {
            let ChainBlock { header, body, .. } = block?;
            numbers.insert(header.hash(), header.number);
            headers.push(header);
            bodies.push(body);
        }
        if headers.is_empty() {
            return Err(ChainFixtureError::Empty);
        }
        Ok(Self { headers, bodies, numbers })
    }

    /// The number of the first block in the file.
    pub fn first_number(&self) -> u64 {
        self.headers.first().map_or(0, |header| header.number)
    }

    /// The number of the last block in the file.
    pub fn head_number(&self) -> u64 {
        self.headers.last().map_or(0, |header| header.number)
    }

    /// How many blocks the file holds.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the file holds no block (never true for a loaded fixture).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    fn index(&self, number: u64) -> Option<usize> {
        usize::try_from(number.checked_sub(self.first_number())?).ok()
    }

    /// The sealed header of block `number`.
    pub fn header(&self, number: u64) -> Option<&Sealed<Header>> {
        self.headers.get(self.index(number)?)
    }

    /// The body of block `number`.
    pub fn body(&self, number: u64) -> Option<&BlockBody<TxEnvelope>> {
        self.bodies.get(self.index(number)?)
    }

    /// The number of the block with `hash`.
    pub fn number_of(&self, hash: &B256) -> Option<u64> {
        self.numbers.get(hash).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_primitives::test_utils::require_fixture;

    #[test]
    fn hive_chain_decodes_and_links() {
        let Some(path) = require_fixture("hive_chain_decodes_and_links", "geth-hive/chain.rlp")
        else {
            return;
        };
        let chain = ChainFixture::load(path).unwrap();
        assert_eq!(chain.first_number(), 1);
        assert_eq!(chain.head_number(), 600);
        assert_eq!(chain.len(), 600);
        let transactions: usize =
            (1..=600).map(|n| chain.body(n).unwrap().transactions.len()).sum();
        assert!(transactions > 0);
        for number in 1..=600 {
            let (header, body) = (chain.header(number).unwrap(), chain.body(number).unwrap());
            assert_eq!(
                alloy_consensus::proofs::calculate_transaction_root(&body.transactions),
                header.transactions_root,
                "block {number}"
            );
            assert_eq!(body.calculate_withdrawals_root(), header.withdrawals_root);
            assert_eq!(chain.number_of(&header.hash()), Some(number));
        }
    }
}
