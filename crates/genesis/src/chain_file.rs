//! [`ChainFile`]: the blocks of an RLP chain file (concatenated `[header, transactions, ommers,
//! withdrawals?]` lists, as geth's `export` writes them and hive's `chain.rlp` is), read one
//! block at a time.
//!
//! A chain file is input from elsewhere, so nothing in it is trusted: each block's length is read
//! from its RLP prefix and checked against [`ChainFile::max_block_bytes`] before its bytes are
//! read (a forged length cannot make the reader allocate), the block must decode exactly, and
//! every block must be the child of the one before it (number + 1, `parentHash` = the hash of
//! the previous header), the first one of the block given to [`ChainFile::after`] when there is
//! one. Memory stays at one block, whatever the file's size.

use crate::ChainFileError;
use alloy_consensus::{Block, BlockBody, Header, TxEnvelope};
use alloy_primitives::{B256, Sealable, Sealed};
use alloy_rlp::Decodable;
use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
};

/// One block of a chain file: its sealed header and its body, where it starts in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBlock {
    /// The header, with its hash.
    pub header: Sealed<Header>,
    /// Transactions, ommers and withdrawals.
    pub body: BlockBody<TxEnvelope>,
    /// The byte offset of the block in the file.
    pub offset: u64,
}

/// The block a chain continues from: the next block must be number + 1 with this parent hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    /// The block's number.
    pub number: u64,
    /// The block's hash.
    pub hash: B256,
}

impl ChainLink {
    /// The link a child of `header` must continue.
    pub fn of(header: &Sealed<Header>) -> Self {
        Self { number: header.number, hash: header.hash() }
    }

    /// Checks that `header` is this block's child.
    ///
    /// # Errors
    /// [`ChainFileError::NotNext`] for another number, [`ChainFileError::BrokenLink`] for another
    /// parent hash.
    pub fn check_child(&self, header: &Sealed<Header>, offset: u64) -> Result<(), ChainFileError> {
        let expected = self.number.checked_add(1);
        if expected != Some(header.number) {
            return Err(ChainFileError::NotNext { offset, number: header.number, expected });
        }
        if header.parent_hash != self.hash {
            return Err(ChainFileError::BrokenLink {
                number: header.number,
                parent: header.parent_hash,
                expected: self.hash,
            });
        }
        Ok(())
    }
}

/// The blocks of a chain file, decoded and checked to link, one at a time (an [`Iterator`] of
/// `Result<ChainBlock, ChainFileError>` that ends after the first error).
#[derive(Debug)]
pub struct ChainFile<R> {
    reader: R,
    offset: u64,
    max_block_bytes: u64,
    previous: Option<ChainLink>,
    failed: bool,
}

impl ChainFile<BufReader<File>> {
    /// Opens the chain file at `path`.
    ///
    /// # Errors
    /// [`ChainFileError::Open`] when it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ChainFileError> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|source| ChainFileError::Open { path: path.to_owned(), source })?;
        Ok(Self::new(BufReader::with_capacity(1 << 20, file)))
    }
}

impl<R: Read> ChainFile<R> {
    /// The default bound on one block's encoding: 32 MiB, eight times what a 60M-gas block of
    /// calldata can take.
    pub const DEFAULT_MAX_BLOCK_BYTES: u64 = 32 << 20;

    /// Reads blocks from `reader`.
    pub const fn new(reader: R) -> Self {
        Self {
            reader,
            offset: 0,
            max_block_bytes: Self::DEFAULT_MAX_BLOCK_BYTES,
            previous: None,
            failed: false,
        }
    }

    /// Bounds one block's encoding to `bytes` (a larger block is an error, read no further).
    #[must_use]
    pub const fn with_max_block_bytes(mut self, bytes: u64) -> Self {
        self.max_block_bytes = bytes;
        self
    }

    /// Requires the first block to be `parent`'s child (for a file of blocks 1… after the
    /// genesis).
    #[must_use]
    pub const fn after(mut self, parent: ChainLink) -> Self {
        self.previous = Some(parent);
        self
    }

    /// The bound on one block's encoding.
    pub const fn max_block_bytes(&self) -> u64 {
        self.max_block_bytes
    }

