//! Block headers where the chain stages and the snap sync stage keep them.

use alloy_consensus::Header;
use alloy_primitives::{Bytes, Sealed};

use crate::{DbError, HeaderNumbers, Headers, WriteTxn};

/// Stores `header` in [`Headers`] (RLP by number) and [`HeaderNumbers`] (number by hash), the
/// same entries as the storage seam's `StateWrite::put_header` (through which the headers stage
/// writes the chain and the snap sync stage its pivot): for code holding a [`WriteTxn`] directly.
///
/// # Errors
/// Database failures.
pub fn store_header(txn: &mut WriteTxn, header: &Sealed<Header>) -> Result<(), DbError> {
    let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
    txn.put::<Headers>(&header.number, &rlp)?;
    txn.put::<HeaderNumbers>(&header.hash(), &header.number)
}
