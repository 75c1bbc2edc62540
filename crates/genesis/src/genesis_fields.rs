//! The top-level fields of a genesis file other than `alloc`: the chain `config` (geth's keys,
//! read by `alloy-genesis`) and the values that go into the genesis header.
//!
//! `alloc` is skipped here without being built (serde's unknown-field skipping); the accounts
//! are read by [`StateFile`](crate::StateFile), which bounds and checks them.

use crate::ChainSpecError;
use alloy_genesis::ChainConfig;
use alloy_primitives::{Address, B256, Bytes, U256};
use serde::Deserialize;

/// A genesis file's `config` and header fields, as written (absent ones `None` or defaulted).
///
/// Numbers are read as `alloy-serde` quantities: `0x` hex or decimal strings, or JSON integers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesisFields {
    /// The chain configuration (chain id, fork blocks and times, TTD, blob schedule, deposit
    /// contract), when the file has one.
    #[serde(default)]
    pub config: Option<ChainConfig>,
    /// The header's nonce (8 bytes).
    #[serde(default, with = "alloy_serde::quantity")]
    pub nonce: u64,
    /// The header's timestamp.
    #[serde(default, with = "alloy_serde::quantity")]
    pub timestamp: u64,
    /// The header's extra data.
    #[serde(default)]
    pub extra_data: Bytes,
    /// The header's gas limit (required).
    #[serde(with = "alloy_serde::quantity")]
    pub gas_limit: u64,
    /// The header's difficulty (required).
    pub difficulty: U256,
    /// The header's mix hash (`mixHash`; hoodi's file spells it `mixhash`).
    #[serde(default, alias = "mixhash")]
    pub mix_hash: B256,
    /// The header's beneficiary.
    #[serde(default)]
    pub coinbase: Address,
    /// The base fee, if the file sets one (otherwise 1 gwei when London is active at genesis).
    #[serde(default, with = "alloy_serde::quantity::opt")]
    pub base_fee_per_gas: Option<u64>,
    /// The excess blob gas, if set (otherwise 0 when Cancun is active at genesis).
    #[serde(default, with = "alloy_serde::quantity::opt")]
    pub excess_blob_gas: Option<u64>,
    /// The blob gas used, if set (otherwise 0 when Cancun is active at genesis).
    #[serde(default, with = "alloy_serde::quantity::opt")]
    pub blob_gas_used: Option<u64>,
    /// The block number (0 when absent, as in every real genesis file).
    #[serde(default, with = "alloy_serde::quantity::opt")]
    pub number: Option<u64>,
    /// The gas used (0 when absent).
    #[serde(default, with = "alloy_serde::quantity::opt")]
    pub gas_used: Option<u64>,
    /// The parent hash (zero when absent).
    #[serde(default)]
    pub parent_hash: Option<B256>,
}

impl GenesisFields {
    /// Reads the fields from a genesis file held in memory.
    ///
    /// # Errors
    ///
    /// [`ChainSpecError::Fields`] for invalid JSON or an invalid or missing field.
    pub fn from_slice(json: &[u8]) -> Result<Self, ChainSpecError> {
        serde_json::from_slice(json).map_err(ChainSpecError::Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_hex_quantities_and_the_lowercase_mixhash_are_read() {
        let json = br#"{"nonce":"0x1234","timestamp":"1695902100","extraData":"","gasLimit":"0x17D7840",
            "difficulty":"0x01","mixhash":"0x0000000000000000000000000000000000000000000000000000000000000001",
            "alloc":{"00":{"balance":"1"}}}"#;
        let fields = GenesisFields::from_slice(json).unwrap();
        assert_eq!(fields.nonce, 0x1234);
        assert_eq!(fields.timestamp, 1_695_902_100);
        assert_eq!(fields.gas_limit, 0x17D_7840);
        assert_eq!(fields.difficulty, U256::from(1));
        assert_eq!(fields.mix_hash, B256::with_last_byte(1));
        assert!(fields.config.is_none());
    }

    #[test]
    fn invalid_or_missing_fields_are_errors() {
        for json in [
            &br#"{"gasLimit":"0xzz","difficulty":"0x1"}"#[..],
            br#"{"difficulty":"0x1"}"#,
            br#"{"gasLimit":"0x1","difficulty":"0x1","config":{"chainId":"many"}}"#,
            br#"{"gasLimit":"0x1","difficulty":"0x1","timestamp":"0x1ffffffffffffffff"}"#,
            br#"[1,2]"#,
        ] {
            assert!(
                matches!(GenesisFields::from_slice(json), Err(ChainSpecError::Fields(_))),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }
}
