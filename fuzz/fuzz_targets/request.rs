//! Fuzzes `POST /v1/triage` below HTTP: arbitrary bytes through request parsing, validation,
//! resolution and evaluation on the embedded pathway.
//!
//! The first input byte is the `trace` flag (its lowest bit); the rest is the request body.
//! Asserts: no panic; an answer is JSON with ranks 1..n and no option both offered and avoided;
//! a refusal is a 400 or 422 problem document that repeats no submitted value.

#![no_main]

use facet_triage::pathway::PathwaySet;
use facet_triage::triage::triage;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::LazyLock;

static PATHWAYS: LazyLock<PathwaySet> =
    LazyLock::new(|| PathwaySet::embedded().expect("the embedded pathway compiles"));

/// Appended to every string value of a re-written body. No fixed message contains it, so finding
/// it in a problem document means a submitted value was echoed.
const STRING_MARK: &str = "zq7fuzzmark";
/// Replaces every number of a re-written body, for the same check on numbers.
const NUMBER_MARK: f64 = 4242.4217;
const NUMBER_MARK_TEXT: &str = "4242.4217";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let trace = flags & 1 == 1;
    check(body, trace);
    check_no_echo(body, trace);
});

fn check(body: &[u8], trace: bool) {
    match triage(&PATHWAYS, body, trace) {
        Ok(outcome) => {
            let response: Value =
                serde_json::from_slice(&outcome.body).expect("an answer is valid JSON");
            let options = response["options"].as_array().expect("options is an array");
            let avoid = response["avoid"].as_array().expect("avoid is an array");
            let mut offered = HashSet::new();
            for (index, option) in options.iter().enumerate() {
                assert_eq!(
                    option["rank"].as_u64(),
                    Some(index as u64 + 1),
                    "ranks are 1..n"
                );
                let id = option["id"].as_str().expect("option id is a string");
                assert!(offered.insert(id), "option `{id}` offered twice");
            }
            for entry in avoid {
                let id = entry["id"].as_str().expect("avoid id is a string");
                assert!(
                    !offered.contains(id),
                    "option `{id}` both offered and avoided"
                );
            }
            assert_eq!(
                outcome.top_option.as_deref(),
                options.first().and_then(|o| o["id"].as_str()),
                "top_option is the first option"
            );
            assert_eq!(
                response.get("trace").is_some(),
                trace,
                "trace only when asked"
            );
        }
        Err(problem) => {
            assert!(
                matches!(problem.status, 400 | 422),
                "status {} for a bad body: {problem:?}",
                problem.status
            );
            serde_json::from_slice::<Value>(&problem.to_json()).expect("a problem is valid JSON");
        }
    }
}

/// Re-writes a JSON body with every string value marked and every number replaced by a marker,
/// then requires that a refusal of it mentions neither. Keys are left alone: pointers name them.
fn check_no_echo(body: &[u8], trace: bool) {
    if contains(body, STRING_MARK.as_bytes()) || contains(body, NUMBER_MARK_TEXT.as_bytes()) {
        return;
    }
    let Ok(mut document) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    mark(&mut document);
    let marked = serde_json::to_vec(&document).expect("a JSON value serializes");
    if let Err(problem) = triage(&PATHWAYS, &marked, trace) {
        let text = problem.to_json();
        assert!(
            !contains(&text, STRING_MARK.as_bytes())
                && !contains(&text, NUMBER_MARK_TEXT.as_bytes()),
            "a problem document repeats a submitted value: {}",
            String::from_utf8_lossy(&text)
        );
    }
}

fn mark(value: &mut Value) {
    match value {
        Value::String(text) => text.push_str(STRING_MARK),
        Value::Number(number) => {
            *number = serde_json::Number::from_f64(NUMBER_MARK).expect("finite");
        }
        Value::Array(items) => items.iter_mut().for_each(mark),
        Value::Object(members) => members.values_mut().for_each(mark),
        Value::Null | Value::Bool(_) => {}
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