    /// The next block, `None` at the end of the file.
    fn next_block(&mut self) -> Result<Option<ChainBlock>, ChainFileError> {
        let offset = self.offset;
        let Some(encoded) = self.read_encoded_block()? else { return Ok(None) };
        let mut rest = &encoded[..];
        let block = Block::<TxEnvelope>::decode(&mut rest)
            .map_err(|source| ChainFileError::Decode { offset, source })?;
        if !rest.is_empty() {
            return Err(ChainFileError::Decode {
                offset,
                source: alloy_rlp::Error::UnexpectedLength,
            });
        }
        let (header, body) = (block.header.seal_slow(), block.body);
        if let Some(previous) = self.previous {
            previous.check_child(&header, offset)?;
        }
        self.previous = Some(ChainLink::of(&header));
        Ok(Some(ChainBlock { header, body, offset }))
    }

    /// The RLP of the next block (prefix included), its length checked before it is read.
    fn read_encoded_block(&mut self) -> Result<Option<Vec<u8>>, ChainFileError> {
        let offset = self.offset;
        let Some(prefix) = self.read_byte_or_end()? else { return Ok(None) };
        if prefix < 0xc0 {
            return Err(ChainFileError::NotABlock { offset, prefix });
        }
        let mut encoded = vec![prefix];
        let payload = if prefix <= 0xf7 {
            u64::from(prefix - 0xc0)
        } else {
            let length_bytes = usize::from(prefix - 0xf7);
            let mut length = [0u8; 8];
            self.read_exact_at(&mut length[8 - length_bytes..], offset)?;
            encoded.extend_from_slice(&length[8 - length_bytes..]);
            let payload = u64::from_be_bytes(length);
            if length[8 - length_bytes] == 0 || payload <= 55 {
                return Err(ChainFileError::Decode {
                    offset,
                    source: alloy_rlp::Error::NonCanonicalSize,
                });
            }
            payload
        };
        let total = payload.saturating_add(encoded.len() as u64);
        if total > self.max_block_bytes {
            return Err(ChainFileError::TooLarge {
                offset,
                bytes: total,
                max: self.max_block_bytes,
            });
        }
        // Bounded by `max_block_bytes` just above.
        let start = encoded.len();
        encoded.resize(start + usize::try_from(payload).unwrap_or(usize::MAX), 0);
        self.read_exact_at(&mut encoded[start..], offset)?;
        Ok(Some(encoded))
    }

    /// The next byte; `None` at the end of the file.
    fn read_byte_or_end(&mut self) -> Result<Option<u8>, ChainFileError> {
        let mut byte = [0u8; 1];
        loop {
            match self.reader.read(&mut byte) {
                Ok(0) => return Ok(None),
                Ok(_) => {
                    self.offset += 1;
                    return Ok(Some(byte[0]));
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(ChainFileError::Read { offset: self.offset, source }),
            }
        }
    }

    /// Fills `buf`; the file ending first truncates the block starting at `block`.
    fn read_exact_at(&mut self, buf: &mut [u8], block: u64) -> Result<(), ChainFileError> {
        match self.reader.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                Err(ChainFileError::Truncated { offset: block })
            }
            Err(source) => Err(ChainFileError::Read { offset: self.offset, source }),
        }
    }
}

impl<R: Read> Iterator for ChainFile<R> {
    type Item = Result<ChainBlock, ChainFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_block().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Bytes;
    use alloy_rlp::Encodable;
    use proptest::prelude::*;

    /// A chain of `count` empty blocks after a default genesis header, encoded.
    fn chain(count: u64) -> (Sealed<Header>, Vec<u8>) {
        let genesis = Header::default().seal_slow();
        let mut parent = genesis.clone();
        let mut out = Vec::new();
        for number in 1..=count {
            let header = Header {
                number,
                parent_hash: parent.hash(),
                extra_data: Bytes::from(number.to_be_bytes().to_vec()),
                ..Header::default()
            };
            let block = Block::<TxEnvelope> { header: header.clone(), body: BlockBody::default() };
            block.encode(&mut out);
            parent = header.seal_slow();
        }
        (genesis, out)
    }

