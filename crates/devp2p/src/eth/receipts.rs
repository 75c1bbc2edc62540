//! `GetReceipts` (0x0f) and `Receipts` (0x10), in both versions' shapes.
//!
//! eth/68 sends each receipt as its consensus encoding (EIP-2718 envelope with the bloom); eth/69
//! (EIP-7642) drops the bloom and sends every receipt as the list `[type, status,
//! cumulativeGas, logs]`. Both decode to [`ReceiptEnvelope`]s with their bloom (recomputed from
//! the logs for eth/69), which is what a header's `receiptsRoot` commits to.

use super::{
    EthVersion,
    bodies::decode_hashes,
    limits::{MAX_RECEIPT_LISTS, MAX_RECEIPTS_PER_BLOCK},
    rlp::{bounded_list, field, finish, list_payload, with_request_id, wrap_list},
};
use crate::EthWireError;
use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxReceipt, TxType};
use alloy_primitives::{B256, Log};
use alloy_rlp::Encodable;

/// `GetReceipts`: `[request_id, [hash...]]`, at most [`MAX_HASHES`](super::limits::MAX_HASHES).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetReceipts {
    /// The request id the answer echoes.
    pub request_id: u64,
    /// The blocks' hashes.
    pub hashes: Vec<B256>,
}

impl GetReceipts {
    /// The RLP payload.
    pub fn encode(&self) -> Vec<u8> {
        with_request_id(self.request_id, &self.hashes)
    }

    /// Decodes the payload.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP or too many hashes.
    pub fn decode(payload: &[u8]) -> Result<Self, EthWireError> {
        let (request_id, hashes) = decode_hashes("GetReceipts", payload)?;
        Ok(Self { request_id, hashes })
    }
}

/// `Receipts`: `[request_id, [[receipt...]...]]`, one list per block asked, at most
/// [`MAX_RECEIPT_LISTS`] lists of at most [`MAX_RECEIPTS_PER_BLOCK`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipts {
    /// The request id of the request answered.
    pub request_id: u64,
    /// Per block, its receipts in transaction order, with their blooms.
    pub receipts: Vec<Vec<ReceiptEnvelope>>,
}

impl Receipts {
    /// The RLP payload in `version`'s shape.
    pub fn encode(&self, version: EthVersion) -> Vec<u8> {
        match version {
            EthVersion::Eth68 => with_request_id(self.request_id, &self.receipts),
            EthVersion::Eth69 => {
                let mut lists = Vec::new();
                for block in &self.receipts {
                    let mut receipts = Vec::new();
                    for receipt in block {
                        receipts.extend_from_slice(&encode_eth69(receipt));
                    }
                    lists.extend_from_slice(&wrap_list(&receipts));
                }
                let mut fields = Vec::new();
                self.request_id.encode(&mut fields);
                fields.extend_from_slice(&wrap_list(&lists));
                wrap_list(&fields)
            }
        }
    }

    /// Decodes a payload in `version`'s shape.
    ///
    /// # Errors
    ///
    /// [`EthWireError`] for malformed RLP, an unknown transaction type, or too many items.
    pub fn decode(version: EthVersion, payload: &[u8]) -> Result<Self, EthWireError> {
        const NAME: &str = "Receipts";
        let mut input = payload;
        let mut fields = list_payload(&mut input, NAME)?;
        finish(input, NAME)?;
        let request_id = field(&mut fields, NAME)?;
        let receipts = bounded_list(&mut fields, NAME, MAX_RECEIPT_LISTS, |block| {
            bounded_list(block, NAME, MAX_RECEIPTS_PER_BLOCK, |receipt| match version {
                EthVersion::Eth68 => field(receipt, NAME),
                EthVersion::Eth69 => decode_eth69(receipt),
            })
        })?;
        finish(fields, NAME)?;
        Ok(Self { request_id, receipts })
    }
}

/// eth/69's `[type, status, cumulativeGas, logs]`.
fn encode_eth69(receipt: &ReceiptEnvelope) -> Vec<u8> {
    let mut fields = Vec::new();
    (receipt.tx_type() as u8).encode(&mut fields);
    let inner = receipt.as_receipt().map(|r| (r.status, r.cumulative_gas_used, r.logs.as_slice()));
    // Every ReceiptEnvelope variant holds a receipt; the fallback is never taken.
    let (status, gas, logs) = inner.unwrap_or((Eip658Value::Eip658(false), 0, &[]));
    status.encode(&mut fields);
    gas.encode(&mut fields);
    alloy_rlp::encode_list(logs, &mut fields);
    wrap_list(&fields)
}

fn decode_eth69(buf: &mut &[u8]) -> Result<ReceiptEnvelope, EthWireError> {
    const NAME: &str = "Receipts (eth/69 receipt)";
    let mut items = list_payload(buf, NAME)?;
    let ty: u8 = field(&mut items, NAME)?;
    let tx_type = TxType::try_from(ty).map_err(|_| EthWireError::UnknownTxType(ty))?;
    let status: Eip658Value = field(&mut items, NAME)?;
    let cumulative_gas_used: u64 = field(&mut items, NAME)?;
    let logs: Vec<Log> = field(&mut items, NAME)?;
    finish(items, NAME)?;
    let receipt = Receipt { status, cumulative_gas_used, logs };
    let bloom = receipt.bloom();
    Ok(ReceiptEnvelope::from_typed(tx_type, ReceiptWithBloom::new(receipt, bloom)))
}
