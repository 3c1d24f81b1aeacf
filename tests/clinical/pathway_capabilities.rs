//! Every capability of the pathway format, one focused test each, through `triage::triage` on the
//! fixture `tests/fixtures/pathways/capabilities/capabilities.toml` (its node comments name the
//! capability each node shows). Nothing here uses the embedded clinical pathway.

use facet_triage::pathway::PathwaySet;
use facet_triage::triage::triage;
use facet_triage::wire::Served;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn pathways() -> &'static Served {
    static SET: OnceLock<Served> = OnceLock::new();
    SET.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pathways/capabilities");
        let set =
            PathwaySet::load_dir(&dir).unwrap_or_else(|errors| panic!("fixture loads:\n{errors}"));
        Served::new(Arc::new(set))
    })
}

/// A neutral request (relief 50%, one week, lumbar intra-articular) with `changes` merged in.
fn request(changes: Value) -> Value {
    let mut body = json!({
        "region": "lumbar",
        "procedure": "intra_articular_injection",
        "percent_relief": 50,
        "relief_duration": { "value": 1, "unit": "wk" },
        "radicular_symptoms": false,
    });
    let (Value::Object(base), Value::Object(changes)) = (&mut body, changes) else {
        panic!("requests are objects");
    };
    base.extend(changes);
    body
}

fn evaluate_with(changes: Value, trace: bool) -> Value {
    let body = request(changes).to_string();
    let outcome = triage(pathways(), body.as_bytes(), trace)
        .unwrap_or_else(|problem| panic!("{body} was refused: {problem:?}"));
    if !trace {
        // The direct writer (pieces serialized at load) writes what serde_json writes.
        let request = facet_triage::request::parse(body.as_bytes()).unwrap();
        let pathway = pathways().get(request.pathway.as_deref()).unwrap();
        let resolved = pathway.resolve(&request).unwrap();
        let response = facet_triage::engine::evaluate(pathway, &request, resolved, false);
        assert_eq!(
            String::from_utf8(outcome.body.clone()).unwrap(),
            serde_json::to_string(&response).unwrap()
        );
    }
    serde_json::from_slice(&outcome.body).expect("the body is JSON")
}

fn evaluate(changes: Value) -> Value {
    evaluate_with(changes, false)
}

