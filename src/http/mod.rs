//! The HTTP layer: an axum router over the triage use case and the loaded pathways. No clinical logic
//! lives here.
//!
//! One module per resource (`triage`, `compare`, `pathways`, `feedback`, `health`, `metrics`,
//! `openapi`); each exposes an
//! `OpenApiRouter` whose handlers carry their own OpenAPI description, so the document and the routes
//! come from the same code. [`router_with`] merges them and wraps them in one layer that observes every
//! request (`observe`: request id, metrics, logs, timeout, panics), the concurrency limit
//! (`overload`) and the optional bearer-token check (`access`). The web console (`console`) is
//! static files outside the token check. Handlers that read a body set its size limit themselves.

pub mod access;
mod cds;
pub mod compare;
mod connections;
mod console;
mod error;
mod feedback;
mod observe;
pub mod overload;

pub use cds::CdsConfig;
pub mod health;
pub mod metrics;
pub mod openapi;
mod openapi_cds;
pub mod pathways;
mod server;
pub mod triage;

pub use access::ApiTokens;
pub use error::{ApiError, problem_response};
pub use health::Readiness;
pub use metrics::Metrics;
pub use observe::{REQUEST_ID, request_id};
pub use server::{healthcheck, serve_blocking};

use crate::db::Database;
use crate::pathway::{Pathway, PathwaySet};
use crate::store::{PathwaySource, PathwayStore};
use crate::wire::Served;
use axum::body::{Body, Bytes, HttpBody, to_bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::{Extension, Router};
use http_body_util::{BodyExt, LengthLimitError};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;

/// Largest accepted request body (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Paths the concurrency limit does not apply to: probes and scrapes must answer under load.
const UNLIMITED: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Names the pathway version(s) a response was derived from: `id@version`, comma-separated when the
/// response covers several pathways. Triage bodies also carry `pathway {id, version, digest}`.
pub const PATHWAY_VERSION: HeaderName = HeaderName::from_static("x-pathway-version");
/// The `sha256:` digest(s) of the pathway file(s) behind a response, in the order of
/// [`PATHWAY_VERSION`].
pub const PATHWAY_DIGEST: HeaderName = HeaderName::from_static("x-pathway-digest");

/// What every handler can reach: the pathway store, whose set a reload may replace at any time, and
/// the metrics recorder. Handlers get a clone per request, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    store: Arc<PathwayStore>,
    metrics: Metrics,
    database: Database,
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

    /// The pathways of a store that reloads them, with a throwaway in-memory database.
    pub fn with_store(store: Arc<PathwayStore>) -> AppState {
        AppState::with_database(store, Database::in_memory())
    }

    /// The pathways of a store and the database feedback and tokens are kept in (`serve`).
    pub fn with_database(store: Arc<PathwayStore>, database: Database) -> AppState {
        AppState(Arc::new(Shared {
            store,
            metrics: Metrics::new(),
            database,
        }))
    }

    /// Where CDS feedback and the replay cache are kept; the triage route never uses it.
    pub fn database(&self) -> &Database {
        &self.0.database
    }

    pub fn store(&self) -> &Arc<PathwayStore> {
        &self.0.store
    }

    /// The recorder `/metrics` renders: requests, evaluations, and (once `serve` installs it
    /// globally) reloads, refusals and shed requests.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The pathways in force for one request. Handlers take this snapshot once per request, so a
    /// reload (an `ArcSwap` in the store) never changes a request half way.
    pub fn current_pathways(&self) -> Arc<Served> {
        self.0.store.snapshot()
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
    pub readiness: Readiness,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            request_timeout: crate::config::DEFAULT_REQUEST_TIMEOUT,
            max_concurrency: crate::config::DEFAULT_MAX_CONCURRENCY,
            api_tokens: None,
            metrics_route: true,
            cds: CdsConfig::default(),
            cors: Cors::Off,
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

/// The documented routes of every resource, before layers. The large documents (pathways, this
/// API's description) are gzipped for clients that ask; triage answers are not, as compressing
/// about 5 KB costs more than it saves on the networks an EHR calls from.
fn documented_routes(
    metrics_route: bool,
    readiness: Readiness,
    document: openapi::DocumentSlot,
) -> OpenApiRouter<AppState> {
    let documents = OpenApiRouter::new()
        .merge(pathways::routes())
        .merge(openapi::routes(document))
        .route_layer(CompressionLayer::new());
    let mut routes = OpenApiRouter::with_openapi(openapi::base())
        .merge(triage::routes())
        .merge(compare::routes())
        .merge(feedback::routes())
        .merge(documents)
        .merge(health::routes().route_layer(Extension(readiness)));
    if metrics_route {
        routes = routes.merge(metrics::routes());
    }
    routes
}

/// The application: every route, the problem-document fallbacks and the layers around them.
pub fn router_with(state: AppState, options: HttpOptions) -> Router {
    let slot = openapi::DocumentSlot::default();
    let (routes, document) =
        documented_routes(options.metrics_route, options.readiness, slot.clone()).split_for_parts();
    slot.fill(openapi::Document::new(
        document,
        options.api_tokens.is_some(),
        UNLIMITED,
    ));
    let cors = match &options.cors {
        Cors::Off => None,
        Cors::AnyOrigin => Some(AllowOrigin::any()),
        Cors::Origins(origins) => Some(AllowOrigin::list(origins.iter().cloned())),
    }
    .map(|origins| {
        // Browsers may send the bearer token only when the preflight allows `Authorization`.
        let mut headers = vec![header::CONTENT_TYPE, header::ACCEPT, REQUEST_ID];
        if options.api_tokens.is_some() {
            headers.push(header::AUTHORIZATION);
        }
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(headers)
            .expose_headers([REQUEST_ID])
            .max_age(Duration::from_secs(600))
    });
    let bearer = options
        .api_tokens
        .map(|tokens| axum::middleware::from_fn_with_state(tokens, access::require_bearer));
    // `observe` is outermost and sees every answer, the concurrency limit's `503` included. Probes and
    // scrapes are not limited, so they still answer under load.
    let observe = observe::ObserveLayer::new(state.metrics().clone(), options.request_timeout);
    let limit = overload::Limit::new(options.max_concurrency, UNLIMITED, body_limit);

    // The API's CORS covers the documented routes; CDS Hooks routes carry their own CORS policy.
    let mut routes = routes.merge(openapi::swagger_ui().route_layer(CompressionLayer::new()));
    if let Some(bearer) = bearer {
        // Unknown `/v1` paths too answer 401 before 404, so they reveal nothing without a token.
        routes = routes.route(
            "/v1/{*rest}",
            axum::routing::any(|| async { ApiError::NoRoute }),
        );
        routes = routes.layer(bearer);
    }
    if let Some(cors) = cors {
        routes = routes.layer(cors);
    }
    // Route groups outside the OpenAPI document merge here, so the layers below cover them too.
    routes
        .merge(cds::routes(options.cds))
        .merge(console::routes())
        .fallback(|| async { ApiError::NoRoute })
        .layer(ServiceBuilder::new().layer(observe).layer(limit))
        .with_state(state)
}

/// The media type of a message's `Content-Type`, without parameters such as `charset`. Read as bytes:
/// `to_str` and `split` cost about 200 instructions more on every request.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::CONTENT_TYPE)?.as_bytes();
    let end = (value.iter().position(|&byte| byte == b';')).unwrap_or(value.len());
    Some(value[..end].trim_ascii())
}

/// Whether a message declares `application/json`, with or without parameters.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|mime| mime.eq_ignore_ascii_case(b"application/json"))
}

