//! What RFC 3261 says of a request's octets, decided before rsipstack's
//! parser sees them (the torture messages of RFC 4475 are the test).
//!
//! rsipstack 0.7 is liberal where the RFC asks for 400 (it takes the first
//! of two Content-Lengths, reads an unterminated quote, answers SIP/7.0) and
//! strict where the RFC asks for tolerance (LWS around `=` and `/`, folded
//! lines, a From without tag). So every request passes [`check`] first:
//!
//! - a malformed request is refused here, answered statelessly from its own
//!   header lines ([`reply`]): 400 with a Warning naming the fault, 505 for
//!   another SIP version; a request without a Via cannot be answered and
//!   is dropped;
//! - a well-formed one is normalised into the form the parser reads (lines
//!   unfolded, header names and structured values without optional LWS,
//!   the body cut to its Content-Length, an RFC 2543 From given a tag that
//!   [`strip_synthetic_tag`] takes off every response again), so that
//!   valid requests are never refused for their formatting.
//!
//! The application-level checks of RFC 3261 §8.2.2 that follow the method
//! check (416 scheme, 420 Require, 415 body) are [`unsupported_scheme`],
//! [`required_extensions`] and [`acceptable_body`], used by the server.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// What becomes of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Well formed: these octets go to the parser (the request itself when
    /// it needs no normalising, the common case).
    Pass(Cow<'a, [u8]>),
    /// Answer statelessly with this status; `why` goes into a Warning.
    Refuse { code: u16, why: String },
}

/// The From tag given to a request without one (RFC 2543): derived from
/// the Call-ID and the From value, so its CANCEL and ACK get the same one.
pub const SYNTHETIC_TAG: &str = "faultdesk-2543-";

/// One header line, unfolded: (name as written, trimmed; value, trimmed).
struct Line<'a> {
    name: &'a str,
    value: Cow<'a, str>,
    /// Written as `name: value` on one line (nothing to normalise but the value).
    plain: bool,
}

/// Single-valued headers (RFC 3261 §20) with their compact forms.
const SINGLE: &[(&str, &str)] = &[
    ("call-id", "i"),
    ("cseq", ""),
    ("from", "f"),
    ("to", "t"),
    ("max-forwards", ""),
    ("content-length", "l"),
    ("content-type", "c"),
];

fn is(name: &str, long: &str, compact: &str) -> bool {
    name.eq_ignore_ascii_case(long) || (!compact.is_empty() && name.eq_ignore_ascii_case(compact))
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

fn refuse(code: u16, why: impl Into<String>) -> Verdict<'static> {
    Verdict::Refuse {
        code,
        why: why.into(),
    }
}

/// The parts of a message: start line, header lines (unfolded), body.
struct Parts<'a> {
    start: &'a str,
    lines: Vec<Line<'a>>,
    /// A header line that is neither `name: value` nor a continuation.
    stray: Option<&'a str>,
    body: &'a [u8],
}

