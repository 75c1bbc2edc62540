//! Reading typed values out of JSON, with errors that name the field.
//!
//! Each reader takes the field's path (for messages) and its value, and returns the value or a
//! [`FieldError`] saying what was expected and what was found; the callers attach the file or
//! case. Hashes and byte strings are hex with an optional `0x`; integers are JSON numbers or
//! decimal or `0x`-hex strings.

use alloy_primitives::{B256, Bytes, hex};
use serde_json::Value;

/// A field that is missing or invalid: its path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) reason: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// The JSON type of `value`, for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The member `name` of `object` (whose path is `path`), which must be present and not null.
pub(crate) fn member<'a>(
    object: &'a Value,
    path: &str,
    name: &str,
) -> Result<(&'a Value, String), FieldError> {
    let field = join(path, name);
    match object.get(name) {
        None | Some(Value::Null) => Err(FieldError::new(field, "missing")),
        Some(value) => Ok((value, field)),
    }
}

/// The member `name` of `object`, if present and not null.
pub(crate) fn optional_member<'a>(
    object: &'a Value,
    path: &str,
    name: &str,
) -> Option<(&'a Value, String)> {
    object.get(name).filter(|value| !value.is_null()).map(|value| (value, join(path, name)))
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

pub(crate) fn string<'a>(value: &'a Value, field: &str) -> Result<&'a str, FieldError> {
    value.as_str().ok_or_else(|| {
        FieldError::new(field, format!("expected a string, found {}", type_name(value)))
    })
}

pub(crate) fn array<'a>(value: &'a Value, field: &str) -> Result<&'a [Value], FieldError> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| {
        FieldError::new(field, format!("expected an array, found {}", type_name(value)))
    })
}

pub(crate) fn boolean(value: &Value, field: &str) -> Result<bool, FieldError> {
    value.as_bool().ok_or_else(|| {
        FieldError::new(field, format!("expected a boolean, found {}", type_name(value)))
    })
}

/// A hex byte string (`0x` optional, an even number of digits).
pub(crate) fn bytes(value: &Value, field: &str) -> Result<Bytes, FieldError> {
    let text = string(value, field)?;
    hex::decode(text)
        .map(Bytes::from)
        .map_err(|error| FieldError::new(field, format!("{text:?} is not hex: {error}")))
}

/// A 32-byte hash in hex.
pub(crate) fn hash(value: &Value, field: &str) -> Result<B256, FieldError> {
    let decoded = bytes(value, field)?;
    B256::try_from(decoded.as_ref()).map_err(|_| {
        FieldError::new(field, format!("expected 32 bytes of hex, found {}", decoded.len()))
    })
}

/// A non-negative integer: a JSON number, or a decimal or `0x`-hex string.
pub(crate) fn integer(value: &Value, field: &str) -> Result<u64, FieldError> {
    let invalid = |what: &str| FieldError::new(field, format!("{what} is not a u64"));
    match value {
        Value::Number(number) => number.as_u64().ok_or_else(|| invalid(&number.to_string())),
        Value::String(text) => match text.strip_prefix("0x") {
            Some(digits) => u64::from_str_radix(digits, 16).map_err(|_| invalid(text)),
            None => text.parse().map_err(|_| invalid(text)),
        },
        other => {
            Err(FieldError::new(field, format!("expected an integer, found {}", type_name(other))))
        }
    }
}

/// Each element of the array `value`, read by `read` with its indexed path.
pub(crate) fn each<T>(
    value: &Value,
    field: &str,
    mut read: impl FnMut(&Value, &str) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    array(value, field)?
        .iter()
        .enumerate()
        .map(|(index, item)| read(item, &format!("{field}[{index}]")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers_name_the_field_and_the_problem() {
        assert_eq!(integer(&json!(5), "bytes"), Ok(5));
        assert_eq!(integer(&json!("0x10"), "bytes"), Ok(16));
        assert_eq!(integer(&json!("12"), "bytes"), Ok(12));
        let error = integer(&json!(-1), "bytes").unwrap_err();
        assert_eq!(error, FieldError::new("bytes", "-1 is not a u64"));
        let error = hash(&json!("0x1234"), "origin").unwrap_err();
        assert_eq!(error.reason, "expected 32 bytes of hex, found 2");
        let error = bytes(&json!("0xzz"), "paths[0][0]").unwrap_err();
        assert!(error.reason.contains("is not hex"), "{error:?}");
        let error = each(&json!(["0x00", 3]), "paths[1]", bytes).unwrap_err();
        assert_eq!(error.field, "paths[1][1]");
        assert_eq!(error.reason, "expected a string, found a number");
        let object = json!({"a": null});
        assert_eq!(member(&object, "expect", "a").unwrap_err().field, "expect.a");
    }
}
