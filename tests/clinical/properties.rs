//! Property tests on the embedded pathway: no input makes the parser or the engine panic; every valid
//! request (contract 4.1, cross-field rules respected) gets a well-formed answer; the compiled
//! conditions the engine evaluates agree with the reference semantics; and two separate processes
//! give the same bytes.

use facet_triage::facts::Facts;
use facet_triage::pathway::condition::Context;
use facet_triage::pathway::program::When;
use facet_triage::pathway::{Pathway, PathwaySet, Route};
use facet_triage::request;
use facet_triage::triage::triage;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::condition_reference;
use crate::contract_fields::REQUEST_FIELDS;
use crate::embedded::pathways;

const REGIONS: &[&str] = &["lumbar", "cervical", "thoracic"];
const PROCEDURES: &[&str] = &[
    "intra_articular_injection",
    "medial_branch_block",
    "radiofrequency_ablation",
];
const UNITS: &[&str] = &["min", "h", "d", "wk", "mo"];
const ANESTHETICS: &[&str] = &["lidocaine", "bupivacaine", "ropivacaine", "other"];
const GUIDANCE: &[&str] = &["fluoroscopy", "ct", "ultrasound", "none"];
const RED_FLAGS: &[&str] = &[
    "cauda_equina",
    "progressive_neurological_deficit",
    "myelopathy",
    "suspected_infection",
    "suspected_malignancy",
    "suspected_fracture",
];
const PROFILES: &[&str] = &["asipp-2020", "cms-lcd", "asra-2020", "bmj-2025"];
const MODIC: &[&str] = &["none", "type_1", "type_2"];

fn pick(words: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(words)
}

/// Percentages, with the thresholds and their neighbours well represented.
fn percent() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..=100.0f64,
        (0..=100u8).prop_map(f64::from),
        prop::sample::select(vec![0.0, 29.9, 30.0, 49.9, 50.0, 50.5, 79.9, 80.0, 100.0]),
    ]
}

/// A relief duration; positive when the relief is.
fn duration(relief: f64) -> impl Strategy<Value = Value> {
    let amount = prop_oneof![
        0.0..600.0f64,
        (0..=600u16).prop_map(f64::from),
        prop::sample::select(vec![0.0, 1.0, 4.0, 12.0, 26.0, 84.0]),
    ];
    (amount, pick(UNITS)).prop_map(move |(value, unit)| {
        let value = if relief > 0.0 && value == 0.0 {
            0.5
        } else {
            value
        };
        json!({ "value": value, "unit": unit })
    })
}

/// A previous block's result: percent, duration and maybe an anesthetic.
fn previous_block() -> impl Strategy<Value = Value> {
    percent().prop_flat_map(|relief| {
        (duration(relief), prop::option::of(pick(ANESTHETICS))).prop_map(
            move |(relief_duration, anesthetic)| {
                let mut block =
                    json!({ "percent_relief": relief, "relief_duration": relief_duration });
                if let Some(anesthetic) = anesthetic {
                    block["anesthetic"] = json!(anesthetic);
                }
                block
            },
        )
    })
}

