//! Overload: with `--max-concurrency 1`, a request beyond the limit gets `503` with `Retry-After` at
//! once (never a wait in a queue); health, readiness and metrics still answer. Header limits.

use crate::harness::*;
use std::time::{Duration, Instant};

/// A triage request that holds a slot: its head and `first` part of its body are sent, the rest waits.
fn slow_request(server: &Server, first: &str) -> Conn {
    let mut slow = server.connect();
    let head = Conn::head(
        "POST",
        "/v1/triage",
        &[("Content-Type", "application/json")],
        TRIAGE_BODY.len(),
    );
    slow.write(head.as_bytes()).unwrap();
    slow.write(first.as_bytes()).unwrap();
    slow
}

#[test]
fn beyond_the_limit_requests_are_shed_at_once_with_retry_after() {
    let server = Server::start(&["--max-concurrency", "1"], &[]);
    let (first, rest) = TRIAGE_BODY.split_at(TRIAGE_BODY.len() / 2);
    let mut slow = slow_request(&server, first);
    // Once the server has read that head, the next request is shed. A probe that reaches the server
    // first takes the slot instead, and the slow request is refused at once: it is then sent again.
    assert!(
        eventually(|| {
            if slow.answered_early() {
                slow = slow_request(&server, first);
            }
            server.connect().triage(&[]).unwrap().status == 503
        }),
        "the slow request never held the slot"
    );

    let started = Instant::now();
    let excess: Vec<_> = (0..16)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr).unwrap();
                let triage = conn.triage(&[]).unwrap();
                let pathways = conn.send("GET", "/v1/pathways", &[], b"").unwrap();
                (triage, pathways)
            })
        })
        .collect();
    for client in excess {
        let (triage, pathways) = client.join().unwrap();
        for reply in [triage, pathways] {
            assert_eq!(
                reply.status,
                503,
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
            assert_eq!(reply.header("retry-after"), Some("1"));
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
            assert_eq!(reply.json()["type"], "urn:facet-triage:problem:overloaded");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shedding waited: {:?}",
        started.elapsed()
    );
    // Probes and scrapes are not limited.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(server.get(path).unwrap().status, 200, "{path}");
    }
    let metrics = String::from_utf8(server.get("/metrics").unwrap().body).unwrap();
    assert!(
        sample(&metrics, "http_requests_shed_total") >= 32.0,
        "{metrics}"
    );

    // The slow request completes, and frees the slot.
    slow.write(rest.as_bytes()).unwrap();
    assert_eq!(slow.read_reply().unwrap().status, 200);
    assert!(
        eventually(|| server.connect().triage(&[]).unwrap().status == 200),
        "the slot was not freed"
    );
}

#[test]
fn a_burst_on_a_tiny_limit_gets_answers_or_503_never_a_hang() {
    let server = Server::start(&["--max-concurrency", "1"], &[]);
    let started = Instant::now();
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr).unwrap();
                (0..25)
                    .map(|_| {
                        let reply = conn.triage(&[]).unwrap();
                        if reply.status == 503 {
                            assert_eq!(reply.header("retry-after"), Some("1"));
                        }
                        reply.status
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 24 * 25);
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    assert!(started.elapsed() < PATIENCE);
}

#[test]
fn too_many_request_headers_get_431() {
    let server = Server::start(&[], &[]);
    let headers: Vec<(String, String)> = (0..120)
        .map(|i| (format!("x-filler-{i}"), "1".to_owned()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let reply = server
        .connect()
        .send("GET", "/healthz", &headers, b"")
        .unwrap();
    assert_eq!(reply.status, 431);
    let fine = server
        .connect()
        .send("GET", "/healthz", &headers[..50], b"")
        .unwrap();
    assert_eq!(fine.status, 200);
}
