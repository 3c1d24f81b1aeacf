//! Runs every vignette file in `tests/fixtures/vignettes/` through the HTTP router, with the same
//! expectations as `shared/tools/check-vignettes`: the public contract vignettes and our own, one
//! file per concern, each vignette naming the rules it checks. An error case with neither `status`
//! nor `status_range` must get a 4xx.

use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use facet_triage::http::{AppState, router};
use facet_triage::pathway::PathwaySet;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;

/// The embedded pathway, compiled once for every case.
static PATHWAYS: LazyLock<Arc<PathwaySet>> =
    LazyLock::new(|| Arc::new(PathwaySet::embedded().expect("embedded pathway loads")));

async fn post(body: String, content_type: Option<&str>) -> (u16, String, Value) {
    post_to("/v1/triage", body, content_type).await
}

async fn post_to(path: &str, body: String, content_type: Option<&str>) -> (u16, String, Value) {
    let app = router(AppState::shared(PATHWAYS.clone()));
    let mut request = Request::post(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = app
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, format!("{media}\n{text}"), json)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|pair| {
                    let p = strings(pair);
                    (p[0].clone(), p[1].clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every problem with one vignette's answer, as check-vignettes reports them.
fn check(doc: &Value, expect: &Value) -> Vec<String> {
    let options = doc["options"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = options
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let rank = |id: &str| {
        options
            .iter()
            .find(|o| o["id"] == id)
            .and_then(|o| o["rank"].as_u64())
    };
    let avoid: Vec<String> = doc["avoid"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let alerts: Vec<(String, String)> = doc["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["severity"].as_str().unwrap_or_default().to_owned(),
                        x["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut bad = Vec::new();
    let ranks: Vec<u64> = options.iter().filter_map(|o| o["rank"].as_u64()).collect();
    if ranks != (1..=options.len() as u64).collect::<Vec<_>>() {
        bad.push(format!("ranks are not 1..n: {ranks:?}"));
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != ids.len() {
        bad.push("duplicate option ids".into());
    }
    for id in &ids {
        if avoid.contains(id) {
            bad.push(format!("{id} both offered and avoided"));
        }
    }
    for option in &options {
        if option["evidence"].as_array().is_none_or(|e| e.is_empty())
            || option["citations"].as_array().is_none_or(|c| c.is_empty())
        {
            bad.push(format!("{}: missing evidence or citations", option["id"]));
        }
    }
    // Every evidence entry, in options and in avoid, has a direction (contract 4.2).
    let avoided = doc["avoid"].as_array().cloned().unwrap_or_default();
    for entry in options.iter().chain(&avoided) {
        if (entry["evidence"].as_array().into_iter().flatten())
            .any(|e| !matches!(e["direction"].as_str(), Some("for" | "against")))
        {
            bad.push(format!(
                "{}: an evidence entry without direction for/against",
                entry["id"]
            ));
        }
    }
    if let Some(response) = expect.get("response")
        && doc["assessment"]["response"] != *response
    {
        bad.push(format!(
            "assessment.response {}, expected {response}",
            doc["assessment"]["response"]
        ));
    }
    if let Some(top) = expect.get("top").and_then(Value::as_str)
        && ids.first().map(String::as_str) != Some(top)
    {
        bad.push(format!("top option {:?}, expected {top}", ids.first()));
    }
    if let Some(any) = expect.get("top_any")
        && !ids
            .first()
            .is_some_and(|first| strings(any).contains(first))
    {
        bad.push(format!(
            "top option {:?}, expected one of {any}",
            ids.first()
        ));
    }
    for id in strings(&expect["options_include"]) {
        if !ids.contains(&id) {
            bad.push(format!("{id} not offered"));
        }
    }
    for id in strings(&expect["options_exclude"]) {
        if ids.contains(&id) {
            bad.push(format!("{id} offered, must not be"));
        }
    }
    for id in strings(&expect["avoid_include"]) {
        if !avoid.contains(&id) {
            bad.push(format!("{id} not in avoid"));
        }
    }
    for id in strings(&expect["avoid_exclude"]) {
        if avoid.contains(&id) {
            bad.push(format!("{id} in avoid, must not be"));
        }
    }
    for (a, b) in pairs(&expect["before"]) {
        match (rank(&a), rank(&b)) {
            (Some(ra), Some(rb)) if ra < rb => {}
            (Some(_), Some(_)) => bad.push(format!("order: {a} must come before {b}")),
            _ => bad.push(format!("order {a} < {b}: one is not offered")),
        }
    }
    for (a, b) in pairs(&expect["above_if_present"]) {
        match (rank(&a), rank(&b)) {
            (None, _) => bad.push(format!("{a} not offered")),
            (Some(ra), Some(rb)) if ra >= rb => {
                bad.push(format!("order: {a} must come before {b}"))
            }
            _ => {}
        }
    }
    for (severity, code) in pairs(&expect["alerts_include"]) {
        if !alerts.contains(&(severity.clone(), code.clone())) {
            bad.push(format!("alert {severity}/{code} missing (got {alerts:?})"));
        }
    }
    for code in strings(&expect["alerts_exclude"]) {
        if alerts.iter().any(|(_, c)| *c == code) {
            bad.push(format!("alert {code} present, must not be"));
        }
    }
    if let Some(words) = expect.get("summary_any") {
        let summary = doc["assessment"]["summary"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        if !strings(words)
            .iter()
            .any(|word| summary.contains(word.as_str()))
        {
            bad.push(format!("summary {summary:?} names none of {words}"));
        }
    }
    if let Some(mentions) = expect.get("alert_mentions").and_then(Value::as_object) {
        for (code, words) in mentions {
            let messages: Vec<String> = (doc["alerts"].as_array().into_iter().flatten())
                .filter(|alert| alert["code"] == code.as_str())
                .map(|alert| alert["message"].as_str().unwrap_or_default().to_lowercase())
                .collect();
            for word in strings(words) {
                if !messages.iter().any(|m| m.contains(&word.to_lowercase())) {
                    bad.push(format!(
                        "alert {code} does not mention {word:?}: {messages:?}"
                    ));
                }
            }
        }
    }
    for (key, wanted) in [
        ("criteria_any_status", true),
        ("criteria_none_status", false),
    ] {
        for (id, status) in expect
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let any = (options.iter())
                .filter(|o| o["id"] == id.as_str())
                .flat_map(|o| o["criteria"].as_array().cloned().unwrap_or_default())
                .any(|c| c["status"] == *status);
            if any != wanted {
                bad.push(format!("{id}: {key} {status} does not hold"));
            }
        }
    }
    for (code, words) in (expect.get("alert_not_mentions").and_then(Value::as_object))
        .into_iter()
        .flatten()
    {
        for alert in (doc["alerts"].as_array().into_iter().flatten()).filter(|a| a["code"] == *code)
        {
            let message = alert["message"].as_str().unwrap_or_default().to_lowercase();
            for word in strings(words) {
                if message.contains(&word.to_lowercase()) {
                    bad.push(format!("alert {code} mentions {word:?}"));
                }
            }
        }
    }
    // { option id: { criterion id: status } }
    if let Some(by_option) = expect.get("criterion_status").and_then(Value::as_object) {
        for (id, wanted) in by_option {
            let criteria = options
                .iter()
                .find(|o| o["id"] == id.as_str())
                .map(|o| o["criteria"].clone());
            for (criterion, status) in wanted.as_object().into_iter().flatten() {
                let got = criteria.as_ref().and_then(|c| {
                    (c.as_array().into_iter().flatten())
                        .find(|x| x["id"] == criterion.as_str())
                        .map(|x| x["status"].clone())
                });
                if got.as_ref() != Some(status) {
                    bad.push(format!(
                        "{id}: criterion {criterion} is {got:?}, expected {status}"
                    ));
                }
            }
        }
    }
    // { option id: direction }: the option, offered or avoided, has an evidence entry so directed.
    for (id, direction) in (expect.get("evidence_direction_include"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let entry = options
            .iter()
            .chain(&avoided)
            .find(|o| o["id"] == id.as_str());
        let found = entry.is_some_and(|o| {
            (o["evidence"].as_array().into_iter().flatten()).any(|e| e["direction"] == *direction)
        });
        if !found {
            bad.push(format!(
                "{id}: no evidence entry with direction {direction}"
            ));
        }
    }
    // { option id: [codes] }: the offered option's codes include, or exclude, each listed code.
    for (key, wanted) in [("codes_include", true), ("codes_exclude", false)] {
        for (id, codes) in (expect.get(key).and_then(Value::as_object))
            .into_iter()
            .flatten()
        {
            let got: Vec<String> = (options.iter())
                .filter(|o| o["id"] == id.as_str())
                .flat_map(|o| o["codes"].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["code"].as_str().map(str::to_owned))
                .collect();
            for code in strings(codes) {
                if got.contains(&code) != wanted {
                    bad.push(format!("{id}: {key} {code} does not hold (got {got:?})"));
                }
            }
        }
    }
    if let Some(levels) = expect.get("evidence_level").and_then(Value::as_object) {
        for (id, level) in levels {
            let got = options
                .iter()
                .find(|o| o["id"] == id.as_str())
                .map(|o| o["evidence"][0]["level"].clone());
            if got.as_ref() != Some(level) {
                bad.push(format!("{id} evidence level {got:?}, expected {level}"));
            }
        }
    }
    bad
}

/// Every problem with the answer of `POST /v1/triage/compare` to one vignette.
async fn check_compare(vignette: &Value) -> Vec<String> {
    let (status, text, doc) = post_to(
        "/v1/triage/compare",
        vignette["request"].to_string(),
        Some("application/json"),
    )
    .await;
    if status != 200 {
        return vec![format!("compare status {status}: {text}")];
    }
    let expect = &vignette["expect"];
    let mut bad = Vec::new();
    let entries = doc["profiles"].as_array().cloned().unwrap_or_default();
    if let Some(profiles) = expect.get("profiles") {
        let got: Vec<String> = (entries.iter())
            .map(|e| e["profile"].as_str().unwrap_or_default().to_owned())
            .collect();
        if got != strings(profiles) {
            bad.push(format!("profiles {got:?}, expected {profiles}"));
        }
    }
    let entry = |profile: &str| entries.iter().find(|e| e["profile"] == profile).cloned();
    for (profile, top) in expect
        .get("profile_top")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let got = entry(profile).map(|e| e["options"][0].clone());
        if got.as_ref() != Some(top) {
            bad.push(format!("{profile}: top option {got:?}, expected {top}"));
        }
    }
    for (profile, ids) in (expect
        .get("profile_avoid_include")
        .and_then(Value::as_object))
    .into_iter()
    .flatten()
    {
        let avoid = entry(profile)
            .map(|e| strings(&e["avoid"]))
            .unwrap_or_default();
        for id in strings(ids) {
            if !avoid.contains(&id) {
                bad.push(format!("{profile}: {id} not in avoid"));
            }
        }
    }
    let listed: Vec<String> = (doc["disagreements"].as_array().into_iter().flatten())
        .map(|d| d["option"].as_str().unwrap_or_default().to_owned())
        .collect();
    for id in strings(&expect["disagreement_include"]) {
        if !listed.contains(&id) {
            bad.push(format!("no disagreement listed for {id}"));
        }
    }
    for id in strings(&expect["disagreement_exclude"]) {
        if listed.contains(&id) {
            bad.push(format!("disagreement listed for {id}, must not be"));
        }
    }
    if let Some(differs) = expect.get("first_option_differs")
        && doc["first_option_differs"] != *differs
    {
        bad.push(format!("first_option_differs is not {differs}"));
    }
    bad
}

async fn run_file(path: &Path) -> (usize, Vec<String>) {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for vignette in data["vignettes"].as_array().into_iter().flatten() {
        count += 1;
        let id = vignette["id"].as_str().unwrap_or("?");
        assert!(
            vignette["rules"].as_array().is_some_and(|r| !r.is_empty()),
            "{id}: a vignette names its rules"
        );
        if vignette["compare"] == true {
            for problem in check_compare(vignette).await {
                failures.push(format!("{id}: {problem}"));
            }
            continue;
        }
        let (status, text, doc) =
            post(vignette["request"].to_string(), Some("application/json")).await;
        if status != 200 {
            failures.push(format!("{id}: status {status}: {text}"));
            continue;
        }
        for problem in check(&doc, &vignette["expect"]) {
            failures.push(format!("{id}: {problem}"));
        }
    }
    for case in data["errors"].as_array().into_iter().flatten() {
        count += 1;
        let id = case["id"].as_str().unwrap_or("?");
        let raw = case
            .get("raw")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| case["body"].to_string());
        let content_type = case
            .get("content_type")
            .and_then(Value::as_str)
            .unwrap_or("application/json");
        let path = case
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("/v1/triage");
        let (status, text, _) = post_to(path, raw, Some(content_type)).await;
        let status = u64::from(status);
        let range = case.get("status_range").map(|r| {
            let bound = |i: usize| r[i].as_u64().expect("status_range is [low, high]");
            (bound(0), bound(1))
        });
        match (case.get("status").and_then(Value::as_u64), range) {
            (Some(expected), _) if status != expected => {
                failures.push(format!("{id}: status {status}, expected {expected}"));
            }
            (_, Some((low, high))) if !(low..=high).contains(&status) => {
                failures.push(format!("{id}: status {status}, expected {low}..{high}"));
            }
            // An error case that names no status still expects a client error, never a 200.
            (None, None) if !(400..500).contains(&status) => {
                failures.push(format!("{id}: status {status}, expected a 4xx"));
            }
            _ => {}
        }
        if status >= 400 && !text.starts_with("application/problem+json") {
            failures.push(format!("{id}: not a problem document"));
        }
        if let Some(mention) = case.get("mentions").and_then(Value::as_str)
            && !text.contains(mention)
        {
            failures.push(format!("{id}: body does not name {mention}"));
        }
        if let Some(secret) = case.get("must_not_contain").and_then(Value::as_str)
            && text.contains(secret)
        {
            failures.push(format!("{id}: body echoes the submitted value"));
        }
    }
    (count, failures)
}

#[tokio::test]
async fn every_vignette_file_passes() {
    let mut files: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vignettes"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut all_failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let (count, failures) = run_file(file).await;
        assert!(count > 0, "{} holds no case", file.display());
        total += count;
        all_failures.extend(
            failures
                .into_iter()
                .map(|f| format!("{}: {f}", file.file_name().unwrap().to_string_lossy())),
        );
    }
    assert!(
        all_failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        all_failures.len(),
        all_failures.join("\n")
    );
}

/// The check itself: an error case that names no status fails on a `200` and passes on a `400`.
#[tokio::test]
async fn an_error_case_without_a_status_fails_on_a_200() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vignette-error-without-status");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cases.json");
    let valid = serde_json::json!({"region": "lumbar", "procedure": "intra_articular_injection",
        "percent_relief": 60, "relief_duration": {"value": 2, "unit": "wk"},
        "radicular_symptoms": false});
    let cases = serde_json::json!({"errors": [
        {"id": "answered", "body": valid},
        {"id": "refused", "raw": "{\"region\": "},
    ]});
    std::fs::write(&file, cases.to_string()).unwrap();
    let (count, failures) = run_file(&file).await;
    assert_eq!(count, 2);
    assert_eq!(failures, ["answered: status 200, expected a 4xx"]);
}

/// The response writer is byte for byte what serde_json writes, for every vignette request.
#[test]
fn the_response_writer_matches_serde_json() {
    use facet_triage::{engine, request, wire};
    let pathways = wire::Served::new(PATHWAYS.clone());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vignettes");
    let mut compared = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for vignette in data["vignettes"].as_array().into_iter().flatten() {
            let request = request::parse(vignette["request"].to_string().as_bytes()).unwrap();
            let (pathway, pieces) = pathways.answering(request.pathway.as_deref()).unwrap();
            let resolved = pathway.resolve(&request).unwrap();
            let response = engine::evaluate(pathway, &request, resolved, false);
            let mut written = Vec::new();
            engine::answer(pathway, &request, resolved, |decided| {
                wire::answer(pieces, decided, &mut written)
            });
            assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&response).unwrap(),
                "{}",
                vignette["id"]
            );
            compared += 1;
        }
    }
    assert!(compared > 400, "only {compared} vignettes compared");
}
