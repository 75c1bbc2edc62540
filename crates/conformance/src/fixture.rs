//! A geth hive fixture's states, imported into memory databases and served.
//!
//! The fixture is a directory shaped like go-ethereum's `cmd/devp2p/internal/ethtest/testdata`:
//!
//! - `headstate.json` (required): a state dump of the head block, the state named `"head"`;
//! - `genesis.json` (optional): the genesis file, the state named `"genesis"`;
//! - `headblock.json` (optional): the head header; its `number` decides whether the genesis state
//!   is served, and its `stateRoot` is compared with the dump's computed root.
//!
//! A go-ethereum node at the head serves the states of its last 128 blocks, so the genesis state
//! is served only when the head is less than [`ServerLimits::DEFAULT_MAX_STATES`] blocks above it
//! (or when the head's number is unknown); the hive suite expects a request for the genesis root of
//! a 600-block chain to get nothing. Either way the genesis state is imported, so that its root can
//! be named and checked.

use crate::{ConformanceError, fields};
use alloy_primitives::B256;
use serde_json::Value;
use snapsync_db::{ImportAccount, ImportReport, MemoryDatabase, import_state};
use snapsync_etl::CollectorConfig;
use snapsync_genesis::{HashedAccount, StateFile};
use snapsync_primitives::{AccountHash, SlotHash};
use snapsync_server::{ServerLimits, SnapServer};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// The name cases use for the head state.
pub const HEAD: &str = "head";
/// The name cases use for the genesis state.
pub const GENESIS: &str = "genesis";

/// Memory the ETL collectors of an import may hold (fixtures are small).
const IMPORT_BUFFER: usize = 16 * 1024 * 1024;
/// Largest `headblock.json` read: a header is a few hundred bytes of JSON.
pub const MAX_HEAD_BLOCK_BYTES: u64 = 1024 * 1024;

/// One imported state of a fixture.
#[derive(Debug, Clone)]
pub struct FixtureState {
    /// Its state root, as the import computed it.
    pub root: B256,
    /// The database holding it.
    pub db: Arc<MemoryDatabase>,
    /// What the import wrote.
    pub report: ImportReport,
}

/// A fixture's states, ready to serve.
#[derive(Debug, Clone)]
pub struct Fixture {
    head: FixtureState,
    genesis: Option<FixtureState>,
    head_number: Option<u64>,
    notes: Vec<String>,
}

impl Fixture {
    /// Loads the fixture in `dir`, importing each state into its own memory database.
    ///
    /// # Errors
    /// [`ConformanceError::State`] for a missing or malformed state file (including dump entries
    /// without their code or storage), [`ConformanceError::Import`], and
    /// [`ConformanceError::Io`] / [`ConformanceError::Json`] / [`ConformanceError::Field`] for an
    /// unreadable `headblock.json`.
    pub fn load(dir: &Path) -> Result<Self, ConformanceError> {
        let mut notes = Vec::new();
        let head = import_file(&dir.join("headstate.json"), &mut notes)?;
        let genesis_path = dir.join("genesis.json");
        let genesis =
            genesis_path.exists().then(|| import_file(&genesis_path, &mut notes)).transpose()?;
        let head_block_path = dir.join("headblock.json");
        let head_number = if head_block_path.exists() {
            let (number, state_root) = read_head_block(&head_block_path)?;
            if state_root != head.root {
                notes.push(format!(
                    "{}: stateRoot {state_root} differs from the head state's root {}",
                    head_block_path.display(),
                    head.root
                ));
            }
            Some(number)
        } else {
            None
        };
        Ok(Self { head, genesis, head_number, notes })
    }

    /// The head state.
    pub const fn head(&self) -> &FixtureState {
        &self.head
    }

    /// The genesis state, if the fixture has a genesis file.
    pub const fn genesis(&self) -> Option<&FixtureState> {
        self.genesis.as_ref()
    }

    /// The head block's number, if the fixture has a head block.
    pub const fn head_number(&self) -> Option<u64> {
        self.head_number
    }

