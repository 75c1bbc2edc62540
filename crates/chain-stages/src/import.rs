//! [`import_chain`]: a chain from a file into the store, checked as the headers and bodies
//! stages check a peer's: every block the child of the one before, the first of the genesis,
//! every body matching its header's roots.
//!
//! The file is not trusted any more than a peer: [`ChainFile`] bounds and links the blocks, and
//! each body is checked with [`verify_body`] before anything of its block is written. Blocks go
//! into the store as the stages store them (`Headers` and `HeaderNumbers`, `Bodies`), in
//! transactions of [`ImportConfig::batch_blocks`] blocks, so memory stays at one batch and an
//! interrupted import keeps what it committed. Importing the same file again skips the blocks
//! already stored (their hashes must be the file's); a store holding another chain is refused.

use crate::{ChainImportError, stored::store_header};
use alloy_consensus::{BlockBody, Header, TxEnvelope};
use alloy_primitives::{Bytes, Sealed};
use snapsync_fetch::verify_body;
use snapsync_genesis::{ChainFile, ChainLink};
use snapsync_storage::{StateStore, StateWrite};
use std::io::Read;
use tracing::info;

/// How [`import_chain`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportConfig {
    /// Blocks per committed transaction. Default 1,024.
    pub batch_blocks: u64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { batch_blocks: 1024 }
    }
}

/// What [`import_chain`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedChain {
    /// The last block of the file (the genesis for a file without blocks).
    pub head: Sealed<Header>,
    /// Blocks written by this import (the genesis included when it was written now).
    pub written: u64,
    /// Blocks that were already stored with the same hash, and skipped.
    pub already_stored: u64,
    /// Transactions in the file's blocks.
    pub transactions: u64,
}

/// Stores `genesis` (with its empty body) and the blocks of `file`, which must follow it.
///
/// # Errors
/// [`ChainImportError::File`] for a block that does not decode or link (nothing of it or after it
/// is written); [`ChainImportError::Body`] for a body that does not match its header;
/// [`ChainImportError::OtherChain`] when the store holds another block at one of the file's
/// numbers; [`ChainImportError::Store`] for store failures. Batches committed before an error
/// stay committed: they were checked.
pub fn import_chain<S: StateStore + ?Sized, R: Read>(
    store: &S,
    genesis: &Sealed<Header>,
    file: ChainFile<R>,
    config: ImportConfig,
) -> Result<ImportedChain, ChainImportError> {
    let batch_blocks = config.batch_blocks.max(1);
    let genesis_body = genesis_body(genesis);
    let mut imported =
        ImportedChain { head: genesis.clone(), written: 0, already_stored: 0, transactions: 0 };
    let mut txn = store.writer()?;
    store_block(&mut txn, genesis, &genesis_body, &mut imported)?;
    let mut in_batch = 1;
    for block in file.after(ChainLink::of(genesis)) {
        let block = block?;
        verify_body(&block.header, &block.body)
            .map_err(|mismatch| ChainImportError::Body { number: block.header.number, mismatch })?;
        imported.transactions += block.body.transactions.len() as u64;
        store_block(&mut txn, &block.header, &block.body, &mut imported)?;
        imported.head = block.header;
        in_batch += 1;
        if in_batch >= batch_blocks {
            txn.commit()?;
            info!(target: "sync::import", head = imported.head.number, "imported");
            txn = store.writer()?;
            in_batch = 0;
        }
    }
    txn.commit()?;
    Ok(imported)
}

/// The genesis block's body: no transactions or ommers, and empty withdrawals when its header
/// commits to them.
fn genesis_body(genesis: &Header) -> BlockBody<TxEnvelope> {
    BlockBody {
        transactions: Vec::new(),
        ommers: Vec::new(),
        withdrawals: genesis.withdrawals_root.map(|_| Vec::new().into()),
    }
}

