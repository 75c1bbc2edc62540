//! Range-proof generation (the server side).

use crate::{NodeSink, TrieBuildError, TrieBuilder};
use alloy_primitives::Bytes;
use alloy_trie::Nibbles;
use std::convert::Infallible;

/// The proof nodes for the range of `leaves` from `origin` to `last` (inclusive): the union of the
/// proof of `origin` (which may be absent from the trie) and the proof of `last`, hashed nodes
/// only (inline nodes stay inside their parents), deduplicated, root first, as geth sends them.
///
/// `leaves` is the whole trie, sorted by key; it is streamed once through a [`TrieBuilder`] that
/// keeps only the nodes on the two paths. `last` is `None` for the proof of `origin` alone (an
/// empty range, or a single key). An empty trie has an empty proof.
///
/// # Errors
/// See [`TrieBuilder::add_leaf`]; also [`TrieBuildError::KeyTooLong`] for an origin or last key
/// over 32 bytes.
pub fn prove_range<I, K, V>(
    leaves: I,
    origin: &[u8],
    last: Option<&[u8]>,
) -> Result<Vec<Bytes>, TrieBuildError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let targets = [Some(origin), last]
        .into_iter()
        .flatten()
        .map(|key| {
            if key.len() > 32 {
                return Err(TrieBuildError::KeyTooLong { len: key.len() });
            }
            Ok(Nibbles::unpack(key))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut builder = TrieBuilder::new(PathSink { targets, nodes: Vec::new() });
    for (key, value) in leaves {
        builder.add_leaf(key.as_ref(), value.as_ref())?;
    }
    let (_, sink) = builder.finish()?;
    let mut nodes = sink.nodes;
    // Sorting by path puts the root first and each path's nodes from the top down; the origin's
    // path sorts before the last key's where they diverge.
    nodes.sort_unstable_by_key(|(path, _)| *path);
    Ok(nodes.into_iter().map(|(_, node)| node).collect())
}

/// Keeps the nodes whose path is a prefix of one of the targets.
struct PathSink {
    targets: Vec<Nibbles>,
    nodes: Vec<(Nibbles, Bytes)>,
}

impl NodeSink for PathSink {
    type Error = Infallible;

    fn on_node(&mut self, path: &Nibbles, rlp: &[u8]) -> Result<(), Infallible> {
        if self.targets.iter().any(|target| target.starts_with(path)) {
            self.nodes.push((*path, Bytes::copy_from_slice(rlp)));
        }
        Ok(())
    }
}