fn ids(response: &Value, list: &str) -> Vec<String> {
    response[list]
        .as_array()
        .unwrap_or_else(|| panic!("`{list}` is an array"))
        .iter()
        .map(|item| {
            item[if list == "alerts" { "code" } else { "id" }]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn offered(response: &Value, id: &str) -> bool {
    ids(response, "options").iter().any(|o| o == id)
}

fn option<'a>(response: &'a Value, id: &str) -> &'a Value {
    response["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("`{id}` is not offered in {response}"))
}

fn position(response: &Value, id: &str) -> usize {
    ids(response, "options")
        .iter()
        .position(|o| o == id)
        .unwrap_or_else(|| panic!("`{id}` is not offered"))
}

#[test]
fn answers_with_the_fixture_pathway_and_its_default_profile() {
    let response = evaluate(json!({}));
    assert_eq!(response["pathway"]["id"], "capabilities");
    assert_eq!(response["pathway"]["version"], "0.3.1");
    assert!(
        response["pathway"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(response["profile"], "strict");
    assert_eq!(
        response["disclaimer"],
        "Test fixture, not clinical guidance."
    );
}

#[test]
fn field_against_a_constant() {
    let at = evaluate(json!({ "percent_relief": 90 }));
    assert_eq!(
        option(&at, "option-constant")["rationale"],
        "90% is at least 90."
    );
    assert!(!offered(
        &evaluate(json!({ "percent_relief": 89.99 })),
        "option-constant"
    ));
}

#[test]
fn duration_against_a_duration_after_unit_conversion() {
    for (value, unit, expected) in [
        (84, "d", true), // exactly 12 weeks
        (83, "d", false),
        (2016, "h", true), // 84 days in hours
        (2015, "h", false),
        (12, "wk", true),
        (3, "mo", true), // 91.3 days (UCUM mean month)
        (2, "mo", false),
        (120_960, "min", true),
    ] {
        let response = evaluate(json!({ "relief_duration": { "value": value, "unit": unit } }));
        assert_eq!(
            offered(&response, "option-duration"),
            expected,
            "{value} {unit}"
        );
    }
    let response = evaluate(json!({ "relief_duration": { "value": 84, "unit": "d" } }));
    assert_eq!(
        option(&response, "option-duration")["rationale"],
        "84 days is at least 12 weeks."
    );
}

#[test]
fn field_meets_the_bounds_of_the_profile_and_region() {
    // good_relief: strict >= 70 everywhere; lenient lumbar >= 40, lenient cervical > 40.
    // poor_relief: strict < 20; lenient <= 20. Neither: option-middle.
    for (profile, region, percent, expected) in [
        ("strict", "lumbar", 70.0, "option-good"),
        ("strict", "lumbar", 69.9, "option-middle"),
        ("strict", "cervical", 70.0, "option-good"),
        ("lenient", "lumbar", 40.0, "option-good"),
        ("lenient", "lumbar", 39.9, "option-middle"),
        ("lenient", "cervical", 40.0, "option-middle"),
        ("lenient", "cervical", 40.5, "option-good"),
        ("strict", "lumbar", 19.9, "option-poor"),
        ("strict", "lumbar", 20.0, "option-middle"),
        ("lenient", "lumbar", 20.0, "option-poor"),
        ("lenient", "lumbar", 20.1, "option-middle"),
    ] {
        let response =
            evaluate(json!({ "profile": profile, "region": region, "percent_relief": percent }));
        let branch: Vec<String> = ids(&response, "options")
            .into_iter()
            .filter(|id| ["option-good", "option-middle", "option-poor"].contains(&id.as_str()))
            .collect();
        assert_eq!(branch, [expected], "{profile} {region} {percent}");
        assert_eq!(response["profile"], profile);
    }
}

#[test]
fn duration_meets_a_duration_parameter() {
    let status = |value: u32| {
        let response = evaluate(
            json!({ "percent_relief": 80, "relief_duration": { "value": value, "unit": "d" } }),
        );
        let criteria = option(&response, "option-good")["criteria"]
            .as_array()
            .unwrap()
            .clone();
        let lasting = criteria
            .iter()
            .find(|c| c["id"] == "crit-lasting")
            .unwrap()
            .clone();
        assert_eq!(lasting["text"], "Relief lasting at least 12 weeks");
        lasting["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status(84), "met");
    assert_eq!(status(83), "unmet");
}

#[test]
fn field_against_a_plain_parameter_of_the_profile() {
    // blocks_needed: strict 2, lenient 1; the node also requires a medial branch block.
    for (profile, block, expected) in [
        ("strict", 1, false),
        ("strict", 2, true),
        ("lenient", 1, true),
    ] {
        let response = evaluate(json!({
            "procedure": "medial_branch_block", "block_number": block, "profile": profile,
        }));
        assert_eq!(
            offered(&response, "option-enough-blocks"),
            expected,
            "{profile} block {block}"
        );
    }
    let response = evaluate(json!({ "procedure": "medial_branch_block", "profile": "lenient" }));
    assert_eq!(
        option(&response, "option-enough-blocks")["rationale"],
        "Block 1 of the 1 Lenient needs."
    );
    assert!(!offered(
        &evaluate(json!({ "profile": "lenient" })),
        "option-enough-blocks"
    ));
}

#[test]
fn field_against_another_field() {
    let with = |now: Value| {
        evaluate(json!({
            "procedure": "medial_branch_block", "block_number": 2, "percent_relief": 80, "relief_duration": now,
            "previous_block": { "percent_relief": 80, "relief_duration": { "value": 2, "unit": "h" } },
        }))
    };
    let longer = with(json!({ "value": 3, "unit": "h" }));
    assert_eq!(ids(&longer, "alerts"), ["alert-longer"]);
    assert_eq!(
        longer["alerts"][0]["message"],
        "3 hours is longer than the 2 hours before."
    );
    assert_eq!(longer["alerts"][0]["severity"], "warning");
    // 120 minutes equals 2 hours after conversion: not longer.
    assert!(ids(&with(json!({ "value": 120, "unit": "min" })), "alerts").is_empty());
    assert!(ids(&with(json!({ "value": 1, "unit": "h" })), "alerts").is_empty());
    // Absent right-hand field: the comparison is false.
    let alone = evaluate(
        json!({ "procedure": "medial_branch_block", "block_number": 2,
        "percent_relief": 80, "relief_duration": { "value": 3, "unit": "h" } }),
    );
    assert!(ids(&alone, "alerts").is_empty());
}

#[test]
fn presence_of_an_optional_field() {
    let given = evaluate(json!({ "conservative_care_weeks": 0 }));
    assert_eq!(
        option(&given, "option-present")["rationale"],
        "0 weeks of care."
    );
    assert!(!offered(&evaluate(json!({})), "option-present"));
}

#[test]
fn any_of_over_an_array() {
    for (flags, expected) in [
        (json!(["suspected_infection"]), true),
        (json!(["suspected_fracture", "cauda_equina"]), true),
        (json!(["suspected_fracture"]), false),
        (json!([]), false),
    ] {
        let response = evaluate(json!({ "red_flags": flags.clone() }));
        assert_eq!(
            ids(&response, "alerts").contains(&"alert-flag".to_owned()),
            expected,
            "{flags}"
        );
        assert_eq!(
            ids(&response, "options")[0] == "option-urgent",
            expected,
            "{flags}"
        );
    }
    let response = evaluate(json!({ "red_flags": ["suspected_infection"] }));
    assert_eq!(
        response["alerts"][0]["message"],
        "Flag: suspected infection."
    );
    assert_eq!(response["alerts"][0]["severity"], "critical");
}

#[test]
fn one_of_a_choice() {
    for (anesthetic, expected) in [
        (Some("bupivacaine"), true),
        (Some("ropivacaine"), true),
        (Some("lidocaine"), false),
        (None, false),
    ] {
        let changes = match anesthetic {
            Some(name) => json!({ "anesthetic": name }),
            None => json!({}),
        };
        assert_eq!(
            offered(&evaluate(changes), "option-one-of"),
            expected,
            "{anesthetic:?}"
        );
    }
    let response = evaluate(json!({ "anesthetic": "ropivacaine" }));
    assert_eq!(
        option(&response, "option-one-of")["rationale"],
        "After ropivacaine."
    );
}

#[test]
fn all_any_not_and_a_named_condition() {
    // (radicular or unstable) and not guided, where `guided` is the named condition guidance != none.
    for (radicular, unstable, guidance, expected) in [
        (true, false, "none", true),
        (false, true, "none", true),
        (true, true, "none", true),
        (false, false, "none", false),
        (true, false, "fluoroscopy", false),
        (false, true, "ct", false),
    ] {
        let response = evaluate(json!({
            "radicular_symptoms": radicular, "spinal_instability": unstable, "guidance": guidance,
        }));
        assert_eq!(
            offered(&response, "option-combined"),
            expected,
            "{radicular} {unstable} {guidance}"
        );
    }
    let response = evaluate(json!({ "radicular_symptoms": true, "guidance": "none" }));
    assert_eq!(
        option(&response, "option-combined")["rationale"],
        "no image guidance."
    );
    // The named condition `good` (guided and meets good_relief) decides the assessment too.
    assert_eq!(
        evaluate(json!({ "percent_relief": 95, "guidance": "none" }))["assessment"]["response"],
        "partial"
    );
}

#[test]
fn meets_in_any_profile() {
    // Strict lumbar: 50 is below 70 but at least lenient's 40.
    let response = evaluate(json!({ "percent_relief": 50 }));
    assert_eq!(ids(&response, "alerts"), ["alert-other-profile"]);
    assert_eq!(
        response["alerts"][0]["message"],
        "50% is below at least 70% (Strict) but good under another profile."
    );
    assert!(ids(&evaluate(json!({ "percent_relief": 30 })), "alerts").is_empty());
    // Meets the request's own profile: not "another" profile.
    assert!(ids(&evaluate(json!({ "percent_relief": 75 })), "alerts").is_empty());
    // Cervical under strict: lenient needs more than 40, so 40 is good under no profile.
    assert!(
        ids(
            &evaluate(json!({ "region": "cervical", "percent_relief": 40 })),
            "alerts"
        )
        .is_empty()
    );
    assert_eq!(
        ids(
            &evaluate(json!({ "region": "cervical", "percent_relief": 41 })),
            "alerts"
        ),
        ["alert-other-profile"]
    );
}

#[test]
fn meets_in_a_named_profile() {
    // The request's profile is strict; the node reads lenient's bounds (lumbar >= 40, cervical > 40).
    assert!(offered(
        &evaluate(json!({ "percent_relief": 45 })),
        "option-named-profile"
    ));
    assert!(!offered(
        &evaluate(json!({ "percent_relief": 39 })),
        "option-named-profile"
    ));
    assert!(!offered(
        &evaluate(json!({ "region": "cervical", "percent_relief": 40 })),
        "option-named-profile"
    ));
    assert!(offered(
        &evaluate(json!({ "region": "cervical", "percent_relief": 40.5 })),
        "option-named-profile"
    ));
}

#[test]
fn suppress_removes_a_group_and_an_option_whatever_other_nodes_offer() {
    let suppressed = ["option-group-one", "option-group-two", "option-late"];
    let calm = evaluate(json!({}));
    for id in suppressed {
        assert!(offered(&calm, id), "{id} is offered without a flag");
    }
    let flagged = evaluate(json!({ "red_flags": ["cauda_equina"] }));
    for id in suppressed {
        assert!(!offered(&flagged, id), "{id} is suppressed");
        assert!(
            !ids(&flagged, "avoid").contains(&id.to_owned()),
            "suppressed is not avoided"
        );
    }
    // Options the suppressing node does not name are still offered.
    assert!(offered(&flagged, "option-borrowed"));
}

#[test]
fn avoid_wins_over_an_offer_even_from_a_later_node() {
    let avoided = evaluate(json!({ "spinal_instability": false }));
    assert!(!offered(&avoided, "option-avoided"));
    assert_eq!(ids(&avoided, "avoid"), ["option-avoided"]);
    assert_eq!(avoided["avoid"][0]["reason"], "No instability (no).");
    assert_eq!(
        avoided["avoid"][0]["title"],
        "Offered by one node, avoided by another"
    );
    assert_eq!(avoided["avoid"][0]["citations"], json!(["src-two"]));
    // When the avoid's own `when` fails, the offer stands (at its priority 600, first).
    let offered_now = evaluate(json!({ "spinal_instability": true }));
    assert_eq!(ids(&offered_now, "options")[0], "option-avoided");
    assert!(ids(&offered_now, "avoid").is_empty());
}

#[test]
fn an_option_offered_twice_keeps_its_highest_priority_and_that_offer() {
    // option-twice is offered at 100, 300 and (by a later node) 200; option-present sits at 250.
    let response = evaluate(json!({ "conservative_care_weeks": 6 }));
    let twice = option(&response, "option-twice");
    assert_eq!(twice["rationale"], "high");
    // The winning offer's citations are added after the evidence sources.
    assert_eq!(twice["citations"], json!(["src-two", "src-one"]));
    assert!(position(&response, "option-twice") < position(&response, "option-present"));
    assert_eq!(
        ids(&response, "options")
            .iter()
            .filter(|id| *id == "option-twice")
            .count(),
        1
    );
}

#[test]
fn an_offer_with_its_own_condition() {
    let ongoing = evaluate(json!({ "relief_ongoing": true }));
    assert_eq!(
        option(&ongoing, "option-when")["rationale"],
        "Relief still ongoing (yes)."
    );
    assert!(!offered(
        &evaluate(json!({ "relief_ongoing": false })),
        "option-when"
    ));
    // The node's other offers do not depend on it.
    assert!(offered(
        &evaluate(json!({ "relief_ongoing": false })),
        "option-twice"
    ));
}

#[test]
fn an_option_is_offered_only_in_the_regions_it_serves() {
    assert!(offered(
        &evaluate(json!({ "region": "lumbar" })),
        "option-lumbar-only"
    ));
    let cervical = evaluate(json!({ "region": "cervical" }));
    assert!(!offered(&cervical, "option-lumbar-only"));
    assert!(!ids(&cervical, "avoid").contains(&"option-lumbar-only".to_owned()));
}

#[test]
fn a_region_the_pathway_does_not_serve_and_an_unknown_profile_are_field_errors() {
    let body = request(json!({ "region": "thoracic", "profile": "asipp-2020" }));
    let problem = triage(pathways(), body.to_string().as_bytes(), false).unwrap_err();
    assert_eq!(problem.status, 422);
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["/profile", "/region"]);
    assert_eq!(
        problem.errors[0].message,
        "unknown profile; this pathway defines: strict, lenient"
    );
    assert_eq!(
        problem.errors[1].message,
        "is not served by this pathway, which covers: lumbar, cervical"
    );
}

#[test]
fn evidence_per_region_and_evidence_borrowed_from_another_option() {
    for region in ["lumbar", "cervical"] {
        let response = evaluate(json!({ "region": region, "percent_relief": 95 }));
        let own = option(&response, "option-constant");
        let borrowed = option(&response, "option-borrowed");
        assert_eq!(borrowed["evidence"], own["evidence"], "{region}");
        assert_eq!(borrowed["citations"], own["citations"], "{region}");
    }
    let lumbar = evaluate(json!({ "region": "lumbar", "percent_relief": 95 }));
    assert_eq!(
        option(&lumbar, "option-constant")["evidence"],
        json!([
            { "source": "src-one", "direction": "for", "level": "II", "strength": "moderate",
              "display": "Level II, moderate (Source One)", "verification": "verified" },
            { "source": "src-two", "direction": "for", "level": "B", "strength": "weak",
              "display": "Grade B for the lumbar region", "verification": "secondary" },
        ])
    );
    assert_eq!(
        option(&lumbar, "option-constant")["citations"],
        json!(["src-one", "src-two"])
    );
    let cervical = evaluate(json!({ "region": "cervical", "percent_relief": 95 }));
    assert_eq!(
        option(&cervical, "option-constant")["evidence"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        option(&cervical, "option-constant")["citations"],
        json!(["src-one"])
    );
}

#[test]
fn codes_follow_the_region() {
    let lumbar = evaluate(json!({ "region": "lumbar", "percent_relief": 95 }));
    assert_eq!(
        option(&lumbar, "option-constant")["codes"],
        json!([
            { "system": "urn:test:codes", "code": "L-1", "display": "Lumbar code" },
            { "system": "urn:test:codes", "code": "L-2", "display": "Lumbar add-on code", "add_on": true },
        ])
    );
    let cervical = evaluate(json!({ "region": "cervical", "percent_relief": 95 }));
    assert_eq!(
        option(&cervical, "option-constant")["codes"],
        json!([{ "system": "urn:test:codes", "code": "C-1" }])
    );
    // No codes: an empty list.
    assert_eq!(option(&lumbar, "option-borrowed")["codes"], json!([]));
}

#[test]
fn against_evidence_follows_the_for_evidence_and_justifies_the_avoid() {
    let offered = evaluate(json!({ "spinal_instability": true }));
    let evidence = &option(&offered, "option-avoided")["evidence"];
    assert_eq!(evidence[0]["direction"], "for", "{evidence}");
    assert_eq!(evidence[0]["source"], "src-one", "{evidence}");
    assert_eq!(evidence[1]["direction"], "against", "{evidence}");
    assert_eq!(
        evidence[1]["display"], "Against: D, strong (Source Two)",
        "{evidence}"
    );
    let avoided = evaluate(json!({ "spinal_instability": false }));
    let entry = avoided["avoid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "option-avoided")
        .unwrap();
    assert_eq!(entry["citations"], json!(["src-two"]));
    assert_eq!(entry["evidence"], json!([evidence[1].clone()]));
    // Every avoid entry carries `evidence`, empty when it cites no `against` entry.
    for entry in avoided["avoid"].as_array().unwrap() {
        assert!(entry["evidence"].is_array(), "{entry}");
    }
}

#[test]
fn ties_break_by_evidence_strength_then_invasiveness_then_id() {
    let response = evaluate(json!({}));
    let all = ids(&response, "options");
    let ties: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|id| id.starts_with("option-tie-"))
        .collect();
    assert_eq!(
        ties,
        [
            "option-tie-strong",
            "option-tie-weak-zero",
            "option-tie-weak-a",
            "option-tie-weak-b"
        ]
    );
    // All four share priority 10 and are the lowest, so they close the list in that order.
    assert_eq!(&all[all.len() - 4..], ties.as_slice());
    let ranks: Vec<u64> = response["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>());
}

#[test]
fn priority_orders_before_anything_else() {
    // option-good (500) ranks above option-duration (400) though its evidence is no stronger.
    let response =
        evaluate(json!({ "percent_relief": 75, "relief_duration": { "value": 13, "unit": "wk" } }));
    assert!(position(&response, "option-good") < position(&response, "option-duration"));
    assert!(position(&response, "option-duration") < position(&response, "option-twice"));
}

#[test]
fn criteria_are_met_unmet_or_unknown_and_follow_the_profile() {
    let criteria = |changes: Value| -> Vec<(String, String, String)> {
        let response = evaluate(changes);
        option(&response, "option-good")["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                    c["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let strict = criteria(json!({ "percent_relief": 75, "pain_duration_months": 4 }));
    let expected = |items: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        items
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(
        strict,
        expected(&[
            ("crit-relief", "met", "Relief of at least 70% (Strict)"),
            ("crit-lasting", "unmet", "Relief lasting at least 12 weeks"),
            ("crit-pain-months", "met", "Pain for at least 3 months"),
            (
                "crit-never-known",
                "unknown",
                "Something the request cannot tell"
            ),
        ])
    );
    assert_eq!(
        criteria(json!({ "percent_relief": 75, "pain_duration_months": 2 }))[2].1,
        "unmet"
    );
    assert_eq!(criteria(json!({ "percent_relief": 75 }))[2].1, "unknown");
    // Profile-only criterion, and parameter text rendered per profile and region.
    let lenient = criteria(json!({
        "profile": "lenient", "region": "cervical", "percent_relief": 41, "radicular_symptoms": true,
    }));
    assert_eq!(
        lenient[0],
        (
            "crit-relief".into(),
            "met".into(),
            "Relief of more than 40% (Lenient)".into()
        )
    );
    assert_eq!(
        lenient[4],
        (
            "crit-lenient-only".into(),
            "unmet".into(),
            "Reported under the lenient profile only".into()
        )
    );
    assert_eq!(lenient.len(), 5);
}

#[test]
fn assessment_takes_the_first_entry_that_holds_with_its_template() {
    let positive = evaluate(json!({ "procedure": "medial_branch_block", "percent_relief": 75 }));
    assert_eq!(
        positive["assessment"],
        json!({ "response": "positive",
                "summary": "75% after the medial branch block meets at least 70% (Strict) {positive}." })
    );
    let negative = evaluate(json!({ "percent_relief": 10 }));
    assert_eq!(
        negative["assessment"],
        json!({ "response": "negative", "summary": "10% is poor (less than 20%)." })
    );
    let partial = evaluate(json!({ "percent_relief": 50 }));
    assert_eq!(
        partial["assessment"],
        json!({ "response": "partial", "summary": "50% is in between." })
    );
}

#[test]
fn alerts_are_ordered_by_severity() {
    // Raised in node order flag (critical), other-profile (info), longer (warning).
    let response = evaluate(json!({
        "procedure": "medial_branch_block", "block_number": 2, "percent_relief": 50,
        "relief_duration": { "value": 3, "unit": "h" }, "red_flags": ["cauda_equina"],
        "previous_block": { "percent_relief": 80, "relief_duration": { "value": 2, "unit": "h" } },
    }));
    assert_eq!(
        ids(&response, "alerts"),
        ["alert-flag", "alert-longer", "alert-other-profile"]
    );
}

#[test]
fn trace_lists_the_walk_with_facts_parameters_and_branches() {
    assert!(
        evaluate(json!({ "percent_relief": 75 }))
            .get("trace")
            .is_none()
    );
    let response = evaluate_with(
        json!({ "percent_relief": 75, "red_flags": ["cauda_equina"] }),
        true,
    );
    let trace = response["trace"].as_array().expect("trace is present");
    let walk: Vec<&str> = trace
        .iter()
        .map(|step| step["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        walk,
        [
            "flags",
            "avoid-first",
            "constant",
            "duration",
            "response",
            "good",
            "other-profile",
            "named-profile",
            "blocks",
            "field-vs-field",
            "present",
            "one-of",
            "combined",
            "merge",
            "merge-again",
            "always",
        ]
    );
    let flags = &trace[0];
    assert_eq!(flags["title"], "Red flags");
    assert_eq!(flags["rules"], json!(["T1"]));
    assert_eq!(flags["applied"], true);
    assert_eq!(flags["facts"], json!({ "red_flags": ["cauda_equina"] }));
    assert_eq!(flags["offered"], json!(["option-urgent"]));
    assert_eq!(flags["alerts"], json!(["alert-flag"]));
    assert_eq!(
        flags["suppressed"],
        json!(["option-group-one", "option-group-two", "option-late"])
    );
    assert_eq!(flags["next"], "avoid-first");
    let constant = &trace[2];
    assert_eq!(constant["applied"], false);
    assert_eq!(constant["facts"], json!({ "percent_relief": 75.0 }));
    assert!(constant.get("offered").is_none());
    let decision = &trace[4];
    assert_eq!(decision["branch"], "branch 1: good relief");
    assert_eq!(decision["next"], "good");
    assert_eq!(
        decision["parameters"],
        json!({ "good_relief": "at least 70%", "poor_relief": "less than 20%" })
    );
    assert_eq!(
        decision["facts"],
        json!({ "percent_relief": 75.0, "guidance": "fluoroscopy" })
    );
    assert!(trace.last().unwrap().get("next").is_none());
    // An unlabelled branch is described; no branch is "otherwise".
    let poor = evaluate_with(json!({ "percent_relief": 10 }), true);
    assert_eq!(
        poor["trace"][4]["branch"],
        "branch 2: percent_relief meets poor_relief"
    );
    let middle = evaluate_with(json!({ "percent_relief": 50 }), true);
    assert_eq!(middle["trace"][4]["branch"], "otherwise");
    assert_eq!(middle["trace"][5]["node"], "middle");
}

#[test]
fn the_trace_changes_nothing_else() {
    let changes = json!({ "percent_relief": 75, "red_flags": ["cauda_equina"], "conservative_care_weeks": 3 });
    let mut traced = evaluate_with(changes.clone(), true);
    traced.as_object_mut().unwrap().remove("trace");
    assert_eq!(traced, evaluate(changes));
}
