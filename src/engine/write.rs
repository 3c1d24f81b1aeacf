//! A direct JSON writer for the triage response, byte for byte what `serde_json` writes for it
//! (the tests compare both on every vignette), without serde's per-character escaping: strings that
//! need no escape, nearly all of them, are copied whole. Responses with a trace go through serde.

use super::response::{AlertOut, AvoidOut, CriterionOut, RankedOption, TriageResponse};
use std::io::Write;

impl TriageResponse<'_> {
    /// Appends the response's JSON to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if self.trace.is_some() {
            // Serializing plain data into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, self);
            return;
        }
        out.extend_from_slice(b"{\"pathway\":{\"id\":");
        string(out, self.pathway.id);
        out.extend_from_slice(b",\"version\":");
        string(out, self.pathway.version);
        out.extend_from_slice(b",\"digest\":");
        string(out, self.pathway.digest);
        out.extend_from_slice(b"},\"profile\":");
        string(out, self.profile);
        out.extend_from_slice(b",\"assessment\":{\"response\":");
        string(out, self.assessment.response.as_str());
        out.extend_from_slice(b",\"summary\":");
        string(out, &self.assessment.summary);
        out.extend_from_slice(b"},\"options\":");
        array(out, &self.options, option);
        out.extend_from_slice(b",\"avoid\":");
        array(out, &self.avoid, avoid);
        out.extend_from_slice(b",\"alerts\":");
        array(out, &self.alerts, alert);
        out.extend_from_slice(b",\"disclaimer\":");
        string(out, self.disclaimer);
        out.push(b'}');
    }
}

fn option(out: &mut Vec<u8>, option: &RankedOption) {
    out.extend_from_slice(b"{\"rank\":");
    let _ = write!(out, "{}", option.rank);
    out.extend_from_slice(b",\"id\":");
    string(out, option.id);
    out.extend_from_slice(b",\"title\":");
    string(out, option.title);
    out.extend_from_slice(b",\"category\":");
    string(out, option.category.as_str());
    out.extend_from_slice(b",\"evidence\":");
    out.extend_from_slice(option.evidence_json.get().as_bytes());
    out.extend_from_slice(b",\"rationale\":");
    string(out, &option.rationale);
    out.extend_from_slice(b",\"criteria\":");
    array(out, &option.criteria, criterion);
    out.extend_from_slice(b",\"citations\":");
    array(out, &option.citations, |out, id| string(out, id));
    if let Some(codes) = option.codes_json {
        out.extend_from_slice(b",\"codes\":");
        out.extend_from_slice(codes.get().as_bytes());
    }
    out.push(b'}');
}

fn criterion(out: &mut Vec<u8>, criterion: &CriterionOut) {
    out.extend_from_slice(b"{\"id\":");
    string(out, criterion.id);
    out.extend_from_slice(b",\"status\":");
    string(out, criterion.status.as_str());
    out.extend_from_slice(b",\"text\":");
    string(out, criterion.text);
    out.push(b'}');
}

fn avoid(out: &mut Vec<u8>, avoid: &AvoidOut) {
    out.extend_from_slice(b"{\"id\":");
    string(out, avoid.id);
    out.extend_from_slice(b",\"title\":");
    string(out, avoid.title);
    out.extend_from_slice(b",\"reason\":");
    string(out, &avoid.reason);
    out.extend_from_slice(b",\"citations\":");
    array(out, &avoid.citations, |out, id| string(out, id));
    out.push(b'}');
}

fn alert(out: &mut Vec<u8>, alert: &AlertOut) {
    out.extend_from_slice(b"{\"severity\":");
    string(out, alert.severity.as_str());
    out.extend_from_slice(b",\"code\":");
    string(out, alert.code);
    out.extend_from_slice(b",\"message\":");
    string(out, &alert.message);
    out.push(b'}');
}

fn array<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Writes a JSON string, escaping as `serde_json` does: `"`, `\` and control characters only. Eight
/// bytes are tested at a time, so text that needs no escape is copied at memory speed.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8)
            && !word_needs_escape(u64::from_le_bytes(word.try_into().unwrap_or_default()))
        {
            i += 8;
            continue;
        }
        let byte = bytes[i];
        if byte < 0x20 || byte == b'"' || byte == b'\\' {
            out.extend_from_slice(&bytes[start..i]);
            escape(out, byte);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes is below 0x20, a `"` or a `\` (exact, no false negatives).
#[inline]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let has_byte = |value: u8| {
        let diff = word ^ (ONES * u64::from(value));
        diff.wrapping_sub(ONES) & !diff & HIGH
    };
    (below_space | has_byte(b'"') | has_byte(b'\\')) != 0
}

fn escape(out: &mut Vec<u8>, byte: u8) {
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        other => {
            let _ = write!(out, "\\u{other:04x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_string_is_escaped_exactly_as_serde_json_escapes_it(text in "(?s).{0,80}", control in proptest::char::range('\u{0}', '\u{7f}')) {
            for sample in [text.clone(), format!("{text}{control}{text}")] {
                let mut ours = Vec::new();
                string(&mut ours, &sample);
                proptest::prop_assert_eq!(ours, serde_json::to_vec(&sample).unwrap());
            }
        }
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let samples = [
            "plain",
            "quote \" and \\ back",
            "tab\tnew\nline\r",
            "\u{1}\u{8}\u{c}\u{1f}",
            "é ≥ 80% ✓",
            "",
        ];
        for sample in samples {
            let mut ours = Vec::new();
            string(&mut ours, sample);
            assert_eq!(ours, serde_json::to_vec(sample).unwrap(), "{sample:?}");
        }
    }
}
