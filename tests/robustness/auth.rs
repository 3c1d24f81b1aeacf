//! Bearer-token auth for `/v1/*` (tokens from a file and the environment), the open operational
//! routes, and `/metrics` on its own address.

use crate::harness::*;

const FILE_TOKEN: &str = "file-token-0123456789abcdef";
const ENV_TOKEN: &str = "env-token-0123456789abcdef";

#[test]
fn v1_needs_a_known_bearer_token_and_operations_stay_open() {
    let dir = TempDir::new("auth");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("# API tokens\n\n{FILE_TOKEN}\n")).unwrap();
    let server = Server::start(
        &[
            "--api-tokens-file",
            tokens.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        &[("FACET_TRIAGE_API_TOKENS", ENV_TOKEN)],
    );
    let mut conn = server.connect();

    let missing = conn.triage(&[]).unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        missing
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(
        missing.json()["type"],
        "urn:facet-triage:problem:unauthorized"
    );

    let wrong_token = format!("Bearer {}", FILE_TOKEN.replace('0', "1"));
    let wrong = conn.triage(&[("Authorization", &wrong_token)]).unwrap();
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let basic = conn
        .triage(&[("Authorization", "Basic dXNlcjpwYXNz")])
        .unwrap();
    assert_eq!(basic.status, 401);

    for token in [FILE_TOKEN, ENV_TOKEN] {
        let authorization = format!("Bearer {token}");
        let ok = conn.triage(&[("Authorization", &authorization)]).unwrap();
        assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
        let list = conn
            .send(
                "GET",
                "/v1/pathways",
                &[("Authorization", &authorization)],
                b"",
            )
            .unwrap();
        assert_eq!(list.status, 200);
        assert!(list.header("x-pathway-version").is_some());
    }
    assert_eq!(
        conn.send("GET", "/v1/pathways", &[], b"").unwrap().status,
        401
    );
    assert_eq!(
        conn.send("GET", "/v1/nowhere", &[], b"").unwrap().status,
        401
    );

    for path in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(server.get(path).unwrap().status, 200, "{path}");
    }
    let document = server.get("/openapi.json").unwrap().json();
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        document["paths"]["/v1/triage"]["post"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    assert!(document["paths"]["/healthz"]["get"]["security"].is_null());
    // Every /v1 operation documents its 401, and only those do.
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            let unauthorized = &operation["responses"]["401"];
            assert_eq!(unauthorized.is_object(), path.starts_with("/v1/"), "{path}");
            if path.starts_with("/v1/") {
                assert!(
                    unauthorized["headers"]["WWW-Authenticate"].is_object(),
                    "{path}"
                );
            }
        }
    }
    assert!(
        document["paths"].get("/metrics").is_none(),
        "/metrics is on its own address"
    );

    // /metrics moved to its own address.
    assert_eq!(server.get("/metrics").unwrap().status, 404);
    let metrics_addr = server.metrics_addr.expect("the metrics address was logged");
    let metrics = Conn::open(metrics_addr)
        .unwrap()
        .send("GET", "/metrics", &[], b"")
        .unwrap();
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        sample(&text, "api_auth_refusals_total{reason=\"missing\"}") >= 1.0,
        "{text}"
    );
    assert!(text.contains("http_requests_total"), "{text}");

    let log = server.log().join("\n");
    assert!(!log.contains(FILE_TOKEN) && !log.contains(ENV_TOKEN));
    assert!(
        !log.contains("1123456789abcdef"),
        "the wrong token was logged"
    );
}

#[test]
fn without_tokens_v1_is_open() {
    let server = Server::start(&[], &[]);
    assert_eq!(server.connect().triage(&[]).unwrap().status, 200);
    assert!(server.log().iter().any(|line| line.contains("/v1 is open")));
}

#[test]
fn an_unusable_tokens_file_stops_the_start() {
    let dir = TempDir::new("auth-bad");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# comment\nshort\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_facet-triage"))
        .args(["serve", "--addr", "127.0.0.1:0", "--api-tokens-file"])
        .arg(&tokens)
        .env_remove("FACET_TRIAGE_API_TOKENS")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":2: a token must be at least 16 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("short"), "{stderr}");
}
