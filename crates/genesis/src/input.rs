//! Input files read with a size cap, so that no input (a huge file, `/dev/zero`, an endless
//! pipe) makes the reader allocate without bound.
//!
//! Every file snapsync reads from a user goes through here: state files, the conformance cases
//! and fixture files, the sync configuration. Past the cap a read fails with an
//! [`io::Error`] of kind [`io::ErrorKind::FileTooLarge`] whose inner error is an
//! [`InputTooLarge`] naming the cap; the callers' error types add the path.
//!
//! A regular file larger than the cap is refused from its size, before anything is read. Any
//! other file (a pipe, a character device such as `/dev/zero`) has no size to look at: it is
//! read into memory up to the cap first, so it fails as soon as the cap is passed, before a
//! parser sees any of it.

use std::{
    fmt,
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
};

/// The size cap of an input was passed: the inner error of the [`io::Error`] (of kind
/// [`io::ErrorKind::FileTooLarge`]) a capped read fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputTooLarge {
    /// The cap, in bytes.
    pub cap: u64,
}

impl fmt::Display for InputTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "larger than the size cap of {} bytes ({}) for this input",
            self.cap,
            size(self.cap)
        )
    }
}

impl std::error::Error for InputTooLarge {}

impl InputTooLarge {
    /// The [`io::Error`] a capped read fails with.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::FileTooLarge, self)
    }

    /// The cap `error` reports, if it is a capped read's failure.
    pub fn of(error: &io::Error) -> Option<Self> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<Self>()).copied()
    }
}

/// `bytes` in the largest binary unit that divides it, e.g. `16 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map_or_else(|| format!("{bytes} B"), |(unit, name)| format!("{} {name}", bytes / unit))
}

/// An open input that fails, instead of growing, past its cap. Buffered: read it in pieces.
#[derive(Debug)]
pub struct CappedInput {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A regular file no larger than the cap when opened, read through a cap (it may grow).
    File(Capped<BufReader<File>>),
    /// Another kind of file, read into memory up to the cap when opened.
    Buffered(io::Cursor<Vec<u8>>),
}

impl CappedInput {
    /// Opens `path`, refusing it at once if it is a regular file larger than `cap` bytes, and
    /// reading any other kind of file (pipe, device) into memory up to `cap` bytes.
    ///
    /// # Errors
    /// The system's error when the file cannot be opened or read; past the cap, an error of
    /// kind [`io::ErrorKind::FileTooLarge`] carrying [`InputTooLarge`].
    pub fn open(path: &Path, cap: u64) -> io::Result<Self> {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        if metadata.is_file() {
            if metadata.len() > cap {
                return Err(InputTooLarge { cap }.into_io());
            }
            let reader = BufReader::with_capacity(1 << 16, file);
            return Ok(Self { source: Source::File(Capped::new(reader, cap)) });
        }
        let bytes = read_to_cap(file, cap)?;
        Ok(Self { source: Source::Buffered(io::Cursor::new(bytes)) })
    }
}

impl Read for CappedInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::File(file) => file.read(buf),
            Source::Buffered(bytes) => bytes.read(buf),
        }
    }
}

/// The whole file at `path`, if it is at most `cap` bytes.
///
/// # Errors
/// As [`CappedInput::open`].
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    CappedInput::open(path, cap)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The whole file at `path` as UTF-8 text, if it is at most `cap` bytes.
///
/// # Errors
/// As [`read_capped`]; an error of kind [`io::ErrorKind::InvalidData`] when it is not UTF-8.
pub fn read_capped_string(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap)?).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text: {}", error.utf8_error()),
        )
    })
}

/// Everything `reader` yields, if that is at most `cap` bytes.
fn read_to_cap(reader: impl Read, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    Capped::new(reader, cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A reader that fails once more than `cap` bytes were read from it.
#[derive(Debug)]
struct Capped<R> {
    inner: R,
    cap: u64,
    remaining: u64,
}

impl<R: Read> Capped<R> {
    const fn new(inner: R, cap: u64) -> Self {
        Self { inner, cap, remaining: cap }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            // At the cap: the input must end here.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(InputTooLarge { cap: self.cap }.into_io()),
            };
        }
        let allowed = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        let read = self.inner.read(&mut buf[..allowed])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn a_file_at_the_cap_is_read_whole() {
        let file = file_of(b"0123456789");
        assert_eq!(read_capped(file.path(), 10).unwrap(), b"0123456789");
        assert_eq!(read_capped_string(file.path(), 64).unwrap(), "0123456789");
    }

    #[test]
    fn a_regular_file_past_the_cap_is_refused_by_its_size() {
        let file = file_of(b"0123456789");
        let error = read_capped(file.path(), 9).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(InputTooLarge::of(&error), Some(InputTooLarge { cap: 9 }));
        assert_eq!(error.to_string(), "larger than the size cap of 9 bytes (9 B) for this input");
    }

    #[test]
    fn an_endless_stream_fails_at_the_cap() {
        let endless = io::repeat(0);
        let error = read_to_cap(endless, 1 << 20).unwrap_err();
        assert_eq!(InputTooLarge::of(&error), Some(InputTooLarge { cap: 1 << 20 }));
        assert!(error.to_string().contains("1048576 bytes (1 MiB)"), "{error}");
    }

    #[test]
    fn a_stream_ending_at_the_cap_is_whole() {
        assert_eq!(read_to_cap(&b"abc"[..], 3).unwrap(), b"abc");
        assert!(read_to_cap(&b"abcd"[..], 3).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_fails_fast_at_the_cap() {
        let started = std::time::Instant::now();
        let error = CappedInput::open(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(InputTooLarge::of(&error), Some(InputTooLarge { cap: 1 << 20 }));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn invalid_utf8_is_named() {
        let file = file_of(&[0xff, 0xfe]);
        let error = read_capped_string(file.path(), 64).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().starts_with("not UTF-8 text"), "{error}");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(256 << 20), "256 MiB");
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(1000), "1000 B");
    }
}
