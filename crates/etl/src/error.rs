//! Errors of the collector, each carrying the facts needed to act on it: the file and the operation
//! for I/O, the record and the reason for a corrupt run, the sizes for encoding problems.

use std::{fmt, io, path::PathBuf};

/// Why a [`Collector`](crate::Collector) operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    /// A file system operation on a run file or on the run directory failed.
    #[error("cannot {operation} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        operation: IoOperation,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A run file does not hold what was written to it (the disk or another process changed it).
    #[error("corrupt run file {}, record {record} of {records}: {reason}", .path.display())]
    CorruptRun {
        /// The run file.
        path: PathBuf,
        /// Zero-based index of the record being read.
        record: u64,
        /// Number of records written to the file.
        records: u64,
        /// What is wrong.
        reason: Corruption,
    },
    /// A merged key or value could not be decoded into its type.
    #[error("cannot decode a merged {part} of {len} bytes: {source}")]
    Decode {
        /// Whether the key or the value failed.
        part: EntryPart,
        /// Length of the encoded bytes.
        len: usize,
        /// The decoder's reason.
        #[source]
        source: DecodeError,
    },
    /// An [`Encode`](crate::Encode) implementation wrote a different number of bytes than its
    /// `encoded_len` announced; the entry was not inserted.
    #[error("{part} encoding announced {declared} bytes but wrote {written}")]
    EncodedLenMismatch {
        /// Whether the key or the value misbehaved.
        part: EntryPart,
        /// What `encoded_len` returned.
        declared: usize,
        /// What `encode_to` appended.
        written: usize,
    },
    /// A key or value is longer than a record can describe.
    #[error("{part} of {len} bytes is longer than the {max}-byte limit of a record")]
    TooLarge {
        /// Whether the key or the value is too long.
        part: EntryPart,
        /// Its encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The allocator refused memory the collector needed.
    #[error("cannot allocate {bytes} bytes for the {purpose}")]
    OutOfMemory {
        /// Size of the refused allocation.
        bytes: usize,
        /// What it was for.
        purpose: &'static str,
    },
    /// The in-memory buffer does not hold what was written to it. This is a bug in this crate, not
    /// a problem with the input.
    #[error("sort buffer is inconsistent at chunk {chunk}, byte {offset} (a bug in snapsync-etl)")]
    BufferInconsistent {
        /// Index of the chunk.
        chunk: usize,
        /// Byte offset inside the chunk.
        offset: usize,
    },
}

/// The file system operation an [`EtlError::Io`] failed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOperation {
    /// Creating the collector's private run directory inside the configured directory.
    CreateDir,
    /// Creating a run file.
    CreateFile,
    /// Writing (or flushing) a run file.
    Write,
    /// Opening a run file for the merge.
    Open,
    /// Reading a run file.
    Read,
    /// Removing a run file that was merged into a larger one.
    RemoveFile,
    /// Removing the run directory.
    RemoveDir,
    /// Listing the configured directory for stale run directories.
    ReadDir,
    /// Opening or locking a run directory's lock file.
    Lock,
    /// Giving a newly made run directory its name.
    Rename,
}

impl fmt::Display for IoOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreateDir => "create a run directory in",
            Self::CreateFile => "create run file",
            Self::Write => "write run file",
            Self::Open => "open run file",
            Self::Read => "read run file",
            Self::RemoveFile => "remove run file",
            Self::RemoveDir => "remove run directory",
            Self::ReadDir => "list run directories in",
            Self::Lock => "lock",
            Self::Rename => "name run directory",
        })
    }
}

/// What is wrong with a corrupt run file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file ends before the record does.
    #[error("the file ends inside the record")]
    Truncated,
    /// A length field is not a LEB128 varint that fits in a `u32`.
    #[error("a length field is not a valid u32 varint")]
    BadLength,
    /// A length field is larger than any written to this file.
    #[error("{part} length {len} exceeds the longest written to this file ({max})")]
    LengthTooLarge {
        /// Whether the key or the value length is wrong.
        part: EntryPart,
        /// The length read.
        len: u32,
        /// The longest written.
        max: u32,
    },
    /// A key is not greater than the key before it, so the file is not a sorted run.
    #[error("the key is not greater than the key before it")]
    Unsorted,
    /// Bytes follow the last record.
    #[error("bytes follow the last record")]
    TrailingBytes,
}

/// Which half of an entry an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPart {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl fmt::Display for EntryPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Key => "key",
            Self::Value => "value",
        })
    }
}

/// Why bytes could not be decoded into a key or value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The type has a fixed size and the bytes have another.
    #[error("{type_name} needs {expected} bytes, got {actual}")]
    Length {
        /// The type being decoded.
        type_name: &'static str,
        /// Its encoded size.
        expected: usize,
        /// The number of bytes given.
        actual: usize,
    },
    /// The bytes have the right size but are not a valid encoding of the type.
    #[error("invalid {type_name}: {reason}")]
    Invalid {
        /// The type being decoded.
        type_name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl EtlError {
    /// An [`EtlError::Io`] for `operation` on `path`.
    pub(crate) fn io(operation: IoOperation, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io { operation, path: path.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_operation_and_path() {
        let error = EtlError::io(
            IoOperation::CreateFile,
            "/tmp/etl/run-000001",
            io::Error::from(io::ErrorKind::NotFound),
        );
        let message = error.to_string();
        assert!(message.starts_with("cannot create run file /tmp/etl/run-000001: "), "{message}");
    }

    #[test]
    fn corrupt_run_names_record_and_reason() {
        let error = EtlError::CorruptRun {
            path: "/tmp/run".into(),
            record: 3,
            records: 10,
            reason: Corruption::LengthTooLarge { part: EntryPart::Value, len: 900, max: 100 },
        };
        assert_eq!(
            error.to_string(),
            "corrupt run file /tmp/run, record 3 of 10: value length 900 exceeds the longest \
             written to this file (100)"
        );
    }
}
