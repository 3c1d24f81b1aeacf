//! CDS Hooks security through the router: with a trust file and a public URL configured, every call
//! (discovery, service calls, feedback) needs a valid signed JWT whose `aud` is the public URL of the
//! path called; refusals are `401` OperationOutcomes with `WWW-Authenticate: Bearer`. Also CORS for
//! browser-based clients and the serve options. What the logs say about tokens is checked in
//! `tests/logs/cds_security_logs.rs`, in a binary of its own so that no other test's logging
//! interferes.

use crate::shared::{TEST_ISSUER, pathways};
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use base64::Engine;
use facet_triage::auth::jwt::{JwtVerifier, Limits};
use facet_triage::config::CdsArgs;
use facet_triage::http::{AppState, CdsConfig, router, router_with_cds};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PUBLIC_URL: &str = "https://cds.test.invalid/base";
const NEXT_STEP: &str = "/cds-services/facet-pain-next-step";
const ORDER_CHECK: &str = "/cds-services/facet-procedure-order-check";
const BROWSER: &str = "http://localhost:8080";

fn trust_text() -> String {
    std::fs::read_to_string(format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json")).unwrap()
}

fn secured() -> CdsConfig {
    let verifier = JwtVerifier::from_trust_json(&trust_text(), Limits::default()).unwrap();
    CdsConfig::default()
        .with_auth(verifier, &format!("{PUBLIC_URL}/"))
        .unwrap()
        .with_cors_origins(&[BROWSER])
        .unwrap()
}

fn app(config: CdsConfig) -> axum::Router {
    router_with_cds(AppState::shared(pathways()), config)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "jti-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// An ES384 token of the test issuer for `path` (its `aud` is the public URL plus the path).
fn token_for(path: &str) -> String {
    let pem = std::fs::read(format!("{ROOT}/tests/fixtures/jwt/es384-private.pem")).unwrap();
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some("test-es384".into());
    let now = now();
    let claims = json!({"iss": TEST_ISSUER, "sub": "client-1", "aud": format!("{PUBLIC_URL}{path}"),
        "iat": now - 5, "exp": now + 295, "jti": unique_jti(), "tenant": "tenant-secret-value"});
    encode(&header, &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

fn contract_request() -> Vec<u8> {
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/cds/contract-example.json"))
            .unwrap(),
    )
    .unwrap();
    serde_json::to_vec(&example["request"]).unwrap()
}

fn order_request() -> Vec<u8> {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{ROOT}/tests/fixtures/cds/order-select/rfa-after-one-block-cms.json"
        ))
        .unwrap(),
    )
    .unwrap();
    serde_json::to_vec(&fixture["request"]).unwrap()
}

struct Reply {
    status: u16,
    headers: axum::http::HeaderMap,
    json: Value,
}

async fn send(app: axum::Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn post(path: &str, body: Vec<u8>, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body)).unwrap()
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

/// A refusal: 401, an OperationOutcome, `WWW-Authenticate: Bearer...`; returns its diagnostics.
fn assert_refused(reply: &Reply, case: &str) -> String {
    assert_eq!(reply.status, 401, "{case}: {}", reply.json);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/fhir+json",
        "{case}"
    );
    assert_eq!(reply.json["resourceType"], "OperationOutcome", "{case}");
    assert!(
        reply.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{case}"
    );
    reply.json["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn unsigned_and_alg_none_calls_are_refused() {
    let reply = send(app(secured()), post(NEXT_STEP, contract_request(), None)).await;
    assert!(assert_refused(&reply, "no token").contains("no bearer token"));

    let now = now();
    let claims = json!({"iss": TEST_ISSUER, "aud": format!("{PUBLIC_URL}{NEXT_STEP}"),
        "iat": now, "exp": now + 60, "jti": unique_jti()});
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let reply = send(
        app(secured()),
        post(NEXT_STEP, contract_request(), Some(&none)),
    )
    .await;
    assert!(assert_refused(&reply, "alg none").contains("algorithm"));

    let hmac = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"shared secret"),
    )
    .unwrap();
    let reply = send(
        app(secured()),
        post(NEXT_STEP, contract_request(), Some(&hmac)),
    )
    .await;
    assert!(assert_refused(&reply, "HMAC").contains("algorithm"));
}

