//! Unit tests of request parsing and validation.

use super::*;
use crate::vocab::{DurationUnit, Guidance, ModicChanges, RedFlag};
use serde_json::Value;

fn invalid(body: &str) -> Vec<FieldError> {
    match parse(body.as_bytes()) {
        Err(RequestError::Invalid(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn the_schema_lists_every_member_in_order_with_the_required_ones() {
    let shape = shape::request();
    let names: Vec<&str> = shape.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 24);
    assert_eq!(names[..3], ["region", "procedure", "percent_relief"]);
    assert_eq!(names[22..], ["profile", "pathway"]);
    let required: Vec<&str> = (shape.members.iter().filter(|m| m.required))
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        required,
        [
            "region",
            "procedure",
            "percent_relief",
            "relief_duration",
            "radicular_symptoms"
        ]
    );
}

/// One step into a request: a member, or the first item of an array.
#[derive(Debug, Clone)]
enum Step {
    Member(String),
    Item,
}

/// Every bound the schema declares, with the values at it and just beyond it.
fn bounds(shape: &shape::Shape, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value, bool)>) {
    use serde_json::json;
    use shape::Shape;
    match shape {
        Shape::Number {
            integer,
            minimum,
            maximum,
        } => {
            // Whole numbers are written without a fraction, as integer members are read.
            let number = |x: f64| {
                if x.fract() == 0.0 {
                    json!(x as i64)
                } else {
                    json!(x)
                }
            };
            for (bound, step) in [(minimum, -1.0), (maximum, 1.0)] {
                if let Some(bound) = *bound {
                    out.push((path.clone(), number(bound), true));
                    out.push((path.clone(), number(bound + step), false));
                    out.push((path.clone(), number(bound + step / 1000.0), false));
                    if *integer {
                        out.push((path.clone(), number(bound - step / 2.0), false));
                    }
                }
            }
        }
        Shape::String {
            min_length,
            max_length,
        } => {
            for (length, step) in [(min_length, -1i64), (max_length, 1)] {
                if let Some(length) = length {
                    let text = |n: i64| json!("é".repeat(n.max(0) as usize));
                    out.push((path.clone(), text(*length as i64), true));
                    out.push((path.clone(), text(*length as i64 + step), false));
                }
            }
        }
        Shape::Array { items, max_items } => {
            if let Some(max) = max_items {
                out.push((path.clone(), json!(max), true));
                out.push((path.clone(), json!(max + 1), false));
            }
            path.push(Step::Item);
            bounds(items, path, out);
            path.pop();
        }
        Shape::Object(object) => {
            for member in &object.members {
                path.push(Step::Member(member.name.clone()));
                bounds(&member.shape, path, out);
                path.pop();
            }
        }
        Shape::Boolean | Shape::Choice(_) => {}
    }
}

/// A request that gives every member holding a bound.
fn every_bounded_member() -> Value {
    serde_json::json!({
        "region": "lumbar", "procedure": "medial_branch_block", "percent_relief": 60,
        "relief_duration": {"value": 2, "unit": "h"}, "radicular_symptoms": false,
        "block_number": 2,
        "previous_block": {"percent_relief": 50, "relief_duration": {"value": 2, "unit": "h"}},
        "pain_duration_months": 6, "conservative_care_weeks": 12,
        "time_since_procedure": {"value": 1, "unit": "wk"},
        "procedure_history": [{"procedure": "intra_articular_injection", "time_ago": {"value": 2, "unit": "wk"}}],
        "profile": "p", "pathway": "p"
    })
}

/// `value` placed at `path`; an array's length as a number means that many copies of its item.
fn with_value(mut request: Value, path: &[Step], value: Value) -> Value {
    let mut at = &mut request;
    for (index, step) in path.iter().enumerate() {
        at = match step {
            Step::Member(name) => &mut at[name.as_str()],
            Step::Item => &mut at[0],
        };
        if index + 1 == path.len()
            && let (Value::Array(items), Some(count)) = (&mut *at, value.as_u64())
        {
            *items = vec![items[0].clone(); count as usize];
            return request;
        }
    }
    *at = value;
    request
}

/// serde's reading with `TriageRequest::validate` and the check against the schema must accept
/// the same bodies, at every bound the schema declares and just beyond it.
#[test]
fn the_typed_checks_agree_with_the_schema_at_every_bound() {
    let mut probes = Vec::new();
    for member in &shape::request().members {
        let mut path = vec![Step::Member(member.name.clone())];
        bounds(&member.shape, &mut path, &mut probes);
    }
    assert!(probes.len() >= 40, "{}", probes.len());
    for (path, value, allowed) in probes {
        let body = with_value(every_bounded_member(), &path, value.clone()).to_string();
        let typed = read(body.as_bytes());
        let checked = from_json(json::parse(body.as_bytes()).unwrap());
        assert_eq!(
            typed.is_some(),
            checked.is_ok(),
            "{path:?} = {value}: {checked:?}"
        );
        if !allowed {
            assert!(checked.is_err(), "{path:?} = {value}");
        }
    }
}

/// The facts a pathway may read are the schema's members (and those of `previous_block`), with
/// the same types; only the pathway and profile ids are not facts.
#[test]
fn the_facts_are_the_members_of_the_schema() {
    use crate::facts::{FactType, Field};
    use shape::Shape;
    let mut facts = Vec::new();
    // Each member with its fact's name, and whether it is a member of the request itself.
    let mut members: Vec<(String, &shape::Member, bool)> = Vec::new();
    for member in &shape::request().members {
        members.push((member.name.clone(), member, true));
        if member.name == "previous_block"
            && let Shape::Object(block) = &member.shape
        {
            for nested in &block.members {
                members.push((format!("previous_block.{}", nested.name), nested, false));
            }
        }
    }
    for (name, member, top) in members {
        if name == "profile" || name == "pathway" {
            continue;
        }
        let field = Field::lookup(&name).unwrap_or_else(|| panic!("{name} is not a fact"));
        facts.push(field);
        let agrees = match (field.fact_type(), &member.shape) {
            (FactType::Boolean, Shape::Boolean) => true,
            (FactType::Number(_), Shape::Number { .. }) => true,
            (FactType::Choice(names), Shape::Choice(choices)) => names == choices.as_slice(),
            (FactType::ChoiceSet(names), Shape::Array { items, .. }) => {
                matches!(&**items, Shape::Choice(choices) if names == choices.as_slice())
            }
            (FactType::Duration, Shape::Object(object)) => {
                let names: Vec<&str> = object.members.iter().map(|m| m.name.as_str()).collect();
                names == ["value", "unit"]
            }
            (FactType::Group, Shape::Object(_)) => true,
            (FactType::Group, Shape::Array { items, .. }) => matches!(**items, Shape::Object(_)),
            _ => false,
        };
        assert!(
            agrees,
            "{name}: {:?} and {:?}",
            field.fact_type(),
            member.shape
        );
        if top && field.optional() {
            assert!(!member.required, "{name} is required but an optional fact");
        }
    }
    facts.sort();
    assert_eq!(facts, Field::ALL, "every fact is a member of the request");
}

fn fields(body: &str) -> Vec<String> {
    invalid(body).into_iter().map(|e| e.field).collect()
}

const MINIMAL: &str = r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":60,
    "relief_duration":{"value":2,"unit":"wk"},"radicular_symptoms":false"#;

fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}}}")
}