/// Splits the head from the body. `None` when the head is not text.
fn split(raw: &[u8]) -> Option<Parts<'_>> {
    let (head, body) = match super::wire::find(raw, b"\r\n\r\n") {
        Some(p) => (&raw[..p], &raw[p + 4..]),
        None => (raw.strip_suffix(b"\r\n").unwrap_or(raw), &raw[raw.len()..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut rows = head.split("\r\n");
    let start = rows.next()?;
    let mut lines: Vec<Line> = Vec::new();
    let mut stray = None;
    for l in rows {
        match (
            l.starts_with([' ', '\t']),
            lines.last_mut(),
            l.split_once(':'),
        ) {
            // A continuation is one SP (RFC 3261 §7.3.1).
            (true, Some(last), _) => {
                let value = last.value.to_mut();
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(l.trim());
                last.plain = false;
            }
            (false, _, Some((name, value))) => {
                let (name, value) = (name.trim(), value.trim());
                lines.push(Line {
                    name,
                    value: Cow::Borrowed(value),
                    plain: l.len() == name.len() + 2 + value.len()
                        && l.as_bytes().get(name.len()..name.len() + 2) == Some(b": "),
                });
            }
            _ => stray = stray.or(Some(l)),
        }
    }
    Some(Parts {
        start,
        lines,
        stray,
        body,
    })
}

/// Splits at `sep` (ASCII) outside double quotes (with `\` escapes) and
/// `<…>`. Works on bytes: every byte it looks at is ASCII, which is never
/// part of a multi-byte UTF-8 character, so every cut is a char boundary.
fn split_outside(s: &str, sep: u8) -> Vec<&str> {
    if !s.as_bytes().contains(&sep) {
        return vec![s];
    }
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            _ if b == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Whether every double quote is closed (backslash escapes honoured).
fn quotes_balanced(s: &str) -> bool {
    if !s.as_bytes().contains(&b'"') {
        return true;
    }
    let (mut quoted, mut escaped) = (false, false);
    for &b in s.as_bytes() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ => {}
        }
    }
    !quoted
}

/// The fault of one name-addr / addr-spec (From, To, one Contact value).
fn name_addr_fault(v: &str) -> Option<&'static str> {
    if !quotes_balanced(v) {
        return Some("unterminated quoted string");
    }
    if v.trim() == "*" {
        return None;
    }
    let first = split_outside(v, b';')[0].trim();
    match first.find('<') {
        Some(lt) if !first.starts_with('"') => {
            // Unquoted display name: tokens and LWS only; non-ASCII text
            // (a name some PBXs do not quote) is no separator and is taken.
            if !first[..lt]
                .chars()
                .all(|c| token_char(c) || c == ' ' || !c.is_ascii())
            {
                return Some("unquoted display name with characters outside token");
            }
            uri_in_angles(&first[lt..])
        }
        Some(_) => {
            let close = closing_quote(first)?;
            let rest = first[close..].trim_start();
            if !rest.starts_with('<') {
                return Some("quoted display name without <URI>");
            }
            uri_in_angles(rest)
        }
        None if first.starts_with('"') => Some("quoted display name without <URI>"),
        None if first.contains(['?', ',', ' ']) => {
            Some("addr-spec with headers or spaces (needs <>)")
        }
        None => None,
    }
}

/// Index just past the closing quote of a string starting with `"`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn uri_in_angles(s: &str) -> Option<&'static str> {
    let Some(end) = s.find('>') else {
        return Some("< without >");
    };
    let uri = &s[1..end];
    if uri.is_empty() || uri.contains([' ', '\t']) {
        return Some("white space inside <URI>");
    }
    None
}

/// The fault of a Via header value (possibly several comma-separated).
fn via_fault(v: &str) -> Option<&'static str> {
    for one in split_outside(v, b',') {
        let mut parts = split_outside(one, b';').into_iter();
        let sent = parts.next().unwrap_or("").trim();
        if sent.is_empty() {
            return Some("empty Via value");
        }
        if parts.any(|p| p.trim().is_empty() || p.trim().starts_with('=')) {
            return Some("empty Via parameter");
        }
    }
    None
}

