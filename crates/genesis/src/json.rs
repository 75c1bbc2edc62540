//! Serde plumbing: JSON values read without interpretation, and objects read with context.
//!
//! serde's own type errors know nothing of the account they occurred in. So the readers here
//! accept any JSON value ([`JsonScalar`]) and leave its interpretation to plain functions that
//! return [`ValueError`](crate::ValueError); the caller, which knows the account and the field,
//! turns that into a [`GenesisError`]. To abort the parse with such an error, it is parked in a
//! [`Failure`] slot and a generic serde error is returned; the entry point then returns the parked
//! error instead of serde's.

use crate::GenesisError;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::{borrow::Cow, cell::Cell, fmt};

/// Where a reader parks the structured error it aborts the parse with.
pub(crate) type Failure = Cell<Option<GenesisError>>;

/// Parks `error` in `failure` and returns a serde error that aborts the parse.
pub(crate) fn abort<E: de::Error>(failure: &Failure, error: GenesisError) -> E {
    let serde_error = E::custom(&error);
    failure.set(Some(error));
    serde_error
}

/// An object key, borrowed from the input when it has no escapes.
#[derive(Debug)]
pub(crate) struct JsonKey<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = JsonKey<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonKey(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonKey(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(JsonKey(Cow::Owned(v)))
    }
}

/// Any JSON value, with strings and numbers kept and arrays and objects skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonScalar<'de> {
    /// A string, borrowed from the input when it has no escapes.
    Str(Cow<'de, str>),
    /// A non-negative integer that fits `u64`.
    Unsigned(u64),
    /// A negative integer.
    Negative(i64),
    /// Any other number: with a fraction or exponent, or beyond the 64-bit range.
    Float(f64),
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
    /// An array (its contents skipped).
    Array,
    /// An object (its contents skipped).
    Object,
}

impl JsonScalar<'_> {
    /// The JSON type, for messages: `"a string"`, `"an array"`, ...
    pub(crate) const fn kind(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Unsigned(_) | Self::Negative(_) | Self::Float(_) => "a number",
            Self::Bool => "a boolean",
            Self::Null => "null",
            Self::Array => "an array",
            Self::Object => "an object",
        }
    }
}

impl<'de> de::Deserialize<'de> for JsonScalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = JsonScalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonScalar::Bool)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).map_or(JsonScalar::Negative(v), JsonScalar::Unsigned))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(JsonScalar::Unsigned(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(JsonScalar::Float(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonScalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonScalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(JsonScalar::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonScalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonScalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonScalar::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonScalar::Object)
    }
}

/// Reads the entries of a JSON object, knowing what to say when the value is not one.
pub(crate) trait ObjectReader<'de>: Sized {
    /// What the object is read into.
    type Value;

    /// The slot to park a structured error in.
    fn failure(&self) -> &Failure;

    /// Reads the object's entries.
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error>;

    /// The value for `null`, or the error for it.
    fn null(&self) -> Result<Self::Value, GenesisError> {
        Err(self.wrong_type("null"))
    }

    /// The error for a value of JSON type `found` that is not an object.
    fn wrong_type(&self, found: &'static str) -> GenesisError;
}

/// Deserializes a JSON object with an [`ObjectReader`]; any other value aborts the parse with the
/// reader's structured error.
pub(crate) struct Object<R>(pub(crate) R);

impl<'de, R: ObjectReader<'de>> DeserializeSeed<'de> for Object<R> {
    type Value = R::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<R> Object<R> {
    fn reject<'de, E: de::Error>(self, found: &'static str) -> Result<R::Value, E>
    where
        R: ObjectReader<'de>,
    {
        let error = self.0.wrong_type(found);
        Err(abort(self.0.failure(), error))
    }
}

impl<'de, R: ObjectReader<'de>> Visitor<'de> for Object<R> {
    type Value = R::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.read(map)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.null().map_err(|error| abort(self.0.failure(), error))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.reject("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.reject("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.reject("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.reject("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.reject("a string")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.reject("an array")
    }
}