    fn read_all(bytes: &[u8], after: Option<ChainLink>) -> Result<Vec<ChainBlock>, ChainFileError> {
        let file = ChainFile::new(bytes);
        let file = match after {
            Some(link) => file.after(link),
            None => file,
        };
        file.collect()
    }

    #[test]
    fn reads_linked_blocks_in_order_with_their_offsets() {
        let (genesis, bytes) = chain(5);
        let blocks = read_all(&bytes, Some(ChainLink::of(&genesis))).unwrap();
        assert_eq!(blocks.iter().map(|b| b.header.number).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(blocks[0].offset, 0);
        assert!(blocks.windows(2).all(|w| w[0].offset < w[1].offset));
        assert!(read_all(&[], None).unwrap().is_empty());
    }

    #[test]
    fn a_block_that_does_not_follow_is_refused() {
        let (genesis, bytes) = chain(3);
        let other = ChainLink { number: 0, hash: B256::repeat_byte(7) };
        assert!(matches!(
            read_all(&bytes, Some(other)),
            Err(ChainFileError::BrokenLink { number: 1, .. })
        ));
        let later = ChainLink { number: 5, hash: genesis.hash() };
        assert!(matches!(
            read_all(&bytes, Some(later)),
            Err(ChainFileError::NotNext { number: 1, expected: Some(6), .. })
        ));
        // Block 2 left out: block 3 does not follow block 1.
        let offsets: Vec<usize> = read_all(&bytes, None)
            .unwrap()
            .iter()
            .map(|block| usize::try_from(block.offset).unwrap())
            .collect();
        let skipped = [&bytes[..offsets[1]], &bytes[offsets[2]..]].concat();
        assert!(matches!(
            read_all(&skipped, None),
            Err(ChainFileError::NotNext { number: 3, expected: Some(2), .. })
        ));
    }

    #[test]
    fn a_forged_length_is_refused_before_anything_is_allocated() {
        // A list prefix claiming 2^56 bytes.
        let forged = [0xff, 1, 0, 0, 0, 0, 0, 0, 0];
        let error = ChainFile::new(&forged[..]).next().unwrap().unwrap_err();
        assert!(matches!(error, ChainFileError::TooLarge { offset: 0, .. }), "{error}");
        let (_, bytes) = chain(1);
        let small = ChainFile::new(&bytes[..]).with_max_block_bytes(10).next().unwrap();
        assert!(matches!(small, Err(ChainFileError::TooLarge { .. })));
    }

    #[test]
    fn a_truncated_file_names_the_block_it_cut() {
        let (_, bytes) = chain(2);
        let first_len = ChainFile::new(&bytes[..]).nth(1).unwrap().unwrap().offset;
        let cut = &bytes[..bytes.len() - 1];
        let blocks: Vec<_> = ChainFile::new(cut).collect();
        assert_eq!(blocks.len(), 2);
        assert!(
            matches!(blocks[1], Err(ChainFileError::Truncated { offset }) if offset == first_len)
        );
        assert!(matches!(
            ChainFile::new(&[0x01][..]).next(),
            Some(Err(ChainFileError::NotABlock { offset: 0, prefix: 1 }))
        ));
    }

    proptest! {
        /// Any bytes: an error or blocks, never a panic, and the reader stops at the first error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let results: Vec<_> = ChainFile::new(&bytes[..]).with_max_block_bytes(4096).collect();
            let errors = results.iter().filter(|r| r.is_err()).count();
            prop_assert!(errors <= 1);
            prop_assert!(results.last().is_none_or(|r| r.is_ok()) || errors == 1);
        }

        /// A valid chain with one byte changed: refused, or still a chain that links.
        #[test]
        fn a_changed_byte_is_refused_or_still_links(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let (genesis, mut bytes) = chain(4);
            let at = index.index(bytes.len());
            prop_assume!(bytes[at] != byte);
            bytes[at] = byte;
            if let Ok(blocks) = read_all(&bytes, Some(ChainLink::of(&genesis))) {
                let mut link = ChainLink::of(&genesis);
                for block in &blocks {
                    prop_assert!(link.check_child(&block.header, block.offset).is_ok());
                    link = ChainLink::of(&block.header);
                }
            }
        }
    }
}
