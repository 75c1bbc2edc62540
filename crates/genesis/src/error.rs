//! Why a genesis file or state dump was rejected.
//!
//! Every variant about an account names it the way the file does (its key in `alloc` or
//! `accounts`, escaped and shortened when it is unreasonable), and every variant about a value
//! names the field it came from, so the message alone is enough to find the mistake.

use crate::{AccountId, Format};
use alloy_primitives::{Address, B256};
use snapsync_trie::TrieBuildError;
use std::path::PathBuf;

/// Why a value of a field could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The JSON value has the wrong type (a number where a string is needed, an array, ...).
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the field holds, e.g. `"a hex string"`.
        expected: &'static str,
        /// The JSON type found, e.g. `"an array"`.
        found: &'static str,
    },
    /// A number written as an empty string.
    #[error("empty string where a number is expected")]
    Empty,
    /// A character that is not a hex digit, in a hex value.
    #[error("invalid hex digit {ch:?} at position {position}")]
    InvalidHexDigit {
        /// The offending character.
        ch: char,
        /// Its byte offset in the string as written (the `0x` prefix included).
        position: usize,
    },
    /// A character that is not a decimal digit, in a decimal number.
    #[error("invalid decimal digit {ch:?} at position {position}")]
    InvalidDecimalDigit {
        /// The offending character.
        ch: char,
        /// Its byte offset in the string as written.
        position: usize,
    },
    /// Byte strings (code) need an even number of hex digits.
    #[error("odd number of hex digits ({digits})")]
    OddLength {
        /// Number of hex digits after the `0x` prefix.
        digits: usize,
    },
    /// A fixed-size value (address, hash) has the wrong number of hex digits.
    #[error("expected {expected} hex digits, found {found}")]
    WrongLength {
        /// Hex digits required (40 for an address, 64 for a hash).
        expected: usize,
        /// Hex digits found after the `0x` prefix.
        found: usize,
    },
    /// A storage key or value with more than 64 hex digits (32 bytes).
    #[error("{digits} hex digits, more than the 64 of a 32-byte word")]
    TooLong {
        /// Hex digits found after the `0x` prefix.
        digits: usize,
    },
    /// The number does not fit the field's type.
    #[error("value does not fit in {bits} bits")]
    Overflow {
        /// Width of the field: 64 for a nonce, 256 for a balance.
        bits: u32,
    },
    /// A negative number.
    #[error("negative value")]
    Negative,
    /// A JSON number with a fraction or an exponent, which cannot be an exact integer here.
    #[error("expected an integer, found the JSON number {value:?}")]
    NotAnInteger {
        /// The number as parsed.
        value: f64,
    },
    /// A JSON number above `u64::MAX`, which JSON parsers read as an inexact float.
    #[error(
        "the JSON number {value:e} is too large to read exactly (above 2^64 - 1); write it as a \
         hex or decimal string"
    )]
    NumberTooLarge {
        /// The number as parsed (already rounded).
        value: f64,
    },
}

/// Which half of a storage entry was invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotPart {
    /// The slot (the entry's key).
    Key,
    /// The slot's value.
    Value,
}

impl std::fmt::Display for SlotPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Key => "key",
            Self::Value => "value",
        })
    }
}

