//! The in-memory sort buffer.
//!
//! Records are appended, in the [record format](crate::record), to chunks of at most
//! [`MAX_CHUNK`] bytes. Chunks never grow by reallocation, so the buffer never holds an old and a
//! new copy of its data at once. Sorting needs an index (one [`Entry`] per record); it is built
//! only when the buffer is sorted, with exactly one slot per record, and its bytes are reserved
//! from the budget as records arrive. So the accounted bytes, chunk capacities plus one index
//! entry per record, are what the buffer allocates at its largest, and they never exceed the
//! budget (one entry larger than the whole budget is held alone).

use crate::{
    Encode, EtlError,
    error::EntryPart,
    record::{RecordHeader, to_usize},
};
use std::cmp::Ordering;

/// Largest chunk of record bytes.
const MAX_CHUNK: usize = 1024 * 1024;

/// Smallest chunk, unless the budget leaves less.
const MIN_CHUNK: usize = 4 * 1024;

/// Bytes one index entry takes: the per-record overhead charged to the budget.
pub(crate) const ENTRY_BYTES: usize = size_of::<Entry>();

/// Where a record lives, with the first key bytes inline so most comparisons stay in the index.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The first 8 key bytes, big-endian, zero-padded.
    prefix: u64,
    /// Index of the chunk.
    chunk: u32,
    /// Offset of the key in the chunk.
    key_offset: u32,
    /// Key length.
    key_len: u32,
    /// Value length.
    value_len: u32,
}

/// Records in insertion order, sortable by key within a byte budget.
#[derive(Debug)]
pub(crate) struct SortBuffer {
    /// Most bytes the chunks and the (reserved) index may take.
    budget: usize,
    /// Capacity of a new chunk when the budget allows.
    chunk_size: usize,
    /// Record bytes; a chunk is never reallocated.
    chunks: Vec<Vec<u8>>,
    /// The chunk records are appended to; earlier chunks are closed.
    active: usize,
    /// Sum of the chunks' capacities.
    chunk_bytes: usize,
    /// Number of records.
    records: usize,
    /// The sort index; empty unless `sorted`.
    index: Vec<Entry>,
    /// Whether `index` covers every record, in key order.
    sorted: bool,
}

