//! Tags: where a fault report came from.
//!
//! A report passed on by a telecom desk carries the desk's tag (D180, DC); a
//! customer's own report carries the estate's tag (X, Q, R) once the customer
//! is known; anything else stays untagged for a person to triage. A tag is
//! never guessed from a number's shape: only a line prefix configured for
//! one estate alone (`estates[].line_prefixes`, e.g. 馨苑's telecom 8883)
//! tags a caller the roster does not know.
//!
//! May depend on: std, serde, `domain::number`, `domain::names`. No I/O.

use serde::Serialize;

use super::number::Phone;

/// What the tag rules need to know of a telecom desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskRule {
    pub tag: String,
    /// Local numbers the desk calls and faxes from.
    pub numbers: Vec<String>,
}

/// The outcome of classifying a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "tag", rename_all = "lowercase")]
pub enum Origin {
    /// From a telecom desk.
    Desk(String),
    /// From a known subscriber of an estate.
    Estate(String),
    /// Nobody known: a person decides.
    Untagged,
}

crate::named! {
    /// Which kind of origin a ticket has, as stored with it.
    pub enum OriginKind: "ticket origin" {
        /// From a telecom desk.
        Desk = "desk",
        /// From a known subscriber of an estate.
        Estate = "estate",
        /// Nobody known: a person decides.
        Untagged = "untagged",
    }
}

impl Origin {
    /// Its kind, without the tag.
    pub fn kind(&self) -> OriginKind {
        match self {
            Origin::Desk(_) => OriginKind::Desk,
            Origin::Estate(_) => OriginKind::Estate,
            Origin::Untagged => OriginKind::Untagged,
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Origin::Desk(t) | Origin::Estate(t) => Some(t),
            Origin::Untagged => None,
        }
    }
}

/// The desk that calls or faxes from `number`, if any.
pub fn desk_for<'a>(number: &Phone, desks: &'a [DeskRule]) -> Option<&'a DeskRule> {
    desks
        .iter()
        .find(|d| d.numbers.iter().any(|n| n == number.as_str()))
}

/// Classifies a report by its caller's number and, when the caller is a
/// known subscriber, that subscriber's estate tag. A desk wins over a
/// subscriber (a desk line is never a customer).
pub fn classify(
    caller: Option<&Phone>,
    desks: &[DeskRule],
    subscriber_estate: Option<&str>,
) -> Origin {
    if let Some(d) = caller.and_then(|c| desk_for(c, desks)) {
        return Origin::Desk(d.tag.clone());
    }
    match subscriber_estate {
        Some(tag) => Origin::Estate(tag.to_string()),
        None => Origin::Untagged,
    }
}

/// The estate whose configured line prefix matches `number` best, when the
/// longest matching prefix belongs to that estate alone; none when no
/// prefix matches or estates share it (every estate's own lines start with
/// 6). `prefixes` are (estate tag, prefix).
pub fn estate_by_line<'a>(number: &Phone, prefixes: &'a [(String, String)]) -> Option<&'a str> {
    if number.kind != super::number::PhoneKind::Local {
        return None;
    }
    let n = number.as_str();
    let best = prefixes
        .iter()
        .filter(|(_, p)| !p.is_empty() && n.starts_with(p.as_str()))
        .map(|(_, p)| p.len())
        .max()?;
    let mut tags = prefixes
        .iter()
        .filter(|(_, p)| p.len() == best && n.starts_with(p.as_str()))
        .map(|(t, _)| t.as_str());
    let first = tags.next()?;
    tags.all(|t| t == first).then_some(first)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::number::PhoneKind;

    fn phone(d: &str) -> Phone {
        Phone {
            kind: PhoneKind::Local,
            digits: d.into(),
        }
    }

    pub(crate) fn desks() -> Vec<DeskRule> {
        vec![
            DeskRule {
                tag: "D180".into(),
                numbers: vec!["88217901".into()],
            },
            DeskRule {
                tag: "DC".into(),
                numbers: vec!["88218050".into()],
            },
        ]
    }

    #[test]
    fn a_prefix_of_one_estate_alone_tags() {
        let p: Vec<(String, String)> = [("X", "6"), ("X", "8883"), ("Q", "6"), ("R", "6")]
            .into_iter()
            .map(|(t, p)| (t.to_string(), p.to_string()))
            .collect();
        assert_eq!(estate_by_line(&phone("88831234"), &p), Some("X"));
        assert_eq!(estate_by_line(&phone("68691234"), &p), None);
        assert_eq!(estate_by_line(&phone("88217901"), &p), None);
        let only_x = vec![("X".to_string(), "6".to_string())];
        assert_eq!(estate_by_line(&phone("68691234"), &only_x), Some("X"));
        // Longer prefixes the number does not start with change nothing:
        // neither one as long as the match nor one longer than it.
        let more: Vec<(String, String)> = [
            ("X", "6"),
            ("X", "8883"),
            ("Q", "6"),
            ("Q", "6666"),
            ("R", "77777"),
        ]
        .into_iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect();
        assert_eq!(estate_by_line(&phone("88831234"), &more), Some("X"));
    }

    #[test]
    fn desks_subscribers_and_strangers() {
        let d = desks();
        assert_eq!(
            classify(Some(&phone("88217901")), &d, None),
            Origin::Desk("D180".into())
        );
        assert_eq!(
            classify(Some(&phone("88218050")), &d, Some("X")),
            Origin::Desk("DC".into())
        );
        assert_eq!(
            classify(Some(&phone("68691234")), &d, Some("Q")),
            Origin::Estate("Q".into())
        );
        // A number that looks like an estate line is still not guessed.
        assert_eq!(
            classify(Some(&phone("68691234")), &d, None),
            Origin::Untagged
        );
        assert_eq!(classify(None, &d, None), Origin::Untagged);
        assert_eq!(Origin::Untagged.tag(), None);
        assert_eq!(Origin::Desk("DC".into()).kind(), OriginKind::Desk);
        assert_eq!(Origin::Estate("X".into()).kind().as_str(), "estate");
    }
}
