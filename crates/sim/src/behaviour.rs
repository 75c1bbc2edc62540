//! How a simulated peer treats the honest answer before sending it.

use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes, U256, keccak256};
use snapsync_net::{EthBlockBody, EthReceipt};
use snapsync_primitives::test_utils::TestRng;
use snapsync_primitives::{
    AccountHash, AccountRange, ByteCodes, StorageRanges, StorageSlot, TrieNodes,
};

/// A simulated peer's behaviour. Faults that do not apply to a request kind (garbage code for an
/// account range, say) leave that kind's replies honest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers correctly.
    Honest,
    /// Answers correctly, `factor` times slower (latency and transfer).
    Slow {
        /// Slow-down factor.
        factor: u32,
    },
    /// Never answers.
    Stall,
    /// Answers every request with an empty reply (has no state).
    Stateless,
    /// Serves only these roots; empty replies for the others.
    ServesRoots(Vec<B256>),
    /// Serves the state, but answers every headers, bodies and receipts request with an empty
    /// reply: a node that pruned its history (or withholds it, as `snapsync serve --withhold`).
    NoHistory,
    /// Answers with a quarter of the requested budget: shorter ranges, still with valid proofs.
    Truncate,
    /// Corrupts a proof node.
    BadProof,
    /// Leaves out a leaf in the middle of a range.
    Gap,
    /// Changes a value (an account's nonce, a slot's value, a code's byte).
    AlterValue,
    /// Adds items nobody asked for.
    ExtraItems,
    /// Answers storage with another account's slots.
    WrongStorage,
    /// Ignores the byte budget (answers with eight times it).
    Oversized,
    /// Sends garbage instead of a requested bytecode.
    GarbageCode,
    /// Sends the wrong trie node.
    WrongNode,
    /// Alters a header's parent hash in headers replies (the middle one, so a one-header reply
    /// no longer has the requested hash either).
    BrokenLink,
    /// Alters a body in bodies replies: drops its last transaction, else drops its withdrawals
    /// list, else adds an ommer, so it no longer matches its header's roots; and a block's
    /// receipts in receipts replies (a receipt added), so they no longer make its receipts root.
    BadBody,
    /// Honest for its first `after` requests, then behaves as `then` (a peer that turns
    /// hostile, or stalls, or forgets its state, in the middle of a sync).
    Switch {
        /// Requests answered honestly first.
        after: u64,
        /// The behaviour from then on.
        then: Box<Behaviour>,
    },
    /// A different one of the snap faults above (`Truncate` to `WrongNode`) for each request,
    /// honest one time in four. Never [`BrokenLink`](Self::BrokenLink) or
    /// [`BadBody`](Self::BadBody): `Random` peers stay honest on headers and bodies, so the
    /// random draws of existing snap tests are unchanged.
    Random,
}

/// The faults [`Behaviour::Random`] draws from, with `Honest` for the honest draws.
const RANDOM_CHOICES: [Behaviour; 12] = [
    Behaviour::Honest,
    Behaviour::Honest,
    Behaviour::Honest,
    Behaviour::Truncate,
    Behaviour::BadProof,
    Behaviour::Gap,
    Behaviour::AlterValue,
    Behaviour::ExtraItems,
    Behaviour::WrongStorage,
    Behaviour::Oversized,
    Behaviour::GarbageCode,
    Behaviour::WrongNode,
];

impl Behaviour {
    /// For [`Behaviour::Random`], the fault this request gets; other behaviours are themselves.
    /// For [`Behaviour::Switch`], the behaviour of the peer's request number `served` (from 0).
    pub(crate) fn resolve(&self, rng: &mut TestRng, served: u64) -> Self {
        match self {
            Self::Random => rng.pick(&RANDOM_CHOICES).cloned().unwrap_or(Self::Honest),
            Self::Switch { after, .. } if served < *after => Self::Honest,
            Self::Switch { then, .. } => then.resolve(rng, served),
            other => other.clone(),
        }
    }

    /// Whether the peer answers `root` with an empty reply.
    pub(crate) fn is_stateless_for(&self, root: B256) -> bool {
        match self {
            Self::Stateless => true,
            Self::ServesRoots(roots) => !roots.contains(&root),
            _ => false,
        }
    }

    /// The byte budget to ask the honest server for, given the one requested.
    pub(crate) const fn server_budget(&self, requested: u64) -> u64 {
        match self {
            Self::Truncate => requested / 4,
            Self::Oversized => requested.saturating_mul(8),
            _ => requested,
        }
    }

    /// The slow-down of latency and transfer.
    pub(crate) const fn slowdown(&self) -> u32 {
        match self {
            Self::Slow { factor } => *factor,
            _ => 1,
        }
    }