#[tokio::test]
async fn a_signed_es384_call_is_answered_once() {
    let app = app(secured());
    let token = token_for(NEXT_STEP);
    let reply = send(
        app.clone(),
        post(NEXT_STEP, contract_request(), Some(&token)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(!reply.json["cards"].as_array().unwrap().is_empty());
    let replay = send(app, post(NEXT_STEP, contract_request(), Some(&token))).await;
    assert!(assert_refused(&replay, "replay").contains("already used"));
}

#[tokio::test]
async fn a_token_for_one_service_is_refused_at_another() {
    let app = app(secured());
    let token = token_for(NEXT_STEP);
    let reply = send(
        app.clone(),
        post(ORDER_CHECK, order_request(), Some(&token)),
    )
    .await;
    assert!(assert_refused(&reply, "other service").contains("audience"));
    let reply = send(
        app.clone(),
        post(
            &format!("{NEXT_STEP}/feedback"),
            b"{}".to_vec(),
            Some(&token_for(NEXT_STEP)),
        ),
    )
    .await;
    assert!(assert_refused(&reply, "feedback with a service token").contains("audience"));
    let reply = send(
        app,
        post(ORDER_CHECK, order_request(), Some(&token_for(ORDER_CHECK))),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["cards"][0]["indicator"], "warning");
}

#[tokio::test]
async fn the_audience_is_the_public_url_never_the_host_header() {
    let now = now();
    let pem = std::fs::read(format!("{ROOT}/tests/fixtures/jwt/es384-private.pem")).unwrap();
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some("test-es384".into());
    let claims = json!({"iss": TEST_ISSUER, "aud": format!("https://attacker.invalid{NEXT_STEP}"),
        "iat": now, "exp": now + 60, "jti": unique_jti()});
    let token = encode(&header, &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap();
    let mut request = post(NEXT_STEP, contract_request(), Some(&token));
    request
        .headers_mut()
        .insert(header::HOST, "attacker.invalid".parse().unwrap());
    let reply = send(app(secured()), request).await;
    assert!(assert_refused(&reply, "host header audience").contains("audience"));
}

#[tokio::test]
async fn discovery_and_feedback_are_protected_too() {
    let app = app(secured());
    let reply = send(app.clone(), get("/cds-services", None)).await;
    assert_refused(&reply, "discovery without a token");
    let reply = send(
        app.clone(),
        get("/cds-services", Some(&token_for("/cds-services"))),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["services"].as_array().unwrap().len(), 2);

    let feedback = json!({"feedback": [{"card": "0b6f1d2e-3c4a-4b5d-8e6f-7a8b9c0d1e21",
        "outcome": "overridden", "outcomeTimestamp": "2026-03-01T10:00:00Z"}]});
    let path = format!("{NEXT_STEP}/feedback");
    let body = serde_json::to_vec(&feedback).unwrap();
    let reply = send(app.clone(), post(&path, body.clone(), None)).await;
    assert_refused(&reply, "feedback without a token");
    let reply = send(app.clone(), post(&path, body, Some(&token_for(&path)))).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    // Unknown routes under /cds-services say nothing without a token either.
    let reply = send(app, get("/cds-services/nope/other", None)).await;
    assert_refused(&reply, "unknown route");
}

#[tokio::test]
async fn without_a_trust_file_calls_succeed_unauthenticated() {
    let app = router(AppState::shared(pathways()));
    let reply = send(app.clone(), get("/cds-services", None)).await;
    assert_eq!(reply.status, 200);
    let reply = send(app.clone(), post(NEXT_STEP, contract_request(), None)).await;
    assert_eq!(reply.status, 200);
    let reply = send(app, post(ORDER_CHECK, order_request(), None)).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn cors_answers_preflight_for_configured_origins_only() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri(NEXT_STEP)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(app(secured()), preflight(BROWSER)).await;
    assert_eq!(
        reply.status, 200,
        "a preflight carries no token and is answered"
    );
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], BROWSER);
    let allowed = reply.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let methods = reply.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );

    let reply = send(app(secured()), preflight("https://elsewhere.invalid")).await;
    assert!(
        reply
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    // A refusal still carries the CORS header, so a browser client can read the 401.
    let mut request = post(NEXT_STEP, contract_request(), None);
    request
        .headers_mut()
        .insert(header::ORIGIN, BROWSER.parse().unwrap());
    let reply = send(app(secured()), request).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], BROWSER);

    // Without configured origins there is no CORS at all.
    let reply = send(app(CdsConfig::default()), preflight(BROWSER)).await;
    assert!(
        reply
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[test]
fn serve_options_are_checked() {
    let trust = format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json");
    let args =
        |trust: Option<&str>, url: Option<&str>, profile: Option<&str>, origins: &[&str]| CdsArgs {
            trust: trust.map(Into::into),
            public_url: url.map(Into::into),
            profile: profile.map(Into::into),
            cds_cors_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..CdsArgs::default()
        };
    let pathways = pathways();
    let error = |args: CdsArgs| CdsConfig::from_args(&args).err().unwrap();
    assert!(error(args(Some(&trust), None, None, &[])).contains("--public-url"));
    assert!(error(args(Some(&trust), Some("cds.example.org"), None, &[])).contains("absolute"));
    assert!(
        error(args(
            Some("/nonexistent/trust.json"),
            Some(PUBLIC_URL),
            None,
            &[]
        ))
        .contains("cannot read")
    );
    assert!(error(args(None, None, None, &["*"])).contains("CORS origin"));
    assert!(error(args(None, None, None, &["http://localhost:8080/path"])).contains("CORS origin"));
    let unknown = CdsConfig::from_args(&args(None, None, Some("no-such-profile"), &[])).unwrap();
    assert!(
        unknown
            .check_profile(&pathways)
            .unwrap_err()
            .contains("cms-lcd")
    );
    let good = CdsConfig::from_args(&args(
        Some(&trust),
        Some(PUBLIC_URL),
        Some("cms-lcd"),
        &[BROWSER],
    ))
    .unwrap();
    assert_eq!(good.check_profile(&pathways), Ok(()));
}

#[tokio::test]
async fn where_trust_is_required_cds_hooks_are_off_without_it_unless_insecure() {
    let trust = format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json");
    let status = |args: CdsArgs| async move {
        let config = CdsConfig::from_args(&args).unwrap();
        let app = router_with_cds(AppState::shared(pathways()), config);
        let response = app
            .oneshot(
                Request::builder()
                    .uri("/cds-services")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        response.status().as_u16()
    };
    let required = CdsArgs {
        require_trust: true,
        ..CdsArgs::default()
    };
    assert_eq!(status(required.clone()).await, 503);
    assert_eq!(
        status(CdsArgs {
            insecure: true,
            ..required.clone()
        })
        .await,
        200
    );
    assert_eq!(
        status(CdsArgs {
            trust: Some(trust.into()),
            public_url: Some(PUBLIC_URL.into()),
            ..required
        })
        .await,
        401,
        "with trusted issuers the routes are served, and need a token"
    );
    assert_eq!(status(CdsArgs::default()).await, 200);
}

/// A FHIR server stand-in on 127.0.0.1 serving the contract example's record to the bearer token
/// `issuer-fhir-token` only; it counts the queries it answers.
async fn fhir_stand_in() -> (String, Arc<AtomicU64>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    let served = Arc::new(AtomicU64::new(0));
    let example: Value = serde_json::from_slice(&contract_request()).unwrap();
    let counter = Arc::clone(&served);
    let handler = move |uri: Uri, headers: HeaderMap| {
        let prefetch = example["prefetch"].clone();
        let counter = Arc::clone(&counter);
        async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                != Some("Bearer issuer-fhir-token")
            {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let key = match uri.path() {
                "/fhir/Procedure" => "procedures",
                "/fhir/Observation" => "pain",
                _ => "conditions",
            };
            counter.fetch_add(1, Ordering::Relaxed);
            prefetch[key].to_string().into_response()
        }
    };
    let app = axum::Router::new().route("/fhir/{resource}", axum::routing::get(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, served)
}

#[tokio::test]
async fn the_fallback_queries_only_the_fhir_servers_of_the_calling_issuer() {
    let (base, served) = fhir_stand_in().await;
    let dir = std::env::temp_dir().join(format!("a19-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let with_servers = |issuer: &str, file: &str| {
        let mut trust: Value = serde_json::from_str(&trust_text()).unwrap();
        for entry in trust["issuers"].as_array_mut().unwrap() {
            if entry["iss"] == issuer {
                entry["fhirServers"] = json!([base]);
            }
        }
        let path = dir.join(file);
        std::fs::write(&path, trust.to_string()).unwrap();
        CdsConfig::from_args(&CdsArgs {
            trust: Some(path),
            public_url: Some(PUBLIC_URL.into()),
            fhir_allow_http: true,
            // Ignored with a trust file: the issuers' own servers apply.
            fhir_servers: vec![base.clone()],
            ..CdsArgs::default()
        })
        .unwrap()
    };
    let mut call: Value = serde_json::from_slice(&contract_request()).unwrap();
    call.as_object_mut().unwrap().remove("prefetch");
    call["fhirServer"] = json!(base);
    call["fhirAuthorization"] = json!({"access_token": "issuer-fhir-token", "token_type": "Bearer",
        "expires_in": 300, "scope": "patient/*.read", "subject": "cds"});
    let body = serde_json::to_vec(&call).unwrap();

    let own = app(with_servers(TEST_ISSUER, "own.json"));
    let reply = send(
        own,
        post(NEXT_STEP, body.clone(), Some(&token_for(NEXT_STEP))),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(!reply.json["cards"].as_array().unwrap().is_empty());
    assert_eq!(served.load(Ordering::Relaxed), 3);

    let other = app(with_servers("https://fhir-ehr.example.com/", "other.json"));
    let reply = send(other, post(NEXT_STEP, body, Some(&token_for(NEXT_STEP)))).await;
    assert_eq!(reply.status, 412, "{}", reply.json);
    assert_eq!(
        served.load(Ordering::Relaxed),
        3,
        "no query for another issuer's server"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