/// Checks a request and brings it into the form the parser reads.
/// Responses and keep-alives are not for this function.
pub fn check(raw: &[u8], datagram: bool) -> Verdict<'_> {
    let Some(Parts {
        start,
        lines,
        stray,
        body,
    }) = split(raw)
    else {
        return refuse(400, "unreadable header section");
    };
    if let Some(l) = stray {
        return refuse(400, format!("not a header line: {:.40}", l.trim()));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version (exactly).
    let parts: Vec<&str> = start.split(' ').collect();
    let version = parts.last().copied().unwrap_or("");
    if parts.len() >= 3 && version.starts_with("SIP/") && version != "SIP/2.0" {
        return refuse(505, format!("{version} is not supported"));
    }
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) || start.contains('\t') {
        return refuse(400, "Request-Line is not Method SP Request-URI SP SIP/2.0");
    }
    if !parts[0].chars().all(token_char) {
        return refuse(400, "method is not a token");
    }
    let uri = parts[1];
    if uri.starts_with('<') {
        return refuse(400, "Request-URI in <>");
    }
    let Some((scheme, _)) = uri.split_once(':') else {
        return refuse(400, "Request-URI has no scheme");
    };
    // Headers follow the host part; a user part may hold a '?' of its own.
    let host_part = uri.rsplit_once('@').map_or(uri, |(_, h)| h);
    if (scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips"))
        && host_part.contains('?')
    {
        return refuse(400, "Request-URI with headers");
    }

    // Single-valued headers once; Content-Length a number within the datagram.
    for (long, compact) in SINGLE {
        let n: usize = lines
            .iter()
            .filter(|l| is(l.name, long, compact))
            .map(|l| {
                if *long == "content-length" {
                    1
                } else {
                    split_outside(&l.value, b',').len()
                }
            })
            .sum();
        if n > 1 {
            return refuse(400, format!("more than one {long} value"));
        }
    }
    let length = match lines.iter().find(|l| is(l.name, "content-length", "l")) {
        Some(l) => match l.value.parse::<usize>() {
            Ok(n) if !datagram || n <= body.len() => n,
            Ok(n) => {
                return refuse(
                    400,
                    format!("Content-Length {n} but {} octets of body", body.len()),
                );
            }
            Err(_) => return refuse(400, format!("Content-Length {:?}", l.value.as_ref())),
        },
        None => body.len(),
    };
    for l in &lines {
        let fault = if is(l.name, "via", "v") {
            via_fault(&l.value)
        } else if is(l.name, "from", "f") || is(l.name, "to", "t") {
            name_addr_fault(&l.value)
        } else if is(l.name, "contact", "m") {
            split_outside(&l.value, b',')
                .into_iter()
                .find_map(name_addr_fault)
        } else {
            None
        };
        if let Some(why) = fault {
            return refuse(400, format!("{}: {why}", l.name));
        }
    }

    // A From without tag is RFC 2543's; an RFC 3261 client (magic cookie
    // in its branch) must send one (RFC 3261 §8.1.1.3).
    let from_untagged = lines
        .iter()
        .any(|l| is(l.name, "from", "f") && !has_tag(&tighten(&l.value)));
    if from_untagged && top_via(&lines).is_some_and(|(_, params)| magic_branch(&params)) {
        return refuse(400, "From without tag (RFC 3261 §8.1.1.3)");
    }

    let tightened: Vec<Cow<str>> = lines
        .iter()
        .map(|l| match structured(l.name) {
            true => tighten(&l.value),
            false => Cow::Borrowed(l.value.as_ref()),
        })
        .collect();
    let has_length = lines.iter().any(|l| is(l.name, "content-length", "l"));
    let as_is = !from_untagged
        && has_length
        && length == body.len()
        && lines
            .iter()
            .zip(&tightened)
            .all(|(l, t)| l.plain && matches!(t, Cow::Borrowed(_)));
    if as_is {
        return Verdict::Pass(Cow::Borrowed(raw));
    }

    let mut out = Vec::with_capacity(raw.len() + 64);
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    let call_id = lines
        .iter()
        .find(|l| is(l.name, "call-id", "i"))
        .map_or("", |l| l.value.as_ref());
    for (l, value) in lines.iter().zip(&tightened) {
        out.extend_from_slice(l.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        if is(l.name, "from", "f") && !has_tag(value) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (call_id, value.as_ref()).hash(&mut h);
            out.extend_from_slice(format!(";tag={SYNTHETIC_TAG}{:016x}", h.finish()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    if !has_length {
        out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body[..length.min(body.len())]);
    Verdict::Pass(Cow::Owned(out))
}

/// Whether Via parameters carry RFC 3261's magic cookie branch.
fn magic_branch(params: &[String]) -> bool {
    params.iter().any(|p| {
        p.split_once('=')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("branch") && v.starts_with("z9hG4bK"))
    })
}

/// Headers whose values are parsed (and where LWS around separators is
/// optional); unknown headers are passed on as they came.
fn structured(name: &str) -> bool {
    [
        ("via", "v"),
        ("from", "f"),
        ("to", "t"),
        ("contact", "m"),
        ("route", ""),
        ("record-route", ""),
        ("cseq", ""),
        ("max-forwards", ""),
        ("content-length", "l"),
        ("content-type", "c"),
        ("require", ""),
        ("supported", "k"),
    ]
    .iter()
    .any(|(l, c)| is(name, l, c))
}

fn has_tag(from: &str) -> bool {
    split_outside(from, b';').iter().skip(1).any(|p| {
        p.split_once('=')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("tag"))
    })
}

/// A value without optional LWS: none around `; = / , >` (outside
/// quotes), single spaces elsewhere.
fn tighten(v: &str) -> Cow<'_, str> {
    if !v.contains([' ', '\t']) {
        return Cow::Borrowed(v);
    }
    let out = tighten_owned(v);
    if out == v {
        Cow::Borrowed(v)
    } else {
        Cow::Owned(out)
    }
}

fn tighten_owned(v: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(v.len());
    let (mut quoted, mut escaped, mut space, mut after_sep) = (false, false, false, true);
    for &b in v.as_bytes() {
        if quoted {
            out.push(b);
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b' ' | b'\t' => space = true,
            b';' | b'=' | b'/' | b',' | b'>' => {
                out.push(b);
                space = false;
                after_sep = true;
            }
            _ => {
                if space && !after_sep {
                    out.push(b' ');
                }
                quoted = b == b'"';
                out.push(b);
                space = false;
                after_sep = false;
            }
        }
    }
    // Only ASCII white space was left out: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| v.to_string())
}

/// A response built from a request's own header lines (RFC 3261 §8.2.6):
/// Via, From, To (with a tag), Call-ID and CSeq copied. `None` when the
/// request has no Via (nowhere to answer).
pub fn reply(raw: &[u8], code: u16, why: &str, server: &str) -> Option<Vec<u8>> {
    let lines = split(raw)?.lines;
    if !lines.iter().any(|l| is(l.name, "via", "v")) {
        return None;
    }
    let mut out = format!("SIP/2.0 {code} {}\r\n", reason(code));
    let mut to_tag = format!(";tag={}", rsipstack::transaction::make_tag());
    for (long, compact) in [
        ("via", "v"),
        ("from", "f"),
        ("to", "t"),
        ("call-id", "i"),
        ("cseq", ""),
    ] {
        for l in lines.iter().filter(|l| is(l.name, long, compact)) {
            let tag = if long == "to" && !has_tag(&l.value) {
                std::mem::take(&mut to_tag)
            } else {
                String::new()
            };
            out.push_str(&format!("{}: {}{tag}\r\n", canonical(long), l.value));
        }
    }
    let why = why.replace(['"', '\\'], "'");
    out.push_str(&format!(
        "Server: {server}\r\nWarning: 399 faultdesk \"{why}\"\r\nContent-Length: 0\r\n\r\n"
    ));
    Some(out.into_bytes())
}

fn canonical(long: &str) -> &'static str {
    match long {
        "via" => "Via",
        "from" => "From",
        "to" => "To",
        "call-id" => "Call-ID",
        _ => "CSeq",
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        505 => "Version Not Supported",
        _ => "Error",
    }
}

