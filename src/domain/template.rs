//! Templates of the words the centre sends and says: `{name}` placeholders,
//! `{{` and `}}` for literal braces.
//!
//! A template is parsed once, against the set of names its filler supplies
//! ([`Placeholders`]), so an unknown or malformed placeholder is refused
//! where the template is written (the configuration, when it loads) and
//! filling it later cannot meet a name nobody fills in. One rule and one
//! fill for every template: mail, the work-order acknowledgment, the
//! callback script and closing line, the fault text of a fax.
//!
//! May depend on: std, serde. No I/O.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer};

/// The names a kind of template may use, in the order its filler documents them.
pub trait Placeholders {
    const NAMES: &'static [&'static str];
}

/// A template names something nobody fills in, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{name}}}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("unclosed `{{` at character {at}; write `{{{{` for a literal brace")]
    Unclosed { at: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// An index into the kind's [`Placeholders::NAMES`].
    Field(usize),
}

/// A parsed template whose placeholders are all among `P::NAMES`.
pub struct Template<P> {
    source: String,
    parts: Vec<Part>,
    kind: PhantomData<fn() -> P>,
}

impl<P: Placeholders> Template<P> {
    /// Parses `source`; every `{name}` must be one of `P::NAMES`.
    pub fn parse(source: &str) -> Result<Template<P>, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if let Some(after) = tail.strip_prefix('}') {
                text.push('}');
                rest = after;
                continue;
            }
            let Some(end) = tail.find('}') else {
                let done = source.len() - tail.len();
                return Err(TemplateError::Unclosed {
                    at: source[..done].chars().count() + 1,
                });
            };
            let name = tail[1..end].trim();
            let Some(field) = P::NAMES.iter().position(|n| *n == name) else {
                return Err(TemplateError::Unknown {
                    name: name.to_string(),
                    known: P::NAMES.join(", "),
                });
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Field(field));
            rest = &tail[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
            kind: PhantomData,
        })
    }

    /// The template with each placeholder replaced by its value in `values`
    /// (a name the caller does not supply is left empty).
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(i) => {
                    let name = P::NAMES.get(*i).copied().unwrap_or_default();
                    if let Some((_, v)) = values.iter().find(|(k, _)| *k == name) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl<P> Clone for Template<P> {
    fn clone(&self) -> Self {
        Template {
            source: self.source.clone(),
            parts: self.parts.clone(),
            kind: PhantomData,
        }
    }
}

impl<P> fmt::Debug for Template<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

impl<'de, P: Placeholders> Deserialize<'de> for Template<P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A mail's subject and body, both of the same kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound = "P: Placeholders")]
pub struct MailTemplate<P> {
    pub subject: Template<P>,
    pub body: Template<P>,
}

impl<P: Placeholders> MailTemplate<P> {
    /// The filled subject and body (the body without leading blank lines).
    pub fn fill(&self, values: &[(&str, &str)]) -> (String, String) {
        let body = self.body.fill(values);
        (
            self.subject.fill(values),
            body.trim_start_matches('\n').to_string(),
        )
    }
}

impl<P> Clone for MailTemplate<P> {
    fn clone(&self) -> Self {
        MailTemplate {
            subject: self.subject.clone(),
            body: self.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ab;
    impl Placeholders for Ab {
        const NAMES: &'static [&'static str] = &["a", "b"];
    }

    #[test]
    fn fills_and_keeps_literal_braces() {
        let t = Template::<Ab>::parse("{a}-{ b }{{x}} }").unwrap();
        assert_eq!(t.fill(&[("a", "1"), ("b", "二")]), "1-二{x} }");
        assert_eq!(t.fill(&[("a", "1")]), "1-{x} }");
        assert_eq!(t.as_str(), "{a}-{ b }{{x}} }");
    }

    #[test]
    fn refuses_unknown_and_unclosed() {
        let e = Template::<Ab>::parse("工单 {c}").unwrap_err();
        assert_eq!(e.to_string(), "unknown placeholder `{c}` (known: a, b)");
        assert_eq!(
            Template::<Ab>::parse("故障 {a").unwrap_err(),
            TemplateError::Unclosed { at: 4 }
        );
    }

    #[test]
    fn a_mail_body_loses_its_leading_newline() {
        let m = MailTemplate::<Ab> {
            subject: Template::parse("{a}").unwrap(),
            body: Template::parse("\n{b}\n").unwrap(),
        };
        assert_eq!(
            m.fill(&[("a", "1"), ("b", "2")]),
            ("1".to_string(), "2\n".to_string())
        );
    }
}
