//! `GET /v1/pathways`, `GET /v1/pathways/{id}` and `GET /v1/pathways/{id}/graph`: what the service
//! knows, for reviewers and for clients choosing a pathway or profile.

use super::AppState;
use super::error::ApiError;
use crate::pathway::{GraphFormat, Pathway, PathwaySet};
use crate::problem::Problem;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use view::{PathwayDocument, PathwaySummary};

mod view;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pathways))
        .routes(routes!(get_pathway))
        .routes(routes!(get_graph))
}

/// The loaded pathways.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PathwayList<'a> {
    pub pathways: Vec<PathwaySummary<'a>>,
    /// The pathway a request gets when it names none.
    pub default_pathway: &'a str,
}

/// List the loaded pathways
#[utoipa::path(
    get,
    path = "/v1/pathways",
    tag = "pathways",
    responses((status = 200, description = "Every loaded pathway", body = PathwayList, content_type = "application/json"))
)]
pub async fn list_pathways(State(state): State<AppState>) -> Response {
    let pathways = state.current_pathways();
    (
        super::version_headers(pathways.iter().map(AsRef::as_ref)),
        Json(list(&pathways)),
    )
        .into_response()
}

pub fn list(pathways: &PathwaySet) -> PathwayList<'_> {
    PathwayList {
        pathways: pathways
            .iter()
            .map(|pathway| PathwaySummary::of(pathway))
            .collect(),
        default_pathway: &pathways.default_pathway().id,
    }
}

/// Show one pathway in full
///
/// The options catalogue, sources, profiles with their parameter values, the nodes of the decision
/// graph, and every parameter value or evidence entry whose source is unverified or extrapolated.
#[utoipa::path(
    get,
    path = "/v1/pathways/{id}",
    tag = "pathways",
    params(("id" = String, Path, description = "Pathway id, as listed by `GET /v1/pathways`")),
    responses(
        (status = 200, description = "The pathway", body = PathwayDocument, content_type = "application/json"),
        (status = 404, description = "No pathway with this id is loaded", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_pathway(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let pathway = find(&state, id)?;
    Ok((
        super::version_headers([pathway.as_ref()]),
        Json(PathwayDocument::of(&pathway)),
    )
        .into_response())
}

/// The graph's text format.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GraphFormatParam {
    /// A Mermaid flowchart.
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// The query of `GET /v1/pathways/{id}/graph`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraphQuery {
    /// Text format of the graph; `mermaid` when left out.
    #[param(inline, required = false)]
    pub format: GraphFormatParam,
}

/// Draw the decision graph
///
/// Every node with its title and every edge with its branch condition, as a Mermaid flowchart or
/// Graphviz DOT, for review.
#[utoipa::path(
    get,
    path = "/v1/pathways/{id}/graph",
    tag = "pathways",
    params(("id" = String, Path, description = "Pathway id"), GraphQuery),
    responses(
        (status = 200, description = "The graph as text", body = String, content_type = "text/plain"),
        (status = 400, description = "`format` is neither `mermaid` nor `dot`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No pathway with this id is loaded", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_graph(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let format = graph_format(&uri)?;
    let pathway = find(&state, id)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        super::version_headers([pathway.as_ref()]),
        pathway.render_graph(format),
    )
        .into_response())
}

fn find(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
) -> Result<Arc<Pathway>, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::UnknownPathway);
    };
    state
        .current_pathways()
        .get(Some(&id))
        .cloned()
        .ok_or(ApiError::UnknownPathway)
}

/// `format`: absent (Mermaid), `mermaid` or `dot`, at most once; other parameters are ignored.
fn graph_format(uri: &Uri) -> Result<GraphFormat, ApiError> {
    let bad = ApiError::BadQuery {
        name: "format",
        rule: "must be `mermaid` or `dot`, given at most once",
    };
    let Query(pairs) =
        Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|_| bad.clone())?;
    let mut values = pairs.iter().filter(|(name, _)| name == "format");
    let format = match values.next() {
        None => GraphFormat::default(),
        Some((_, value)) => GraphFormat::parse(value).ok_or_else(|| bad.clone())?,
    };
    if values.next().is_some() {
        return Err(bad);
    }
    Ok(format)
}
