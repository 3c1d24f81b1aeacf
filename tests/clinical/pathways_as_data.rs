//! Clinical content is data: the real binary, given `--pathways DIR`, answers exactly as the files in
//! DIR say. A second pathway with other ids and thresholds is served as written; a copy of the
//! default pathway with edited thresholds is obeyed; a copy with a misspelt option id is refused.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_facet-triage");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("FACET_TRIAGE_PATHWAYS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pathways")
        .join(name)
        .display()
        .to_string()
}

/// `evaluate` with an optional `--pathways` directory; the parsed body on success.
fn evaluate(dir: Option<&str>, request: &Value) -> Value {
    let mut args = vec!["evaluate"];
    if let Some(dir) = dir {
        args.extend(["--pathways", dir]);
    }
    let out = run(&args, &request.to_string());
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    serde_json::from_str(&out.stdout).expect("stdout is JSON")
}

fn ids(response: &Value, list: &str) -> Vec<String> {
    response[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A fresh directory under cargo's per-target temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn default_pathway() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pathways/facet-pain.toml"))
        .unwrap()
}

/// Replaces the one occurrence of `from` (asserting it is unique).
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` occurs once");
    text.replacen(from, to, 1)
}

fn cervical_block(percent: f64, hours: f64) -> Value {
    json!({
        "region": "cervical", "procedure": "medial_branch_block", "percent_relief": percent,
        "relief_duration": { "value": hours, "unit": "h" }, "radicular_symptoms": false,
    })
}

#[test]
fn another_pathway_is_served_exactly_as_its_file_says() {
    let dir = fixture("other");
    let dir = Some(dir.as_str());

    // At the house threshold (at least 65%) and duration (at least 6 h): proceed, then rest.
    let proceed = evaluate(dir, &cervical_block(65.0, 6.0));
    assert_eq!(
        proceed["pathway"]["id"], "neck-recheck",
        "the only pathway loaded"
    );
    assert_eq!(proceed["pathway"]["version"], "2.4.0");
    assert_eq!(proceed["profile"], "house");
    assert_eq!(ids(&proceed, "options"), ["route-proceed", "route-rest"]);
    assert_eq!(
        proceed["options"][0]["rationale"],
        "65% for 6 hours meets at least 65% and at least 6 hours (House)."
    );
    assert_eq!(
        proceed["options"][0]["evidence"][0]["display"],
        "Tier 2, soft (House rules)"
    );
    assert_eq!(
        proceed["assessment"],
        json!({ "response": "positive", "summary": "65% for 6 hours: proceed (at least 65%, House)." })
    );
    assert_eq!(
        proceed["disclaimer"],
        "Second test fixture, not clinical guidance."
    );

    // Just below either threshold: recheck, and proceeding is avoided.
    for (percent, hours) in [(64.9, 6.0), (65.0, 5.9)] {
        let recheck = evaluate(dir, &cervical_block(percent, hours));
        assert_eq!(ids(&recheck, "options"), ["route-recheck", "route-rest"]);
        assert_eq!(ids(&recheck, "avoid"), ["route-proceed"]);
        assert_eq!(
            recheck["avoid"][0]["reason"],
            "Short of at least 65% for at least 6 hours."
        );
        assert_eq!(recheck["assessment"]["response"], "negative");
    }

    // The registry profile: more than 55% for cervical, at least 60% for thoracic.
    let registry = |region: &str, percent: f64| {
        let mut request = cervical_block(percent, 8.0);
        request["region"] = json!(region);
        request["profile"] = json!("registry");
        ids(&evaluate(dir, &request), "options")
    };
    assert_eq!(registry("cervical", 55.0), ["route-recheck", "route-rest"]);
    assert_eq!(registry("cervical", 55.5), ["route-proceed", "route-rest"]);
    assert_eq!(registry("thoracic", 59.9), ["route-recheck", "route-rest"]);
    assert_eq!(registry("thoracic", 60.0), ["route-proceed", "route-rest"]);

    // Red flags: refer first, proceeding suppressed, a critical alert.
    let mut flagged = cervical_block(90.0, 8.0);
    flagged["red_flags"] = json!(["suspected_fracture"]);
    let flagged = evaluate(dir, &flagged);
    assert_eq!(ids(&flagged, "options"), ["route-refer", "route-rest"]);
    assert_eq!(
        flagged["alerts"],
        json!([{ "severity": "critical", "code": "refer-now", "message": "Refer now (suspected fracture)." }])
    );
}

#[test]
fn another_pathway_knows_nothing_of_the_default_one() {
    let dir = fixture("other");
    // facet-pain's region, profile and pathway id are unknown to it: a 422 on each field, exit 2.
    let mut request = cervical_block(90.0, 8.0);
    request["region"] = json!("lumbar");
    request["profile"] = json!("asipp-2020");
    let out = run(&["evaluate", "--pathways", &dir], &request.to_string());
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    let problem: Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(problem["status"], 422);
    assert_eq!(
        problem["errors"],
        json!([
            { "field": "/profile", "message": "unknown profile; this pathway defines: house, registry" },
            { "field": "/region", "message": "is not served by this pathway, which covers: cervical, thoracic" },
        ])
    );
    let mut request = cervical_block(90.0, 8.0);
    request["pathway"] = json!("facet-pain");
    let out = run(&["evaluate", "--pathways", &dir], &request.to_string());
    assert_eq!(out.code, 2);
    let problem: Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(
        problem["errors"],
        json!([{ "field": "/pathway", "message": "unknown pathway; loaded pathways: neck-recheck" }])
    );
}

#[test]
fn the_fixture_directories_validate() {
    for (name, id) in [("other", "neck-recheck"), ("capabilities", "capabilities")] {
        let out = run(&["validate", &fixture(name)], "");
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(out.stdout.starts_with(&format!("{id} ")), "{}", out.stdout);
    }
    let out = run(
        &["validate", concat!(env!("CARGO_MANIFEST_DIR"), "/pathways")],
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("facet-pain "), "{}", out.stdout);
}

#[test]
fn edited_thresholds_in_a_copy_of_the_default_pathway_are_obeyed() {
    let original = default_pathway();
    let edited = replace_once(
        &original,
        r#"{ profiles = ["asipp-2020", "bmj-2025"], at_least = 80, source = "asipp-2020""#,
        r#"{ profiles = ["asipp-2020", "bmj-2025"], at_least = 70, source = "asipp-2020""#,
    );
    let edited = replace_once(
        &edited,
        r#"{ profiles = ["asipp-2020", "bmj-2025"], at_least = { value = 26, unit = "wk" }"#,
        r#"{ profiles = ["asipp-2020", "bmj-2025"], at_least = { value = 20, unit = "wk" }"#,
    );
    let dir = temp_dir("edited-thresholds");
    std::fs::write(dir.join("facet-pain.toml"), edited).unwrap();
    let dir = dir.display().to_string();

    // A first lumbar medial branch block with 75% relief: partial at 80%, positive at 70%.
    let block = json!({
        "region": "lumbar", "procedure": "medial_branch_block", "percent_relief": 75,
        "relief_duration": { "value": 3, "unit": "h" }, "radicular_symptoms": false,
    });
    let embedded = evaluate(None, &block);
    let copy = evaluate(Some(&dir), &block);
    assert_eq!(embedded["assessment"]["response"], "partial");
    assert_eq!(
        ids(&embedded, "options")[0],
        "diagnostic-medial-branch-block"
    );
    assert_eq!(copy["assessment"]["response"], "positive");
    assert!(
        copy["assessment"]["summary"]
            .as_str()
            .unwrap()
            .contains("at least 70%"),
        "{}",
        copy["assessment"]["summary"]
    );
    assert_eq!(ids(&copy, "options")[0], "confirmatory-medial-branch-block");
    assert_ne!(embedded["pathway"]["digest"], copy["pathway"]["digest"]);
    // The other profiles were not edited and still answer alike.
    let mut cms = block.clone();
    cms["profile"] = json!("cms-lcd");
    assert_eq!(
        evaluate(None, &cms)["options"],
        evaluate(Some(&dir), &cms)["options"]
    );

    // Radiofrequency ablation with 60% relief for 22 weeks: repeat needs 26 weeks, now 20.
    let rfa = json!({
        "region": "lumbar", "procedure": "radiofrequency_ablation", "percent_relief": 60,
        "relief_duration": { "value": 22, "unit": "wk" }, "radicular_symptoms": false,
    });
    let embedded = evaluate(None, &rfa);
    let copy = evaluate(Some(&dir), &rfa);
    assert!(ids(&embedded, "avoid").contains(&"repeat-radiofrequency-ablation".to_owned()));
    assert_ne!(
        ids(&embedded, "options")[0],
        "repeat-radiofrequency-ablation"
    );
    assert_eq!(ids(&copy, "options")[0], "repeat-radiofrequency-ablation");
    assert!(!ids(&copy, "avoid").contains(&"repeat-radiofrequency-ablation".to_owned()));
}

#[test]
fn a_copy_with_a_misspelt_option_id_is_refused_with_its_position() {
    let original = default_pathway();
    let use_of_id = r#"{ option = "physical-therapy", priority = 900,"#;
    let misspelt = replace_once(
        &original,
        use_of_id,
        r#"{ option = "physical-therapie", priority = 900,"#,
    );
    let offset = original.find(use_of_id).unwrap() + r#"{ option = "#.len();
    let line = original[..offset].matches('\n').count() + 1;
    let column = offset - original[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    let dir = temp_dir("misspelt-option");
    std::fs::write(dir.join("facet-pain.toml"), misspelt).unwrap();
    let dir = dir.display().to_string();

    let validate = run(&["validate", &dir], "");
    assert_eq!(validate.code, 1);
    assert!(validate.stdout.is_empty(), "{}", validate.stdout);
    let expected = format!("facet-pain.toml:{line}:{column}: unknown option `physical-therapie`");
    let lines: Vec<&str> = validate.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", validate.stderr);
    assert!(lines[0].ends_with(&expected), "{} vs {expected}", lines[0]);

    // The server-side commands refuse to start on it too.
    let request = cervical_block(90.0, 8.0).to_string();
    let evaluate = run(&["evaluate", "--pathways", &dir], &request);
    assert_eq!(evaluate.code, 1);
    assert!(evaluate.stderr.contains(&expected), "{}", evaluate.stderr);
}

#[test]
fn compare_prints_every_profile_of_the_pathway_it_loads() {
    let dir = fixture("other");
    let out = run(
        &["compare", "--pathways", &dir],
        &cervical_block(65.0, 6.0).to_string(),
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let comparison: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(comparison["pathway"]["id"], "neck-recheck");
    let profiles: Vec<&str> = comparison["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["profile"].as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["house", "registry"]);
    for entry in comparison["profiles"].as_array().unwrap() {
        let mut request = cervical_block(65.0, 6.0);
        request["profile"] = entry["profile"].clone();
        let single = evaluate(Some(&dir), &request);
        assert_eq!(entry["options"], json!(ids(&single, "options")));
        assert_eq!(entry["assessment"], single["assessment"]);
    }

    let mut with_profile = cervical_block(65.0, 6.0);
    with_profile["profile"] = json!("house");
    let refused = run(&["compare", "--pathways", &dir], &with_profile.to_string());
    assert_eq!(refused.code, 2);
    let problem: Value = serde_json::from_str(&refused.stderr).expect("stderr is a problem");
    assert_eq!(problem["errors"][0]["field"], "/profile");
}
