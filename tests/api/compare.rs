//! `POST /v1/triage/compare`: every profile's entry is what `POST /v1/triage` answers with that
//! profile, for every vignette request; disagreements and `first_option_differs` follow from the
//! entries; errors as for the triage route.

use super::helpers::*;
use serde_json::{Value, json};
use std::path::Path;

async fn compare(app: &axum::Router, body: &Value) -> Answer {
    post(
        app,
        "/v1/triage/compare",
        Some("application/json"),
        body.to_string(),
    )
    .await
}

/// Every vignette request of the fixture files, without its `profile`.
fn vignette_requests() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vignettes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut requests = Vec::new();
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for vignette in doc["vignettes"].as_array().into_iter().flatten() {
            let mut request = vignette["request"].clone();
            if let Some(object) = request.as_object_mut() {
                object.remove("profile");
                requests.push((vignette["id"].as_str().unwrap().to_owned(), request));
            }
        }
    }
    requests
}

/// The embedded pathway's alert for profiles that disagree (its `disagreement_alert`).
const DISAGREEMENT_ALERT: &str = "guidelines-disagree";

fn ids(list: &Value, key: Option<&str>) -> Vec<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| key.map_or(item.clone(), |key| item[key].clone()))
        .collect()
}

#[tokio::test]
async fn each_profile_entry_is_the_single_answer_under_that_profile() {
    let app = app();
    let listed = get(&app, "/v1/pathways").await.json();
    let profiles = ids(&listed["pathways"][0]["profiles"], Some("id"));
    assert!(profiles.len() >= 2, "{listed}");
    let catalogue = get(&app, "/v1/pathways/facet-pain").await.json();
    let requests = vignette_requests();
    let (mut compared, mut disputes_named) = (0, 0);
    for (id, request) in requests {
        let plain = triage(&app, request.to_string()).await;
        if plain.status != 200 {
            continue;
        }
        let answer = compare(&app, &request).await;
        assert_eq!(answer.status, 200, "{id}: {}", answer.text());
        assert_eq!(answer.content_type(), "application/json");
        let comparison = answer.json();
        assert_eq!(comparison["pathway"], plain.json()["pathway"], "{id}");
        let entries = comparison["profiles"].as_array().unwrap();
        assert_eq!(
            ids(&comparison["profiles"], Some("profile")),
            profiles,
            "{id}"
        );

        let mut singles = Vec::new();
        for entry in entries {
            let mut with_profile = request.clone();
            with_profile["profile"] = entry["profile"].clone();
            let single = triage(&app, with_profile.to_string()).await.json();
            assert_eq!(entry["assessment"], single["assessment"], "{id}");
            assert_eq!(
                ids(&entry["options"], None),
                ids(&single["options"], Some("id")),
                "{id}"
            );
            assert_eq!(
                ids(&entry["avoid"], None),
                ids(&single["avoid"], Some("id")),
                "{id}"
            );
            assert_eq!(
                ids(&entry["alerts"], None),
                ids(&single["alerts"], Some("code")),
                "{id}"
            );
            singles.push(single);
        }

        // Disagreements, recomputed from the single answers, in the catalogue's order.
        let mut expected = Vec::new();
        for option in catalogue["options"].as_array().unwrap() {
            let option = &option["id"];
            let by = |list: &str| -> Vec<Value> {
                singles
                    .iter()
                    .filter(|single| ids(&single[list], Some("id")).contains(option))
                    .map(|single| single["profile"].clone())
                    .collect()
            };
            let (offered_by, avoided_by) = (by("options"), by("avoid"));
            if !offered_by.is_empty() && !avoided_by.is_empty() {
                expected.push(
                    json!({"option": option, "offered_by": offered_by, "avoided_by": avoided_by}),
                );
            }
        }
        // A single answer raises the disagreement alert exactly when its profile offers or avoids
        // a disputed option, and its message names each such option with the profiles' labels.
        let label = |profile: &Value| {
            let listed = listed["pathways"][0]["profiles"].as_array().unwrap();
            let entry = listed.iter().find(|p| p["id"] == *profile).unwrap();
            entry["label"].as_str().unwrap().to_owned()
        };
        let labels = |profiles: &Value| -> String {
            let names: Vec<String> = profiles.as_array().unwrap().iter().map(label).collect();
            names.join(", ")
        };
        for single in &singles {
            let parts: Vec<String> = expected
                .iter()
                .filter(|d| {
                    let named =
                        |list: &str| d[list].as_array().unwrap().contains(&single["profile"]);
                    named("offered_by") || named("avoided_by")
                })
                .map(|d| {
                    let option = (catalogue["options"].as_array().unwrap().iter())
                        .find(|o| o["id"] == d["option"])
                        .unwrap();
                    format!(
                        "{}: offered by {}; avoided by {}",
                        option["title"].as_str().unwrap(),
                        labels(&d["offered_by"]),
                        labels(&d["avoided_by"])
                    )
                })
                .collect();
            let alert = (single["alerts"].as_array().unwrap().iter())
                .find(|alert| alert["code"] == DISAGREEMENT_ALERT);
            match alert {
                None => assert!(parts.is_empty(), "{id}: {parts:?}"),
                Some(alert) => {
                    let message = alert["message"].as_str().unwrap();
                    let named = format!(" {}.", parts.join(". "));
                    assert!(
                        !parts.is_empty() && message.ends_with(&named),
                        "{id}: {message}"
                    );
                    disputes_named += 1;
                }
            }
        }
        assert_eq!(comparison["disagreements"], Value::Array(expected), "{id}");
        let firsts: Vec<&Value> = singles.iter().map(|s| &s["options"][0]["id"]).collect();
        let differs = firsts.windows(2).any(|pair| pair[0] != pair[1]);
        assert_eq!(comparison["first_option_differs"], differs, "{id}");

        let again = compare(&app, &request).await;
        assert_eq!(again.body, answer.body, "{id}: byte-identical");
        compared += 1;
    }
    assert!(
        compared >= 100,
        "only {compared} vignette requests compared"
    );
    assert!(disputes_named > 0, "no single answer named a disagreement");
}

