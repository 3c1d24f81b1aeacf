//! CDS Hooks 2.0 through the HTTP router: the fixture bundles of `tests/fixtures/cds/` (one per
//! mapping path), the order-select fixtures of `tests/fixtures/cds/order-select/`, the contract's
//! `cds-example.json`, discovery, feedback and errors. Every response
//! is checked against the JSON Schemas of `tests/fixtures/cds/schemas/` and the invariants
//! cds-resp-1..7; every emitted FHIR resource is written to `target/tmp/cds-fhir/` for
//! `.ci/validate-fhir.js`, which checks it against the official FHIR R4 JSON schema.

use crate::shared::pathways;
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use facet_triage::http::{AppState, CdsConfig, router, router_with_cds};
use facet_triage::pathway::PathwaySet;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;

const SERVICE: &str = "/cds-services/facet-pain-next-step";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cds");

fn app() -> axum::Router {
    router(AppState::shared(pathways()))
}

struct Reply {
    status: u16,
    media: String,
    bytes: Vec<u8>,
    json: Value,
}

async fn send_to(
    app: axum::Router,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    media: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(media) = media {
        request = request.header(header::CONTENT_TYPE, media);
    }
    let response = app
        .oneshot(
            request
                .body(body.map_or_else(Body::empty, Body::from))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        media,
        bytes,
        json,
    }
}

async fn post(path: &str, body: &Value) -> Reply {
    send_to(
        app(),
        "POST",
        path,
        Some(serde_json::to_vec(body).unwrap()),
        Some("application/json"),
    )
    .await
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(FIXTURES).join("schemas").join(name);
    jsonschema::validator_for(&read_json(&path))
        .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"))
}

static REQUEST_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| schema("cds-hooks-request.schema.json"));
static RESPONSE_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| schema("cds-hooks-response.schema.json"));
static DISCOVERY_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| schema("cds-hooks-discovery.schema.json"));
static FEEDBACK_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| schema("cds-hooks-feedback.schema.json"));

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Where the invariants cds-resp-1..7 (and the no-null/no-empty rule) are broken.
fn invariant_errors(response: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    empty_or_null(response, "", true, &mut errors);
    let cards = response["cards"].as_array().cloned().unwrap_or_default();
    for (c, card) in cards.iter().enumerate() {
        let suggestions = card["suggestions"].as_array().cloned().unwrap_or_default();
        let recommended = suggestions
            .iter()
            .filter(|s| s["isRecommended"] == true)
            .count();
        if card["selectionBehavior"] == "at-most-one" && recommended > 1 {
            errors.push(format!(
                "cds-resp-1: card {c} recommends {recommended} suggestions"
            ));
        }
        if !suggestions.is_empty() && card.get("selectionBehavior").is_none() {
            errors.push(format!(
                "cds-resp-6: card {c} has suggestions but no selectionBehavior"
            ));
        }
        if let Some(summary) = card["summary"].as_str()
            && summary.chars().count() >= 140
        {
            errors.push(format!("card {c}: summary has 140 characters or more"));
        }
        for reason in card["overrideReasons"].as_array().into_iter().flatten() {
            if reason.get("display").is_none() {
                errors.push(format!(
                    "cds-resp-4: card {c} has an override reason without display"
                ));
            }
        }
        for link in card["links"].as_array().into_iter().flatten() {
            if link.get("appContext").is_some() && link["type"] != "smart" {
                errors.push(format!(
                    "cds-resp-3: card {c} has appContext on a non-smart link"
                ));
            }
        }
        for (s, suggestion) in suggestions.iter().enumerate() {
            if let Some(behavior) = suggestion.get("actionSelectionBehavior")
                && !["all", "any", "at-most-one"].contains(&behavior.as_str().unwrap_or(""))
            {
                errors.push(format!("cds-resp-7: card {c} suggestion {s}"));
            }
            for action in suggestion["actions"].as_array().into_iter().flatten() {
                if action.get("description").is_none() {
                    errors.push(format!(
                        "cds-resp-5: card {c} suggestion {s} action without description"
                    ));
                }
                if action["type"] == "delete"
                    && (action.get("resourceId").is_none() || action.get("resource").is_some())
                {
                    errors.push(format!("cds-resp-2: card {c} suggestion {s} delete action"));
                }
                if let Some(resource) = action.get("resource")
                    && !resource.is_object()
                {
                    errors.push(format!(
                        "card {c} suggestion {s}: resource is not an object"
                    ));
                }
            }
        }
    }
    errors
}

/// Optional members are omitted, never `null`, `""`, `[]` or `{}` (the top-level `cards` may be `[]`).
fn empty_or_null(value: &Value, path: &str, top: bool, errors: &mut Vec<String>) {
    match value {
        Value::Null => errors.push(format!("{path} is null")),
        Value::String(s) if s.is_empty() => errors.push(format!("{path} is an empty string")),
        Value::Array(items) => {
            if items.is_empty() && !(top && path == "/cards") {
                errors.push(format!("{path} is an empty array"));
            }
            for (i, item) in items.iter().enumerate() {
                empty_or_null(item, &format!("{path}/{i}"), false, errors);
            }
        }
        Value::Object(members) => {
            if members.is_empty() {
                errors.push(format!("{path} is an empty object"));
            }
            for (key, member) in members {
                empty_or_null(
                    member,
                    &format!("{path}/{key}"),
                    top && path.is_empty(),
                    errors,
                );
            }
        }
        _ => {}
    }
}

/// Every problem with a CDS Hooks response.
fn response_errors(response: &Value) -> Vec<String> {
    let mut errors = schema_errors(&RESPONSE_SCHEMA, response);
    errors.extend(invariant_errors(response));
    errors
}

/// Writes a FHIR resource for `.ci/validate-fhir.js`.
fn dump_fhir(name: &str, resource: &Value) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cds-fhir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_vec_pretty(resource).unwrap(),
    )
    .unwrap();
}

fn dump_service_requests(name: &str, response: &Value) -> usize {
    let mut count = 0;
    for card in response["cards"].as_array().into_iter().flatten() {
        for suggestion in card["suggestions"].as_array().into_iter().flatten() {
            for action in suggestion["actions"].as_array().into_iter().flatten() {
                if let Some(resource) = action.get("resource") {
                    count += 1;
                    dump_fhir(&format!("{name}-service-request-{count}"), resource);
                }
            }
        }
    }
    count
}

fn options_card(response: &Value) -> Option<&Value> {
    response["cards"]
        .as_array()?
        .iter()
        .find(|card| card["extension"].get("org.facet-triage.options").is_some())
}