impl SortBuffer {
    /// An empty buffer that keeps its allocations within `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            chunk_size: (budget / 64).clamp(MIN_CHUNK, MAX_CHUNK),
            chunks: Vec::new(),
            active: 0,
            chunk_bytes: 0,
            records: 0,
            index: Vec::new(),
            sorted: true,
        }
    }

    /// Number of records held, duplicates included.
    pub(crate) fn len(&self) -> usize {
        self.records
    }

    /// Whether no record is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Bytes of the records held (headers, keys and values as encoded).
    pub(crate) fn record_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Bytes charged to the budget: chunk capacities plus one index entry per record.
    pub(crate) fn accounted_bytes(&self) -> usize {
        self.chunk_bytes.saturating_add(index_bytes(self.records))
    }

    /// Appends a record if it fits in the budget; `Ok(false)` leaves the buffer unchanged.
    ///
    /// # Errors
    ///
    /// [`EtlError::TooLarge`], [`EtlError::EncodedLenMismatch`] or [`EtlError::OutOfMemory`];
    /// the buffer is unchanged then too.
    pub(crate) fn try_push<K, V>(&mut self, key: &K, value: &V) -> Result<bool, EtlError>
    where
        K: Encode + ?Sized,
        V: Encode + ?Sized,
    {
        self.push(key, value, true)
    }

    /// Appends a record whatever the budget: for an entry larger than the whole budget, pushed
    /// into an empty buffer.
    ///
    /// # Errors
    ///
    /// As [`try_push`](Self::try_push).
    pub(crate) fn push_over_budget<K, V>(&mut self, key: &K, value: &V) -> Result<(), EtlError>
    where
        K: Encode + ?Sized,
        V: Encode + ?Sized,
    {
        if self.push(key, value, false)? {
            Ok(())
        } else {
            Err(EtlError::BufferInconsistent { chunk: self.active, offset: 0 })
        }
    }

    fn push<K, V>(&mut self, key: &K, value: &V, within_budget: bool) -> Result<bool, EtlError>
    where
        K: Encode + ?Sized,
        V: Encode + ?Sized,
    {
        let header = RecordHeader::new(key.encoded_len(), value.encoded_len())?;
        let Some(chunk) = self.chunk_with_room(header.record_len(), within_budget)? else {
            return Ok(false);
        };
        self.drop_index();
        if let Err(error) = append_record(&mut self.chunks[chunk], header, key, value) {
            // A misbehaving encoder may have grown the chunk past its capacity.
            self.chunk_bytes = self.chunks.iter().map(Vec::capacity).sum();
            return Err(error);
        }
        self.records += 1;
        Ok(true)
    }

    /// The chunk a record of `record_len` bytes goes to, allocating one if needed; `None` if
    /// `within_budget` and the record (with its index entry) would exceed the budget.
    fn chunk_with_room(
        &mut self,
        record_len: usize,
        within_budget: bool,
    ) -> Result<Option<usize>, EtlError> {
        let index_after = index_bytes(self.records.saturating_add(1));
        while let Some(chunk) = self.chunks.get(self.active) {
            if chunk.capacity() - chunk.len() >= record_len {
                let fits = self.chunk_bytes.saturating_add(index_after) <= self.budget;
                return Ok((fits || !within_budget).then_some(self.active));
            }
            self.active += 1;
        }
        let left = self.budget.saturating_sub(self.chunk_bytes.saturating_add(index_after));
        if within_budget && left < record_len {
            return Ok(None);
        }
        let capacity = self.new_chunk_capacity(record_len, left);
        let mut chunk = Vec::new();
        chunk
            .try_reserve_exact(capacity)
            .map_err(|_| EtlError::OutOfMemory { bytes: capacity, purpose: "sort buffer chunk" })?;
        self.chunk_bytes = self.chunk_bytes.saturating_add(chunk.capacity());
        self.chunks.push(chunk);
        self.active = self.chunks.len() - 1;
        Ok(Some(self.active))
    }

    /// Capacity of a new chunk for a record of `record_len` bytes when `left` budget bytes remain:
    /// the usual chunk size, or less near the end of the budget, leaving room for the index
    /// entries of the records (assumed of this size) that will fill it; never less than the record.
    fn new_chunk_capacity(&self, record_len: usize, left: usize) -> usize {
        let records_that_fit = left / record_len.saturating_add(ENTRY_BYTES);
        let data_share = records_that_fit.saturating_mul(record_len);
        self.chunk_size.min(data_share).max(record_len)
    }

    /// Forgets the sort index (a new record makes it stale) and frees its memory.
    fn drop_index(&mut self) {
        self.index = Vec::new();
        self.sorted = false;
    }

    /// Sorts the records by key (builds the index if a record arrived since the last sort) and
    /// returns them in key order, the newest of equal keys only.
    ///
    /// # Errors
    ///
    /// [`EtlError::OutOfMemory`] if the index cannot be allocated,
    /// [`EtlError::BufferInconsistent`] on a bug.
    pub(crate) fn sorted(&mut self) -> Result<SortedEntries<'_>, EtlError> {
        if !self.sorted {
            self.index = self.build_index()?;
            let chunks = &self.chunks;
            self.index.sort_unstable_by(|a, b| newest_first_by_key(chunks, a, b));
            self.sorted = true;
        }
        Ok(SortedEntries { chunks: &self.chunks, index: &self.index, position: 0 })
    }

    /// One entry per record, in insertion order.
    fn build_index(&self) -> Result<Vec<Entry>, EtlError> {
        let mut index = Vec::new();
        index.try_reserve_exact(self.records).map_err(|_| EtlError::OutOfMemory {
            bytes: index_bytes(self.records),
            purpose: "sort index",
        })?;
        for (chunk_number, chunk) in self.chunks.iter().enumerate() {
            index_chunk(chunk_number, chunk, &mut index)?;
        }
        if index.len() != self.records {
            return Err(EtlError::BufferInconsistent { chunk: self.chunks.len(), offset: 0 });
        }
        Ok(index)
    }

    /// Empties the buffer for the next run, keeping the regular chunks' memory for reuse and
    /// freeing any chunk made for an oversized entry.
    pub(crate) fn reset(&mut self) {
        let chunk_size = self.chunk_size;
        self.chunks.retain(|chunk| chunk.capacity() <= chunk_size);
        for chunk in &mut self.chunks {
            chunk.clear();
        }
        self.chunk_bytes = self.chunks.iter().map(Vec::capacity).sum();
        self.active = 0;
        self.records = 0;
        self.index = Vec::new();
        self.sorted = true;
    }

    /// Empties the buffer and frees all its memory.
    pub(crate) fn release(&mut self) {
        *self = Self::new(self.budget);
    }
}