#[test]
fn applies_the_contract_defaults() {
    let request = parse(with("").as_bytes()).unwrap();
    assert_eq!(request.block_number(), 1);
    assert_eq!(request.guidance, Guidance::Fluoroscopy);
    assert!(!request.relief_ongoing && !request.recent_imaging && request.red_flags.is_empty());
    assert_eq!(
        request.relief_duration,
        Duration {
            value: 2.0,
            unit: DurationUnit::Week
        }
    );
}

#[test]
fn names_every_offending_field_by_pointer() {
    let got = fields(
        r#"{"region":"lumbr","procedure":"intra_articular_injection","percent_relief":-5,
        "relief_duration":{"value":1,"unit":"years"},"percent_releif":3,"red_flags":["cauda_equina",7]}"#,
    );
    assert_eq!(
        got,
        [
            "/percent_releif",
            "/region",
            "/percent_relief",
            "/relief_duration/unit",
            "/radicular_symptoms",
            "/red_flags/1"
        ]
    );
}

#[test]
fn never_echoes_submitted_values() {
    let errors = invalid(
        r#"{"region":"lumbar-73.137","procedure":41.29,"percent_relief":173.137,
        "relief_duration":{"value":-41.29,"unit":"wk"},"radicular_symptoms":"73.137"}"#,
    );
    let text = format!("{errors:?}");
    assert!(
        !text.contains("73.137") && !text.contains("41.29"),
        "{text}"
    );
}

