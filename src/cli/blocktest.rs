//! `snapsync blocktest PATH…`: ethereum/tests BlockchainTests files (or directories of them,
//! walked recursively) run through the executor, the harness clients ship (like geth's
//! `evm blocktest`).
//!
//! Each case: the pre-state is written into an empty in-memory store (its root must be the
//! genesis header's), then each block is decoded, checked against its parent and executed in a
//! transaction of its own, committed only when every header field checks out. A block marked
//! `expectException` must be rejected (its transaction is dropped and the chain continues from
//! its parent); any other block must be accepted. After the last block the head's hash must be
//! `lastblockhash` and the store must hold exactly `postState`.
//!
//! Output: one line per failing case on stdout (`FAIL <file>::<case>: block <n>: <field>:
//! <detail>`), a `<directory>: N passed, M failed` line per directory on stderr, and
//! `N passed, M failed` as the last line of stdout. Exit 0 when all passed, 1 otherwise, 2 when
//! a path cannot be read. The parser is revm's (`revm-statetest-types`); a file that is not
//! valid test JSON fails each of its cases as one failure naming the file, never a panic. Files
//! are read up to [`MAX_FILE_BYTES`].

use super::{CliError, Outcome};
use alloy_consensus::{Block, Header, TxEnvelope};
use alloy_primitives::{Address, B256, Bytes, Sealable, Sealed, keccak256};
use alloy_rlp::Decodable;
use clap::Args;
use revm_statetest_types::blockchain::{Account, BlockchainTest, BlockchainTestCase};
use snapsync_db::MemoryDatabase;
use snapsync_execution::{BlockError, ChainRules, EvmExecutor, seed_state};
use snapsync_genesis::HashedAccount;
use snapsync_primitives::{AccountHash, KECCAK_EMPTY, SlotHash};
use snapsync_storage::{KeyRange, StateRead, StateStore, StateWrite};
use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

/// Largest test file read: 64 MiB (the largest ethereum/tests file is a few MiB).
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// Arguments of `snapsync blocktest`.
#[derive(Debug, Args)]
pub(crate) struct BlocktestArgs {
    /// BlockchainTests JSON files or directories (searched recursively for `*.json`).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Passed and failed cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    fn add(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// Why a case failed: the block (index in the case's list, or none for the case as a whole),
/// the field and what was found.
#[derive(Debug)]
struct CaseFailure {
    block: Option<usize>,
    field: String,
    detail: String,
}

impl CaseFailure {
    fn case(field: &str, detail: impl Into<String>) -> Self {
        Self { block: None, field: field.to_owned(), detail: detail.into() }
    }

    fn block(block: usize, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { block: Some(block), field: field.into(), detail: detail.into() }
    }
}

/// Runs `blocktest`.
///
/// # Errors
/// [`CliError::Usage`] for a path that does not exist or cannot be listed; output failures.
pub(crate) fn run(
    args: &BlocktestArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect_files(path, &mut files)?;
    }
    files.sort();
    let mut per_dir: BTreeMap<PathBuf, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for file in &files {
        let tally = run_file(file, out)?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        per_dir.entry(dir).or_default().add(tally);
        total.add(tally);
    }
    for (dir, tally) in &per_dir {
        writeln!(err, "{}: {} passed, {} failed", dir.display(), tally.passed, tally.failed)?;
    }
    writeln!(out, "{} passed, {} failed", total.passed, total.failed)?;
    Ok(if total.failed == 0 { Outcome::Success } else { Outcome::Disagreement })
}

/// `path` itself when a file, every `*.json` below it when a directory.
fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let unreadable =
        |error: std::io::Error| CliError::Usage(format!("{}: {error}", path.display()));
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?.path();
        if entry.is_dir() {
            collect_files(&entry, files)?;
        } else if entry.extension().is_some_and(|ext| ext == "json") {
            files.push(entry);
        }
    }
    Ok(())
}

