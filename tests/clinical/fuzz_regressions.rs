//! Inputs that broke an invariant of a fuzz target (`fuzz/fuzz_targets/`), kept as tests.
//!
//! `pathway` target: every error line of a refused pathway file is `file:line:column: message`.
//! Found by running the target on a hand-made input (the 10-minute fuzz run did not reach it):
//! a name written with a TOML escape such as `"no\nsuch"` is repeated by the error that names it,
//! and its newline split that error over two lines.

use facet_triage::pathway::compile;

const NAME_WITH_A_NEWLINE: &str = r#"
[pathway]
id = "x"
title = "t"
version = "1.0.0"
regions = ["lumbar"]
default_profile = "no\nsuch"
start = "tab\there"
strength_scale = ["a"]
disclaimer = "d"
"#;

#[test]
fn an_error_naming_a_name_with_control_characters_stays_on_one_line() {
    let errors = compile("f.toml", NAME_WITH_A_NEWLINE).unwrap_err();
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), errors.0.len(), "{shown}");
    for line in shown.lines() {
        assert!(line.starts_with("f.toml:"), "{line:?}");
    }
    assert!(
        shown.contains(r"unknown profile `no\nsuch`"),
        "the name is shown as the file spells it: {shown}"
    );
    assert!(shown.contains(r"unknown node `tab\there`"), "{shown}");
}
