//! The HTTP layer: an axum router over the triage use case and the loaded pathways. No clinical logic
//! lives here.
//!
//! One module per resource (`triage`, `pathways`, `health`, `metrics`, `openapi`); each exposes an
//! `OpenApiRouter` whose handlers carry their own OpenAPI description, so the document and the routes
//! come from the same code. [`router_with`] merges them and wraps them in the tower-http stack, the
//! optional bearer-token check (`access`) and the concurrency limit (`overload`).

pub mod access;
mod cds;
mod error;
pub mod overload;

pub use cds::{CdsArgs, CdsConfig};
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod pathways;
mod server;
pub mod triage;

pub use access::ApiTokens;
pub use error::{ApiError, problem_response};
pub use health::Readiness;
pub use metrics::Metrics;
pub use server::{HealthcheckArgs, ServeArgs, healthcheck, serve_blocking};

use crate::pathway::{Pathway, PathwaySet};
use crate::store::{PathwaySource, PathwayStore};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::{Extension, Router};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;

/// Largest accepted request body (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Default time allowed to receive a request and answer it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The request id header, generated when the client sends none (or an unusable one) and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client-sent request id kept as is.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Names the pathway version(s) a response was derived from: `id@version`, comma-separated when the
/// response covers several pathways. Triage bodies also carry `pathway {id, version, digest}`.
pub const PATHWAY_VERSION: HeaderName = HeaderName::from_static("x-pathway-version");
/// The `sha256:` digest(s) of the pathway file(s) behind a response, in the order of
/// [`PATHWAY_VERSION`].
pub const PATHWAY_DIGEST: HeaderName = HeaderName::from_static("x-pathway-digest");

/// What every handler can reach: the pathway store, whose set a reload may replace at any time.
#[derive(Clone)]
pub struct AppState {
    store: Arc<PathwayStore>,
}

impl AppState {
    /// A fixed set (nothing reloads it), for tests, benchmarks and examples.
    pub fn new(pathways: PathwaySet) -> AppState {
        AppState::shared(Arc::new(pathways))
    }

    /// A fixed set shared with others (many routers over one compiled set).
    pub fn shared(pathways: Arc<PathwaySet>) -> AppState {
        AppState::with_store(Arc::new(PathwayStore::with_shared(
            PathwaySource::Embedded,
            pathways,
        )))
    }

    /// The pathways of a store that reloads them (`serve`).
    pub fn with_store(store: Arc<PathwayStore>) -> AppState {
        AppState { store }
    }

    pub fn store(&self) -> &Arc<PathwayStore> {
        &self.store
    }

    /// The pathways in force for one request. Handlers take this snapshot once per request, so a
    /// reload (an `ArcSwap` in the store) never changes a request half way.
    pub fn current_pathways(&self) -> Arc<PathwaySet> {
        self.store.snapshot()
    }
}

/// The [`PATHWAY_VERSION`] and [`PATHWAY_DIGEST`] headers for a response derived from `pathways`.
pub fn version_headers<'a>(
    pathways: impl IntoIterator<Item = &'a Pathway>,
) -> [(HeaderName, HeaderValue); 2] {
    let (mut versions, mut digests) = (Vec::new(), Vec::new());
    for pathway in pathways {
        versions.push(format!("{}@{}", pathway.id, pathway.version));
        digests.push(pathway.digest.clone());
    }
    let value = |parts: Vec<String>| {
        HeaderValue::from_str(&parts.join(", ")).unwrap_or(HeaderValue::from_static("unknown"))
    };
    [
        (PATHWAY_VERSION, value(versions)),
        (PATHWAY_DIGEST, value(digests)),
    ]
}

/// Which cross-origin callers browsers may let read the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: browsers allow same-origin callers only.
    #[default]
    Off,
    /// Any origin (`*`).
    AnyOrigin,
    /// These origins exactly (`https://ehr.example.org`).
    Origins(Vec<HeaderValue>),
}

/// Settings of the HTTP stack beyond the routes.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub request_timeout: Duration,
    /// Requests answered at once (beyond `/healthz`, `/readyz`, `/metrics`); more get `503` with
    /// `Retry-After` at once instead of waiting in a queue.
    pub max_concurrency: usize,
    /// Bearer tokens `/v1/*` requires; open when `None`.
    pub api_tokens: Option<Arc<ApiTokens>>,
    /// Serve `GET /metrics` on this router; `false` when metrics have a listener of their own.
    pub metrics_route: bool,
    /// CDS Hooks services: their profile, JWT security and CORS.
    pub cds: CdsConfig,
    pub cors: Cors,
    pub metrics: Metrics,
    pub readiness: Readiness,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrency: overload::DEFAULT_MAX_CONCURRENCY,
            api_tokens: None,
            metrics_route: true,
            cds: CdsConfig::default(),
            cors: Cors::Off,
            metrics: Metrics::new(),
            readiness: Readiness::default(),
        }
    }
}