/// Where a stateless answer over UDP goes (RFC 3261 §18.2.2, RFC 3581):
/// `None` for the source port (rport asked), else the top Via's port.
pub fn reply_port(raw: &[u8]) -> Option<u16> {
    let lines = split(raw)?.lines;
    let (sent_by, params) = top_via(&lines)?;
    let rport = |p: &String| {
        let name = p.split('=').next().unwrap_or("");
        name.eq_ignore_ascii_case("rport")
    };
    if params.iter().any(rport) {
        return None;
    }
    // host, IPv4:port, [IPv6]:port: the port follows the last ':' after any ']'.
    let after = sent_by.rsplit(']').next().unwrap_or("");
    let port = after.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
    Some(port.unwrap_or(5060))
}

/// The top Via's sent-by and its parameters, without optional LWS.
fn top_via(lines: &[Line]) -> Option<(String, Vec<String>)> {
    let via = lines.iter().find(|l| is(l.name, "via", "v"))?;
    let top = tighten(split_outside(&via.value, b',')[0]);
    let top = top.as_ref();
    let mut parts = top.split(';');
    let sent_by = parts.next()?.rsplit(' ').next()?.to_string();
    Some((sent_by, parts.map(str::to_string).collect()))
}

/// Takes the tag [`check`] gave an RFC 2543 From off a response's From.
pub fn strip_synthetic_tag(from: &str) -> Option<String> {
    let at = from.find(&format!(";tag={SYNTHETIC_TAG}"))?;
    let rest = &from[at + 1..];
    let end = rest.find(';').map_or(from.len(), |e| at + 1 + e);
    Some(format!("{}{}", &from[..at], &from[end..]))
}

