//! Overload behaviour: a fixed number of requests are answered at once; one more is refused at once
//! with `503` and `Retry-After` (a problem document) instead of waiting in an unbounded queue.
//!
//! One semaphore is shared by every limited route (tower's global concurrency limit, behind a load
//! shedder that turns "no permit now" into an error instead of a wait). `/healthz`, `/readyz` and
//! `/metrics` are not limited, so probes and scrapes still answer under load.

use super::error::ApiError;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tower::layer::util::{Identity, Stack};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::{BoxError, ServiceBuilder};

/// Requests answered at once by default. An evaluation takes tens of microseconds, so this bounds
/// memory and latency under a spike without refusing ordinary traffic.
pub const DEFAULT_MAX_CONCURRENCY: usize = 512;
/// Seconds a refused client is asked to wait before retrying.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// The permits shared by every limited route of one router.
#[derive(Debug, Clone)]
pub struct Limit(Arc<Semaphore>);

impl Limit {
    /// At least one request at a time.
    pub fn new(max_concurrency: usize) -> Limit {
        Limit(Arc::new(Semaphore::new(
            max_concurrency.clamp(1, Semaphore::MAX_PERMITS),
        )))
    }

    /// The layers to put on a route: shed when no permit is free, else hold one until answered.
    pub fn layer(&self) -> ServiceBuilder<LimitLayers> {
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(shed as ShedHandler))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::with_semaphore(Arc::clone(
                &self.0,
            )))
    }
}

type ShedHandler = fn(BoxError) -> std::future::Ready<Response>;
type LimitLayers = Stack<
    GlobalConcurrencyLimitLayer,
    Stack<LoadShedLayer, Stack<HandleErrorLayer<ShedHandler, ()>, Identity>>,
>;

/// The answer to a request the limit refused (or, should it ever happen, another layer error).
fn shed(error: BoxError) -> std::future::Ready<Response> {
    let response = if error.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("http_requests_shed_total").increment(1);
        ApiError::Overloaded.into_response()
    } else {
        tracing::error!("a request failed in the concurrency limit");
        ApiError::Status(axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
    };
    std::future::ready(response)
}
