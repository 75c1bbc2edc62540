//! Block headers where the chain stages and the snap sync stage keep them.

use alloy_consensus::Header;
use alloy_primitives::{Bytes, Sealed};

use crate::{DbError, HeaderNumbers, Headers, WriteTxn};

/// Stores `header` in [`Headers`] (RLP by number) and [`HeaderNumbers`] (number by hash): how
/// the headers stage writes the chain, and how the snap sync stage writes its pivot so that the
/// chain above it links. In this crate so both can write headers the same way without one
/// depending on the other.
///
/// # Errors
/// Database failures.
pub fn store_header(txn: &mut WriteTxn, header: &Sealed<Header>) -> Result<(), DbError> {
    let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
    txn.put::<Headers>(&header.number, &rlp)?;
    txn.put::<HeaderNumbers>(&header.hash(), &header.number)
}
