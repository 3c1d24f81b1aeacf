//! One small broken pathway per validation error: the exact message and its `file:line:column`.
//!
//! Each case edits a minimal valid pathway (`BASE`). Positions are asserted two ways: a few with
//! literal numbers, the rest by naming the token the error must point at (`at(text, needle)` gives
//! the 1-based line and character column of the needle's first occurrence).

use facet_triage::pathway::{MAX_OPTIONS, compile};

const BASE: &str = r#"[pathway]
id = "mini"
title = "Mini"
version = "1.0.0"
regions = ["lumbar"]
default_profile = "p"
start = "first"
strength_scale = ["strong", "weak"]
disclaimer = "Test only."

[[sources]]
id = "s"
title = "Source"
year = 2020
url = "https://example.org"
label = "S"

[[profiles]]
id = "p"
title = "Profile"
label = "P"

[[parameters]]
id = "good"
type = "percent"
description = "Good relief."
values = [{ at_least = 50, source = "s", verification = "verified" }]

[[parameters]]
id = "plain"
type = "count"
description = "A plain value."
values = [{ value = 2, source = "s", verification = "verified" }]

[[criteria]]
id = "c"
text = "At least {param.good}"
source = "s"
verification = "verified"

[[options]]
id = "opt"
title = "Option"
category = "conservative"
invasiveness = 0
criteria = ["c"]
evidence = [{ source = "s", level = "I", strength = "strong", verification = "verified" }]

[[alerts]]
code = "al"
severity = "info"
message = "Alert."

[[assessment]]
response = "positive"
summary = "Done."

[[nodes]]
id = "first"
title = "First"
alerts = ["al"]
offer = [{ option = "opt", priority = 1, rationale = "Because." }]
"#;

/// The base with one exact text replaced (which must occur once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "`{from}` occurs once in BASE"
    );
    BASE.replacen(from, to, 1)
}

/// The base with a node's `offer` line replaced by `node_lines` (the rest of the first node).
fn first_node(node_lines: &str) -> String {
    edit(
        r#"offer = [{ option = "opt", priority = 1, rationale = "Because." }]"#,
        node_lines,
    )
}

/// `t.toml:LINE:COLUMN` of the first occurrence of `needle`; a `|` in the needle marks the exact
/// character within it (`meets = |"plain"` points at the quote).
fn at(text: &str, needle: &str) -> String {
    let (head, tail) = needle.split_once('|').unwrap_or(("", needle));
    let offset = text
        .find(&format!("{head}{tail}"))
        .unwrap_or_else(|| panic!("`{needle}` is in the text"))
        + head.len();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    format!("t.toml:{line}:{column}")
}

