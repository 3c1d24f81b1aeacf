//! The HTTP layer's one error type. Every variant becomes an RFC 9457 problem document
//! (`application/problem+json`); none carries a submitted value.

use crate::problem::{PROBLEM_JSON, Problem};
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// A problem the triage use case reported (`400` syntax, `422` fields).
    #[error("{0}")]
    Triage(Problem),
    /// `400`: a query parameter has a value the route does not accept.
    #[error("query parameter `{name}` {rule}")]
    BadQuery {
        name: &'static str,
        rule: &'static str,
    },
    /// `400`: the body could not be read (the connection failed mid-body).
    #[error("the request body could not be read")]
    UnreadableBody,
    /// `404`: no pathway with the id in the path.
    #[error("no pathway with this id is loaded; see GET /v1/pathways")]
    UnknownPathway,
    /// `404`: no route for the path.
    #[error("no route for this path; see /openapi.json")]
    NoRoute,
    /// `503`: not ready to serve (no pathway loaded, or shutting down).
    #[error("not ready: no pathway is loaded or the server is shutting down")]
    NotReady,
    /// `401`: `/v1/*` requires a bearer token and the request has none (`presented: false`) or an
    /// unknown one.
    #[error("{}", if *presented { "the bearer token is not valid" } else { "send a bearer token: Authorization: Bearer <token>" })]
    Unauthorized { presented: bool },
    /// `503`: the database this route needs cannot be reached; retry after `Retry-After` seconds.
    #[error("{0}; retry later")]
    DatabaseUnavailable(crate::db::DbError),
    /// `503`: every request slot is busy; retry after `Retry-After` seconds.
    #[error("the server is at its concurrency limit; retry after the Retry-After delay")]
    Overloaded,
    /// `413`: the body is over the limit.
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// `415`: the body is not declared as JSON.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// Any other status without a body of its own (`405` from routing, `408` from the timeout, `500`
    /// from a caught panic); the status alone says what happened.
    #[error("{}", status_detail(*.0))]
    Status(StatusCode),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Triage(problem) => {
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::BadQuery { .. } | ApiError::UnreadableBody => StatusCode::BAD_REQUEST,
            ApiError::UnknownPathway | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotReady | ApiError::Overloaded | ApiError::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Status(status) => *status,
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = self.to_string();
        match self {
            ApiError::Triage(problem) => problem.clone(),
            ApiError::BadQuery { .. } => {
                Problem::new(400, "invalid-query", "Invalid query parameter", detail)
            }
            ApiError::UnreadableBody => {
                Problem::new(400, "unreadable-body", "Unreadable body", detail)
            }
            ApiError::UnknownPathway | ApiError::NoRoute => Problem::not_found(detail),
            ApiError::PayloadTooLarge { .. } => {
                Problem::new(413, "payload-too-large", "Payload too large", detail)
            }
            ApiError::UnsupportedMediaType => Problem::new(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                detail,
            ),
            ApiError::NotReady => Problem::new(503, "not-ready", "Not ready", detail),
            ApiError::Unauthorized { .. } => {
                Problem::new(401, "unauthorized", "Unauthorized", detail)
            }
            ApiError::Overloaded => Problem::new(503, "overloaded", "Overloaded", detail),
            ApiError::DatabaseUnavailable(_) => {
                Problem::new(503, "database-unavailable", "Database unavailable", detail)
            }
            ApiError::Status(_) => {
                let title = status.canonical_reason().unwrap_or("Error");
                let slug = title.to_ascii_lowercase().replace(' ', "-");
                Problem::new(status.as_u16(), &slug, title, detail)
            }
        }
    }
}

fn status_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not accept the method; see the Allow header"
        }
        StatusCode::REQUEST_TIMEOUT => "the request took too long to receive or answer",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
        s if s.is_server_error() => "the server failed to answer; the request can be retried",
        _ => "the request cannot be answered",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let mut response = problem_response(&self.problem(), self.status());
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized { presented } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(if presented {
                        "Bearer realm=\"facet-triage\", error=\"invalid_token\""
                    } else {
                        "Bearer realm=\"facet-triage\""
                    }),
                );
            }
            ApiError::Overloaded | ApiError::DatabaseUnavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(super::overload::RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

/// A problem document as a response.
pub fn problem_response(problem: &Problem, status: StatusCode) -> axum::response::Response {
    let mut response = Response::new(Body::from(problem.to_json()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// An error response that carries no JSON body of its own (axum's `404`/`405`, the body
/// limit's `413`, the timeout's `408`, a caught panic's `500`) becomes a problem document with the
/// same status and headers (`Allow` stays on a `405`).
pub fn problem_for_bare_errors(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || carries_json(&response) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = ApiError::Status(status).problem();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    axum::response::Response::from_parts(parts, Body::from(problem.to_json()))
}

fn carries_json(response: &axum::response::Response) -> bool {
    super::is_json(response.headers())
        || super::media_type(response.headers())
            .is_some_and(|mime| mime.to_ascii_lowercase().ends_with(b"+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_status_and_a_problem_of_that_status() {
        let cases = [
            (
                ApiError::BadQuery {
                    name: "trace",
                    rule: "must be true or false",
                },
                400,
            ),
            (ApiError::UnreadableBody, 400),
            (ApiError::UnknownPathway, 404),
            (ApiError::NoRoute, 404),
            (ApiError::PayloadTooLarge { limit: 65_536 }, 413),
            (ApiError::UnsupportedMediaType, 415),
            (ApiError::NotReady, 503),
            (ApiError::Overloaded, 503),
            (
                ApiError::DatabaseUnavailable(crate::db::DbError::Unavailable("postgres")),
                503,
            ),
            (ApiError::Unauthorized { presented: false }, 401),
            (ApiError::Unauthorized { presented: true }, 401),
            (ApiError::Status(StatusCode::METHOD_NOT_ALLOWED), 405),
            (ApiError::Status(StatusCode::REQUEST_TIMEOUT), 408),
            (ApiError::Triage(Problem::malformed("unexpected end")), 400),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            let problem = error.problem();
            assert_eq!(problem.status, status, "{error:?}");
            assert!(problem.kind.starts_with("urn:facet-triage:problem:"));
            assert!(!problem.detail.is_empty());
        }
        assert_eq!(
            ApiError::Status(StatusCode::METHOD_NOT_ALLOWED)
                .problem()
                .kind,
            "urn:facet-triage:problem:method-not-allowed"
        );
    }
}
