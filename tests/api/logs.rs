//! Request values are patient data: they must never reach a log line, at any level, in either format.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, header};
use facet_triage::telemetry::{LogFormat, subscriber};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
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
    let app = app();

    let mut valid = valid_request();
    valid["percent_relief"] = json!(73.137);
    valid["relief_duration"] = json!({"value": 41.29, "unit": "wk"});
    let answer = send(
        &app,
        request(
            "/v1/triage?trace=true",
            "leak-probe-valid",
            valid.to_string(),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // The sentinels are in the response (the trace repeats the facts), so the capture is meaningful.
    assert!(answer.text().contains("73.137"));

    let invalid = json!({"region": "lumbar", "procedure": "sentinel-flag-x9", "percent_relief": "73.137",
        "relief_duration": {"value": 41.29, "unit": "sentinel-flag-x9"}, "profile": "sentinel-profile-q7",
        "red_flags": ["sentinel-flag-x9"]});
    let answer = send(
        &app,
        request("/v1/triage", "leak-probe-invalid", invalid.to_string()),
    )
    .await;
    answer.problem(422);

    let malformed = r#"{"percent_relief": 73.137, "relief_duration": {"value": 41.29 "#.to_owned();
    send(
        &app,
        request("/v1/triage", "leak-probe-malformed", malformed),
    )
    .await
    .problem(400);
    send(
        &app,
        request(
            "/v1/triage?trace=sentinel-query-v3",
            "leak-probe-query",
            valid.to_string(),
        ),
    )
    .await
    .problem(400);
    send(
        &app,
        request(
            "/v1/pathways/sentinel-profile-q7?format=sentinel-query-v3",
            "leak-probe-path",
            String::new(),
        ),
    )
    .await
    .problem(405);

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
async fn no_request_value_reaches_a_text_log() {
    assert_no_leak(LogFormat::Text).await;
}

#[tokio::test]
async fn no_request_value_reaches_a_json_log() {
    assert_no_leak(LogFormat::Json).await;
}
