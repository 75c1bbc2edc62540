//! Transaction senders, recovered from their signatures on every core.
//!
//! Recovering a sender is an elliptic-curve operation (about 25 µs on libsecp256k1, more than
//! executing a plain transfer takes): on the simulated chains `snapsync sync` executes it was
//! about a third of the execution stage's time. A block's transactions are independent until
//! they execute, so a block of many is cut into one slice per core, each recovered on its own
//! thread, and the senders are joined in transaction order. A small block is recovered on the
//! calling thread: starting a thread costs more than a few recoveries.

use alloy_consensus::{
    TxEnvelope,
    transaction::{Recovered, SignerRecoverable},
};
use std::{num::NonZeroUsize, sync::OnceLock};

/// Fewest transactions a thread is given: below twice this, a block is recovered on the
/// calling thread alone.
const MIN_PER_THREAD: usize = 8;

/// Each transaction with its sender, from its signature, in order (see the module docs).
///
/// # Errors
/// The first transaction, in block order, whose signature does not recover (its index and why).
///
/// # Panics
/// If a recovering thread panics (a defect, not an input): the panic is carried to the caller.
pub(crate) fn recover_senders(
    transactions: &[TxEnvelope],
) -> Result<Vec<Recovered<&TxEnvelope>>, String> {
    recover_senders_on(transactions, cores())
}

/// [`recover_senders`] on at most `threads` threads.
fn recover_senders_on(
    transactions: &[TxEnvelope],
    threads: usize,
) -> Result<Vec<Recovered<&TxEnvelope>>, String> {
    if transactions.len() < 2 * MIN_PER_THREAD || threads <= 1 {
        return recover_slice(transactions, 0);
    }
    let per_thread = transactions.len().div_ceil(threads).max(MIN_PER_THREAD);
    std::thread::scope(|scope| {
        let mut slices = transactions.chunks(per_thread).enumerate();
        let first = slices.next().map_or(&[][..], |(_, slice)| slice);
        let others: Vec<_> = slices
            .map(|(number, slice)| scope.spawn(move || recover_slice(slice, number * per_thread)))
            .collect();
        let mut recovered = recover_slice(first, 0)?;
        recovered.reserve(transactions.len() - first.len());
        for other in others {
            match other.join() {
                Ok(senders) => recovered.extend(senders?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(recovered)
    })
}

/// The senders of `slice`, whose first transaction is the block's `offset`th.
fn recover_slice(
    slice: &[TxEnvelope],
    offset: usize,
) -> Result<Vec<Recovered<&TxEnvelope>>, String> {
    slice
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            let sender = tx
                .recover_signer()
                .map_err(|error| format!("transaction {}: {error}", offset + index))?;
            Ok(Recovered::new_unchecked(tx, sender))
        })
        .collect()
}

/// The cores this process may use, asked once.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{Signed, TxLegacy};
    use alloy_primitives::{Address, Signature, TxKind, U256};

    /// `count` legacy transfers with distinct nonces, all signed with the test signature (each
    /// recovers to its own sender, since the signed hash differs).
    fn transfers(count: u64) -> Vec<TxEnvelope> {
        (0..count)
            .map(|nonce| {
                let tx = TxLegacy {
                    chain_id: Some(1),
                    nonce,
                    gas_price: 1,
                    gas_limit: 21_000,
                    to: TxKind::Call(Address::with_last_byte(7)),
                    value: U256::from(nonce),
                    input: Default::default(),
                };
                TxEnvelope::Legacy(Signed::new_unhashed(tx, Signature::test_signature()))
            })
            .collect()
    }

    /// `tx` with a signature that recovers no key (r and s zero).
    fn unsigned(tx: &TxEnvelope) -> TxEnvelope {
        let TxEnvelope::Legacy(signed) = tx else { unreachable!("transfers are legacy") };
        let zero = Signature::new(U256::ZERO, U256::ZERO, false);
        TxEnvelope::Legacy(Signed::new_unhashed(signed.tx().clone(), zero))
    }

    fn senders(recovered: &[Recovered<&TxEnvelope>]) -> Vec<Address> {
        recovered.iter().map(Recovered::signer).collect()
    }

    #[test]
    fn senders_recovered_on_several_threads_are_those_recovered_one_by_one() {
        for count in [0, 1, 15, 16, 17, 31, 100, 257] {
            let transactions = transfers(count);
            let one_by_one: Vec<Address> =
                transactions.iter().map(|tx| tx.recover_signer().unwrap()).collect();
            for threads in [1, 2, 3, 8] {
                let recovered = recover_senders_on(&transactions, threads).unwrap();
                assert_eq!(senders(&recovered), one_by_one, "{count} on {threads} threads");
                let order =
                    recovered.iter().zip(&transactions).all(|(r, tx)| std::ptr::eq(*r.inner(), tx));
                assert!(order, "{count} on {threads} threads: out of order");
            }
        }
        // Distinct nonces sign distinct hashes: the senders differ, so order is checked above.
        let distinct: std::collections::HashSet<Address> =
            senders(&recover_senders(&transfers(40)).unwrap()).into_iter().collect();
        assert_eq!(distinct.len(), 40);
    }

    #[test]
    fn the_first_transaction_that_does_not_recover_is_named() {
        let mut transactions = transfers(100);
        transactions[70] = unsigned(&transactions[70]);
        transactions[90] = unsigned(&transactions[90]);
        for threads in [1, 2, 4] {
            let error = recover_senders_on(&transactions, threads).unwrap_err();
            assert!(error.starts_with("transaction 70: "), "{threads} threads: {error}");
        }
        transactions[5] = unsigned(&transactions[5]);
        let error = recover_senders_on(&transactions, 4).unwrap_err();
        assert!(error.starts_with("transaction 5: "), "{error}");
    }
}
