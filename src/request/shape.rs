//! What each member of a request may hold, compiled once from the OpenAPI schema that `utoipa`
//! generates for [`TriageRequest`], and the check of a parsed body against it: unknown and
//! duplicate keys, `null`, missing required members, types, enumerations and the declared ranges,
//! each reported at the deepest offending member.

use super::{FieldError, TriageRequest};
use crate::json::{Json, push_pointer_token};
use crate::vocab::write_number;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;
use utoipa::{PartialSchema, ToSchema};

/// The members of an object, in the schema's order; the schema admits no others.
#[derive(Debug)]
pub(super) struct Object {
    pub members: Vec<Member>,
}

#[derive(Debug)]
pub(super) struct Member {
    pub name: String,
    pub required: bool,
    pub shape: Shape,
}

/// What one value may be.
#[derive(Debug)]
pub(super) enum Shape {
    Boolean,
    Number {
        integer: bool,
        minimum: Option<f64>,
        maximum: Option<f64>,
    },
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
    },
    /// One of these strings.
    Choice(Vec<String>),
    Array {
        items: Box<Shape>,
        max_items: Option<usize>,
    },
    Object(Object),
}

/// The request's shape, compiled on first use.
pub(super) fn request() -> &'static Object {
    static SHAPE: OnceLock<Object> = OnceLock::new();
    SHAPE.get_or_init(|| {
        let mut schemas = Vec::new();
        TriageRequest::schemas(&mut schemas);
        // Read as `Json`, which keeps the order of the properties.
        let texts: Vec<(String, String)> = schemas
            .into_iter()
            .map(|(name, schema)| (name, to_text(&schema)))
            .collect();
        let components: HashMap<&str, Json<'_>> = texts
            .iter()
            .map(|(name, text)| (name.as_str(), parse(text)))
            .collect();
        let root = to_text(&TriageRequest::schema());
        match compile(&parse(&root), &components) {
            Shape::Object(object) => object,
            other => panic!("the request schema is not an object: {other:?}"),
        }
    })
}

fn to_text(schema: &impl serde::Serialize) -> String {
    serde_json::to_string(schema).expect("a generated schema serializes")
}

fn parse(text: &str) -> Json<'_> {
    crate::json::parse(text.as_bytes()).expect("a generated schema is JSON")
}