#[test]
fn null_and_duplicates_are_field_errors() {
    assert_eq!(fields(&with(r#","anesthetic":null"#)), ["/anesthetic"]);
    assert_eq!(fields(&with(r#","region":"lumbar""#)), ["/region"]);
    assert_eq!(
        invalid(&with(r#","region":"lumbar""#))[0].message,
        "duplicate key"
    );
}

#[test]
fn rejects_fields_that_do_not_fit_the_procedure() {
    assert_eq!(fields(&with(r#","block_number":2"#)), ["/block_number"]);
    let mbb = MINIMAL.replace("intra_articular_injection", "medial_branch_block");
    let previous =
        r#","previous_block":{"percent_relief":80,"relief_duration":{"value":3,"unit":"h"}}"#;
    assert_eq!(fields(&format!("{mbb}{previous}}}")), ["/previous_block"]);
    assert!(parse(format!("{mbb}{previous},\"block_number\":2}}").as_bytes()).is_ok());
    let cervical = MINIMAL.replace("lumbar", "cervical");
    assert_eq!(
        fields(&format!("{cervical},\"sacroiliac_signs\":true}}")),
        ["/sacroiliac_signs"]
    );
    assert!(parse(format!("{cervical},\"sacroiliac_signs\":false}}").as_bytes()).is_ok());
}

#[test]
fn relief_needs_a_duration() {
    let body = MINIMAL.replace(r#""value":2"#, r#""value":0"#);
    assert_eq!(fields(&format!("{body}}}")), ["/relief_duration/value"]);
    let no_relief = body.replace(r#""percent_relief":60"#, r#""percent_relief":0"#);
    assert!(parse(format!("{no_relief}}}").as_bytes()).is_ok());
}

#[test]
fn whole_body_errors_point_at_the_root() {
    assert_eq!(fields("[1, 2]"), [""]);
    assert!(matches!(
        parse(b"{\"region\": "),
        Err(RequestError::Syntax(_))
    ));
}

#[test]
fn red_flags_are_deduplicated_in_vocabulary_order() {
    let request = parse(
        with(r#","red_flags":["suspected_fracture","cauda_equina","cauda_equina"]"#).as_bytes(),
    )
    .unwrap();
    assert_eq!(
        request.red_flags,
        [RedFlag::CaudaEquina, RedFlag::SuspectedFracture]
    );
}

#[test]
fn the_timeline_fields_are_checked_against_each_other() {
    let since = |value: u32| format!(r#","time_since_procedure":{{"value":{value},"unit":"wk"}}"#);
    assert!(parse(with(&since(2)).as_bytes()).is_ok());
    assert_eq!(fields(&with(&since(1))), ["/relief_duration"]);
    let history = |weeks: &[u32]| {
        let entries: Vec<String> = weeks
            .iter()
            .map(|w| format!(r#"{{"procedure":"radiofrequency_ablation","time_ago":{{"value":{w},"unit":"wk"}}}}"#))
            .collect();
        format!(r#","procedure_history":[{}]"#, entries.join(","))
    };
    let request = parse(with(&format!("{}{}", since(3), history(&[3, 40]))).as_bytes()).unwrap();
    assert_eq!(request.procedure_history.map(|h| h.len()), Some(2));
    assert_eq!(
        fields(&with(&format!("{}{}", since(3), history(&[40, 2])))),
        ["/procedure_history/1/time_ago"]
    );
    // Without time_since_procedure, history entries are not related to the index procedure.
    assert!(parse(with(&history(&[1])).as_bytes()).is_ok());
    let full = vec![1; max_history()];
    assert!(parse(with(&history(&full)).as_bytes()).is_ok());
    let over = vec![1; max_history() + 1];
    assert_eq!(fields(&with(&history(&over))), ["/procedure_history"]);
    assert_eq!(
        fields(&with(
            r#","procedure_history":[{"procedure":"x","time_ago":{"value":1,"unit":"wk"},"when":1}]"#
        )),
        [
            "/procedure_history/0/when",
            "/procedure_history/0/procedure"
        ]
    );
}

#[test]
fn modic_changes_and_myelopathy_are_read() {
    let request = parse(
        with(r#","modic_changes":"type_2","red_flags":["myelopathy"],"myofascial_trigger_points":true"#)
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(request.modic_changes, Some(ModicChanges::Type2));
    assert_eq!(request.red_flags, [RedFlag::Myelopathy]);
    assert!(request.myofascial_trigger_points);
    let cervical = MINIMAL.replace("lumbar", "cervical");
    assert_eq!(
        fields(&format!("{cervical},\"modic_changes\":\"none\"}}")),
        ["/modic_changes"]
    );
}
