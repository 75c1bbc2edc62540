//! Reading back the headers the headers stage stored.

use crate::StoredHeaderError;
use alloy_consensus::Header;
use alloy_rlp::Decodable;
use snapsync_db::{Headers, TableRead};
use snapsync_stages::StageError;

/// Reads and decodes stored header `number`.
pub(crate) fn stored_header(view: &impl TableRead, number: u64) -> Result<Header, StageError> {
    let rlp = view.get::<Headers>(&number)?.ok_or(StoredHeaderError::Missing { number })?;
    Ok(decode_stored_header(number, &rlp)?)
}

/// Decodes the stored RLP of header `number`.
pub(crate) fn decode_stored_header(number: u64, rlp: &[u8]) -> Result<Header, StoredHeaderError> {
    Header::decode(&mut &rlp[..]).map_err(|source| StoredHeaderError::Corrupt { number, source })
}
