//! The single-pass reader of both formats.
//!
//! The top-level object is read once; `alloc` is read as genesis accounts and `accounts` as
//! state-dump accounts, whichever comes. Each account is turned into the model as soon as its
//! object ends, so the input is never held twice, and the first invalid value stops the read
//! with an error that names its account and field.

use crate::{
    AccountId, DumpAccount, GenesisAccount, GenesisError, GenesisState, SlotPart, StateDump,
    StateFile, ValueError,
    account::label,
    hex::{decode_address, decode_bytes, decode_hash, decode_word},
    json::{Failure, JsonKey, JsonScalar, Object, ObjectReader, abort},
    quantity::{quantity_u64, quantity_u256},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess};
use std::collections::BTreeMap;

/// Reads a genesis file or state dump from `read`.
///
/// # Errors
/// The first problem found, as a [`GenesisError`].
pub(crate) fn read_state_file<'de, R: serde_json::de::Read<'de>>(
    read: R,
) -> Result<StateFile, GenesisError> {
    let failure = Failure::new(None);
    let mut deserializer = serde_json::Deserializer::new(read);
    let top = Object(TopReader { failure: &failure })
        .deserialize(&mut deserializer)
        .and_then(|top| deserializer.end().map(|()| top));
    match top {
        Ok(top) => top.into_state_file(),
        Err(json) => Err(failure.take().unwrap_or(GenesisError::Json(json))),
    }
}

/// The top-level fields that matter, before the format is known.
#[derive(Debug, Default)]
struct Top<'de> {
    alloc: Option<BTreeMap<Address, GenesisAccount>>,
    accounts: Option<BTreeMap<AccountId, DumpAccount>>,
    /// A dump's claimed root.
    root: Option<JsonScalar<'de>>,
    /// A genesis file's claimed root.
    state_root: Option<JsonScalar<'de>>,
}

impl Top<'_> {
    fn into_state_file(self) -> Result<StateFile, GenesisError> {
        match (self.alloc, self.accounts) {
            (Some(accounts), None) => Ok(StateFile::Genesis(GenesisState {
                accounts,
                state_root: top_level_hash("stateRoot", self.state_root.as_ref())?,
            })),
            (None, Some(accounts)) => Ok(StateFile::Dump(StateDump {
                root: top_level_hash("root", self.root.as_ref())?,
                accounts,
            })),
            (Some(_), Some(_)) => Err(GenesisError::AmbiguousFormat),
            (None, None) => Err(GenesisError::UnknownFormat),
        }
    }
}

/// Reads a top-level hash field; absent and `null` are `None`.
fn top_level_hash(
    field: &'static str,
    value: Option<&JsonScalar<'_>>,
) -> Result<Option<B256>, GenesisError> {
    match value {
        None | Some(JsonScalar::Null) => Ok(None),
        Some(value) => hex_string(value)
            .and_then(decode_hash)
            .map(Some)
            .map_err(|reason| GenesisError::InvalidTopField { field, reason }),
    }
}

/// The string of a value that must be a hex string.
fn hex_string<'a>(value: &'a JsonScalar<'_>) -> Result<&'a str, ValueError> {
    match value {
        JsonScalar::Str(s) => Ok(s),
        other => Err(ValueError::WrongType { expected: "a hex string", found: other.kind() }),
    }
}

struct TopReader<'a> {
    failure: &'a Failure,
}

impl<'de> ObjectReader<'de> for TopReader<'_> {
    type Value = Top<'de>;

    fn failure(&self) -> &Failure {
        self.failure
    }

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let failure = self.failure;
        let duplicate = |field| abort(failure, GenesisError::DuplicateTopField { field });
        let mut top = Top::default();
        while let Some(JsonKey(key)) = map.next_key()? {
            match &*key {
                "alloc" if top.alloc.is_some() => return Err(duplicate("alloc")),
                "alloc" => top.alloc = Some(map.next_value_seed(Object(AllocReader { failure }))?),
                "accounts" if top.accounts.is_some() => return Err(duplicate("accounts")),
                "accounts" => {
                    top.accounts =
                        Some(map.next_value_seed(Object(DumpAccountsReader { failure }))?);
                }
                "root" if top.root.is_some() => return Err(duplicate("root")),
                "root" => top.root = Some(map.next_value()?),
                "stateRoot" if top.state_root.is_some() => return Err(duplicate("stateRoot")),
                "stateRoot" => top.state_root = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }

    fn wrong_type(&self, found: &'static str) -> GenesisError {
        GenesisError::NotAnObject { found }
    }
}

/// Reads a genesis `alloc`: accounts keyed by address.
struct AllocReader<'a> {
    failure: &'a Failure,
}

