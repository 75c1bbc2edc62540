//! Plausible random account fields, slot values and bytecodes, shared by the state generator and
//! the per-block diffs so that both draw from the same distributions.
//!
//! The values matter to snap sync only through their encodings: balances spread over many
//! orders of magnitude give account leaves of varied length, slot values mix small counters
//! (one-byte RLP), addresses (21 bytes) and full words (33 bytes), and codes start like real
//! Solidity output so that a hex dump looks familiar.

use alloy_primitives::{B256, Bytes, U256};
use snapsync_primitives::test_utils::TestRng;
use std::ops::RangeInclusive;

/// A uniformly random 32-byte hash (an account or slot key, a beacon root).
pub(crate) fn random_hash(rng: &mut TestRng) -> B256 {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    B256::from(bytes)
}

/// A log-uniform-ish balance: one in ten is zero, the others spread from a few wei to about a
/// million ether.
pub(crate) fn eoa_balance(rng: &mut TestRng) -> U256 {
    if rng.chance(1, 10) {
        return U256::ZERO;
    }
    let mantissa = U256::from(rng.next_u64() >> rng.below(64));
    mantissa << rng.below(17)
}

/// A contract's balance: most hold none.
pub(crate) fn contract_balance(rng: &mut TestRng) -> U256 {
    if rng.chance(4, 5) { U256::ZERO } else { eoa_balance(rng) }
}

/// An externally owned account's nonce: a quarter never sent anything, the rest sent up to
/// 65,535 transactions, small counts being the most common.
pub(crate) fn eoa_nonce(rng: &mut TestRng) -> u64 {
    if rng.chance(1, 4) {
        return 0;
    }
    rng.next_u64() >> (48 + rng.below(16))
}

/// A contract's nonce: 1 from its creation (EIP-161), higher for the few that create contracts.
pub(crate) fn contract_nonce(rng: &mut TestRng) -> u64 {
    if rng.chance(9, 10) { 1 } else { 1 + (rng.next_u64() >> 54) }
}

/// A non-zero slot value: a small counter, an address, or a full 32-byte word.
pub(crate) fn slot_value(rng: &mut TestRng) -> U256 {
    let value = match rng.below(20) {
        0..=8 => U256::from(rng.next_u64() >> 32),
        9..=14 => U256::from_be_slice(&rng.bytes(20)),
        _ => U256::from_be_bytes(random_hash(rng).0),
    };
    if value.is_zero() { U256::from(1) } else { value }
}

/// A random bytecode with a size drawn from `size` (at least one byte), starting like Solidity's
/// output (`PUSH1 0x80 PUSH1 0x40 MSTORE`).
pub(crate) fn bytecode(rng: &mut TestRng, size: RangeInclusive<usize>) -> Bytes {
    let len = rng.in_range(size);
    bytecode_of_len(rng, len)
}

/// A bytecode of `len` bytes (at least 1), starting like solc's output.
pub(crate) fn bytecode_of_len(rng: &mut TestRng, len: usize) -> Bytes {
    const PRELUDE: [u8; 5] = [0x60, 0x80, 0x60, 0x40, 0x52];
    let len = len.max(1);
    let mut code = rng.bytes(len);
    let prelude = PRELUDE.len().min(len);
    code[..prelude].copy_from_slice(&PRELUDE[..prelude]);
    Bytes::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_plausible() {
        let mut rng = TestRng::new(3);
        for _ in 0..2_000 {
            assert!(!slot_value(&mut rng).is_zero());
            assert!(eoa_nonce(&mut rng) < 65_536);
            assert!(contract_nonce(&mut rng) >= 1);
            assert!(eoa_balance(&mut rng) < U256::from(1u128 << 81));
        }
        let code = bytecode(&mut rng, 0..=3);
        assert!(!code.is_empty() && code.len() <= 3);
        assert_eq!(code[0], 0x60);
        assert_eq!(bytecode(&mut rng, 100..=100).len(), 100);
    }
}
