//! The cases file: hive's snap/1 test table as data (see the fixtures README), parsed into typed
//! cases.
//!
//! Parsing is strict about what it uses and ignores what it does not: each case needs a unique
//! `name`, a known `kind` and that kind's fields and expectations; a missing or malformed one is a
//! [`ConformanceError::Case`] naming the case and the field's path. Nothing panics on any input.

use crate::{
    ConformanceError,
    fields::{self, FieldError},
};
use alloy_primitives::{B256, Bytes};
use serde_json::Value;
use std::{collections::HashSet, path::Path};

/// The `GetTrieNodes` byte budget of a case that gives none: the hive suite's.
pub const DEFAULT_TRIE_NODES_BYTES: u64 = 5000;

/// The cases of a cases file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case: a request and what its response must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The case's name, unique in its file.
    pub name: String,
    /// The request and expectations.
    pub kind: CaseKind,
}

/// The four request kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseKind {
    /// `kind: "account_range"`.
    AccountRange(AccountRangeCase),
    /// `kind: "storage_ranges"`.
    StorageRanges(StorageRangesCase),
    /// `kind: "bytecodes"`.
    ByteCodes(ByteCodesCase),
    /// `kind: "trie_nodes"`.
    TrieNodes(TrieNodesCase),
}

/// The state a request names: a fixture state by name (`"head"`, `"genesis"`) or a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootRef {
    /// A state of the fixture, by name.
    Named(String),
    /// A literal state root.
    Hash(B256),
}

/// A `GetAccountRange` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRangeCase {
    /// `root`.
    pub root: RootRef,
    /// `origin`.
    pub origin: B256,
    /// `limit`.
    pub limit: B256,
    /// `bytes`.
    pub bytes: u64,
    /// `expect.count`: the number of accounts.
    pub count: usize,
    /// `expect.first`, when given: the first account's hash.
    pub first: Option<B256>,
    /// `expect.last`, when given: the last account's hash.
    pub last: Option<B256>,
}

/// A `GetStorageRanges` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRangesCase {
    /// `root`.
    pub root: RootRef,
    /// `accounts`.
    pub accounts: Vec<B256>,
    /// `origin`: `None` when absent or empty.
    pub origin: Option<B256>,
    /// `limit`: `None` when absent or empty.
    pub limit: Option<B256>,
    /// `bytes`.
    pub bytes: u64,
    /// `expect.slots`: per account, the slots.
    pub slots: Vec<Vec<ExpectedSlot>>,
}

/// One expected slot: `{hash, value}`, `value` being the slot's RLP-decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSlot {
    /// The slot hash.
    pub hash: B256,
    /// The value, big-endian.
    pub value: Bytes,
}

/// A `GetByteCodes` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteCodesCase {
    /// `hashes`.
    pub hashes: Vec<B256>,
    /// `bytes`.
    pub bytes: u64,
    /// `expect.count`: the number of codes.
    pub count: usize,
}

/// A `GetTrieNodes` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrieNodesCase {
    /// `root`.
    pub root: RootRef,
    /// `paths`: the path sets as sent.
    pub paths: Vec<Vec<Bytes>>,
    /// `bytes`, [`DEFAULT_TRIE_NODES_BYTES`] when absent.
    pub bytes: u64,
    /// `expect`.
    pub expect: TrieNodesExpect,
}

/// What a `GetTrieNodes` case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrieNodesExpect {
    /// `expect.node_hashes`: the keccak256 of each node returned, in order.
    Nodes(Vec<B256>),
    /// `expect.reject: true`: the request is refused.
    Reject,
}

impl CaseFile {
    /// Largest cases file [`load`](Self::load) reads: 16 MiB, over 400 times hive's (37 KiB).
    /// The file is parsed as a whole, so this bounds the memory of its parse.
    pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

    /// Reads and parses the cases file at `path`, if it is at most
    /// [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES).
    ///
    /// # Errors
    /// [`ConformanceError::Io`] (past the cap too, with an
    /// [`InputTooLarge`](snapsync_genesis::InputTooLarge) source), [`ConformanceError::Json`], and for malformed content
    /// [`ConformanceError::Field`] (the top level) or [`ConformanceError::Case`].
    pub fn load(path: &Path) -> Result<Self, ConformanceError> {
        let json = snapsync_genesis::read_capped(path, Self::MAX_FILE_BYTES)
            .map_err(|source| ConformanceError::Io { path: path.to_owned(), source })?;
        Self::parse(path, &json)
    }

