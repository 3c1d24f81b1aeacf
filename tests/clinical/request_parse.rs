//! Property tests of the request parser against references it must agree with: serde_json's own
//! syntax errors (same line, column and truncation) for arbitrary bytes, and, for request-like
//! objects (random fields that are valid, `null` or of the wrong type, repeated and unknown keys,
//! escaped keys, random order), a reference on `serde_json::Value` of the contract's rules that
//! gives the exact errors in their order. Reading a body and validating its parsed tree agree too.

use facet_triage::json;
use facet_triage::request::{self, RequestError, TriageRequest};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::contract_fields::REQUEST_FIELDS;

const REQUIRED: [&str; 5] = [
    "region",
    "procedure",
    "percent_relief",
    "relief_duration",
    "radicular_symptoms",
];
/// The fields whose valid values are strings; their wrong type here is a number.
const STRING_FIELDS: [&str; 7] = [
    "region",
    "procedure",
    "anesthetic",
    "guidance",
    "modic_changes",
    "profile",
    "pathway",
];
const UNKNOWN: [&str; 2] = ["percent_releif", "a/b~c"];
const RED_FLAGS: [&str; 5] = [
    "cauda_equina",
    "progressive_neurological_deficit",
    "suspected_infection",
    "suspected_malignancy",
    "suspected_fracture",
];

/// A member's value, as the reference sees it.
#[derive(Debug, Clone)]
enum Kind {
    Valid(Value),
    Null,
    WrongType,
}

#[derive(Debug, Clone)]
struct Member {
    key: &'static str,
    kind: Kind,
    /// Write the key's first character as a `\u` escape.
    escaped: bool,
}

impl Member {
    fn value(&self) -> Value {
        match &self.kind {
            Kind::Valid(value) => value.clone(),
            Kind::Null => Value::Null,
            Kind::WrongType if STRING_FIELDS.contains(&self.key) => json!(7),
            Kind::WrongType => json!("x"),
        }
    }
}

fn strings(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(words).prop_map(Value::from).boxed()
}

/// A value each field accepts on its own (the rules between fields may still refuse it).
fn valid(key: &'static str) -> BoxedStrategy<Value> {
    match key {
        "region" => strings(&["lumbar", "cervical", "thoracic"]),
        "procedure" => strings(&[
            "intra_articular_injection",
            "medial_branch_block",
            "radiofrequency_ablation",
        ]),
        "percent_relief" => (0..=100u8).prop_map(Value::from).boxed(),
        "relief_duration" | "time_since_procedure" => duration().boxed(),
        "procedure_history" => prop::collection::vec(
            (
                strings(&[
                    "intra_articular_injection",
                    "medial_branch_block",
                    "radiofrequency_ablation",
                ]),
                duration(),
            )
                .prop_map(
                    |(procedure, time_ago)| json!({"procedure": procedure, "time_ago": time_ago}),
                ),
            0..3,
        )
        .prop_map(Value::from)
        .boxed(),
        "modic_changes" => strings(&["none", "type_1", "type_2"]),
        "block_number" => (1..=2u8).prop_map(Value::from).boxed(),
        "previous_block" => {
            Just(json!({"percent_relief": 50, "relief_duration": {"value": 2, "unit": "h"}}))
                .boxed()
        }
        "anesthetic" => strings(&["lidocaine", "bupivacaine", "ropivacaine", "other"]),
        "guidance" => strings(&["fluoroscopy", "ct", "ultrasound", "none"]),
        "red_flags" => prop::sample::subsequence(&RED_FLAGS[..], 0..=RED_FLAGS.len())
            .prop_map(Value::from)
            .boxed(),
        "pain_duration_months" => (0..=1_200u16).prop_map(Value::from).boxed(),
        "conservative_care_weeks" => (0..=5_200u16).prop_map(Value::from).boxed(),
        "profile" | "pathway" => Just(json!("asra-2020")).boxed(),
        _ if REQUEST_FIELDS.contains(&key) => any::<bool>().prop_map(Value::from).boxed(),
        _ => Just(json!(1)).boxed(),
    }
}

fn duration() -> impl Strategy<Value = Value> {
    (
        0..=3u8,
        prop::sample::select(&["min", "h", "d", "wk", "mo"][..]),
    )
        .prop_map(|(value, unit)| json!({"value": value, "unit": unit}))
}

/// A duration's length in seconds (`mo` is the mean month of 30.4375 days).
fn seconds(duration: &Value) -> f64 {
    let unit = match duration["unit"].as_str() {
        Some("min") => 60.0,
        Some("h") => 3_600.0,
        Some("d") => 86_400.0,
        Some("wk") => 604_800.0,
        _ => 2_629_800.0,
    };
    duration["value"].as_f64().unwrap() * unit
}