/// Runs every case of one file, printing a line per failure.
fn run_file(file: &Path, out: &mut dyn Write) -> Result<Tally, CliError> {
    let mut tally = Tally::default();
    let suite = snapsync_genesis::read_capped(file, MAX_FILE_BYTES)
        .map_err(|error| error.to_string())
        .and_then(|bytes| {
            serde_json::from_slice::<BlockchainTest>(&bytes)
                .map_err(|error| format!("not a BlockchainTests file: {error}"))
        });
    let suite = match suite {
        Ok(suite) => suite,
        Err(detail) => {
            writeln!(out, "FAIL {}: {detail}", file.display())?;
            tally.failed += 1;
            return Ok(tally);
        }
    };
    for (name, case) in &suite.0 {
        match run_case(case) {
            Ok(()) => tally.passed += 1,
            Err(failure) => {
                tally.failed += 1;
                let block = failure.block.map_or(String::new(), |block| format!("block {block}: "));
                writeln!(
                    out,
                    "FAIL {}::{name}: {block}{}: {}",
                    file.display(),
                    failure.field,
                    failure.detail
                )?;
            }
        }
    }
    Ok(tally)
}

/// One case: pre-state, blocks, post-state. See the module docs.
fn run_case(case: &BlockchainTestCase) -> Result<(), CaseFailure> {
    let network = format!("{:?}", case.network);
    let rules = ChainRules::for_test_network(&network)
        .ok_or_else(|| CaseFailure::case("network", format!("{network} is not supported")))?;
    let executor = EvmExecutor::new(rules);
    let genesis = genesis_header(case)?;
    let store = MemoryDatabase::new();
    let store_error = |error: &dyn std::fmt::Display| CaseFailure::case("store", error.to_string());
    let mut txn = StateStore::writer(&store).map_err(|e| store_error(&e))?;
    let pre = case.pre.0.iter().map(|(address, account)| hashed(address, account));
    let root = seed_state(&mut txn, pre).map_err(|e| store_error(&e))?;
    if root != genesis.state_root {
        return Err(CaseFailure::case(
            "pre",
            format!(
                "the pre-state's root {root} is not the genesis state root {}",
                genesis.state_root
            ),
        ));
    }
    store_header(&mut txn, &genesis).map_err(|e| store_error(&e))?;
    txn.commit().map_err(|e| store_error(&e))?;

    let mut head = genesis;
    for (index, block) in case.blocks.iter().enumerate() {
        let expected = block.expect_exception.as_deref();
        match execute(&executor, &store, &head, &block.rlp) {
            Ok(sealed) => {
                if let Some(exception) = expected {
                    return Err(CaseFailure::block(
                        index,
                        "accepted",
                        format!("expected {exception}"),
                    ));
                }
                head = sealed;
            }
            Err(failure) if expected.is_some() => {
                // Rejected as it must be; the chain continues from the parent.
                let _ = failure;
            }
            Err(failure) => return Err(CaseFailure::block(index, failure.0, failure.1)),
        }
    }
    if head.hash() != case.lastblockhash {
        return Err(CaseFailure::case(
            "lastblockhash",
            format!(
                "head is {} (block {}), expected {}",
                head.hash(),
                head.number,
                case.lastblockhash
            ),
        ));
    }
    match &case.post_state {
        Some(post) => check_post_state(&store, post),
        None => Ok(()),
    }
}

/// The genesis header, from `genesisRLP` (the whole genesis block), which must hash to the
/// case's genesis hash.
fn genesis_header(case: &BlockchainTestCase) -> Result<Sealed<Header>, CaseFailure> {
    let rlp =
        case.genesis_rlp.as_ref().ok_or_else(|| CaseFailure::case("genesisRLP", "missing"))?;
    let block = Block::<TxEnvelope>::decode(&mut rlp.as_ref())
        .map_err(|error| CaseFailure::case("genesisRLP", error.to_string()))?;
    let header = block.header.seal_slow();
    if header.hash() != case.genesis_block_header.hash {
        return Err(CaseFailure::case(
            "genesisRLP",
            format!(
                "hashes to {}, the header says {}",
                header.hash(),
                case.genesis_block_header.hash
            ),
        ));
    }
    Ok(header)
}

