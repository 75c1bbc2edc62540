//! `GetByteCodes`: codes by hash, in request order, unknown ones left out.
//!
//! go-ethereum's rules: at most [`ServerLimits::max_code_lookups`] hashes are looked at; the
//! empty-code hash is answered with an empty blob without a lookup; the walk stops after the code
//! that takes the size past the budget (so a budget of 0 still returns one code).

use crate::{ReadError, ServerLimits};
use alloy_primitives::{B256, Bytes};
use snapsync_primitives::{ByteCodes, GetByteCodes, KECCAK_EMPTY};
use snapsync_storage::StateRead;

/// The answer to `request` from `views`, searched in order for each code.
pub(crate) fn serve_byte_codes<R: StateRead>(
    views: &[R],
    request: &GetByteCodes,
    limits: &ServerLimits,
) -> Result<ByteCodes, ReadError> {
    let budget = limits.response_bytes(request.response_bytes);
    let deadline = limits.deadline();
    let mut codes = Vec::new();
    let mut size = 0u64;
    for hash in request.hashes.iter().take(limits.max_code_lookups) {
        if *hash == KECCAK_EMPTY {
            codes.push(Bytes::new());
        } else if let Some(code) = find_code(views, hash)? {
            size = size.saturating_add(code.len() as u64);
            codes.push(code);
        }
        if size > budget || deadline.passed() {
            break;
        }
    }
    Ok(ByteCodes { request_id: request.request_id, codes })
}

/// The first non-empty code stored under `hash` in `views`.
fn find_code<R: StateRead>(views: &[R], hash: &B256) -> Result<Option<Bytes>, ReadError> {
    for view in views {
        if let Some(code) = view.code(hash)?
            && !code.is_empty()
        {
            return Ok(Some(code));
        }
    }
    Ok(None)
}
