//! Availability under abuse by clients without credentials: made-up methods, silent, partial-head
//! and idle connections, trickling bodies at the concurrency limit, shutdown with partial heads
//! open, an oversize pathway file, and a signed token with critical header extensions.

use crate::harness::*;
use base64::Engine;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads until the server closes `stream` (or `limit` passes); how long that took, and whether it
/// closed.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> (Duration, bool) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return (started.elapsed(), true),
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (started.elapsed(), false);
            }
            // A reset is a close too.
            Err(_) => return (started.elapsed(), true),
        }
    }
}

/// `VmHWM` (peak resident memory) of a process, in KiB.
fn peak_rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn made_up_methods_leave_metrics_small() {
    let server = Server::start(&[], &[]);
    for n in 0..300 {
        let method = format!("X{n:05}{}", "M".repeat(20_000));
        let mut conn = server.connect();
        let reply = conn.send(&method, "/v1/triage", &[], b"").unwrap();
        assert!(reply.status >= 400, "{}", reply.status);
    }
    let metrics = server.get("/metrics").unwrap();
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.len() < 64 * 1024, "/metrics is {} bytes", text.len());
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("X00001"), "a made-up method became a label");
}

#[test]
fn silent_partial_head_and_idle_connections_are_closed_within_the_header_read_timeout() {
    let server = Server::start(&["--header-read-timeout", "1"], &[]);
    let mut silent: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let mut partial: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            stream
        })
        .collect();
    // A keep-alive connection, idle after one answer.
    let mut idle = server.connect();
    assert_eq!(idle.send("GET", "/healthz", &[], b"").unwrap().status, 200);
    for stream in silent.iter_mut().chain(partial.iter_mut()) {
        let (took, closed) = time_to_close(stream, Duration::from_secs(10));
        assert!(closed, "a connection stayed open for {took:?}");
    }
    // The idle connection's timer started after its answer, after the others had opened: two
    // more seconds leave it well past its one-second timeout.
    std::thread::sleep(Duration::from_secs(2));
    let again = idle.send("GET", "/healthz", &[], b"");
    assert!(
        again.is_err(),
        "the idle keep-alive connection was still open"
    );
    assert_eq!(server.get("/healthz").unwrap().status, 200);
}