/// Option ids in rank order (orders and advice alike), from the card's extension.
fn ranked_ids(card: &Value) -> Vec<String> {
    card["extension"]["org.facet-triage.options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Option ids in suggestion order, read through the card's extension.
fn suggested_ids(card: &Value) -> Vec<String> {
    let options = card["extension"]["org.facet-triage.options"]
        .as_array()
        .unwrap();
    card["suggestions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            options
                .iter()
                .find(|o| o["suggestion"] == s["uuid"])
                .and_then(|o| o["id"].as_str())
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

fn same_json(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-9 * a.abs().max(1.0)
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same_json(v, w))
        }
        _ => expected == actual,
    }
}

/// Every problem with one fixture's answer.
async fn check_fixture(name: &str, fixture: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let request = &fixture["request"];
    let expect = &fixture["expect"];
    for error in schema_errors(&REQUEST_SCHEMA, request) {
        problems.push(format!(
            "request fixture breaks the request schema: {error}"
        ));
    }
    let reply = post(SERVICE, request).await;
    if reply.status != expect["status"].as_u64().unwrap() as u16 {
        problems.push(format!(
            "status {} (expected {})",
            reply.status, expect["status"]
        ));
        return problems;
    }
    let response = &reply.json;
    if reply.status != 200 {
        if response["resourceType"] != "OperationOutcome" || reply.media != "application/fhir+json"
        {
            problems.push(format!(
                "error is not an OperationOutcome: {} {response}",
                reply.media
            ));
        }
        dump_fhir(&format!("{name}-operation-outcome"), response);
        let named: Vec<&str> = response["issue"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|issue| issue["expression"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        for expected in expect["operation_outcome_expressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !named.contains(&expected.as_str().unwrap()) {
                problems.push(format!(
                    "OperationOutcome does not name {expected}: {named:?}"
                ));
            }
        }
        return problems;
    }
    for error in response_errors(response) {
        problems.push(format!("response: {error}"));
    }
    let cards = response["cards"].as_array().unwrap();
    if let Some(count) = expect["cards"].as_u64()
        && cards.len() as u64 != count
    {
        problems.push(format!("{} cards (expected {count})", cards.len()));
    }
    for needle in expect["info_card_mentions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let found = cards.iter().any(|c| {
            c["indicator"] == "info"
                && c["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains(needle.as_str().unwrap())
        });
        if !found {
            problems.push(format!("no info card mentions {needle}"));
        }
    }
    if let Some(indicator) = expect.get("first_card_indicator")
        && cards.first().map(|c| &c["indicator"]) != Some(indicator)
    {
        problems.push(format!("first card is not {indicator}"));
    }
    for alert in expect["alert_cards"].as_array().into_iter().flatten() {
        let found = cards.iter().any(|c| {
            c["indicator"] == alert["indicator"]
                && c["extension"]["org.facet-triage.alert"] == alert["code"]
        });
        if !found {
            problems.push(format!("no alert card {alert}"));
        }
    }
    if let Some(expected_alerts) = expect["alert_cards"].as_array() {
        let alert_cards = cards
            .iter()
            .filter(|c| c["extension"].get("org.facet-triage.alert").is_some())
            .count();
        if alert_cards != expected_alerts.len() {
            problems.push(format!(
                "{alert_cards} alert cards (expected {})",
                expected_alerts.len()
            ));
        }
    }
    let Some(top) = expect.get("top_option") else {
        return problems;
    };
    let Some(card) = options_card(response) else {
        problems.push("no options card".into());
        return problems;
    };
    let ranked = ranked_ids(card);
    if ranked.first() != top.as_str().map(str::to_owned).as_ref() {
        problems.push(format!("top option {:?} (expected {top})", ranked.first()));
    }
    let ids = suggested_ids(card);
    let suggestions = card["suggestions"].as_array().cloned().unwrap_or_default();
    for (suggestion, id) in suggestions.iter().zip(&ids) {
        let first = ranked.first() == Some(id);
        if (suggestion["isRecommended"] == true) != first {
            problems.push(format!(
                "{id}: only the suggestion of the pathway's first option is isRecommended"
            ));
        }
    }
    if !suggestions.is_empty() && card["selectionBehavior"] != "at-most-one" {
        problems.push("selectionBehavior is not at-most-one".into());
    }
    let mut last = 0;
    for id in expect["options_in_order"].as_array().into_iter().flatten() {
        match ranked.iter().position(|i| i == id.as_str().unwrap()) {
            Some(position) if position >= last => last = position,
            _ => problems.push(format!("{id} missing or out of order in {ranked:?}")),
        }
    }
    for id in expect["absent_options"].as_array().into_iter().flatten() {
        if ranked.iter().any(|i| i == id.as_str().unwrap()) {
            problems.push(format!("{id} is suggested but should be avoided"));
        }
    }
    if let Some(expected) = expect.get("request") {
        // The fixture's procedures lie in the past: the time since the index one is always known.
        // The history is compared by procedure; its times run to the call.
        let mapped = &card["extension"]["org.facet-triage.request"];
        if !same_json(expected, &request_without_clock(mapped))
            || !mapped["time_since_procedure"]["value"]
                .as_f64()
                .is_some_and(|v| v > 0.0)
        {
            problems.push(format!("mapped request {mapped} (expected {expected})"));
        }
    }
    if let Some(assessment) = expect.get("assessment")
        && &card["extension"]["org.facet-triage.assessment"] != assessment
    {
        problems.push(format!(
            "assessment {} (expected {assessment})",
            card["extension"]["org.facet-triage.assessment"]
        ));
    }
    let pathway = pathways().default_pathway().clone();
    if card["extension"]["org.facet-triage.pathway"]
        != json!({"id": pathway.id, "version": pathway.version, "digest": pathway.digest})
    {
        problems.push("options card does not name the pathway's id, version and digest".into());
    }
    if card["links"]
        .as_array()
        .is_none_or(|links| links.is_empty())
    {
        problems.push("options card has no links to the pathway's sources".into());
    }
    let region = facet_triage::vocab::Region::parse(
        card["extension"]["org.facet-triage.request"]["region"]
            .as_str()
            .unwrap_or(""),
    )
    .unwrap();
    let slot = pathway.region_slot(region).unwrap();
    let patient = format!(
        "Patient/{}",
        request["context"]["patientId"].as_str().unwrap()
    );
    let orderable: Vec<&String> = ranked
        .iter()
        .filter(|id| {
            let option = pathway.options.iter().find(|o| &o.id == *id).unwrap();
            !option.codes[slot].is_empty()
        })
        .collect();
    if ids.iter().collect::<Vec<_>>() != orderable {
        problems.push(format!(
            "suggestions {ids:?} are not the orderable options in rank order {orderable:?}"
        ));
    }
    let detail = card["detail"].as_str().unwrap_or("");
    for id in ranked.iter().filter(|id| !orderable.contains(id)) {
        let option = pathway.options.iter().find(|o| &o.id == id).unwrap();
        if !detail.contains("advice, not an order") || !detail.contains(&option.title) {
            problems.push(format!("{id}: advice is not listed in the detail"));
        }
    }
    if !detail.contains("| Evidence for | Evidence against |") {
        problems.push("the options table does not show evidence for and against apart".into());
    }
    for id in &ranked {
        let option = pathway.options.iter().find(|o| &o.id == id).unwrap();
        let against = option.evidence[slot]
            .iter()
            .filter(|e| e.direction == facet_triage::vocab::Direction::Against);
        for entry in against {
            if !detail.contains(&entry.display) {
                problems.push(format!(
                    "{id}: the evidence against ({}) is not shown in the detail",
                    entry.display
                ));
            }
        }
    }
    if card["overrideReasons"].as_array().is_none_or(Vec::is_empty) {
        problems.push("options card has no overrideReasons".into());
    }
    for (suggestion, id) in suggestions.iter().zip(&ids) {
        let option = pathway.options.iter().find(|o| &o.id == id).unwrap();
        // One procedure per order: the first code of each system that is not an add-on.
        let mut systems = Vec::new();
        let codes: Vec<Value> = option.codes[slot]
            .iter()
            .filter(|c| !c.add_on)
            .filter(|c| {
                let first = !systems.contains(&c.system);
                systems.push(c.system.clone());
                first
            })
            .map(|c| json!({"system": c.system, "code": c.code, "display": c.display}))
            .collect();
        let actions = suggestion["actions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if actions.is_empty() {
            problems.push(format!("{id}: a suggestion without an action"));
        }
        for action in &actions {
            let resource = &action["resource"];
            if action["type"] != "create"
                || resource["resourceType"] != "ServiceRequest"
                || resource["status"] != "draft"
                || resource["code"]["coding"] != Value::Array(codes.clone())
                || resource["subject"]["reference"] != patient
                || resource.get("reasonReference").is_some()
            {
                problems.push(format!("{id}: the action is not a draft ServiceRequest with the option's primary code: {action}"));
            }
            let user = request["context"]["userId"].as_str().unwrap_or("");
            let practitioner =
                user.starts_with("Practitioner/") || user.starts_with("PractitionerRole/");
            if practitioner != (resource["requester"]["reference"] == user) {
                problems.push(format!(
                    "{id}: requester is not context.userId exactly when that is a practitioner"
                ));
            }
        }
    }
    dump_service_requests(name, response);
    problems
}

#[tokio::test]
async fn every_mapping_fixture_gets_the_expected_answer() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "contract-example"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "fixture bundles are missing: {paths:?}");
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_stem().unwrap().to_str().unwrap();
        for problem in check_fixture(name, &read_json(path)).await {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn contract_example() -> Value {
    read_json(&Path::new(FIXTURES).join("contract-example.json"))
}

#[tokio::test]
async fn the_contract_example_puts_its_expected_option_first() {
    let example = contract_example();
    assert!(schema_errors(&REQUEST_SCHEMA, &example["request"]).is_empty());
    let reply = post(SERVICE, &example["request"]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(response_errors(&reply.json), Vec::<String>::new());
    let card = options_card(&reply.json).expect("an options card");
    assert_eq!(
        suggested_ids(card).first().map(String::as_str),
        example["expected_top_option"].as_str()
    );
    assert_eq!(card["suggestions"][0]["isRecommended"], true);
    let mapped = &card["extension"]["org.facet-triage.request"];
    assert_eq!(mapped["procedure"], "medial_branch_block");
    assert_eq!(mapped["region"], "lumbar");
    assert_eq!(
        mapped["relief_duration"],
        json!({"value": 8.0, "unit": "h"})
    );
    assert!(mapped.get("block_number").is_none());
    assert!(mapped["time_since_procedure"]["value"].as_f64().unwrap() > 0.0);
    assert!(mapped.get("procedure_history").is_none(), "{mapped}");
    assert!(
        card["extension"]
            .get("org.facet-triage.request-history")
            .is_none()
    );
    assert!(dump_service_requests("contract-example", &reply.json) > 0);
    // The same call answers the same, uuids included; only the time since the procedure moves on.
    assert_eq!(
        without_clock(&post(SERVICE, &example["request"]).await.json),
        without_clock(&reply.json)
    );
}

#[tokio::test]
async fn empty_procedures_give_no_cards_and_absent_prefetch_gives_412() {
    let mut request = contract_example()["request"].clone();
    request["prefetch"]["procedures"] =
        json!({"resourceType": "Bundle", "type": "searchset", "total": 0});
    let reply = post(SERVICE, &request).await;
    assert_eq!(
        (reply.status, reply.json.clone()),
        (200, json!({"cards": []}))
    );
    assert!(response_errors(&reply.json).is_empty());

    request.as_object_mut().unwrap().remove("prefetch");
    let reply = post(SERVICE, &request).await;
    assert_eq!(reply.status, 412);
    assert_eq!(reply.media, "application/fhir+json");
    assert_eq!(reply.json["resourceType"], "OperationOutcome");
    let named: Vec<&Value> = reply.json["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["expression"][0])
        .collect();
    assert_eq!(
        named,
        [
            &json!("prefetch.procedures"),
            &json!("prefetch.pain"),
            &json!("prefetch.conditions")
        ]
    );
    dump_fhir("no-prefetch-operation-outcome", &reply.json);
}

#[tokio::test]
async fn discovery_lists_the_service_and_matches_the_schema() {
    let reply = send_to(app(), "GET", "/cds-services", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        schema_errors(&DISCOVERY_SCHEMA, &reply.json),
        Vec::<String>::new()
    );
    let service = &reply.json["services"][0];
    assert_eq!(service["id"], "facet-pain-next-step");
    assert_eq!(service["hook"], "patient-view");
    for key in ["patient", "procedures", "pain", "conditions"] {
        assert!(service["prefetch"][key].is_string(), "{key}");
    }
}

#[tokio::test]
async fn errors_under_cds_services_are_operation_outcomes() {
    let example = serde_json::to_vec(&contract_example()["request"]).unwrap();
    let mut wrong_hook = contract_example()["request"].clone();
    wrong_hook["hook"] = json!("order-select");
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<Vec<u8>>,
        Option<&'a str>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (
            "unsupported-media",
            "POST",
            SERVICE,
            Some(example.clone()),
            Some("text/plain"),
            415,
        ),
        (
            "malformed",
            "POST",
            SERVICE,
            Some(b"{\"hook\": ".to_vec()),
            Some("application/json"),
            400,
        ),
        (
            "wrong-hook",
            "POST",
            SERVICE,
            Some(serde_json::to_vec(&wrong_hook).unwrap()),
            Some("application/json"),
            400,
        ),
        (
            "unknown-service",
            "POST",
            "/cds-services/nope",
            Some(example.clone()),
            Some("application/json"),
            404,
        ),
        (
            "unknown-route",
            "GET",
            "/cds-services/nope/other",
            None,
            None,
            404,
        ),
        ("wrong-method", "GET", SERVICE, None, None, 405),
        (
            "discovery-method",
            "DELETE",
            "/cds-services",
            None,
            None,
            405,
        ),
        (
            "too-large",
            "POST",
            SERVICE,
            Some(vec![b' '; 1024 * 1024 + 1]),
            Some("application/json"),
            413,
        ),
    ];
    for (name, method, path, body, media, status) in cases {
        let reply = send_to(app(), method, path, body, media).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.json);
        assert_eq!(reply.media, "application/fhir+json", "{name}");
        assert_eq!(reply.json["resourceType"], "OperationOutcome", "{name}");
        assert!(reply.json["issue"][0]["diagnostics"].is_string(), "{name}");
        dump_fhir(&format!("error-{name}"), &reply.json);
    }
}