fn errors(text: &str) -> Vec<String> {
    match compile("t.toml", text) {
        Ok(_) => panic!("the pathway was accepted:\n{text}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts the exact list of errors, each at its needle.
fn expect(text: &str, expected: &[(&str, &str)]) {
    let wanted: Vec<String> = expected
        .iter()
        .map(|(needle, message)| format!("{}: {message}", at(text, needle)))
        .collect();
    assert_eq!(errors(text), wanted, "\n{text}");
}

#[test]
fn the_base_is_valid() {
    let pathway = compile("t.toml", BASE).expect("BASE compiles");
    assert_eq!(pathway.id, "mini");
    assert_eq!(pathway.options.len(), 1);
}

#[test]
fn toml_syntax() {
    let text = edit(r#"title = "Mini""#, r#"title = "Mini"#);
    assert_eq!(
        errors(&text),
        [r#"t.toml:3:14: invalid basic string, expected `"`"#]
    );
    let text = edit("[[options]]", "[[options]");
    assert_eq!(
        errors(&text),
        ["t.toml:41:11: unclosed array table, expected `]`"]
    );
}

#[test]
fn unknown_key() {
    let text = edit("invasiveness = 0\n", "invasiveness = 0\ncolour = \"red\"\n");
    expect(
        &text,
        &[(
            "colour",
            "unknown field `colour`, expected one of `id`, `title`, `category`, `invasiveness`, \
             `description`, `codes`, `criteria`, `regions`, `evidence_from`, `evidence`",
        )],
    );
}

#[test]
fn unknown_key_in_a_condition() {
    let text = first_node(r#"when = { field = "percent_relief", greater = 50 }"#);
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("unknown field `greater`"), "{found:?}");
    assert!(found[0].starts_with(&at(&text, "greater")), "{found:?}");
}

#[test]
fn unknown_request_field() {
    let text = first_node(r#"when = { field = "percent_releif", ge = 50 }"#);
    expect(
        &text,
        &[(
            r#""percent_releif""#,
            "unknown request field `percent_releif`",
        )],
    );
    let text = first_node(r#"when = { present = "previous_blok" }"#);
    expect(
        &text,
        &[(
            r#""previous_blok""#,
            "unknown request field `previous_blok`",
        )],
    );
}

#[test]
fn unknown_parameter() {
    let text = first_node(r#"when = { field = "percent_relief", meets = "god" }"#);
    expect(&text, &[(r#""god""#, "unknown parameter `god`")]);
    let text = first_node(r#"when = { field = "block_number", ge = { param = "plane" } }"#);
    expect(&text, &[(r#"{ param"#, "unknown parameter `plane`")]);
}

#[test]
fn unknown_option() {
    let text = edit(r#"option = "opt""#, r#"option = "otp""#);
    expect(&text, &[(r#""otp""#, "unknown option `otp`")]);
    let text = first_node(r#"avoid = [{ option = "nope", reason = "No." }]"#);
    expect(&text, &[(r#""nope""#, "unknown option `nope`")]);
    let text = first_node(r#"suppress = ["nope"]"#);
    expect(&text, &[(r#""nope""#, "unknown option or group `nope`")]);
}

#[test]
fn unknown_source() {
    // The entry is dropped, so the option is also left without evidence for the region.
    let text = edit(r#"{ source = "s", level"#, r#"{ source = "z", level"#);
    expect(
        &text,
        &[
            (
                r#""opt""#,
                "option `opt` has no evidence for region `lumbar`, which it serves",
            ),
            (r#""z""#, "unknown source `z`"),
        ],
    );
    let text = edit(
        r#"rationale = "Because." }"#,
        r#"rationale = "Because.", citations = ["x"] }"#,
    );
    expect(&text, &[(r#""x""#, "unknown source `x`")]);
}

#[test]
fn unknown_node_target() {
    let text = first_node(r#"next = "nowhere""#);
    expect(&text, &[(r#""nowhere""#, "unknown node `nowhere`")]);
    let text = edit(r#"start = "first""#, r#"start = "firts""#);
    expect(&text, &[(r#""firts""#, "unknown node `firts`")]);
    let text = first_node(
        "otherwise = \"first\"\nbranches = [{ when = { field = \"percent_relief\", ge = 1 }, to = \"second\" }]",
    );
    expect(&text, &[(r#""second""#, "unknown node `second`")]);
}

#[test]
fn unknown_alert() {
    let text = edit(r#"alerts = ["al"]"#, r#"alerts = ["la"]"#);
    expect(&text, &[(r#""la""#, "unknown alert `la`")]);
}

#[test]
fn unknown_criterion() {
    let text = edit(r#"criteria = ["c"]"#, r#"criteria = ["d"]"#);
    expect(&text, &[(r#""d""#, "unknown criterion `d`")]);
}

#[test]
fn type_mismatch_number_compared_with_a_boolean() {
    let text = first_node(r#"when = { field = "percent_relief", eq = true }"#);
    expect(
        &text,
        &[(
            "true",
            "type mismatch: `percent_relief` is a number (percent) but is compared with a boolean",
        )],
    );
    let text = first_node(r#"when = { field = "radicular_symptoms", eq = 1 }"#);
    expect(
        &text,
        &[(
            "1 }",
            "type mismatch: `radicular_symptoms` is a boolean but is compared with a number",
        )],
    );
}

#[test]
fn type_mismatch_duration_compared_with_a_number() {
    let text = first_node(r#"when = { field = "relief_duration", gt = 5 }"#);
    expect(
        &text,
        &[(
            "5 }",
            "type mismatch: `relief_duration` is a duration but is compared with a number",
        )],
    );
    // And a number compared with a duration.
    let text =
        first_node(r#"when = { field = "percent_relief", gt = { value = 5, unit = "wk" } }"#);
    expect(
        &text,
        &[(
            "gt = |{ value",
            "type mismatch: `percent_relief` is a number (percent) but is compared with a duration",
        )],
    );
}

#[test]
fn type_mismatch_between_quantities_and_fields() {
    let text = first_node(r#"when = { field = "pain_duration_months", ge = { param = "plain" } }"#);
    expect(
        &text,
        &[(
            "{ param",
            "type mismatch: `pain_duration_months` is a number (months) but is compared with parameter `plain`, which is count",
        )],
    );
    let text =
        first_node(r#"when = { field = "relief_duration", gt = { field = "percent_relief" } }"#);
    expect(
        &text,
        &[(
            "{ field = \"percent_relief\"",
            "type mismatch: `relief_duration` is a duration but is compared with `percent_relief`, which is a number (percent)",
        )],
    );
    let text = first_node(r#"when = { field = "relief_duration", meets = "good" }"#);
    expect(
        &text,
        &[(
            r#"meets = |"good""#,
            "type mismatch: `relief_duration` is a duration but parameter `good` is percent",
        )],
    );
}

#[test]
fn meets_on_a_plain_parameter_and_compare_on_bounds() {
    let text = first_node(r#"when = { field = "block_number", meets = "plain" }"#);
    expect(
        &text,
        &[(
            r#"meets = |"plain""#,
            "`meets` needs a parameter with bounds; `plain` has plain values (compare it with eq, lt, ...)",
        )],
    );
    let text = first_node(r#"when = { field = "percent_relief", ge = { param = "good" } }"#);
    expect(
        &text,
        &[(
            "{ param",
            "parameter `good` has bounds; test it with `meets`",
        )],
    );
}

#[test]
fn malformed_conditions() {
    let text = first_node(r#"when = { present = "anesthetic", field = "percent_relief", ge = 1 }"#);
    expect(
        &text,
        &[(
            "{ present",
            "a condition needs exactly one of: all, any, not, condition, present, field, param, count",
        )],
    );
    let text = first_node(r#"when = { param = "good", eq = true }"#);
    expect(
        &text,
        &[("\"good\", eq", "parameter `good` is not a boolean")],
    );
    let text = first_node(
        r#"when = { count = "red_flags", procedures = ["medial_branch_block"], within = { value = 1, unit = "mo" }, le = 1 }"#,
    );
    expect(
        &text,
        &[(
            "\"red_flags\"",
            "`count` counts `procedure_history` entries",
        )],
    );
    let text = first_node(
        r#"when = { count = "procedure_history", procedures = ["facet_rhizotomy"], within = { value = 1, unit = "mo" }, le = { param = "good" } }"#,
    );
    expect(
        &text,
        &[
            (
                "\"facet_rhizotomy\"",
                "unknown procedure `facet_rhizotomy`; one of intra_articular_injection, medial_branch_block, radiofrequency_ablation",
            ),
            (
                "{ param = \"good\" }",
                "parameter `good` must be a plain count value",
            ),
        ],
    );
    let text = first_node(
        r#"when = { count = "procedure_history", within = { value = 1, unit = "mo" }, le = 1 }"#,
    );
    expect(
        &text,
        &[(
            "{ count",
            "a count condition has `procedures`, `within`, optionally `plus`, and one of eq, ne, lt, le, gt, ge",
        )],
    );
    let text = first_node(r#"when = { param = "nothing", eq = true }"#);
    expect(&text, &[("\"nothing\"", "unknown parameter `nothing`")]);
    let text = first_node(r#"when = { param = "good", ge = 1 }"#);
    expect(
        &text,
        &[(
            "{ param",
            "a parameter condition is `{ param = \"id\", eq = true }` (or `ne`, or `false`)",
        )],
    );
    let text = first_node(r#"when = { field = "percent_relief", ge = 1, le = 2 }"#);
    expect(
        &text,
        &[(
            "{ field",
            "a field condition needs exactly one of: eq, ne, lt, le, gt, ge, meets, short_of, exceeds, one_of, any_of",
        )],
    );
    let text = first_node(r#"when = { present = "percent_relief" }"#);
    expect(
        &text,
        &[(
            r#""percent_relief""#,
            "`percent_relief` is always present (the contract gives it a default or requires it)",
        )],
    );
    let text = first_node(r#"when = { field = "anesthetic", one_of = ["lidocaine", "procaine"] }"#);
    expect(
        &text,
        &[(
            r#""procaine""#,
            "`procaine` is not a value of `anesthetic` (lidocaine, bupivacaine, ropivacaine, other)",
        )],
    );
    let text = first_node(r#"when = { field = "anesthetic", any_of = ["lidocaine"] }"#);
    expect(
        &text,
        &[(
            "{ field",
            "type mismatch: `any_of` needs a list field; `anesthetic` is one of lidocaine, bupivacaine, ropivacaine, other",
        )],
    );
    let text = first_node(r#"when = { all = [] }"#);
    expect(
        &text,
        &[("{ all", "`all` and `any` need at least one condition")],
    );
    let text = first_node(r#"when = { field = "percent_relief", ge = 1, in_profile = "any" }"#);
    expect(
        &text,
        &[(
            "{ field",
            "`in_profile` goes with `meets`, `short_of` or `exceeds`",
        )],
    );
}

#[test]
fn a_named_condition_that_refers_to_itself() {
    let text = edit(
        "[[criteria]]",
        "[[conditions]]\nid = \"loop\"\nwhen = { condition = \"loop\" }\n\n[[criteria]]",
    );
    expect(
        &text,
        &[(
            "{ condition",
            "condition refers to itself through `condition`",
        )],
    );
    // Through another named condition: reported once, at the condition the loop comes back to.
    let text = edit(
        "[[criteria]]",
        "[[conditions]]\nid = \"a\"\nwhen = { not = { condition = \"b\" } }\n\n\
         [[conditions]]\nid = \"b\"\nwhen = { condition = \"a\" }\n\n[[criteria]]",
    );
    expect(
        &text,
        &[("{ not", "condition refers to itself through `condition`")],
    );
}

#[test]
fn duplicate_ids() {
    let option = "[[options]]\nid = \"opt\"\ntitle = \"Again\"\ncategory = \"referral\"\ninvasiveness = 0\n\
                  evidence = [{ source = \"s\", level = \"I\", strength = \"strong\", verification = \"verified\" }]\n\n[[alerts]]";
    let text = edit("[[alerts]]", option);
    let second = text.rfind("id = \"opt\"").unwrap() + 5;
    let line = text[..second].matches('\n').count() + 1;
    assert_eq!(
        errors(&text),
        [format!("t.toml:{line}:6: duplicate option id `opt`")]
    );

    let text = format!("{BASE}\n[[nodes]]\nid = \"first\"\ntitle = \"Again\"\n");
    let line = text.lines().count() - 1;
    assert_eq!(
        errors(&text),
        [format!("t.toml:{line}:6: duplicate node id `first`")]
    );

    let text = edit(
        "[[profiles]]",
        "[[sources]]\nid = \"s\"\ntitle = \"Again\"\nyear = 2021\nurl = \"https://example.org/2\"\nlabel = \"S2\"\n\n[[profiles]]",
    );
    let found = errors(&text);
    assert_eq!(found.len(), 1);
    assert!(found[0].ends_with(": duplicate source id `s`"), "{found:?}");
    assert!(
        found[0].starts_with("t.toml:19:6:"),
        "the second `s`, line 19: {found:?}"
    );

    let text = edit("id = \"plain\"", "id = \"good\"");
    let found = errors(&text);
    assert_eq!(found, ["t.toml:30:6: duplicate parameter id `good`"]);
}

#[test]
fn cycle() {
    let text = format!(
        "{}\n[[nodes]]\nid = \"second\"\ntitle = \"Second\"\nnext = \"first\"\n",
        first_node("next = \"second\"")
    );
    expect(
        &text,
        &[(
            "\"second\"\ntitle",
            "cycle: node `second` leads back to `first`",
        )],
    );
}

#[test]
fn unreachable_node() {
    let text = format!("{BASE}\n[[nodes]]\nid = \"orphan\"\ntitle = \"Orphan\"\n");
    expect(
        &text,
        &[(
            r#""orphan""#,
            "node `orphan` is unreachable from the start node",
        )],
    );
}

#[test]
fn decision_without_a_default_branch() {
    let text =
        first_node(r#"branches = [{ when = { field = "percent_relief", ge = 1 }, to = "first" }]"#);
    expect(
        &text,
        &[(
            r#""first"
title"#,
            "decision `first` has no default branch (`otherwise`)",
        )],
    );
    let text = first_node(r#"otherwise = "first""#);
    expect(
        &text,
        &[(
            r#""first"
title"#,
            "node `first` has `otherwise` but no branches (use `next`)",
        )],
    );
}

#[test]
fn option_without_evidence_for_a_region_it_serves() {
    let text = edit(
        r#"regions = ["lumbar"]"#,
        r#"regions = ["lumbar", "cervical"]"#,
    )
    .replace(
        r#"evidence = [{ source = "s","#,
        r#"evidence = [{ regions = ["lumbar"], source = "s","#,
    );
    expect(
        &text,
        &[(
            r#""opt""#,
            "option `opt` has no evidence for region `cervical`, which it serves",
        )],
    );
    // Evidence for a region the option does not serve is refused too.
    let text = edit(
        r#"regions = ["lumbar"]"#,
        r#"regions = ["lumbar", "cervical"]"#,
    )
    .replace(
        "criteria = [\"c\"]\n",
        "criteria = [\"c\"]\nregions = [\"lumbar\"]\n",
    )
    .replace(
        r#"evidence = [{ source = "s","#,
        r#"evidence = [{ regions = ["cervical"], source = "s","#,
    );
    expect(
        &text,
        &[
            (
                r#""opt""#,
                "option `opt` has no evidence for region `lumbar`, which it serves",
            ),
            (
                "{ regions = [\"cervical\"]",
                "evidence for region `cervical`, which option `opt` does not serve",
            ),
        ],
    );
}

#[test]
fn evidence_from_rules() {
    let borrowing = "[[options]]\nid = \"again\"\ntitle = \"Again\"\ncategory = \"referral\"\ninvasiveness = 0\n\
                     evidence_from = \"again\"\n\n[[alerts]]";
    let text = edit("[[alerts]]", borrowing);
    expect(
        &text,
        &[
            (
                r#""again""#,
                "`evidence_from` must name an option with evidence of its own",
            ),
            (
                r#""again""#,
                "option `again` has no evidence for region `lumbar`, which it serves",
            ),
        ],
    );
    let text = edit(
        "[[alerts]]",
        &borrowing.replace("evidence_from = \"again\"", "evidence_from = \"nope\""),
    );
    expect(
        &text,
        &[
            (
                r#""again""#,
                "option `again` has no evidence for region `lumbar`, which it serves",
            ),
            (r#""nope""#, "unknown option `nope`"),
        ],
    );
}

#[test]
fn evidence_direction_rules() {
    // A lead entry must support the option: an option with only `against` evidence is refused.
    let text = edit(
        r#"evidence = [{ source = "s", level = "I","#,
        r#"evidence = [{ source = "s", direction = "against", level = "I","#,
    );
    expect(
        &text,
        &[(
            r#""opt""#,
            "option `opt` has only `against` evidence for region `lumbar`; its lead entry must support it",
        )],
    );
    let text = edit(
        r#"evidence = [{ source = "s", level = "I","#,
        r#"evidence = [{ source = "s", direction = "neutral", level = "I","#,
    );
    expect(
        &text,
        &[
            (
                r#""opt""#,
                "option `opt` has no evidence for region `lumbar`, which it serves",
            ),
            (
                r#""neutral""#,
                "unknown direction `neutral`; expected one of for, against",
            ),
        ],
    );
}

#[test]
fn parameter_without_a_value_for_a_profile_and_region() {
    let text = edit(
        "[[parameters]]\nid = \"good\"",
        "[[profiles]]\nid = \"q\"\ntitle = \"Q\"\nlabel = \"Q\"\n\n[[parameters]]\nid = \"good\"",
    )
    .replace(
        "values = [{ at_least = 50,",
        "values = [{ profiles = [\"p\"], at_least = 50,",
    )
    .replace(
        "values = [{ value = 2,",
        "values = [{ profiles = [\"p\", \"q\"], value = 2,",
    );
    expect(
        &text,
        &[(
            r#""good""#,
            "parameter `good` has no value for profile `q`, region `lumbar`",
        )],
    );
}

#[test]
fn parameter_with_two_values_for_a_profile_and_region() {
    let text = edit(
        r#"values = [{ value = 2, source = "s", verification = "verified" }]"#,
        "values = [\n  { value = 2, source = \"s\", verification = \"verified\" },\n  { profiles = [\"p\"], value = 3, source = \"s\", verification = \"verified\" },\n]",
    );
    expect(
        &text,
        &[(
            "{ profiles",
            "parameter `plain` has two values for profile `p`, region `lumbar`",
        )],
    );
}

#[test]
fn malformed_parameter_values() {
    // A row that is refused leaves its cells empty, which is reported too.
    let no_value = (
        r#""good""#,
        "parameter `good` has no value for profile `p`, region `lumbar`",
    );
    let text = edit("{ at_least = 50,", "{ at_least = 50, value = 3,");
    expect(
        &text,
        &[
            no_value,
            (
                "{ at_least",
                "give either `value` or bounds (at_least, more_than, at_most, less_than), not both",
            ),
        ],
    );
    let text = edit("{ at_least = 50,", "{ at_least = 50, more_than = 40,");
    expect(
        &text,
        &[
            no_value,
            (
                "{ at_least",
                "give at most one lower bound (at_least or more_than) and one upper bound (at_most or less_than)",
            ),
        ],
    );
    let text = edit("{ at_least = 50,", "{ at_least = \"fifty\",");
    expect(
        &text,
        &[no_value, (r#""fifty""#, "type mismatch: expected a number")],
    );
    let text = edit("type = \"count\"", "type = \"duration\"");
    let plain_no_value = (
        r#""plain""#,
        "parameter `plain` has no value for profile `p`, region `lumbar`",
    );
    expect(
        &text,
        &[
            plain_no_value,
            (
                "2, source",
                "type mismatch: expected a duration such as { value = 12, unit = \"wk\" }",
            ),
        ],
    );
    let text = edit("type = \"count\"", "type = \"duration\"")
        .replace("value = 2,", "value = { value = 2, unit = \"week\" },");
    expect(
        &text,
        &[
            plain_no_value,
            (
                "{ value = 2",
                "a duration needs a `value` of at least 0 and a `unit` among min, h, d, wk, mo",
            ),
        ],
    );
    let text = edit("type = \"count\"", "type = \"litres\"");
    expect(
        &text,
        &[(
            r#""litres""#,
            "unknown parameter type `litres`; expected percent, months, weeks, count, duration or boolean",
        )],
    );
}

#[test]
fn bad_template_placeholders() {
    let text = edit(
        r#"rationale = "Because.""#,
        r#"rationale = "Because {percent_releif}.""#,
    );
    expect(
        &text,
        &[(
            "{percent_releif}",
            "unknown request field `percent_releif` in text",
        )],
    );
    let text = edit(
        r#"rationale = "Because.""#,
        r#"rationale = "Because {param.bad}.""#,
    );
    expect(&text, &[("{param.bad}", "unknown parameter `bad` in text")]);
    let text = edit(
        r#"message = "Alert.""#,
        r#"message = "Alert {percent_relief""#,
    );
    expect(
        &text,
        &[(
            "{percent_relief",
            "unclosed `{` in text (write `{{` for a brace)",
        )],
    );
    let text = edit(r#"summary = "Done.""#, r#"summary = "Done }.""#);
    expect(
        &text,
        &[("}.", "unmatched `}` in text (write `}}` for a brace)")],
    );
    // Criterion texts are rendered once per profile and region: parameters only.
    let text = edit(
        r#"text = "At least {param.good}""#,
        r#"text = "At least {percent_relief}""#,
    );
    expect(
        &text,
        &[(
            "{percent_relief}",
            "`{percent_relief}`: this text may name parameters only",
        )],
    );
}

#[test]
fn assessment_without_a_default() {
    let text = edit(
        "response = \"positive\"\n",
        "response = \"positive\"\nwhen = { field = \"percent_relief\", ge = 50 }\n",
    );
    expect(
        &text,
        &[(
            r#""mini""#,
            "the assessment needs a default: a last [[assessment]] entry without `when`",
        )],
    );
    let text = edit(
        "summary = \"Done.\"\n",
        "summary = \"Done.\"\n\n[[assessment]]\nresponse = \"negative\"\nsummary = \"Never.\"\n",
    );
    expect(
        &text,
        &[(
            r#""negative""#,
            "assessment entry after the default (an entry without `when`) can never apply",
        )],
    );
}

#[test]
fn unknown_vocabulary_words() {
    let text = edit(r#"regions = ["lumbar"]"#, r#"regions = ["lumbra"]"#);
    let found = errors(&text);
    assert!(
        found.contains(&format!(
            "{}: unknown region `lumbra`; expected one of lumbar, cervical, thoracic",
            at(&text, r#""lumbra""#)
        )),
        "{found:?}"
    );
    let text = edit(r#"category = "conservative""#, r#"category = "herbal""#);
    expect(
        &text,
        &[(
            r#""herbal""#,
            "unknown category `herbal`; expected one of referral, diagnostic, interventional, conservative, surgical",
        )],
    );
    let text = edit(r#"severity = "info""#, r#"severity = "loud""#);
    expect(
        &text,
        &[(
            r#""loud""#,
            "unknown severity `loud`; expected one of critical, warning, info",
        )],
    );
    let text = edit(r#"strength = "strong""#, r#"strength = "mighty""#);
    expect(
        &text,
        &[
            (
                r#""opt""#,
                "option `opt` has no evidence for region `lumbar`, which it serves",
            ),
            (
                r#""mighty""#,
                "strength `mighty` is not in the pathway's strength_scale",
            ),
        ],
    );
    let text = edit(r#"version = "1.0.0""#, r#"version = "1.0""#);
    expect(
        &text,
        &[(
            r#""1.0""#,
            "version must be a semantic version such as 1.2.0",
        )],
    );
    let text = edit("invasiveness = 0", "invasiveness = 6");
    expect(
        &text,
        &[(
            "6\n",
            "invasiveness must be from 0 (none) to 5 (open surgery)",
        )],
    );
}

#[test]
fn all_errors_of_a_file_are_reported_at_once_in_file_order() {
    // Three independent mistakes, made bottom-up so that file order differs from edit order.
    let text = edit(r#"option = "opt""#, r#"option = "otp""#)
        .replace(r#"alerts = ["al"]"#, r#"alerts = ["la"]"#)
        .replace(r#"criteria = ["c"]"#, r#"criteria = ["d"]"#);
    let found = errors(&text);
    assert_eq!(
        found,
        [
            "t.toml:46:13: unknown criterion `d`",
            "t.toml:61:11: unknown alert `la`",
            "t.toml:62:21: unknown option `otp`",
        ]
    );
    assert_eq!(
        found[0],
        format!("{}: unknown criterion `d`", at(&text, r#""d""#))
    );
}

#[test]
fn errors_of_every_file_in_a_directory_are_reported_with_their_file_names() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("validation-two-files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.toml"),
        edit(r#"criteria = ["c"]"#, r#"criteria = ["d"]"#),
    )
    .unwrap();
    std::fs::write(
        dir.join("b.toml"),
        edit(r#"alerts = ["al"]"#, r#"alerts = ["la"]"#),
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a pathway").unwrap();
    let errors = facet_triage::pathway::PathwaySet::load_dir(&dir).unwrap_err();
    let lines: Vec<String> = errors
        .0
        .iter()
        .map(|e| {
            let file = std::path::Path::new(&e.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            format!("{file}:{}:{}: {}", e.line, e.column, e.message)
        })
        .collect();
    assert_eq!(
        lines,
        [
            "a.toml:46:13: unknown criterion `d`",
            "b.toml:61:11: unknown alert `la`"
        ]
    );
    // Two valid files with the same pathway id.
    std::fs::write(dir.join("a.toml"), BASE).unwrap();
    std::fs::write(dir.join("b.toml"), BASE).unwrap();
    let errors = facet_triage::pathway::PathwaySet::load_dir(&dir).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(errors.0[0].file.ends_with("b.toml"));
    assert_eq!(
        errors.0[0].message,
        "pathway id `mini` is already used by another file"
    );
}

/// As many nodes as a pathway file within the size limit can chain: the graph checks take them
/// without running out of stack, and still name the one edge that closes the cycle.
#[test]
fn more_options_than_the_engine_keeps() {
    let option = |index: usize| {
        format!(
            "\n[[options]]\nid = \"o{index}\"\ntitle = \"O\"\ncategory = \"conservative\"\n\
             invasiveness = 0\nevidence = [{{ source = \"s\", level = \"I\", strength = \"strong\", \
             verification = \"verified\" }}]\n"
        )
    };
    let mut text = BASE.to_owned();
    // The base defines one option: up to the limit loads, one more does not.
    (1..MAX_OPTIONS).for_each(|index| text.push_str(&option(index)));
    assert!(compile("t.toml", &text).is_ok());
    text.push_str(&option(MAX_OPTIONS));
    expect(
        &text,
        &[(
            &format!("\"o{MAX_OPTIONS}\""),
            &format!("a pathway defines at most {MAX_OPTIONS} options"),
        )],
    );
}

#[test]
fn a_chain_as_long_as_a_file_allows() {
    const LENGTH: usize = 20_000;
    let mut text = first_node("next = \"n1\"");
    for index in 1..LENGTH {
        let next = if index + 1 < LENGTH {
            format!("n{}", index + 1)
        } else {
            "first".to_owned()
        };
        text.push_str(&format!(
            "\n[[nodes]]\nid = \"n{index}\"\ntitle = \"N\"\nnext = \"{next}\"\n"
        ));
    }
    assert!(text.len() <= 1024 * 1024, "{} bytes", text.len());
    expect(
        &text,
        &[(
            &format!("\"n{}\"\ntitle", LENGTH - 1),
            &format!("cycle: node `n{}` leads back to `first`", LENGTH - 1),
        )],
    );
}
