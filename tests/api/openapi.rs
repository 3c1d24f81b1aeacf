//! The OpenAPI document: generated from the registered handlers, snapshot-tested, with examples that
//! are the service's real answers and a request schema that matches the parser.

use crate::helpers::*;
use serde_json::{Value, json};

async fn document() -> Value {
    let answer = get(&app(), "/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), "application/json");
    answer.json()
}

/// The document without its computed examples, which follow the pathway file's content.
fn without_examples(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.remove("example");
            members.values_mut().for_each(without_examples);
        }
        Value::Array(items) => items.iter_mut().for_each(without_examples),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let mut document = document().await;
    without_examples(&mut document);
    insta::assert_json_snapshot!("openapi", document);
}

#[tokio::test]
async fn every_route_is_described_and_errors_are_problem_documents() {
    let document = document().await;
    assert_eq!(document["openapi"], "3.1.0");
    let operations = [
        ("/v1/triage", "post"),
        ("/v1/pathways", "get"),
        ("/v1/pathways/{id}", "get"),
        ("/v1/pathways/{id}/graph", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ];
    for (path, method) in operations {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        for (status, response) in operation["responses"].as_object().unwrap() {
            if !status.starts_with('2') {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    let statuses: Vec<&String> = document["paths"]["/v1/triage"]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(statuses, ["200", "400", "413", "415", "422", "503"]);
    // Beyond the concurrency limit every operation but the probes and the scrape may be refused.
    for (path, item) in document["paths"].as_object().unwrap() {
        let limited = !["/healthz", "/readyz", "/metrics"].contains(&path.as_str());
        for operation in item.as_object().unwrap().values() {
            let overloaded = &operation["responses"]["503"];
            if limited {
                assert!(overloaded["headers"]["Retry-After"].is_object(), "{path}");
            }
        }
    }
    // Without API tokens nothing answers 401.
    let text = document.to_string();
    assert!(!text.contains("\"401\""), "401 documented without tokens");
}

#[tokio::test]
async fn the_examples_are_the_real_answers() {
    let document = document().await;
    let operation = &document["paths"]["/v1/triage"]["post"];
    let request = &operation["requestBody"]["content"]["application/json"]["example"];
    let answer = triage(&app(), request.to_string()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        operation["responses"]["200"]["content"]["application/json"]["example"],
        answer.json()
    );
    let invalid = &operation["responses"]["422"]["content"]["application/problem+json"]["example"];
    assert_eq!(invalid["status"], 422);
    assert!(
        invalid["errors"].as_array().unwrap().len() >= 4,
        "{invalid}"
    );
    let list = &document["paths"]["/v1/pathways"]["get"]["responses"]["200"]["content"]["application/json"]
        ["example"];
    assert_eq!(*list, get(&app(), "/v1/pathways").await.json());
}

/// A request using every field the schema lists.
fn full_request() -> Value {
    json!({
        "region": "lumbar", "procedure": "medial_branch_block", "percent_relief": 85,
        "relief_duration": {"value": 6, "unit": "h"}, "relief_ongoing": false, "radicular_symptoms": false,
        "block_number": 2,
        "previous_block": {"percent_relief": 90, "relief_duration": {"value": 3, "unit": "h"}, "anesthetic": "lidocaine"},
        "anesthetic": "bupivacaine", "guidance": "fluoroscopy", "red_flags": [], "pain_duration_months": 6,
        "conservative_care_weeks": 12, "recent_imaging": true, "rfa_contraindicated": false,
        "psychosocial_risk": false, "spinal_instability": false, "sacroiliac_signs": false,
        "time_since_procedure": {"value": 1, "unit": "d"},
        "procedure_history": [{"procedure": "medial_branch_block", "time_ago": {"value": 2, "unit": "wk"}}],
        "myofascial_trigger_points": false, "modic_changes": "none",
        "profile": "cms-lcd", "pathway": "facet-pain"
    })
}

#[tokio::test]
async fn the_request_schema_matches_the_parser() {
    let document = document().await;
    let schemas = &document["components"]["schemas"];
    let schema = &schemas["TriageRequest"];
    assert_eq!(schema["additionalProperties"], false);
    let properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let full = full_request();
    let mut sent: Vec<&String> = full.as_object().unwrap().keys().collect();
    sent.sort();
    assert_eq!(
        properties, sent,
        "the schema lists exactly the fields the parser accepts"
    );
    let app = app();
    assert_eq!(triage(&app, full.to_string()).await.status, 200);

    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for property in properties {
        let mut request = full.clone();
        request.as_object_mut().unwrap().remove(property.as_str());
        // Leaving out block_number makes previous_block invalid, which is not about requiredness.
        if property == "block_number" {
            request.as_object_mut().unwrap().remove("previous_block");
        }
        let answer = triage(&app, request.to_string()).await;
        if required.contains(&property.as_str()) {
            assert_eq!(answer.status, 422, "{property} is required");
            assert!(
                answer.fields().contains(&format!("/{property}")),
                "{property}"
            );
        } else {
            assert_eq!(
                answer.status,
                200,
                "{property} is optional: {}",
                answer.text()
            );
        }
    }
    for nested in ["RequestDuration", "PreviousBlock"] {
        assert_eq!(schemas[nested]["additionalProperties"], false, "{nested}");
    }
    let units: Vec<&str> = schemas["DurationUnit"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(units, ["min", "h", "d", "wk", "mo"]);
}

/// Every request body of the vignette fixtures, answered or refused.
fn fixture_bodies() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vignettes");
    let mut bodies = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for vignette in file["vignettes"].as_array().into_iter().flatten() {
            bodies.push((vignette["id"].to_string(), vignette["request"].clone()));
        }
        // Error cases sent as raw text (not JSON, duplicate keys) have no `body`.
        for case in file["errors"].as_array().into_iter().flatten() {
            if case.get("body").is_some() {
                bodies.push((case["id"].to_string(), case["body"].clone()));
            }
        }
    }
    bodies
}

/// The published request schema, its rules between fields included, says what the parser says:
/// a body the parser answers is valid against it, and a body refused with `422` is not, unless
/// every rule it broke is one a JSON Schema cannot state (a duration compared with another).
#[tokio::test]
async fn the_published_request_schema_and_the_parser_agree_on_every_fixture() {
    let document = document().await;
    let schema = json!({
        "$ref": "#/components/schemas/TriageRequest",
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("the request schema compiles");
    let beyond_schema = [
        "must not be longer than time_since_procedure",
        "must not be shorter than time_since_procedure",
    ];
    let app = app();
    let (mut answered, mut refused) = (0, 0);
    for (id, body) in fixture_bodies() {
        let answer = triage(&app, body.to_string()).await;
        match answer.status {
            200 => {
                answered += 1;
                let errors: Vec<String> = validator
                    .iter_errors(&body)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{id} is answered but breaks the schema: {errors:?}"
                );
            }
            422 => {
                let problem = answer.json();
                let messages = problem["errors"].as_array().unwrap().iter();
                let stated = messages
                    .map(|error| error["message"].as_str().unwrap())
                    .any(|message| !beyond_schema.iter().any(|rule| message.starts_with(rule)));
                if stated {
                    refused += 1;
                    assert!(
                        !validator.is_valid(&body),
                        "{id} is refused but meets the schema: {problem}"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(
        answered > 400 && refused > 50,
        "{answered} answered, {refused} refused"
    );
}

#[tokio::test]
async fn the_documented_duration_limits_are_the_parser_limits() {
    use facet_triage::http::openapi::largest_value;
    use facet_triage::vocab::DurationUnit;
    let app = app();
    let document = document().await;
    let rules = document["components"]["schemas"]["RequestDuration"]["allOf"]
        .as_array()
        .unwrap()
        .clone();
    for unit in DurationUnit::ALL {
        let limit = largest_value(*unit);
        let rule = rules
            .iter()
            .find(|rule| rule["if"]["properties"]["unit"]["const"] == unit.as_str())
            .unwrap();
        assert_eq!(
            rule["then"]["properties"]["value"]["maximum"].as_f64(),
            Some(limit)
        );
        let mut request = valid_request();
        request["relief_duration"] = json!({"value": limit, "unit": unit.as_str()});
        assert_eq!(
            triage(&app, request.to_string()).await.status,
            200,
            "{unit} at {limit}"
        );
        request["relief_duration"]["value"] = json!(limit.next_up());
        let answer = triage(&app, request.to_string()).await;
        assert_eq!(answer.status, 422, "{unit} above {limit}");
        assert_eq!(answer.fields(), ["/relief_duration/value"]);
    }
}

#[tokio::test]
async fn the_cds_hooks_routes_are_described_with_operation_outcomes() {
    let document = document().await;
    for (path, method) in [
        ("/cds-services", "get"),
        ("/cds-services/{id}", "post"),
        ("/cds-services/{id}/feedback", "post"),
    ] {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        for (status, response) in operation["responses"].as_object().unwrap() {
            if !status.starts_with('2') {
                assert_eq!(
                    response["content"]["application/fhir+json"]["schema"]["$ref"],
                    "#/components/schemas/OperationOutcome",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let call = &document["paths"]["/cds-services/{id}"]["post"];
    assert!(call["responses"]["412"].is_object());
    assert!(call["requestBody"]["content"]["application/fhir+json"].is_object());
    let example = &document["paths"]["/cds-services"]["get"]["responses"]["200"]["content"]["application/json"]
        ["example"];
    assert_eq!(*example, get(&app(), "/cds-services").await.json());
    for schema in [
        "CdsRequest",
        "CdsResponse",
        "CdsCard",
        "CdsFeedback",
        "OperationOutcome",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}

/// A generated client that fills in declared defaults must not produce a `422`: fields invalid for
/// some procedures or regions declare none, and the defaults that are declared give a valid request.
#[tokio::test]
async fn declared_defaults_never_make_a_request_invalid() {
    let document = document().await;
    let properties = &document["components"]["schemas"]["TriageRequest"]["properties"];
    for field in ["block_number", "previous_block", "modic_changes"] {
        assert!(
            properties[field].get("default").is_none(),
            "{field} declares a default"
        );
    }
    let app = app();
    for procedure in [
        "intra_articular_injection",
        "medial_branch_block",
        "radiofrequency_ablation",
    ] {
        for region in ["lumbar", "cervical", "thoracic"] {
            let mut request = json!({
                "region": region, "procedure": procedure, "percent_relief": 60,
                "relief_duration": {"value": 2, "unit": "wk"}, "radicular_symptoms": false
            });
            for (field, schema) in properties.as_object().unwrap() {
                if let Some(default) = schema.get("default")
                    && request.get(field).is_none()
                {
                    request[field] = default.clone();
                }
            }
            let answer = triage(&app, request.to_string()).await;
            assert_eq!(answer.status, 200, "{request}: {}", answer.text());
        }
    }
}
