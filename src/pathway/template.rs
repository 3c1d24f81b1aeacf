//! Text templates: rationale, summaries, reasons and alert messages that name the patient's facts.
//!
//! `{percent_relief}` names a request fact, `{param.x}` a parameter of the request's profile and region,
//! `{profile}` the profile's short label; `{{` and `}}` are literal braces. Templates are parsed once at
//! load, so rendering is a walk over ready parts.

use super::condition::Context;
use crate::facts::{Field, write_fact};

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(Box<str>),
    Fact(Field),
    Param(usize),
    Profile,
}

impl Part {
    /// Writes the part's words.
    fn write(&self, ctx: &Context, out: &mut String) {
        match self {
            Part::Text(plain) => out.push_str(plain),
            Part::Fact(field) => write_fact(out, *field, ctx.facts.get(*field)),
            Part::Param(param) => ctx.param(*param).write(out),
            Part::Profile => out.push_str(&ctx.pathway.profiles[ctx.profile].label),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Box<[Part]>,
}

/// What a placeholder may name.
pub trait Names {
    fn param(&self, name: &str) -> Option<usize>;
}

impl Template {
    /// Parses a template; on error, returns the byte offset of the bad placeholder and a message.
    pub fn parse(
        text: &str,
        names: &dyn Names,
        allow_facts: bool,
    ) -> Result<Template, (usize, String)> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' if rest.peek().map(|(_, c)| *c) == Some('{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().map(|(_, c)| *c) == Some('}') => {
                    rest.next();
                    literal.push('}');
                }
                '{' => {
                    let Some(end) = text[at..].find('}') else {
                        return Err((at, "unclosed `{` in text (write `{{` for a brace)".into()));
                    };
                    let name = &text[at + 1..at + end];
                    let part =
                        if name == "profile" {
                            Part::Profile
                        } else if let Some(param) = name.strip_prefix("param.") {
                            Part::Param(names.param(param).ok_or_else(|| {
                                (at, format!("unknown parameter `{param}` in text"))
                            })?)
                        } else if let Some(field) = Field::lookup(name) {
                            if !allow_facts {
                                return Err((
                                    at,
                                    format!("`{{{name}}}`: this text may name parameters only"),
                                ));
                            }
                            Part::Fact(field)
                        } else {
                            return Err((at, format!("unknown request field `{name}` in text")));
                        };
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal).into()));
                    }
                    parts.push(part);
                    while rest.peek().is_some_and(|(i, _)| *i <= at + end) {
                        rest.next();
                    }
                }
                '}' => return Err((at, "unmatched `}` in text (write `}}` for a brace)".into())),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal.into()));
        }
        Ok(Template {
            parts: parts.into(),
        })
    }

    pub fn render(&self, ctx: &Context, out: &mut String) {
        for part in self.parts.iter() {
            part.write(ctx, out);
        }
    }

    /// The parsed parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn to_string(&self, ctx: &Context) -> String {
        let mut out = String::with_capacity(160);
        self.render(ctx, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OneParam;
    impl Names for OneParam {
        fn param(&self, name: &str) -> Option<usize> {
            (name == "threshold").then_some(0)
        }
    }

    #[test]
    fn parses_placeholders_and_escapes() {
        let template = Template::parse(
            "{percent_relief} vs {param.threshold} {{x}} ({profile})",
            &OneParam,
            true,
        );
        let parts = template.unwrap().parts;
        assert_eq!(parts[0], Part::Fact(Field::PercentRelief));
        assert_eq!(parts[1], Part::Text(" vs ".into()));
        assert_eq!(parts[2], Part::Param(0));
        assert_eq!(parts[3], Part::Text(" {x} (".into()));
        assert_eq!(parts[4], Part::Profile);
    }

    #[test]
    fn reports_the_offset_of_bad_placeholders() {
        assert_eq!(
            Template::parse("ok {percent_releif}", &OneParam, true)
                .unwrap_err()
                .0,
            3
        );
        assert!(
            Template::parse("{param.nope}", &OneParam, true)
                .unwrap_err()
                .1
                .contains("nope")
        );
        assert!(Template::parse("{percent_relief}", &OneParam, false).is_err());
        assert!(Template::parse("open {", &OneParam, true).is_err());
        assert!(Template::parse("close }", &OneParam, true).is_err());
    }
}
