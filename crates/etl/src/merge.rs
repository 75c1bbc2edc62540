//! The k-way merge of sorted sources into one sorted, deduplicated stream.
//!
//! Sources are ordered oldest first. The heap holds one record per source, ordered by key and,
//! for equal keys, newest source first; of the records sharing a key, the newest is yielded and
//! the others are skipped. Every source is itself strictly increasing (runs are deduplicated when
//! written, the buffer when read), so a key appears at most once per source.

use crate::{
    EtlError,
    buffer::{EntryBytes, SortedEntries},
    run::RunReader,
};
use std::{cmp::Ordering, collections::BinaryHeap};

/// One sorted input of the merge.
#[derive(Debug)]
pub(crate) enum Source<'a> {
    /// The in-memory buffer's records.
    Memory(SortedEntries<'a>),
    /// A run file.
    Run(RunReader),
}

impl Source<'_> {
    /// Reads the source's next record into `key` and `value`; `Ok(false)` when it is exhausted.
    fn read_into(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, EtlError> {
        match self {
            Self::Memory(entries) => Ok(entries.next().is_some_and(|(next_key, next_value)| {
                overwrite(key, next_key);
                overwrite(value, next_value);
                true
            })),
            Self::Run(reader) => reader.read_into(key, value),
        }
    }
}

/// Replaces the contents of `buffer` with `bytes`, reusing its allocation.
fn overwrite(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.clear();
    buffer.extend_from_slice(bytes);
}

/// A source's current record.
#[derive(Debug)]
struct Head {
    key: Vec<u8>,
    value: Vec<u8>,
    /// Index of the source: higher is newer.
    source: usize,
}

/// `BinaryHeap` pops the greatest: the smallest key, and of equal keys the newest source.
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key).then_with(|| self.source.cmp(&other.source))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

/// Merges sorted sources; a lending iterator over `(key, value)` byte slices.
#[derive(Debug)]
pub(crate) struct Merger<'a> {
    sources: Vec<Source<'a>>,
    heap: BinaryHeap<Head>,
    /// The record last returned by [`advance`](Self::advance); its source is read on the next.
    current: Option<Head>,
    /// A lone in-memory source (nothing spilled), read in place: no heap, no copy.
    direct: Option<SortedEntries<'a>>,
}

impl<'a> Merger<'a> {
    /// A merge of `sources`, oldest first, each strictly increasing by key.
    ///
    /// # Errors
    ///
    /// What reading each source's first record returns.
    pub(crate) fn new(mut sources: Vec<Source<'a>>) -> Result<Self, EtlError> {
        if let [Source::Memory(_)] = sources.as_slice()
            && let Some(Source::Memory(entries)) = sources.pop()
        {
            let heap = BinaryHeap::new();
            return Ok(Self { sources, heap, current: None, direct: Some(entries) });
        }
        let mut merger = Self {
            heap: BinaryHeap::with_capacity(sources.len()),
            sources,
            current: None,
            direct: None,
        };
        for source in 0..merger.sources.len() {
            merger.refill(Head { key: Vec::new(), value: Vec::new(), source })?;
        }
        Ok(merger)
    }

    /// The next record in key order, the newest source's for a key held by several; `None` when
    /// every source is exhausted.
    ///
    /// # Errors
    ///
    /// What reading a source returns.
    pub(crate) fn advance(&mut self) -> Result<Option<EntryBytes<'_>>, EtlError> {
        if let Some(entries) = &mut self.direct {
            // One source: already sorted and one record per key.
            return Ok(entries.next());
        }
        if let Some(previous) = self.current.take() {
            self.refill(previous)?;
        }
        let Some(newest) = self.heap.pop() else {
            return Ok(None);
        };
        while let Some(older) = pop_if_key(&mut self.heap, &newest.key) {
            self.refill(older)?;
        }
        let current = self.current.insert(newest);
        Ok(Some((&current.key, &current.value)))
    }

    /// Reads the next record of `head`'s source into `head` (reusing its buffers) and puts it on
    /// the heap, unless the source is exhausted.
    fn refill(&mut self, mut head: Head) -> Result<(), EtlError> {
        let Some(source) = self.sources.get_mut(head.source) else {
            return Ok(());
        };
        if source.read_into(&mut head.key, &mut head.value)? {
            self.heap.push(head);
        }
        Ok(())
    }
}

/// Pops the top of `heap` if it has `key`.
fn pop_if_key(heap: &mut BinaryHeap<Head>, key: &[u8]) -> Option<Head> {
    if heap.peek()?.key == key { heap.pop() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        buffer::SortBuffer,
        run::{Run, write_run},
    };

    fn run(dir: &std::path::Path, name: &str, pairs: &[(&str, &str)]) -> Run {
        write_run(&dir.join(name), 32, |writer| {
            pairs.iter().try_for_each(|(k, v)| writer.write(k.as_bytes(), v.as_bytes()))
        })
        .unwrap()
    }

    fn merged(sources: Vec<Source<'_>>) -> Vec<(String, String)> {
        let mut merger = Merger::new(sources).unwrap();
        let mut out = Vec::new();
        while let Some((key, value)) = merger.advance().unwrap() {
            out.push((String::from_utf8_lossy(key).into(), String::from_utf8_lossy(value).into()));
        }
        out
    }

    #[test]
    fn newest_source_wins_and_order_is_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let old = run(dir.path(), "old", &[("a", "old"), ("c", "old"), ("e", "old")]);
        let mid = run(dir.path(), "mid", &[("b", "mid"), ("c", "mid"), ("d", "mid")]);
        let mut buffer = SortBuffer::new(1 << 16);
        for (k, v) in [("c", "memory"), ("d", "memory"), ("f", "memory")] {
            assert!(buffer.try_push(&k.as_bytes().to_vec(), &v.as_bytes().to_vec()).unwrap());
        }
        let sources = vec![
            Source::Run(RunReader::open(&old, 8).unwrap()),
            Source::Run(RunReader::open(&mid, 8).unwrap()),
            Source::Memory(buffer.sorted().unwrap()),
        ];
        let expected = [
            ("a", "old"),
            ("b", "mid"),
            ("c", "memory"),
            ("d", "memory"),
            ("e", "old"),
            ("f", "memory"),
        ];
        let expected: Vec<_> =
            expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(merged(sources), expected);
    }

    #[test]
    fn a_lone_buffer_is_read_in_place_one_record_per_key() {
        let mut buffer = SortBuffer::new(1 << 16);
        for (k, v) in [("b", "1"), ("a", "2"), ("b", "3")] {
            assert!(buffer.try_push(&k.as_bytes().to_vec(), &v.as_bytes().to_vec()).unwrap());
        }
        let expected = vec![("a".to_owned(), "2".to_owned()), ("b".to_owned(), "3".to_owned())];
        assert_eq!(merged(vec![Source::Memory(buffer.sorted().unwrap())]), expected);
    }

    #[test]
    fn no_sources_is_an_empty_stream() {
        assert!(merged(Vec::new()).is_empty());
    }
}
