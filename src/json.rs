//! A JSON document model that keeps what `serde_json::Value` throws away: duplicate object keys.
//!
//! The contract makes a duplicate key a `422` naming it, so a request body that serde does not read
//! is read again with this model and checked field by field (`crate::request`); [`parse_members`]
//! hands over the members of a top-level object one by one. Strings and keys borrow from the input
//! unless they hold escapes. Syntax errors keep only their position, never the input.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A parsed JSON value; objects keep every member in document order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The JSON type name, for error messages that must not echo the value itself.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl Json<'_> {
    /// The same document as a `serde_json::Value`, for serde to read typed values from; a repeated
    /// key keeps its first value, and a whole number becomes an integer.
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                Value::from(*number as i64)
            }
            Json::Number(number) => Value::from(*number),
            Json::String(text) => Value::String(text.clone().into_owned()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => {
                let mut object = serde_json::Map::new();
                for (key, value) in members {
                    if !object.contains_key(key.as_ref()) {
                        object.insert(key.clone().into_owned(), value.to_value());
                    }
                }
                Value::Object(object)
            }
        }
    }
}

/// Where a body stopped being JSON. Carries the position only, so the input is never repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub truncated: bool,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.truncated {
            write!(f, "the body ends before the JSON document is complete")
        } else {
            write!(
                f,
                "the body is not valid JSON (line {}, column {})",
                self.line, self.column
            )
        }
    }
}

impl From<serde_json::Error> for SyntaxError {
    fn from(error: serde_json::Error) -> Self {
        SyntaxError {
            line: error.line(),
            column: error.column(),
            truncated: error.is_eof(),
        }
    }
}

/// Parses a complete JSON document. `NaN`, numbers out of `f64` range, truncated input and bytes
/// that are not UTF-8 are syntax errors.
pub fn parse(bytes: &[u8]) -> Result<Json<'_>, SyntaxError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(serde_json::from_str(text)?),
        Err(_) => Ok(serde_json::from_slice(bytes)?),
    }
}

/// Parses a complete JSON document like [`parse`], but hands the members of a top-level object to
/// `member` one by one, in document order, instead of collecting them. `Ok(false)` when the
/// document is valid JSON but not an object.
pub fn parse_members<'a>(
    bytes: &'a [u8],
    member: impl FnMut(Cow<'a, str>, Json<'a>),
) -> Result<bool, SyntaxError> {
    // Skip JSON's whitespace; a document that does not open an object is read whole by `parse`.
    let first = bytes
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        parse(bytes)?;
        return Ok(false);
    }
    // A body that is valid UTF-8 as a whole is read as text, so serde_json does not check each of
    // its strings again; any other body is read as bytes, which reports where the bad bytes are.
    match std::str::from_utf8(bytes) {
        Ok(text) => members(serde_json::Deserializer::from_str(text), member),
        Err(_) => members(serde_json::Deserializer::from_slice(bytes), member),
    }
}

fn members<'a, R: serde_json::de::Read<'a>>(
    mut deserializer: serde_json::Deserializer<R>,
    member: impl FnMut(Cow<'a, str>, Json<'a>),
) -> Result<bool, SyntaxError> {
    (&mut deserializer).deserialize_map(MembersVisitor(member))?;
    deserializer.end()?;
    Ok(true)
}

struct MembersVisitor<F>(F);

impl<'de, F: FnMut(Cow<'de, str>, Json<'de>)> Visitor<'de> for MembersVisitor<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            (self.0)(key, value);
        }
        Ok(())
    }
}

/// An object key, borrowed from the input unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(value)))
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json<'de>, E> {
        if value.is_finite() {
            Ok(Json::Number(value))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((Key(key), value)) = map.next_entry()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

/// Appends one RFC 6901 reference token to a JSON Pointer.
pub fn push_pointer_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicate_keys_in_order() {
        let json = parse(br#"{"a": 1, "b": true, "a": null}"#).unwrap();
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        let keys: Vec<_> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["a", "b", "a"]);
        assert_eq!(members[2].1, Json::Null);
    }

    #[test]
    fn hands_over_members_in_order_with_borrowed_keys() {
        let mut keys = Vec::new();
        let body = br#" {"a": 1, "b\u0021": "x", "a": null}"#;
        assert_eq!(parse_members(body, |key, _| keys.push(key)), Ok(true));
        assert_eq!(keys, ["a", "b!", "a"]);
        assert!(matches!(keys[0], Cow::Borrowed(_)) && matches!(keys[1], Cow::Owned(_)));
        assert_eq!(
            parse_members(b"[1, {}]", |_, _| panic!("not an object")),
            Ok(false)
        );
        let truncated = br#"{"a": [1, "#;
        assert_eq!(
            parse_members(truncated, |_, _| {}),
            parse(truncated).map(|_| true)
        );
    }

    #[test]
    fn syntax_errors_report_position_only() {
        let error = parse(b"{\"percent_relief\": NaN}").unwrap_err();
        assert!(!error.to_string().contains("NaN"));
        assert_eq!(error.line, 1);
        assert!(
            parse(b"{\"a\": 1e400}").is_err(),
            "out-of-range numbers are syntax errors"
        );
        assert!(parse(b"{\"a\": ").unwrap_err().truncated);
        assert!(parse(b"region=lumbar").is_err());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed_as_serde_json_places_them() {
        for body in [
            &b"{\"region\": \"lumb\xffar\"}"[..],
            b"{\"a\": 1,\n \"b\xc3\": 2}",
            b"\xfe{}",
            b"[\"\xe2\x82\"]",
        ] {
            let expected =
                SyntaxError::from(serde_json::from_slice::<serde_json::Value>(body).unwrap_err());
            assert_eq!(parse(body).unwrap_err(), expected, "{body:?}");
            assert_eq!(parse_members(body, |_, _| {}).unwrap_err(), expected);
        }
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        let mut pointer = String::new();
        push_pointer_token(&mut pointer, "a/b~c");
        push_pointer_token(&mut pointer, "0");
        assert_eq!(pointer, "/a~1b~0c/0");
    }
}
