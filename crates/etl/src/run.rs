//! Run files: sorted, deduplicated records spilled from the buffer (or merged from other runs),
//! written through a [`BufWriter`] and read back through a [`BufReader`].

use crate::{
    EtlError,
    error::{Corruption, EntryPart, IoOperation},
    record::{RecordHeader, read_varint, to_usize},
};
use std::{
    fs::{self, File},
    io::{self, BufRead, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

/// A finished run file and what was written to it, kept in memory to check the file on reading.
#[derive(Debug)]
pub(crate) struct Run {
    /// The file.
    path: PathBuf,
    /// Number of records.
    records: u64,
    /// Longest key written.
    max_key_len: u32,
    /// Longest value written.
    max_value_len: u32,
    /// Bytes written.
    bytes: u64,
}

impl Run {
    /// The run's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Number of records in the file.
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Size of the file in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Creates a run file at `path`, lets `fill` write its records in key order, and finishes it.
/// On error the partial file is removed (best effort: the error reported is the first one).
///
/// # Errors
///
/// [`EtlError::Io`] if the file cannot be created or written, or whatever `fill` returns.
pub(crate) fn write_run(
    path: &Path,
    buffer_size: usize,
    fill: impl FnOnce(&mut RunWriter) -> Result<(), EtlError>,
) -> Result<Run, EtlError> {
    let mut writer = RunWriter::create(path.to_path_buf(), buffer_size)?;
    let run = fill(&mut writer).and_then(|()| writer.finish());
    if run.is_err() {
        // The write error is what matters; a leftover file goes with the run directory.
        let _ = fs::remove_file(path);
    }
    run
}

/// Writes records to a new run file.
#[derive(Debug)]
pub(crate) struct RunWriter {
    path: PathBuf,
    writer: BufWriter<File>,
    records: u64,
    max_key_len: u32,
    max_value_len: u32,
    bytes: u64,
}

impl RunWriter {
    fn create(path: PathBuf, buffer_size: usize) -> Result<Self, EtlError> {
        let file = File::create_new(&path)
            .map_err(|source| EtlError::io(IoOperation::CreateFile, &path, source))?;
        Ok(Self {
            path,
            writer: BufWriter::with_capacity(buffer_size, file),
            records: 0,
            max_key_len: 0,
            max_value_len: 0,
            bytes: 0,
        })
    }

    /// Appends a record; keys must come in strictly increasing order.
    ///
    /// # Errors
    ///
    /// [`EtlError::Io`] if writing fails, [`EtlError::TooLarge`] for a part longer than a record
    /// allows.
    pub(crate) fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), EtlError> {
        let header = RecordHeader::new(key.len(), value.len())?;
        self.write_all(header.encode().as_slice())?;
        self.write_all(key)?;
        self.write_all(value)?;
        self.records += 1;
        self.max_key_len = self.max_key_len.max(header.key_len);
        self.max_value_len = self.max_value_len.max(header.value_len);
        self.bytes += u64::try_from(header.record_len()).unwrap_or(u64::MAX);
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), EtlError> {
        self.writer
            .write_all(bytes)
            .map_err(|source| EtlError::io(IoOperation::Write, &self.path, source))
    }

    /// Flushes and closes the file.
    fn finish(mut self) -> Result<Run, EtlError> {
        self.writer
            .flush()
            .map_err(|source| EtlError::io(IoOperation::Write, &self.path, source))?;
        Ok(Run {
            path: self.path,
            records: self.records,
            max_key_len: self.max_key_len,
            max_value_len: self.max_value_len,
            bytes: self.bytes,
        })
    }
}

/// Reads a run file's records in order, checking them against what was written: lengths no
/// longer than the longest written, keys strictly increasing, the record count exact.
#[derive(Debug)]
pub(crate) struct RunReader {
    path: PathBuf,
    reader: BufReader<File>,
    records: u64,
    read: u64,
    max_key_len: u32,
    max_value_len: u32,
    last_key: Vec<u8>,
}

impl RunReader {
    /// Opens `run` with a read buffer of `buffer_size` bytes.
    ///
    /// # Errors
    ///
    /// [`EtlError::Io`] if the file cannot be opened.
    pub(crate) fn open(run: &Run, buffer_size: usize) -> Result<Self, EtlError> {
        let file = File::open(&run.path)
            .map_err(|source| EtlError::io(IoOperation::Open, &run.path, source))?;
        Ok(Self {
            path: run.path.clone(),
            reader: BufReader::with_capacity(buffer_size, file),
            records: run.records,
            read: 0,
            max_key_len: run.max_key_len,
            max_value_len: run.max_value_len,
            last_key: Vec::new(),
        })
    }

    /// Reads the next record into `key` and `value`; `Ok(false)` after the last one.
    ///
    /// # Errors
    ///
    /// [`EtlError::Io`] if reading fails, [`EtlError::CorruptRun`] if the file does not hold what
    /// was written.
    pub(crate) fn read_into(
        &mut self,
        key: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Result<bool, EtlError> {
        if self.read == self.records {
            self.expect_end()?;
            return Ok(false);
        }
        let key_len = self.read_len(EntryPart::Key, self.max_key_len)?;
        let value_len = self.read_len(EntryPart::Value, self.max_value_len)?;
        self.read_exact_into(key, key_len)?;
        self.read_exact_into(value, value_len)?;
        if self.read > 0 && key.as_slice() <= self.last_key.as_slice() {
            return Err(self.corrupt(Corruption::Unsorted));
        }
        self.last_key.clone_from(key);
        self.read += 1;
        Ok(true)
    }

    /// Reads a length field and checks it against the longest written.
    fn read_len(&mut self, part: EntryPart, max: u32) -> Result<u32, EtlError> {
        let len = read_varint(&mut self.reader)
            .map_err(|error| self.read_error(error))?
            .ok_or_else(|| self.corrupt(Corruption::BadLength))?;
        if len > max {
            return Err(self.corrupt(Corruption::LengthTooLarge { part, len, max }));
        }
        Ok(len)
    }

    /// Replaces the contents of `buffer` with the next `len` bytes.
    fn read_exact_into(&mut self, buffer: &mut Vec<u8>, len: u32) -> Result<(), EtlError> {
        buffer.clear();
        buffer.resize(to_usize(len), 0);
        self.reader.read_exact(buffer).map_err(|error| self.read_error(error))
    }

    /// Checks that nothing follows the last record.
    fn expect_end(&mut self) -> Result<(), EtlError> {
        let at_end = match self.reader.fill_buf() {
            Ok(rest) => rest.is_empty(),
            Err(error) => return Err(self.read_error(error)),
        };
        if at_end { Ok(()) } else { Err(self.corrupt(Corruption::TrailingBytes)) }
    }

    /// A read error: the end of the file inside a record is corruption, the rest is I/O.
    fn read_error(&self, error: io::Error) -> EtlError {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            self.corrupt(Corruption::Truncated)
        } else {
            EtlError::io(IoOperation::Read, &self.path, error)
        }
    }

    fn corrupt(&self, reason: Corruption) -> EtlError {
        EtlError::CorruptRun {
            path: self.path.clone(),
            record: self.read,
            records: self.records,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    fn sample() -> Pairs {
        (0..100_u32).map(|i| (i.to_be_bytes().to_vec(), vec![0xaa; (i % 7) as usize])).collect()
    }

    fn write(dir: &Path, pairs: &Pairs) -> Run {
        write_run(&dir.join("run"), 64, |writer| {
            pairs.iter().try_for_each(|(key, value)| writer.write(key, value))
        })
        .unwrap()
    }

    fn read_all(run: &Run) -> Result<Pairs, EtlError> {
        let mut reader = RunReader::open(run, 16)?;
        let mut pairs = Vec::new();
        let (mut key, mut value) = (Vec::new(), Vec::new());
        while reader.read_into(&mut key, &mut value)? {
            pairs.push((key.clone(), value.clone()));
        }
        Ok(pairs)
    }

    fn corruption(result: Result<Pairs, EtlError>) -> (u64, Corruption) {
        match result {
            Err(EtlError::CorruptRun { record, reason, .. }) => (record, reason),
            other => panic!("expected a corrupt run, got {other:?}"),
        }
    }

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = sample();
        let run = write(dir.path(), &pairs);
        assert_eq!(run.records(), 100);
        assert_eq!(run.bytes(), fs::metadata(run.path()).unwrap().len());
        assert_eq!(read_all(&run).unwrap(), pairs);
    }

    #[test]
    fn truncated_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        let bytes = fs::read(run.path()).unwrap();
        fs::write(run.path(), &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(corruption(read_all(&run)), (99, Corruption::Truncated));
    }

    #[test]
    fn trailing_bytes_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        let mut bytes = fs::read(run.path()).unwrap();
        bytes.push(0);
        fs::write(run.path(), &bytes).unwrap();
        assert_eq!(corruption(read_all(&run)), (100, Corruption::TrailingBytes));
    }

    #[test]
    fn length_beyond_the_longest_written_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        let mut bytes = fs::read(run.path()).unwrap();
        bytes[1] = 100; // value length of record 0
        fs::write(run.path(), &bytes).unwrap();
        let expected = Corruption::LengthTooLarge { part: EntryPart::Value, len: 100, max: 6 };
        assert_eq!(corruption(read_all(&run)), (0, expected));
    }

    #[test]
    fn invalid_varint_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        let mut bytes = fs::read(run.path()).unwrap();
        bytes[..5].copy_from_slice(&[0xff; 5]);
        fs::write(run.path(), &bytes).unwrap();
        assert_eq!(corruption(read_all(&run)), (0, Corruption::BadLength));
    }

    #[test]
    fn keys_out_of_order_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        let mut bytes = fs::read(run.path()).unwrap();
        bytes[2..6].copy_from_slice(&[0xff; 4]); // key of record 0 becomes the largest
        fs::write(run.path(), &bytes).unwrap();
        assert_eq!(corruption(read_all(&run)), (1, Corruption::Unsorted));
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), &sample());
        fs::remove_file(run.path()).unwrap();
        let error = read_all(&run).unwrap_err();
        assert!(
            matches!(&error, EtlError::Io { operation: IoOperation::Open, path, .. } if path == run.path()),
            "{error:?}"
        );
    }

    #[test]
    fn failed_write_removes_the_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run");
        let result = write_run(&path, 64, |writer| {
            writer.write(b"a", b"1")?;
            Err(EtlError::BufferInconsistent { chunk: 0, offset: 0 })
        });
        assert!(result.is_err());
        assert!(!path.exists());
    }
}
