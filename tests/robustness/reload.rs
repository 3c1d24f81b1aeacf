//! Hot reload under load: two valid versions swapped many times through the file system and SIGHUP,
//! once an invalid file; no request fails and every answer comes from a valid version.

use crate::harness::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const FILE: &str = "facet-pain.toml";

/// Version B: version 2.0.1 with a changed threshold.
fn version_b(a: &str) -> String {
    let threshold = "at_least = 80, source = \"asipp-2020\"";
    assert!(a.contains(threshold), "the threshold to change is gone");
    let b = a
        .replacen("version = \"2.0.0\"", "version = \"2.0.1\"", 1)
        .replacen(threshold, "at_least = 75, source = \"asipp-2020\"", 1);
    assert!(
        b.contains("version = \"2.0.1\""),
        "the version line is gone"
    );
    b
}

/// The digests `/readyz` says are serving, and its rejected-reload lines.
fn readiness(server: &Server) -> (Vec<String>, Option<Vec<String>>) {
    let reply = server.get("/readyz").unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let serving = body["serving"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pathway| pathway["digest"].as_str().unwrap().to_owned())
        .collect();
    let rejected = body["rejected_reload"].as_array().map(|lines| {
        lines
            .iter()
            .map(|line| line.as_str().unwrap().to_owned())
            .collect()
    });
    (serving, rejected)
}

#[derive(Default)]
struct Tally {
    answers: Mutex<HashMap<String, usize>>,
    failures: Mutex<Vec<String>>,
    total: AtomicUsize,
}

impl Tally {
    fn served(&self, digest: &str) -> usize {
        self.answers
            .lock()
            .unwrap()
            .get(digest)
            .copied()
            .unwrap_or(0)
    }
}

fn load(server_addr: std::net::SocketAddr, stop: &AtomicBool, tally: &Tally) {
    let mut conn = Conn::open(server_addr).unwrap();
    while !stop.load(Ordering::Relaxed) {
        match conn.triage(&[]) {
            Ok(reply) if reply.status == 200 => {
                let body = reply.json();
                let digest = body["pathway"]["digest"].as_str().unwrap().to_owned();
                let header = reply.header("x-pathway-digest").map(str::to_owned);
                if header.is_some() && header.as_deref() != Some(digest.as_str()) {
                    tally
                        .failures
                        .lock()
                        .unwrap()
                        .push(format!("header {header:?} disagrees with body {digest}"));
                }
                *tally.answers.lock().unwrap().entry(digest).or_default() += 1;
            }
            Ok(reply) => tally.failures.lock().unwrap().push(format!(
                "{}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            )),
            Err(error) => {
                tally.failures.lock().unwrap().push(error.to_string());
                conn = Conn::open(server_addr).unwrap();
            }
        }
        tally.total.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn valid_versions_swap_under_load_and_an_invalid_file_never_serves() {
    let a = pathway_text();
    let b = version_b(&a);
    let invalid = a.replacen("version = \"2.0.0\"", "version = \"one\"", 1);
    let (digest_a, digest_b, digest_invalid) = (
        digest(a.as_bytes()),
        digest(b.as_bytes()),
        digest(invalid.as_bytes()),
    );
    let dir = TempDir::new("reload");
    dir.replace(FILE, a.as_bytes());
    let mut server = Server::start(&["--pathways", dir.path().to_str().unwrap()], &[]);
    assert_eq!(readiness(&server), (vec![digest_a.clone()], None));

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, tally, addr) = (Arc::clone(&stop), Arc::clone(&tally), server.addr);
            std::thread::spawn(move || load(addr, &stop, &tally))
        })
        .collect();

    // Switches to `text` and waits until /readyz names it and the load got answers from it.
    let switch_to = |text: &str, expected: &str, hangup: bool| {
        let before = tally.served(expected);
        dir.replace(FILE, text.as_bytes());
        if hangup {
            server.signal("HUP");
        }
        assert!(
            eventually(|| readiness(&server) == (vec![expected.to_owned()], None)),
            "{expected} never served"
        );
        assert!(
            eventually(|| tally.served(expected) >= before + 20),
            "no load answered by {expected}"
        );
    };
    for round in 0..6 {
        let hangup = round % 2 == 1;
        switch_to(&b, &digest_b, hangup);
        switch_to(&a, &digest_a, hangup);
    }

    // An invalid file: rejected, shown by /readyz, and version A keeps answering.
    let served_a = tally.served(&digest_a);
    dir.replace(FILE, invalid.as_bytes());
    server.signal("HUP");
    let mut rejected = None;
    assert!(
        eventually(|| {
            rejected = readiness(&server).1;
            rejected.is_some()
        }),
        "the invalid file was not reported"
    );
    let rejected = rejected.unwrap();
    assert!(
        rejected
            .iter()
            .any(|line| line.contains(&format!("{FILE}:"))
                && line
                    .split(':')
                    .nth(2)
                    .is_some_and(|n| n.parse::<u32>().is_ok())),
        "no file:line:column line in {rejected:?}"
    );
    assert_eq!(readiness(&server).0, vec![digest_a.clone()]);
    assert!(
        eventually(|| tally.served(&digest_a) >= served_a + 50),
        "version A stopped answering after the invalid file"
    );

    // A valid version serves again and clears the rejection.
    switch_to(&b, &digest_b, false);

    // The OpenAPI document follows the serving version.
    let document = server.get("/openapi.json").unwrap();
    assert_eq!(document.header("x-pathway-digest"), Some(digest_b.as_str()));
    let listed = &document.json()["paths"]["/v1/pathways"]["get"]["responses"]["200"]["content"]["application/json"]
        ["example"]["pathways"][0];
    assert_eq!(listed["version"], "2.0.1");
    assert_eq!(listed["digest"], digest_b.as_str());

    // SIGHUP alone (no file change) reloads: the reload counter moves.
    let reloads = |server: &Server| {
        let metrics = server.get("/metrics").unwrap();
        let text = String::from_utf8(metrics.body).unwrap();
        (
            sample(&text, "pathway_reloads_total{outcome=\"replaced\"}"),
            sample(&text, "pathway_reloads_total{outcome=\"rejected\"}"),
        )
    };
    let (replaced, rejected_count) = reloads(&server);
    assert!(rejected_count >= 1.0, "the rejection was not counted");
    server.signal("HUP");
    assert!(
        eventually(|| reloads(&server).0 >= replaced + 1.0),
        "SIGHUP did not reload"
    );

    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let failures = tally.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    let answers = tally.answers.lock().unwrap().clone();
    assert!(
        answers.keys().all(|d| *d == digest_a || *d == digest_b),
        "answers from an unknown version: {answers:?}"
    );
    assert!(!answers.contains_key(&digest_invalid));
    assert!(answers[&digest_a] > 0 && answers[&digest_b] > 0);
    assert!(tally.total.load(Ordering::Relaxed) > 500);
    let log = server.log().join("\n");
    assert!(log.contains("pathway reload rejected"), "{log}");

    server.signal("TERM");
    assert!(server.wait_exit().success());
}

#[test]
fn sighup_with_the_embedded_pathways_is_a_logged_no_op() {
    let mut server = Server::start(&[], &[]);
    let before = server.get("/readyz").unwrap().json();
    server.signal("HUP");
    assert!(
        eventually(|| server
            .log()
            .iter()
            .any(|line| line.contains("SIGHUP ignored"))),
        "no log line for the ignored SIGHUP"
    );
    assert_eq!(server.get("/readyz").unwrap().json(), before);
    server.signal("TERM");
    assert!(server.wait_exit().success());
}
