//! The consensus checks of a header against its parent that execution relies on: the block's
//! number and parent, its timestamp, gas limit, base fee, excess blob gas and the fields each
//! fork adds or removes. Proof-of-work seals and difficulty are not checked (nothing in the
//! state depends on them; the header's difficulty is what DIFFICULTY returns).
//!
//! The body's roots (transactions, ommers, withdrawals) are checked against the header by
//! `verify_body`, as the bodies stage checks a peer's.

use crate::ChainRules;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip4844::DATA_GAS_PER_BLOB,
};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_primitives::{B64, U256};

/// The lowest gas limit a block may have.
pub const MIN_GAS_LIMIT: u64 = 5_000;
/// A block's gas limit differs from its parent's by less than the parent's / this.
pub const GAS_LIMIT_BOUND_DIVISOR: u64 = 1_024;
/// EIP-1559's elasticity: at London's block the gas target is the parent's gas limit.
const ELASTICITY_MULTIPLIER: u64 = 2;
/// Most bytes of a header's extra data.
pub const MAX_EXTRA_DATA: usize = 32;

/// The largest encoded block from Osaka on (EIP-7934: 10 MiB less a 2 MiB margin for the
/// beacon block around it).
pub const MAX_RLP_BLOCK_SIZE: usize = 8_388_608;

/// EIP-7934 (Osaka): the whole block's RLP is at most [`MAX_RLP_BLOCK_SIZE`] bytes.
///
/// # Errors
/// A description of the block's size when it is larger.
pub fn validate_block_size(
    rules: &ChainRules,
    header: &Header,
    body: &snapsync_net::EthBlockBody,
) -> Result<(), String> {
    if !rules.is_osaka_active_at_timestamp(header.timestamp) {
        return Ok(());
    }
    let payload = alloy_rlp::Encodable::length(header)
        + alloy_rlp::list_length(&body.transactions)
        + alloy_rlp::list_length(&body.ommers)
        + body.withdrawals.as_ref().map_or(0, alloy_rlp::Encodable::length);
    let size = alloy_rlp::length_of_length(payload) + payload;
    if size > MAX_RLP_BLOCK_SIZE {
        return Err(format!("the block's RLP is {size} bytes, above {MAX_RLP_BLOCK_SIZE}"));
    }
    Ok(())
}

/// Checks `header` against `parent` under `rules`; the reason it is invalid otherwise.
///
/// # Errors
/// A description of the first rule the header breaks.
pub fn validate_header(rules: &ChainRules, parent: &Header, header: &Header) -> Result<(), String> {
    let (number, timestamp) = (header.number, header.timestamp);
    if header.timestamp <= parent.timestamp {
        return Err(format!(
            "timestamp {} is not after the parent's {}",
            header.timestamp, parent.timestamp
        ));
    }
    if header.gas_used > header.gas_limit {
        return Err(format!(
            "gas used {} above the gas limit {}",
            header.gas_used, header.gas_limit
        ));
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(format!(
            "{} bytes of extra data (at most {MAX_EXTRA_DATA})",
            header.extra_data.len()
        ));
    }
    check_gas_limit(rules, parent, header)?;
    check_base_fee(rules, parent, header)?;
    if rules.is_paris_active_at_block(number) {
        if header.difficulty != U256::ZERO {
            return Err(format!("difficulty {} after the merge", header.difficulty));
        }
        if header.nonce != B64::ZERO {
            return Err(format!("nonce {} after the merge", header.nonce));
        }
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err("ommers after the merge".to_owned());
        }
    }
    let shanghai = rules.is_shanghai_active_at_timestamp(timestamp);
    if shanghai != header.withdrawals_root.is_some() {
        return Err(presence("withdrawalsRoot", shanghai));
    }
    check_blob_fields(rules, parent, header)?;
    let prague = rules.is_prague_active_at_timestamp(timestamp);
    if prague != header.requests_hash.is_some() {
        return Err(presence("requestsHash", prague));
    }
    Ok(())
}

fn presence(field: &str, required: bool) -> String {
    if required { format!("{field} missing") } else { format!("{field} present before its fork") }
}

/// The gas limit moves by less than 1/1024 of the parent's (the parent's doubled at London's
/// block, EIP-1559's elasticity) and stays at least 5,000.
fn check_gas_limit(rules: &ChainRules, parent: &Header, header: &Header) -> Result<(), String> {
    let london_block = rules
        .ethereum_fork_activation(EthereumHardfork::London)
        .transitions_at_block(header.number);
    let parent_limit = if london_block {
        parent.gas_limit.saturating_mul(ELASTICITY_MULTIPLIER)
    } else {
        parent.gas_limit
    };
    let bound = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
    if header.gas_limit.abs_diff(parent_limit) >= bound || header.gas_limit < MIN_GAS_LIMIT {
        return Err(format!(
            "gas limit {} out of bounds (parent {parent_limit}, allowed change below {bound})",
            header.gas_limit
        ));
    }
    Ok(())
}