fn member(key: &'static str) -> impl Strategy<Value = Member> {
    let kind = prop_oneof![
        4 => valid(key).prop_map(Kind::Valid),
        1 => Just(Kind::Null),
        1 => Just(Kind::WrongType),
    ];
    (kind, prop::bool::weighted(0.1)).prop_map(move |(kind, escaped)| Member { key, kind, escaped })
}

/// Mostly the required fields, valid, plus a few random members; in random order.
fn request_like() -> impl Strategy<Value = Request> {
    let required: Vec<_> = REQUIRED
        .iter()
        .map(|&key| {
            prop::option::weighted(
                0.9,
                valid(key).prop_map(move |value| Member {
                    key,
                    kind: Kind::Valid(value),
                    escaped: false,
                }),
            )
        })
        .collect();
    let keys: Vec<&'static str> = REQUEST_FIELDS.iter().chain(&UNKNOWN).copied().collect();
    let extra = prop::collection::vec(prop::sample::select(keys).prop_flat_map(member), 0..7);
    let members = (required, extra)
        .prop_map(|(required, extra)| required.into_iter().flatten().chain(extra).collect())
        .prop_shuffle();
    let space = prop::sample::select(&["", " ", "\t", "\r\n"][..]);
    (members, space).prop_map(|(members, space)| Request { members, space })
}

/// Members and the whitespace around the body.
#[derive(Debug, Clone)]
struct Request {
    members: Vec<Member>,
    space: &'static str,
}

fn body(request: &Request) -> Vec<u8> {
    let Request { members, space } = request;
    let members: Vec<String> = members
        .iter()
        .map(|member| {
            let mut key = serde_json::to_string(member.key).unwrap();
            if member.escaped {
                let first = key.remove(1);
                key.insert_str(1, &format!("\\u{:04x}", u32::from(first)));
            }
            format!("{key}:{}", member.value())
        })
        .collect();
    format!("{space}{{{}}}{space}", members.join(",")).into_bytes()
}

/// An error as `(pointer, message)`, type errors reduced to the type found (the expected type's
/// wording is the parser's business).
type Expected = (String, String);

fn normalize(field: String, message: String) -> Expected {
    match message.rsplit_once(", not ") {
        Some((head, found)) if head.starts_with("must be ") => (field, wrong_type(found)),
        _ => (field, message),
    }
}

fn wrong_type(found: &str) -> String {
    format!("must be (type), not {found}")
}

fn exact(pointer: String, message: &str) -> Expected {
    (pointer, message.to_owned())
}