    /// Applies the fault to an account range.
    pub(crate) fn corrupt_accounts(&self, reply: &mut AccountRange) {
        let mid = reply.accounts.len() / 2;
        match self {
            Self::BadProof if !reply.proof.is_empty() => flip_last_byte(&mut reply.proof[0]),
            Self::Gap if reply.accounts.len() >= 3 => {
                reply.accounts.remove(mid);
            }
            Self::AlterValue | Self::BadProof | Self::Gap if !reply.accounts.is_empty() => {
                reply.accounts[mid].account.nonce ^= 1;
            }
            Self::ExtraItems if !reply.accounts.is_empty() => {
                let mut extra = reply.accounts[mid];
                extra.hash = AccountHash::from(next_hash(extra.hash.into()));
                let clashes =
                    reply.accounts.get(mid + 1).is_some_and(|next| next.hash <= extra.hash);
                if clashes {
                    extra.account.balance += U256::from(1);
                    reply.accounts[mid] = extra;
                } else {
                    reply.accounts.insert(mid + 1, extra);
                }
            }
            _ => {}
        }
    }

    /// Applies the fault to storage ranges.
    pub(crate) fn corrupt_storage(&self, reply: &mut StorageRanges) {
        let largest = (0..reply.slots.len()).max_by_key(|&index| reply.slots[index].len());
        match (self, largest) {
            (Self::BadProof, _) if !reply.proof.is_empty() => flip_last_byte(&mut reply.proof[0]),
            (Self::Gap, Some(set)) if reply.slots[set].len() >= 3 => {
                let mid = reply.slots[set].len() / 2;
                reply.slots[set].remove(mid);
            }
            (Self::AlterValue | Self::BadProof | Self::Gap, Some(set))
                if !reply.slots[set].is_empty() =>
            {
                let slot = &mut reply.slots[set][0];
                let value = slot.value().unwrap_or_default();
                *slot = StorageSlot::from_value(slot.hash, value ^ U256::from(1) | U256::from(2));
            }
            (Self::ExtraItems, _) => reply.slots.push(Vec::new()),
            (Self::WrongStorage, Some(set)) if reply.slots.len() >= 2 => {
                reply.slots.swap(0, set.max(1));
            }
            (Self::WrongStorage, Some(set)) if !reply.slots[set].is_empty() => {
                let slot = &mut reply.slots[set][0];
                slot.hash = next_hash(slot.hash.into()).into();
            }
            _ => {}
        }
    }

    /// Applies the fault to bytecodes.
    pub(crate) fn corrupt_codes(&self, reply: &mut ByteCodes) {
        match self {
            Self::GarbageCode | Self::AlterValue if !reply.codes.is_empty() => {
                reply.codes[0] = Bytes::from_static(b"\xfe garbage, not the requested code");
            }
            Self::ExtraItems => reply.codes.push(Bytes::from_static(b"\x00 unrequested code")),
            _ => {}
        }
    }

    /// Applies the fault to trie nodes.
    pub(crate) fn corrupt_nodes(&self, reply: &mut TrieNodes) {
        match self {
            Self::WrongNode | Self::AlterValue if !reply.nodes.is_empty() => {
                let wrong = keccak256(&reply.nodes[0]);
                reply.nodes[0] = Bytes::copy_from_slice(&alloy_rlp::encode(wrong));
            }
            Self::ExtraItems => reply.nodes.push(Bytes::from_static(&[0xc2, 0x80, 0x80])),
            _ => {}
        }
    }
}

impl Behaviour {
    /// Applies the fault to a headers reply.
    pub(crate) fn corrupt_headers(&self, reply: &mut [Header]) {
        if *self == Self::BrokenLink {
            let mid = reply.len() / 2;
            if let Some(header) = reply.get_mut(mid) {
                header.parent_hash = next_hash(header.parent_hash);
            }
        }
    }

    /// Applies the fault to a bodies reply.
    pub(crate) fn corrupt_bodies(&self, reply: &mut [EthBlockBody]) {
        if *self != Self::BadBody {
            return;
        }
        let mid = reply.len() / 2;
        let Some(body) = reply.get_mut(mid) else { return };
        if body.transactions.pop().is_none() && body.withdrawals.take().is_none() {
            body.ommers.push(Header::default());
        }
    }

    /// Applies the fault to a receipts reply.
    pub(crate) fn corrupt_receipts(&self, reply: &mut [Vec<EthReceipt>]) {
        if *self != Self::BadBody {
            return;
        }
        let mid = reply.len() / 2;
        if let Some(receipts) = reply.get_mut(mid) {
            receipts.push(EthReceipt::Legacy(Default::default()));
        }
    }
}

fn flip_last_byte(node: &mut Bytes) {
    let mut bytes = node.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    *node = bytes.into();
}

/// The hash right after `hash` (wrapping at the top).
fn next_hash(hash: B256) -> B256 {
    B256::from(U256::from_be_bytes(hash.0).wrapping_add(U256::from(1)).to_be_bytes())
}
