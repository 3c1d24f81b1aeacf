//! `POST /v1/triage`: reads the raw body and hands it to [`crate::triage::triage`], which checks the
//! syntax (`400`) and every field (`422`). No axum extractor touches the body, so none of axum's
//! plain-text rejections can reach a client.
//!
//! Checks run in the contract's order: method (the router), size, content type, then the body.

use super::error::ApiError;
use super::{AppState, read_json_body};
use crate::engine::TriageResponse;
use crate::problem::Problem;
use crate::request::TriageRequest;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST /v1/triage`, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(triage))
}

/// Evaluate one request
///
/// Walks the pathway with the reported response and returns the ranked next options with their
/// evidence, what to avoid and any alerts. The same request against the same pathway always gets a
/// byte-identical body.
#[utoipa::path(
    post,
    path = "/v1/triage",
    tag = "triage",
    params(TraceParam),
    request_body(
        content = TriageRequest,
        content_type = "application/json",
        description = "How the patient responded to the intervention (contract section 4.1).",
        example = json!({
            "region": "lumbar",
            "procedure": "intra_articular_injection",
            "percent_relief": 60,
            "relief_duration": {"value": 2, "unit": "wk"},
            "radicular_symptoms": false
        })
    ),
    responses(
        (status = 200, description = "The ranked next options", body = TriageResponse, content_type = "application/json"),
        (status = 400, description = "The body is not JSON (truncated, `NaN`, a number out of range), or `trace` is not `true` or `false`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid JSON that is not a valid request; `errors` names every offending field by JSON Pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn triage(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let trace = trace_flag(request.uri())?;
    let body = read_json_body(request).await?;
    let pathways = state.current_pathways();
    let outcome = crate::triage::triage(&pathways, &body, trace).map_err(ApiError::Triage)?;
    state
        .metrics()
        .record_evaluation(outcome.answered.top_option, outcome.answered.profile);
    let mut response = outcome.body.into_response();
    let json = HeaderValue::from_static("application/json");
    response.headers_mut().insert(header::CONTENT_TYPE, json);
    Ok(response)
}

/// The `trace` query parameter: absent, `true` or `false`; other parameters are ignored.
fn trace_flag(uri: &Uri) -> Result<bool, ApiError> {
    if uri.query().is_none() {
        return Ok(false);
    }
    let bad = ApiError::BadQuery {
        name: "trace",
        rule: "must be `true` or `false`, given at most once",
    };
    let Query(pairs) =
        Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|_| bad.clone())?;
    let mut values = pairs.iter().filter(|(name, _)| name == "trace");
    let flag = match values.next().map(|(_, value)| value.as_str()) {
        None => false,
        Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(bad),
    };
    if values.next().is_some() {
        return Err(bad);
    }
    Ok(flag)
}

/// The query of `POST /v1/triage`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceParam {
    /// Add the walk through the graph: each visited node with the facts it read and the branch taken.
    #[param(required = false, default = false)]
    pub trace: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::is_json;
    use axum::http::HeaderMap;

    fn flag(query: &str) -> Result<bool, ApiError> {
        trace_flag(&format!("/v1/triage{query}").parse().unwrap())
    }

    #[test]
    fn the_trace_flag_is_true_false_or_absent() {
        assert_eq!(flag(""), Ok(false));
        assert_eq!(flag("?trace=true"), Ok(true));
        assert_eq!(flag("?trace=false&other=1"), Ok(false));
        assert!(flag("?trace=yes").is_err());
        assert!(flag("?trace=true&trace=true").is_err());
        assert!(flag("?trace=%ZZ").is_err());
    }

    #[test]
    fn json_content_types_accept_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "application/jsonx".parse().unwrap());
        assert!(!is_json(&headers));
        for declared in [
            "application/json",
            " Application/JSON ;charset=utf-8",
            "application/json;",
        ] {
            headers.insert(header::CONTENT_TYPE, declared.parse().unwrap());
            assert!(is_json(&headers), "{declared}");
        }
        headers.insert(header::CONTENT_TYPE, ";application/json".parse().unwrap());
        assert!(!is_json(&headers));
    }
}