/// Any valid request of contract 4.1, every optional field sometimes present.
fn valid_request() -> impl Strategy<Value = Value> {
    let core = (pick(REGIONS), pick(PROCEDURES), percent()).prop_flat_map(
        |(region, procedure, relief)| {
            (
                Just((region, procedure, relief)),
                duration(relief),
                any::<bool>(),
                prop::option::of(any::<bool>()),
                prop::option::of((1..=2u8, prop::option::of(previous_block()))),
                prop::option::of(any::<bool>()),
            )
        },
    );
    let context = (
        prop::option::of(pick(ANESTHETICS)),
        prop::option::of(pick(GUIDANCE)),
        prop::option::of(prop::collection::vec(pick(RED_FLAGS), 0..4)),
        prop::option::of(prop_oneof![0.0..240.0f64, (0..=24u8).prop_map(f64::from)]),
        prop::option::of(prop_oneof![0.0..60.0f64, (0..=24u8).prop_map(f64::from)]),
        prop::option::of(pick(PROFILES)),
        prop::option::of(Just("facet-pain")),
    );
    let flags = prop::array::uniform5(prop::option::of(any::<bool>()));
    // time_since_procedure as the relief duration plus some more of its unit; history entries
    // further back still.
    let timeline = (
        prop::option::of(0.0..60.0f64),
        prop::option::of(prop::collection::vec(
            (pick(PROCEDURES), 0.0..30.0f64),
            0..6,
        )),
        prop::option::of(pick(MODIC)),
        prop::option::of(any::<bool>()),
    );
    (core, context, flags, timeline).prop_map(
        |(
            ((region, procedure, relief), relief_duration, radicular, ongoing, block, sacroiliac),
            (anesthetic, guidance, red_flags, pain_months, care_weeks, profile, pathway),
            flags,
            (since_extra, history, modic, trigger_points),
        )| {
            let relief_value = relief_duration["value"].as_f64().unwrap_or(0.0);
            let unit = relief_duration["unit"].clone();
            let mut body = Map::new();
            body.insert("region".into(), json!(region));
            body.insert("procedure".into(), json!(procedure));
            body.insert("percent_relief".into(), json!(relief));
            body.insert("relief_duration".into(), relief_duration);
            body.insert("radicular_symptoms".into(), json!(radicular));
            let mut optional = |name: &str, value: Option<Value>| {
                if let Some(value) = value {
                    body.insert(name.into(), value);
                }
            };
            optional("relief_ongoing", ongoing.map(Value::from));
            // block_number and previous_block: medial branch blocks only; previous_block with block 2.
            if let (Some((number, previous)), "medial_branch_block") = (block, procedure) {
                optional("block_number", Some(json!(number)));
                if number == 2 {
                    optional("previous_block", previous);
                }
            }
            // sacroiliac_signs may be true in the lumbar region only.
            optional(
                "sacroiliac_signs",
                sacroiliac.map(|flag| json!(flag && region == "lumbar")),
            );
            optional("anesthetic", anesthetic.map(Value::from));
            optional("guidance", guidance.map(Value::from));
            optional("red_flags", red_flags.map(|flags| json!(flags)));
            optional("pain_duration_months", pain_months.map(Value::from));
            optional("conservative_care_weeks", care_weeks.map(Value::from));
            optional("profile", profile.map(Value::from));
            optional("pathway", pathway.map(Value::from));
            let since = since_extra.map(|extra| relief_value + extra);
            optional(
                "time_since_procedure",
                since.map(|value| json!({ "value": value, "unit": unit })),
            );
            optional(
                "procedure_history",
                history.map(|entries| {
                    (entries.iter())
                        .map(|(procedure, extra)| {
                            let ago = since.unwrap_or(relief_value) + extra;
                            json!({ "procedure": procedure, "time_ago": { "value": ago, "unit": unit } })
                        })
                        .collect()
                }),
            );
            // modic_changes: lumbar only.
            optional(
                "modic_changes",
                modic.filter(|_| region == "lumbar").map(Value::from),
            );
            optional("myofascial_trigger_points", trigger_points.map(Value::from));
            let names = [
                "recent_imaging",
                "rfa_contraindicated",
                "psychosocial_risk",
                "spinal_instability",
            ];
            for (name, flag) in names.iter().zip(flags) {
                optional(name, flag.map(Value::from));
            }
            Value::Object(body)
        },
    )
}

/// Any JSON value, biased towards the words and shapes a request uses.
fn any_json() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        pick(REGIONS),
        pick(PROCEDURES),
        pick(UNITS),
        pick(RED_FLAGS),
        pick(PROFILES),
        field_name(),
    ]
    .prop_map(|w| w.to_owned());
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        (-10.0..200.0f64).prop_map(Value::from),
        word.clone().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// The members of a duration (`relief_duration`).
const DURATION_FIELDS: [&str; 2] = ["value", "unit"];

/// Any member name of a request, top-level or of a duration, each as likely.
fn field_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        REQUEST_FIELDS.len() as u32 => pick(&REQUEST_FIELDS),
        DURATION_FIELDS.len() as u32 => pick(&DURATION_FIELDS),
    ]
}

/// Checks a refusal: a client error, never a 5xx.
fn assert_client_error(status: u16) {
    assert!(status == 400 || status == 422, "status {status}");
}

