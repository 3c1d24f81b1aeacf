//! Writing parts of a JSON answer per request without `core::fmt`: words known to need no
//! escaping, text that may need it, and unsigned integers.

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
    // Without an early exit the loop vectorizes; the texts asked about rarely hold one.
    (text.bytes()).fold(false, |found, byte| {
        found | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    })
}

/// Writes text escaped for the inside of a JSON string, as serde_json escapes it.
pub fn inside_string(out: &mut Vec<u8>, text: &str) {
    if !needs_escape(text) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let start = out.len();
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
    out.pop();
    out.remove(start);
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

    #[test]
    fn needs_escape_finds_what_json_escapes() {
        assert!(!needs_escape("60% for 2 weeks, é ≥ 80"));
        for text in ["a\"b", "a\\b", "a\nb", "\u{1f}"] {
            assert!(needs_escape(text), "{text:?}");
        }
    }

    #[test]
    fn text_is_escaped_as_serde_json_escapes_it() {
        for text in ["", "plain é ≥ 80%", "a\"b\\c\nd\u{1f}e\t"] {
            let mut ours = b"\"".to_vec();
            inside_string(&mut ours, text);
            ours.push(b'"');
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
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
}
