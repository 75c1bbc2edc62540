//! Proofs from a trie stored by path, as [`TrieBuilder`](crate::TrieBuilder) emits it.
//!
//! A synced trie lives in the database as `path → node` for every hashed node (inline nodes stay
//! inside their parents). Serving a range proof then costs one lookup per level of the two edge
//! paths, instead of a pass over all leaves as [`prove_range`](crate::prove_range) makes.

use crate::{
    StoredProofError,
    path_walk::{PathEnd, walk_path},
};
use alloy_primitives::{B256, Bytes};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use std::collections::BTreeMap;

/// Read access to trie nodes stored by path.
pub trait NodeSource {
    /// What the storage fails with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The RLP of the node stored at `path`, if any.
    ///
    /// # Errors
    /// Whatever the storage fails with.
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, Self::Error> {
        (**self).node(path)
    }
}

/// The proof of the range `origin..=last` from a stored trie with root `root`: for each of the
/// two keys, the hashed nodes from the root down to where the key's path ends or leaves the trie,
/// deduplicated and sorted by path (root first), the same nodes [`prove_range`](crate::prove_range)
/// returns for the same trie.
///
/// Every node read is checked against the hash its parent holds, so a stale stored node is
/// reported rather than served.
///
/// # Errors
/// [`StoredProofError::RootNotStored`] when the stored root node is not `root`, missing or
/// mismatched nodes below it, and storage failures.
pub fn prove_stored<S: NodeSource>(
    source: &S,
    root: B256,
    origin: &[u8],
    last: Option<&[u8]>,
) -> Result<Vec<Bytes>, StoredProofError> {
    if root == EMPTY_ROOT_HASH {
        return Ok(Vec::new());
    }
    let mut nodes = BTreeMap::new();
    for key in [Some(origin), last].into_iter().flatten() {
        if key.len() > 32 {
            return Err(StoredProofError::KeyTooLong { len: key.len() });
        }
        collect_path(source, root, &Nibbles::unpack(key), &mut nodes)?;
    }
    Ok(nodes.into_values().collect())
}

/// Adds the hashed nodes on `target`'s path to `nodes`.
fn collect_path<S: NodeSource>(
    source: &S,
    root: B256,
    target: &Nibbles,
    nodes: &mut BTreeMap<Nibbles, Bytes>,
) -> Result<(), StoredProofError> {
    let fetch = |path: &Nibbles, _| source.node(path);
    let on_hashed = |path: &Nibbles, rlp: &Bytes| {
        nodes.entry(*path).or_insert_with(|| rlp.clone());
    };
    let end = walk_path(root, target, fetch, on_hashed)
        .map_err(|err| StoredProofError::Source(Box::new(err)))?;
    match end {
        PathEnd::At { .. } | PathEnd::Absent { .. } => Ok(()),
        PathEnd::Unavailable { path, .. } if path.is_empty() => {
            Err(StoredProofError::RootNotStored { root })
        }
        PathEnd::Unavailable { path, hash, stale: false } => {
            Err(StoredProofError::MissingNode { path, hash })
        }
        PathEnd::Unavailable { path, hash, stale: true } => {
            Err(StoredProofError::StaleNode { path, expected: hash })
        }
        PathEnd::Invalid { path, reason } => Err(StoredProofError::InvalidNode { path, reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrieBuilder, VecSink, prove_range};
    use proptest::prelude::*;
    use std::{collections::HashMap, convert::Infallible};

    struct MapSource(HashMap<Nibbles, Bytes>);

    impl NodeSource for MapSource {
        type Error = Infallible;

        fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, Infallible> {
            Ok(self.0.get(path).cloned())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Reading the proof from the stored nodes gives exactly what a pass over the leaves gives.
        #[test]
        fn same_as_prove_range(
            key_len in 1usize..=32,
            raw in prop::collection::btree_map(any::<[u8; 32]>(), 1usize..40, 1..150),
            origin in any::<[u8; 32]>(),
            last in any::<[u8; 32]>(),
        ) {
            let leaves: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
                raw.into_iter().map(|(k, v)| (k[..key_len].to_vec(), vec![k[0]; v])).collect();
            let mut builder = TrieBuilder::new(VecSink::default());
            for (k, v) in &leaves {
                builder.add_leaf(k, v).unwrap();
            }
            let (root, sink) = builder.finish().unwrap();
            let source = MapSource(sink.nodes.into_iter().collect());
            let (origin, last) = (&origin[..key_len], &last[..key_len]);
            let expected = prove_range(leaves.iter(), origin, Some(last)).unwrap();
            prop_assert_eq!(prove_stored(&source, root, origin, Some(last)).unwrap(), expected);

            // A different root is refused, a stale node is reported.
            let refused = matches!(
                prove_stored(&source, B256::ZERO, origin, None),
                Err(StoredProofError::RootNotStored { .. })
            );
            prop_assert!(refused);
        }
    }
}
