//! Account-trie-shaped data for benchmarks and scale tests: sorted hashed keys with realistic
//! account RLP values, generated as a stream so that millions of leaves need no memory.

use alloy_primitives::{B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use snapsync_primitives::test_utils::TestRng;

/// The RLP of a random account: a quarter are contracts (random storage root and code hash), the
/// rest externally owned accounts; nonces below 65,536, balances below 2^72 wei.
pub fn random_account_rlp(rng: &mut TestRng) -> Vec<u8> {
    let is_contract = rng.chance(1, 4);
    let mut hash = || {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        B256::from(bytes)
    };
    let (storage_root, code_hash) =
        if is_contract { (hash(), hash()) } else { (EMPTY_ROOT_HASH, KECCAK_EMPTY) };
    let nonce = rng.next_u64() % 65_536;
    let balance = U256::from(rng.next_u64()) << 8 | U256::from(rng.next_u64() & 0xff);
    alloy_rlp::encode(TrieAccount { nonce, balance, storage_root, code_hash })
}

/// `count` account leaves in strictly increasing key order, spread evenly over the key space with
/// random jitter (each key is uniform within its own 1/`count` slice of the space).
#[derive(Debug, Clone)]
pub struct SortedAccountLeaves {
    rng: TestRng,
    next: u64,
    count: u64,
    slice: U256,
}

impl SortedAccountLeaves {
    /// A stream of `count` leaves determined by `seed`.
    pub fn new(seed: u64, count: u64) -> Self {
        let slice = if count == 0 { U256::MAX } else { U256::MAX / U256::from(count) };
        Self { rng: TestRng::new(seed), next: 0, count, slice }
    }
}

impl Iterator for SortedAccountLeaves {
    type Item = (B256, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.count {
            return None;
        }
        let mut jitter = [0u8; 32];
        self.rng.fill(&mut jitter);
        let offset = U256::from_be_bytes(jitter) % self.slice;
        let key = self.slice * U256::from(self.next) + offset;
        self.next += 1;
        Some((B256::from(key.to_be_bytes()), random_account_rlp(&mut self.rng)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.count - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_strictly_increase_and_seed_decides() {
        let leaves: Vec<_> = SortedAccountLeaves::new(7, 1000).collect();
        assert_eq!(leaves.len(), 1000);
        assert!(leaves.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(leaves, SortedAccountLeaves::new(7, 1000).collect::<Vec<_>>());
        assert_ne!(leaves, SortedAccountLeaves::new(8, 1000).collect::<Vec<_>>());
    }
}
