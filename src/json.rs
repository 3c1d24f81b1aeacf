//! A JSON document model that keeps what `serde_json::Value` throws away: duplicate object keys.
//!
//! The contract makes a duplicate key a `422` naming it, so request bodies are read into this model
//! first, then checked field by field. Syntax errors keep only their position, never the input.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A parsed JSON value; objects keep every member in document order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
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

/// Parses a complete JSON document. `NaN`, numbers out of `f64` range and truncated input are
/// syntax errors.
pub fn parse(bytes: &[u8]) -> Result<Json, SyntaxError> {
    serde_json::from_slice(bytes).map_err(|error| SyntaxError {
        line: error.line(),
        column: error.column(),
        truncated: error.is_eof(),
    })
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        if value.is_finite() {
            Ok(Json::Number(value))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
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
        let keys: Vec<_> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "a"]);
        assert_eq!(members[2].1, Json::Null);
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
    fn pointer_tokens_are_escaped() {
        let mut pointer = String::new();
        push_pointer_token(&mut pointer, "a/b~c");
        push_pointer_token(&mut pointer, "0");
        assert_eq!(pointer, "/a~1b~0c/0");
    }
}