    /// Parses a cases file's content; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`CaseFile::load`], without the I/O.
    pub fn parse(path: &Path, json: &[u8]) -> Result<Self, ConformanceError> {
        let root: Value = serde_json::from_slice(json)
            .map_err(|source| ConformanceError::Json { path: path.to_owned(), source })?;
        let top_level = |error: FieldError| ConformanceError::Field {
            path: path.to_owned(),
            field: error.field,
            reason: error.reason,
        };
        let (cases, field) = fields::member(&root, "", "cases").map_err(top_level)?;
        let cases = fields::array(cases, &field).map_err(top_level)?;
        let mut names = HashSet::new();
        let mut parsed = Vec::with_capacity(cases.len());
        for (index, case) in cases.iter().enumerate() {
            let case = parse_case(index, case)?;
            if !names.insert(case.name.clone()) {
                return Err(ConformanceError::Case {
                    case: case.name,
                    field: "name".to_owned(),
                    reason: "another case has the same name".to_owned(),
                });
            }
            parsed.push(case);
        }
        Ok(Self { cases: parsed })
    }
}

/// Parses the `index`-th case.
fn parse_case(index: usize, case: &Value) -> Result<Case, ConformanceError> {
    let unnamed = format!("#{index}");
    let name = match fields::member(case, "", "name") {
        Ok((value, field)) => fields::string(value, &field).map(str::to_owned),
        Err(error) => Err(error),
    }
    .map_err(|error| case_error(&unnamed, error))?;
    let kind = parse_kind(case).map_err(|error| case_error(&name, error))?;
    Ok(Case { name, kind })
}

fn case_error(case: &str, error: FieldError) -> ConformanceError {
    ConformanceError::Case { case: case.to_owned(), field: error.field, reason: error.reason }
}

fn parse_kind(case: &Value) -> Result<CaseKind, FieldError> {
    let (kind, field) = fields::member(case, "", "kind")?;
    let (expect, expect_field) = fields::member(case, "", "expect")?;
    Ok(match fields::string(kind, &field)? {
        "account_range" => CaseKind::AccountRange(account_range(case, expect, &expect_field)?),
        "storage_ranges" => CaseKind::StorageRanges(storage_ranges(case, expect, &expect_field)?),
        "bytecodes" => CaseKind::ByteCodes(byte_codes(case, expect, &expect_field)?),
        "trie_nodes" => CaseKind::TrieNodes(trie_nodes(case, expect, &expect_field)?),
        other => {
            return Err(FieldError::new(
                field,
                format!(
                    "unknown kind {other:?} (expected account_range, storage_ranges, bytecodes or \
                     trie_nodes)"
                ),
            ));
        }
    })
}

/// Reads the required member `name` of `object` with `read`.
fn required<T>(
    object: &Value,
    path: &str,
    name: &str,
    read: impl FnOnce(&Value, &str) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    let (value, field) = fields::member(object, path, name)?;
    read(value, &field)
}