/// Bytes the index takes for `records` records.
fn index_bytes(records: usize) -> usize {
    records.saturating_mul(ENTRY_BYTES)
}

/// Appends one record to `chunk`; on error, leaves `chunk` as it was.
fn append_record<K, V>(
    chunk: &mut Vec<u8>,
    header: RecordHeader,
    key: &K,
    value: &V,
) -> Result<(), EtlError>
where
    K: Encode + ?Sized,
    V: Encode + ?Sized,
{
    let start = chunk.len();
    chunk.extend_from_slice(header.encode().as_slice());
    let written = encode_part(chunk, EntryPart::Key, header.key_len, key)
        .and_then(|()| encode_part(chunk, EntryPart::Value, header.value_len, value));
    if written.is_err() {
        chunk.truncate(start);
    }
    written
}

/// Appends `part` to `chunk` and checks it wrote the announced `len` bytes.
fn encode_part<T: Encode + ?Sized>(
    chunk: &mut Vec<u8>,
    part: EntryPart,
    len: u32,
    value: &T,
) -> Result<(), EtlError> {
    let start = chunk.len();
    value.encode_to(chunk);
    let written = chunk.len() - start;
    if written == to_usize(len) {
        Ok(())
    } else {
        Err(EtlError::EncodedLenMismatch { part, declared: to_usize(len), written })
    }
}

/// Appends an entry for each record of `chunk` to `index`.
fn index_chunk(chunk_number: usize, chunk: &[u8], index: &mut Vec<Entry>) -> Result<(), EtlError> {
    let inconsistent = |offset| EtlError::BufferInconsistent { chunk: chunk_number, offset };
    let chunk_id = u32::try_from(chunk_number).map_err(|_| inconsistent(0))?;
    let mut offset = 0;
    while offset < chunk.len() {
        let (header, header_len) = chunk
            .get(offset..)
            .and_then(RecordHeader::decode_prefix)
            .ok_or(inconsistent(offset))?;
        let key_offset = offset + header_len;
        let key = chunk.get(key_offset..key_offset + to_usize(header.key_len));
        let key = key.ok_or(inconsistent(offset))?;
        index.push(Entry {
            prefix: key_prefix(key),
            chunk: chunk_id,
            key_offset: u32::try_from(key_offset).map_err(|_| inconsistent(offset))?,
            key_len: header.key_len,
            value_len: header.value_len,
        });
        offset += header.record_len();
    }
    if offset == chunk.len() { Ok(()) } else { Err(inconsistent(offset)) }
}

/// The first 8 bytes of `key`, zero-padded, as a big-endian number: comparing prefixes orders
/// keys as comparing the keys does, except that equal prefixes need the full keys.
fn key_prefix(key: &[u8]) -> u64 {
    let mut prefix = [0; 8];
    let len = key.len().min(8);
    prefix[..len].copy_from_slice(&key[..len]);
    u64::from_be_bytes(prefix)
}