#[tokio::test]
async fn a_profile_in_the_body_is_refused_at_its_pointer() {
    let app = app();
    let mut request = valid_request();
    request["profile"] = json!("asipp-2020");
    let answer = compare(&app, &request).await;
    answer.problem(422);
    assert_eq!(answer.fields(), ["/profile"]);

    // With another bad field, both are named.
    request["percent_relief"] = json!(101);
    let answer = compare(&app, &request).await;
    answer.problem(422);
    let fields = answer.fields();
    assert!(fields.contains(&"/profile".to_owned()), "{fields:?}");
    assert!(fields.contains(&"/percent_relief".to_owned()), "{fields:?}");
}

#[tokio::test]
async fn compare_refuses_bad_input_like_the_triage_route() {
    let app = app();
    let uri = "/v1/triage/compare";
    post(&app, uri, Some("application/json"), "{\"region\":")
        .await
        .problem(400);
    post(&app, uri, Some("text/plain"), valid_request().to_string())
        .await
        .problem(415);
    post(&app, uri, Some("application/json"), vec![b' '; 70 * 1024])
        .await
        .problem(413);
    let missing = compare(&app, &json!({"region": "lumbar"})).await;
    missing.problem(422);
    assert!(missing.fields().contains(&"/procedure".to_owned()));
    let unknown = compare(&app, &{
        let mut request = valid_request();
        request["percent_releif"] = json!(1);
        request
    })
    .await;
    unknown.problem(422);
    assert_eq!(unknown.fields(), ["/percent_releif"]);
    let mut other = valid_request();
    other["pathway"] = json!("no-such-pathway");
    let answer = compare(&app, &other).await;
    answer.problem(422);
    assert_eq!(answer.fields(), ["/pathway"]);
    let get_it = get(&app, uri).await;
    assert_eq!(get_it.status, 405);
}
