//! CDS Hooks 2.0 routes: discovery, service calls and feedback, with their security. Every error
//! under `/cds-services` is a FHIR `OperationOutcome`, not a problem document.
//!
//! [`CdsConfig`] (built from [`CdsArgs`]) sets how the routes answer: the criteria profile of the
//! CDS services; the trusted issuers and the public base URL, with which every call (discovery,
//! service calls, feedback) must carry a valid signed JWT whose `aud` is the public base URL plus the
//! path called (never derived from the Host header), else `401`; and the origins browser-based CDS
//! clients may call from (CORS). Logs name a token's `iss` and `jti` only, never the token.
//!
//! The routes that need the database (feedback; service calls, which record the suggestions they
//! issue; every call when tokens are required, for the replay cache) answer `503` with
//! `Retry-After` while it cannot be reached.

use super::AppState;
use crate::auth::jwt::{JwtError, JwtVerifier, Limits, ReplayStore, TrustFile};
use crate::cds::feedback;
use crate::cds::fetch::Fetcher;
use crate::cds::outcome::{CdsError, FHIR_JSON};
use crate::cds::{self, service};
use crate::config::CdsArgs;
use crate::pathway::PathwaySet;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest accepted CDS Hooks body: prefetch bundles are larger than a triage request.
pub const CDS_BODY_LIMIT: usize = 1024 * 1024;
/// Seconds a client should wait before retrying a `503`.
const RETRY_AFTER: &str = "5";
/// How long a browser may cache a CORS preflight answer.
const CORS_MAX_AGE: Duration = Duration::from_secs(600);

/// Default number of token verifications at once: half the CPU cores, at least one.
fn default_verify_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1))
}

/// How the CDS Hooks routes answer. The default: no authentication, the pathway's default profile,
/// no CORS.
#[derive(Clone, Default)]
pub struct CdsConfig {
    auth: Option<Arc<CdsAuth>>,
    /// No trusted issuers where they are required: every CDS route answers `503`.
    disabled: bool,
    /// FHIR bases allowed per issuer (authenticated calls) and for unauthenticated calls.
    fhir_bases: Arc<FhirBases>,
    /// Plain-HTTP FHIR bases allowed (testing).
    fhir_allow_http: bool,
    profile: Option<String>,
    /// Without a trailing `/`; links on cards (the console) are built from it.
    public_url: Option<String>,
    cors_origins: Vec<HeaderValue>,
}