/// Writes one checked block unless the same block is stored already.
fn store_block<W: StateWrite>(
    txn: &mut W,
    header: &Sealed<Header>,
    body: &BlockBody<TxEnvelope>,
    imported: &mut ImportedChain,
) -> Result<(), ChainImportError> {
    let number = header.number;
    if let Some(stored) = txn.header(number)? {
        let stored_hash = alloy_primitives::keccak256(&stored);
        if stored_hash != header.hash() {
            return Err(ChainImportError::OtherChain {
                number,
                stored: stored_hash,
                file: header.hash(),
            });
        }
        if txn.body(number)?.is_some() {
            imported.already_stored += 1;
            return Ok(());
        }
    } else {
        store_header(txn, header)?;
    }
    txn.put_body(number, &Bytes::from(alloy_rlp::encode(body)))?;
    imported.written += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::Block;
    use alloy_primitives::{B256, Sealable};
    use alloy_rlp::Encodable;
    use snapsync_db::{Database, MemoryDatabase};
    use snapsync_storage::StateRead;

    /// A genesis and `count` empty blocks after it, encoded as a chain file.
    fn chain(count: u64, salt: u8) -> (Sealed<Header>, Vec<Sealed<Header>>, Vec<u8>) {
        let genesis = Header { extra_data: Bytes::from(vec![salt]), ..Header::default() };
        let genesis = genesis.seal_slow();
        let (mut headers, mut out, mut parent) = (Vec::new(), Vec::new(), genesis.hash());
        for number in 1..=count {
            let header = Header { number, parent_hash: parent, ..Header::default() };
            Block::<TxEnvelope> { header: header.clone(), body: BlockBody::default() }
                .encode(&mut out);
            let sealed = header.seal_slow();
            parent = sealed.hash();
            headers.push(sealed);
        }
        (genesis, headers, out)
    }

    fn import(
        db: &MemoryDatabase,
        genesis: &Sealed<Header>,
        bytes: &[u8],
        batch_blocks: u64,
    ) -> Result<ImportedChain, ChainImportError> {
        import_chain(db, genesis, ChainFile::new(bytes), ImportConfig { batch_blocks })
    }

    #[test]
    fn stores_every_block_by_number_and_hash_and_resumes_without_rewriting() {
        let (genesis, headers, bytes) = chain(10, 0);
        let db = MemoryDatabase::new();
        let imported = import(&db, &genesis, &bytes, 3).unwrap();
        assert_eq!(imported.head, headers[9]);
        assert_eq!((imported.written, imported.already_stored), (11, 0));
        let view = db.view().unwrap();
        for header in std::iter::once(&genesis).chain(&headers) {
            assert_eq!(view.header_number(&header.hash()).unwrap(), Some(header.number));
            assert!(view.body(header.number).unwrap().is_some());
        }
        let again = import(&db, &genesis, &bytes, 3).unwrap();
        assert_eq!((again.written, again.already_stored), (0, 11));
    }

    #[test]
    fn another_chain_in_the_store_is_refused() {
        let (genesis, _, bytes) = chain(4, 0);
        let (other_genesis, _, other) = chain(4, 1);
        let db = MemoryDatabase::new();
        import(&db, &genesis, &bytes, 100).unwrap();
        let error = import(&db, &other_genesis, &other, 100).unwrap_err();
        assert!(matches!(error, ChainImportError::OtherChain { number: 0, .. }), "{error}");
    }

    #[test]
    fn a_broken_file_keeps_only_the_checked_batches_before_it() {
        let (genesis, headers, mut bytes) = chain(10, 0);
        // Cut the file inside block 8: blocks 1..=5 were committed in batches of 3 (with the
        // genesis: 0-2, 3-5), 6 and 7 were in the open batch and are not.
        let db = MemoryDatabase::new();
        let cut = {
            let blocks: Vec<_> = ChainFile::new(&bytes[..]).collect::<Result<_, _>>().unwrap();
            usize::try_from(blocks[7].offset).unwrap() + 3
        };
        bytes.truncate(cut);
        let error = import(&db, &genesis, &bytes, 3).unwrap_err();
        assert!(matches!(error, ChainImportError::File(_)), "{error}");
        let view = db.view().unwrap();
        assert_eq!(view.last_header().unwrap().map(|(number, _)| number), Some(5));
        assert_eq!(view.header_number(&headers[6].hash()).unwrap(), None);
    }

    #[test]
    fn a_body_that_does_not_match_its_header_writes_nothing_of_its_block() {
        let (genesis, _, _) = chain(0, 0);
        let header = Header {
            number: 1,
            parent_hash: genesis.hash(),
            // Fields through Shanghai's (a header has each fork's fields up to its own).
            base_fee_per_gas: Some(7),
            withdrawals_root: Some(B256::repeat_byte(9)),
            ..Header::default()
        };
        let mut bytes = Vec::new();
        let body = BlockBody { withdrawals: Some(Vec::new().into()), ..BlockBody::default() };
        Block::<TxEnvelope> { header, body }.encode(&mut bytes);
        let db = MemoryDatabase::new();
        let error = import(&db, &genesis, &bytes, 100).unwrap_err();
        assert!(matches!(error, ChainImportError::Body { number: 1, .. }), "{error}");
        assert_eq!(db.view().unwrap().header(1).unwrap(), None);
    }
}