impl<'de> ObjectReader<'de> for AllocReader<'_> {
    type Value = BTreeMap<Address, GenesisAccount>;

    fn failure(&self) -> &Failure {
        self.failure
    }

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let failure = self.failure;
        let mut accounts = BTreeMap::new();
        while let Some(JsonKey(key)) = map.next_key()? {
            let account: &str = &key;
            let address = decode_address(account).map_err(|reason| {
                abort(failure, GenesisError::InvalidAccountKey { account: label(account), reason })
            })?;
            let reader = AccountReader { failure, account, dump_fields: false };
            let raw = map.next_value_seed(Object(reader))?;
            let state = raw.into_genesis_account(account).map_err(|e| abort(failure, e))?;
            if accounts.insert(address, state).is_some() {
                let id = AccountId::Address(address);
                return Err(abort(
                    failure,
                    GenesisError::DuplicateAccount { account: label(account), id },
                ));
            }
        }
        Ok(accounts)
    }

    fn wrong_type(&self, found: &'static str) -> GenesisError {
        let reason = ValueError::WrongType { expected: "an object", found };
        GenesisError::InvalidTopField { field: "alloc", reason }
    }
}

/// Reads a dump's `accounts`: keyed by address, or by anything when the entry has a `key`.
struct DumpAccountsReader<'a> {
    failure: &'a Failure,
}

impl<'de> ObjectReader<'de> for DumpAccountsReader<'_> {
    type Value = BTreeMap<AccountId, DumpAccount>;

    fn failure(&self) -> &Failure {
        self.failure
    }

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let failure = self.failure;
        let mut accounts = BTreeMap::new();
        while let Some(JsonKey(key)) = map.next_key()? {
            let account: &str = &key;
            let reader = AccountReader { failure, account, dump_fields: true };
            let raw = map.next_value_seed(Object(reader))?;
            let id = raw.dump_identity(account).map_err(|e| abort(failure, e))?;
            let state = raw.into_dump_account(account).map_err(|e| abort(failure, e))?;
            if accounts.insert(id, state).is_some() {
                return Err(abort(
                    failure,
                    GenesisError::DuplicateAccount { account: label(account), id },
                ));
            }
        }
        Ok(accounts)
    }

    fn wrong_type(&self, found: &'static str) -> GenesisError {
        let reason = ValueError::WrongType { expected: "an object", found };
        GenesisError::InvalidTopField { field: "accounts", reason }
    }
}

/// The account fields read; anything else is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Balance,
    Nonce,
    Code,
    Storage,
    /// Dump only: the storage root.
    Root,
    /// Dump only.
    CodeHash,
    /// Dump only: the account hash.
    Key,
    /// Dump only.
    Address,
}

impl Field {
    /// The field named `key`, if it is read (the dump-only ones only with `dump_fields`).
    fn from_key(key: &str, dump_fields: bool) -> Option<Self> {
        let field = match key {
            "balance" => Self::Balance,
            "nonce" => Self::Nonce,
            "code" => Self::Code,
            "storage" => Self::Storage,
            "root" => Self::Root,
            "codeHash" => Self::CodeHash,
            "key" => Self::Key,
            "address" => Self::Address,
            _ => return None,
        };
        (dump_fields || field.in_genesis()).then_some(field)
    }