/// Reads the member `name` of `object` with `read`, if present.
fn optional<T>(
    object: &Value,
    path: &str,
    name: &str,
    read: impl FnOnce(&Value, &str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    fields::optional_member(object, path, name)
        .map(|(value, field)| read(value, &field))
        .transpose()
}

fn root_ref(value: &Value, field: &str) -> Result<RootRef, FieldError> {
    let text = fields::string(value, field)?;
    if text.starts_with("0x") {
        fields::hash(value, field).map(RootRef::Hash)
    } else {
        Ok(RootRef::Named(text.to_owned()))
    }
}

fn count(value: &Value, field: &str) -> Result<usize, FieldError> {
    let count = fields::integer(value, field)?;
    usize::try_from(count).map_err(|_| FieldError::new(field, format!("{count} is too large")))
}

/// An empty string means no hash (the whole trie), otherwise 32 bytes.
fn optional_hash(value: &Value, field: &str) -> Result<Option<B256>, FieldError> {
    let bytes = fields::bytes(value, field)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    fields::hash(value, field).map(Some)
}

fn account_range(case: &Value, expect: &Value, at: &str) -> Result<AccountRangeCase, FieldError> {
    Ok(AccountRangeCase {
        root: required(case, "", "root", root_ref)?,
        origin: required(case, "", "origin", fields::hash)?,
        limit: required(case, "", "limit", fields::hash)?,
        bytes: required(case, "", "bytes", fields::integer)?,
        count: required(expect, at, "count", count)?,
        first: optional(expect, at, "first", fields::hash)?,
        last: optional(expect, at, "last", fields::hash)?,
    })
}

fn storage_ranges(case: &Value, expect: &Value, at: &str) -> Result<StorageRangesCase, FieldError> {
    let slot = |value: &Value, field: &str| -> Result<ExpectedSlot, FieldError> {
        Ok(ExpectedSlot {
            hash: required(value, field, "hash", fields::hash)?,
            value: required(value, field, "value", fields::bytes)?,
        })
    };
    Ok(StorageRangesCase {
        root: required(case, "", "root", root_ref)?,
        accounts: required(case, "", "accounts", |v, f| fields::each(v, f, fields::hash))?,
        origin: optional(case, "", "origin", optional_hash)?.flatten(),
        limit: optional(case, "", "limit", optional_hash)?.flatten(),
        bytes: required(case, "", "bytes", fields::integer)?,
        slots: required(expect, at, "slots", |v, f| {
            fields::each(v, f, |v, f| fields::each(v, f, slot))
        })?,
    })
}

fn byte_codes(case: &Value, expect: &Value, at: &str) -> Result<ByteCodesCase, FieldError> {
    Ok(ByteCodesCase {
        hashes: required(case, "", "hashes", |v, f| fields::each(v, f, fields::hash))?,
        bytes: required(case, "", "bytes", fields::integer)?,
        count: required(expect, at, "count", count)?,
    })
}

fn trie_nodes(case: &Value, expect: &Value, at: &str) -> Result<TrieNodesCase, FieldError> {
    let reject = optional(expect, at, "reject", fields::boolean)?.unwrap_or(false);
    let expect = if reject {
        TrieNodesExpect::Reject
    } else {
        let hashes = required(expect, at, "node_hashes", |v, f| fields::each(v, f, fields::hash))?;
        TrieNodesExpect::Nodes(hashes)
    };
    Ok(TrieNodesCase {
        root: required(case, "", "root", root_ref)?,
        paths: required(case, "", "paths", |v, f| {
            fields::each(v, f, |v, f| fields::each(v, f, fields::bytes))
        })?,
        bytes: optional(case, "", "bytes", fields::integer)?.unwrap_or(DEFAULT_TRIE_NODES_BYTES),
        expect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<CaseFile, ConformanceError> {
        CaseFile::parse(Path::new("cases.json"), json.as_bytes())
    }

    fn message(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }

    #[test]
    fn parses_each_kind() {
        let zero = format!("0x{}", "00".repeat(32));
        let json = format!(
            r#"{{"cases": [
            {{"name": "a", "kind": "account_range", "root": "head", "origin": "{zero}",
              "limit": "{zero}", "bytes": 10, "expect": {{"count": 1, "first": "{zero}"}}}},
            {{"name": "s", "kind": "storage_ranges", "root": "{zero}", "accounts": ["{zero}"],
              "origin": "0x", "bytes": "0x20",
              "expect": {{"slots": [[{{"hash": "{zero}", "value": "0x02"}}]]}}}},
            {{"name": "c", "kind": "bytecodes", "hashes": [], "bytes": 0, "expect": {{"count": 0}}}},
            {{"name": "n", "kind": "trie_nodes", "root": "genesis", "paths": [[], ["0x00"]],
              "expect": {{"reject": true}}}}
            ]}}"#
        );
        let file = parse(&json).unwrap();
        assert_eq!(file.cases.len(), 4);
        let CaseKind::StorageRanges(storage) = &file.cases[1].kind else { panic!() };
        assert_eq!((storage.origin, storage.limit, storage.bytes), (None, None, 32));
        assert_eq!(storage.root, RootRef::Hash(B256::ZERO));
        let CaseKind::TrieNodes(nodes) = &file.cases[3].kind else { panic!() };
        assert_eq!(nodes.expect, TrieNodesExpect::Reject);
        assert_eq!(nodes.bytes, DEFAULT_TRIE_NODES_BYTES);
        assert_eq!(nodes.root, RootRef::Named("genesis".to_owned()));
    }

    #[test]
    fn errors_name_the_case_and_field() {
        assert!(message("[1]").contains("cases.json: field \"cases\": missing"));
        assert!(message("{\"cases\": {}}").contains("expected an array, found an object"));
        assert_eq!(message(r#"{"cases": [{"kind": "x"}]}"#), "case #0: field \"name\": missing");
        assert_eq!(
            message(r#"{"cases": [{"name": "x", "kind": "nope", "expect": {}}]}"#),
            "case x: field \"kind\": unknown kind \"nope\" (expected account_range, \
             storage_ranges, bytecodes or trie_nodes)"
        );
        let bad_slot = r#"{"cases": [{"name": "s", "kind": "storage_ranges", "root": "head",
            "accounts": [], "bytes": 1, "expect": {"slots": [[{"hash": "0x01", "value": "0x"}]]}}]}"#;
        assert_eq!(
            message(bad_slot),
            "case s: field \"expect.slots[0][0].hash\": expected 32 bytes of hex, found 1"
        );
        let dup = r#"{"cases": [{"name": "c", "kind": "bytecodes", "hashes": [], "bytes": 0,
            "expect": {"count": 0}}, {"name": "c", "kind": "bytecodes", "hashes": [], "bytes": 0,
            "expect": {"count": 0}}]}"#;
        assert!(message(dup).contains("another case has the same name"));
        assert!(message("{").contains("invalid JSON"));
    }
}
