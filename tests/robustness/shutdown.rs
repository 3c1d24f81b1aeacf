//! Graceful shutdown under load: SIGTERM while clients send requests; requests in flight (some
//! still sending their body when the listener closes) complete with 200, no connection is reset,
//! the process exits 0.

use crate::harness::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[test]
fn sigterm_under_load_finishes_every_request_in_flight() {
    // The delay keeps the server answering after SIGTERM while /readyz says 503, as a load
    // balancer needs; the clients below stop sending new requests once they see that 503.
    let mut server = Server::start(&["--shutdown-delay", "2"], &[]);
    let draining = Arc::new(AtomicBool::new(false));
    let answered_after_signal = Arc::new(AtomicUsize::new(0));
    let signalled = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let total = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let addr = server.addr;
            let (draining, signalled, after, failures, total) = (
                Arc::clone(&draining),
                Arc::clone(&signalled),
                Arc::clone(&answered_after_signal),
                Arc::clone(&failures),
                Arc::clone(&total),
            );
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr).unwrap();
                while !draining.load(Ordering::Acquire) {
                    let was_signalled = signalled.load(Ordering::Acquire);
                    match conn.triage(&[]) {
                        Ok(reply) if reply.status == 200 && !reply.body.is_empty() => {
                            total.fetch_add(1, Ordering::Relaxed);
                            if was_signalled {
                                after.fetch_add(1, Ordering::Relaxed);
                            }
                            // While draining, answers carry `Connection: close`: a client then
                            // sends its next request on a new connection.
                            if reply.header("connection") == Some("close") {
                                match Conn::open(addr) {
                                    Ok(fresh) => conn = fresh,
                                    Err(_) => return,
                                }
                            }
                        }
                        Ok(reply) => failures
                            .lock()
                            .unwrap()
                            .push(format!("status {}", reply.status)),
                        Err(error) => {
                            failures.lock().unwrap().push(error.to_string());
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    assert!(
        eventually(|| total.load(Ordering::Relaxed) >= 100),
        "no load"
    );

    // Requests certain to be in flight at the close: head and half the body sent.
    let (first, rest) = TRIAGE_BODY.split_at(TRIAGE_BODY.len() / 2);
    let mut in_flight: Vec<Conn> = (0..3)
        .map(|_| {
            let mut conn = server.connect();
            let head = Conn::head(
                "POST",
                "/v1/triage",
                &[("Content-Type", "application/json")],
                TRIAGE_BODY.len(),
            );
            conn.write(head.as_bytes()).unwrap();
            conn.write(first.as_bytes()).unwrap();
            conn
        })
        .collect();

    signalled.store(true, Ordering::Release);
    server.signal("TERM");
    // A load balancer's view: /readyz turns 503, then no new requests are sent.
    assert!(
        eventually(|| server.get("/readyz").is_ok_and(|reply| reply.status == 503)),
        "/readyz never reported draining"
    );
    draining.store(true, Ordering::Release);
    for client in clients {
        client.join().unwrap();
    }
    // The listener closes after the delay; the half-sent requests are still open.
    let closing = Instant::now();
    assert!(
        eventually(|| std::net::TcpStream::connect(server.addr).is_err()),
        "the listener stayed open"
    );
    assert!(closing.elapsed() < PATIENCE);
    for conn in &mut in_flight {
        conn.write(rest.as_bytes()).unwrap();
        let reply = conn.read_reply().unwrap();
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(reply.json()["options"].is_array());
    }
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}");

    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(
        answered_after_signal.load(Ordering::Relaxed) > 0,
        "no request was answered after SIGTERM: the test did not shut down under load"
    );
    let log = server.log().join("\n");
    assert!(log.contains("in-flight requests finished"), "{log}");
}
