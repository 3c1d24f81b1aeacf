//! The clinical content of `pathways/facet-pain.toml` as contract 4.2 and 4.3 ask for it: evidence
//! direction, recommendations against shown under every profile, and codes per region.
//!
//! Most checks are data-driven: the test reads the pathway file itself and compares a grid of answers
//! (every profile the file defines, every region and procedure, several reliefs and flags) with what
//! the file says. The rest pin contract facts that the file must hold (code lists, add-on codes, the
//! cervical epidural route, the options of 4.3); those fixtures name ids and codes, so they live here.

use crate::embedded::pathways;
use facet_triage::triage::triage;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const CPT: &str = "http://www.ama-assn.org/go/cpt";

/// The pathway file as plain TOML, read independently of the code under test.
fn file() -> &'static toml::Table {
    static FILE: OnceLock<toml::Table> = OnceLock::new();
    FILE.get_or_init(|| {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pathways/facet-pain.toml"),
        )
        .unwrap();
        text.parse().expect("the pathway file is TOML")
    })
}

fn table_list<'a>(key: &str) -> &'a [toml::Value] {
    file()[key].as_array().unwrap()
}

fn strings(value: Option<&toml::Value>) -> Option<Vec<String>> {
    value.map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    })
}

fn pathway_regions() -> Vec<String> {
    strings(file()["pathway"].get("regions")).unwrap()
}

/// One option of the file, with what it says per region.
struct FileOption {
    id: String,
    regions: Vec<String>,
    /// Per region: `(code, add_on)` in file order.
    codes: BTreeMap<String, Vec<(String, bool)>>,
    /// Per region: the displays of the `against` entries, with their sources.
    against: BTreeMap<String, Vec<(String, String)>>,
}

fn applies(entry: &toml::Value, region: &str, default: &[String]) -> bool {
    strings(entry.get("regions"))
        .unwrap_or_else(|| default.to_vec())
        .iter()
        .any(|r| r == region)
}

