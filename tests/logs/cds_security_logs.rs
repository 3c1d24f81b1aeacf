//! What the logs say about CDS Hooks tokens: the `iss` and `jti` of an accepted token and the reason
//! for a refusal, never the token itself or its other claims. In the `logs` binary: it installs the
//! process-wide subscriber.

use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use facet_triage::auth::jwt::{JwtVerifier, Limits};
use facet_triage::http::{AppState, CdsConfig, router_with_cds};
use facet_triage::pathway::PathwaySet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PUBLIC_URL: &str = "https://cds.test.invalid";
const TEST_ISSUER: &str = "https://ehr.test.invalid";
const NEXT_STEP: &str = "/cds-services/facet-pain-next-step";

/// Writes formatted log lines into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_iss_and_jti_only() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let trust =
        std::fs::read_to_string(format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json")).unwrap();
    let config = CdsConfig::default()
        .with_auth(
            JwtVerifier::from_trust_json(&trust, Limits::default()).unwrap(),
            PUBLIC_URL,
        )
        .unwrap();
    let app = router_with_cds(
        AppState::shared(Arc::new(PathwaySet::embedded().unwrap())),
        config,
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": TEST_ISSUER, "sub": "client-1", "aud": format!("{PUBLIC_URL}{NEXT_STEP}"),
        "iat": now - 5, "exp": now + 295, "jti": "jti-log-check-1", "tenant": "tenant-secret-value"});
    let mut jwt_header = Header::new(Algorithm::ES384);
    jwt_header.kid = Some("test-es384".into());
    let pem = std::fs::read(format!("{ROOT}/tests/fixtures/jwt/es384-private.pem")).unwrap();
    let token = encode(
        &jwt_header,
        &claims,
        &EncodingKey::from_ec_pem(&pem).unwrap(),
    )
    .unwrap();
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/cds/contract-example.json"))
            .unwrap(),
    )
    .unwrap();
    let body = serde_json::to_vec(&example["request"]).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let request = Request::post(NEXT_STEP)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.clone()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        statuses.push(response.status().as_u16());
        to_bytes(response.into_body(), usize::MAX).await.unwrap();
    }
    assert_eq!(
        statuses,
        [200, 401],
        "accepted once, then refused as a replay"
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("jti-log-check-1"), "{log}");
    assert!(log.contains(TEST_ISSUER), "{log}");
    assert!(log.contains("replayed"), "{log}");
    let mut segments = token.split('.').skip(1);
    let (payload, signature) = (segments.next().unwrap(), segments.next().unwrap());
    for secret in [
        token.as_str(),
        payload,
        signature,
        "tenant-secret-value",
        "client-1",
        claims["aud"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "the log holds {secret}: {log}");
    }
}
