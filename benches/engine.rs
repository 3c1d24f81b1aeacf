//! Benchmarks of the pathway engine on the embedded pathway, rotating through the HTTP benchmark's
//! requests: `evaluate` with and without the trace, writing the answer, comparing every profile,
//! parsing, the whole triage use case, and loading plus validating the default pathway. Run with
//! `cargo bench --bench engine`.

use criterion::{Criterion, criterion_group, criterion_main};
use facet_triage::engine;
use facet_triage::pathway::{self, DEFAULT_FILE_NAME, DEFAULT_PATHWAY, PathwaySet};
use facet_triage::request::{self, TriageRequest};
use facet_triage::triage::triage;
use facet_triage::wire::{self, Served};
use std::hint::black_box;
use std::sync::Arc;

/// The HTTP benchmark's requests (`benches/requests.json`), one per main path of the pathway (rules R1
/// to R20), serialized compactly as the load generator sends them.
fn bodies() -> Vec<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/requests.json");
    let requests: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("benches/requests.json"))
            .expect("a JSON array");
    requests
        .iter()
        .map(|request| serde_json::to_vec(request).expect("serializes"))
        .collect()
}

fn parsed(set: &PathwaySet, bodies: &[Vec<u8>]) -> Vec<(TriageRequest, pathway::Resolved)> {
    let pathway = set.default_pathway();
    bodies
        .iter()
        .map(|body| {
            let request = request::parse(body).expect("a valid request");
            let resolved = pathway.resolve(&request).expect("resolves");
            (request, resolved)
        })
        .collect()
}

/// Runs `f` on the inputs in turn, one per iteration.
fn rotate<T>(c: &mut Criterion, name: &str, inputs: &[T], mut f: impl FnMut(&T)) {
    let mut next = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            f(black_box(&inputs[next % inputs.len()]));
            next += 1;
        })
    });
}

fn evaluate(c: &mut Criterion) {
    let set = Served::new(Arc::new(
        PathwaySet::embedded().expect("the embedded pathway loads"),
    ));
    let (pathway, pieces) = set.answering(None).expect("the default pathway");
    let bodies = bodies();
    let requests = parsed(&set, &bodies);
    for (name, trace) in [("evaluate (no trace)", false), ("evaluate (trace)", true)] {
        rotate(c, name, &requests, |(request, resolved)| {
            black_box(engine::evaluate(pathway, request, *resolved, trace));
        });
    }
    rotate(
        c,
        "answer: evaluate and write the JSON body",
        &requests,
        |(request, resolved)| {
            let mut body = Vec::with_capacity(8192);
            black_box(engine::answer(pathway, request, *resolved, |decided| {
                wire::answer(pieces, decided, &mut body)
            }));
            black_box(body);
        },
    );
    rotate(
        c,
        "compare: every profile (POST /v1/triage/compare's engine work)",
        &requests,
        |(request, resolved)| {
            black_box(engine::compare(pathway, request, resolved.region_slot));
        },
    );
    rotate(c, "parse request", &bodies, |body| {
        black_box(request::parse(body).expect("a valid request"));
    });
    rotate(
        c,
        "parse as serde_json::Value (the HTTP ceiling's work)",
        &bodies,
        |body| {
            black_box(serde_json::from_slice::<serde_json::Value>(body).expect("JSON"));
        },
    );
    rotate(
        c,
        "triage: parse, evaluate, write (POST /v1/triage)",
        &bodies,
        |body| {
            black_box(triage(&set, body, false).expect("answers"));
        },
    );
}

fn load(c: &mut Criterion) {
    c.bench_function("load + validate default pathway", |b| {
        b.iter(|| {
            black_box(
                pathway::compile(DEFAULT_FILE_NAME, black_box(DEFAULT_PATHWAY)).expect("valid"),
            )
        })
    });
    // What a reload does for the embedded set: load, validate, and serialize the answer pieces.
    c.bench_function("load + validate + answer pieces (a reload)", |b| {
        b.iter(|| {
            let set = PathwaySet::embedded().expect("the embedded pathway loads");
            black_box(Served::new(Arc::new(set)))
        })
    });
}

criterion_group!(benches, evaluate, load);
criterion_main!(benches);
