//! Benchmarks of the pathway engine on the embedded pathway: `evaluate` over representative
//! requests (with and without the trace), the whole request path (parse, evaluate, serialize),
//! and loading plus validating the default pathway. Run with `cargo bench --bench engine`.

use criterion::{Criterion, criterion_group, criterion_main};
use facet_triage::engine;
use facet_triage::pathway::{self, DEFAULT_FILE_NAME, DEFAULT_PATHWAY, PathwaySet};
use facet_triage::request::{self, TriageRequest};
use facet_triage::triage::triage;
use std::hint::black_box;

/// Requests along every main path of the pathway (rules R1 to R20), rotated through by each benchmark.
const REQUESTS: &[&str] = &[
    // R3: intra-articular, lasting relief
    r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":70,"relief_duration":{"value":14,"unit":"wk"},"radicular_symptoms":false}"#,
    // R4: intra-articular, short-lived
    r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":60,"relief_duration":{"value":2,"unit":"wk"},"radicular_symptoms":false}"#,
    // R5 with sacroiliac signs
    r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":20,"relief_duration":{"value":3,"unit":"d"},"radicular_symptoms":false,"sacroiliac_signs":true}"#,
    // R6: first block positive
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":85,"relief_duration":{"value":3,"unit":"h"},"radicular_symptoms":false,"anesthetic":"lidocaine"}"#,
    // R7: second block positive, with the first
    r#"{"region":"cervical","procedure":"medial_branch_block","percent_relief":90,"relief_duration":{"value":6,"unit":"h"},"radicular_symptoms":false,"block_number":2,"anesthetic":"bupivacaine","previous_block":{"percent_relief":85,"relief_duration":{"value":2,"unit":"h"},"anesthetic":"lidocaine"}}"#,
    // R7 under a one-block profile
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":60,"relief_duration":{"value":4,"unit":"h"},"radicular_symptoms":false,"profile":"asra-2020"}"#,
    // R7b: contraindicated
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":90,"relief_duration":{"value":5,"unit":"h"},"radicular_symptoms":false,"block_number":2,"rfa_contraindicated":true}"#,
    // R8: partial block, threshold differs
    r#"{"region":"thoracic","procedure":"medial_branch_block","percent_relief":65,"relief_duration":{"value":3,"unit":"h"},"radicular_symptoms":false}"#,
    // R8: block below 50%
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":30,"relief_duration":{"value":1,"unit":"h"},"radicular_symptoms":false}"#,
    // R9: discordant comparative blocks, cms-lcd
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":85,"relief_duration":{"value":2,"unit":"h"},"radicular_symptoms":false,"block_number":2,"anesthetic":"bupivacaine","previous_block":{"percent_relief":90,"relief_duration":{"value":3,"unit":"h"},"anesthetic":"lidocaine"},"profile":"cms-lcd","pain_duration_months":6,"conservative_care_weeks":8,"guidance":"ultrasound"}"#,
    // R10: ablation worked
    r#"{"region":"lumbar","procedure":"radiofrequency_ablation","percent_relief":70,"relief_duration":{"value":9,"unit":"mo"},"radicular_symptoms":false}"#,
    // R11: ablation failed, instability, psychosocial risk
    r#"{"region":"lumbar","procedure":"radiofrequency_ablation","percent_relief":20,"relief_duration":{"value":3,"unit":"wk"},"radicular_symptoms":false,"spinal_instability":true,"psychosocial_risk":true}"#,
    // R19: relief still ongoing after ablation
    r#"{"region":"cervical","procedure":"radiofrequency_ablation","percent_relief":75,"relief_duration":{"value":8,"unit":"wk"},"radicular_symptoms":false,"relief_ongoing":true}"#,
    // R1: red flags
    r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":60,"relief_duration":{"value":2,"unit":"wk"},"radicular_symptoms":true,"red_flags":["cauda_equina","suspected_fracture"]}"#,
    // R2 and R20: radicular symptoms, recent imaging
    r#"{"region":"cervical","procedure":"medial_branch_block","percent_relief":85,"relief_duration":{"value":3,"unit":"h"},"radicular_symptoms":true,"recent_imaging":true}"#,
    // R12: conservative care incomplete
    r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":55,"relief_duration":{"value":1,"unit":"wk"},"radicular_symptoms":false,"pain_duration_months":2,"conservative_care_weeks":0}"#,
    // R15 and R18: unguided block, duration outside the anesthetic's window
    r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":85,"relief_duration":{"value":2,"unit":"d"},"radicular_symptoms":false,"guidance":"none","anesthetic":"lidocaine"}"#,
];

fn parsed(set: &PathwaySet) -> Vec<(TriageRequest, pathway::Resolved)> {
    let pathway = set.default_pathway();
    REQUESTS
        .iter()
        .map(|body| {
            let request = request::parse(body.as_bytes()).expect("a valid request");
            let resolved = pathway.resolve(&request).expect("resolves");
            (request, resolved)
        })
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let set = PathwaySet::embedded().expect("the embedded pathway loads");
    let pathway = set.default_pathway();
    let requests = parsed(&set);
    for (name, trace) in [("evaluate (no trace)", false), ("evaluate (trace)", true)] {
        let mut next = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                let (request, resolved) = &requests[next % requests.len()];
                next += 1;
                black_box(engine::evaluate(
                    pathway,
                    black_box(request),
                    *resolved,
                    trace,
                ))
            })
        });
    }
    let mut next = 0;
    c.bench_function("parse request", |b| {
        b.iter(|| {
            let body = REQUESTS[next % REQUESTS.len()];
            next += 1;
            black_box(request::parse(black_box(body.as_bytes())).expect("a valid request"))
        })
    });
    let responses: Vec<_> = requests
        .iter()
        .map(|(request, resolved)| engine::evaluate(pathway, request, *resolved, false))
        .collect();
    let mut next = 0;
    c.bench_function("serialize response (serde_json)", |b| {
        b.iter(|| {
            let response = &responses[next % responses.len()];
            next += 1;
            let mut body = Vec::with_capacity(8192);
            serde_json::to_writer(&mut body, black_box(response)).expect("serializes");
            black_box(body)
        })
    });
    let mut next = 0;
    c.bench_function(
        "write response (direct writer, what the service uses)",
        |b| {
            b.iter(|| {
                let response = &responses[next % responses.len()];
                next += 1;
                let mut body = Vec::with_capacity(8192);
                black_box(response).write_json(&mut body);
                black_box(body)
            })
        },
    );
    let mut next = 0;
    c.bench_function("parse + evaluate + serialize", |b| {
        b.iter(|| {
            let body = REQUESTS[next % REQUESTS.len()];
            next += 1;
            black_box(triage(&set, black_box(body.as_bytes()), false).expect("answers"))
        })
    });
}

fn load(c: &mut Criterion) {
    c.bench_function("load + validate default pathway", |b| {
        b.iter(|| {
            black_box(
                pathway::compile(DEFAULT_FILE_NAME, black_box(DEFAULT_PATHWAY)).expect("valid"),
            )
        })
    });
}

criterion_group!(benches, evaluate, load);
criterion_main!(benches);
