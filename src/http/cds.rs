//! CDS Hooks 2.0 routes: discovery, service calls and feedback. Every error under `/cds-services`
//! is a FHIR `OperationOutcome`, not a problem document.

use super::AppState;
use crate::cds::feedback::{self, FeedbackLog};
use crate::cds::outcome::{CdsError, FHIR_JSON};
use crate::cds::{self, service};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use std::sync::Arc;

/// Largest accepted CDS Hooks body: prefetch bundles are larger than a triage request.
pub const CDS_BODY_LIMIT: usize = 1024 * 1024;
/// How many feedback items are remembered to recognise exact repeats.
const FEEDBACK_MEMORY: usize = 100_000;

/// The `/cds-services` routes.
pub fn routes() -> Router<AppState> {
    let log = Arc::new(FeedbackLog::new(FEEDBACK_MEMORY));
    Router::new()
        .route("/cds-services", get(discovery).fallback(method_not_allowed))
        .route(
            "/cds-services/{id}",
            post(call_service).fallback(method_not_allowed),
        )
        .route(
            "/cds-services/{id}/feedback",
            post(move |Path(id): Path<String>, request: Request| {
                let log = Arc::clone(&log);
                async move { receive_feedback(&log, &id, request).await }
            })
            .fallback(method_not_allowed),
        )
        .route("/cds-services/{id}/{*rest}", any(not_found))
}

async fn discovery(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&cds::discovery(&state.pathways)).unwrap_or_default(),
    )
}

async fn call_service(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(service) = service(&id) else {
        return outcome(CdsError::unknown_service());
    };
    let body = match json_body(request).await {
        Ok(body) => body,
        Err(error) => return outcome(error),
    };
    match cds::call(&state.pathways, service.id, &body) {
        Ok(answer) => {
            metrics::counter!("cds_service_calls_total", "service" => service.id, "result" => answer.result.as_str())
                .increment(1);
            json_response(StatusCode::OK, answer.body)
        }
        Err(error) => {
            metrics::counter!("cds_service_calls_total", "service" => service.id, "result" => status_label(error.status))
                .increment(1);
            outcome(error)
        }
    }
}

async fn receive_feedback(log: &FeedbackLog, id: &str, request: Request) -> Response {
    let Some(service) = service(id) else {
        return outcome(CdsError::unknown_service());
    };
    let body = match json_body(request).await {
        Ok(body) => body,
        Err(error) => return outcome(error),
    };
    let items = match feedback::parse(&body) {
        Ok(items) => items,
        Err(error) => return outcome(error),
    };
    let receipt = log.record(service.id, &items);
    for (outcome, count) in [
        ("accepted", receipt.accepted),
        ("overridden", receipt.overridden),
    ] {
        if count > 0 {
            metrics::counter!("cds_feedback_total", "service" => service.id, "outcome" => outcome)
                .increment(count as u64);
        }
    }
    if receipt.duplicates > 0 {
        metrics::counter!("cds_feedback_duplicates_total", "service" => service.id)
            .increment(receipt.duplicates as u64);
    }
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&serde_json::json!({
            "accepted": receipt.accepted,
            "overridden": receipt.overridden,
            "duplicates": receipt.duplicates,
        }))
        .unwrap_or_default(),
    )
}

/// The body of a JSON request: `415` for another media type, `413` over the limit.
async fn json_body(request: Request) -> Result<axum::body::Bytes, CdsError> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(CdsError::new(
            415,
            "not-supported",
            "send the request as application/json",
            None,
        ));
    }
    to_bytes(request.into_body(), CDS_BODY_LIMIT)
        .await
        .map_err(|_| CdsError::new(413, "too-long", "the body exceeds 1 MiB", None))
}

async fn method_not_allowed() -> Response {
    outcome(CdsError::new(
        405,
        "not-supported",
        "method not allowed on this CDS Hooks route",
        None,
    ))
}

async fn not_found() -> Response {
    outcome(CdsError::unknown_service())
}

fn status_label(status: u16) -> &'static str {
    match status {
        400 => "invalid_request",
        404 => "unknown_service",
        412 => "prefetch_missing",
        422 => "invalid_prefetch",
        _ => "error",
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body),
    )
        .into_response()
}

fn outcome(error: CdsError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        error.to_json(),
    )
        .into_response()
}