/// `application/json` or `application/fhir+json` (CDS Hooks clients send either).
pub(crate) fn is_json_or_fhir_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|mime| {
        mime.eq_ignore_ascii_case(b"application/json")
            || mime.eq_ignore_ascii_case(b"application/fhir+json")
    })
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the route's limit.
    TooLarge,
    /// Broken off, or its encoding broken (a bad chunk size, say).
    Unreadable,
}

/// The body of a request that the concurrency limit read before its handler and found over the
/// route's limit or unreadable: it declares itself too large, or fails when read, so the handler's
/// [`read_body`] answers as it would have.
pub(crate) struct UnreadBody(pub(crate) BodyError);

impl HttpBody for UnreadBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("unreadable request body"))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self.0 {
            BodyError::TooLarge => http_body::SizeHint::with_exact(u64::MAX),
            BodyError::Unreadable => http_body::SizeHint::default(),
        }
    }
}

/// The largest body the route of `path` accepts.
fn body_limit(path: &str) -> usize {
    if path.starts_with("/cds-services") {
        cds::CDS_BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// The JSON body of a `/v1` request, checked in the contract's order: its size (`413`, or `400`
/// when it cannot be read to its end), then its declared content type (`415`).
pub(crate) async fn read_json_body(request: axum::extract::Request) -> Result<Bytes, ApiError> {
    let declared_json = is_json(request.headers());
    let body = read_body(request.into_body(), BODY_LIMIT)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
            BodyError::Unreadable => ApiError::UnreadableBody,
        })?;
    if !declared_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(body)
}

/// A request body of at most `limit` bytes; one that declares a larger size is refused before it
/// is read. Nearly every body arrives whole in its first frame,
/// which is then taken as it is: collecting it through `to_bytes` (a limit wrapper, a list of frames,
/// an allocation) cost about 600 of a triage request's 33,500 instructions (callgrind, as
/// `benches/http/instructions.sh` counts them). Any other body is collected by `to_bytes` after that
/// frame.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let first = match body.frame().await {
        None => return Ok(Bytes::new()),
        Some(Err(_)) => return Err(BodyError::Unreadable),
        Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
    };
    let room = (limit.checked_sub(first.len())).ok_or(BodyError::TooLarge)?;
    if body.is_end_stream() {
        return Ok(first);
    }
    // Boxed, so this rare path does not enlarge every request's future.
    let rest = Box::pin(to_bytes(body, room)).await.map_err(|error| {
        if error.into_inner().is::<LengthLimitError>() {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable
        }
    })?;
    if first.is_empty() {
        return Ok(rest);
    }
    Ok(Bytes::from([first, rest].concat()))
}
