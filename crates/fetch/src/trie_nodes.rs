//! Trie nodes: `GetTrieNodes` asked by path, every returned node checked against the hash its
//! parent references.

use crate::{Answer, InvalidResponse, budget::check_budget};
use alloy_primitives::{B256, Bytes, keccak256};
use snapsync_primitives::{
    AccountHash, GetTrieNodes, PathSetError, RawTrieNodePathSet, TrieNodePathSet, TrieNodes,
};
use snapsync_trie::Nibbles;

/// One node to fetch: where it is and the hash a verified parent says it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeTarget {
    /// `None` for the account trie, else the account whose storage trie holds the node.
    pub account: Option<AccountHash>,
    /// The node's path in its trie.
    pub path: Nibbles,
    /// The hash it must have.
    pub hash: B256,
}

/// What was asked: the nodes at `targets`, in the state with root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrieNodesRequest {
    /// The state root (selects the state on the server).
    pub root: B256,
    /// The nodes, in the order the reply must follow.
    pub targets: Vec<NodeTarget>,
    /// Byte budget of the reply.
    pub response_bytes: u64,
}

impl TrieNodesRequest {
    /// The wire message: one path set per account-trie node, one per run of consecutive targets
    /// in the same storage trie, so the reply's order is the targets' order.
    ///
    /// # Errors
    /// Never for targets built by this crate's users; a storage set is never empty here.
    pub fn to_message(&self, request_id: u64) -> Result<GetTrieNodes, PathSetError> {
        let mut paths: Vec<RawTrieNodePathSet> = Vec::new();
        let mut index = 0;
        while let Some(target) = self.targets.get(index) {
            let set = match target.account {
                None => {
                    index += 1;
                    TrieNodePathSet::account(target.path)
                }
                Some(account) => {
                    let run: Vec<Nibbles> = self.targets[index..]
                        .iter()
                        .take_while(|next| next.account == Some(account))
                        .map(|next| next.path)
                        .collect();
                    index += run.len();
                    TrieNodePathSet::storage(account, run)?
                }
            };
            paths.push(set.to_raw());
        }
        Ok(GetTrieNodes {
            request_id,
            root_hash: self.root,
            paths,
            response_bytes: self.response_bytes,
        })
    }
}

/// Nodes proven by hash; targets not among them were not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTrieNodes {
    nodes: Vec<(NodeTarget, Bytes)>,
}

impl VerifiedTrieNodes {
    /// `(target, node RLP)` pairs, in request order.
    pub fn nodes(&self) -> &[(NodeTarget, Bytes)] {
        &self.nodes
    }

    /// Takes the nodes.
    pub fn into_nodes(self) -> Vec<(NodeTarget, Bytes)> {
        self.nodes
    }
}

/// Checks a `TrieNodes` reply: the `i`th node answers the `i`th target; an empty blob means the
/// server does not have it; the reply may stop early. A reply with no node at all (empty, or
/// only empty blobs) says the peer lacks the state: [`Answer::Unavailable`].
///
/// # Errors
/// [`InvalidResponse`] for a node that does not hash to its target's hash, more nodes than
/// targets, or a reply that ignores the byte budget.
pub fn verify_trie_nodes(
    request: &TrieNodesRequest,
    reply: TrieNodes,
) -> Result<Answer<VerifiedTrieNodes>, InvalidResponse> {
    if reply.nodes.iter().all(|node| node.is_empty()) {
        return Ok(Answer::Unavailable);
    }
    if reply.nodes.len() > request.targets.len() {
        return Err(InvalidResponse::TooManyItems {
            kind: "trie nodes",
            got: reply.nodes.len(),
            requested: request.targets.len(),
        });
    }
    check_budget(reply.nodes.iter().map(|node| node.len()), request.response_bytes)?;
    let mut nodes = Vec::with_capacity(reply.nodes.len());
    for (index, (node, target)) in reply.nodes.into_iter().zip(&request.targets).enumerate() {
        if node.is_empty() {
            continue;
        }
        let got = keccak256(&node);
        if got != target.hash {
            return Err(InvalidResponse::WrongNode { index, got, expected: target.hash });
        }
        nodes.push((*target, node));
    }
    Ok(Answer::Verified(VerifiedTrieNodes { nodes }))
}
