//! `GET /healthz` (the process answers) and `GET /readyz` (pathways are loaded and the server is not
//! draining for shutdown).

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

/// The body of a health answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
    /// Number of loaded pathways (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pathways: Option<usize>,
}

/// Liveness
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process answers", body = Health, content_type = "application/json"))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        pathways: None,
    })
}

/// Readiness
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Pathways are loaded; requests are served", body = Health, content_type = "application/json"),
        (status = 503, description = "Not ready: no pathway loaded, or shutting down", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(
    State(state): State<AppState>,
    Extension(readiness): Extension<Readiness>,
) -> Response {
    let loaded = state.current_pathways().iter().count();
    if loaded == 0 || !readiness.is_ready() {
        return ApiError::NotReady.into_response();
    }
    Json(Health {
        status: "ready",
        pathways: Some(loaded),
    })
    .into_response()
}
