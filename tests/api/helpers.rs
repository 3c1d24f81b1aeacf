//! Building the app and sending requests through it without a socket.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, header};
use facet_triage::http::{AppState, HttpOptions, router, router_with};
use facet_triage::pathway::PathwaySet;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub fn state() -> AppState {
    AppState::new(PathwaySet::embedded().expect("the embedded pathway loads"))
}

pub fn app() -> Router {
    router(state())
}

pub fn app_with(options: HttpOptions) -> Router {
    router_with(state(), options)
}

/// A valid request: a partial response to a lumbar intra-articular injection.
pub fn valid_request() -> Value {
    json!({
        "region": "lumbar",
        "procedure": "intra_articular_injection",
        "percent_relief": 60,
        "relief_duration": {"value": 2, "unit": "wk"},
        "radicular_symptoms": false
    })
}

/// One answer, fully read.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("JSON body: {}", self.text()))
    }

    /// Asserts a problem document of `status` and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.content_type(), PROBLEM_JSON, "{}", self.text());
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{member} missing: {problem}");
        }
        problem
    }

    /// The `field` pointers of a problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `POST` with a body and an optional content type.
pub async fn post(
    app: &Router,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Answer {
    let mut request = Request::builder().method(Method::POST).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    send(app, request.body(body.into()).unwrap()).await
}

/// `POST /v1/triage` with `application/json`.
pub async fn triage(app: &Router, body: impl Into<Body>) -> Answer {
    post(app, "/v1/triage", Some("application/json"), body).await
}
