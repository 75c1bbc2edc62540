//! Walking a trie from its root towards one path: the branch/extension/leaf dispatch, once.
//!
//! Serving `GetTrieNodes`, proving a range from a stored trie, and the test oracle's proofs all
//! follow one target path down a trie whose hashed nodes come from somewhere (a table by path, a
//! set by hash), checking each against the hash its parent holds and passing through inline
//! nodes. [`TrieNodeRef::step`] is the one-node decision; [`walk_path`] is the walk.

use crate::node::{ChildRef, TrieNodeRef, decode_node};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_trie::Nibbles;

/// Where one node leads a walk whose remaining target (below the node) is `rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// The target continues into `child` (possibly [`ChildRef::Empty`]: no node there), whose
    /// path is the node's path plus `consumed` nibbles of the target.
    Child {
        /// Target nibbles the node covers (an extension's key, or a branch's one nibble).
        consumed: usize,
        /// The child the target continues into.
        child: ChildRef<'a>,
    },
    /// The target does not follow an extension's key (it differs, or ends inside it).
    Diverges,
    /// The target ends at this branch: what remains of it names the branch's value slot.
    EndsAtBranch {
        /// The branch's value (empty when unused).
        value: &'a [u8],
    },
    /// The node is a leaf: the walk cannot go below it.
    Leaf {
        /// The leaf's remaining key.
        key: Nibbles,
        /// Whether that key is exactly the rest of the target (the target names the value).
        names_value: bool,
    },
}

impl<'a> TrieNodeRef<'a> {
    /// Where this node leads a walk whose remaining target is `rest`.
    pub fn step(&self, rest: &Nibbles) -> Step<'a> {
        match self {
            Self::Leaf { key, .. } => Step::Leaf { key: *key, names_value: rest == key },
            Self::Extension { key, child } => {
                if rest.starts_with(key) {
                    Step::Child { consumed: key.len(), child: *child }
                } else {
                    Step::Diverges
                }
            }
            Self::Branch { children, value } => match rest.get(0) {
                Some(nibble) => Step::Child { consumed: 1, child: children[usize::from(nibble)] },
                None => Step::EndsAtBranch { value },
            },
        }
    }

    /// The node's children with their paths relative to it: an extension's one child at its
    /// key, a branch's non-empty children at their nibble, none for a leaf.
    pub fn children(&self) -> impl Iterator<Item = (Nibbles, ChildRef<'a>)> + 'a {
        let (branch, extension) = match self {
            Self::Branch { children, .. } => (Some(*children), None),
            Self::Extension { key, child } => (None, Some((*key, *child))),
            Self::Leaf { .. } => (None, None),
        };
        let branch = branch.into_iter().flat_map(|children| {
            (0u8..).zip(children).filter(|(_, child)| *child != ChildRef::Empty).map(
                |(nibble, child)| {
                    let mut path = Nibbles::default();
                    path.push(nibble);
                    (path, child)
                },
            )
        });
        branch.chain(extension)
    }
}

