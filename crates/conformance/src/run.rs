//! Running the cases: each request sent to the server, its reply compared with the case's
//! expectations, then verified on its own.
//!
//! The verifications do not trust the expectations: every account and storage reply goes through
//! `verify_range_proof` against the right root (the requested state root; the account's storage
//! root, read from the imported state, for each storage list), and its `has_more` is compared
//! with what the state holds beyond the last key; every code and node is checked by hash.

use crate::{
    AccountRangeCase, ByteCodesCase, Case, CaseFile, CaseKind, CaseOutcome, ConformanceError,
    Fixture, FixtureState, Report, RootRef, StorageRangesCase, TrieNodesCase, TrieNodesExpect,
};
use alloy_primitives::{B256, U256, keccak256};
use snapsync_db::{Database, HashedAccounts, HashedStorages, MemoryDatabase, TableRead};
use snapsync_primitives::{
    AccountHash, EMPTY_ROOT_HASH, GetAccountRange, GetByteCodes, GetStorageRanges, GetTrieNodes,
    RawTrieNodePathSet, SlotHash,
};
use snapsync_server::SnapServer;
use snapsync_trie::verify_range_proof;

/// Runs every case of `cases` against a server over `fixture`'s states.
///
/// # Errors
/// [`ConformanceError::UnknownState`] for a case naming a state the fixture lacks;
/// [`ConformanceError::Serve`] if the fixture cannot be served. A case that fails is not an
/// error: it is in the [`Report`].
pub fn run(fixture: &Fixture, cases: &CaseFile) -> Result<Report, ConformanceError> {
    let server = fixture.server()?;
    let runner = Runner { fixture, server: &server };
    let outcomes = cases
        .cases
        .iter()
        .map(|case| Ok(CaseOutcome { name: case.name.clone(), failures: runner.check(case)? }))
        .collect::<Result<_, ConformanceError>>()?;
    Ok(Report { outcomes })
}

/// The fixture, and the server under test.
struct Runner<'a> {
    fixture: &'a Fixture,
    server: &'a SnapServer<MemoryDatabase>,
}

/// A request id; the server echoes it.
const REQUEST_ID: u64 = 1;