/// Every outgoing response loses the From tag [`check`] gave an RFC 2543
/// request: the From of a response equals the request's (RFC 3261 §8.2.6.2).
pub struct RestoreFrom;

impl rsipstack::transaction::endpoint::MessageInspector for RestoreFrom {
    fn before_send(
        &self,
        msg: rsipstack::sip::SipMessage,
        _dest: Option<&rsipstack::transport::SipAddr>,
    ) -> rsipstack::sip::SipMessage {
        match msg {
            rsipstack::sip::SipMessage::Response(mut r) => {
                restore_from(&mut r.headers);
                r.into()
            }
            other => other,
        }
    }

    fn after_received(
        &self,
        msg: rsipstack::sip::SipMessage,
        _from: Option<&rsipstack::transport::SipAddr>,
    ) -> rsipstack::sip::SipMessage {
        msg
    }
}

/// Takes a synthetic tag off the From header among `headers`.
pub fn restore_from(headers: &mut rsipstack::sip::Headers) {
    for h in headers.iter_mut() {
        if let rsipstack::sip::Header::From(f) = h
            && let Some(v) = strip_synthetic_tag(f.value())
        {
            *h = rsipstack::sip::Header::From(v.into());
        }
    }
}

/// A URI component with its `%HH` escapes decoded (once, never
/// recursively); a `%` not followed by two hex digits stays as it is.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3261 §8.2.2.1: schemes we serve in a Request-URI.
pub fn unsupported_scheme(uri: &str) -> bool {
    let scheme = uri.split(':').next().unwrap_or("");
    !["sip", "sips", "tel"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// RFC 3261 §8.2.2.3: the option tags of Require values (we support none).
pub fn required_extensions<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// RFC 3261 §8.2.3: a body we can take with an INVITE (SDP, or a multipart
/// that may carry it); no body at all is fine.
pub fn acceptable_body(content_type: Option<&str>, body_len: usize) -> bool {
    if body_len == 0 {
        return true;
    }
    let ty = content_type
        .unwrap_or("application/sdp")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ty == "application/sdp" || ty.starts_with("multipart/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(raw: &str) -> String {
        match check(raw.as_bytes(), true) {
            Verdict::Pass(o) => String::from_utf8(o.into_owned()).unwrap(),
            v => panic!("{v:?}"),
        }
    }

    fn code(raw: &str) -> u16 {
        match check(raw.as_bytes(), true) {
            Verdict::Refuse { code, .. } => code,
            v => panic!("passed: {v:?}"),
        }
    }

    const OK: &str = "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:2@h>;tag=a\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_plain_request_passes_as_it_is() {
        assert!(matches!(
            check(OK.as_bytes(), true),
            Verdict::Pass(Cow::Borrowed(_))
        ));
        let spaced = OK.replace("CSeq: 1 INVITE", "CSeq:  1  INVITE");
        assert!(pass(&spaced).contains("\r\nCSeq: 1 INVITE\r\n"));
    }

    #[test]
    fn folded_and_spaced_headers_are_tightened() {
        let out = pass(
            "INVITE sip:1@h SIP/2.0\r\nTO :\r\n sip:1@h ;   tag    = x\r\nfrom   : \"J \\\"\"  <sip:2@h>\r\n  ;\r\n  tag = y\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=b\r\ncseq: 0009\r\n  INVITE\r\nX: a  ;; b\r\nl: 0\r\n\r\n",
        );
        assert!(out.contains("TO: sip:1@h;tag=x\r\n"), "{out}");
        assert!(
            out.contains("from: \"J \\\"\" <sip:2@h>;tag=y\r\n"),
            "{out}"
        );
        assert!(
            out.contains("Via: SIP/2.0/UDP 192.0.2.2;branch=b\r\n"),
            "{out}"
        );
        assert!(out.contains("cseq: 0009 INVITE\r\n"), "{out}");
        assert!(out.contains("X: a  ;; b\r\n"), "{out}");
    }

    #[test]
    fn malformed_requests_are_refused() {
        let cases = [
            ("SIP/2.0\r\nVia", "SIP/7.0\r\nVia", 505),
            ("INVITE sip:1@h", "INVITE  sip:1@h", 400),
            ("sip:1@h SIP", "<sip:1@h> SIP", 400),
            ("sip:1@h SIP", "sip:1@h?Route=x SIP", 400),
            ("sip:1@h SIP", "sip:1@h; lr SIP", 400),
            ("Content-Length: 0", "Content-Length: 9", 400),
            ("Content-Length: 0", "Content-Length: -1", 400),
            ("Call-ID: c", "Call-ID: c\r\ni: d", 400),
            ("Call-ID: c", "Call-ID: c\r\ngarbage", 400),
            ("branch=z9hG4bK1", "branch=z9hG4bK1;;,", 400),
            ("To: <sip:1@h>", "To: \"A <sip:1@h>", 400),
            ("To: <sip:1@h>", "To: A, B <sip:1@h>", 400),
            ("To: <sip:1@h>", "To: < sip:1@h >", 400),
        ];
        for (from, to, want) in cases {
            assert_eq!(code(&OK.replace(from, to)), want, "{to}");
        }
        let stray = OK.replace("Call-ID: c", "Call-ID: c\r\ngarbage");
        let answer = reply(stray.as_bytes(), 400, "", "fd");
        assert!(answer.is_some(), "a stray line does not hide the Via");
        // Taken: a '?' in the user part, a non-ASCII unquoted display name.
        for (from, to) in [
            ("sip:1@h SIP", "sip:1?x@h SIP"),
            ("To: <sip:1@h>", "To: 张三 <sip:1@h>"),
        ] {
            let taken = OK.replace(from, to);
            assert!(
                matches!(check(taken.as_bytes(), true), Verdict::Pass(_)),
                "{to}"
            );
        }
    }

    #[test]
    fn rfc2543_from_gets_a_tag_that_responses_lose() {
        let rfc2543 = OK.replace(";tag=a", "").replace(";branch=z9hG4bK1", "");
        assert_eq!(
            code(&OK.replace(";tag=a", "")),
            400,
            "RFC 3261 needs the tag"
        );
        let out = pass(&rfc2543);
        let from = out
            .lines()
            .find(|l| l.starts_with("From:"))
            .unwrap()
            .to_string();
        assert!(from.contains(SYNTHETIC_TAG), "{from}");
        assert_eq!(pass(&rfc2543), out, "the same tag each time");
        let value = from.trim_start_matches("From: ");
        assert_eq!(strip_synthetic_tag(value).as_deref(), Some("<sip:2@h>"));
        assert_eq!(strip_synthetic_tag("<sip:2@h>;tag=a"), None);
    }

    #[test]
    fn the_body_is_cut_to_its_length_and_stateless_replies_copy_the_headers() {
        let raw = OK.replace(
            "Content-Length: 0\r\n\r\n",
            "Content-Length: 2\r\n\r\nabINVITE",
        );
        assert!(pass(&raw).ends_with("\r\n\r\nab"));
        let r = String::from_utf8(reply(raw.as_bytes(), 400, "x \"y\"", "fd").unwrap()).unwrap();
        assert!(r.starts_with("SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"));
        assert!(
            r.contains("\r\nTo: <sip:1@h>;tag=") && r.contains("Warning: 399 faultdesk \"x 'y'\"")
        );
        assert_eq!(
            reply(
                b"OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n",
                400,
                "",
                "fd"
            ),
            None
        );
        assert_eq!(reply_port(raw.as_bytes()), Some(5060));
        assert_eq!(
            reply_port(raw.replace("UDP h;", "UDP h:7;").as_bytes()),
            Some(7)
        );
        assert_eq!(
            reply_port(raw.replace("UDP h;", "UDP h:7;rport;").as_bytes()),
            None
        );
    }

    #[test]
    fn application_checks() {
        assert_eq!(unescape("%38%388331%314"), "88833114");
        assert_eq!(unescape("value%2541%Z%4"), "value%41%Z%4");
        assert!(unsupported_scheme("soap.beep://192.0.2.103:3002"));
        assert!(!unsupported_scheme("SIP:1@h"));
        assert_eq!(required_extensions(["a, b", ""]), vec!["a", "b"]);
        assert!(acceptable_body(Some("application/SDP"), 10));
        assert!(!acceptable_body(Some("application/unknownformat"), 10));
        assert!(acceptable_body(Some("application/unknownformat"), 0));
    }
}
