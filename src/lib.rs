//! snapsync: verified snap/1 state sync for Ethereum execution clients.

pub use snapsync_genesis as genesis;
pub use snapsync_primitives as primitives;
pub use snapsync_trie as trie;