#[test]
fn the_checks_reject_the_invalid_response_fixtures() {
    let dir = Path::new(FIXTURES).join("invalid-responses");
    let fixture = |name: &str| read_json(&dir.join(format!("{name}.json")))["response"].clone();

    let null_detail = fixture("null-detail");
    assert!(!schema_errors(&RESPONSE_SCHEMA, &null_detail).is_empty());
    let mut control = null_detail.clone();
    control["cards"][0]
        .as_object_mut()
        .unwrap()
        .remove("detail");
    assert_eq!(
        response_errors(&control),
        Vec::<String>::new(),
        "the control must pass"
    );

    let long_summary = fixture("summary-140");
    assert_eq!(
        long_summary["cards"][0]["summary"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        140
    );
    assert!(!schema_errors(&RESPONSE_SCHEMA, &long_summary).is_empty());
    assert!(!invariant_errors(&long_summary).is_empty());
    let mut control = long_summary.clone();
    control["cards"][0]["summary"] = json!("x".repeat(139));
    assert_eq!(response_errors(&control), Vec::<String>::new());

    let two = fixture("two-recommended");
    assert!(!schema_errors(&RESPONSE_SCHEMA, &two).is_empty());
    assert!(
        invariant_errors(&two)
            .iter()
            .any(|e| e.starts_with("cds-resp-1"))
    );
    let mut control = two.clone();
    control["cards"][0]["selectionBehavior"] = json!("any");
    assert_eq!(response_errors(&control), Vec::<String>::new());
}

#[test]
fn feedback_is_validated_idempotent_and_counted() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let app = app();
            let call = |app: axum::Router, path: &str, body: &Value| {
                let bytes = serde_json::to_vec(body).unwrap();
                let path = path.to_owned();
                async move { send_to(app, "POST", &path, Some(bytes), Some("application/json")).await }
            };
            let answer = call(app.clone(), SERVICE, &contract_example()["request"]).await;
            let card = options_card(&answer.json).unwrap();
            let feedback = json!({"feedback": [{
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-11-03T09:00:00Z"}]});
            assert!(schema_errors(&FEEDBACK_SCHEMA, &feedback).is_empty());
            let path = format!("{SERVICE}/feedback");

            let first = call(app.clone(), &path, &feedback).await;
            assert_eq!(first.status, 200, "{}", first.json);
            assert_eq!(first.json, json!({"accepted": 1, "overridden": 0, "duplicates": 0}));
            let repeat = call(app.clone(), &path, &feedback).await;
            assert_eq!(repeat.status, 200);
            assert_eq!(repeat.json, json!({"accepted": 0, "overridden": 0, "duplicates": 1}));

            let overridden = json!({"feedback": [{"card": card["uuid"], "outcome": "overridden",
                "overrideReason": {"userComment": "patient prefers physical therapy"},
                "outcomeTimestamp": "2026-11-03T09:10:00Z"}]});
            assert!(schema_errors(&FEEDBACK_SCHEMA, &overridden).is_empty());
            assert_eq!(call(app.clone(), &path, &overridden).await.json["overridden"], 1);

            let invalid = json!({"feedback": [{"card": card["uuid"], "outcome": "accepted",
                "outcomeTimestamp": "2026-11-03T09:00:00Z"}]});
            assert!(!schema_errors(&FEEDBACK_SCHEMA, &invalid).is_empty());
            let rejected = call(app.clone(), &path, &invalid).await;
            assert_eq!(rejected.status, 400);
            assert_eq!(rejected.json["issue"][0]["expression"][0], "feedback[0].acceptedSuggestions");
            dump_fhir("feedback-invalid-operation-outcome", &rejected.json);
            let unknown = call(app, "/cds-services/nope/feedback", &feedback).await;
            assert_eq!(unknown.status, 404);
        })
    });
    let text = handle.render();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
            .to_owned()
    };
    assert!(
        line("cds_feedback_total{service=\"facet-pain-next-step\",outcome=\"accepted\"}")
            .ends_with(" 1")
    );
    assert!(
        line("cds_feedback_total{service=\"facet-pain-next-step\",outcome=\"overridden\"}")
            .ends_with(" 1")
    );
    assert!(
        line("cds_feedback_duplicates_total{service=\"facet-pain-next-step\"}").ends_with(" 1")
    );
    assert!(
        line("cds_service_calls_total{service=\"facet-pain-next-step\",result=\"cards\"}")
            .ends_with(" 1")
    );
}

