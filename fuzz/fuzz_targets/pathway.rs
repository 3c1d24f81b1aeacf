//! Fuzzes pathway loading: arbitrary UTF-8 text compiled as a pathway file named `f.toml`.
//!
//! Asserts: no panic; a refusal lists at least one error, each on one line of the form
//! `f.toml:line:column: message` with a position inside the text.

#![no_main]

use facet_triage::pathway::compile;
use libfuzzer_sys::fuzz_target;

const FILE: &str = "f.toml";

fuzz_target!(|data: &[u8]| {
    // Pathway files are read as UTF-8; anything else never reaches the compiler.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Err(errors) = compile(FILE, text) else {
        return;
    };
    assert!(!errors.0.is_empty(), "a refusal names at least one error");
    let lines: Vec<&str> = text.split('\n').collect();
    for error in &errors.0 {
        assert_eq!(error.file, FILE);
        assert!(
            (1..=lines.len()).contains(&error.line),
            "line {} outside 1..={}: {error}",
            error.line,
            lines.len()
        );
        let line_chars = lines[error.line - 1].chars().count();
        assert!(
            (1..=line_chars + 1).contains(&error.column),
            "column {} outside 1..={}: {error}",
            error.column,
            line_chars + 1
        );
    }
    let shown = errors.to_string();
    for line in shown.lines() {
        assert!(
            line.starts_with("f.toml:"),
            "error line without position: {line:?}"
        );
    }
});