impl std::fmt::Debug for CdsConfig {
    /// Names what is configured, never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdsConfig")
            .field("authenticated", &self.auth.is_some())
            .field("disabled", &self.disabled)
            .field("fhir_bases", &self.fhir_bases)
            .field("profile", &self.profile)
            .field("public_url", &self.public_url)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

/// Token verification, its places, and the public base URL the audience is built from.
struct CdsAuth {
    verifier: Arc<JwtVerifier>,
    /// Verifications running at once (each on a blocking thread).
    verifying: Arc<Semaphore>,
    /// Where accepted `jti` values are kept: the verifier's own cache unless a shared store is set.
    replay: Arc<dyn ReplayStore>,
    /// Without a trailing `/`.
    public_url: String,
}

impl CdsConfig {
    /// The configuration the serve options describe; reads the trust file.
    pub fn from_args(args: &CdsArgs) -> Result<CdsConfig, String> {
        let mut config = CdsConfig::default();
        match (&args.trust, &args.public_url) {
            (Some(path), Some(url)) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    format!("cannot read the CDS trust file {}: {error}", path.display())
                })?;
                let verifier = JwtVerifier::from_trust_json(&text, Limits::default())
                    .map_err(|error| format!("CDS trust file {}: {error}", path.display()))?;
                config = config.with_auth(verifier, url)?;
                let auth = config.auth.as_mut().and_then(Arc::get_mut);
                if let (Some(auth), Some(n)) = (auth, args.verify_concurrency) {
                    auth.verifying = Arc::new(Semaphore::new(usize::from(n)));
                }
                let trust: TrustFile = serde_json::from_str(&text)
                    .map_err(|error| format!("CDS trust file {}: {error}", path.display()))?;
                for issuer in trust.issuers {
                    config = config.with_issuer_fhir_servers(&issuer.iss, &issuer.fhir_servers)?;
                }
            }
            (Some(_), None) => {
                return Err(
                    "--cds-trust needs --public-url (FACET_TRIAGE_PUBLIC_URL): a token's \
                    audience is the public URL of the service called"
                        .into(),
                );
            }
            (None, Some(url)) => config = config.with_public_url(url)?,
            (None, None) => {}
        }
        if let Some(profile) = &args.profile {
            config = config.with_profile(profile);
        }
        if args.trust.is_none() {
            let servers: Vec<&str> = args.fhir_servers.iter().map(String::as_str).collect();
            config = config.with_open_fhir_servers(&servers)?;
        }
        config.fhir_allow_http = args.fhir_allow_http;
        config.disabled = args.require_trust && args.trust.is_none() && !args.insecure;
        let origins: Vec<&str> = args.cds_cors_origins.iter().map(String::as_str).collect();
        config.with_cors_origins(&origins)
    }

    /// Requires a token from `verifier` on every call; `public_url` is the base URL clients call
    /// (`https://host[:port][/path]`, no query or fragment).
    pub fn with_auth(self, verifier: JwtVerifier, public_url: &str) -> Result<Self, String> {
        let mut config = self.with_public_url(public_url)?;
        let url = config.public_url.clone().unwrap_or_default();
        let verifier = Arc::new(verifier);
        config.auth = Some(Arc::new(CdsAuth {
            replay: verifier.clone(),
            verifier,
            verifying: Arc::new(Semaphore::new(default_verify_concurrency())),
            public_url: url,
        }));
        Ok(config)
    }

    /// The base URL clients call (`https://host[:port][/path]`, no query or fragment): card links
    /// to the console are built from it.
    pub fn with_public_url(mut self, public_url: &str) -> Result<Self, String> {
        let url = public_url.trim_end_matches('/');
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty())
            && !url.contains(['?', '#', ' ']);
        if !valid {
            return Err(
                "--public-url must be an absolute http(s) URL without query or fragment, \
                such as https://cds.example.org"
                    .into(),
            );
        }
        self.public_url = Some(url.to_owned());
        Ok(self)
    }

    /// FHIR bases the fallback may query for calls authenticated as `iss`.
    pub fn with_issuer_fhir_servers(mut self, iss: &str, bases: &[String]) -> Result<Self, String> {
        let checked = bases
            .iter()
            .map(|base| fhir_base(base))
            .collect::<Result<Vec<_>, _>>()?;
        Arc::make_mut(&mut self.fhir_bases)
            .by_issuer
            .push((iss.to_owned(), checked));
        Ok(self)
    }

    /// FHIR bases the fallback may query for unauthenticated calls.
    pub fn with_open_fhir_servers(mut self, bases: &[&str]) -> Result<Self, String> {
        for base in bases.iter().filter(|b| !b.trim().is_empty()) {
            let base = fhir_base(base)?;
            Arc::make_mut(&mut self.fhir_bases).open.push(base);
        }
        Ok(self)
    }

    /// Lets the fallback query plain-HTTP bases (testing against a local server).
    pub fn with_fhir_allow_http(mut self, allow: bool) -> Self {
        self.fhir_allow_http = allow;
        self
    }

    /// Answers every CDS route with `503`: CDS Hooks need trusted issuers here.
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    /// Keeps accepted `jti` values in `store` (shared by replicas) instead of the verifier's own
    /// cache; without token verification there is nothing to keep.
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        if let Some(auth) = &self.auth {
            self.auth = Some(Arc::new(CdsAuth {
                verifier: Arc::clone(&auth.verifier),
                verifying: Arc::clone(&auth.verifying),
                replay: store,
                public_url: auth.public_url.clone(),
            }));
        }
        self
    }

    /// Answers with this criteria profile instead of the pathway's default.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Allows browser calls from these origins (`scheme://host[:port]`; `*` is refused).
    pub fn with_cors_origins(mut self, origins: &[&str]) -> Result<Self, String> {
        for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let shaped = (origin.starts_with("https://") || origin.starts_with("http://"))
                && origin
                    .split("://")
                    .nth(1)
                    .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', '*']));
            let value = HeaderValue::from_str(origin).ok().filter(|_| shaped).ok_or_else(|| {
                "a CORS origin is scheme://host[:port] (no path, no wildcard), e.g. http://localhost:8080"
                    .to_owned()
            })?;
            self.cors_origins.push(value);
        }
        Ok(self)
    }

    /// The configured profile must exist in the default pathway of `pathways`.
    pub fn check_profile(&self, pathways: &PathwaySet) -> Result<(), String> {
        let pathway = pathways.default_pathway();
        match &self.profile {
            Some(profile) if pathway.profile_index(profile).is_none() => {
                let known: Vec<&str> = pathway.profiles.iter().map(|p| p.id.as_str()).collect();
                Err(format!(
                    "--cds-profile: pathway {} defines no profile {profile:?}; it defines: {}",
                    pathway.id,
                    known.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    /// Says at startup how CDS Hooks calls are secured; warns when they are not.
    pub fn log_startup(&self) {
        let message = match &self.auth {
            _ if self.disabled => "CDS Hooks are disabled: no --cds-trust file is configured and \
                this deployment requires one (--cds-require-trust); pass --cds-insecure to serve \
                them unauthenticated"
                .to_owned(),
            Some(auth) => format!(
                "CDS Hooks calls require a signed JWT with aud {}/cds-services...",
                auth.public_url
            ),
            None => "CDS Hooks calls are unauthenticated: no --cds-trust file is configured, so \
                any client can call /cds-services"
                .to_owned(),
        };
        let authenticated = self.auth.is_some();
        if tracing::dispatcher::has_been_set() {
            if authenticated {
                tracing::info!("{message}");
            } else {
                tracing::warn!("{message}");
            }
        } else {
            eprintln!(
                "{} {message}",
                if authenticated { "info:" } else { "warning:" }
            );
        }
    }
}

/// The `/cds-services` routes, secured and with CORS as `config` says.
pub fn routes(config: CdsConfig) -> Router<AppState> {
    if config.disabled {
        return Router::new()
            .route("/cds-services", any(disabled))
            .route("/cds-services/{*rest}", any(disabled));
    }
    let fetcher = match Fetcher::new(config.fhir_allow_http) {
        Ok(fetcher) => Some(fetcher),
        Err(error) => {
            tracing::error!("the FHIR-server fallback is off: {error}");
            None
        }
    };
    let settings = Arc::new(ServiceSettings {
        profile: config.profile.clone(),
        public_url: config.public_url.clone(),
        fhir_bases: Arc::clone(&config.fhir_bases),
        fetcher,
    });
    let mut router = Router::new()
        .route("/cds-services", get(discovery).fallback(method_not_allowed))
        .route(
            "/cds-services/{id}",
            post(
                move |State(state): State<AppState>, Path(id): Path<String>, request: Request| {
                    let settings = Arc::clone(&settings);
                    async move { call_service(&state, &settings, &id, request).await }
                },
            )
            .fallback(method_not_allowed),
        )
        .route(
            "/cds-services/{id}/feedback",
            post(
                |State(state): State<AppState>, Path(id): Path<String>, request: Request| async move {
                    receive_feedback(&state, &id, request).await
                },
            )
            .fallback(method_not_allowed),
        )
        .route("/cds-services/{id}/{*rest}", any(not_found));
    if let Some(auth) = config.auth {
        router = router.layer(middleware::from_fn_with_state(auth, require_token));
    }
    if !config.cors_origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(config.cors_origins))
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(CORS_MAX_AGE),
        );
    }
    router
}

/// Lets a call through only with a valid token for the URL called; `401` with an
/// `OperationOutcome` and `WWW-Authenticate: Bearer` otherwise.
/// The signature is checked on a blocking thread, at most `verifying` at once (`503` beyond), so
/// forged tokens cost the request workers nothing.
async fn require_token(
    State(auth): State<Arc<CdsAuth>>,
    mut request: Request,
    next: Next,
) -> Response {
    let audience = format!("{}{}", auth.public_url, request.uri().path());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let now = u64::try_from(now()).unwrap_or(0);
    let Ok(place) = Arc::clone(&auth.verifying).try_acquire_owned() else {
        metrics::counter!("cds_auth_refusals_total", "reason" => "verifier_busy").increment(1);
        let busy = "too many token verifications at once; try again shortly";
        let mut response = outcome(CdsError::new(503, "throttled", busy, None));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let checking = Arc::clone(&auth);
    let checked = tokio::task::spawn_blocking(move || {
        let _place = place;
        checking
            .verifier
            .check(authorization.as_deref(), &audience, now)
    })
    .await;
    let Ok(checked) = checked else {
        let failed = "token verification failed";
        return outcome(CdsError::new(500, "exception", failed, None));
    };
    let verified = match checked {
        Ok(token) => {
            let until = auth.verifier.replay_until(&token);
            auth.replay
                .remember(&token.iss, &token.jti, until, now)
                .await
                .map(|()| token)
        }
        Err(error) => Err(error),
    };
    match verified {
        Ok(token) => {
            // Claims come from a trusted issuer but are still escaped: a log line holds no control
            // characters a client chose.
            tracing::info!(
                request_id = super::request_id(request.headers()),
                iss = %token.iss.escape_debug(),
                jti = %token.jti.escape_debug(),
                "CDS Hooks call authenticated"
            );
            request.extensions_mut().insert(CallerIssuer(token.iss));
            next.run(request).await
        }
        Err(error) => {
            let reason = refusal_label(&error);
            tracing::warn!(
                request_id = super::request_id(request.headers()),
                reason,
                "CDS Hooks call refused: {error}"
            );
            metrics::counter!("cds_auth_refusals_total", "reason" => reason).increment(1);
            match error {
                JwtError::ReplayCacheFull => {
                    return outcome(CdsError::new(503, "throttled", error.to_string(), None));
                }
                JwtError::ReplayStoreUnavailable => {
                    return outcome(CdsError::new(503, "transient", error.to_string(), None));
                }
                _ => {}
            }
            let code = if error == JwtError::Expired {
                "expired"
            } else {
                "login"
            };
            let mut response = outcome(CdsError::new(401, code, error.to_string(), None));
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(if error == JwtError::Missing {
                    "Bearer"
                } else {
                    "Bearer error=\"invalid_token\""
                }),
            );
            response
        }
    }
}

/// A fixed metric label per refusal reason.
fn refusal_label(error: &JwtError) -> &'static str {
    match error {
        JwtError::Missing => "missing",
        JwtError::Malformed => "malformed",
        JwtError::Critical => "critical",
        JwtError::Algorithm => "algorithm",
        JwtError::UnknownIssuer => "unknown_issuer",
        JwtError::UnknownKey => "unknown_key",
        JwtError::Signature => "signature",
        JwtError::MissingClaim(_) => "missing_claim",
        JwtError::Expired => "expired",
        JwtError::NotYetValid => "not_yet_valid",
        JwtError::TooLongLived => "too_long_lived",
        JwtError::Audience => "audience",
        JwtError::Replayed => "replayed",
        JwtError::ReplayCacheFull => "replay_cache_full",
        JwtError::ReplayStoreUnavailable => "replay_store_unavailable",
    }
}

