//! Headers in the database, read back (they are written with `snapsync_db::store_header`).

use crate::StoredHeaderError;
use alloy_consensus::Header;
use alloy_rlp::Decodable;
use snapsync_db::{HeaderNumbers, Headers, TableRead};
use snapsync_stages::StageError;

/// Reads and decodes stored header `number`, and checks that the header index maps its hash to
/// `number`: a stored header was verified before it was written, so a header that fails this was
/// damaged on disk, and must not be taken as an anchor that peers are then blamed for not
/// linking to.
pub(crate) fn stored_header(view: &impl TableRead, number: u64) -> Result<Header, StageError> {
    let rlp = view.get::<Headers>(&number)?.ok_or(StoredHeaderError::Missing { number })?;
    let header = decode_stored_header(number, &rlp)?;
    let hash = header.hash_slow();
    let indexed = view.get::<HeaderNumbers>(&hash)?;
    if indexed != Some(number) {
        return Err(StoredHeaderError::Unindexed { number, hash, indexed }.into());
    }
    Ok(header)
}

/// Decodes the stored RLP of header `number`.
pub(crate) fn decode_stored_header(number: u64, rlp: &[u8]) -> Result<Header, StoredHeaderError> {
    Header::decode(&mut &rlp[..]).map_err(|source| StoredHeaderError::Corrupt { number, source })
}