impl Runner<'_> {
    /// The failures of `case`.
    fn check(&self, case: &Case) -> Result<Vec<String>, ConformanceError> {
        let mut failures = Vec::new();
        match &case.kind {
            CaseKind::AccountRange(range) => {
                self.account_range(self.root(case, &range.root)?, range, &mut failures);
            }
            CaseKind::StorageRanges(range) => {
                self.storage_ranges(self.root(case, &range.root)?, range, &mut failures);
            }
            CaseKind::ByteCodes(codes) => self.byte_codes(codes, &mut failures),
            CaseKind::TrieNodes(nodes) => {
                self.trie_nodes(self.root(case, &nodes.root)?, nodes, &mut failures);
            }
        }
        Ok(failures)
    }

    /// The root `root` names.
    fn root(&self, case: &Case, root: &RootRef) -> Result<B256, ConformanceError> {
        match root {
            RootRef::Hash(hash) => Ok(*hash),
            RootRef::Named(name) => {
                self.fixture.named_root(name).ok_or_else(|| ConformanceError::UnknownState {
                    case: case.name.clone(),
                    reason: format!(
                        "the fixture has no state {name:?} (\"head\" is headstate.json, \
                         \"genesis\" is genesis.json)"
                    ),
                })
            }
        }
    }

    /// The imported state `root`, for verifying a non-empty reply; a failure when there is none
    /// (the server served a state it should not hold).
    fn state_for(&self, root: B256, failures: &mut Vec<String>) -> Option<&FixtureState> {
        let state = self.fixture.state(root);
        if state.is_none() {
            failures.push(format!("data served for root {root}, which is no state of the fixture"));
        }
        state
    }

    fn account_range(&self, root: B256, case: &AccountRangeCase, failures: &mut Vec<String>) {
        let reply = self.server.account_range(&GetAccountRange {
            request_id: REQUEST_ID,
            root_hash: root,
            starting_hash: AccountHash(case.origin),
            limit_hash: AccountHash(case.limit),
            response_bytes: case.bytes,
        });
        let hashes: Vec<B256> = reply.accounts.iter().map(|entry| entry.hash.0).collect();
        if hashes.len() != case.count {
            failures.push(format!("expected {} accounts, got {}", case.count, hashes.len()));
        }
        compare_edge("first", case.first, hashes.first(), failures);
        compare_edge("last", case.last, hashes.last(), failures);
        if reply.accounts.is_empty() && reply.proof.is_empty() {
            return;
        }
        let Some(state) = self.state_for(root, failures) else { return };
        let values: Vec<Vec<u8>> = reply
            .accounts
            .iter()
            .map(|entry| alloy_rlp::encode(entry.account.into_full()))
            .collect();
        match verify_range_proof(root, case.origin.as_slice(), &hashes, &values, &reply.proof) {
            Err(error) => failures.push(format!("account proof does not verify: {error}")),
            Ok(has_more) => {
                let after = hashes.last().map_or(Some(AccountHash(case.origin)), |last| {
                    AccountHash(*last).checked_next()
                });
                let expected = after.is_some_and(|after| accounts_from(state, after));
                if has_more != expected {
                    failures.push(format!(
                        "account proof says more accounts follow: {has_more}, the state: {expected}"
                    ));
                }
            }
        }
    }

    fn storage_ranges(&self, root: B256, case: &StorageRangesCase, failures: &mut Vec<String>) {
        let reply = self.server.storage_ranges(&GetStorageRanges {
            request_id: REQUEST_ID,
            root_hash: root,
            account_hashes: case.accounts.iter().copied().map(AccountHash).collect(),
            starting_hash: case.origin.map(SlotHash),
            limit_hash: case.limit.map(SlotHash),
            response_bytes: case.bytes,
        });
        if reply.slots.len() != case.slots.len() {
            failures.push(format!(
                "expected {} slot lists, got {}",
                case.slots.len(),
                reply.slots.len()
            ));
        }
        for (index, (got, expected)) in reply.slots.iter().zip(&case.slots).enumerate() {
            let got: Vec<(B256, Option<U256>)> =
                got.iter().map(|slot| (slot.hash.0, slot.value().ok())).collect();
            let expected: Vec<(B256, Option<U256>)> = expected
                .iter()
                .map(|slot| (slot.hash, U256::try_from_be_slice(&slot.value)))
                .collect();
            if got != expected {
                failures.push(format!(
                    "slot list {index}: expected {}, got {}",
                    slots_text(&expected),
                    slots_text(&got)
                ));
            }
        }
        if reply.slots.is_empty() && reply.proof.is_empty() {
            return;
        }
        let Some(state) = self.state_for(root, failures) else { return };
        if reply.slots.is_empty() {
            failures.push("a storage proof without slot lists".to_owned());
        }
        for (index, slots) in reply.slots.iter().enumerate() {
            let Some(account) = case.accounts.get(index).copied().map(AccountHash) else {
                failures.push(format!("slot list {index} answers no requested account"));
                break;
            };
            let origin = if index == 0 { case.origin.unwrap_or(B256::ZERO) } else { B256::ZERO };
            let proof = if index + 1 == reply.slots.len() { &reply.proof[..] } else { &[] };
            let keys: Vec<B256> = slots.iter().map(|slot| slot.hash.0).collect();
            let values: Vec<&[u8]> = slots.iter().map(|slot| slot.data.as_ref()).collect();
            let storage_root = storage_root(state, account);
            match verify_range_proof(storage_root, origin.as_slice(), &keys, &values, proof) {
                Err(error) => failures.push(format!(
                    "slot list {index}: proof does not verify against storage root \
                     {storage_root}: {error}"
                )),
                Ok(has_more) => {
                    let after = keys
                        .last()
                        .map_or(Some(SlotHash(origin)), |last| SlotHash(*last).checked_next());
                    let expected = after.is_some_and(|after| slots_from(state, account, after));
                    if has_more != expected {
                        failures.push(format!(
                            "slot list {index}: proof says more slots follow: {has_more}, the \
                             state: {expected}"
                        ));
                    }
                }
            }
        }
    }

    fn byte_codes(&self, case: &ByteCodesCase, failures: &mut Vec<String>) {
        let reply = self.server.byte_codes(&GetByteCodes {
            request_id: REQUEST_ID,
            hashes: case.hashes.clone(),
            response_bytes: case.bytes,
        });
        if reply.codes.len() != case.count {
            failures.push(format!("expected {} codes, got {}", case.count, reply.codes.len()));
        }
        // Each code must hash to a requested hash, in request order (unknown ones left out).
        let mut requested = case.hashes.iter();
        for (index, code) in reply.codes.iter().enumerate() {
            let hash = keccak256(code);
            if !requested.any(|wanted| *wanted == hash) {
                failures.push(format!("code {index} (hash {hash}) was not requested at its place"));
                break;
            }
        }
    }

    fn trie_nodes(&self, root: B256, case: &TrieNodesCase, failures: &mut Vec<String>) {
        let request = GetTrieNodes {
            request_id: REQUEST_ID,
            root_hash: root,
            paths: case.paths.iter().map(|set| RawTrieNodePathSet(set.clone())).collect(),
            response_bytes: case.bytes,
        };
        match (self.server.trie_nodes(&request), &case.expect) {
            (Err(_), TrieNodesExpect::Reject) => {}
            (Ok(reply), TrieNodesExpect::Reject) => failures.push(format!(
                "expected the request to be refused, got {} nodes",
                reply.nodes.len()
            )),
            (Err(error), TrieNodesExpect::Nodes(_)) => {
                failures.push(format!("the request was refused: {error}"));
            }
            (Ok(reply), TrieNodesExpect::Nodes(expected)) => {
                if reply.nodes.len() != expected.len() {
                    failures.push(format!(
                        "expected {} nodes, got {}",
                        expected.len(),
                        reply.nodes.len()
                    ));
                }
                let got = reply.nodes.iter().map(keccak256);
                for (index, (got, expected)) in got.zip(expected).enumerate() {
                    if got != *expected {
                        failures.push(format!("node {index}: expected hash {expected}, got {got}"));
                    }
                }
            }
        }
    }
}

