//! Every route answers `200` with the documented shape; identical requests get identical bytes.

use crate::helpers::*;
use axum::http::header;
use facet_triage::db::Database;
use facet_triage::http::{AppState, HttpOptions, Readiness};
use serde_json::json;

#[tokio::test]
async fn triage_answers_with_ranked_options() {
    let answer = triage(&app(), valid_request().to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.content_type(), "application/json");
    let body = answer.json();
    let options = body["options"].as_array().unwrap();
    assert!(!options.is_empty());
    for (index, option) in options.iter().enumerate() {
        assert_eq!(option["rank"], index + 1);
    }
    assert!(
        body["pathway"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(body.get("trace").is_none());
}

#[tokio::test]
async fn triage_with_trace_adds_the_walk() {
    let app = app();
    let traced = post(
        &app,
        "/v1/triage?trace=true",
        Some("application/json"),
        valid_request().to_string(),
    )
    .await;
    assert_eq!(traced.status, 200, "{}", traced.text());
    let steps = traced.json()["trace"].as_array().unwrap().clone();
    assert!(!steps.is_empty());
    assert!(steps.iter().all(|step| step["node"].is_string()));
    let plain = post(
        &app,
        "/v1/triage?trace=false",
        Some("application/json"),
        valid_request().to_string(),
    )
    .await;
    assert!(plain.json().get("trace").is_none());
}

#[tokio::test]
async fn identical_requests_get_byte_identical_bodies() {
    let app = app();
    let mut request = valid_request();
    request["procedure"] = json!("medial_branch_block");
    request["percent_relief"] = json!(85);
    request["relief_duration"] = json!({"value": 6, "unit": "h"});
    request["anesthetic"] = json!("bupivacaine");
    for uri in ["/v1/triage", "/v1/triage?trace=true"] {
        let first = post(&app, uri, Some("application/json"), request.to_string()).await;
        let second = post(&app, uri, Some("application/json"), request.to_string()).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.body, second.body, "{uri}");
        // Another router over the same pathway answers the same bytes too.
        let other = post(
            &self::app(),
            uri,
            Some("application/json"),
            request.to_string(),
        )
        .await;
        assert_eq!(first.body, other.body, "{uri}");
    }
    for uri in [
        "/v1/pathways",
        "/v1/pathways/facet-pain",
        "/v1/pathways/facet-pain/graph",
        "/openapi.json",
    ] {
        assert_eq!(
            get(&app, uri).await.body,
            get(&app, uri).await.body,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_pathway_list_names_each_pathway_with_its_profiles() {
    let answer = get(&app(), "/v1/pathways").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["default_pathway"], "facet-pain");
    let pathway = &body["pathways"][0];
    for member in [
        "id",
        "title",
        "version",
        "digest",
        "regions",
        "profiles",
        "default_profile",
    ] {
        assert!(!pathway[member].is_null(), "{member} missing: {pathway}");
    }
    let profiles: Vec<&str> = pathway["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["asipp-2020", "cms-lcd", "asra-2020", "bmj-2025"]);
    assert_eq!(pathway["default_profile"], "asipp-2020");
}

#[tokio::test]
async fn a_pathway_document_holds_catalogue_sources_profiles_nodes_and_flags() {
    let answer = get(&app(), "/v1/pathways/facet-pain").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["id"], "facet-pain");
    let options = body["options"].as_array().unwrap();
    assert!(options.iter().any(|o| o["id"] == "radiofrequency-ablation"));
    assert!(
        options
            .iter()
            .all(|o| !o["regions"].as_array().unwrap().is_empty())
    );
    // Every evidence entry says its direction; recommendations against are listed after the others.
    let mut against = 0;
    for option in options {
        for region in option["regions"].as_array().unwrap() {
            let directions: Vec<&str> = region["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["direction"].as_str().unwrap())
                .collect();
            assert_eq!(directions[0], "for", "{}", option["id"]);
            let mut sorted = directions.clone();
            sorted.sort_by_key(|d| *d == "against");
            assert_eq!(directions, sorted, "{}", option["id"]);
            against += directions.iter().filter(|d| **d == "against").count();
        }
    }
    assert!(against > 0);
    assert!(!body["sources"].as_array().unwrap().is_empty());
    assert!(!body["nodes"].as_array().unwrap().is_empty());
    let asra = body["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "asra-2020")
        .unwrap();
    let threshold = asra["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "positive_block_relief")
        .unwrap();
    // Lumbar, thoracic (extrapolated) and cervical values, each with source and verification.
    assert_eq!(threshold["values"].as_array().unwrap().len(), 3);
    assert!(
        threshold["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["source"].is_string() && v["verification"].is_string())
    );
    let flags = body["provenance_flags"].as_array().unwrap();
    assert!(flags.iter().any(|f| f["verification"] == "unverified"));
    assert!(flags.iter().any(|f| f["extrapolated_from"] == "lumbar"));
    assert!(flags.iter().all(|f| f["verification"] != "verified"
        || f["extrapolated_from"].is_string()
        || f["extrapolated"] == true));
    // An entry applied to another population is flagged although its source is verified.
    assert!(
        flags
            .iter()
            .any(|f| f["verification"] == "verified" && f["extrapolated"] == true)
    );
}

#[tokio::test]
async fn the_graph_is_text_in_mermaid_or_dot() {
    let app = app();
    let mermaid = get(&app, "/v1/pathways/facet-pain/graph").await;
    assert_eq!(mermaid.status, 200);
    assert_eq!(mermaid.content_type(), "text/plain; charset=utf-8");
    assert!(
        mermaid.text().starts_with("flowchart"),
        "{}",
        mermaid.text()
    );
    assert_eq!(
        get(&app, "/v1/pathways/facet-pain/graph?format=mermaid")
            .await
            .body,
        mermaid.body
    );
    let dot = get(&app, "/v1/pathways/facet-pain/graph?format=dot").await;
    assert_eq!(dot.status, 200);
    assert!(dot.text().starts_with("digraph"), "{}", dot.text());
}

#[tokio::test]
async fn health_and_readiness() {
    let app = app();
    let health = get(&app, "/healthz").await;
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["pathways"], 1);

    let readiness = Readiness::default();
    let draining = app_with(HttpOptions {
        readiness: readiness.clone(),
        ..HttpOptions::default()
    });
    assert_eq!(get(&draining, "/readyz").await.status, 200);
    readiness.drain();
    get(&draining, "/readyz").await.problem(503);
    assert_eq!(get(&draining, "/healthz").await.status, 200);
}

#[tokio::test]
async fn metrics_count_by_matched_route_status_and_top_option() {
    let app = app();
    let answer = triage(&app, valid_request().to_string()).await;
    let top = answer.json()["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    get(&app, "/v1/pathways/unlisted-pathway-7f3a")
        .await
        .problem(404);
    get(&app, "/no/such/route-9c2e").await.problem(404);
    let metrics = get(&app, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type().starts_with("text/plain"));
    let text = metrics.text();
    assert!(
        text.contains(r#"http_requests_total{method="POST",route="/v1/triage",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/v1/pathways/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"http_request_duration_seconds_bucket{method="POST",route="/v1/triage",status="200",le="+Inf"} 1"#), "{text}");
    assert!(
        text.contains(&format!(
            r#"triage_evaluations_total{{profile="asipp-2020",top_option="{top}"}} 1"#
        )),
        "{text}"
    );
    // Raw paths never become label values.
    assert!(
        !text.contains("unlisted-pathway-7f3a") && !text.contains("route-9c2e"),
        "{text}"
    );
}

#[tokio::test]
async fn the_swagger_ui_is_served_from_the_binary() {
    let app = app();
    let redirect = get(&app, "/docs").await;
    assert_eq!(redirect.status, 303);
    let page = get(&app, "/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.text().contains("swagger-ui"));
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"] {
        assert_eq!(get(&app, asset).await.status, 200, "{asset}");
    }
    let initializer = get(&app, "/docs/swagger-initializer.js").await;
    assert!(
        initializer.text().contains("/openapi.json"),
        "{}",
        initializer.text()
    );
    // No asset is fetched from elsewhere.
    assert!(!page.text().contains("https://"), "{}", page.text());
    assert!(
        !initializer.text().contains("https://"),
        "{}",
        initializer.text()
    );
}

/// The console is static files with a Content-Security-Policy that allows no inline script, served
/// without the token `/v1` asks for (the page asks for it); `/console` leads to `/console/`.
#[tokio::test]
async fn the_console_is_served_with_its_assets_and_a_strict_policy() {
    let tokens = facet_triage::http::ApiTokens::parse(None, Some("console-route-test-token-0123"))
        .unwrap()
        .unwrap();
    let app = app_with(HttpOptions {
        api_tokens: Some(std::sync::Arc::new(tokens)),
        ..HttpOptions::default()
    });
    let redirect = get(&app, "/console").await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.headers[header::LOCATION], "/console/");

    let page = get(&app, "/console/").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.content_type(), "text/html; charset=utf-8");
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        page.text()
            .contains(r#"<script type="module" src="app.js">"#)
    );

    for (path, media_type) in [
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let asset = get(&app, path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.content_type(), media_type, "{path}");
        assert!(asset.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
    get(&app, "/console/missing.js").await.problem(404);
    // The API behind it still wants the token.
    get(&app, "/v1/pathways").await.problem(401);
}

#[tokio::test]
async fn the_feedback_summary_checks_its_query_and_answers_from_the_database() {
    let app = app();
    let empty = get(&app, "/v1/feedback/summary").await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(empty.json(), json!({"services": []}));
    let filtered = get(
        &app,
        "/v1/feedback/summary?service=facet-pain-next-step&since=2026-11-01",
    )
    .await;
    assert_eq!(filtered.status, 200, "{}", filtered.text());
    for (query, field) in [
        ("service=nope", "service"),
        ("since=yesterday", "since"),
        ("since=2026-11", "since"),
    ] {
        let refused = get(&app, &format!("/v1/feedback/summary?{query}")).await;
        assert_eq!(refused.status, 400, "{query}");
        assert_eq!(refused.content_type(), PROBLEM_JSON);
        assert!(refused.json()["detail"].as_str().unwrap().contains(field));
        assert!(
            !refused.text().contains("yesterday"),
            "never echoes the value"
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_makes_readyz_and_the_summary_503_but_not_triage() {
    let state = AppState::with_database(
        state().store().clone(),
        Database::open("postgres://facet@127.0.0.1:9/none").unwrap(),
    );
    let app = facet_triage::http::router(state);
    for uri in ["/readyz", "/v1/feedback/summary"] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, 503, "{uri}");
        assert!(answer.headers.contains_key("retry-after"), "{uri}");
        assert!(
            answer.json()["detail"]
                .as_str()
                .unwrap()
                .contains("postgres")
        );
    }
    assert_eq!(triage(&app, valid_request().to_string()).await.status, 200);
}
