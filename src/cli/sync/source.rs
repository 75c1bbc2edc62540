//! Where the state the simulated peers serve comes from: a generated state, a geth state dump or
//! a genesis file, made into a chain of executed blocks over it ([`ExecutedChain`]): with the
//! chain's actors and their transactions on a generated state, empty blocks on a file's (whose
//! state then stays the file's).

use crate::cli::CliError;
use clap::{Args, ValueEnum, value_parser};
use snapsync_genesis::{Format, StateFile};
use snapsync_sim::{ChainShape, ExecutedChain, GeneratedState, KeptStates, StateProfile};
use std::path::{Path, PathBuf};

/// Most accounts a generated state may have. The whole state is held in memory more than once
/// (the model while it is imported, the chain builder's store, and the synced database with
/// `--memory`; the kept pivot states are files) (figures measured before the kept states moved
/// to files):
/// a sync of 1,000,000 accounts peaks at about 2.8 GB resident with `--memory` and 2.5 GB with
/// a data directory, so this bound keeps a sync under about 14 GB.
pub(super) const MAX_ACCOUNTS: u64 = 5_000_000;
/// Most account states the peers may serve: accounts times the states served (one per pivot,
/// `--pivot-moves` + 1). Each pivot's state is a copy held in memory; 200,000 accounts with 16
/// moves (3.4 million account states) peak at about 4.2 GB, so this keeps a sync within about
/// the same 14 GB as the largest state without moves.
pub(super) const MAX_ACCOUNT_STATES: u64 = MAX_ACCOUNTS;
/// Most transactions over the whole chain (blocks times `--txs-per-block`): each is signed and
/// executed to build the chain, and held in memory with its receipt.
pub(super) const MAX_CHAIN_TXS: u64 = 500_000;

/// The state source options of `snapsync sync`.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Accounts of the generated state (default shape: 5% contracts, a few storage-heavy ones
    /// and one huge one, scaled to this count).
    #[arg(
        long,
        default_value_t = 300_000,
        value_parser = value_parser!(u64).range(1..=MAX_ACCOUNTS)
    )]
    accounts: u64,
    /// Shape of the generated state: `default` (as above) or `mainnet` (17% contracts, 4.5
    /// slots per account, slot counts heavy-tailed, one contract with 5.3% of the slots, as
    /// measured on mainnet; see `StateSpec::mainnet`).
    #[arg(long, value_enum, default_value_t = Profile::Default, conflicts_with_all = ["from_dump", "from_genesis"])]
    profile: Profile,
    /// Seed of the generated state and of the chain's headers: the same seed gives the same
    /// chain, so a re-run resumes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serve the state of a geth state dump (`geth dump` JSON) instead of a generated one.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from_genesis", "accounts"])]
    from_dump: Option<PathBuf>,
    /// Serve the state of a genesis file's alloc instead of a generated one.
    #[arg(long, value_name = "FILE", conflicts_with = "accounts")]
    from_genesis: Option<PathBuf>,
    /// Serve a state file's data even when the file's own claims (a dump's root, each account's
    /// key hash, storage root and code hash; a genesis file's stateRoot) disagree with it. The
    /// claims are then not checked at all.
    #[arg(long)]
    ignore_dump_claims: bool,
}

/// The chosen state, and a line describing it.
#[derive(Debug)]
pub(super) struct Source {
    /// Block 0's state, before the chain's actors are added.
    state: GeneratedState,
    /// Whether it came from a file (the chain's blocks are then empty).
    from_file: bool,
    /// The seed of the chain's actors and blocks.
    seed: u64,
    /// What the state is, with its counts and root, for the log.
    pub(super) description: String,
    /// About how many bytes a sync of the state downloads (to spread pivot moves over).
    pub(super) expected_bytes: u64,
}

/// Rough wire sizes of a state's items, for [`Source::expected_bytes`].
const ACCOUNT_BYTES: u64 = 100;
const SLOT_BYTES: u64 = 70;
const CODE_BYTES: u64 = 400;

impl SourceArgs {
    /// Builds or reads the state (block 0's, before the chain's actors), whose chain is served
    /// at `pivot_moves + 1` pivots.
    ///
    /// # Errors
    /// [`CliError::Input`] for an unreadable or malformed file, [`CliError::Usage`] for a file
    /// of the other format than its option says, one whose claims disagree with its data, or
    /// a world too large to hold in memory ([`MAX_ACCOUNT_STATES`]).
    pub(super) fn load(&self, pivot_moves: u64) -> Result<Source, CliError> {
        if self.from_dump.is_none() && self.from_genesis.is_none() {
            check_account_states(self.accounts, pivot_moves, "--accounts")?;
        }
        let (state, what) = self.state()?;
        check_account_states(state.len() as u64, pivot_moves, "the state file's accounts")?;
        let counts = state.counts();
        let description = format!(
            "{what}: {} accounts, {} storage slots, {} bytecodes; state root {}",
            counts.accounts,
            counts.storage_slots,
            counts.bytecodes,
            state.state_root()
        );
        let expected_bytes = ACCOUNT_BYTES * counts.accounts as u64
            + SLOT_BYTES * counts.storage_slots as u64
            + CODE_BYTES * counts.bytecodes as u64;
        let from_file = self.from_dump.is_some() || self.from_genesis.is_some();
        Ok(Source { state, from_file, seed: self.seed, description, expected_bytes })
    }

