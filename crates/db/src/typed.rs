//! Typed transactions: the API the rest of the workspace uses.
//!
//! [`ReadView`] (a snapshot) and [`WriteTxn`] (a write transaction) both implement [`TableRead`],
//! whose methods take a [`Table`] type parameter and encode keys, decode values and name the
//! table and key in every error.

use crate::{
    DbError, Direction, Durability, EntrySource, KeyBounds, KvIter, KvRead, KvWrite, Table,
    TableKey, TableValue,
    error::{BoxError, hex},
    metrics,
};
use std::{borrow::Borrow, fmt, marker::PhantomData, ops::RangeBounds, sync::Arc};

/// The encoding of `key`.
fn encode_key<K: TableKey>(key: &K) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    key.encode_key(&mut out);
    out
}

/// Decodes a stored value of `T`, naming the table and key when it is corrupt.
fn decode_value<T: Table>(key: &[u8], value: &[u8]) -> Result<T::Value, DbError> {
    T::Value::decode_value(value).map_err(|reason| DbError::CorruptValue {
        table: T::NAME,
        key: hex(key),
        reason,
    })
}

/// Decodes a stored key of `T`, naming the table and key when it is corrupt.
fn decode_key<T: Table>(key: &[u8]) -> Result<T::Key, DbError> {
    T::Key::decode_key(key).map_err(|reason| DbError::CorruptKey {
        table: T::NAME,
        key: hex(key),
        reason,
    })
}

/// The byte bounds of a typed key range.
fn encode_bounds<K: TableKey>(range: &impl RangeBounds<K>) -> KeyBounds {
    KeyBounds { start: range.start_bound().map(encode_key), end: range.end_bound().map(encode_key) }
}

/// A decoded entry of table `T`.
pub type TableEntry<T> = (<T as Table>::Key, <T as Table>::Value);

/// Typed reads, shared by [`ReadView`] and [`WriteTxn`].
pub trait TableRead {
    /// The byte-level transaction underneath.
    fn kv(&self) -> &dyn KvRead;

    /// The number of entries of table `T` (immediate on redb, a walk on other backends).
    ///
    /// # Errors
    /// Backend failures.
    fn count<T: Table>(&self) -> Result<u64, DbError> {
        self.kv().len(T::NAME)
    }

    /// The value at `key` in table `T`.
    ///
    /// # Errors
    /// [`DbError::CorruptValue`] when the stored value does not decode; backend failures.
    fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, DbError> {
        let key = encode_key(key);
        match self.kv().get(T::NAME, &key)? {
            Some(value) => decode_value::<T>(&key, &value).map(Some),
            None => Ok(None),
        }
    }

    /// The entries of `T` within `range`, in ascending key order.
    ///
    /// # Errors
    /// Backend failures; the iterator yields decoding and backend errors per entry.
    fn range<T: Table>(
        &self,
        range: impl RangeBounds<T::Key>,
    ) -> Result<TableIter<'_, T>, DbError> {
        let bounds = encode_bounds(&range);
        Ok(TableIter::new(self.kv().range(T::NAME, bounds, Direction::Forward)?))
    }

    /// The entries of `T` within `range`, in descending key order.
    ///
    /// # Errors
    /// As [`TableRead::range`].
    fn range_rev<T: Table>(
        &self,
        range: impl RangeBounds<T::Key>,
    ) -> Result<TableIter<'_, T>, DbError> {
        let bounds = encode_bounds(&range);
        Ok(TableIter::new(self.kv().range(T::NAME, bounds, Direction::Reverse)?))
    }

    /// Every entry of `T`, in key order.
    ///
    /// # Errors
    /// As [`TableRead::range`].
    fn iter<T: Table>(&self) -> Result<TableIter<'_, T>, DbError> {
        self.range::<T>(..)
    }

    /// The entry of `T` with the smallest key.
    ///
    /// # Errors
    /// Decoding and backend failures.
    fn first<T: Table>(&self) -> Result<Option<TableEntry<T>>, DbError> {
        self.range::<T>(..)?.next().transpose()
    }

    /// The entry of `T` with the greatest key.
    ///
    /// # Errors
    /// Decoding and backend failures.
    fn last<T: Table>(&self) -> Result<Option<TableEntry<T>>, DbError> {
        self.range_rev::<T>(..)?.next().transpose()
    }
}

/// An ordered walk over the entries of table `T`, decoding each.
pub struct TableIter<'a, T> {
    inner: KvIter<'a>,
    table: PhantomData<fn() -> T>,
}

