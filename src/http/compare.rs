//! `POST /v1/triage/compare`: the request of `POST /v1/triage` (without `profile`) evaluated under
//! every profile of the pathway, side by side. Reads the raw body like the triage route and hands
//! it to [`crate::triage::compare`]; checks run in the same order (size, content type, body).

use super::error::ApiError;
use super::{AppState, read_json_body};
use crate::engine::Comparison;
use crate::problem::Problem;
use crate::request::TriageRequest;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The route with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(compare))
}

/// Compare the profiles
///
/// Evaluates one request under every criteria profile of the pathway, in the pathway's profile
/// order, and lists the options that one profile offers and another avoids. Each profile's entry
/// names what `POST /v1/triage` with that profile answers (ids, not objects). The body is a triage
/// request without `profile` (a `profile` member is a `422` at `/profile`).
#[utoipa::path(
    post,
    path = "/v1/triage/compare",
    tag = "triage",
    request_body(
        content = TriageRequest,
        content_type = "application/json",
        description = "How the patient responded to the intervention (contract section 4.1), without `profile`.",
        example = json!({
            "region": "lumbar",
            "procedure": "medial_branch_block",
            "percent_relief": 85,
            "relief_duration": {"value": 6, "unit": "h"},
            "radicular_symptoms": false
        })
    ),
    responses(
        (status = 200, description = "Every profile's answer side by side", body = Comparison, content_type = "application/json"),
        (status = 400, description = "The body is not JSON (truncated, `NaN`, a number out of range)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid JSON that is not a valid request, or one naming a `profile`; `errors` names every offending field by JSON Pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn compare(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_json_body(request).await?;
    let pathways = state.current_pathways();
    let body = crate::triage::compare(&pathways, &body).map_err(ApiError::Triage)?;
    let mut response = body.into_response();
    let json = HeaderValue::from_static("application/json");
    response.headers_mut().insert(header::CONTENT_TYPE, json);
    Ok(response)
}
