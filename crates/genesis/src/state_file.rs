//! Either format, detected from the file's content.

use crate::{
    CappedInput, GenesisError, GenesisState, StateDump, StateRootReport, reader::read_state_file,
};
use std::{fmt, io, path::Path};

/// The two formats a state file comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A genesis file: a top-level `alloc` object (geth or reth style).
    Genesis,
    /// A geth state dump: a top-level `accounts` object.
    Dump,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Genesis => "genesis file",
            Self::Dump => "state dump",
        })
    }
}

/// A genesis file or a state dump, whichever the input is.
///
/// The format is detected from the top-level object: `alloc` makes a genesis file, `accounts` a
/// state dump; having both or neither is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateFile {
    /// A genesis file.
    Genesis(GenesisState),
    /// A state dump.
    Dump(StateDump),
}

impl StateFile {
    /// Reads a state file held in memory.
    ///
    /// # Errors
    /// [`GenesisError::Json`] for invalid JSON; for valid JSON that is not a genesis file or
    /// dump, the variant naming the top-level problem, or the account and field at fault.
    pub fn from_slice(json: &[u8]) -> Result<Self, GenesisError> {
        read_state_file(serde_json::de::SliceRead::new(json))
    }

    /// Reads a state file from a reader, without holding its text in memory. Buffer the reader:
    /// it is read in small pieces.
    ///
    /// # Errors
    /// As [`StateFile::from_slice`]; a read failure is a [`GenesisError::Json`] whose
    /// [`serde_json::Error::is_io`] is true.
    pub fn from_reader<R: io::Read>(reader: R) -> Result<Self, GenesisError> {
        read_state_file(serde_json::de::IoRead::new(reader))
    }

    /// Largest state file [`load`](Self::load) reads: 256 MiB, about 800,000 dump accounts or
    /// several times the largest public genesis file. The state read is held in memory (and,
    /// by `snapsync sync`, served from memory), so a bound on the file bounds that memory.
    pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

    /// Reads a state file from disk, refusing one larger than
    /// [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES).
    ///
    /// # Errors
    /// [`GenesisError::Io`] when the file cannot be opened or read, or is larger than the cap
    /// (its source then carries an [`InputTooLarge`](crate::InputTooLarge)); otherwise as
    /// [`StateFile::from_slice`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GenesisError> {
        Self::load_capped(path.as_ref(), Self::MAX_FILE_BYTES)
    }

    /// Reads a state file from disk, refusing one larger than `cap` bytes (see
    /// [`CappedInput`]).
    ///
    /// # Errors
    /// As [`StateFile::load`].
    pub fn load_capped(path: &Path, cap: u64) -> Result<Self, GenesisError> {
        let io_error = |source| GenesisError::Io { path: path.to_owned(), source };
        let input = CappedInput::open(path, cap).map_err(io_error)?;
        match Self::from_reader(input) {
            Err(GenesisError::Json(json)) if json.is_io() => Err(io_error(json.into())),
            result => result,
        }
    }

    /// The file's format.
    pub const fn format(&self) -> Format {
        match self {
            Self::Genesis(_) => Format::Genesis,
            Self::Dump(_) => Format::Dump,
        }
    }

    /// Computes the state root; see [`GenesisState::state_root`] and [`StateDump::state_root`].
    ///
    /// # Errors
    /// As those.
    pub fn state_root(&self) -> Result<StateRootReport, GenesisError> {
        match self {
            Self::Genesis(genesis) => genesis.state_root(),
            Self::Dump(dump) => dump.state_root(),
        }
    }
}
