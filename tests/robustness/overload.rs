//! Overload: with `--max-concurrency 1`, a burst gets answers or `503` with `Retry-After` at once
//! (never a wait in a queue). Header limits. (A body still arriving holds no place: `abuse.rs`.)

use crate::harness::*;
use std::time::Instant;

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
