//! `POST /v1/triage`.

use super::{AppState, BODY_LIMIT};
use crate::problem::{PROBLEM_JSON, Problem};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct TriageQuery {
    #[serde(default)]
    trace: bool,
}

pub async fn triage(
    State(state): State<AppState>,
    Query(query): Query<TriageQuery>,
    request: Request,
) -> Response {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return problem(Problem::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the request as application/json",
        ));
    }
    let Ok(body) = to_bytes(request.into_body(), BODY_LIMIT).await else {
        return problem(Problem::new(
            413,
            "payload-too-large",
            "Payload too large",
            "the body exceeds 64 KiB",
        ));
    };
    match crate::triage::triage(&state.pathways, &body, query.trace) {
        Ok(outcome) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            Body::from(outcome.body),
        )
            .into_response(),
        Err(error) => problem(error),
    }
}

fn problem(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        problem.to_json(),
    )
        .into_response()
}
