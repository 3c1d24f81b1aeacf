//! Request values are patient data: they must never reach a log line, at any level, in either format.
//!
//! One test, in the `logs` binary: a subscriber installed for one thread sees every span only when
//! no other test thread registers the same callsites first (tracing caches callsite interest; see
//! `main.rs`).

use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use facet_triage::http::{AppState, router};
use facet_triage::pathway::PathwaySet;
use facet_triage::telemetry::{LogFormat, subscriber};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;

/// Sentinel values no log line may contain.
const SENTINELS: &[&str] = &[
    "73.137",
    "41.29",
    "sentinel-flag-x9",
    "sentinel-profile-q7",
    "sentinel-query-v3",
];

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends one request; returns the status and the body.
async fn send(app: &axum::Router, request: Request<Body>) -> (u16, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn request(uri: &str, id: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", id)
        .body(Body::from(body))
        .unwrap()
}

async fn capture(format: LogFormat) -> String {
    let buffer = Buffer::default();
    let sink = buffer.clone();
    let subscriber = subscriber(format, EnvFilter::new("trace"), move || sink.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = router(AppState::new(PathwaySet::embedded().unwrap()));

    let mut valid = json!({"region": "lumbar", "procedure": "intra_articular_injection",
        "radicular_symptoms": false});
    valid["percent_relief"] = json!(73.137);
    valid["relief_duration"] = json!({"value": 41.29, "unit": "wk"});
    let probe = request(
        "/v1/triage?trace=true",
        "leak-probe-valid",
        valid.to_string(),
    );
    let (status, body) = send(&app, probe).await;
    assert_eq!(status, 200, "{body}");
    // The sentinels are in the response (the trace repeats the facts), so the capture is meaningful.
    assert!(body.contains("73.137") && body.contains("41.29"), "{body}");

    let invalid = json!({"region": "lumbar", "procedure": "sentinel-flag-x9", "percent_relief": "73.137",
        "relief_duration": {"value": 41.29, "unit": "sentinel-flag-x9"}, "profile": "sentinel-profile-q7",
        "red_flags": ["sentinel-flag-x9"]});
    let probe = request("/v1/triage", "leak-probe-invalid", invalid.to_string());
    assert_eq!(send(&app, probe).await.0, 422);

    let malformed = r#"{"percent_relief": 73.137, "relief_duration": {"value": 41.29 "#.to_owned();
    let probe = request("/v1/triage", "leak-probe-malformed", malformed);
    assert_eq!(send(&app, probe).await.0, 400);
    let probe = request(
        "/v1/triage?trace=sentinel-query-v3",
        "leak-probe-query",
        valid.to_string(),
    );
    assert_eq!(send(&app, probe).await.0, 400);
    let uri = "/v1/pathways/sentinel-profile-q7?format=sentinel-query-v3";
    assert_eq!(
        send(&app, request(uri, "leak-probe-path", String::new()))
            .await
            .0,
        405
    );

    drop(_guard);
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

async fn assert_no_leak(format: LogFormat) {
    let log = capture(format).await;
    for id in [
        "leak-probe-valid",
        "leak-probe-invalid",
        "leak-probe-malformed",
        "leak-probe-query",
    ] {
        assert!(
            log.contains(id),
            "request id {id} missing: the capture does not work\n{log}"
        );
    }
    for sentinel in SENTINELS {
        assert!(
            !log.contains(sentinel),
            "{sentinel} leaked into the log:\n{log}"
        );
    }
}

#[tokio::test]
async fn no_request_value_reaches_a_log_line() {
    assert_no_leak(LogFormat::Text).await;
    assert_no_leak(LogFormat::Json).await;
}
