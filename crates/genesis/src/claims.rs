//! A state file's own claims checked against its data.
//!
//! A state dump claims its state root (`root`) and, per account, its account hash (`key`),
//! storage root (`root`) and code hash (`codeHash`); a genesis file may claim its state root
//! (`stateRoot`). [`StateFile::check_claims`] computes the state root and lists every claim the
//! data contradicts. It is the one check `snapsync state-root` reports and `snapsync sync
//! --from-dump` refuses a file by, so the two always agree about a file.

use crate::{AccountMismatch, Format, GenesisError, StateFile, StateRootReport};
use alloy_primitives::B256;
use std::fmt;

/// A claim of a state file that its data contradicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMismatch {
    /// An account's `key`, `root` or `codeHash`.
    Account(AccountMismatch),
    /// The file's state root (a dump's `root`, a genesis file's `stateRoot`).
    Root {
        /// The field holding the claim.
        field: &'static str,
        /// The value of the field.
        in_file: B256,
        /// The root computed from the accounts.
        computed: B256,
    },
}

impl fmt::Display for ClaimMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Account(mismatch) => mismatch.fmt(f),
            Self::Root { field, in_file, computed } => write!(
                f,
                "computed root {computed} differs from the file's root {in_file} (field \
                 \"{field}\")"
            ),
        }
    }
}

/// A state file's root, and the claims of the file its data contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCheck {
    /// The computed root, the counts, and what was taken from the file unverified.
    pub report: StateRootReport,
    /// Every contradicted claim: the accounts' in account order, then the file's root.
    pub mismatches: Vec<ClaimMismatch>,
}

impl ClaimCheck {
    /// Whether every claim of the file agrees with its data.
    pub fn is_consistent(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl Format {
    /// The top-level field in which a file of this format claims its state root.
    pub const fn root_field(self) -> &'static str {
        match self {
            Self::Genesis => "stateRoot",
            Self::Dump => "root",
        }
    }
}

impl StateFile {
    /// Computes the state root and checks every claim of the file against the data: a dump's
    /// per-account `key`, `root` and `codeHash` and its `root`, a genesis file's `stateRoot`.
    ///
    /// # Errors
    /// As [`StateFile::state_root`].
    pub fn check_claims(&self) -> Result<ClaimCheck, GenesisError> {
        let report = self.state_root()?;
        let mut mismatches: Vec<ClaimMismatch> =
            report.mismatches.iter().copied().map(ClaimMismatch::Account).collect();
        if let Some(in_file) = report.claimed_root.filter(|claimed| *claimed != report.state_root) {
            let field = self.format().root_field();
            mismatches.push(ClaimMismatch::Root { field, in_file, computed: report.state_root });
        }
        Ok(ClaimCheck { report, mismatches })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MismatchField;

    const ADDRESS: &str = "0x00000961ef480eb55e80d19ad83579a64c007002";

    fn check(json: &str) -> ClaimCheck {
        StateFile::from_slice(json.as_bytes()).unwrap().check_claims().unwrap()
    }

    #[test]
    fn a_dump_without_claims_is_consistent() {
        let check = check(&format!(r#"{{"accounts": {{"{ADDRESS}": {{"balance": "1"}}}}}}"#));
        assert!(check.is_consistent(), "{:?}", check.mismatches);
    }

    #[test]
    fn a_false_key_and_a_false_root_are_both_listed() {
        let false_hash = format!("0x{}", "11".repeat(32));
        let check = check(&format!(
            r#"{{"root": "{false_hash}", "accounts": {{"{ADDRESS}": {{"balance": "1",
                "key": "{false_hash}"}}}}}}"#
        ));
        assert!(!check.is_consistent());
        assert_eq!(check.mismatches.len(), 2, "{:?}", check.mismatches);
        let ClaimMismatch::Account(account) = check.mismatches[0] else {
            panic!("{:?}", check.mismatches[0]);
        };
        assert_eq!(account.field, MismatchField::Key);
        assert!(check.mismatches[0].to_string().contains("field \"key\""));
        let root = check.mismatches[1].to_string();
        assert!(root.contains(&format!("differs from the file's root {false_hash}")), "{root}");
        assert!(root.ends_with("(field \"root\")"), "{root}");
    }

    #[test]
    fn a_genesis_state_root_claim_is_checked() {
        let false_hash = format!("0x{}", "22".repeat(32));
        let check = check(&format!(
            r#"{{"stateRoot": "{false_hash}", "alloc": {{"{ADDRESS}": {{"balance": "1"}}}}}}"#
        ));
        assert_eq!(check.mismatches.len(), 1);
        assert!(check.mismatches[0].to_string().ends_with("(field \"stateRoot\")"));
    }
}