/// Decodes and executes one block on `store`'s state (at `parent`), committing it when valid;
/// the field and detail of the rejection otherwise.
fn execute(
    executor: &EvmExecutor,
    store: &MemoryDatabase,
    parent: &Sealed<Header>,
    rlp: &Bytes,
) -> Result<Sealed<Header>, (String, String)> {
    let mut input = rlp.as_ref();
    let block = Block::<TxEnvelope>::decode(&mut input)
        .map_err(|error| ("rlp".to_owned(), error.to_string()))?;
    if !input.is_empty() {
        return Err(("rlp".to_owned(), format!("{} bytes after the block", input.len())));
    }
    let header = block.header.seal_slow();
    let store_error = |error: &dyn std::fmt::Display| ("store".to_owned(), error.to_string());
    let mut txn = StateStore::writer(store).map_err(|e| store_error(&e))?;
    executor
        .execute(&mut txn, parent, &header, &block.body)
        .map_err(|error: BlockError| (error.what(), error.to_string()))?;
    store_header(&mut txn, &header).map_err(|e| store_error(&e))?;
    txn.commit().map_err(|e| store_error(&e))?;
    Ok(header)
}

fn store_header<W: StateWrite>(
    txn: &mut W,
    header: &Sealed<Header>,
) -> Result<(), snapsync_storage::StoreError> {
    txn.put_header(header.number, &header.hash(), &Bytes::from(alloy_rlp::encode(header.inner())))
}

/// A test account with its keys hashed, as the store keeps it.
fn hashed(address: &Address, account: &Account) -> HashedAccount {
    HashedAccount {
        hash: keccak256(address),
        nonce: account.nonce.saturating_to(),
        balance: account.balance,
        code: account.code.clone(),
        storage: account
            .storage
            .iter()
            .filter(|(_, value)| !value.is_zero())
            .map(|(slot, value)| (keccak256(B256::from(*slot)), *value))
            .collect(),
    }
}

/// The store holds exactly `post`: each account's nonce, balance, code and slots, and no other
/// account.
fn check_post_state(
    store: &MemoryDatabase,
    post: &BTreeMap<Address, Account>,
) -> Result<(), CaseFailure> {
    let store_error = |error: &dyn std::fmt::Display| CaseFailure::case("store", error.to_string());
    let view = StateStore::reader(store).map_err(|e| store_error(&e))?;
    for (address, expected) in post {
        let hash = AccountHash::of(address);
        let field = |name: &str| format!("postState {address} {name}");
        let account = view
            .account(&hash)
            .map_err(|e| store_error(&e))?
            .ok_or_else(|| CaseFailure::case(&field("account"), "missing"))?;
        if account.nonce != expected.nonce.saturating_to::<u64>()
            || account.balance != expected.balance
        {
            return Err(CaseFailure::case(
                &field("nonce/balance"),
                format!(
                    "{}/{}, expected {}/{}",
                    account.nonce, account.balance, expected.nonce, expected.balance
                ),
            ));
        }
        let code_hash =
            if expected.code.is_empty() { KECCAK_EMPTY } else { keccak256(&expected.code) };
        if account.code_hash != code_hash {
            return Err(CaseFailure::case(
                &field("code"),
                format!("hash {}, expected {code_hash}", account.code_hash),
            ));
        }
        let stored: BTreeMap<SlotHash, _> = view
            .slots(&hash, KeyRange::all())
            .map_err(|e| store_error(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| store_error(&e))?;
        let expected_slots: BTreeMap<SlotHash, _> = expected
            .storage
            .iter()
            .filter(|(_, value)| !value.is_zero())
            .map(|(slot, value)| (SlotHash::of(&B256::from(*slot)), *value))
            .collect();
        if stored != expected_slots {
            return Err(CaseFailure::case(
                &field("storage"),
                format!(
                    "{} slots stored, {} expected, values differ",
                    stored.len(),
                    expected_slots.len()
                ),
            ));
        }
    }
    let accounts = view.accounts(KeyRange::all()).map_err(|e| store_error(&e))?.count();
    if accounts != post.len() {
        return Err(CaseFailure::case(
            "postState",
            format!("{accounts} accounts stored, {} expected", post.len()),
        ));
    }
    Ok(())
}
