//! Test machinery for the storage seam, behind the `test-utils` feature (and in this crate's own
//! unit tests): [`MapStore`], a second implementation of [`StateStore`](crate::StateStore) over
//! plain ordered maps, sharing no code with `snapsync-db`, that suites run beside snapsync-db's
//! backends to show that what they test reaches storage only through the seam.

mod map_store;

pub use map_store::{MapReader, MapState, MapStore, MapWriter};