#[test]
fn trickling_bodies_at_the_concurrency_limit_leave_normal_requests_answered() {
    let server = Server::start(&["--max-concurrency", "8"], &[]);
    let (first, rest) = TRIAGE_BODY.split_at(TRIAGE_BODY.len() / 2);
    let head = Conn::head(
        "POST",
        "/v1/triage",
        &[
            ("Content-Type", "application/json"),
            ("Expect", "100-continue"),
        ],
        TRIAGE_BODY.len(),
    );
    // Each request is in the server's hands once it answers `100 Continue` (it reads the body).
    let mut slow: Vec<Conn> = (0..16)
        .map(|_| {
            let mut conn = server.connect();
            conn.write(head.as_bytes()).unwrap();
            assert_eq!(conn.read_reply().unwrap().status, 100);
            conn.write(first.as_bytes()).unwrap();
            conn
        })
        .collect();
    let mut normal = server.connect();
    for _ in 0..50 {
        let reply = normal.triage(&[]).unwrap();
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    assert_eq!(server.get("/readyz").unwrap().status, 200);
    for conn in &mut slow {
        assert!(
            !conn.answered_early(),
            "a trickling request was answered early"
        );
        conn.write(rest.as_bytes()).unwrap();
        assert_eq!(conn.read_reply().unwrap().status, 200);
    }
}

#[test]
fn sigterm_with_partial_heads_open_exits_within_the_shutdown_timeout() {
    // The header-read timeout is long, so only the shutdown timeout can end these connections.
    let mut server = Server::start(
        &["--header-read-timeout", "120", "--shutdown-timeout", "2"],
        &[],
    );
    let partial: Vec<TcpStream> = (0..30)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream
                .write_all(b"POST /v1/triage HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    assert_eq!(server.get("/healthz").unwrap().status, 200);
    let started = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit();
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");
    drop(partial);
}

#[test]
fn during_the_shutdown_delay_answers_ask_keep_alive_clients_to_close() {
    let mut server = Server::start(&["--shutdown-delay", "3"], &[]);
    let mut conn = server.connect();
    let before = conn.triage(&[]).unwrap();
    assert_eq!(before.status, 200);
    assert_ne!(before.header("connection"), Some("close"));
    server.signal("TERM");
    assert!(
        eventually(|| server.get("/readyz").is_ok_and(|reply| reply.status == 503)),
        "/readyz never said 503"
    );
    let during = conn.triage(&[]).unwrap();
    assert_eq!(during.status, 200);
    assert_eq!(during.header("connection"), Some("close"));
    assert!(server.wait_exit().success());
}

#[test]
fn an_oversize_pathway_file_is_rejected_before_parsing_with_memory_bounded() {
    let dir = TempDir::new("oversize");
    dir.replace("facet-pain.toml", pathway_text().as_bytes());
    let server = Server::start(&["--pathways", dir.path().to_str().unwrap()], &[]);
    let before = peak_rss_kib(&server.pid());
    // 40 MB of TOML that would parse into many tables.
    let huge = "[[x]]\na = 1\n".repeat(3_500_000);
    dir.replace("facet-pain.toml", huge.as_bytes());
    let mut rejected = Vec::new();
    assert!(
        eventually(|| {
            let body = server.get("/readyz").unwrap().json();
            rejected = body["rejected_reload"]
                .as_array()
                .map(|lines| lines.iter().map(|l| l.to_string()).collect())
                .unwrap_or_default();
            !rejected.is_empty()
        }),
        "the oversize file was not rejected"
    );
    let rejected = rejected.join("\n");
    assert!(rejected.contains("larger than 1048576 bytes"), "{rejected}");
    assert!(
        !rejected.contains(dir.path().to_str().unwrap()),
        "/readyz shows the directory's path: {rejected}"
    );
    let grown = peak_rss_kib(&server.pid()).saturating_sub(before);
    assert!(grown < 16 * 1024, "peak memory grew by {grown} KiB");
    assert_eq!(server.connect().triage(&[]).unwrap().status, 200);
}

#[test]
fn a_signed_token_with_critical_header_extensions_is_refused() {
    let root = env!("CARGO_MANIFEST_DIR");
    let trust = format!("{root}/tests/fixtures/jwt/trusted-issuers.json");
    let public_url = "https://cds.test.invalid";
    let server = Server::start(&["--cds-trust", &trust, "--public-url", public_url], &[]);
    let path = "/cds-services/facet-pain-next-step";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let encode = |value: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let pem = std::fs::read(format!("{root}/tests/fixtures/jwt/es384-private.pem")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    let token = |crit: bool, jti: &str| {
        let mut header = serde_json::json!({"alg": "ES384", "typ": "JWT", "kid": "test-es384"});
        if crit {
            header["crit"] = serde_json::json!(["exp"]);
            header["exp"] = serde_json::json!(now + 60);
        }
        let claims = serde_json::json!({
            "iss": "https://ehr.test.invalid", "aud": format!("{public_url}{path}"),
            "iat": now, "exp": now + 60, "jti": jti,
        });
        let signed = format!("{}.{}", encode(header), encode(claims));
        let signature =
            jsonwebtoken::crypto::sign(signed.as_bytes(), &key, jsonwebtoken::Algorithm::ES384)
                .unwrap();
        format!("Bearer {signed}.{signature}")
    };
    let call = |authorization: String| {
        server
            .connect()
            .send(
                "POST",
                path,
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &authorization),
                ],
                b"{}",
            )
            .unwrap()
    };
    // The same token without `crit` passes authentication (and fails later, on the empty call).
    let plain = call(token(false, "plain"));
    assert_ne!(
        plain.status,
        401,
        "{}",
        String::from_utf8_lossy(&plain.body)
    );
    let critical = call(token(true, "critical"));
    assert_eq!(critical.status, 401);
    assert!(
        String::from_utf8_lossy(&critical.body).contains("crit"),
        "{}",
        String::from_utf8_lossy(&critical.body)
    );
}
