//! [`StateStore`]: a store that hands out snapshots and write transactions.

use crate::{StateRead, StateWrite, StoreError};

/// A state store: snapshot reads and one atomic write transaction at a time.
///
/// The associated types keep the seam zero-cost and let a client's own stage reach its
/// concrete transaction type (to write a table of its own atomically with its checkpoint).
/// Both are `'static` and `Send`, so a pipeline can move a transaction onto a blocking thread;
/// a reader is also `Sync`, so an async stage can hold one across its awaits, and `Clone` (a
/// cheap second handle to the same snapshot), so a stage can read it on a thread of its own
/// while the pipeline goes on.
pub trait StateStore: Send + Sync + 'static {
    /// A consistent snapshot; its clones are handles to the same snapshot.
    type Reader: StateRead + Sync + Clone + 'static;
    /// A write transaction.
    type Writer: StateWrite + 'static;

    /// The backend's name for logs and errors (`"redb"`, `"memory"`, a client's own).
    fn backend_name(&self) -> &'static str;

    /// A snapshot of the last commit; later commits do not show through it.
    ///
    /// # Errors
    /// Backend failures.
    fn reader(&self) -> Result<Self::Reader, StoreError>;

    /// A write transaction. A store admits one at a time: a second caller waits (or fails,
    /// as the backend documents) until the first commits or is dropped.
    ///
    /// # Errors
    /// Backend failures.
    fn writer(&self) -> Result<Self::Writer, StoreError>;
}
