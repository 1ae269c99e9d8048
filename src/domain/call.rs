//! Calls to the fault line: who is calling and how a call ended.
//!
//! The caller is taken from P-Asserted-Identity, then Remote-Party-ID, then
//! From (the first whose address holds a phone number); a display name is
//! kept for people to read and never used to find the number. A CANCEL whose
//! Reason says `SIP;cause=200` means an agent answered on another phone; any
//! other CANCEL means the caller hung up. Outcomes belong to the call, never
//! to a phone that rang.
//!
//! May depend on: std, serde, `domain::number`, `domain::names`. No I/O.

use serde::Serialize;

use super::number::NumberingPlan;

crate::named! {
    /// How a call to the fault line ended (or that it has not yet).
    pub enum Outcome: "call outcome" {
        Ringing = "ringing" / "振铃中",
        /// An agent picked up on another phone of the ring group.
        AnsweredElsewhere = "answered-elsewhere" / "已接听",
        /// The caller hung up before anyone answered.
        Abandoned = "abandoned" / "未接·对方挂断",
        /// Nobody answered within the configured ring limit (answered with 480).
        TimedOut = "timed-out" / "未接·超时",
        /// faultdesk stopped (or crashed) while the call was ringing.
        Interrupted = "interrupted" / "中断(系统停止)",
    }
}

crate::named! {
    /// The identity header a caller was taken from.
    pub enum IdentityHeader: "identity header" {
        /// P-Asserted-Identity.
        Pai = "pai",
        /// Remote-Party-ID.
        Rpid = "rpid",
        From = "from",
    }
}

impl Outcome {
    /// Whether an agent may say they took this call (我接的): it was answered,
    /// is still ringing (picked up before the CANCEL arrived), or the daemon
    /// stopped before knowing. A call the caller gave up on was taken by nobody.
    pub fn claimable(self) -> bool {
        matches!(
            self,
            Outcome::Ringing | Outcome::AnsweredElsewhere | Outcome::Interrupted
        )
    }

    /// The outcome a CANCEL carrying these Reason header values means.
    pub fn of_cancel<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Outcome {
        if reasons.into_iter().any(reason_is_answered_elsewhere) {
            Outcome::AnsweredElsewhere
        } else {
            Outcome::Abandoned
        }
    }
}

/// Whether one Reason header value (possibly a comma list) carries
/// `SIP;cause=200` (RFC 3326; "Call completed elsewhere").
pub fn reason_is_answered_elsewhere(value: &str) -> bool {
    split_outside_quotes(value, ',').into_iter().any(|entry| {
        let mut parts = split_outside_quotes(entry, ';').into_iter();
        let proto = parts.next().unwrap_or("").trim();
        proto.eq_ignore_ascii_case("SIP")
            && parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("cause") && v.trim() == "200"
                })
            })
    })
}

/// The extension a PBX names as the phone that answered a call completed
/// elsewhere: the configured header's value first (`8001`, `sip:8001@pbx`,
/// `"Wang" <sip:8001@pbx>`), then the text of a `SIP;cause=200` Reason
/// (`text="Call completed elsewhere by 8001"`: its last word, when that is
/// digits). None when neither names one.
pub fn answering_extension<'a>(
    reasons: impl IntoIterator<Item = &'a str>,
    header: Option<&str>,
) -> Option<String> {
    if let Some(ext) = header.and_then(extension_of_address) {
        return Some(ext);
    }
    reasons
        .into_iter()
        .flat_map(|v| split_outside_quotes(v, ','))
        .filter(|entry| reason_is_answered_elsewhere(entry))
        .find_map(|entry| {
            let text = split_outside_quotes(entry, ';')
                .into_iter()
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("text"))?
                .1
                .trim()
                .trim_matches('"')
                .to_string();
            let last = text.split_whitespace().last()?;
            let last = last.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            digits(last)
        })
}

/// The extension in a header value: plain digits, or the user part of a URI.
fn extension_of_address(value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(d) = digits(v) {
        return Some(d);
    }
    let uri = name_addr(v)?.uri;
    let rest = uri.split_once(':').map_or(uri.as_str(), |(_, r)| r);
    digits(rest.split(['@', ';']).next()?)
}

/// `s` if it is 1 to 20 ASCII digits.
fn digits(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_string())
}

/// A name-addr or addr-spec: `"Name" <sip:u@h>;tag=x`, `Name <tel:+86…>`, `sip:u@h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
}

