//! Stage identifiers.
//!
//! A stage's id names it in the pipeline's ordering, in every event and error, and is the key of
//! its checkpoint in the `StageCheckpoints` table. Renaming a stage therefore orphans its
//! checkpoint: ids are part of the on-disk format and must stay stable.

use std::{borrow::Cow, fmt};

/// The stable name of a stage; also the key of its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(Cow<'static, str>);

impl StageId {
    /// The headers stage.
    pub const HEADERS: Self = Self::new("Headers");
    /// The bodies stage.
    pub const BODIES: Self = Self::new("Bodies");
    /// The receipts stage.
    pub const RECEIPTS: Self = Self::new("Receipts");
    /// The execution stage.
    pub const EXECUTION: Self = Self::new("Execution");

    /// An id from a static name (usable in constants).
    pub const fn new(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// An id from a name built at run time (for example a numbered test stage).
    pub fn custom(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&'static str> for StageId {
    fn from(name: &'static str) -> Self {
        Self::new(name)
    }
}
