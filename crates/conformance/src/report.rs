//! [`Report`]: the outcome of every case.

/// What one case found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case's name.
    pub name: String,
    /// Every difference from the expectations and every failed verification; empty when the
    /// case passed.
    pub failures: Vec<String>,
}

impl CaseOutcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcomes of a run, in case order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One outcome per case.
    pub outcomes: Vec<CaseOutcome>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|outcome| outcome.passed()).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }

    /// One line per failed case: `FAIL <name>: <difference>; <difference>…`.
    pub fn failure_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.outcomes
            .iter()
            .filter(|outcome| !outcome.passed())
            .map(|outcome| format!("FAIL {}: {}", outcome.name, outcome.failures.join("; ")))
    }

    /// `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
}