/// Parses the first entry of a header value such as From, P-Asserted-Identity
/// or Remote-Party-ID. Never fails on a strange display name: without a URI
/// the result is None.
pub fn name_addr(value: &str) -> Option<NameAddr> {
    let first = split_outside_quotes(value, ',').into_iter().next()?.trim();
    let (display, rest) = if let Some(after) = first.strip_prefix('"') {
        // Quoted display name with backslash escapes.
        let mut name = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        name.push(n);
                    }
                }
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                _ => name.push(c),
            }
        }
        (Some(name), &after[end?..])
    } else if let Some(lt) = first.find('<') {
        (Some(first[..lt].trim().to_string()), &first[lt..])
    } else {
        (None, first)
    };
    let rest = rest.trim();
    let uri = if let Some(inner) = rest.strip_prefix('<') {
        inner.split('>').next()?.trim()
    } else {
        // addr-spec: parameters after ';' belong to the header, not the URI.
        rest.split(';').next()?.trim()
    };
    if uri.is_empty() {
        return None;
    }
    Some(NameAddr {
        display: display.filter(|d| !d.trim().is_empty()),
        uri: uri.to_string(),
    })
}

/// The caller of a call, as chosen from its identity headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// Which header it came from.
    pub source: IdentityHeader,
    /// The address as received, e.g. `sip:+8613800000000@carrier`.
    pub raw: String,
    pub display: Option<String>,
}

/// Chooses the caller: P-Asserted-Identity, then Remote-Party-ID, then From,
/// taking the first whose address normalises to a phone number; if none does,
/// the first that is present at all.
pub fn choose_caller(
    plan: &NumberingPlan,
    pai: Option<&str>,
    rpid: Option<&str>,
    from: Option<&str>,
) -> Option<Caller> {
    let candidates: Vec<Caller> = [
        (IdentityHeader::Pai, pai),
        (IdentityHeader::Rpid, rpid),
        (IdentityHeader::From, from),
    ]
    .into_iter()
    .filter_map(|(source, v)| {
        let na = name_addr(v?)?;
        Some(Caller {
            source,
            raw: na.uri,
            display: na.display,
        })
    })
    .collect();
    let usable = candidates
        .iter()
        .position(|c| plan.normalise(&c.raw).is_ok())
        .unwrap_or(0);
    candidates.into_iter().nth(usable)
}

