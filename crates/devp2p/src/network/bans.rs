//! [`Bans`]: the node ids the network refuses, with why, bounded.
//!
//! A ban is earned by a completed handshake and misbehaviour, so the list grows only as fast as
//! hostile peers connect; still, a node id costs an attacker nothing to mint, so the list keeps
//! the most recent [`MAX_BANS`] and forgets the oldest beyond that.

use crate::NodeId;
use std::collections::{HashMap, VecDeque};

/// Most node ids banned at once; the oldest ban goes first.
pub const MAX_BANS: usize = 16_384;

/// Banned node ids with their reasons, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Bans {
    reasons: HashMap<NodeId, String>,
    order: VecDeque<NodeId>,
}

impl Bans {
    /// Bans `node` for `why` (a repeated ban keeps its place and takes the new reason).
    pub(crate) fn insert(&mut self, node: NodeId, why: String) {
        if self.reasons.insert(node, why).is_none() {
            self.order.push_back(node);
        }
        while self.order.len() > MAX_BANS {
            if let Some(oldest) = self.order.pop_front() {
                self.reasons.remove(&oldest);
            }
        }
    }

    /// Why `node` is banned, if it is.
    pub(crate) fn get(&self, node: &NodeId) -> Option<&String> {
        self.reasons.get(node)
    }

    /// How many node ids are banned.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.reasons.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(index: u64) -> NodeId {
        let mut bytes = [0u8; 64];
        bytes[..8].copy_from_slice(&index.to_be_bytes());
        NodeId::from_bytes(bytes)
    }

    #[test]
    fn the_oldest_ban_goes_beyond_the_bound() {
        let mut bans = Bans::default();
        for index in 0..=MAX_BANS as u64 {
            bans.insert(node(index), format!("ban {index}"));
        }
        assert_eq!(bans.len(), MAX_BANS);
        assert_eq!(bans.get(&node(0)), None, "the oldest is forgotten");
        assert_eq!(bans.get(&node(1)).map(String::as_str), Some("ban 1"));
        bans.insert(node(1), "again".into());
        assert_eq!(bans.len(), MAX_BANS, "a repeated ban takes no second place");
        assert_eq!(bans.get(&node(1)).map(String::as_str), Some("again"));
    }
}
