//! [`TableCollector`]: entries for one table, sorted through ETL, then bulk-appended.
//!
//! Writers that produce entries out of key order (snap sync's concurrent ranges, a trie builder
//! emitting nodes children first) collect them here in the table's own byte encoding. The ETL
//! collector sorts by those bytes, which is the table's order (see [`TableKey`]), and spills sorted
//! runs to disk beyond its memory cap, so [`append_into`](TableCollector::append_into) is one
//! sorted bulk write of any size in bounded memory.

use crate::{DbError, EntrySource, Table, TableKey, TableValue, WriteTxn};
use snapsync_etl::{Collector, CollectorConfig, EtlError, Iter};
use std::{fmt, marker::PhantomData};

/// Entries of table `T`, collected in any order and written sorted.
pub struct TableCollector<T> {
    collector: Collector<Vec<u8>, Vec<u8>>,
    key: Vec<u8>,
    value: Vec<u8>,
    table: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for TableCollector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableCollector").field("collector", &self.collector).finish_non_exhaustive()
    }
}

impl<T: Table> TableCollector<T> {
    /// An empty collector sorting with `config` (memory cap, spill directory).
    pub fn new(config: CollectorConfig) -> Self {
        Self {
            collector: Collector::new(config),
            key: Vec::with_capacity(96),
            value: Vec::with_capacity(128),
            table: PhantomData,
        }
    }

    /// Adds `value` at `key`. A later insert of an equal key wins.
    ///
    /// # Errors
    /// [`EtlError`] when spilling a sorted run to disk fails.
    pub fn insert(&mut self, key: &T::Key, value: &T::Value) -> Result<(), EtlError> {
        self.value.clear();
        value.encode_value(&mut self.value);
        self.key.clear();
        key.encode_key(&mut self.key);
        self.collector.insert(&self.key, &self.value)
    }

    /// Adds a value already in `T`'s value encoding (a trie node's RLP) at `key`.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_encoded(&mut self, key: &T::Key, value: &[u8]) -> Result<(), EtlError> {
        self.key.clear();
        key.encode_key(&mut self.key);
        self.value.clear();
        self.value.extend_from_slice(value);
        self.collector.insert(&self.key, &self.value)
    }

    /// Entries collected (equal keys counted each time).
    pub fn len(&self) -> usize {
        self.collector.len()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.collector.is_empty()
    }

    /// Appends every collected entry, in key order, into `T` of `txn`; returns how many.
    /// The collector is left empty.
    ///
    /// # Errors
    /// [`DbError`] from the write, or [`DbError::Source`] when reading a spilled run back fails.
    pub fn append_into(&mut self, txn: &mut WriteTxn) -> Result<u64, DbError> {
        let written = {
            let entries = self
                .collector
                .iter()
                .map_err(|source| DbError::Source { table: T::NAME, source: Box::new(source) })?;
            txn.append_sorted_source::<T>(&mut RawSource { entries, table: T::NAME })?
        };
        self.collector
            .clear()
            .map_err(|source| DbError::Source { table: T::NAME, source: Box::new(source) })?;
        Ok(written)
    }
}

/// The sorted bytes of a collector, copied straight into the backend's buffers.
struct RawSource<'a> {
    entries: Iter<'a, Vec<u8>, Vec<u8>>,
    table: &'static str,
}

impl EntrySource for RawSource<'_> {
    fn next_entry(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<bool, DbError> {
        match self.entries.next_raw() {
            Ok(None) => Ok(false),
            Err(source) => Err(DbError::Source { table: self.table, source: Box::new(source) }),
            Ok(Some((k, v))) => {
                key.clear();
                key.extend_from_slice(k);
                value.clear();
                value.extend_from_slice(v);
                Ok(true)
            }
        }
    }
}