/// The key and value bytes of `entry`; empty slices if it points outside the chunks (which
/// [`index_chunk`] rules out).
fn entry_parts<'a>(chunks: &'a [Vec<u8>], entry: &Entry) -> EntryBytes<'a> {
    let chunk = chunks.get(to_usize(entry.chunk)).map_or(&[][..], Vec::as_slice);
    let key_start = to_usize(entry.key_offset);
    let value_start = key_start + to_usize(entry.key_len);
    let value_end = value_start + to_usize(entry.value_len);
    (
        chunk.get(key_start..value_start).unwrap_or_default(),
        chunk.get(value_start..value_end).unwrap_or_default(),
    )
}

/// The key bytes of `entry`.
fn entry_key<'a>(chunks: &'a [Vec<u8>], entry: &Entry) -> &'a [u8] {
    entry_parts(chunks, entry).0
}

/// Key order; among equal keys the later insert first. Records are appended in (chunk, offset)
/// order, so that position is the insertion sequence number, and the order is total: an unstable
/// sort gives the stable result without a scratch allocation.
fn newest_first_by_key(chunks: &[Vec<u8>], a: &Entry, b: &Entry) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| entry_key(chunks, a).cmp(entry_key(chunks, b)))
        .then_with(|| (b.chunk, b.key_offset).cmp(&(a.chunk, a.key_offset)))
}

/// An entry's key and value bytes.
pub(crate) type EntryBytes<'a> = (&'a [u8], &'a [u8]);

/// The sorted records of a [`SortBuffer`], one per key: the last inserted.
#[derive(Debug)]
pub(crate) struct SortedEntries<'a> {
    chunks: &'a [Vec<u8>],
    index: &'a [Entry],
    position: usize,
}

impl<'a> Iterator for SortedEntries<'a> {
    type Item = EntryBytes<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.index.get(self.position)?;
        self.position += 1;
        let (key, value) = entry_parts(self.chunks, entry);
        while let Some(older) = self.index.get(self.position)
            && older.prefix == entry.prefix
            && entry_key(self.chunks, older) == key
        {
            self.position += 1;
        }
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_pairs(buffer: &mut SortBuffer) -> Vec<(Vec<u8>, Vec<u8>)> {
        buffer.sorted().unwrap().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }

    fn push(buffer: &mut SortBuffer, key: &[u8], value: &[u8]) -> bool {
        buffer.try_push(&key.to_vec(), &value.to_vec()).unwrap()
    }

    #[test]
    fn an_index_entry_costs_24_bytes() {
        // The figure the public docs quote.
        assert_eq!(ENTRY_BYTES, 24);
    }

    #[test]
    fn sorts_by_key_bytes_with_shorter_first() {
        let mut buffer = SortBuffer::new(1 << 20);
        for key in [&b"b"[..], b"ab", b"a", b"", b"abcdefghij", b"abcdefgh", b"abcdefgha"] {
            assert!(push(&mut buffer, key, key));
        }
        let keys: Vec<_> = sorted_pairs(&mut buffer).into_iter().map(|(k, _)| k).collect();
        let expected: Vec<&[u8]> =
            vec![b"", b"a", b"ab", b"abcdefgh", b"abcdefgha", b"abcdefghij", b"b"];
        assert_eq!(keys, expected);
    }

    #[test]
    fn last_insert_of_a_key_wins() {
        let mut buffer = SortBuffer::new(1 << 20);
        for (key, value) in [("k", "1"), ("j", "x"), ("k", "2"), ("k", "3"), ("j", "y")] {
            assert!(push(&mut buffer, key.as_bytes(), value.as_bytes()));
        }
        assert_eq!(buffer.len(), 5);
        let expected = vec![(b"j".to_vec(), b"y".to_vec()), (b"k".to_vec(), b"3".to_vec())];
        assert_eq!(sorted_pairs(&mut buffer), expected);
    }

