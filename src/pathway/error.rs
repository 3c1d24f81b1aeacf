//! Load errors that point into the pathway file: `file:line:column: message`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    /// One line per error: control characters of the file name or message (a name written
    /// `"a\nb"` in the file) are shown escaped, as the file spells them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.file)?;
        write!(f, ":{}:{}: ", self.line, self.column)?;
        write_escaped(f, &self.message)
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// Every error found in one load, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Turns byte offsets of one file into 1-based lines and columns (columns count characters).
pub struct Positions<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> Positions<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Positions { file, text }
    }

    pub fn error(&self, offset: usize, message: impl Into<String>) -> LoadError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        LoadError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let positions = Positions::new("p.toml", "a = 1\nbé = 2\n");
        assert_eq!(positions.error(0, "x").to_string(), "p.toml:1:1: x");
        assert_eq!(positions.error(10, "y").to_string(), "p.toml:2:4: y");
    }

    #[test]
    fn each_error_stays_on_one_line() {
        let error = Positions::new("p.toml", "a = 1\n").error(0, "unknown node `no\nsuch\t`");
        assert_eq!(error.to_string(), r"p.toml:1:1: unknown node `no\nsuch\t`");
    }
}