impl<'a, T: Table> TableIter<'a, T> {
    /// Wraps a byte-level iterator over `T`'s entries.
    pub fn new(inner: KvIter<'a>) -> Self {
        Self { inner, table: PhantomData }
    }
}

impl<T> fmt::Debug for TableIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableIter").field("table", &std::any::type_name::<T>()).finish()
    }
}

impl<T: Table> Iterator for TableIter<'_, T> {
    type Item = Result<TableEntry<T>, DbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.inner.next()?;
        Some(entry.and_then(|(key, value)| {
            Ok((decode_key::<T>(&key)?, decode_value::<T>(&key, &value)?))
        }))
    }
}

/// A read transaction: a snapshot of every table that later commits do not change.
///
/// Cloning is cheap and gives another handle to the same snapshot (one read transaction,
/// shared), which another thread may read while this one does; the transaction ends with the
/// last handle.
#[derive(Clone)]
pub struct ReadView {
    kv: Arc<dyn KvRead>,
}

impl ReadView {
    /// Wraps a backend's read transaction.
    pub fn new(kv: Box<dyn KvRead>) -> Self {
        metrics::read_view_opened();
        Self { kv: Arc::from(kv) }
    }
}

impl fmt::Debug for ReadView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadView").finish_non_exhaustive()
    }
}

impl TableRead for ReadView {
    fn kv(&self) -> &dyn KvRead {
        &*self.kv
    }
}

/// A write transaction. Its writes are visible to its own reads only, until
/// [`commit`](Self::commit); dropping it without committing discards them.
pub struct WriteTxn {
    kv: Box<dyn KvWrite>,
}

impl fmt::Debug for WriteTxn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteTxn").finish_non_exhaustive()
    }
}

impl TableRead for WriteTxn {
    fn kv(&self) -> &dyn KvRead {
        &*self.kv
    }
}

impl WriteTxn {
    /// Wraps a backend's write transaction.
    pub fn new(kv: Box<dyn KvWrite>) -> Self {
        metrics::write_begun();
        Self { kv }
    }

    /// Stores `value` at `key` in `T`, replacing any value there. An absent value (a zero storage
    /// slot, see [`TableValue::is_absent`]) deletes the key instead.
    ///
    /// # Errors
    /// Backend failures.
    pub fn put<T: Table>(&mut self, key: &T::Key, value: &T::Value) -> Result<(), DbError> {
        if value.is_absent() {
            return self.delete::<T>(key).map(drop);
        }
        let mut bytes = Vec::new();
        value.encode_value(&mut bytes);
        self.kv.put(T::NAME, &encode_key(key), &bytes)
    }

    /// Removes `key` from `T`; whether it was there.
    ///
    /// # Errors
    /// Backend failures.
    pub fn delete<T: Table>(&mut self, key: &T::Key) -> Result<bool, DbError> {
        self.kv.delete(T::NAME, &encode_key(key))
    }

    /// Removes every entry of `T` whose key lies in `range`; returns how many were removed.
    /// Keys are read and deleted in bounded batches, so memory does not grow with the range.
    ///
    /// # Errors
    /// Backend failures (entries removed before the failure stay removed in the transaction).
    pub fn delete_range<T: Table>(
        &mut self,
        range: impl RangeBounds<T::Key> + Clone,
    ) -> Result<u64, DbError> {
        const BATCH: usize = 1024;
        let mut removed = 0;
        loop {
            let keys: Vec<T::Key> = self
                .range::<T>(range.clone())?
                .take(BATCH)
                .map(|entry| entry.map(|(key, _)| key))
                .collect::<Result<_, _>>()?;
            for key in &keys {
                self.delete::<T>(key)?;
            }
            removed += keys.len() as u64;
            if keys.len() < BATCH {
                return Ok(removed);
            }
        }
    }

    /// Removes every entry of `T`.
    ///
    /// # Errors
    /// Backend failures.
    pub fn clear<T: Table>(&mut self) -> Result<(), DbError> {
        self.kv.clear(T::NAME)
    }

    /// Inserts entries given in strictly increasing key order into `T` in one pass, through the
    /// backend's bulk path, replacing entries with equal keys. Returns how many were inserted.
    ///
    /// The fast case is a table that is empty, or whose keys all sort before the first new one.
    ///
    /// # Errors
    /// [`DbError::Unsorted`] for out-of-order keys, [`DbError::AbsentValue`] for a value that is
    /// never stored, backend failures. Entries before the failing one stay in the transaction:
    /// drop it to discard them.
    pub fn append_sorted<T, I, K, V>(&mut self, entries: I) -> Result<u64, DbError>
    where
        T: Table,
        I: IntoIterator<Item = (K, V)>,
        K: Borrow<T::Key>,
        V: Borrow<T::Value>,
    {
        self.try_append_sorted::<T, _, _, _, std::convert::Infallible>(entries.into_iter().map(Ok))
    }