async fn discovery(State(state): State<AppState>) -> Response {
    let pathways = state.current_pathways();
    let mut response = json_response(
        StatusCode::OK,
        serde_json::to_vec(&cds::discovery(&pathways)).unwrap_or_default(),
    );
    response
        .headers_mut()
        .extend(super::version_headers(pathways.iter().map(AsRef::as_ref)));
    response
}

/// What every service call shares: the configured profile, public URL and FHIR fallback.
struct ServiceSettings {
    profile: Option<String>,
    public_url: Option<String>,
    fhir_bases: Arc<FhirBases>,
    fetcher: Option<Fetcher>,
}

/// The FHIR bases the fallback may query: per trusted issuer, and for unauthenticated calls.
#[derive(Debug, Clone, Default)]
struct FhirBases {
    by_issuer: Vec<(String, Vec<String>)>,
    open: Vec<String>,
}

impl FhirBases {
    /// The bases allowed for a call authenticated as `issuer` (`None`: unauthenticated).
    fn allowed(&self, issuer: Option<&str>) -> &[String] {
        match issuer {
            Some(iss) => self
                .by_issuer
                .iter()
                .find(|(known, _)| known == iss)
                .map_or(&[], |(_, bases)| bases.as_slice()),
            None => &self.open,
        }
    }
}