/// EIP-1559's base fee: the initial one at London's block, then computed from the parent.
fn check_base_fee(rules: &ChainRules, parent: &Header, header: &Header) -> Result<(), String> {
    if !rules.is_london_active_at_block(header.number) {
        return match header.base_fee_per_gas {
            None => Ok(()),
            Some(_) => Err(presence("baseFeePerGas", false)),
        };
    }
    let got = header.base_fee_per_gas.ok_or_else(|| presence("baseFeePerGas", true))?;
    let expected = match parent.next_block_base_fee(BaseFeeParams::ethereum()) {
        Some(fee) if rules.is_london_active_at_block(parent.number) => fee,
        _ => INITIAL_BASE_FEE,
    };
    if got != expected {
        return Err(format!("base fee {got}, expected {expected}"));
    }
    Ok(())
}

/// EIP-4844's fields: blob gas used a whole number of blobs within the block's maximum, and the
/// excess blob gas as computed from the parent under the block's blob parameters.
fn check_blob_fields(rules: &ChainRules, parent: &Header, header: &Header) -> Result<(), String> {
    let cancun = rules.is_cancun_active_at_timestamp(header.timestamp);
    for (name, present) in [
        ("blobGasUsed", header.blob_gas_used.is_some()),
        ("excessBlobGas", header.excess_blob_gas.is_some()),
        ("parentBeaconBlockRoot", header.parent_beacon_block_root.is_some()),
    ] {
        if present != cancun {
            return Err(presence(name, cancun));
        }
    }
    let (Some(params), Some(used), Some(excess)) =
        (rules.blob_params_at(header.timestamp), header.blob_gas_used, header.excess_blob_gas)
    else {
        return Ok(());
    };
    if used % DATA_GAS_PER_BLOB != 0 || used > params.max_blob_gas_per_block() {
        return Err(format!(
            "blob gas used {used} is not a whole number of blobs within {}",
            params.max_blob_gas_per_block()
        ));
    }
    let expected = parent.next_block_excess_blob_gas(params).unwrap_or(0);
    if excess != expected {
        return Err(format!("excess blob gas {excess}, expected {expected}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{Signed, TxEnvelope, TxLegacy};
    use alloy_primitives::{Bytes, Signature};
    use snapsync_net::EthBlockBody;

    /// A body whose one transaction carries `data_len` bytes of calldata.
    fn body(data_len: usize) -> EthBlockBody {
        let tx = TxLegacy { input: Bytes::from(vec![1u8; data_len]), ..TxLegacy::default() };
        let signed = Signed::new_unhashed(tx, Signature::test_signature());
        EthBlockBody {
            transactions: vec![TxEnvelope::Legacy(signed)],
            ommers: Vec::new(),
            withdrawals: Some(Vec::new().into()),
        }
    }

    #[test]
    fn osaka_bounds_the_blocks_size() {
        let osaka = ChainRules::for_test_network("Osaka").unwrap();
        let prague = ChainRules::for_test_network("Prague").unwrap();
        let header = Header { timestamp: 1, ..Header::default() };
        let big = body(MAX_RLP_BLOCK_SIZE);
        assert!(validate_block_size(&osaka, &header, &big).unwrap_err().contains("bytes, above"));
        assert!(validate_block_size(&prague, &header, &big).is_ok());
        assert!(validate_block_size(&osaka, &header, &body(MAX_RLP_BLOCK_SIZE - 2_000)).is_ok());
        // The size is the encoded block's: find the calldata that makes it exactly the limit.
        let encoded = |data_len: usize| {
            let block = alloy_consensus::Block { header: header.clone(), body: body(data_len) };
            alloy_rlp::encode(&block).len()
        };
        let mut data_len = MAX_RLP_BLOCK_SIZE - 1_000;
        while encoded(data_len) != MAX_RLP_BLOCK_SIZE {
            data_len = data_len + MAX_RLP_BLOCK_SIZE - encoded(data_len);
        }
        assert!(validate_block_size(&osaka, &header, &body(data_len)).is_ok());
        assert_eq!(encoded(data_len + 1), MAX_RLP_BLOCK_SIZE + 1);
        assert!(validate_block_size(&osaka, &header, &body(data_len + 1)).is_err());
    }
}
