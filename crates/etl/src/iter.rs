//! The typed stream over a merge.

use crate::{Decode, EtlError, error::EntryPart, merge::Merger};
use std::{fmt, iter::FusedIterator, marker::PhantomData};

/// The entries of a [`Collector`](crate::Collector) in encoded-key order, one per key, from
/// [`Collector::iter`](crate::Collector::iter).
///
/// Yields `Err` for a run file that cannot be read or is corrupt, or for bytes that do not decode;
/// after an error the stream ends.
pub struct Iter<'a, K, V> {
    merger: Merger<'a>,
    finished: bool,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<'a, K, V> Iter<'a, K, V> {
    pub(crate) fn new(merger: Merger<'a>) -> Self {
        Self { merger, finished: false, _types: PhantomData }
    }
}

/// An entry's encoded key and value, borrowed from the stream.
pub type RawEntry<'a> = (&'a [u8], &'a [u8]);

impl<K, V> Iter<'_, K, V> {
    /// The next entry's encoded key and value, not decoded (nothing is allocated), `None` at the
    /// end: for writers that store the bytes as they are. Mixing it with [`Iterator::next`]
    /// continues the same stream.
    ///
    /// # Errors
    /// As the iterator's items; after an error the stream ends.
    pub fn next_raw(&mut self) -> Result<Option<RawEntry<'_>>, EtlError> {
        if self.finished {
            return Ok(None);
        }
        let entry = self.merger.advance();
        self.finished = !matches!(entry, Ok(Some(_)));
        entry
    }
}

impl<K: Decode, V: Decode> Iter<'_, K, V> {
    fn next_entry(&mut self) -> Option<Result<(K, V), EtlError>> {
        match self.merger.advance() {
            Ok(Some((key, value))) => Some(decode_entry(key, value)),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

impl<K: Decode, V: Decode> Iterator for Iter<'_, K, V> {
    type Item = Result<(K, V), EtlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let entry = self.next_entry();
        self.finished = !matches!(entry, Some(Ok(_)));
        entry
    }
}

impl<K: Decode, V: Decode> FusedIterator for Iter<'_, K, V> {}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("finished", &self.finished).finish_non_exhaustive()
    }
}

fn decode_entry<K: Decode, V: Decode>(key: &[u8], value: &[u8]) -> Result<(K, V), EtlError> {
    Ok((decode_part(EntryPart::Key, key)?, decode_part(EntryPart::Value, value)?))
}

fn decode_part<T: Decode>(part: EntryPart, bytes: &[u8]) -> Result<T, EtlError> {
    T::decode(bytes).map_err(|source| EtlError::Decode { part, len: bytes.len(), source })
}