/// Why a genesis file or state dump could not be loaded, or its root computed.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The input is not valid JSON (the message carries the line and column).
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The top-level JSON value is not an object.
    #[error("expected a JSON object at the top level, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A top-level field that is read appears twice.
    #[error("top-level field \"{field}\" appears more than once")]
    DuplicateTopField {
        /// The field.
        field: &'static str,
    },
    /// A top-level field has an invalid value.
    #[error("field \"{field}\": {reason}")]
    InvalidTopField {
        /// The field (`"alloc"`, `"accounts"`, `"root"`, `"stateRoot"`).
        field: &'static str,
        /// What is wrong with it.
        reason: ValueError,
    },
    /// The object has neither `alloc` nor `accounts`.
    #[error(
        "unknown format: the file has neither \"alloc\" (genesis) nor \"accounts\" (state dump)"
    )]
    UnknownFormat,
    /// The object has both `alloc` and `accounts`.
    #[error(
        "ambiguous format: the file has both \"alloc\" (genesis) and \"accounts\" (state dump)"
    )]
    AmbiguousFormat,
    /// The file is valid but of the other format than the one asked for.
    #[error("expected a {expected}, found a {found}")]
    WrongFormat {
        /// The format asked for.
        expected: Format,
        /// The format of the file.
        found: Format,
    },
    /// An account entry is not a JSON object.
    #[error("account {account}: expected an object, found {found}")]
    NotAnAccountObject {
        /// The account as the file names it.
        account: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// A genesis `alloc` key is not an address.
    #[error("account {account}: the key is not an address: {reason}")]
    InvalidAccountKey {
        /// The account as the file names it.
        account: String,
        /// What is wrong with the key.
        reason: ValueError,
    },
    /// A field of an account has an invalid value.
    #[error("account {account}: field \"{field}\": {reason}")]
    InvalidField {
        /// The account as the file names it.
        account: String,
        /// The field, as spelled in the file format (`"balance"`, `"codeHash"`, ...).
        field: &'static str,
        /// What is wrong with the value.
        reason: ValueError,
    },
    /// A required account field is absent (or `null`).
    #[error("account {account}: missing field \"{field}\"")]
    MissingField {
        /// The account as the file names it.
        account: String,
        /// The missing field.
        field: &'static str,
    },
    /// An account field appears twice in the same account object.
    #[error("account {account}: field \"{field}\" appears more than once")]
    DuplicateField {
        /// The account as the file names it.
        account: String,
        /// The repeated field.
        field: &'static str,
    },
    /// A storage entry of an account is invalid.
    #[error("account {account}: field \"storage\", slot {slot}: {part}: {reason}")]
    InvalidStorage {
        /// The account as the file names it.
        account: String,
        /// The slot as the file writes it (quoted, escaped, shortened).
        slot: String,
        /// Whether the slot or its value is invalid.
        part: SlotPart,
        /// What is wrong with it.
        reason: ValueError,
    },
    /// The same storage slot is listed twice (e.g. as `0x1` and `0x01`).
    #[error("account {account}: field \"storage\": slot {slot} is listed more than once")]
    DuplicateSlot {
        /// The account as the file names it.
        account: String,
        /// The slot, as a 32-byte word.
        slot: B256,
    },
    /// The same account is listed twice (e.g. as `0xAB..` and `ab..`).
    #[error("account {account}: {id} is listed more than once")]
    DuplicateAccount {
        /// The second entry as the file names it.
        account: String,
        /// The account both entries resolve to.
        id: AccountId,
    },
    /// A state-dump entry whose key is not an address and that has neither `address` nor `key`.
    #[error(
        "account {account}: no address or account hash: the key is neither, and there is no \
         \"address\" or \"key\" field"
    )]
    MissingIdentity {
        /// The account as the file names it.
        account: String,
    },
    /// A state-dump entry whose key is an address other than its `address` field.
    #[error("account {account}: field \"address\": {address} differs from the entry's key")]
    AddressMismatch {
        /// The account as the file names it.
        account: String,
        /// The `address` field.
        address: Address,
    },
    /// Two state-dump entries resolve to the same account hash (one by address, one by hash).
    #[error("two accounts have the account hash {hash}")]
    DuplicateAccountHash {
        /// The shared hash.
        hash: B256,
    },
    /// The trie builder refused the leaves (a bug: they are sorted and non-empty by construction).
    #[error("trie construction failed: {0}")]
    Trie(#[from] TrieBuildError),
}

/// Why a chain specification could not be built from a genesis file.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// The file could not be read, or its `alloc` is invalid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The `config` object or a header field (`nonce`, `timestamp`, `gasLimit`, ...) is invalid.
    #[error("genesis config or header fields: {0}")]
    Fields(#[source] serde_json::Error),
    /// The file has no `config` object and no known network was named to supply the fork
    /// schedule (reth's genesis files for the public networks have none).
    #[error("the genesis file has no \"config\"; name the network whose fork schedule applies")]
    MissingConfig,
    /// A fork is active at genesis whose header fields this crate does not build yet.
    #[error("{fork} is active at genesis; its genesis header fields are not supported")]
    UnsupportedAtGenesis {
        /// The fork.
        fork: alloy_hardforks::EthereumHardfork,
    },
}

/// Why a chain file could not be read as a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainFileError {
    /// The file could not be opened.
    #[error("opening chain file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Reading failed.
    #[error("reading the chain file at byte {offset}: {source}")]
    Read {
        /// Where reading stopped.
        offset: u64,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The bytes at a block's start are not an RLP list.
    #[error(
        "the chain file has no block at byte {offset} (byte {prefix:#04x} does not start an RLP list)"
    )]
    NotABlock {
        /// Where the block was expected.
        offset: u64,
        /// The byte found.
        prefix: u8,
    },
    /// A block's RLP claims more bytes than a block may have.
    #[error("the block at byte {offset} claims {bytes} bytes, above the bound of {max}")]
    TooLarge {
        /// Where the block starts.
        offset: u64,
        /// Its claimed length, prefix included.
        bytes: u64,
        /// The bound.
        max: u64,
    },
    /// The file ends inside a block.
    #[error("the chain file ends inside the block at byte {offset}")]
    Truncated {
        /// Where the block starts.
        offset: u64,
    },
    /// A block does not decode (or its list holds bytes after the block).
    #[error("the block at byte {offset} does not decode: {source}")]
    Decode {
        /// Where the block starts.
        offset: u64,
        /// The failure.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A block's number is not its predecessor's + 1.
    #[error("the block at byte {offset} is number {number}, expected {}", expected.map_or_else(|| "none (the predecessor is the last possible)".to_owned(), |n| n.to_string()))]
    NotNext {
        /// Where the block starts.
        offset: u64,
        /// Its number.
        number: u64,
        /// Its predecessor's number + 1.
        expected: Option<u64>,
    },
    /// A block's parent hash is not its predecessor's hash.
    #[error(
        "block {number} does not link to its predecessor (parent {parent}, expected {expected})"
    )]
    BrokenLink {
        /// The block's number.
        number: u64,
        /// Its parent hash.
        parent: B256,
        /// The predecessor's hash.
        expected: B256,
    },
}