/// How a walk towards a target ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathEnd {
    /// A node sits exactly at the target's path.
    At {
        /// Its RLP (for an inline node, a slice of its parent's).
        node: Bytes,
        /// Whether it is a hashed node (else it is inline in its parent and has no hash).
        hashed: bool,
    },
    /// The target leaves the trie above its own path: an empty child, an extension it does not
    /// follow, or a leaf (`names_value`: the leaf's key is exactly the rest of the target).
    Absent {
        /// Whether the walk ended at a leaf whose key is the rest of the target.
        names_value: bool,
    },
    /// A hashed node on the way is not available: missing (`stale` false) or not hashing to its
    /// parent's reference (`stale` true).
    Unavailable {
        /// Its path.
        path: Nibbles,
        /// The hash its parent references.
        hash: B256,
        /// Whether a node was there, but another one.
        stale: bool,
    },
    /// A node on the way does not decode.
    Invalid {
        /// Its path.
        path: Nibbles,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Walks from the node hashing to `root` towards `target`. Hashed nodes come from `fetch(path,
/// hash)` (the node stored at `path`, or the one named `hash`: `None` when there is none) and are
/// checked against `hash`; each is shown to `on_hashed` before the walk goes on. A branch's value
/// slot on the way is not a node: a walk that reaches a branch with target nibbles left steps
/// into the child they name.
///
/// # Errors
/// Whatever `fetch` fails with.
pub fn walk_path<E>(
    root: B256,
    target: &Nibbles,
    mut fetch: impl FnMut(&Nibbles, B256) -> Result<Option<Bytes>, E>,
    mut on_hashed: impl FnMut(&Nibbles, &Bytes),
) -> Result<PathEnd, E> {
    let mut path = Nibbles::default();
    let (mut node, mut hashed) = (root, true);
    let mut rlp = match fetch_checked(&mut fetch, &path, node)? {
        Ok(rlp) => rlp,
        Err(end) => return Ok(end),
    };
    loop {
        if hashed {
            on_hashed(&path, &rlp);
        }
        if path.len() == target.len() {
            return Ok(PathEnd::At { node: rlp, hashed });
        }
        let decoded = match decode_node(&rlp) {
            Ok(decoded) => decoded,
            Err(reason) => return Ok(PathEnd::Invalid { path, reason }),
        };
        let child = match decoded.step(&target.slice(path.len()..)) {
            Step::Child { consumed, child } => {
                path = target.slice(..path.len() + consumed);
                child
            }
            Step::Leaf { names_value, .. } => return Ok(PathEnd::Absent { names_value }),
            Step::Diverges | Step::EndsAtBranch { .. } => {
                return Ok(PathEnd::Absent { names_value: false });
            }
        };
        (rlp, hashed) = match child {
            ChildRef::Empty => return Ok(PathEnd::Absent { names_value: false }),
            ChildRef::Inline(inline) => (rlp.slice_ref(inline), false),
            ChildRef::Hash(hash) => {
                node = hash;
                match fetch_checked(&mut fetch, &path, node)? {
                    Ok(rlp) => (rlp, true),
                    Err(end) => return Ok(end),
                }
            }
        };
    }
}

/// The node `fetch` gives for `path`, if it hashes to `hash`; else how the walk ends.
fn fetch_checked<E>(
    fetch: &mut impl FnMut(&Nibbles, B256) -> Result<Option<Bytes>, E>,
    path: &Nibbles,
    hash: B256,
) -> Result<Result<Bytes, PathEnd>, E> {
    Ok(match fetch(path, hash)? {
        None => Err(PathEnd::Unavailable { path: *path, hash, stale: false }),
        Some(rlp) if keccak256(&rlp) != hash => {
            Err(PathEnd::Unavailable { path: *path, hash, stale: true })
        }
        Some(rlp) => Ok(rlp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrieBuilder, VecSink};
    use std::collections::HashMap;

    /// A trie of three 2-byte keys, its hashed nodes by path, and its root.
    fn trie() -> (B256, HashMap<Nibbles, Bytes>) {
        let mut builder = TrieBuilder::new(VecSink::default());
        let leaves: [([u8; 2], &[u8]); 3] =
            [([0x12, 0x34], &[7; 40]), ([0x12, 0x35], &[8; 40]), ([0x56, 0x00], &[9; 2])];
        for (key, value) in leaves {
            builder.add_leaf(&key, value).unwrap();
        }
        let (root, sink) = builder.finish().unwrap();
        (root, sink.nodes.into_iter().collect())
    }

    fn walk(root: B256, nodes: &HashMap<Nibbles, Bytes>, target: &[u8]) -> (PathEnd, Vec<Nibbles>) {
        let mut seen = Vec::new();
        let target = Nibbles::from_nibbles(target);
        let fetch = |path: &Nibbles, _| Ok::<_, std::convert::Infallible>(nodes.get(path).cloned());
        let end = walk_path(root, &target, fetch, |path, _| seen.push(*path)).unwrap();
        (end, seen)
    }

    #[test]
    fn walks_to_nodes_and_says_where_a_path_leaves_the_trie() {
        let (root, nodes) = trie();
        let (end, seen) = walk(root, &nodes, &[]);
        assert_eq!(end, PathEnd::At { node: nodes[&Nibbles::default()].clone(), hashed: true });
        assert_eq!(seen, vec![Nibbles::default()]);
        // Below the root branch, nibble 1 leads to an extension over "2 3" and a branch.
        let (end, seen) = walk(root, &nodes, &[1, 2, 3]);
        assert!(matches!(end, PathEnd::At { hashed: true, .. }), "{end:?}");
        assert_eq!(seen.len(), 3, "root, extension, branch: {seen:?}");
        assert_eq!(walk(root, &nodes, &[1, 2]).0, PathEnd::Absent { names_value: false });
        assert_eq!(walk(root, &nodes, &[7]).0, PathEnd::Absent { names_value: false });
        // The short leaf under nibble 5 is inline in the root.
        assert!(matches!(walk(root, &nodes, &[5]).0, PathEnd::At { hashed: false, .. }));
        assert_eq!(walk(root, &nodes, &[5, 6, 0, 0]).0, PathEnd::Absent { names_value: true });
        assert_eq!(walk(root, &nodes, &[5, 6, 0, 1]).0, PathEnd::Absent { names_value: false });
    }

    #[test]
    fn missing_stale_and_invalid_nodes_end_the_walk() {
        let (root, mut nodes) = trie();
        let one = Nibbles::from_nibbles([1]);
        let hash = keccak256(&nodes[&one]);
        let mut missing = nodes.clone();
        missing.remove(&one);
        let end = walk(root, &missing, &[1, 2, 3]).0;
        assert_eq!(end, PathEnd::Unavailable { path: one, hash, stale: false });
        nodes.insert(one, Bytes::from_static(&[0xc0]));
        let end = walk(root, &nodes, &[1, 2, 3]).0;
        assert_eq!(end, PathEnd::Unavailable { path: one, hash, stale: true });
        let garbage = Bytes::from_static(&[0xc1, 0x80]);
        let end =
            walk(keccak256(&garbage), &HashMap::from([(Nibbles::default(), garbage)]), &[1]).0;
        assert!(matches!(end, PathEnd::Invalid { .. }), "{end:?}");
    }

    #[test]
    fn steps_and_children_of_each_kind_of_node() {
        let (root, nodes) = trie();
        let root_node = decode_node(&nodes[&Nibbles::default()]).unwrap();
        assert_eq!(root.len(), 32);
        let children: Vec<_> = root_node.children().map(|(path, _)| path).collect();
        assert_eq!(children, vec![Nibbles::from_nibbles([1]), Nibbles::from_nibbles([5])]);
        assert!(matches!(
            root_node.step(&Nibbles::from_nibbles([1, 2])),
            Step::Child { consumed: 1, child: ChildRef::Hash(_) }
        ));
        assert_eq!(root_node.step(&Nibbles::default()), Step::EndsAtBranch { value: &[] });
        let extension = decode_node(&nodes[&Nibbles::from_nibbles([1])]).unwrap();
        assert_eq!(extension.children().count(), 1);
        assert_eq!(extension.step(&Nibbles::from_nibbles([2, 4])), Step::Diverges);
    }
}