/// The application with default options; shared by `main` (through [`router_with`]) and the tests.
pub fn router(state: AppState) -> Router {
    router_with(state, HttpOptions::default())
}

/// The application with CDS Hooks services configured by `cds` and default options otherwise.
pub fn router_with_cds(state: AppState, cds: CdsConfig) -> Router {
    router_with(
        state,
        HttpOptions {
            cds,
            ..HttpOptions::default()
        },
    )
}

/// The documented routes of every resource, before layers.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    documented_routes_with(
        overload::Limit::new(overload::DEFAULT_MAX_CONCURRENCY),
        true,
    )
}

/// The documented routes; all but `/healthz`, `/readyz` and `/metrics` (which must answer under
/// load) share `limit`.
fn documented_routes_with(limit: overload::Limit, metrics_route: bool) -> OpenApiRouter<AppState> {
    let limited = OpenApiRouter::new()
        .merge(triage::routes())
        .merge(pathways::routes())
        .merge(openapi::routes())
        .route_layer(limit.layer());
    let mut routes = OpenApiRouter::with_openapi(openapi::base())
        .merge(limited)
        .merge(health::routes());
    if metrics_route {
        routes = routes.merge(metrics::routes());
    }
    routes
}

/// The application: every route, the problem-document fallbacks and the tower-http stack.
pub fn router_with(state: AppState, options: HttpOptions) -> Router {
    let limit = overload::Limit::new(options.max_concurrency);
    let (routes, document) =
        documented_routes_with(limit.clone(), options.metrics_route).split_for_parts();
    let document = openapi::Document::new(document, options.api_tokens.is_some());
    let cors = match &options.cors {
        Cors::Off => None,
        Cors::AnyOrigin => Some(AllowOrigin::any()),
        Cors::Origins(origins) => Some(AllowOrigin::list(origins.iter().cloned())),
    }
    .map(|origins| {
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::ACCEPT, REQUEST_ID])
            .expose_headers([REQUEST_ID])
            .max_age(Duration::from_secs(600))
    });
    // The API's CORS covers the documented routes; CDS Hooks routes carry their own CORS policy.
    let mut routes = routes.merge(openapi::swagger_ui().route_layer(limit.layer()));
    if let Some(tokens) = options.api_tokens {
        // Unknown `/v1` paths too answer 401 before 404, so they reveal nothing without a token.
        routes = routes.route(
            "/v1/{*rest}",
            axum::routing::any(|| async { ApiError::NoRoute }),
        );
        routes = routes.layer(axum::middleware::from_fn_with_state(
            tokens,
            access::require_bearer,
        ));
    }
    if let Some(cors) = cors {
        routes = routes.layer(cors);
    }
    // Route groups outside the OpenAPI document merge here, so the layers below cover them too.
    let routes = routes
        .merge(cds::routes(options.cds).route_layer(limit.layer()))
        .fallback(|| async { ApiError::NoRoute });
    let stack = ServiceBuilder::new()
        .map_request(drop_unusable_request_id)
        .layer(SetRequestIdLayer::new(
            REQUEST_ID,
            SequentialRequestId::new(),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(
                    // One line per request is DEBUG: metrics count requests, and a line per request
                    // at INFO costs about a tenth of the server's throughput.
                    DefaultOnResponse::new()
                        .level(Level::DEBUG)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(Extension(options.metrics))
        .layer(Extension(options.readiness))
        .layer(Extension(document))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::map_response(
            error::problem_for_bare_errors,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    routes.layer(stack).with_state(state)
}

/// Request ids for requests that come without one: a random prefix drawn once per process, then a
/// counter (`5f0c9a1e-000000000000002a`). Unique across restarts without a random draw per request.
#[derive(Clone)]
struct SequentialRequestId {
    prefix: u32,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl SequentialRequestId {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // `RandomState` is seeded from the operating system's randomness once per process.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos()),
        );
        SequentialRequestId {
            prefix: hasher.finish() as u32,
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n:016x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The media type of a message's `Content-Type`, without parameters such as `charset`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    value.split(';').next().map(str::trim)
}

/// Whether a message declares `application/json`, with or without parameters.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|mime| mime.eq_ignore_ascii_case("application/json"))
}

/// Keeps a client's `x-request-id` only when it is short and plain (letters, digits, `-._:`), so a
/// log line never carries arbitrary client text; otherwise a fresh id replaces it.
fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(&REQUEST_ID).is_none_or(|value| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span of one request: its id, method and matched route. Never the URI (its query may carry
/// values) and never the body.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", id = %id, method = %request.method(), route = %route)
}

/// A `500` problem document for a handler that panicked; the panic message is not logged, as it
/// could hold request data.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a handler panicked");
    ApiError::Status(axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
}
