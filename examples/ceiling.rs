//! The stack's ceiling for the HTTP benchmark (`benches/http/run.sh`): an axum server on the same
//! runtime settings as `facet-triage serve` that parses the same request bodies with serde_json and
//! answers the same response bytes, serialized once at startup. Whatever `facet-triage` adds per
//! request beyond this (validation, evaluation, serialization, middleware) is what the benchmark measures.
//!
//! Usage: `cargo run --release --example ceiling -- ADDR BODIES_JSONL` (one request body per line, byte
//! for byte as the load generator sends it).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use facet_triage::pathway::PathwaySet;
use facet_triage::wire::Served;
use std::collections::HashMap;
use std::sync::Arc;

type Answers = Arc<HashMap<Vec<u8>, Bytes>>;

async fn answer(State(answers): State<Answers>, body: Bytes) -> impl IntoResponse {
    // Parse the body as the real server does, so JSON parsing is part of the ceiling too.
    if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Bytes::new(),
        );
    }
    match answers.get(body.as_ref()) {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            bytes.clone(),
        ),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            Bytes::new(),
        ),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18090".into());
    let bodies = std::fs::read_to_string(args.next().expect("BODIES_JSONL argument"))
        .expect("read request bodies");
    let pathways = Served::new(Arc::new(PathwaySet::embedded().expect("embedded pathway")));
    let mut answers = HashMap::new();
    for body in bodies.lines().filter(|line| !line.is_empty()) {
        let outcome = facet_triage::triage::triage(&pathways, body.as_bytes(), false)
            .expect("benchmark requests are valid");
        answers.insert(body.as_bytes().to_vec(), Bytes::from(outcome.body));
    }
    let app = Router::new()
        .route("/v1/triage", post(answer))
        .with_state(Arc::new(answers));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}
