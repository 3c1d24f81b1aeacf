//! `GET /v1/feedback/summary`: what clinicians did with the CDS suggestions, per service and option
//! (contract section 9), read from the database.

use super::AppState;
use super::error::ApiError;
use crate::cds::SERVICES;
use crate::cds::fhir::{self, Moment};
use crate::db::feedback::ServiceSummary;
use crate::problem::Problem;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feedback_summary))
}

/// The query of a summary.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// A CDS service id (`GET /cds-services`); every service when left out.
    pub service: Option<String>,
    /// Only feedback whose outcome is at or after this date (`2026-11-01`) or date-time with a
    /// time zone; all feedback when left out.
    pub since: Option<String>,
}

/// What clinicians did with the CDS suggestions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackSummary {
    /// One entry per service with feedback, by service id.
    pub services: Vec<ServiceSummary>,
}

/// Summarize CDS feedback
///
/// Per CDS service and pathway option: how often its suggestion was accepted, how often a card
/// recommending it was overridden, and the coded override reasons given. This is where pathway
/// owners see clinicians disagree with the pathway.
#[utoipa::path(
    get,
    path = "/v1/feedback/summary",
    tag = "feedback",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = FeedbackSummary, content_type = "application/json"),
        (status = 400, description = "`service` names no CDS service, or `since` is not a date or date-time", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database cannot be reached; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn feedback_summary(
    State(state): State<AppState>,
    query: Result<Query<SummaryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FeedbackSummary>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::BadQuery {
        name: "service` or `since",
        rule: "may be given once each",
    })?;
    if let Some(service) = &query.service
        && !SERVICES.iter().any(|known| known.id == service)
    {
        return Err(ApiError::BadQuery {
            name: "service",
            rule: "must be a CDS service id listed by GET /cds-services",
        });
    }
    let since = match query.since.as_deref().map(fhir::parse_moment) {
        None => i64::MIN,
        Some(Some(Moment::At(at))) => at,
        Some(_) => {
            return Err(ApiError::BadQuery {
                name: "since",
                rule: "must be a date (YYYY-MM-DD) or a date-time with a time zone",
            });
        }
    };
    let services = state
        .database()
        .feedback_summary(query.service.as_deref(), since)
        .await
        .map_err(ApiError::DatabaseUnavailable)?;
    Ok(Json(FeedbackSummary { services }))
}
