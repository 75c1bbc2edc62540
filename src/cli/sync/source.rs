//! Where the state the simulated peers serve comes from: a generated state, a geth state dump or
//! a genesis file, made into a chain whose pivot block carries its root.

use crate::cli::CliError;
use clap::{Args, value_parser};
use snapsync_genesis::{Format, StateFile};
use snapsync_testing::{GeneratedChain, GeneratedState, StateSpec};
use std::path::PathBuf;

/// Most accounts a generated state may have: the whole state is held in memory three times
/// (the model, the served copy, the synced database when `--memory`).
const MAX_ACCOUNTS: u64 = 20_000_000;

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
}

/// A chain over the chosen state, and a line describing it.
#[derive(Debug)]
pub(super) struct Source {
    /// The chain the peers serve.
    pub(super) chain: GeneratedChain,
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
    /// Builds the state (the genesis state) and a chain of `blocks` blocks over it, each making
    /// `changes_per_block` random changes to the state.
    ///
    /// # Errors
    /// [`CliError::Input`] for an unreadable or malformed file, [`CliError::Usage`] for a file
    /// of the other format than its option says.
    pub(super) fn build(&self, blocks: u64, changes_per_block: usize) -> Result<Source, CliError> {
        let (state, what) = self.state()?;
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
        let chain = GeneratedChain::from_genesis_state(self.seed, state, blocks, changes_per_block);
        Ok(Source { chain, description, expected_bytes })
    }

    /// The state and what it is.
    fn state(&self) -> Result<(GeneratedState, String), CliError> {
        let file = match (&self.from_dump, &self.from_genesis) {
            (Some(path), _) => Some((path, Format::Dump, "--from-dump", "--from-genesis")),
            (None, Some(path)) => Some((path, Format::Genesis, "--from-genesis", "--from-dump")),
            (None, None) => None,
        };
        let Some((path, format, option, other)) = file else {
            let state = GeneratedState::generate(self.seed, &spec(self.accounts));
            return Ok((state, format!("generated state (seed {})", self.seed)));
        };
        let file = StateFile::load(path)?;
        if file.format() != format {
            return Err(CliError::Usage(format!(
                "{option} {}: the file is a {}, not a {format}; use {other}",
                path.display(),
                file.format()
            )));
        }
        let state = GeneratedState::from_state_file(&file)?;
        Ok((state, format!("{format} {}", path.display())))
    }
}

/// [`StateSpec::default`]'s shape (300,000 accounts, 5% contracts, 0.2% of those with 1,000 to
/// 10,000 slots, one with 100,000) scaled to `accounts`: the huge contract's slots in proportion
/// (at least 100), and for smaller states the large contracts' slots too (but at least 500 to
/// 1,000, and at least one such contract), so a small state keeps storage-heavy contracts
/// without being dominated by them.
pub(super) fn spec(accounts: u64) -> StateSpec {
    let base = StateSpec::default();
    let accounts = usize::try_from(accounts).unwrap_or(usize::MAX);
    #[allow(clippy::cast_precision_loss)] // a ratio of two counts, far below 2^52
    let scale = accounts as f64 / base.accounts as f64;
    let scaled = |slots: usize, floor: usize| scale_count(slots, scale.min(1.0)).max(floor);
    let spec = base.clone().with_accounts(accounts);
    let large_ratio = if spec.contracts() > 1 {
        #[allow(clippy::cast_precision_loss)]
        let one = 1.0 / (spec.contracts() - 1) as f64;
        base.large_contract_ratio.max(one)
    } else {
        base.large_contract_ratio
    };
    let large = scaled(*base.large_storage.start(), 500)..=scaled(*base.large_storage.end(), 1_000);
    spec.with_large_contracts(large_ratio, large)
        .with_huge_contracts(base.huge_contracts, scale_count(base.huge_storage, scale).max(100))
}

/// `count × scale`, rounded.
fn scale_count(count: usize, scale: f64) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "slot counts are far below 2^52, the scale is positive and bounded"
    )]
    let scaled = (count as f64 * scale).round() as usize;
    scaled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_size_keeps_the_default_shape() {
        let spec = spec(300_000);
        let base = StateSpec::default();
        assert_eq!(spec.accounts, base.accounts);
        assert_eq!(spec.huge_storage, base.huge_storage);
        assert_eq!(spec.large_storage, base.large_storage);
        assert_eq!(spec.large_contracts(), base.large_contracts());
    }

    #[test]
    fn small_states_keep_a_large_and_a_huge_contract() {
        let spec = spec(3_000);
        assert_eq!(spec.contracts(), 150);
        assert_eq!(spec.large_contracts(), 1);
        assert_eq!(spec.huge_storage, 1_000);
        assert_eq!(spec.large_storage, 500..=1_000);
        let bigger = self::spec(1_200_000);
        assert_eq!(bigger.huge_storage, 400_000);
        assert_eq!(bigger.large_storage, StateSpec::default().large_storage);
    }
}