fn pointer(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The contract's rules for these members, written on `serde_json::Value`.
fn reference(members: &[Member]) -> Vec<Expected> {
    let mut expected = Vec::new();
    for (index, member) in members.iter().enumerate() {
        if !REQUEST_FIELDS.contains(&member.key) {
            expected.push(exact(pointer(member.key), "unknown field"));
        } else if members[..index].iter().any(|m| m.key == member.key) {
            expected.push(exact(pointer(member.key), "duplicate key"));
        }
    }
    let first = |key: &str| members.iter().find(|m| m.key == key).map(|m| &m.kind);
    for key in REQUEST_FIELDS {
        match first(key) {
            None if REQUIRED.contains(&key) => expected.push(exact(pointer(key), "is required")),
            None | Some(Kind::Valid(_)) => {}
            Some(Kind::Null) => expected.push(exact(
                pointer(key),
                "must not be null; leave the field out instead",
            )),
            Some(Kind::WrongType) if STRING_FIELDS.contains(&key) => {
                expected.push((pointer(key), wrong_type("a number")))
            }
            Some(Kind::WrongType) => expected.push((pointer(key), wrong_type("a string"))),
        }
    }
    let valid = |key: &str| match first(key) {
        Some(Kind::Valid(value)) => Some(value),
        _ => None,
    };
    let given = |key: &str| matches!(first(key), Some(Kind::Valid(_) | Kind::WrongType));
    if let (Some(percent), Some(duration)) = (valid("percent_relief"), valid("relief_duration"))
        && percent.as_f64() > Some(0.0)
        && duration["value"] == 0
    {
        expected.push(exact(
            "/relief_duration/value".into(),
            "must be greater than 0 when percent_relief is greater than 0",
        ));
    }
    let mbb_only = "is only valid when procedure is medial_branch_block";
    match valid("procedure") {
        Some(procedure) if procedure != "medial_branch_block" => {
            for key in ["block_number", "previous_block"] {
                if given(key) {
                    expected.push(exact(pointer(key), mbb_only));
                }
            }
        }
        _ => {
            let second = valid("block_number") == Some(&json!(2))
                || matches!(first("block_number"), Some(Kind::WrongType));
            if given("previous_block") && !second {
                expected.push(exact(
                    "/previous_block".into(),
                    "is only valid when block_number is 2",
                ));
            }
        }
    }
    if let (Some(region), Some(true)) = (
        valid("region"),
        valid("sacroiliac_signs").and_then(Value::as_bool),
    ) && region != "lumbar"
    {
        expected.push(exact(
            "/sacroiliac_signs".into(),
            "may be true only when region is lumbar",
        ));
    }
    if let (Some(region), Some(_)) = (valid("region"), valid("modic_changes"))
        && region != "lumbar"
    {
        expected.push(exact(
            "/modic_changes".into(),
            "is only valid when region is lumbar",
        ));
    }
    if let Some(since) = valid("time_since_procedure") {
        if let Some(relief) = valid("relief_duration")
            && seconds(relief) > seconds(since)
        {
            expected.push(exact(
                "/relief_duration".into(),
                "must not be longer than time_since_procedure",
            ));
        }
        let history = valid("procedure_history").and_then(Value::as_array);
        for (index, entry) in history.into_iter().flatten().enumerate() {
            if seconds(&entry["time_ago"]) < seconds(since) {
                expected.push(exact(
                    format!("/procedure_history/{index}/time_ago"),
                    "must not be shorter than time_since_procedure: earlier procedures come before the index one",
                ));
            }
        }
    }
    expected
}

fn check_accepted(members: &[Member], request: &TriageRequest) {
    let valid = |key: &str| {
        members
            .iter()
            .find(|m| m.key == key)
            .and_then(|m| match &m.kind {
                Kind::Valid(value) => Some(value.clone()),
                _ => None,
            })
    };
    assert_eq!(
        Some(request.percent_relief),
        valid("percent_relief").and_then(|v| v.as_f64())
    );
    assert_eq!(
        request.block_number(),
        valid("block_number").map_or(1, |v| v.as_u64().unwrap() as u8)
    );
    let flags = valid("red_flags").map_or(0, |v| v.as_array().unwrap().len());
    assert_eq!(request.red_flags.len(), flags);
    assert_eq!(
        request.profile.as_deref(),
        valid("profile").as_ref().and_then(Value::as_str)
    );
}

/// Bytes that are often almost JSON.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = b"{}[]\",: \t\n\r\x0c0123456789-+.eEtrufalsnxu\\/".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..48)
}

/// A request-like body cut short or with one byte changed.
fn damaged() -> impl Strategy<Value = Vec<u8>> {
    (
        request_like(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(request, at, byte, cut)| {
            let mut bytes = body(&request);
            let at = at.index(bytes.len());
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            bytes
        })
}

fn check_syntax(bytes: &[u8]) {
    let got = request::parse(bytes);
    match (&got, serde_json::from_slice::<Value>(bytes)) {
        (Err(RequestError::Syntax(error)), Err(reference)) => {
            assert_eq!(
                (error.line, error.column, error.truncated),
                (reference.line(), reference.column(), reference.is_eof())
            );
        }
        (Err(RequestError::Syntax(_)), Ok(_)) | (_, Err(_)) => {
            panic!("{got:?} for {:?}", String::from_utf8_lossy(bytes))
        }
        _ => {}
    }
    if let Ok(tree) = json::parse(bytes) {
        assert_eq!(got, request::from_json(tree));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn errors_match_the_reference(request in request_like()) {
        let bytes = body(&request);
        let members = &request.members;
        let expected = reference(members);
        match request::parse(&bytes) {
            Ok(accepted) => {
                prop_assert!(expected.is_empty(), "accepted; expected {expected:?}");
                check_accepted(members, &accepted);
            }
            Err(RequestError::Syntax(error)) => prop_assert!(false, "syntax error {error:?}"),
            Err(RequestError::Invalid(errors)) => {
                let got: Vec<Expected> = errors
                    .into_iter()
                    .map(|error| normalize(error.field, error.message))
                    .collect();
                prop_assert_eq!(got, expected, "{}", String::from_utf8_lossy(&bytes));
            }
        }
    }

    #[test]
    fn a_body_and_its_parsed_tree_give_the_same_answer(request in request_like()) {
        let bytes = body(&request);
        let tree = json::parse(&bytes).unwrap();
        prop_assert_eq!(request::parse(&bytes), request::from_json(tree));
    }

    #[test]
    fn syntax_errors_are_serde_jsons(bytes in prop_oneof![jsonish(), damaged()]) {
        check_syntax(&bytes);
    }
}