fn file_options() -> &'static BTreeMap<String, FileOption> {
    static OPTIONS: OnceLock<BTreeMap<String, FileOption>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let all_regions = pathway_regions();
        let mut options = BTreeMap::new();
        for option in table_list("options") {
            let id = option["id"].as_str().unwrap().to_owned();
            let regions = strings(option.get("regions")).unwrap_or_else(|| all_regions.clone());
            let mut codes = BTreeMap::new();
            let mut against = BTreeMap::new();
            for region in &regions {
                let list: Vec<(String, bool)> = option
                    .get("codes")
                    .and_then(toml::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|code| applies(code, region, &all_regions))
                    .map(|code| {
                        let add_on = code
                            .get("add_on")
                            .and_then(toml::Value::as_bool)
                            .unwrap_or(false);
                        (code["code"].as_str().unwrap().to_owned(), add_on)
                    })
                    .collect();
                codes.insert(region.clone(), list);
                let entries: Vec<(String, String)> = option
                    .get("evidence")
                    .and_then(toml::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.get("direction").and_then(toml::Value::as_str) == Some("against"))
                    .filter(|e| applies(e, region, &regions))
                    .map(|e| {
                        (
                            e["source"].as_str().unwrap().to_owned(),
                            e["display"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                against.insert(region.clone(), entries);
            }
            options.insert(
                id.clone(),
                FileOption {
                    id,
                    regions,
                    codes,
                    against,
                },
            );
        }
        // `evidence_from`: the borrowed option's `against` entries.
        for option in table_list("options") {
            if let Some(from) = option.get("evidence_from").and_then(toml::Value::as_str) {
                let borrowed = options[from].against.clone();
                options
                    .get_mut(option["id"].as_str().unwrap())
                    .unwrap()
                    .against = borrowed;
            }
        }
        options
    })
}

fn profiles() -> Vec<String> {
    table_list("profiles")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn answer(request: &Value) -> Value {
    let body = request.to_string();
    let fast = triage(pathways(), body.as_bytes(), false)
        .unwrap_or_else(|p| panic!("{request}: {p:?}"))
        .body;
    let fast: Value = serde_json::from_slice(&fast).unwrap();
    // The serde path (used with `?trace=true`) says the same, trace aside.
    let mut traced: Value =
        serde_json::from_slice(&triage(pathways(), body.as_bytes(), true).unwrap().body).unwrap();
    traced.as_object_mut().unwrap().remove("trace");
    assert_eq!(fast, traced, "{request}");
    fast
}

/// Requests across profiles, regions, procedures, reliefs and flags.
fn grid() -> Vec<Value> {
    let mut requests = Vec::new();
    let flags = [
        json!({}),
        json!({ "radicular_symptoms": true }),
        json!({ "spinal_instability": true, "psychosocial_risk": true }),
        json!({ "sacroiliac_signs": true, "rfa_contraindicated": true }),
        json!({ "recent_imaging": true, "pain_duration_months": 2, "conservative_care_weeks": 0 }),
    ];
    for profile in profiles() {
        for region in pathway_regions() {
            for (procedure, duration) in [
                (
                    "intra_articular_injection",
                    json!({ "value": 14, "unit": "wk" }),
                ),
                ("medial_branch_block", json!({ "value": 6, "unit": "h" })),
                (
                    "radiofrequency_ablation",
                    json!({ "value": 8, "unit": "mo" }),
                ),
            ] {
                for relief in [20, 60, 90] {
                    for extra in &flags {
                        if extra.get("sacroiliac_signs").is_some() && region != "lumbar" {
                            continue;
                        }
                        let mut request = json!({
                            "profile": profile,
                            "region": region,
                            "procedure": procedure,
                            "percent_relief": relief,
                            "relief_duration": duration,
                            "radicular_symptoms": false,
                        });
                        for (key, value) in extra.as_object().unwrap() {
                            request[key] = value.clone();
                        }
                        requests.push(request);
                    }
                }
            }
        }
    }
    requests
}

fn directions(evidence: &Value) -> Vec<&str> {
    evidence
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["direction"].as_str().unwrap_or("missing"))
        .collect()
}

#[test]
fn every_answer_shows_direction_against_evidence_and_the_region_codes_the_file_gives() {
    let options = file_options();
    let mut offered_with_against = BTreeSet::new();
    let requests = grid();
    assert!(requests.len() >= 300, "{}", requests.len());
    for request in &requests {
        let region = request["region"].as_str().unwrap();
        let response = answer(request);
        for option in response["options"].as_array().unwrap() {
            let id = option["id"].as_str().unwrap();
            let file = &options[id];
            let found = directions(&option["evidence"]);
            assert!(
                found.iter().all(|d| *d == "for" || *d == "against"),
                "{id}: {found:?}"
            );
            assert_eq!(found[0], "for", "{id}: the lead entry supports the option");
            let first_against = found.iter().position(|d| *d == "against");
            if let Some(first) = first_against {
                assert!(
                    found[first..].iter().all(|d| *d == "against"),
                    "{id}: `for` entries first, then `against`: {found:?}"
                );
            }
            // Every recommendation against the option, whatever the profile.
            let shown: Vec<(String, String)> = option["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["direction"] == "against")
                .map(|e| {
                    (
                        e["source"].as_str().unwrap().to_owned(),
                        e["display"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(shown, file.against[region], "{id} in {request}");
            if !shown.is_empty() {
                offered_with_against.insert(id.to_owned());
            }
            // Codes: exactly the file's codes for this region, add-ons marked.
            let codes: Vec<(String, bool)> = option["codes"]
                .as_array()
                .unwrap_or_else(|| panic!("{id} has `codes`"))
                .iter()
                .map(|c| {
                    assert_eq!(c["system"], CPT, "{id}");
                    assert!(
                        c.get("add_on").is_none() || c["add_on"] == true,
                        "{id}: add_on is present only when true"
                    );
                    (c["code"].as_str().unwrap().to_owned(), c["add_on"] == true)
                })
                .collect();
            assert_eq!(codes, file.codes[region], "{id} in {region}");
        }
        for avoid in response["avoid"].as_array().unwrap() {
            let id = avoid["id"].as_str().unwrap();
            let cited: Vec<&str> = avoid["citations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            let evidence = avoid["evidence"]
                .as_array()
                .expect("avoid carries evidence");
            let expected: Vec<&(String, String)> = options[id]
                .against
                .get(region)
                .unwrap_or_else(|| {
                    panic!("{id} is avoided in {region}, a region it does not serve")
                })
                .iter()
                .filter(|(source, _)| cited.contains(&source.as_str()))
                .collect();
            assert_eq!(evidence.len(), expected.len(), "{id}: {avoid}");
            for (entry, (source, display)) in evidence.iter().zip(expected) {
                assert_eq!(entry["direction"], "against", "{id}");
                assert_eq!(entry["source"], source.as_str(), "{id}");
                assert_eq!(entry["display"], display.as_str(), "{id}");
            }
        }
    }
    // The grid reaches the options BMJ 2025 recommends against.
    for id in [
        "radiofrequency-ablation",
        "diagnostic-medial-branch-block",
        "confirmatory-medial-branch-block",
        "therapeutic-medial-branch-block",
        "epidural-steroid-injection",
    ] {
        assert!(offered_with_against.contains(id), "{id} was never offered");
    }
}

#[test]
fn bmj_2025_recommends_against_the_procedures_it_covers_in_every_region() {
    let options = file_options();
    let covered = [
        ("diagnostic-medial-branch-block", true),
        ("confirmatory-medial-branch-block", true),
        ("radiofrequency-ablation", false),
        ("repeat-radiofrequency-ablation", false),
        ("therapeutic-medial-branch-block", false),
        ("repeat-intra-articular-injection", false),
        ("epidural-steroid-injection", false),
        ("sacroiliac-joint-injection", false),
        ("trigger-point-injection", false),
    ];
    let pathway = pathways().get(None).unwrap();
    for (id, extrapolated) in covered {
        let file = &options[id];
        let option = pathway.options.iter().find(|o| o.id == *id).unwrap();
        for region in &file.regions {
            let slot = pathway
                .regions
                .iter()
                .position(|r| r.as_str() == region)
                .unwrap();
            let bmj: Vec<_> = option.evidence[slot]
                .iter()
                .filter(|e| e.source == "bmj-2025")
                .collect();
            assert_eq!(bmj.len(), 1, "{id} in {region}");
            let entry = serde_json::to_value(bmj[0]).unwrap();
            assert_eq!(entry["direction"], "against", "{id}");
            assert_eq!(entry["strength"], "strong", "{id}");
            assert_eq!(
                entry.get("extrapolated") == Some(&json!(true)),
                extrapolated,
                "{id}: only the diagnostic blocks are marked extrapolated"
            );
        }
    }
}

#[test]
fn codes_follow_contract_4_3() {
    let options = file_options();
    let has = |id: &str, region: &str, code: &str, add_on: bool| {
        options[id].codes[region].contains(&(code.to_owned(), add_on))
    };
    for id in [
        "diagnostic-medial-branch-block",
        "confirmatory-medial-branch-block",
        "therapeutic-medial-branch-block",
        "repeat-intra-articular-injection",
    ] {
        for (primary, add_ons) in [("64493", ["64494", "64495"]), ("64490", ["64491", "64492"])] {
            let region = if primary == "64493" {
                "lumbar"
            } else {
                "cervical"
            };
            assert!(has(id, region, primary, false), "{id} {primary}");
            for code in add_ons {
                assert!(has(id, region, code, true), "{id} {code}");
            }
        }
        assert!(has(id, "thoracic", "64490", false), "{id}");
    }
    for id in ["radiofrequency-ablation", "repeat-radiofrequency-ablation"] {
        assert!(has(id, "lumbar", "64635", false) && has(id, "lumbar", "64636", true));
        for region in ["cervical", "thoracic"] {
            assert!(has(id, region, "64633", false) && has(id, region, "64634", true));
        }
    }
    // A cervical or thoracic epidural is interlaminar only; no transforaminal code outside lumbar.
    for region in ["cervical", "thoracic"] {
        assert_eq!(
            options["epidural-steroid-injection"].codes[region],
            [("62321".to_owned(), false)],
            "{region}"
        );
    }
    for option in options.values() {
        for (region, codes) in &option.codes {
            for (code, _) in codes {
                assert!(
                    !["64479", "64480"].contains(&code.as_str()),
                    "{}: cervical or thoracic transforaminal code {code} in {region}",
                    option.id
                );
            }
        }
    }
    for region in pathway_regions() {
        assert!(has("trigger-point-injection", &region, "20552", false));
        assert!(has("trigger-point-injection", &region, "20553", false));
    }
    assert!(has("sacroiliac-joint-injection", "lumbar", "27096", false));
    assert!(has("sacroiliac-joint-injection", "lumbar", "64451", false));
    assert!(has(
        "basivertebral-nerve-ablation",
        "lumbar",
        "64628",
        false
    ));
    assert!(has("basivertebral-nerve-ablation", "lumbar", "64629", true));
    assert_eq!(options["basivertebral-nerve-ablation"].regions, ["lumbar"]);
    for region in ["lumbar", "thoracic"] {
        assert!(has("spinal-cord-stimulation", region, "63650", false));
    }
    for (region, mri) in [
        ("lumbar", "72148"),
        ("cervical", "72141"),
        ("thoracic", "72146"),
    ] {
        assert!(has("advanced-imaging", region, mri, false), "{region}");
        assert!(!options["spinal-fusion"].codes[region].is_empty());
        assert!(!options["physical-therapy"].codes[region].is_empty());
        assert!(!options["psychological-therapy"].codes[region].is_empty());
    }
    // Each code entry names one procedure: no code twice for one option and region.
    for option in options.values() {
        for (region, codes) in &option.codes {
            let unique: BTreeSet<&String> = codes.iter().map(|(c, _)| c).collect();
            assert_eq!(unique.len(), codes.len(), "{} in {region}", option.id);
            if let Some((first, add_on)) = codes.first() {
                assert!(!add_on, "{}: {first} is an add-on listed first", option.id);
            }
        }
    }
}

#[test]
fn the_catalogue_holds_every_option_of_contract_4_3_and_procedures_carry_codes() {
    let procedures = [
        "diagnostic-medial-branch-block",
        "confirmatory-medial-branch-block",
        "radiofrequency-ablation",
        "repeat-radiofrequency-ablation",
        "therapeutic-medial-branch-block",
        "repeat-intra-articular-injection",
        "epidural-steroid-injection",
        "sacroiliac-joint-injection",
        "trigger-point-injection",
        "spinal-cord-stimulation",
        "spinal-fusion",
        "basivertebral-nerve-ablation",
    ];
    let others = [
        "urgent-evaluation",
        "advanced-imaging",
        "physical-therapy",
        "psychological-therapy",
        "medication-management",
        "surgical-consultation",
        "complementary-therapy",
        "lifestyle-modification",
    ];
    let options = file_options();
    for id in procedures.iter().chain(&others) {
        assert!(options.contains_key(*id), "{id} is in the catalogue");
    }
    for id in procedures {
        for region in &options[id].regions {
            assert!(
                !options[id].codes[region].is_empty(),
                "{id} has codes for {region}"
            );
        }
    }
}
