//! `GET /healthz` (the process answers) and `GET /readyz` (pathways are loaded, the database answers
//! and the server is not draining for shutdown). The readiness body names the serving pathway versions and the errors of
//! the last rejected reload: a rejected reload leaves the previous version serving, so the server
//! stays ready.

use super::AppState;
use super::error::ApiError;
use crate::problem::Problem;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Whether the server takes new work: cleared when shutdown begins, so load balancers stop sending
/// requests while in-flight ones finish.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(Arc::new(AtomicBool::new(true)))
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the server as draining: `/readyz` answers `503` from now on.
    pub fn drain(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The body of a liveness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process answers", body = Health, content_type = "application/json"))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// One serving pathway.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServingPathway {
    pub id: String,
    pub version: String,
    /// `sha256:` digest of the pathway file.
    pub digest: String,
}

/// The body of a readiness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: &'static str,
    /// Number of loaded pathways.
    pub pathways: usize,
    /// The pathway versions answering requests now.
    pub serving: Vec<ServingPathway>,
    /// The last reload that was rejected (the versions above kept serving), until a reload
    /// succeeds: one `file:line:column: message` line per error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_reload: Option<Vec<String>>,
    /// A reload of the pathway files is running now (the versions above serve until it ends).
    pub reloading: bool,
}

/// Readiness
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Pathways are loaded; requests are served. Names the serving versions and the last rejected reload", body = Ready, content_type = "application/json"),
        (status = 503, description = "Not ready: no pathway loaded, the database cannot be reached (the problem names it; `Retry-After` is set), or shutting down", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(
    State(state): State<AppState>,
    Extension(readiness): Extension<Readiness>,
) -> Response {
    let pathways = state.current_pathways();
    let loaded = pathways.iter().count();
    if loaded == 0 || !readiness.is_ready() {
        return ApiError::NotReady.into_response();
    }
    if let Err(error) = state.database().ping().await {
        return ApiError::DatabaseUnavailable(error).into_response();
    }
    let serving = pathways
        .iter()
        .map(|pathway| ServingPathway {
            id: pathway.id.clone(),
            version: pathway.version.clone(),
            digest: pathway.digest.clone(),
        })
        .collect();
    (
        super::version_headers(pathways.iter().map(AsRef::as_ref)),
        Json(Ready {
            status: "ready",
            pathways: loaded,
            serving,
            rejected_reload: state.store().last_failure().map(|failure| failure.errors),
            reloading: state.store().is_reloading(),
        }),
    )
        .into_response()
}