    const fn in_genesis(self) -> bool {
        matches!(self, Self::Balance | Self::Nonce | Self::Code | Self::Storage)
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Balance => "balance",
            Self::Nonce => "nonce",
            Self::Code => "code",
            Self::Storage => "storage",
            Self::Root => "root",
            Self::CodeHash => "codeHash",
            Self::Key => "key",
            Self::Address => "address",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// An account's fields as read, before the format's rules are applied.
#[derive(Debug, Default)]
struct RawAccount {
    /// The fields seen so far, one bit per [`Field`].
    seen: u8,
    balance: Option<U256>,
    nonce: Option<u64>,
    code: Option<Bytes>,
    storage: Option<BTreeMap<B256, U256>>,
    root: Option<B256>,
    code_hash: Option<B256>,
    key: Option<B256>,
    address: Option<Address>,
}

impl RawAccount {
    /// Reads `field` from `value`; `null` leaves an optional field absent.
    fn set(&mut self, field: Field, value: &JsonScalar<'_>) -> Result<(), ValueError> {
        if matches!(value, JsonScalar::Null) && field != Field::Balance {
            return Ok(());
        }
        match field {
            Field::Balance => self.balance = Some(quantity_u256(value)?),
            Field::Nonce => self.nonce = Some(quantity_u64(value)?),
            Field::Code => self.code = Some(decode_bytes(hex_string(value)?)?),
            Field::Root => self.root = Some(decode_hash(hex_string(value)?)?),
            Field::CodeHash => self.code_hash = Some(decode_hash(hex_string(value)?)?),
            Field::Key => self.key = Some(decode_hash(hex_string(value)?)?),
            Field::Address => self.address = Some(decode_address(hex_string(value)?)?),
            // Read by `StorageReader`; never a scalar.
            Field::Storage => {}
        }
        Ok(())
    }

    fn balance(&self, account: &str) -> Result<U256, GenesisError> {
        self.balance
            .ok_or_else(|| GenesisError::MissingField { account: label(account), field: "balance" })
    }

    fn into_genesis_account(self, account: &str) -> Result<GenesisAccount, GenesisError> {
        Ok(GenesisAccount {
            balance: self.balance(account)?,
            nonce: self.nonce.unwrap_or(0),
            code: self.code.unwrap_or_default(),
            storage: self.storage.unwrap_or_default(),
        })
    }

    fn into_dump_account(self, account: &str) -> Result<DumpAccount, GenesisError> {
        Ok(DumpAccount {
            balance: self.balance(account)?,
            nonce: self.nonce.unwrap_or(0),
            code: self.code,
            storage: self.storage,
            storage_root: self.root,
            code_hash: self.code_hash,
            key: self.key,
        })
    }

    /// Which account a dump entry keyed `key` is.
    ///
    /// The `address` field, else the entry's key when it is an address, else the `key` field
    /// (the account hash), else the entry's key when it is a hash (`0x…` or geth's `pre(0x…)`).
    fn dump_identity(&self, key: &str) -> Result<AccountId, GenesisError> {
        let key_address = decode_address(key).ok();
        match (self.address, key_address) {
            (Some(address), Some(other)) if address != other => {
                Err(GenesisError::AddressMismatch { account: label(key), address })
            }
            (Some(address), _) | (None, Some(address)) => Ok(AccountId::Address(address)),
            (None, None) => self
                .key
                .or_else(|| hashed_entry_key(key))
                .map(AccountId::Hash)
                .ok_or_else(|| GenesisError::MissingIdentity { account: label(key) }),
        }
    }
}

/// An entry key that is an account hash: 64 hex digits, bare or as geth's `pre(0x…)`.
fn hashed_entry_key(key: &str) -> Option<B256> {
    let inner = key.strip_prefix("pre(").and_then(|rest| rest.strip_suffix(')')).unwrap_or(key);
    decode_hash(inner).ok()
}

/// Reads one account object.
struct AccountReader<'a> {
    failure: &'a Failure,
    /// The account's key as written, for errors.
    account: &'a str,
    /// Whether to read the dump-only fields (`root`, `codeHash`, `key`, `address`).
    dump_fields: bool,
}

impl AccountReader<'_> {
    fn field_error(&self, field: Field, reason: ValueError) -> GenesisError {
        GenesisError::InvalidField { account: label(self.account), field: field.name(), reason }
    }
}

impl<'de> ObjectReader<'de> for AccountReader<'_> {
    type Value = RawAccount;

    fn failure(&self) -> &Failure {
        self.failure
    }

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAccount, A::Error> {
        let mut raw = RawAccount::default();
        while let Some(JsonKey(key)) = map.next_key()? {
            let Some(field) = Field::from_key(&key, self.dump_fields) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if raw.seen & field.bit() != 0 {
                let account = label(self.account);
                let error = GenesisError::DuplicateField { account, field: field.name() };
                return Err(abort(self.failure, error));
            }
            raw.seen |= field.bit();
            if field == Field::Storage {
                let reader = StorageReader { failure: self.failure, account: self.account };
                raw.storage = map.next_value_seed(Object(reader))?;
            } else {
                let value: JsonScalar<'de> = map.next_value()?;
                raw.set(field, &value)
                    .map_err(|reason| abort(self.failure, self.field_error(field, reason)))?;
            }
        }
        Ok(raw)
    }

    fn wrong_type(&self, found: &'static str) -> GenesisError {
        GenesisError::NotAnAccountObject { account: label(self.account), found }
    }
}

/// Reads an account's `storage` object: slot → value, both hex words.
struct StorageReader<'a> {
    failure: &'a Failure,
    account: &'a str,
}

impl StorageReader<'_> {
    fn slot_error(&self, slot: &str, part: SlotPart, reason: ValueError) -> GenesisError {
        let account = label(self.account);
        GenesisError::InvalidStorage { account, slot: label(slot), part, reason }
    }
}

impl<'de> ObjectReader<'de> for StorageReader<'_> {
    type Value = Option<BTreeMap<B256, U256>>;

    fn failure(&self) -> &Failure {
        self.failure
    }

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let failure = self.failure;
        let mut storage = BTreeMap::new();
        while let Some(JsonKey(key)) = map.next_key()? {
            let slot = decode_word(&key)
                .map_err(|reason| abort(failure, self.slot_error(&key, SlotPart::Key, reason)))?;
            let value: JsonScalar<'de> = map.next_value()?;
            let value = hex_string(&value)
                .and_then(decode_word)
                .map_err(|reason| abort(failure, self.slot_error(&key, SlotPart::Value, reason)))?;
            if storage.insert(slot, U256::from_be_bytes(value.0)).is_some() {
                let account = label(self.account);
                return Err(abort(failure, GenesisError::DuplicateSlot { account, slot }));
            }
        }
        storage.retain(|_, value| !value.is_zero());
        Ok(Some(storage))
    }

    fn null(&self) -> Result<Self::Value, GenesisError> {
        Ok(None)
    }

    fn wrong_type(&self, found: &'static str) -> GenesisError {
        let reason = ValueError::WrongType { expected: "an object", found };
        GenesisError::InvalidField { account: label(self.account), field: "storage", reason }
    }
}
