//! Bytecodes: every distinct code hash the verified accounts name, fetched once.
//!
//! The hashes are queued from verified account ranges (see `download.rs`), each once, skipping
//! the empty code and codes already stored; they are asked for `bytecodes_per_request` at a
//! time, and any a reply leaves out go back to the queue.

use crate::state::Counts;
use crate::step::StepWrites;
use alloy_primitives::B256;
use snapsync_etl::EtlError;
use snapsync_fetch::VerifiedByteCodes;
use std::collections::HashSet;

/// Up to `per_request` hashes from the back of `queue`, or `None` when it is empty.
pub(crate) fn next_batch(queue: &mut Vec<B256>, per_request: usize) -> Option<Vec<B256>> {
    if queue.is_empty() {
        return None;
    }
    let start = queue.len().saturating_sub(per_request.max(1));
    Some(queue.split_off(start))
}

/// Stores the codes of `reply` that were `asked` for; returns the asked hashes it left out.
pub(crate) fn store_codes(
    asked: Vec<B256>,
    reply: &VerifiedByteCodes,
    writes: &mut StepWrites,
    counts: &mut Counts,
) -> Result<Vec<B256>, EtlError> {
    let mut missing: HashSet<B256> = asked.into_iter().collect();
    for (hash, code) in reply.codes() {
        if missing.remove(hash) {
            writes.add_code(hash, code)?;
            counts.codes += 1;
        }
    }
    Ok(missing.into_iter().collect())
}
