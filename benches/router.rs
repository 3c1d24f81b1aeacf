//! The HTTP stack in process: `POST /v1/triage` through the full router (middleware, validation,
//! evaluation, serialization) against a ceiling router on the same axum stack that parses the same
//! body and answers pre-serialized bytes (as `examples/ceiling.rs` does over a socket). No network, so
//! the ratio isolates what facet-triage adds per request; `benches/http/run.sh` measures it over TCP.
//! A third router runs the same triage without the middleware stack, to tell the two costs apart.

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::State;
use axum::http::{Request, header};
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use facet_triage::http::{AppState, router};
use facet_triage::pathway::PathwaySet;
use facet_triage::wire::Served;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use tower::ServiceExt;

fn bodies() -> Vec<String> {
    let requests: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("requests.json")).expect("benches/requests.json");
    requests
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

fn triage_request(body: &str) -> Request<Body> {
    Request::post("/v1/triage")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn routers(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bodies = bodies();
    let pathways = Arc::new(PathwaySet::embedded().expect("embedded pathway"));
    let served = Served::new(Arc::clone(&pathways));
    let mut answers = HashMap::new();
    for body in &bodies {
        let outcome = facet_triage::triage::triage(&served, body.as_bytes(), false).unwrap();
        answers.insert(body.clone(), Bytes::from(outcome.body));
    }
    let bare_pathways = Arc::new(served);
    let bare = Router::new()
        .route(
            "/v1/triage",
            post(
                |State(pathways): State<Arc<Served>>, body: Bytes| async move {
                    let outcome = facet_triage::triage::triage(&pathways, &body, false).unwrap();
                    ([(header::CONTENT_TYPE, "application/json")], outcome.body)
                },
            ),
        )
        .with_state(bare_pathways);
    let full = router(AppState::shared(pathways));
    let ceiling = Router::new()
        .route(
            "/v1/triage",
            post(
                |State(answers): State<Arc<HashMap<String, Bytes>>>, body: Bytes| async move {
                    let parsed = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
                    let text = std::str::from_utf8(&body).unwrap_or_default();
                    let answer = answers
                        .get(text)
                        .cloned()
                        .filter(|_| parsed)
                        .unwrap_or_default();
                    ([(header::CONTENT_TYPE, "application/json")], answer)
                },
            ),
        )
        .with_state(Arc::new(answers));
    for (name, app) in [
        ("router: facet-triage", full),
        ("router: triage without middleware", bare),
        ("router: ceiling", ceiling),
    ] {
        let mut next = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                let body = &bodies[next % bodies.len()];
                next += 1;
                runtime.block_on(async {
                    let response = app.clone().oneshot(triage_request(body)).await.unwrap();
                    black_box(to_bytes(response.into_body(), usize::MAX).await.unwrap())
                })
            })
        });
    }
}

criterion_group!(benches, routers);
criterion_main!(benches);
