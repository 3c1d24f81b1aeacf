//! The tower-http stack: request ids, CORS, compression (the timeout is tested over a socket).

use crate::helpers::*;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use facet_triage::http::{Cors, HttpOptions};

fn triage_request(request_id: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/v1/triage").header(header::CONTENT_TYPE, "application/json");
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    request
        .body(Body::from(valid_request().to_string()))
        .unwrap()
}

/// A generated id: 8 hex digits of per-process prefix, a dash, 16 hex digits of counter.
fn is_generated_id(id: &str) -> bool {
    let Some((prefix, counter)) = id.split_once('-') else {
        return false;
    };
    prefix.len() == 8
        && counter.len() == 16
        && id
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_request_id_is_propagated_or_generated() {
    let app = app();
    let given = send(&app, triage_request(Some("ehr-7f3a.2026:01"))).await;
    assert_eq!(given.headers["x-request-id"], "ehr-7f3a.2026:01");
    let generated = send(&app, triage_request(None)).await;
    let id = generated.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(is_generated_id(&id), "{id}");
    let another = send(&app, triage_request(None)).await;
    assert_ne!(another.headers["x-request-id"], id.as_str());
    // Errors carry it too.
    let error = send(
        &app,
        Request::get("/v1/nowhere")
            .header("x-request-id", "abc-1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(error.headers["x-request-id"], "abc-1");
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced() {
    let app = app();
    for unusable in ["has space", "quote\"d", &"x".repeat(129)] {
        let answer = send(&app, triage_request(Some(unusable))).await;
        let echoed = answer.headers["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, unusable);
        assert!(is_generated_id(echoed), "{echoed}");
    }
}

#[tokio::test]
async fn cors_is_off_by_default_and_answers_configured_origins() {
    let preflight = || {
        Request::options("/v1/triage")
            .header(header::ORIGIN, "https://ehr.example.org")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let off = send(&app(), preflight()).await;
    assert!(
        !off.headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let on = app_with(HttpOptions {
        cors: Cors::Origins(vec![HeaderValue::from_static("https://ehr.example.org")]),
        ..HttpOptions::default()
    });
    let answer = send(&on, preflight()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://ehr.example.org"
    );
    let mut request = triage_request(None);
    request.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_static("https://ehr.example.org"),
    );
    let answer = send(&on, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://ehr.example.org"
    );
    assert!(
        answer.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap()
            .contains("x-request-id")
    );
    let mut other = triage_request(None);
    other.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_static("https://elsewhere.example"),
    );
    assert!(
        !send(&on, other)
            .await
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let any = app_with(HttpOptions {
        cors: Cors::AnyOrigin,
        ..HttpOptions::default()
    });
    assert_eq!(
        send(&any, preflight()).await.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "*"
    );
    let allowed = |app: &axum::Router| {
        let app = app.clone();
        async move {
            let answer = send(&app, preflight()).await;
            answer
                .headers
                .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
                .map(|value| value.to_str().unwrap().to_ascii_lowercase())
                .unwrap_or_default()
        }
    };
    assert!(!allowed(&on).await.contains("authorization"));
    // With API tokens, browsers may send `Authorization`.
    let tokens = facet_triage::http::ApiTokens::parse(None, Some("cors-test-token-0123456789"))
        .unwrap()
        .unwrap();
    let with_tokens = app_with(HttpOptions {
        cors: Cors::Origins(vec![HeaderValue::from_static("https://ehr.example.org")]),
        api_tokens: Some(std::sync::Arc::new(tokens)),
        ..HttpOptions::default()
    });
    assert!(allowed(&with_tokens).await.contains("authorization"));
}

#[tokio::test]
async fn responses_are_gzipped_when_asked() {
    let app = app();
    let request = Request::get("/v1/pathways/facet-pain")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[header::CONTENT_ENCODING], "gzip");
    let plain = get(&app, "/v1/pathways/facet-pain").await;
    assert!(!plain.headers.contains_key(header::CONTENT_ENCODING));
    assert!(answer.body.len() < plain.body.len());
}

/// `POST /v1/triage` carries its layers on the handler, not around the route: it must still answer
/// through every one of them, in the router's order, and so must its `405`.
#[tokio::test]
async fn the_triage_route_answers_through_the_same_layers_as_every_route() {
    const TOKEN: &str = "triage-layers-test-token-0123456789";
    let tokens = facet_triage::http::ApiTokens::parse(None, Some(TOKEN))
        .unwrap()
        .unwrap();
    let app = app_with(HttpOptions {
        api_tokens: Some(std::sync::Arc::new(tokens)),
        cors: Cors::AnyOrigin,
        ..HttpOptions::default()
    });
    let with_token = |mut request: Request<Body>| {
        let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
        request
    };
    let get = || Request::get("/v1/triage").body(Body::empty()).unwrap();

    // Without a token, the bearer check answers first, for the method that exists and the one that
    // does not; the answer is observed (request id) and carries CORS headers.
    for request in [triage_request(None), get()] {
        let mut request = request;
        request.headers_mut().insert(
            header::ORIGIN,
            HeaderValue::from_static("https://ehr.example.org"),
        );
        let answer = send(&app, request).await;
        answer.problem(401);
        assert!(answer.headers.contains_key("x-request-id"));
        assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
    // With one, the triage answers, and another method is a `405` problem with `Allow`.
    let answer = send(&app, with_token(triage_request(Some("layers-1")))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-request-id"], "layers-1");
    let answer = send(&app, with_token(get())).await;
    answer.problem(405);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    assert!(answer.headers.contains_key("x-request-id"));

    // Each answer was counted under the matched route.
    let metrics = send(
        &app,
        with_token(Request::get("/metrics").body(Body::empty()).unwrap()),
    )
    .await;
    let text = metrics.text();
    for (method, status) in [("POST", 401), ("GET", 401), ("POST", 200), ("GET", 405)] {
        let line = format!(
            r#"http_requests_total{{method="{method}",route="/v1/triage",status="{status}"}} 1"#
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
}
