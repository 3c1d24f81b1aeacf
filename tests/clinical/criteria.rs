//! Guideline and coverage criteria reported on options, which the vignette format cannot express:
//! the `cms-lcd` coverage criteria (R7, R9, R15), RFA's unmet criteria under R6, and the spinal cord
//! stimulation criteria under R11.

use crate::embedded::pathways;
use facet_triage::triage::triage;
use serde_json::{Value, json};

fn evaluate(request: Value) -> Value {
    let outcome = triage(pathways(), request.to_string().as_bytes(), false).expect("valid request");
    serde_json::from_slice(&outcome.body).unwrap()
}

fn criterion(response: &Value, option: &str, criterion: &str) -> String {
    let option = response["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == option)
        .unwrap_or_else(|| panic!("{option} is not offered"));
    let found = option["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == criterion)
        .unwrap_or_else(|| panic!("{criterion} is not reported on {}", option["id"]));
    assert!(!found["text"].as_str().unwrap().is_empty());
    found["status"].as_str().unwrap().to_owned()
}

fn second_block(extra: Value) -> Value {
    let mut request = json!({
        "region": "lumbar", "procedure": "medial_branch_block", "radicular_symptoms": false,
        "block_number": 2, "anesthetic": "bupivacaine", "percent_relief": 90,
        "relief_duration": {"value": 5, "unit": "h"}, "profile": "cms-lcd",
        "pain_duration_months": 6, "conservative_care_weeks": 8
    });
    request
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    request
}

#[test]
fn two_positive_concordant_blocks_meet_the_coverage_criteria() {
    let response = evaluate(second_block(json!({
        "previous_block": {"percent_relief": 85, "relief_duration": {"value": 2, "unit": "h"}, "anesthetic": "lidocaine"}
    })));
    for id in [
        "cms-two-positive-blocks",
        "cms-concordant-blocks",
        "cms-no-untreated-radiculopathy",
        "cms-pain-duration",
        "cms-failed-conservative-care",
        "cms-image-guidance",
    ] {
        assert_eq!(
            criterion(&response, "radiofrequency-ablation", id),
            "met",
            "{id}"
        );
    }
}

#[test]
fn a_second_block_without_the_first_reads_unknown() {
    let response = evaluate(second_block(json!({})));
    assert_eq!(response["options"][0]["id"], "radiofrequency-ablation");
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "cms-two-positive-blocks"
        ),
        "unknown"
    );
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "cms-concordant-blocks"
        ),
        "unknown"
    );
}

#[test]
fn discordant_blocks_leave_concordance_unmet() {
    let response = evaluate(second_block(json!({
        "relief_duration": {"value": 1, "unit": "h"},
        "previous_block": {"percent_relief": 85, "relief_duration": {"value": 2, "unit": "h"}, "anesthetic": "lidocaine"}
    })));
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "cms-concordant-blocks"
        ),
        "unmet"
    );
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "cms-two-positive-blocks"
        ),
        "met"
    );
}

#[test]
fn ultrasound_guidance_is_not_covered() {
    let response = evaluate(second_block(json!({"guidance": "ultrasound"})));
    assert_eq!(
        criterion(
            &response,
            "diagnostic-medial-branch-block",
            "cms-image-guidance"
        ),
        "unmet"
    );
}

#[test]
fn missing_context_reads_unknown_and_profiles_without_coverage_rules_omit_it() {
    let response = evaluate(json!({
        "region": "lumbar", "procedure": "medial_branch_block", "radicular_symptoms": false,
        "block_number": 2, "percent_relief": 90, "relief_duration": {"value": 5, "unit": "h"}, "profile": "cms-lcd"
    }));
    assert_eq!(
        criterion(&response, "radiofrequency-ablation", "cms-pain-duration"),
        "unknown"
    );
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "cms-failed-conservative-care"
        ),
        "unknown"
    );
    let default_profile = evaluate(json!({
        "region": "lumbar", "procedure": "medial_branch_block", "radicular_symptoms": false,
        "block_number": 2, "percent_relief": 90, "relief_duration": {"value": 5, "unit": "h"}
    }));
    let rfa = &default_profile["options"][0];
    assert!(
        rfa["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["id"].as_str().unwrap().starts_with("cms-"))
    );
}

#[test]
fn rfa_after_one_positive_block_under_a_two_block_profile_lists_its_unmet_criteria() {
    let response = evaluate(json!({
        "region": "lumbar", "procedure": "medial_branch_block", "radicular_symptoms": false,
        "percent_relief": 90, "relief_duration": {"value": 5, "unit": "h"}
    }));
    assert_eq!(
        criterion(
            &response,
            "radiofrequency-ablation",
            "positive-blocks-before-rfa"
        ),
        "unmet"
    );
}

#[test]
fn spinal_cord_stimulation_carries_its_trial_and_psychological_criteria() {
    let response = evaluate(json!({
        "region": "lumbar", "procedure": "radiofrequency_ablation", "radicular_symptoms": false,
        "percent_relief": 20, "relief_duration": {"value": 1, "unit": "mo"}
    }));
    assert_eq!(
        criterion(&response, "spinal-cord-stimulation", "scs-successful-trial"),
        "unknown"
    );
    assert_eq!(
        criterion(
            &response,
            "spinal-cord-stimulation",
            "scs-psychological-evaluation"
        ),
        "unknown"
    );
}

#[test]
fn criteria_texts_name_the_profile_thresholds() {
    let asra = evaluate(json!({
        "region": "cervical", "procedure": "medial_branch_block", "radicular_symptoms": false,
        "percent_relief": 60, "relief_duration": {"value": 5, "unit": "h"}, "profile": "asra-2020"
    }));
    let rfa = asra["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "radiofrequency-ablation")
        .unwrap();
    assert_eq!(
        rfa["criteria"][0]["text"],
        "1 positive diagnostic medial branch block(s), each with more than 50% relief of the index pain"
    );
}