// ---------------------------------------------------------------------------------------------
// order-select: facet-procedure-order-check
// ---------------------------------------------------------------------------------------------

const ORDER_SERVICE: &str = "/cds-services/facet-procedure-order-check";

async fn post_order(profile: Option<&str>, body: &Value) -> Reply {
    let config = match profile {
        Some(profile) => CdsConfig::default().with_profile(profile),
        None => CdsConfig::default(),
    };
    let app = router_with_cds(AppState::shared(pathways()), config);
    send_to(
        app,
        "POST",
        ORDER_SERVICE,
        Some(serde_json::to_vec(body).unwrap()),
        Some("application/json"),
    )
    .await
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Every problem with one order-select fixture's answer.
async fn check_order_fixture(name: &str, fixture: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let request = &fixture["request"];
    let expect = &fixture["expect"];
    for error in schema_errors(&REQUEST_SCHEMA, request) {
        problems.push(format!("request breaks the request schema: {error}"));
    }
    let reply = post_order(fixture["profile"].as_str(), request).await;
    if reply.status != expect["status"].as_u64().unwrap() as u16 {
        problems.push(format!("status {} {}", reply.status, reply.json));
        return problems;
    }
    let response = &reply.json;
    for error in response_errors(response) {
        problems.push(format!("response: {error}"));
    }
    let cards = response["cards"].as_array().unwrap();
    if cards.len() as u64 != expect["cards"].as_u64().unwrap() {
        problems.push(format!(
            "{} cards (expected {})",
            cards.len(),
            expect["cards"]
        ));
    }
    let Some(card) = cards.first() else {
        return problems;
    };
    let check = &card["extension"]["org.facet-triage.order-check"];
    for (key, member) in [
        ("fit", "fit"),
        ("step", "step"),
        ("rank", "rank"),
        ("first", "first"),
    ] {
        if let Some(expected) = expect.get(key)
            && &check[member] != expected
        {
            problems.push(format!("{key} {} (expected {expected})", check[member]));
        }
    }
    if card["indicator"] != expect["indicator"] {
        problems.push(format!(
            "indicator {} (expected {})",
            card["indicator"], expect["indicator"]
        ));
    }
    let profile = fixture["profile"]
        .as_str()
        .unwrap_or("asipp-2020")
        .to_owned();
    if card["extension"]["org.facet-triage.profile"] != json!(profile) {
        problems.push(format!(
            "answered with profile {}",
            card["extension"]["org.facet-triage.profile"]
        ));
    }
    let unmet = strings(&check["unmetCriteria"]);
    for id in strings(&expect["unmet_criteria"]) {
        if !unmet.contains(&id) {
            problems.push(format!("unmet criteria {unmet:?} do not name {id}"));
        }
    }
    let detail = card["detail"].as_str().unwrap_or("");
    for needle in strings(&expect["detail_mentions"]) {
        if !detail.contains(needle) {
            problems.push(format!("detail does not mention {needle:?}"));
        }
    }
    let draft = request["context"]["selections"][0].as_str().unwrap();
    let suggestions = card["suggestions"].as_array().cloned().unwrap_or_default();
    match expect.get("replacement_codes") {
        None => {
            if !suggestions.is_empty() {
                problems.push("a card for an order that fits suggests a replacement".into());
            }
        }
        Some(codes) => {
            if suggestions.len() != 1
                || suggestions[0]["isRecommended"] != true
                || card["selectionBehavior"] != "at-most-one"
            {
                problems.push(format!("expected one recommended replacement: {card}"));
                return problems;
            }
            let actions = suggestions[0]["actions"].as_array().unwrap();
            if actions[0]["type"] != "delete" || actions[0]["resourceId"] != draft {
                problems.push(format!(
                    "the first action does not delete {draft}: {}",
                    actions[0]
                ));
            }
            let creates: Vec<&Value> = actions.iter().filter(|a| a["type"] == "create").collect();
            let expected: Vec<&str> = strings(codes);
            if expected.is_empty() != creates.is_empty() || actions.len() != 1 + creates.len() {
                problems.push(format!(
                    "actions {actions:?} (expected a delete and a create of {expected:?})"
                ));
            }
            let patient = format!(
                "Patient/{}",
                request["context"]["patientId"].as_str().unwrap()
            );
            for create in creates {
                let resource = &create["resource"];
                let coded: Vec<&str> = resource["code"]["coding"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["system"] == "http://www.ama-assn.org/go/cpt")
                    .filter_map(|c| c["code"].as_str())
                    .collect();
                if resource["resourceType"] != "ServiceRequest"
                    || resource["status"] != "draft"
                    || resource["subject"]["reference"] != patient
                    || coded != expected
                {
                    problems.push(format!("the replacement is not a draft ServiceRequest coded {expected:?}: {resource}"));
                }
            }
        }
    }
    if dump_service_requests(&format!("order-{name}"), response) == 0
        && expect["replacement_codes"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    {
        problems.push("no replacement ServiceRequest was emitted".into());
    }
    problems
}

fn order_fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(FIXTURES).join("order-select");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            (
                p.file_stem().unwrap().to_str().unwrap().to_owned(),
                read_json(p),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_order_select_fixture_gets_the_expected_card() {
    let fixtures = order_fixtures();
    assert!(fixtures.len() >= 6, "order-select fixtures are missing");
    let mut failures = Vec::new();
    for (name, fixture) in &fixtures {
        for problem in check_order_fixture(name, fixture).await {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn rfa_after_one_positive_block_under_cms_lcd_orders_the_confirmatory_block() {
    let fixture = read_json(&Path::new(FIXTURES).join("order-select/rfa-after-one-block-cms.json"));
    let reply = post_order(Some("cms-lcd"), &fixture["request"]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let card = &reply.json["cards"][0];
    assert_eq!(card["indicator"], "warning");
    let summary = card["summary"].as_str().unwrap();
    assert!(summary.contains("Confirmatory"), "{summary}");
    let detail = card["detail"].as_str().unwrap();
    assert!(
        detail.contains("Two diagnostic medial branch blocks"),
        "{detail}"
    );
    let create = &card["suggestions"][0]["actions"][1];
    let pathway = pathways().default_pathway().clone();
    let confirmatory = pathway
        .options
        .iter()
        .find(|o| o.id == "confirmatory-medial-branch-block")
        .unwrap();
    let slot = pathway
        .region_slot(facet_triage::vocab::Region::Lumbar)
        .unwrap();
    assert_eq!(
        create["resource"]["code"]["text"],
        json!(confirmatory.title)
    );
    assert_eq!(
        create["resource"]["code"]["coding"][0]["code"],
        json!(confirmatory.codes[slot][0].code)
    );
    assert_eq!(
        create["resource"]["intent"], "order",
        "keeps the draft's intent"
    );
    assert_eq!(
        create["resource"]["supportingInfo"][0]["reference"],
        "Procedure/mbb-1"
    );
}

#[tokio::test]
async fn cms_criteria_are_listed_only_under_the_cms_profile() {
    let fixture = read_json(&Path::new(FIXTURES).join("order-select/cms-missing-criterion.json"));
    let default = post_order(None, &fixture["request"]).await;
    assert_eq!(default.status, 200);
    let card = &default.json["cards"][0];
    assert_eq!(card["extension"]["org.facet-triage.profile"], "asipp-2020");
    let unmet = strings(&card["extension"]["org.facet-triage.order-check"]["unmetCriteria"]);
    assert!(unmet.iter().all(|id| !id.starts_with("cms-")), "{unmet:?}");
    assert!(
        !card["detail"]
            .as_str()
            .unwrap()
            .contains("No untreated radiculopathy")
    );
    let cms = post_order(Some("cms-lcd"), &fixture["request"]).await;
    let unmet = strings(
        &cms.json["cards"][0]["extension"]["org.facet-triage.order-check"]["unmetCriteria"],
    );
    assert!(
        unmet.contains(&"cms-no-untreated-radiculopathy"),
        "{unmet:?}"
    );
}

#[tokio::test]
async fn order_select_calls_are_checked() {
    let fixture = read_json(&Path::new(FIXTURES).join("order-select/fits.json"));
    let base = fixture["request"].clone();
    let mut missing = base.clone();
    missing["context"]
        .as_object_mut()
        .unwrap()
        .remove("draftOrders");
    let mut dangling = base.clone();
    dangling["context"]["selections"] = json!(["ServiceRequest/nowhere"]);
    let mut other_patient = base.clone();
    other_patient["context"]["draftOrders"]["entry"][0]["resource"]["subject"]["reference"] =
        json!("Patient/someone-else");
    let mut no_prefetch = base.clone();
    no_prefetch.as_object_mut().unwrap().remove("prefetch");
    for (name, body, status, expression) in [
        ("missing-draft-orders", missing, 400, "context.draftOrders"),
        ("dangling-selection", dangling, 400, "context.selections[0]"),
        (
            "other-patient",
            other_patient,
            422,
            "context.draftOrders.entry[0].resource.subject",
        ),
        ("no-prefetch", no_prefetch, 412, "prefetch.procedures"),
    ] {
        let reply = post_order(None, &body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.json);
        assert_eq!(reply.json["resourceType"], "OperationOutcome", "{name}");
        assert_eq!(
            reply.json["issue"][0]["expression"][0], expression,
            "{name}"
        );
        dump_fhir(&format!("order-error-{name}"), &reply.json);
    }
    // A patient with no facet procedure on record: nothing to check the order against.
    let mut no_history = base.clone();
    no_history["prefetch"]["procedures"]["entry"] = json!([]);
    let reply = post_order(None, &no_history).await;
    assert_eq!(
        (reply.status, reply.json.clone()),
        (200, json!({"cards": []}))
    );
    // A cervical order against a lumbar history is not checked: an info card says why.
    let mut cervical = base.clone();
    cervical["context"]["draftOrders"]["entry"][0]["resource"]["code"] = json!({"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "64633"}], "text": "Cervical RFA"});
    let reply = post_order(None, &cervical).await;
    assert_eq!(reply.status, 200);
    assert_eq!(response_errors(&reply.json), Vec::<String>::new());
    let card = &reply.json["cards"][0];
    assert_eq!(card["indicator"], "info");
    assert_eq!(
        card["extension"]["org.facet-triage.order-check"]["fit"],
        "not-checked"
    );
    assert!(card.get("suggestions").is_none());
}

#[tokio::test]
async fn discovery_lists_the_order_check_with_the_same_safe_prefetch() {
    let reply = send_to(app(), "GET", "/cds-services", None, None).await;
    assert_eq!(
        schema_errors(&DISCOVERY_SCHEMA, &reply.json),
        Vec::<String>::new()
    );
    let services = reply.json["services"].as_array().unwrap();
    let order = services
        .iter()
        .find(|s| s["id"] == "facet-procedure-order-check")
        .expect("the order check is listed");
    assert_eq!(order["hook"], "order-select");
    assert_eq!(order["prefetch"], services[0]["prefetch"]);
}

// ---------------------------------------------------------------------------------------------
// Robust reading, the FHIR mapping as data, the console link and the FHIR-server fallback
// ---------------------------------------------------------------------------------------------

/// A response without what depends on the time of the call (`time_since_procedure` and the
/// history's `time_ago`, in the options card's mapped request).
fn without_clock(response: &Value) -> Value {
    let mut response = response.clone();
    for card in response["cards"].as_array_mut().into_iter().flatten() {
        if let Some(request) = card["extension"].get_mut("org.facet-triage.request") {
            *request = request_without_clock(request);
        }
    }
    response
}

/// A mapped request without `time_since_procedure` and the history's `time_ago`, which run
/// to the time of the call.
fn request_without_clock(request: &Value) -> Value {
    let mut request = request.clone();
    if let Some(members) = request.as_object_mut() {
        members.remove("time_since_procedure");
        for entry in (members.get_mut("procedure_history"))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            entry.as_object_mut().unwrap().remove("time_ago");
        }
    }
    request
}

/// As [`ranked_and_request`], without the members that depend on the clock: two calls read it
/// apart, so the time since the procedure may differ between them.
fn ranked_and_clockless_request(reply: &Reply) -> (Vec<String>, Value) {
    let (ranked, request) = ranked_and_request(reply);
    (ranked, request_without_clock(&request))
}

/// The ranked option ids and the mapped request of a patient-view answer.
fn ranked_and_request(reply: &Reply) -> (Vec<String>, Value) {
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(response_errors(&reply.json), Vec::<String>::new());
    let card = options_card(&reply.json).expect("an options card");
    (
        ranked_ids(card),
        card["extension"]["org.facet-triage.request"].clone(),
    )
}

#[tokio::test]
async fn the_top_suggestion_is_what_v1_triage_answers_for_the_mapped_request() {
    let reply = post(SERVICE, &contract_example()["request"]).await;
    let (ranked, request) = ranked_and_request(&reply);
    let triage = post("/v1/triage", &request).await;
    assert_eq!(triage.status, 200, "{}", triage.json);
    let ids: Vec<&str> = triage.json["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, ids);
}

#[tokio::test]
async fn a_cpt_code_under_its_oid_gives_the_same_answer() {
    let example = contract_example()["request"].clone();
    let mut oid = example.clone();
    for entry in oid["prefetch"]["procedures"]["entry"]
        .as_array_mut()
        .unwrap()
    {
        for coding in entry["resource"]["code"]["coding"].as_array_mut().unwrap() {
            coding["system"] = json!("urn:oid:2.16.840.1.113883.6.12");
        }
    }
    let by_uri = ranked_and_clockless_request(&post(SERVICE, &example).await);
    let by_oid = ranked_and_clockless_request(&post(SERVICE, &oid).await);
    assert!(!by_uri.0.is_empty());
    assert_eq!(by_oid, by_uri);
}

#[tokio::test]
async fn out_of_range_and_preliminary_pain_scores_are_skipped_and_named() {
    let example = contract_example()["request"].clone();
    let mut noisy = example.clone();
    let entries = noisy["prefetch"]["pain"]["entry"].as_array_mut().unwrap();
    let mut twelve = entries[1].clone();
    twelve["resource"]["valueInteger"] = json!(12);
    let mut preliminary = entries[1].clone();
    preliminary["resource"]["status"] = json!("preliminary");
    preliminary["resource"]["valueInteger"] = json!(0);
    entries.push(twelve);
    entries.push(preliminary);
    let count = entries.len();
    let reply = post(SERVICE, &noisy).await;
    assert_eq!(
        ranked_and_clockless_request(&reply),
        ranked_and_clockless_request(&post(SERVICE, &example).await),
        "the skipped scores change nothing"
    );
    let detail = options_card(&reply.json).unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("Pain scores skipped"), "{detail}");
    for index in [count - 2, count - 1] {
        let path = format!("`prefetch.pain.entry[{index}].resource`");
        assert!(detail.contains(&path), "{path} not named in {detail}");
    }
    assert!(
        !detail.contains("12"),
        "the value itself is not echoed: {detail}"
    );
}

#[tokio::test]
async fn fhir_json_request_bodies_are_accepted() {
    let body = serde_json::to_vec(&contract_example()["request"]).unwrap();
    let fhir = send_to(
        app(),
        "POST",
        SERVICE,
        Some(body.clone()),
        Some("application/fhir+json; charset=utf-8"),
    )
    .await;
    let json = send_to(
        app(),
        "POST",
        SERVICE,
        Some(body.clone()),
        Some("application/json"),
    )
    .await;
    assert_eq!(fhir.status, 200, "{}", fhir.json);
    assert_eq!(without_clock(&fhir.json), without_clock(&json.json));
    let xml = send_to(
        app(),
        "POST",
        SERVICE,
        Some(body),
        Some("application/fhir+xml"),
    )
    .await;
    assert_eq!(xml.status, 415);
}

#[tokio::test]
async fn cards_carry_override_reasons_and_open_the_case_in_the_console() {
    use base64::Engine;
    let config = CdsConfig::default()
        .with_public_url("https://cds.example.org/base/")
        .unwrap();
    let app = router_with_cds(AppState::shared(pathways()), config);
    let body = serde_json::to_vec(&contract_example()["request"]).unwrap();
    let reply = send_to(app, "POST", SERVICE, Some(body), Some("application/json")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(response_errors(&reply.json), Vec::<String>::new());
    let card = options_card(&reply.json).unwrap();
    let reasons = card["overrideReasons"].as_array().unwrap();
    assert!(!reasons.is_empty());
    for reason in reasons {
        for member in ["system", "code", "display"] {
            assert!(
                reason[member].as_str().is_some_and(|s| !s.is_empty()),
                "{reason}"
            );
        }
    }
    let prefix = "https://cds.example.org/base/console/#case=";
    let link = card["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["url"].as_str().unwrap().starts_with(prefix))
        .expect("a console link");
    assert_eq!(link["type"], "absolute");
    let encoded = &link["url"].as_str().unwrap()[prefix.len()..];
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap();
    let case: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(case, card["extension"]["org.facet-triage.request"]);
    assert!(case["time_since_procedure"]["value"].as_f64().unwrap() > 0.0);
    // Without a public URL there is no console link, only the sources.
    let plain = post(SERVICE, &contract_example()["request"]).await;
    let links = options_card(&plain.json).unwrap()["links"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        links
            .iter()
            .all(|l| !l["url"].as_str().unwrap().contains("/console/"))
    );
}

/// A pathway set whose mapping lists one more code system entry: a test-only code (not a real
/// SNOMED CT concept) that means a lumbar medial branch block.
fn pathways_with_extra_code() -> Arc<PathwaySet> {
    let mapping = format!(
        "{}\n[[procedures]]\nsource = \"triage-contract-v2\"\nsystems = [\"http://snomed.info/sct\"]\ncodes = [\"0000001\"]\nprocedures = [\"medial_branch_block\"]\nregions = [\"lumbar\"]\n",
        facet_triage::pathway::fhir_mapping::DEFAULT_MAPPING
    );
    Arc::new(
        PathwaySet::from_sources(vec![
            (
                "facet-pain.toml".into(),
                facet_triage::pathway::DEFAULT_PATHWAY.into(),
            ),
            ("facet-pain.fhir.toml".into(), mapping),
        ])
        .unwrap(),
    )
}

#[tokio::test]
async fn a_second_code_system_decides_the_kind_where_the_cpt_code_is_shared() {
    let sct = json!({"system": "http://snomed.info/sct", "code": "0000001"});
    let mut request = contract_example()["request"].clone();
    request["prefetch"]["procedures"]["entry"][0]["resource"]["code"]["text"] =
        json!("Facet injection L4-S1");
    // The procedure kind the service maps the request's index procedure to.
    let procedure_of = |request: &Value| {
        let app = router(AppState::shared(pathways_with_extra_code()));
        let body = Some(serde_json::to_vec(request).unwrap());
        async move {
            let reply = send_to(app, "POST", SERVICE, body, Some("application/json")).await;
            ranked_and_request(&reply).1["procedure"].clone()
        }
    };
    assert_eq!(
        procedure_of(&request).await,
        "intra_articular_injection",
        "the CPT code alone, without the words, is read as the first kind listed"
    );
    request["prefetch"]["procedures"]["entry"][0]["resource"]["code"]["coding"]
        .as_array_mut()
        .unwrap()
        .push(sct.clone());
    assert_eq!(procedure_of(&request).await, "medial_branch_block");
    request["prefetch"]["procedures"]["entry"][0]["resource"]["code"]["coding"] = json!([sct]);
    assert_eq!(
        procedure_of(&request).await,
        "medial_branch_block",
        "a procedure coded only in the second system"
    );
}

/// A FHIR server stand-in on 127.0.0.1 serving the contract example's record: it answers only
/// with the bearer token `fallback-token`, serves the pain scores in two pages, and records every
/// query it is sent.
async fn fhir_stand_in() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;
    type Seen = Arc<std::sync::Mutex<Vec<String>>>;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let prefetch = contract_example()["request"]["prefetch"].clone();
    let base_for_pages = base.clone();
    let handler = move |State(seen): State<Seen>, uri: Uri, headers: HeaderMap| {
        let prefetch = prefetch.clone();
        let base = base_for_pages.clone();
        async move {
            let query = uri.to_string();
            seen.lock().unwrap().push(query.clone());
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                != Some("Bearer fallback-token")
            {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let key = match uri.path() {
                "/fhir/Procedure" => "procedures",
                "/fhir/Observation" => "pain",
                "/fhir/Condition" => "conditions",
                _ => return StatusCode::NOT_FOUND.into_response(),
            };
            let mut bundle = prefetch[key].clone();
            if key == "pain" {
                let entries = bundle["entry"].as_array().unwrap().clone();
                let (first, second) = entries.split_at(entries.len() / 2);
                if query.contains("page=2") {
                    bundle["entry"] = json!(second);
                } else {
                    bundle["entry"] = json!(first);
                    bundle["link"] = json!([{"relation": "next",
                        "url": format!("{base}/Observation?patient=example-patient&page=2")}]);
                }
            }
            (
                [(header::CONTENT_TYPE, "application/fhir+json")],
                bundle.to_string(),
            )
                .into_response()
        }
    };
    let app = axum::Router::new()
        .route("/fhir/{resource}", axum::routing::get(handler))
        .with_state(Arc::clone(&seen));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn fallback_call(base: &str, token: &str) -> Value {
    let mut request = contract_example()["request"].clone();
    request.as_object_mut().unwrap().remove("prefetch");
    request["fhirServer"] = json!(base);
    request["fhirAuthorization"] = json!({"access_token": token, "token_type": "Bearer",
        "expires_in": 300, "scope": "patient/*.read", "subject": "cds-service"});
    request
}

#[tokio::test]
async fn without_prefetch_the_service_queries_an_allowed_fhir_server() {
    let (base, seen) = fhir_stand_in().await;
    let config = CdsConfig::default()
        .with_open_fhir_servers(&[&base])
        .unwrap()
        .with_fhir_allow_http(true);
    let app = router_with_cds(AppState::shared(pathways()), config);
    let body = serde_json::to_vec(&fallback_call(&base, "fallback-token")).unwrap();
    let reply = send_to(app, "POST", SERVICE, Some(body), Some("application/json")).await;
    assert_eq!(
        ranked_and_clockless_request(&reply),
        ranked_and_clockless_request(&post(SERVICE, &contract_example()["request"]).await),
        "the fetched record answers as the prefetched one"
    );
    let seen = seen.lock().unwrap().clone();
    let mapping = pathways().fhir_mapping("facet-pain");
    let procedures = seen
        .iter()
        .find(|q| q.starts_with("/fhir/Procedure?"))
        .unwrap();
    assert!(
        procedures.contains("patient=example-patient"),
        "{procedures}"
    );
    for token in mapping.procedure_tokens() {
        assert!(
            procedures.contains(&token),
            "{token} not queried: {procedures}"
        );
    }
    let pain = &mapping.pain.codes[0];
    assert!(seen.iter().any(|q| q.starts_with("/fhir/Observation?")
        && q.contains(&format!("code={}|{}", pain.system, pain.code))));
    assert!(
        seen.iter().any(|q| q.contains("page=2")),
        "the next page was read: {seen:?}"
    );
    assert!(
        seen.iter().any(
            |q| q.starts_with("/fhir/Condition?patient=example-patient&clinical-status=active")
        )
    );
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn the_fallback_refuses_unlisted_bases_plain_http_and_a_failing_server_with_412() {
    let (base, seen) = fhir_stand_in().await;
    let call = |config: CdsConfig, token: &str| {
        let body = serde_json::to_vec(&fallback_call(&base, token)).unwrap();
        let app = router_with_cds(AppState::shared(pathways()), config);
        async move { send_to(app, "POST", SERVICE, Some(body), Some("application/json")).await }
    };
    let unlisted = call(
        CdsConfig::default()
            .with_open_fhir_servers(&["http://127.0.0.1:1/fhir"])
            .unwrap()
            .with_fhir_allow_http(true),
        "fallback-token",
    )
    .await;
    let plain = call(
        CdsConfig::default()
            .with_open_fhir_servers(&[&base])
            .unwrap(),
        "fallback-token",
    )
    .await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "no query to a base that is not allowed"
    );
    let refused = call(
        CdsConfig::default()
            .with_open_fhir_servers(&[&base])
            .unwrap()
            .with_fhir_allow_http(true),
        "wrong-token",
    )
    .await;
    for (name, reply) in [
        ("unlisted", &unlisted),
        ("plain", &plain),
        ("refused", &refused),
    ] {
        assert_eq!(reply.status, 412, "{name}: {}", reply.json);
        assert_eq!(reply.json["resourceType"], "OperationOutcome", "{name}");
        assert_eq!(
            reply.json["issue"][0]["expression"][0], "prefetch.procedures",
            "{name}"
        );
        assert!(
            !reply.bytes.windows(5).any(|w| w == b"token"),
            "{name}: {}",
            reply.json
        );
        dump_fhir(&format!("fallback-{name}-operation-outcome"), &reply.json);
    }
}

#[tokio::test]
async fn a_second_block_has_the_first_in_its_procedure_history() {
    let fixture = read_json(&Path::new(FIXTURES).join("mbb-second.json"));
    let reply = post(SERVICE, &fixture["request"]).await;
    let (_, request) = ranked_and_request(&reply);
    assert_eq!(request["block_number"], 2);
    let card = options_card(&reply.json).unwrap();
    assert!(
        card["extension"]
            .get("org.facet-triage.request-history")
            .is_none()
    );
    // The mapped request itself carries both fields, so R21 and R22 apply to the call.
    let earlier = request["procedure_history"].as_array().unwrap();
    assert_eq!(earlier.len(), 1, "{request}");
    assert_eq!(earlier[0]["procedure"], "medial_branch_block");
    let seconds = |d: &Value| {
        let unit = facet_triage::vocab::DurationUnit::parse(d["unit"].as_str().unwrap()).unwrap();
        d["value"].as_f64().unwrap() * unit.seconds()
    };
    let since = seconds(&request["time_since_procedure"]);
    assert!(since > 0.0, "{request}");
    assert!(seconds(&earlier[0]["time_ago"]) > since);
    assert!(seconds(&request["relief_duration"]) <= since);
}
