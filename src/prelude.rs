//! The alloy types and constants snapsync's public API is written in, re-exported so that an
//! embedder names them through `snapsync` and gets the very versions snapsync was built with
//! (alloy-consensus 2.x, alloy-primitives 1.x, alloy-rlp 0.3, alloy-trie 0.9).
//!
//! `use snapsync::prelude::*;` brings in what the traits, stages and configuration take and
//! return: hashes and numbers ([`B256`], [`U256`], [`Address`], [`Bytes`]), headers and bodies
//! ([`Header`], [`Sealed`], [`BlockBody`], [`TxEnvelope`]), trie paths ([`Nibbles`]) and the
//! decoding error inside snapsync's own decode errors ([`RlpError`]). A client on the same alloy
//! lines (reth is) passes its headers as they are; one on another line converts them at its
//! boundary, for instance through their RLP encoding.
//!
//! ```
//! use snapsync::chain_stages::{StoredBlock, verify_body};
//! use snapsync::net::EthBlockBody;
//! use snapsync::prelude::*;
//!
//! // A header of an empty block (no transactions, ommers or withdrawals), sealed with its hash.
//! let header = Header { number: 7, ..Header::default() };
//! let body = EthBlockBody::default();
//! assert_eq!(verify_body(&header, &body), Ok(()));
//!
//! let block = StoredBlock { header: header.seal_slow(), body };
//! assert_eq!(block.number(), 7);
//! assert_eq!(block.hash(), keccak256(alloy_rlp::encode(block.header.inner())));
//!
//! // A body the header does not commit to is refused.
//! let claims_transactions = Header { transactions_root: B256::repeat_byte(1), ..Header::default() };
//! assert!(verify_body(&claims_transactions, &block.body).is_err());
//! ```

pub use alloy_consensus::{BlockBody, Header, TxEnvelope};
pub use alloy_primitives::{Address, B256, Bytes, Sealable, Sealed, U256, keccak256};
pub use alloy_rlp::Error as RlpError;
pub use snapsync_primitives::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
pub use snapsync_trie::Nibbles;