fn check_well_formed(body: &[u8]) {
    let response: Value = serde_json::from_slice(body).expect("the body is JSON");
    let sources: HashSet<&str> = pathways()
        .default_pathway()
        .sources
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let options = response["options"].as_array().unwrap();
    let ranks: Vec<u64> = options
        .iter()
        .map(|o| o["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=options.len() as u64).collect::<Vec<_>>());
    let offered: Vec<&str> = options.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(
        offered.iter().collect::<HashSet<_>>().len(),
        offered.len(),
        "unique ids: {offered:?}"
    );
    let avoided: Vec<&str> = response["avoid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(avoided.iter().collect::<HashSet<_>>().len(), avoided.len());
    for id in &offered {
        assert!(!avoided.contains(id), "{id} is offered and avoided");
    }
    for option in options {
        let evidence = option["evidence"].as_array().unwrap();
        assert!(!evidence.is_empty(), "{} has evidence", option["id"]);
        for entry in evidence {
            assert!(sources.contains(entry["source"].as_str().unwrap()));
        }
        let citations = option["citations"].as_array().unwrap();
        assert!(!citations.is_empty(), "{} has citations", option["id"]);
        for citation in citations {
            assert!(sources.contains(citation.as_str().unwrap()), "{citation}");
        }
        assert!(!option["rationale"].as_str().unwrap().is_empty());
    }
    for avoid in response["avoid"].as_array().unwrap() {
        for citation in avoid["citations"].as_array().unwrap() {
            assert!(sources.contains(citation.as_str().unwrap()), "{citation}");
        }
    }
    assert!(
        ["positive", "partial", "negative"]
            .contains(&response["assessment"]["response"].as_str().unwrap())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = request::parse(&bytes);
        if let Err(problem) = triage(pathways(), &bytes, false) {
            assert_client_error(problem.status);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let bytes = value.to_string().into_bytes();
        let _ = request::parse(&bytes);
        match triage(pathways(), &bytes, true) {
            Ok(outcome) => check_well_formed(&outcome.body),
            Err(problem) => assert_client_error(problem.status),
        }
    }

    /// A valid request with one member replaced, removed or added: a refusal or an answer.
    #[test]
    fn damaged_requests_never_panic(
        request in valid_request(),
        name in field_name(),
        replacement in prop::option::of(any_json()),
    ) {
        let mut request = request;
        let object = request.as_object_mut().unwrap();
        match replacement {
            Some(value) => { object.insert(name.to_owned(), value); }
            None => { object.remove(name); }
        }
        match triage(pathways(), request.to_string().as_bytes(), false) {
            Ok(outcome) => check_well_formed(&outcome.body),
            Err(problem) => assert_client_error(problem.status),
        }
    }

    /// A string where the request has another value (or an unknown enum word) is refused, and the
    /// problem document never repeats it: request values are patient data.
    #[test]
    fn refusals_never_echo_a_submitted_value(
        request in valid_request(),
        name in field_name(),
        nested in any::<bool>(),
        secret in "[a-z]{12}",
    ) {
        let mut request = request;
        if nested && name == "unit" {
            request["relief_duration"]["unit"] = json!(secret);
        } else {
            request[name] = json!(secret);
        }
        let problem = triage(pathways(), request.to_string().as_bytes(), false)
            .expect_err("a random word is no valid value");
        assert_client_error(problem.status);
        let document = String::from_utf8(problem.to_json()).unwrap();
        assert!(!document.contains(&secret), "the problem echoes a value: {document}");
    }

    #[test]
    fn valid_requests_get_well_formed_answers(request in valid_request()) {
        let body = request.to_string();
        let outcome = triage(pathways(), body.as_bytes(), false)
            .unwrap_or_else(|problem| panic!("{body} was refused: {problem:?}"));
        check_well_formed(&outcome.body);
        // The trace adds a member and changes nothing else.
        let traced = triage(pathways(), body.as_bytes(), true).unwrap();
        let mut traced: Value = serde_json::from_slice(&traced.body).unwrap();
        assert!(traced.as_object_mut().unwrap().remove("trace").is_some());
        assert_eq!(traced, serde_json::from_slice::<Value>(&outcome.body).unwrap());
        // The direct response writer writes exactly what serde_json writes.
        let request = facet_triage::request::parse(body.as_bytes()).unwrap();
        let pathway = pathways().default_pathway();
        let resolved = pathway.resolve(&request).unwrap();
        let response = facet_triage::engine::evaluate(pathway, &request, resolved, false);
        assert_eq!(outcome.body, serde_json::to_vec(&response).unwrap());
    }

    /// Under every profile, the single answer (whose R26 check walks only the profiles that may
    /// walk differently, and those only for its own options) raises the alerts the comparison
    /// (which walks every profile in full) gives that profile.
    #[test]
    fn each_profile_answers_as_the_comparison_says(request in valid_request()) {
        let parsed = request::parse(request.to_string().as_bytes()).unwrap();
        let pathway = pathways().default_pathway();
        let slot = pathway.resolve(&parsed).unwrap().region_slot;
        let comparison = facet_triage::engine::compare(pathway, &parsed, slot);
        for entry in &comparison.profiles {
            let mut single = request.clone();
            single["profile"] = json!(entry.profile);
            let outcome = triage(pathways(), single.to_string().as_bytes(), false).unwrap();
            let answer: Value = serde_json::from_slice(&outcome.body).unwrap();
            let codes: Vec<&str> = (answer["alerts"].as_array().unwrap().iter())
                .map(|alert| alert["code"].as_str().unwrap())
                .collect();
            prop_assert_eq!(&codes, &entry.alerts, "{} under {}", request, entry.profile);
        }
    }
}

/// The embedded pathway and the fixture pathways.
fn every_pathway() -> &'static [std::sync::Arc<Pathway>] {
    static ALL: OnceLock<Vec<std::sync::Arc<Pathway>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pathways");
        let mut all: Vec<_> = pathways().iter().cloned().collect();
        for dir in ["capabilities", "other"] {
            let set = PathwaySet::load_dir(&fixtures.join(dir))
                .unwrap_or_else(|errors| panic!("fixture {dir} loads:\n{errors}"));
            all.extend(set.iter().cloned());
        }
        all
    })
}

/// Every condition of a pathway, wherever it stands.
fn conditions(pathway: &Pathway) -> Vec<&When> {
    let mut all = Vec::new();
    for node in &pathway.nodes {
        all.extend(&node.guard);
        all.extend(node.offers.iter().filter_map(|offer| offer.when.as_ref()));
        all.extend(node.avoids.iter().filter_map(|avoid| avoid.when.as_ref()));
        if let Route::Decide { branches, .. } = &node.route {
            all.extend(branches.iter().map(|branch| &branch.when));
        }
    }
    all.extend(pathway.assessments.iter().filter_map(|a| a.when.as_ref()));
    for criterion in &pathway.criteria {
        all.extend(&criterion.unknown_when);
        all.extend(&criterion.met_when);
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The compiled programs and the reference semantics (`condition_reference`) agree on every condition, under every profile
    /// and region of every pathway.
    #[test]
    fn compiled_conditions_agree_with_the_reference(request in valid_request()) {
        let request = request::parse(request.to_string().as_bytes()).unwrap();
        let facts = Facts::from_request(&request);
        for pathway in every_pathway() {
            let whens = conditions(pathway);
            assert!(!whens.is_empty());
            for profile in 0..pathway.profiles.len() {
                for slot in 0..pathway.regions.len() {
                    let ctx = Context::new(pathway, &facts, profile, slot);
                    for when in &whens {
                        prop_assert_eq!(
                            when.holds(&ctx),
                            condition_reference::holds(&when.condition, &ctx),
                            "{} ({}, slot {}): {:?}",
                            pathway.id,
                            pathway.profiles[profile].id,
                            slot,
                            when.condition
                        );
                    }
                }
            }
        }
    }
}

fn evaluate_in_a_process(body: &str, trace: bool) -> Vec<u8> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_facet-triage"));
    command.arg("evaluate").env_remove("FACET_TRIAGE_PATHWAYS");
    if trace {
        command.arg("--trace");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn two_processes_give_the_same_bytes(request in valid_request(), trace in any::<bool>()) {
        let body = request.to_string();
        let first = evaluate_in_a_process(&body, trace);
        let second = evaluate_in_a_process(&body, trace);
        prop_assert_eq!(&first, &second);
        // And the same bytes as this process, plus the final newline.
        let mut here = triage(pathways(), body.as_bytes(), trace).unwrap().body;
        here.push(b'\n');
        prop_assert_eq!(first, here);
    }
}