    /// The state and what it is.
    fn state(&self) -> Result<(GeneratedState, String), CliError> {
        let file = match (&self.from_dump, &self.from_genesis) {
            (Some(path), _) => Some((path, Format::Dump, "--from-dump", "--from-genesis")),
            (None, Some(path)) => Some((path, Format::Genesis, "--from-genesis", "--from-dump")),
            (None, None) => None,
        };
        let Some((path, format, option, other)) = file else {
            let profile = StateProfile::from(self.profile);
            let accounts = usize::try_from(self.accounts).unwrap_or(usize::MAX);
            let state = GeneratedState::generate(self.seed, &profile.spec(accounts));
            return Ok((state, format!("generated state ({profile} shape, seed {})", self.seed)));
        };
        let file = StateFile::load(path)?;
        if file.format() != format {
            return Err(CliError::Usage(format!(
                "{option} {}: the file is a {}, not a {format}; use {other}",
                path.display(),
                file.format()
            )));
        }
        let claims = if self.ignore_dump_claims {
            "its own claims NOT checked: --ignore-dump-claims"
        } else {
            check_claims(&file, option, path)?;
            "its own claims agree with its data"
        };
        let state = GeneratedState::from_state_file(&file)?;
        Ok((state, format!("{format} {} ({claims})", path.display())))
    }
}

impl Source {
    /// The chain of `blocks` executed blocks over the state: `txs_per_block` transactions of
    /// the actors in each (none, and no actors, over a file's state), keeping the states of the
    /// blocks `keep` says where `kept` says. The state's model is dropped once imported.
    ///
    /// # Errors
    /// [`CliError::Usage`] for a chain of more than [`MAX_CHAIN_TXS`] transactions;
    /// [`CliError::Chain`] when a block cannot be built.
    pub(super) fn build_chain(
        self,
        blocks: u64,
        txs_per_block: usize,
        keep: impl Fn(u64) -> bool,
        kept: &KeptStates,
    ) -> Result<ExecutedChain, CliError> {
        let shape = if self.from_file {
            ChainShape::empty(blocks)
        } else {
            check_chain_txs(blocks, txs_per_block)?;
            ChainShape::new(blocks, txs_per_block)
        };
        Ok(ExecutedChain::build_keeping(self.seed, self.state, &shape, keep, kept)?)
    }
}

/// Refuses a world whose served states would hold more than [`MAX_ACCOUNT_STATES`] accounts.
///
/// # Errors
/// [`CliError::Usage`] naming `what` (the accounts' origin), `--pivot-moves` and the bound.
fn check_account_states(accounts: u64, pivot_moves: u64, what: &str) -> Result<(), CliError> {
    let states = pivot_moves.saturating_add(1);
    let account_states = accounts.saturating_mul(states);
    if account_states > MAX_ACCOUNT_STATES {
        return Err(CliError::Usage(format!(
            "{what} ({accounts}) times the {states} states served with --pivot-moves \
             {pivot_moves} is {account_states} account states, above the bound of \
             {MAX_ACCOUNT_STATES} that keeps the simulated peers' memory bounded; use fewer \
             accounts or fewer --pivot-moves"
        )));
    }
    Ok(())
}

/// Refuses a chain of more than [`MAX_CHAIN_TXS`] transactions.
///
/// # Errors
/// [`CliError::Usage`] naming `--txs-per-block`, the blocks and the bound.
fn check_chain_txs(blocks: u64, txs_per_block: usize) -> Result<(), CliError> {
    let per_block = txs_per_block as u64;
    let txs = blocks.saturating_mul(per_block);
    if txs > MAX_CHAIN_TXS {
        return Err(CliError::Usage(format!(
            "--txs-per-block {per_block} over the chain's {blocks} blocks is {txs} transactions, \
             above the bound of {MAX_CHAIN_TXS} that keeps building the chain quick; use fewer \
             --txs-per-block or --pivot-moves"
        )));
    }
    Ok(())
}

/// Refuses a state file whose own claims its data contradicts, naming the first such claim;
/// the same check as `snapsync state-root`'s.
///
/// # Errors
/// [`CliError::Usage`] naming the account and field (or the root) at fault.
fn check_claims(file: &StateFile, option: &str, path: &Path) -> Result<(), CliError> {
    let check = file.check_claims()?;
    let Some(first) = check.mismatches.first() else { return Ok(()) };
    let more = match check.mismatches.len() - 1 {
        0 => String::new(),
        more => format!(" (and {more} more claims disagree)"),
    };
    Err(CliError::Usage(format!(
        "{option} {}: the file's own claims disagree with its data: {first}{more}; `snapsync \
         state-root` lists them all; pass --ignore-dump-claims to serve the data anyway",
        path.display()
    )))
}

/// The state shapes `--profile` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Profile {
    /// The default test shape.
    Default,
    /// Heavy-tailed like mainnet.
    Mainnet,
}

impl From<Profile> for StateProfile {
    fn from(profile: Profile) -> Self {
        match profile {
            Profile::Default => Self::Default,
            Profile::Mainnet => Self::Mainnet,
        }
    }
}