/// The issuer of the verified token of a call, for the FHIR bases it may use.
#[derive(Debug, Clone)]
struct CallerIssuer(String);

/// A FHIR base URL: absolute http(s), no query or fragment; without a trailing `/`.
fn fhir_base(base: &str) -> Result<String, String> {
    let base = base.trim().trim_end_matches('/');
    let valid = (base.starts_with("https://") || base.starts_with("http://"))
        && base
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty())
        && !base.contains(['?', '#', ' ']);
    if valid {
        Ok(base.to_owned())
    } else {
        Err(format!(
            "a FHIR server base is an absolute http(s) URL without query or fragment, such as \
            https://ehr.example.org/fhir (got {} characters that are not one)",
            base.chars().count()
        ))
    }
}

async fn disabled() -> Response {
    let mut response = outcome(CdsError::new(
        503,
        "security",
        "CDS Hooks are disabled on this deployment: it requires trusted issuers (--cds-trust) \
         and none are configured",
        None,
    ));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
    response
}

async fn call_service(
    state: &AppState,
    settings: &ServiceSettings,
    id: &str,
    request: Request,
) -> Response {
    let Some(service) = service(id) else {
        return outcome(CdsError::unknown_service());
    };
    let issuer = request
        .extensions()
        .get::<CallerIssuer>()
        .map(|caller| caller.0.clone());
    let body = match json_body(request).await {
        Ok(body) => body,
        Err(error) => return outcome(error),
    };
    let pathways = state.current_pathways();
    let mut body = body.to_vec();
    if let Some(fetcher) = &settings.fetcher {
        let mapping = pathways.fhir_mapping(&pathways.default_pathway().id);
        let allowed = settings.fhir_bases.allowed(issuer.as_deref());
        match fetcher.complete(&body, allowed, &mapping).await {
            Ok(Some(completed)) => {
                metrics::counter!("cds_prefetch_fetched_total", "service" => service.id)
                    .increment(1);
                body = completed;
            }
            Ok(None) => {}
            Err(error) => {
                metrics::counter!("cds_service_calls_total", "service" => service.id, "result" => "prefetch_unfetched")
                    .increment(1);
                return outcome(error);
            }
        }
    }
    let now = now();
    let options = cds::CallOptions {
        profile: settings.profile.as_deref(),
        public_url: settings.public_url.as_deref(),
        now,
    };
    match cds::call(&pathways, &options, service.id, &body) {
        Ok(answer) => {
            // Recorded before answering, so feedback on these cards can name their options.
            if let Err(error) = state
                .database()
                .record_issued(service.id, &answer.issued, now)
                .await
            {
                return outcome(unavailable(&error));
            }
            metrics::counter!("cds_service_calls_total", "service" => service.id, "result" => answer.result.as_str())
                .increment(1);
            let mut response = json_response(StatusCode::OK, answer.body);
            response
                .headers_mut()
                .extend(super::version_headers(pathways.iter().map(AsRef::as_ref)));
            response
        }
        Err(error) => {
            metrics::counter!("cds_service_calls_total", "service" => service.id, "result" => status_label(error.status))
                .increment(1);
            outcome(error)
        }
    }
}

