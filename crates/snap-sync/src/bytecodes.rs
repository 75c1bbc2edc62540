//! The bytecode phase: every distinct code hash of the stored accounts, fetched once.
//!
//! A step scans accounts from the cursor, collecting code hashes that are neither empty nor
//! already stored, each once, until it has enough for all its concurrent requests; it asks for
//! them `bytecodes_per_request` at a time and asks again for any a reply left out, until the
//! step is full. Only when all of them are gathered does the cursor move past the scanned
//! accounts, so a failed or full step leaves the scan to be repeated (codes already stored are
//! skipped then).

use crate::SnapPhase;
use crate::{
    SnapSyncConfig, SnapSyncError,
    inflight::{InFlight, StepOutcome},
    scan::scan_accounts,
    state::{CodeCursor, Counts, SyncState},
    step::StepWrites,
};
use alloy_primitives::B256;
use alloy_trie::KECCAK_EMPTY;
use snapsync_etl::EtlError;
use snapsync_fetch::{ByteCodesRequest, FetchError, Fetcher, VerifiedByteCodes};
use snapsync_storage::StateRead;
use std::{collections::HashSet, ops::ControlFlow, sync::Arc};
use tracing::debug;

/// Most accounts one step's scan reads.
const SCAN_LIMIT: usize = 262_144;

/// The code hashes a scan found, and where the cursor goes once they are all stored.
#[derive(Debug)]
struct Scan {
    wanted: Vec<B256>,
    after: CodeCursor,
}

/// Downloads the bytecodes of the next scanned accounts into `writes`.
pub(crate) async fn download_bytecodes(
    fetcher: &Arc<Fetcher>,
    view: &(impl StateRead + Sync + ?Sized),
    config: &SnapSyncConfig,
    state: &mut SyncState,
    writes: &mut StepWrites,
) -> Result<(), SnapSyncError> {
    let per_request = usize::try_from(config.bytecodes_per_request).unwrap_or(1024).max(1);
    let max_requests = usize::try_from(config.concurrency.max_requests).unwrap_or(usize::MAX);
    let scan = scan_code_hashes(view, state.codes, per_request.saturating_mul(max_requests))?;
    let mut queue: Vec<Vec<B256>> = scan.wanted.chunks(per_request).map(<[B256]>::to_vec).collect();
    let mut inflight = InFlight::new(max_requests);
    let mut outcome = StepOutcome::default();
    loop {
        while !outcome.failed() && !writes.is_full() && inflight.has_room() {
            let Some(hashes) = queue.pop() else { break };
            let request = ByteCodesRequest { hashes: hashes.clone(), response_bytes: 0 };
            let (fetcher, full) = (Arc::clone(fetcher), writes.full_signal());
            inflight.spawn(hashes, async move { fetcher.byte_codes_until(request, full).await });
        }
        let Some((asked, result)) = inflight.next().await? else { break };
        match result {
            Ok(reply) => {
                let missing = store_codes(asked, &reply, writes, &mut state.counts)?;
                if !missing.is_empty() {
                    queue.push(missing);
                }
                outcome.progressed();
            }
            Err(FetchError::NoPeerServes { .. }) => {
                // No peer has these codes (their accounts changed since they were proven, and
                // the states holding them are gone): the verifying step finds any that are
                // still referenced, and healing fetches them from the pivot's state.
                debug!(target: "sync::snap::bytecodes", codes = asked.len(), "codes no peer serves, left to healing");
                outcome.progressed();
            }
            // Not sent before the step was full: asked again by the next step's scan.
            Err(FetchError::NotStarted { .. }) => queue.push(asked),
            Err(error) => outcome.fail(error),
        }
    }
    // The cursor moves past the scanned accounts only once all their codes are gathered; a
    // step that filled up first leaves the rest to the next step's scan, which skips the codes
    // stored by now.
    if !outcome.failed() && queue.is_empty() {
        debug!(target: "sync::snap::bytecodes", codes = scan.wanted.len(), next = %scan.after.next, "bytecodes stored");
        state.codes = scan.after;
    }
    let pivot = state.pivot.number;
    outcome.into_result(|source| SnapSyncError::Fetch {
        phase: SnapPhase::Bytecodes,
        pivot,
        source,
    })
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
            writes.codes.insert(hash, code)?;
            writes.add_bytes(32 + code.len() as u64);
            counts.codes += 1;
        }
    }
    Ok(missing.into_iter().collect())
}

/// Distinct code hashes not yet stored, from the cursor on, up to `most` of them.
fn scan_code_hashes(
    view: &(impl StateRead + ?Sized),
    cursor: CodeCursor,
    most: usize,
) -> Result<Scan, SnapSyncError> {
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    let next = scan_accounts(view, cursor.next, SCAN_LIMIT, |_, trie_account| {
        let code_hash = trie_account.code_hash;
        let new = code_hash != KECCAK_EMPTY && seen.insert(code_hash);
        if new && view.code(&code_hash)?.is_none() {
            wanted.push(code_hash);
        }
        Ok(if wanted.len() == most { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    let after = match next {
        Some(next) => CodeCursor { next, scanned: false },
        None => CodeCursor { next: cursor.next, scanned: true },
    };
    Ok(Scan { wanted, after })
}