/// Splits at `sep` outside double quotes and angle brackets.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> NumberingPlan {
        crate::domain::number::tests::xian()
    }

    #[test]
    fn only_a_call_somebody_may_have_answered_is_claimed() {
        for o in [
            Outcome::Ringing,
            Outcome::AnsweredElsewhere,
            Outcome::Interrupted,
        ] {
            assert!(o.claimable(), "{o:?}");
        }
        for o in [Outcome::Abandoned, Outcome::TimedOut] {
            assert!(!o.claimable(), "{o:?}");
        }
    }

    #[test]
    fn cancel_reasons() {
        let elsewhere = r#"SIP;cause=200;text="Call completed elsewhere""#;
        assert_eq!(Outcome::of_cancel([elsewhere]), Outcome::AnsweredElsewhere);
        assert_eq!(
            Outcome::of_cancel([r#"Q.850;cause=16, sip ; CAUSE = 200"#]),
            Outcome::AnsweredElsewhere
        );
        assert_eq!(Outcome::of_cancel(["Q.850;cause=200"]), Outcome::Abandoned);
        assert_eq!(
            Outcome::of_cancel([r#"SIP;cause=487;text="cause=200""#]),
            Outcome::Abandoned
        );
        assert_eq!(Outcome::of_cancel([]), Outcome::Abandoned);
        assert_eq!(Outcome::AnsweredElsewhere.as_str(), "answered-elsewhere");
    }

    #[test]
    fn the_answering_extension_from_reason_text_or_header() {
        let by = r#"SIP;cause=200;text="Call completed elsewhere by 8001""#;
        assert_eq!(answering_extension([by], None).as_deref(), Some("8001"));
        // The header wins over the Reason's text.
        assert_eq!(
            answering_extension([by], Some("\"Wang\" <sip:8002@pbx;user=phone>")).as_deref(),
            Some("8002")
        );
        assert_eq!(
            answering_extension([], Some(" 8003 ")).as_deref(),
            Some("8003")
        );
        assert_eq!(
            answering_extension([], Some("sip:8004@pbx")).as_deref(),
            Some("8004")
        );
        // A header without digits falls back to the Reason.
        assert_eq!(
            answering_extension([by], Some("reception")).as_deref(),
            Some("8001")
        );
        // A list: only the cause=200 entry counts.
        assert_eq!(
            answering_extension(
                [r#"Q.850;cause=16;text="by 9999", SIP;cause=200;text="elsewhere by 8005.""#],
                None
            )
            .as_deref(),
            Some("8005")
        );
        // No extension named, or not an answered-elsewhere Reason.
        assert_eq!(
            answering_extension([r#"SIP;cause=200;text="Call completed elsewhere""#], None),
            None
        );
        assert_eq!(
            answering_extension([r#"SIP;cause=487;text="by 8001""#], None),
            None
        );
        assert_eq!(answering_extension([r#"SIP;cause=200"#], None), None);
        assert_eq!(answering_extension([], None), None);
    }

    #[test]
    fn name_addrs_of_every_shape() {
        let n = name_addr(r#""Zhang, \"San\"" <sip:+8613800000000@pbx;user=phone>;tag=1"#).unwrap();
        assert_eq!(n.display.as_deref(), Some(r#"Zhang, "San""#));
        assert_eq!(n.uri, "sip:+8613800000000@pbx;user=phone");
        let n = name_addr("张三 <sip:68691234@pbx>").unwrap();
        assert_eq!(n.display.as_deref(), Some("张三"));
        let n = name_addr("sip:88218050@pbx;tag=abc").unwrap();
        assert_eq!((n.display, n.uri.as_str()), (None, "sip:88218050@pbx"));
        let n = name_addr("<tel:+862968691234>, <sip:1@x>").unwrap();
        assert_eq!(n.uri, "tel:+862968691234");
        let n = name_addr("\"\u{FFFD}\u{FFFD}\" <sip:1@x>").unwrap();
        assert_eq!(n.uri, "sip:1@x");
        assert_eq!(name_addr(""), None);
        assert_eq!(name_addr("\"unterminated <sip:1@x>"), None);
    }

    #[test]
    fn caller_precedence() {
        let p = plan();
        let c = choose_caller(
            &p,
            Some("<sip:+8613800000000@carrier>"),
            Some("\"X\" <sip:555@carrier>;party=calling"),
            Some("\"张三\" <sip:68691234@pbx>;tag=1"),
        )
        .unwrap();
        assert_eq!(
            (c.source, c.raw.as_str()),
            (IdentityHeader::Pai, "sip:+8613800000000@carrier")
        );
        let c = choose_caller(
            &p,
            None,
            Some("\"X\" <sip:68695555@c>;party=calling"),
            Some("<sip:1@x>"),
        )
        .unwrap();
        assert_eq!(
            (c.source, c.display.as_deref()),
            (IdentityHeader::Rpid, Some("X"))
        );
        let c = choose_caller(
            &p,
            Some("<sip:anonymous@anonymous.invalid>"),
            None,
            Some("<sip:68691234@pbx>"),
        )
        .unwrap();
        assert_eq!(c.source, IdentityHeader::From);
        let c = choose_caller(&p, None, None, Some("\"Anon\" <sip:anonymous@x>")).unwrap();
        assert_eq!(
            (c.source, c.raw.as_str()),
            (IdentityHeader::From, "sip:anonymous@x")
        );
        assert_eq!(choose_caller(&p, None, None, None), None);
    }

    #[test]
    fn splits_only_outside_quotes_and_angle_brackets() {
        // A `<` inside quotes opens no bracket: the comma after them splits.
        assert_eq!(
            split_outside_quotes(r#""a<b", <sip:1@h>"#, ','),
            [r#""a<b""#, " <sip:1@h>"]
        );
        // A `>` inside quotes closes no bracket: the comma inside it does not split.
        assert_eq!(
            split_outside_quotes(r#"<sip:1@h;p="x>y",q>, d"#, ','),
            [r#"<sip:1@h;p="x>y",q>"#, " d"]
        );
        // A backslash escapes only inside quotes: an escaped quote keeps the
        // string open; outside quotes a backslash escapes nothing.
        assert_eq!(
            split_outside_quotes(r#""a\",b", c"#, ','),
            [r#""a\",b""#, " c"]
        );
        assert_eq!(split_outside_quotes(r"a\,b", ','), [r"a\", "b"]);
    }
}
