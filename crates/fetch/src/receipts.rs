//! Receipts: `GetReceipts` by block hash, each block's receipts checked against its header.
//!
//! A header commits to its block's receipts through `receipts_root`, the ordered trie of the
//! EIP-2718 encoded receipts (status, cumulative gas, bloom, logs). Receipts that make that root
//! are the block's receipts, whoever sent them; any others are wrong.

use crate::{Answer, BlockReceiptsRequest};
use alloy_consensus::{Header, proofs::calculate_receipt_root};
use alloy_primitives::B256;
use snapsync_net::{EthReceipt, ReceiptsFault};

/// The receipts of a prefix of the requested blocks (at least the first), each block's making
/// its header's receipts root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipts {
    receipts: Vec<Vec<EthReceipt>>,
}

impl VerifiedReceipts {
    /// Takes the receipts, in request order: the `i`th list belongs to the `i`th header.
    pub fn into_receipts(self) -> Vec<Vec<EthReceipt>> {
        self.receipts
    }

    /// Number of blocks (at least one).
    pub fn len(&self) -> usize {
        self.receipts.len()
    }

    /// Always `false`: an empty reply is [`Answer::Unavailable`].
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }
}

/// The receipts root `receipts` make, compared with `header`'s.
///
/// # Errors
/// The two roots when they differ.
pub fn verify_receipts(header: &Header, receipts: &[EthReceipt]) -> Result<(), (B256, B256)> {
    let root = calculate_receipt_root(receipts);
    if root == header.receipts_root { Ok(()) } else { Err((header.receipts_root, root)) }
}

/// Checks a reply to `request`: no more lists than hashes asked, the `i`th making the `i`th
/// header's receipts root ([`verify_receipts`]). A shorter reply verifies as the prefix it is;
/// an empty one is [`Answer::Unavailable`].
///
/// # Errors
/// [`ReceiptsFault::TooMany`], or [`ReceiptsFault::Mismatch`] for the first block whose
/// receipts make another root.
pub fn verify_block_receipts(
    request: &BlockReceiptsRequest,
    receipts: Vec<Vec<EthReceipt>>,
) -> Result<Answer<VerifiedReceipts>, ReceiptsFault> {
    let asked = request.headers.len();
    if receipts.len() > asked {
        return Err(ReceiptsFault::TooMany { asked, got: receipts.len() });
    }
    if receipts.is_empty() {
        return Ok(Answer::Unavailable);
    }
    for (header, block) in request.headers.iter().zip(&receipts) {
        verify_receipts(header, block).map_err(|(expected, got)| ReceiptsFault::Mismatch {
            number: header.number,
            hash: header.hash(),
            expected,
            got,
        })?;
    }
    Ok(Answer::Verified(VerifiedReceipts { receipts }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{Eip658Value, Receipt, ReceiptWithBloom};
    use alloy_primitives::Sealed;
    use alloy_primitives::{Address, Log, LogData, Sealable};
    use proptest::prelude::*;

    fn receipt(gas: u64, topics: u8) -> EthReceipt {
        let log = Log {
            address: Address::repeat_byte(topics),
            data: LogData::new_unchecked(vec![B256::repeat_byte(topics)], vec![topics].into()),
        };
        let receipt = Receipt {
            status: Eip658Value::Eip658(gas.is_multiple_of(2)),
            cumulative_gas_used: gas,
            logs: vec![log],
        };
        let with_bloom = ReceiptWithBloom::from(receipt);
        if topics.is_multiple_of(2) {
            EthReceipt::Eip1559(with_bloom)
        } else {
            EthReceipt::Legacy(with_bloom)
        }
    }

    fn block(number: u64, receipts: &[EthReceipt]) -> Sealed<Header> {
        Header { number, receipts_root: calculate_receipt_root(receipts), ..Header::default() }
            .seal_slow()
    }

    #[test]
    fn receipts_making_the_root_verify_and_a_prefix_is_a_prefix() {
        let lists = [vec![receipt(21_000, 1), receipt(50_000, 2)], vec![], vec![receipt(7, 3)]];
        let headers: Vec<_> = (1..).zip(&lists).map(|(n, l)| block(n, l)).collect();
        let request = BlockReceiptsRequest::new(headers);
        let Answer::Verified(all) = verify_block_receipts(&request, lists.to_vec()).unwrap() else {
            panic!("unavailable")
        };
        assert_eq!(all.into_receipts(), lists.to_vec());
        let prefix = verify_block_receipts(&request, lists[..1].to_vec()).unwrap();
        assert!(matches!(prefix, Answer::Verified(v) if v.len() == 1));
        assert!(matches!(verify_block_receipts(&request, vec![]), Ok(Answer::Unavailable)));
        let too_many = verify_block_receipts(&request, vec![vec![]; 4]);
        assert!(matches!(too_many, Err(ReceiptsFault::TooMany { asked: 3, got: 4 })));
    }

    proptest! {
        /// Any change to one receipt (status, gas, a log, its type) or to the list (a receipt
        /// dropped or swapped) makes another root: refused, naming the block.
        #[test]
        fn any_changed_receipt_is_refused(gas in 1u64..1_000_000, topics in 1u8..8, change in 0u8..4) {
            let honest = vec![receipt(gas, topics), receipt(gas + 1, topics + 1)];
            let header = block(9, &honest);
            let mut sent = honest.clone();
            match change {
                0 => sent[0] = receipt(gas + 2, topics),
                1 => sent[1] = receipt(gas + 1, topics + 2),
                2 => sent.swap(0, 1),
                _ => { sent.pop(); }
            }
            prop_assume!(sent != honest);
            let request = BlockReceiptsRequest::new(vec![header]);
            let refused = verify_block_receipts(&request, vec![sent]);
            prop_assert!(
                matches!(refused, Err(ReceiptsFault::Mismatch { number: 9, .. })),
                "{:?}",
                refused
            );
        }
    }
}
