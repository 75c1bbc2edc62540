//! Why a configuration was rejected.

use std::{fmt, path::PathBuf};

/// Why a [`SnapSyncConfig`](crate::SnapSyncConfig) could not be read, written or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML, or not TOML of this configuration (wrong type, unknown field).
    #[error(transparent)]
    Toml(#[from] TomlError),
    /// The configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The configuration could not be written as TOML (a non-UTF-8 `etl.dir`).
    #[error("cannot write the configuration as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// A setting breaks a rule of [`validate`](crate::SnapSyncConfig::validate).
    #[error("{field} = {value} is invalid: {rule}")]
    Invalid {
        /// The setting, as written in TOML (`section.field`).
        field: &'static str,
        /// Its value.
        value: u64,
        /// The rule it breaks, with the bound it was checked against.
        rule: String,
    },
    /// `etl.dir` is set to the empty path.
    #[error("etl.dir is invalid: must not be empty (omit it for <datadir>/etl)")]
    EmptyEtlDir,
}

impl ConfigError {
    /// The setting a validation error names (`section.field`), if it is one.
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::EmptyEtlDir => Some("etl.dir"),
            Self::Toml(_) | Self::Read { .. } | Self::Serialize(_) => None,
        }
    }
}

/// Malformed TOML, or TOML that does not fit the configuration, with where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TomlError {
    /// 1-based line of the offending text, when the parser located it.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the offending text, when located.
    pub column: Option<usize>,
    /// What was wrong (for an unknown field: ``unknown field `name`, expected one of …``).
    pub message: String,
}

impl TomlError {
    /// The error of parsing `source`, located in it.
    pub(crate) fn new(error: &toml::de::Error, source: &str) -> Self {
        let message = error.message().trim_end().to_owned();
        let Some(span) = error.span() else {
            return Self { line: None, column: None, message };
        };
        // Spans are byte offsets; clamp to a char boundary within the text.
        let mut start = span.start.min(source.len());
        while !source.is_char_boundary(start) {
            start -= 1;
        }
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line: Some(line), column: Some(column), message }
    }
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "invalid TOML at line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "invalid TOML at line {line}: {}", self.message),
            _ => write!(f, "invalid TOML: {}", self.message),
        }
    }
}