    /// Disagreements found while loading that do not make the fixture unusable (a root claimed by
    /// a file that differs from the computed one).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether a go-ethereum node at the head would still serve the genesis state.
    pub fn serves_genesis(&self) -> bool {
        let window = ServerLimits::DEFAULT_MAX_STATES as u64;
        self.genesis.is_some() && self.head_number.is_none_or(|number| number < window)
    }

    /// The root of the state called `name` (`"head"` or `"genesis"`).
    pub fn named_root(&self, name: &str) -> Option<B256> {
        match name {
            HEAD => Some(self.head.root),
            GENESIS => self.genesis.as_ref().map(|genesis| genesis.root),
            _ => None,
        }
    }

    /// The imported state with root `root`.
    pub fn state(&self, root: B256) -> Option<&FixtureState> {
        [Some(&self.head), self.genesis.as_ref()].into_iter().flatten().find(|s| s.root == root)
    }

    /// A server holding the head state and, when [`serves_genesis`](Self::serves_genesis), the
    /// genesis state (added first, as the older).
    ///
    /// # Errors
    /// [`ConformanceError::Serve`] if an imported database does not hold its root (a bug).
    pub fn server(&self) -> Result<SnapServer<MemoryDatabase>, ConformanceError> {
        let server = SnapServer::default();
        if let Some(genesis) = self.genesis.as_ref().filter(|_| self.serves_genesis()) {
            server.add_state(genesis.root, genesis.db.clone())?;
        }
        server.add_state(self.head.root, self.head.db.clone())?;
        Ok(server)
    }
}

/// Imports the genesis file or state dump at `path` into a new memory database; a root the file
/// claims that differs from the computed one is noted.
fn import_file(path: &Path, notes: &mut Vec<String>) -> Result<FixtureState, ConformanceError> {
    let state_error =
        |source| ConformanceError::State { path: path.to_owned(), source: Box::new(source) };
    let file = StateFile::load(path).map_err(state_error)?;
    let accounts: Vec<ImportAccount> = file
        .hashed_accounts()
        .map(|account| account.map(import_account))
        .collect::<Result<_, _>>()
        .map_err(state_error)?;
    let db = Arc::new(MemoryDatabase::new());
    let report =
        import_state(&*db, accounts, &CollectorConfig::new(IMPORT_BUFFER)).map_err(|source| {
            ConformanceError::Import { path: path.to_owned(), source: Box::new(source) }
        })?;
    let claimed = match &file {
        StateFile::Dump(dump) => dump.root,
        StateFile::Genesis(genesis) => genesis.state_root,
    };
    if let Some(claimed) = claimed.filter(|claimed| *claimed != report.state_root) {
        notes.push(format!(
            "{}: claims root {claimed}, the imported state's root is {}",
            path.display(),
            report.state_root
        ));
    }
    Ok(FixtureState { root: report.state_root, db, report })
}

/// The importer's form of a state file's account.
fn import_account(account: HashedAccount) -> ImportAccount {
    ImportAccount {
        hash: AccountHash(account.hash),
        nonce: account.nonce,
        balance: account.balance,
        code: account.code,
        storage: account.storage.into_iter().map(|(slot, value)| (SlotHash(slot), value)).collect(),
    }
}

/// The `number` and `stateRoot` of the header in `path`.
fn read_head_block(path: &Path) -> Result<(u64, B256), ConformanceError> {
    let path_buf = || PathBuf::from(path);
    let json = snapsync_genesis::read_capped(path, MAX_HEAD_BLOCK_BYTES)
        .map_err(|source| ConformanceError::Io { path: path_buf(), source })?;
    let header: Value = serde_json::from_slice(&json)
        .map_err(|source| ConformanceError::Json { path: path_buf(), source })?;
    let field_error = |error: fields::FieldError| ConformanceError::Field {
        path: path_buf(),
        field: error.field,
        reason: error.reason,
    };
    let (number, field) = fields::member(&header, "", "number").map_err(field_error)?;
    let number = fields::integer(number, &field).map_err(field_error)?;
    let (root, field) = fields::member(&header, "", "stateRoot").map_err(field_error)?;
    let root = fields::hash(root, &field).map_err(field_error)?;
    Ok((number, root))
}