    #[test]
    fn last_insert_wins_across_chunks() {
        // Tiny chunks: every record lands in a chunk after the previous one's.
        let mut buffer = SortBuffer::new(64 * 1024);
        let big = vec![0_u8; 3000];
        for round in 0..10_u8 {
            let mut value = big.clone();
            value[0] = round;
            assert!(push(&mut buffer, b"key", &value));
        }
        assert!(buffer.chunks.len() > 1);
        let pairs = sorted_pairs(&mut buffer);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].1[0], 9);
    }

    #[test]
    fn accounting_never_exceeds_the_budget() {
        let budget = 10_000;
        let mut buffer = SortBuffer::new(budget);
        let mut pushed = 0_u32;
        while push(&mut buffer, &pushed.to_be_bytes(), &[7; 50]) {
            pushed += 1;
            assert!(buffer.accounted_bytes() <= budget);
        }
        // Full: the records' bytes plus their index take most of the budget.
        let used = buffer.len() * (2 + 4 + 50 + ENTRY_BYTES);
        assert!(used * 10 >= budget * 8, "only {used} of {budget} bytes used");
        // Sorting allocates exactly the reserved index.
        assert_eq!(sorted_pairs(&mut buffer).len(), buffer.len());
        let allocated = buffer.chunk_bytes + buffer.index.capacity() * ENTRY_BYTES;
        assert_eq!(allocated, buffer.accounted_bytes());
    }

    #[test]
    fn oversized_entry_is_held_alone_and_freed_on_reset() {
        let mut buffer = SortBuffer::new(1000);
        let huge = vec![1_u8; 5000];
        assert!(!buffer.try_push(&b"k".to_vec(), &huge).unwrap());
        assert!(buffer.is_empty());
        buffer.push_over_budget(&b"k".to_vec(), &huge).unwrap();
        assert!(buffer.accounted_bytes() > 5000);
        assert_eq!(sorted_pairs(&mut buffer), vec![(b"k".to_vec(), huge)]);
        buffer.reset();
        assert_eq!(buffer.accounted_bytes(), 0);
    }

    #[test]
    fn reset_reuses_chunks_and_release_frees_them() {
        let mut buffer = SortBuffer::new(1 << 20);
        assert!(push(&mut buffer, b"a", b"1"));
        let chunk_bytes = buffer.chunk_bytes;
        buffer.reset();
        assert!(buffer.is_empty());
        assert_eq!(buffer.accounted_bytes(), chunk_bytes);
        assert!(push(&mut buffer, b"b", b"2"));
        assert_eq!(buffer.chunk_bytes, chunk_bytes);
        assert_eq!(sorted_pairs(&mut buffer), vec![(b"b".to_vec(), b"2".to_vec())]);
        buffer.release();
        assert_eq!(buffer.accounted_bytes(), 0);
    }

    #[test]
    fn push_after_sort_invalidates_the_index() {
        let mut buffer = SortBuffer::new(1 << 20);
        assert!(push(&mut buffer, b"b", b"1"));
        assert_eq!(sorted_pairs(&mut buffer).len(), 1);
        assert!(push(&mut buffer, b"a", b"2"));
        assert!(push(&mut buffer, b"b", b"3"));
        let expected = vec![(b"a".to_vec(), b"2".to_vec()), (b"b".to_vec(), b"3".to_vec())];
        assert_eq!(sorted_pairs(&mut buffer), expected);
    }

    struct Liar;

    impl Encode for Liar {
        fn encoded_len(&self) -> usize {
            2
        }

        fn encode_to(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&[1, 2, 3]);
        }
    }

    #[test]
    fn wrong_encoded_len_is_an_error_and_leaves_the_buffer_intact() {
        let mut buffer = SortBuffer::new(1 << 20);
        assert!(push(&mut buffer, b"a", b"1"));
        let error = buffer.try_push(&b"b".to_vec(), &Liar).unwrap_err();
        assert!(matches!(
            error,
            EtlError::EncodedLenMismatch { part: EntryPart::Value, declared: 2, written: 3 }
        ));
        assert_eq!(buffer.len(), 1);
        assert!(push(&mut buffer, b"c", b"3"));
        let keys: Vec<_> = sorted_pairs(&mut buffer).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
    }
}