/// The value of `key` in an object.
fn get<'j>(schema: &'j Json<'_>, key: &str) -> Option<&'j Json<'j>> {
    match schema {
        Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn text<'j>(value: Option<&'j Json<'_>>) -> Option<&'j str> {
    match value {
        Some(Json::String(text)) => Some(text),
        _ => None,
    }
}

/// Compiles one schema; `$ref`s are resolved in `components`. Panics on a construct the request
/// does not use (a test compiles the request's schema).
fn compile(schema: &Json<'_>, components: &HashMap<&str, Json<'_>>) -> Shape {
    if let Some(reference) = text(get(schema, "$ref")) {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = components
            .get(name)
            .unwrap_or_else(|| panic!("schema {name} is not generated"));
        return compile(target, components);
    }
    let number = |key: &str| match get(schema, key) {
        Some(Json::Number(number)) => Some(*number),
        _ => None,
    };
    let count = |key: &str| number(key).map(|n| n as usize);
    if let Some(Json::Array(names)) = get(schema, "enum") {
        let names = names.iter().filter_map(|name| text(Some(name)));
        return Shape::Choice(names.map(str::to_owned).collect());
    }
    match text(get(schema, "type")) {
        Some("boolean") => Shape::Boolean,
        Some(kind @ ("number" | "integer")) => Shape::Number {
            integer: kind == "integer",
            minimum: number("minimum"),
            maximum: number("maximum"),
        },
        Some("string") => Shape::String {
            min_length: count("minLength"),
            max_length: count("maxLength"),
        },
        Some("array") => {
            let items = get(schema, "items").expect("an array schema has items");
            Shape::Array {
                items: Box::new(compile(items, components)),
                max_items: count("maxItems"),
            }
        }
        Some("object") => {
            let required = |name: &str| match get(schema, "required") {
                Some(Json::Array(names)) => names.iter().any(|n| text(Some(n)) == Some(name)),
                _ => false,
            };
            let properties = match get(schema, "properties") {
                Some(Json::Object(properties)) => properties.as_slice(),
                _ => &[],
            };
            let members = properties.iter().map(|(name, property)| Member {
                name: name.to_string(),
                required: required(name),
                shape: compile(property, components),
            });
            Shape::Object(Object {
                members: members.collect(),
            })
        }
        other => panic!("schema type {other:?} is not used by the request"),
    }
}

impl Object {
    /// The shape of the member at `path` (names of nested members); panics when the schema has no
    /// such member (the request's own checks name only members of its schema).
    pub fn at(&self, path: &[&str]) -> &Shape {
        let (name, rest) = path.split_first().expect("a member's path");
        let member = (self.members.iter().find(|member| member.name == *name))
            .unwrap_or_else(|| panic!("the schema has no member {name}"));
        match (&member.shape, rest) {
            (shape, []) => shape,
            (Shape::Object(object), rest) => object.at(rest),
            (other, _) => panic!("{name} is not an object: {other:?}"),
        }
    }

    /// Checks the members of an object at `pointer`: unknown and repeated keys first, in document
    /// order, then each member of the schema in its order. Says, for each member of the schema,
    /// whether its value is valid (`None` when it is left out or `null`); an unknown or repeated
    /// key does not make the object's other values invalid.
    pub fn check_members(
        &self,
        members: &[(Cow<'_, str>, Json<'_>)],
        pointer: &str,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Option<bool>> {
        let mut first = vec![None; self.members.len()];
        for (at, (key, _)) in members.iter().enumerate() {
            let message = match self.members.iter().position(|m| m.name == *key) {
                Some(index) if first[index].is_none() => {
                    first[index] = Some(at);
                    continue;
                }
                Some(_) => "duplicate key",
                None => "unknown field",
            };
            errors.push(FieldError::new(child(pointer, key), message));
        }
        let check = |(member, at): (&Member, Option<usize>)| {
            let value = at.map(|at| &members[at].1);
            let pointer = child(pointer, &member.name);
            match value {
                None if member.required => errors.push(FieldError::new(pointer, "is required")),
                None => {}
                Some(Json::Null) => errors.push(FieldError::new(
                    pointer,
                    "must not be null; leave the field out instead",
                )),
                Some(value) => return Some(member.shape.check(value, &pointer, errors)),
            }
            None
        };
        self.members.iter().zip(first).map(check).collect()
    }

    /// Whether every member the schema requires is present with a valid value.
    fn valid(&self, states: &[Option<bool>]) -> bool {
        (self.members.iter().zip(states)).all(|(member, state)| state.unwrap_or(!member.required))
    }
}

/// `pointer` with one more reference token.
pub(super) fn child(pointer: &str, token: &str) -> String {
    let mut child = String::with_capacity(pointer.len() + token.len() + 1);
    child.push_str(pointer);
    push_pointer_token(&mut child, token);
    child
}

impl Shape {
    /// Checks one value at `pointer`; `true` when it is valid.
    pub fn check(&self, value: &Json<'_>, pointer: &str, errors: &mut Vec<FieldError>) -> bool {
        let mut fail = |message: String| {
            errors.push(FieldError::new(pointer, message));
            false
        };
        match (self, value) {
            (Shape::Boolean, Json::Bool(_)) => true,
            (Shape::Number { .. }, Json::Number(number)) => {
                self.admits_number(*number) || fail(self.limits_message())
            }
            (Shape::String { .. }, Json::String(text)) => {
                self.admits_length(text.chars().count()) || fail(self.limits_message())
            }
            (Shape::Choice(names), Json::String(text)) => {
                names.iter().any(|name| name == text)
                    || fail(format!("must be one of: {}", names.join(", ")))
            }
            (Shape::Array { items, .. }, Json::Array(values)) => {
                if !self.admits_entries(values.len()) {
                    return fail(self.limits_message());
                }
                let mut valid = true;
                for (index, value) in values.iter().enumerate() {
                    valid &= items.check(value, &child(pointer, &index.to_string()), errors);
                }
                valid
            }
            (Shape::Object(object), Json::Object(members)) => {
                let states = object.check_members(members, pointer, errors);
                object.valid(&states)
            }
            (shape, value) => fail(format!(
                "must be {}, not {}",
                shape.expected(),
                value.type_name()
            )),
        }
    }

    /// Whether a number shape admits `number`: whole when it must be, and within its range.
    pub fn admits_number(&self, number: f64) -> bool {
        match self {
            Shape::Number {
                integer,
                minimum,
                maximum,
            } => {
                (!integer || number.fract() == 0.0)
                    && minimum.is_none_or(|min| number >= min)
                    && maximum.is_none_or(|max| number <= max)
            }
            _ => false,
        }
    }

    /// Whether a string shape admits a string of `length` characters.
    pub fn admits_length(&self, length: usize) -> bool {
        match self {
            Shape::String {
                min_length,
                max_length,
            } => {
                min_length.is_none_or(|min| length >= min)
                    && max_length.is_none_or(|max| length <= max)
            }
            _ => false,
        }
    }

    /// Whether an array shape admits `count` entries.
    pub fn admits_entries(&self, count: usize) -> bool {
        match self {
            Shape::Array { max_items, .. } => max_items.is_none_or(|max| count <= max),
            _ => false,
        }
    }

    /// What a number, string or array shape admits, for a value it does not.
    pub fn limits_message(&self) -> String {
        match self {
            Shape::Number {
                integer,
                minimum,
                maximum,
            } => range_message(*integer, *minimum, *maximum),
            Shape::String {
                min_length,
                max_length,
            } => length_message(*min_length, *max_length),
            Shape::Array {
                max_items: Some(max),
                ..
            } => format!("must have at most {max} entries"),
            other => format!("must be {}", other.expected()),
        }
    }

    /// What a value of this shape is, for a type error.
    fn expected(&self) -> String {
        match self {
            Shape::Boolean => "a boolean".into(),
            Shape::Number { integer: true, .. } => "a whole number".into(),
            Shape::Number { .. } => "a number".into(),
            Shape::String { .. } => "a string".into(),
            Shape::Choice(names) => format!("one of the strings {}", names.join(", ")),
            Shape::Array { items, .. } => format!("an array of {}", items.expected_item()),
            Shape::Object(object) => {
                let required: Vec<&str> = (object.members.iter())
                    .filter(|m| m.required)
                    .map(|m| m.name.as_str())
                    .collect();
                let mut text = String::from("an object with ");
                crate::facts::write_list(&mut text, &required);
                text
            }
        }
    }

    /// What the items of an array are.
    fn expected_item(&self) -> String {
        match self {
            Shape::Choice(names) => format!("strings among {}", names.join(", ")),
            Shape::Object(_) => "objects".into(),
            other => other.expected(),
        }
    }
}

/// The message for a number out of its declared range.
pub(super) fn range_message(integer: bool, minimum: Option<f64>, maximum: Option<f64>) -> String {
    let mut message = String::from(if integer {
        "must be a whole number"
    } else {
        "must be a number"
    });
    match (minimum, maximum) {
        (Some(min), Some(max)) => {
            message.push_str(" from ");
            let _ = write_number(&mut message, min);
            message.push_str(" to ");
            let _ = write_number(&mut message, max);
        }
        (Some(min), None) => {
            message = String::from("must be at least ");
            let _ = write_number(&mut message, min);
        }
        (None, Some(max)) => {
            message.push_str(" of at most ");
            let _ = write_number(&mut message, max);
        }
        (None, None) => {}
    }
    message
}

/// The message for a string of a length the schema does not allow.
pub(super) fn length_message(min: Option<usize>, max: Option<usize>) -> String {
    format!(
        "must be a string of {} to {} characters",
        min.unwrap_or(0),
        max.map_or("any number of".to_owned(), |max| max.to_string())
    )
}
