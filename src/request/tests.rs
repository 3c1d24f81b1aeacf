//! Unit tests of request parsing and validation.

use super::*;

fn invalid(body: &str) -> Vec<FieldError> {
    match parse(body.as_bytes()) {
        Err(RequestError::Invalid(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn lookup_agrees_with_the_names<const N: usize>(fields: &Fields<N>) {
    for (index, name) in fields.names.iter().enumerate() {
        assert_eq!((fields.position)(name), Some(index), "{name}");
        let mut longer = name.to_string();
        longer.push('s');
        for other in [
            &name[1..],
            &name[..name.len() - 1],
            &longer,
            &name.to_uppercase(),
        ] {
            assert_eq!((fields.position)(other), None, "{other}");
        }
    }
    assert_eq!((fields.position)(""), None);
}

#[test]
fn each_field_list_finds_exactly_its_names() {
    lookup_agrees_with_the_names(&REQUEST_FIELDS);
    lookup_agrees_with_the_names(&DURATION_FIELDS);
    lookup_agrees_with_the_names(&PREVIOUS_BLOCK_FIELDS);
    assert_eq!(index_of(&["a", "ab", "b"], "ab"), 1);
}

fn fields(body: &str) -> Vec<String> {
    invalid(body).into_iter().map(|e| e.field).collect()
}

const MINIMAL: &str = r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":60,
    "relief_duration":{"value":2,"unit":"wk"},"radicular_symptoms":false"#;

fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}}}")
}

#[test]
fn applies_the_contract_defaults() {
    let request = parse(with("").as_bytes()).unwrap();
    assert_eq!(request.block_number, 1);
    assert_eq!(request.guidance, Guidance::Fluoroscopy);
    assert!(!request.relief_ongoing && !request.recent_imaging && request.red_flags.is_empty());
    assert_eq!(
        request.relief_duration,
        Duration {
            value: 2.0,
            unit: DurationUnit::Week
        }
    );
}

#[test]
fn names_every_offending_field_by_pointer() {
    let got = fields(
        r#"{"region":"lumbr","procedure":"intra_articular_injection","percent_relief":-5,
        "relief_duration":{"value":1,"unit":"years"},"percent_releif":3,"red_flags":["cauda_equina",7]}"#,
    );
    assert_eq!(
        got,
        [
            "/percent_releif",
            "/region",
            "/percent_relief",
            "/relief_duration/unit",
            "/radicular_symptoms",
            "/red_flags/1"
        ]
    );
}

#[test]
fn never_echoes_submitted_values() {
    let errors = invalid(
        r#"{"region":"lumbar-73.137","procedure":41.29,"percent_relief":173.137,
        "relief_duration":{"value":-41.29,"unit":"wk"},"radicular_symptoms":"73.137"}"#,
    );
    let text = format!("{errors:?}");
    assert!(
        !text.contains("73.137") && !text.contains("41.29"),
        "{text}"
    );
}

#[test]
fn null_and_duplicates_are_field_errors() {
    assert_eq!(fields(&with(r#","anesthetic":null"#)), ["/anesthetic"]);
    assert_eq!(fields(&with(r#","region":"lumbar""#)), ["/region"]);
    assert_eq!(
        invalid(&with(r#","region":"lumbar""#))[0].message,
        "duplicate key"
    );
}

#[test]
fn rejects_fields_that_do_not_fit_the_procedure() {
    assert_eq!(fields(&with(r#","block_number":2"#)), ["/block_number"]);
    let mbb = MINIMAL.replace("intra_articular_injection", "medial_branch_block");
    let previous =
        r#","previous_block":{"percent_relief":80,"relief_duration":{"value":3,"unit":"h"}}"#;
    assert_eq!(fields(&format!("{mbb}{previous}}}")), ["/previous_block"]);
    assert!(parse(format!("{mbb}{previous},\"block_number\":2}}").as_bytes()).is_ok());
    let cervical = MINIMAL.replace("lumbar", "cervical");
    assert_eq!(
        fields(&format!("{cervical},\"sacroiliac_signs\":true}}")),
        ["/sacroiliac_signs"]
    );
    assert!(parse(format!("{cervical},\"sacroiliac_signs\":false}}").as_bytes()).is_ok());
}

#[test]
fn relief_needs_a_duration() {
    let body = MINIMAL.replace(r#""value":2"#, r#""value":0"#);
    assert_eq!(fields(&format!("{body}}}")), ["/relief_duration/value"]);
    let no_relief = body.replace(r#""percent_relief":60"#, r#""percent_relief":0"#);
    assert!(parse(format!("{no_relief}}}").as_bytes()).is_ok());
}

#[test]
fn whole_body_errors_point_at_the_root() {
    assert_eq!(fields("[1, 2]"), [""]);
    assert!(matches!(
        parse(b"{\"region\": "),
        Err(RequestError::Syntax(_))
    ));
}

#[test]
fn red_flags_are_deduplicated_in_vocabulary_order() {
    let request = parse(
        with(r#","red_flags":["suspected_fracture","cauda_equina","cauda_equina"]"#).as_bytes(),
    )
    .unwrap();
    assert_eq!(
        request.red_flags,
        [RedFlag::CaudaEquina, RedFlag::SuspectedFracture]
    );
}

#[test]
fn the_timeline_fields_are_checked_against_each_other() {
    let since = |value: u32| format!(r#","time_since_procedure":{{"value":{value},"unit":"wk"}}"#);
    assert!(parse(with(&since(2)).as_bytes()).is_ok());
    assert_eq!(fields(&with(&since(1))), ["/relief_duration"]);
    let history = |weeks: &[u32]| {
        let entries: Vec<String> = weeks
            .iter()
            .map(|w| format!(r#"{{"procedure":"radiofrequency_ablation","time_ago":{{"value":{w},"unit":"wk"}}}}"#))
            .collect();
        format!(r#","procedure_history":[{}]"#, entries.join(","))
    };
    let request = parse(with(&format!("{}{}", since(3), history(&[3, 40]))).as_bytes()).unwrap();
    assert_eq!(request.procedure_history.map(|h| h.len()), Some(2));
    assert_eq!(
        fields(&with(&format!("{}{}", since(3), history(&[40, 2])))),
        ["/procedure_history/1/time_ago"]
    );
    // Without time_since_procedure, history entries are not related to the index procedure.
    assert!(parse(with(&history(&[1])).as_bytes()).is_ok());
    let full = vec![1; MAX_HISTORY];
    assert!(parse(with(&history(&full)).as_bytes()).is_ok());
    let over = vec![1; MAX_HISTORY + 1];
    assert_eq!(fields(&with(&history(&over))), ["/procedure_history"]);
    assert_eq!(
        fields(&with(
            r#","procedure_history":[{"procedure":"x","time_ago":{"value":1,"unit":"wk"},"when":1}]"#
        )),
        [
            "/procedure_history/0/when",
            "/procedure_history/0/procedure"
        ]
    );
}

#[test]
fn modic_changes_and_myelopathy_are_read() {
    let request = parse(
        with(r#","modic_changes":"type_2","red_flags":["myelopathy"],"myofascial_trigger_points":true"#)
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(request.modic_changes, Some(ModicChanges::Type2));
    assert_eq!(request.red_flags, [RedFlag::Myelopathy]);
    assert!(request.myofascial_trigger_points);
    let cervical = MINIMAL.replace("lumbar", "cervical");
    assert_eq!(
        fields(&format!("{cervical},\"modic_changes\":\"none\"}}")),
        ["/modic_changes"]
    );
}
