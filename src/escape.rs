//! Writing JSON by hand where serde would cost more: strings escaped exactly as `serde_json`
//! escapes them (the tests compare both), and unsigned integers without `core::fmt`.

use std::io::Write;

/// Writes `text` as a JSON string, quotes included, escaped as `serde_json` escapes it.
pub fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escaped(out, text);
    out.push(b'"');
}

/// Writes the inside of a JSON string: `"`, `\` and control characters escaped, nothing else. Eight
/// bytes are tested at a time, so text that needs no escape is copied at memory speed.
pub fn escaped(out: &mut Vec<u8>, text: &str) {
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

/// Writes text that needs no escaping into the inside of a JSON string as it is: the words that
/// name a request's facts, which are numbers and the vocabulary's labels (the tests check every
/// word a fact can produce, and debug builds check each write).
pub struct Verbatim<'a>(pub &'a mut Vec<u8>);

impl std::fmt::Write for Verbatim<'_> {
    #[inline]
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        debug_assert!(!needs_escape(text), "{text:?} needs escaping");
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// Whether text holds a character JSON strings escape.
pub fn needs_escape(text: &str) -> bool {
    text.bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

/// Writes an unsigned integer in decimal.
pub fn uint(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(decimal(value, &mut [0; 20]));
}

/// The decimal digits of `value`, written at the end of `digits`.
pub fn decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &digits[at..]
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
    fn needs_escape_finds_what_json_escapes() {
        assert!(!needs_escape("60% for 2 weeks, é ≥ 80"));
        for text in ["a\"b", "a\\b", "a\nb", "\u{1f}"] {
            assert!(needs_escape(text), "{text:?}");
        }
    }

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        for value in [0, 7, 10, 99, 12_345, u64::MAX] {
            let mut ours = Vec::new();
            uint(&mut ours, value);
            assert_eq!(ours, serde_json::to_vec(&value).unwrap());
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