/// Compares an expected edge hash of an account range with the reply's.
fn compare_edge(
    edge: &str,
    expected: Option<B256>,
    got: Option<&B256>,
    failures: &mut Vec<String>,
) {
    if let (Some(expected), Some(got)) = (expected, got)
        && expected != *got
    {
        failures.push(format!("{edge} account: expected {expected}, got {got}"));
    }
}

/// `[hash=value, …]` for messages.
fn slots_text(slots: &[(B256, Option<U256>)]) -> String {
    let items: Vec<String> = slots
        .iter()
        .map(|(hash, value)| match value {
            Some(value) => format!("{hash}={value:#x}"),
            None => format!("{hash}=<not an integer>"),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Whether `state` has an account at or after `from`.
fn accounts_from(state: &FixtureState, from: AccountHash) -> bool {
    state
        .db
        .view()
        .and_then(|view| view.range::<HashedAccounts>(from..)?.next().transpose())
        .is_ok_and(|next| next.is_some())
}

/// Whether `account` has a slot at or after `from` in `state`.
fn slots_from(state: &FixtureState, account: AccountHash, from: SlotHash) -> bool {
    state
        .db
        .view()
        .and_then(|view| {
            view.range::<HashedStorages>((account, from)..=(account, SlotHash::MAX))?
                .next()
                .transpose()
        })
        .is_ok_and(|next| next.is_some())
}

/// The storage root of `account` in `state` (the empty root for an unknown account).
fn storage_root(state: &FixtureState, account: AccountHash) -> B256 {
    state
        .db
        .view()
        .and_then(|view| view.get::<HashedAccounts>(&account))
        .ok()
        .flatten()
        .map_or(EMPTY_ROOT_HASH, |account| account.storage_root)
}
