//! Headers in the store: read back, and written (by the headers stage) with `store_header`.

use crate::StoredHeaderError;
use alloy_consensus::Header;
use alloy_primitives::{Bytes, Sealed};
use alloy_rlp::Decodable;
use snapsync_stages::StageError;
use snapsync_storage::{StateRead, StateWrite, StoreError};

/// Reads and decodes stored header `number`, and checks that the header index maps its hash to
/// `number`: a stored header was verified before it was written, so a header that fails this was
/// damaged on disk, and must not be taken as an anchor that peers are then blamed for not
/// linking to.
///
/// # Errors
/// [`StoredHeaderError`] (as a fatal [`StageError`]) for a missing, corrupt or unindexed header;
/// database failures.
pub fn stored_header(view: &(impl StateRead + ?Sized), number: u64) -> Result<Header, StageError> {
    let rlp = view.header(number)?.ok_or(StoredHeaderError::Missing { number })?;
    let header = decode_stored_header(number, &rlp)?;
    let hash = header.hash_slow();
    let indexed = view.header_number(&hash)?;
    if indexed != Some(number) {
        return Err(StoredHeaderError::Unindexed { number, hash, indexed }.into());
    }
    Ok(header)
}

/// Decodes the stored RLP of header `number`.
pub(crate) fn decode_stored_header(number: u64, rlp: &[u8]) -> Result<Header, StoredHeaderError> {
    Header::decode(&mut &rlp[..]).map_err(|source| StoredHeaderError::Corrupt { number, source })
}

/// Stores `header` in `Headers` (RLP by number) and `HeaderNumbers` (number by hash), as the
/// headers stage does; the snap sync stage stores its pivot this way so the chain above links.
///
/// # Errors
/// Database failures.
pub fn store_header<W: StateWrite + ?Sized>(
    txn: &mut W,
    header: &Sealed<Header>,
) -> Result<(), StoreError> {
    let rlp = Bytes::from(alloy_rlp::encode(header.inner()));
    txn.put_header(header.number, &header.hash(), &rlp)
}
