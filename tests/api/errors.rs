//! Every row of the error table (contract section 3): status, problem document, the offending field
//! named by JSON Pointer, and no submitted value repeated.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};

/// The request with `field` set to `value` (a JSON text, so invalid JSON can be spliced in).
fn with_raw(field: &str, value: &str) -> String {
    let mut request = valid_request();
    request[field] = json!("__SPLICE__");
    request.to_string().replace("\"__SPLICE__\"", value)
}

fn without(field: &str) -> String {
    let mut request = valid_request();
    request.as_object_mut().unwrap().remove(field);
    request.to_string()
}

/// Asserts a `422` naming exactly `pointer` among its errors and not repeating `secret`.
async fn assert_invalid(body: String, pointer: &str, secret: Option<&str>) -> Value {
    let answer = triage(&app(), body).await;
    let problem = answer.problem(422);
    assert!(
        answer.fields().iter().any(|field| field == pointer),
        "{pointer} not named: {problem}"
    );
    if let Some(secret) = secret {
        assert!(!answer.text().contains(secret), "value echoed: {problem}");
    }
    problem
}

#[tokio::test]
async fn malformed_json_is_400() {
    let answer = triage(&app(), r#"{"region": lumbar}"#).await;
    answer.problem(400);
    assert!(!answer.text().contains("lumbar"), "{}", answer.text());
}

#[tokio::test]
async fn truncated_json_is_400() {
    let body = valid_request().to_string();
    triage(&app(), body[..body.len() - 3].to_owned())
        .await
        .problem(400);
    triage(&app(), "").await.problem(400);
}

#[tokio::test]
async fn nan_and_numbers_out_of_range_are_syntax_errors() {
    triage(&app(), with_raw("percent_relief", "NaN"))
        .await
        .problem(400);
    triage(&app(), with_raw("percent_relief", "Infinity"))
        .await
        .problem(400);
    let answer = triage(&app(), with_raw("percent_relief", "1e400")).await;
    answer.problem(400);
    assert!(!answer.text().contains("1e400"));
}

#[tokio::test]
async fn a_wrong_type_is_422_naming_the_field() {
    assert_invalid(
        with_raw("percent_relief", r#""sixty-one""#),
        "/percent_relief",
        Some("sixty-one"),
    )
    .await;
    assert_invalid(
        with_raw("radicular_symptoms", r#""yes""#),
        "/radicular_symptoms",
        Some("yes"),
    )
    .await;
    assert_invalid(
        with_raw("relief_duration", "17.25"),
        "/relief_duration",
        Some("17.25"),
    )
    .await;
}

#[tokio::test]
async fn out_of_range_is_422_naming_the_field() {
    assert_invalid(
        with_raw("percent_relief", "100.5"),
        "/percent_relief",
        Some("100.5"),
    )
    .await;
    assert_invalid(
        with_raw("percent_relief", "-3.75"),
        "/percent_relief",
        Some("3.75"),
    )
    .await;
    assert_invalid(
        with_raw("relief_duration", r#"{"value": -2.5, "unit": "wk"}"#),
        "/relief_duration/value",
        Some("2.5"),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_it() {
    let mut request = valid_request();
    request["percent_releif"] = json!(61.5);
    assert_invalid(request.to_string(), "/percent_releif", Some("61.5")).await;
}

#[tokio::test]
async fn an_unknown_enum_value_is_422_naming_the_deepest_member() {
    assert_invalid(with_raw("region", r#""sacral""#), "/region", Some("sacral")).await;
    assert_invalid(
        with_raw("relief_duration", r#"{"value": 2, "unit": "fortnights"}"#),
        "/relief_duration/unit",
        Some("fortnights"),
    )
    .await;
    assert_invalid(
        with_raw("red_flags", r#"["cauda_equina", "headache"]"#),
        "/red_flags/1",
        Some("headache"),
    )
    .await;
}

#[tokio::test]
async fn a_duplicate_key_is_422_naming_it() {
    let body = valid_request()
        .to_string()
        .replacen('{', r#"{"region": "cervical", "#, 1);
    assert_invalid(body, "/region", None).await;
}

#[tokio::test]
async fn null_is_422_naming_the_field() {
    assert_invalid(with_raw("region", "null"), "/region", None).await;
    assert_invalid(with_raw("guidance", "null"), "/guidance", None).await;
}

#[tokio::test]
async fn a_missing_field_is_422_naming_it() {
    assert_invalid(without("radicular_symptoms"), "/radicular_symptoms", None).await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422_on_the_whole_body() {
    for body in ["[1, 2]", "\"lumbar\"", "42", "null"] {
        assert_invalid(body.to_owned(), "", None).await;
    }
}

#[tokio::test]
async fn a_field_not_valid_for_the_procedure_is_422() {
    let mut request = valid_request();
    request["procedure"] = json!("radiofrequency_ablation");
    request["block_number"] = json!(2);
    assert_invalid(request.to_string(), "/block_number", None).await;
}

#[tokio::test]
async fn every_offending_field_is_named() {
    let body = json!({"region": "sacral", "procedure": 3, "percent_relief": 140,
        "relief_duration": {"value": 2, "unit": "weeks"}, "radicular_symptoms": false, "extra": 1});
    let answer = triage(&app(), body.to_string()).await;
    answer.problem(422);
    let fields = answer.fields();
    for pointer in [
        "/region",
        "/procedure",
        "/percent_relief",
        "/relief_duration/unit",
        "/extra",
    ] {
        assert!(
            fields.iter().any(|f| f == pointer),
            "{pointer} missing from {fields:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_pathway_or_profile_in_the_body_is_422() {
    assert_invalid(
        with_raw("pathway", r#""no-such-pathway""#),
        "/pathway",
        Some("no-such-pathway"),
    )
    .await;
    assert_invalid(
        with_raw("profile", r#""no-such-profile""#),
        "/profile",
        Some("no-such-profile"),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_pathway_in_the_path_is_404() {
    let app = app();
    get(&app, "/v1/pathways/no-such-pathway").await.problem(404);
    get(&app, "/v1/pathways/no-such-pathway/graph")
        .await
        .problem(404);
    get(&app, "/v1/pathways/%FF%FE").await.problem(404);
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    let app = app();
    get(&app, "/v1/nothing-here").await.problem(404);
    get(&app, "/nothing-here").await.problem(404);
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_415() {
    let app = app();
    let body = valid_request().to_string();
    post(&app, "/v1/triage", None, body.clone())
        .await
        .problem(415);
    for wrong in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonl",
        "multipart/form-data",
    ] {
        post(&app, "/v1/triage", Some(wrong), body.clone())
            .await
            .problem(415);
    }
    for right in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=UTF-8",
    ] {
        let answer = post(&app, "/v1/triage", Some(right), body.clone()).await;
        assert_eq!(answer.status, 200, "{right}: {}", answer.text());
    }
}

#[tokio::test]
async fn a_content_type_check_comes_before_json_syntax() {
    post(&app(), "/v1/triage", Some("text/plain"), "{not json")
        .await
        .problem(415);
}

fn oversized() -> String {
    let mut request = valid_request();
    request["padding"] = json!("x".repeat(64 * 1024));
    request.to_string()
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_before_content_type_and_parsing() {
    let app = app();
    let answer = triage(&app, oversized()).await;
    answer.problem(413);
    post(&app, "/v1/triage", Some("text/plain"), oversized())
        .await
        .problem(413);
    post(&app, "/v1/triage", None, "{".repeat(70_000))
        .await
        .problem(413);
    // Exactly at the limit is read and parsed (and fails on its fields, not its size).
    let mut at_limit = valid_request();
    let base = at_limit.to_string().len() + r#","padding":"""#.len();
    at_limit["padding"] = json!("x".repeat(64 * 1024 - base));
    assert_eq!(at_limit.to_string().len(), 64 * 1024);
    triage(&app, at_limit.to_string()).await.problem(422);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_before_any_body_check() {
    let app = app();
    for (method, uri) in [
        ("GET", "/v1/triage"),
        ("PUT", "/v1/triage"),
        ("DELETE", "/v1/pathways"),
        ("POST", "/v1/pathways/facet-pain"),
        ("PATCH", "/v1/pathways/facet-pain/graph"),
        ("POST", "/healthz"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(oversized()))
            .unwrap();
        let answer = send(&app, request).await;
        answer.problem(405);
        assert!(answer.headers.contains_key(header::ALLOW), "{method} {uri}");
    }
    let answer = send(
        &app,
        Request::get("/v1/triage").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.headers[header::ALLOW], "POST");
}

#[tokio::test]
async fn bad_query_values_are_problem_documents() {
    let app = app();
    let body = valid_request().to_string();
    for query in [
        "trace=maybe",
        "trace=1",
        "trace=true&trace=false",
        "trace=%FF",
    ] {
        let answer = post(
            &app,
            &format!("/v1/triage?{query}"),
            Some("application/json"),
            body.clone(),
        )
        .await;
        answer.problem(400);
        assert!(answer.text().contains("trace"));
    }
    for query in ["format=svg", "format=", "format=dot&format=dot"] {
        get(&app, &format!("/v1/pathways/facet-pain/graph?{query}"))
            .await
            .problem(400);
    }
}