    /// [`append_sorted`](Self::append_sorted) over a fallible stream, such as a sorted ETL
    /// collector read back from disk.
    ///
    /// # Errors
    /// As [`append_sorted`](Self::append_sorted), and [`DbError::Source`] when the stream fails.
    pub fn try_append_sorted<T, I, K, V, E>(&mut self, entries: I) -> Result<u64, DbError>
    where
        T: Table,
        I: IntoIterator<Item = Result<(K, V), E>>,
        K: Borrow<T::Key>,
        V: Borrow<T::Value>,
        E: Into<BoxError>,
    {
        let mut source = TypedSource::<T, _> { entries: entries.into_iter(), table: PhantomData };
        metrics::append(T::NAME, &mut source, |source| self.kv.append_sorted(T::NAME, source))
    }

    /// [`append_sorted`](Self::append_sorted) of entries already encoded with `T`'s key and value
    /// encodings (for example by an ETL collector that sorted them as bytes).
    ///
    /// # Errors
    /// As [`try_append_sorted`](Self::try_append_sorted). The bytes are not decoded here, so a
    /// wrong encoding surfaces as a corrupt entry when read.
    pub fn append_sorted_encoded<T, I, K, V, E>(&mut self, entries: I) -> Result<u64, DbError>
    where
        T: Table,
        I: IntoIterator<Item = Result<(K, V), E>>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        E: Into<BoxError>,
    {
        let mut source = EncodedSource { entries: entries.into_iter(), table: T::NAME };
        metrics::append(T::NAME, &mut source, |source| self.kv.append_sorted(T::NAME, source))
    }

    /// [`append_sorted_encoded`](Self::append_sorted_encoded) from a source that fills the
    /// backend's buffers itself (no entry allocated on the way).
    pub(crate) fn append_sorted_source<T: Table>(
        &mut self,
        source: &mut dyn EntrySource,
    ) -> Result<u64, DbError> {
        metrics::append(T::NAME, source, |source| self.kv.append_sorted(T::NAME, source))
    }

    /// Sets how the commit reaches the disk (see [`Durability`]).
    ///
    /// # Errors
    /// Backend refusals.
    pub fn set_durability(&mut self, durability: Durability) -> Result<(), DbError> {
        self.kv.set_durability(durability)
    }

    /// Makes every write of the transaction visible at once.
    ///
    /// # Errors
    /// Backend failures; nothing of the transaction is visible then.
    pub fn commit(self) -> Result<(), DbError> {
        metrics::commit(|| self.kv.commit())
    }
}

/// Typed entries encoded on the fly for a backend's `append_sorted`.
struct TypedSource<T, I> {
    entries: I,
    table: PhantomData<fn() -> T>,
}

impl<T, I, K, V, E> EntrySource for TypedSource<T, I>
where
    T: Table,
    I: Iterator<Item = Result<(K, V), E>>,
    K: Borrow<T::Key>,
    V: Borrow<T::Value>,
    E: Into<BoxError>,
{
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        let Some(entry) = self.entries.next() else { return Ok(false) };
        let (k, v) = entry.map_err(|err| DbError::Source { table: T::NAME, source: err.into() })?;
        key.clear();
        k.borrow().encode_key(key);
        if v.borrow().is_absent() {
            return Err(DbError::AbsentValue { table: T::NAME, key: hex(key) });
        }
        value.clear();
        v.borrow().encode_value(value);
        Ok(true)
    }
}

/// Pre-encoded entries for a backend's `append_sorted`.
struct EncodedSource<I> {
    entries: I,
    table: &'static str,
}

impl<I, K, V, E> EntrySource for EncodedSource<I>
where
    I: Iterator<Item = Result<(K, V), E>>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    E: Into<BoxError>,
{
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        let Some(entry) = self.entries.next() else { return Ok(false) };
        let (k, v) =
            entry.map_err(|err| DbError::Source { table: self.table, source: err.into() })?;
        key.clear();
        key.extend_from_slice(k.as_ref());
        value.clear();
        value.extend_from_slice(v.as_ref());
        Ok(true)
    }
}