async fn receive_feedback(state: &AppState, id: &str, request: Request) -> Response {
    let Some(service) = service(id) else {
        return outcome(CdsError::unknown_service());
    };
    let body = match json_body(request).await {
        Ok(body) => body,
        Err(error) => return outcome(error),
    };
    let items = match feedback::parse(&body) {
        Ok(items) => items,
        Err(error) => return outcome(error),
    };
    let receipt = match state
        .database()
        .record_feedback(service.id, &items, now())
        .await
    {
        Ok(receipt) => receipt,
        Err(error) => return outcome(unavailable(&error)),
    };
    for (outcome, count) in [
        ("accepted", receipt.accepted),
        ("overridden", receipt.overridden),
    ] {
        if count > 0 {
            metrics::counter!("cds_feedback_total", "service" => service.id, "outcome" => outcome)
                .increment(count as u64);
        }
    }
    if receipt.duplicates > 0 {
        metrics::counter!("cds_feedback_duplicates_total", "service" => service.id)
            .increment(receipt.duplicates as u64);
    }
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&serde_json::json!({
            "accepted": receipt.accepted,
            "overridden": receipt.overridden,
            "duplicates": receipt.duplicates,
        }))
        .unwrap_or_default(),
    )
}

/// The body of a JSON request (`application/json` or `application/fhir+json`): `415` for another media type, `413` over the limit, `400` when it cannot
/// be read to its end (a broken chunked encoding, say).
async fn json_body(request: Request) -> Result<axum::body::Bytes, CdsError> {
    if !super::is_json_or_fhir_json(request.headers()) {
        return Err(CdsError::new(
            415,
            "not-supported",
            "send the request as application/json or application/fhir+json",
            None,
        ));
    }
    super::read_body(request.into_body(), CDS_BODY_LIMIT)
        .await
        .map_err(|error| match error {
            super::BodyError::TooLarge => {
                CdsError::new(413, "too-long", "the body exceeds 1 MiB", None)
            }
            super::BodyError::Unreadable => {
                let unreadable = "the body could not be read to its end";
                CdsError::new(400, "structure", unreadable, None)
            }
        })
}

async fn method_not_allowed() -> Response {
    outcome(CdsError::new(
        405,
        "not-supported",
        "method not allowed on this CDS Hooks route",
        None,
    ))
}

async fn not_found() -> Response {
    outcome(CdsError::unknown_service())
}

fn status_label(status: u16) -> &'static str {
    match status {
        400 => "invalid_request",
        404 => "unknown_service",
        412 => "prefetch_missing",
        422 => "invalid_prefetch",
        _ => "error",
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body),
    )
        .into_response()
}

/// The `OperationOutcome` answer of `error`; a `503` says when to retry.
fn outcome(error: CdsError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        error.to_json(),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    response
}

/// `503`: the database this route needs cannot be reached.
fn unavailable(error: &crate::db::DbError) -> CdsError {
    CdsError::new(503, "transient", format!("{error}; retry later"), None)
}

/// Seconds since 1970-01-01T00:00:00Z.
fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
