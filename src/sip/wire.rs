//! Bytes on the wire before rsipstack sees them: the header transcoder
//! (GBK → UTF-8), TCP framing, keep-alives and the request line of methods
//! the parser does not know. Pure functions over bytes, unit-tested here.

use std::borrow::Cow;

/// Finds `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A keep-alive (only CR/LF/space), answered with nothing.
pub fn is_keepalive(raw: &[u8]) -> bool {
    raw.iter().all(u8::is_ascii_whitespace)
}

/// The message with every non-UTF-8 header line decoded as GBK (GB18030),
/// the body untouched. rsipstack's parser drops a non-UTF-8 header line and
/// every line after it, so a GBK display name would lose From, To, Call-ID.
/// Returns the input itself when the headers are UTF-8 already.
pub fn transcode_headers(raw: &[u8]) -> Cow<'_, [u8]> {
    let end = find(raw, b"\r\n\r\n").map_or(raw.len(), |p| p + 4);
    let (head, body) = raw.split_at(end);
    if std::str::from_utf8(head).is_ok() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + 32);
    for line in head.split_inclusive(|&b| b == b'\n') {
        if std::str::from_utf8(line).is_ok() {
            out.extend_from_slice(line);
        } else {
            // GB18030 decodes every GBK byte sequence; malformed bytes become U+FFFD.
            let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(line);
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.extend_from_slice(body);
    Cow::Owned(out)
}

/// The Content-Length of a header section (`Content-Length` or compact `l`).
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let v = std::str::from_utf8(line[colon + 1..].trim_ascii())
                .ok()
                .and_then(|v| v.parse::<usize>().ok());
            return v.ok_or(FrameError::BadLength);
        }
    }
    Ok(0)
}

/// Why a TCP stream cannot be framed (the connection is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("Content-Length is not a number")]
    BadLength,
}

/// Takes the next whole message off the front of a TCP buffer: Ok(None)
/// means more bytes are needed. Leading CRLF keep-alives are skipped.
pub fn next_frame(buf: &mut Vec<u8>, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let skip = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if skip > 0 {
        buf.drain(..skip);
    }
    let Some(head_end) = find(buf, b"\r\n\r\n").map(|p| p + 4) else {
        if buf.len() > max {
            return Err(FrameError::TooLarge(max));
        }
        return Ok(None);
    };
    let len = content_length(&buf[..head_end])?;
    let total = head_end.checked_add(len).ok_or(FrameError::TooLarge(max))?;
    if total > max {
        return Err(FrameError::TooLarge(max));
    }
    if buf.len() < total {
        return Ok(None);
    }
    let rest = buf.split_off(total);
    Ok(Some(std::mem::replace(buf, rest)))
}

/// For a request whose method the parser refuses: the same bytes with the
/// method token replaced by OPTIONS (to build a 501 from), and the token.
pub fn unknown_method(raw: &[u8]) -> Option<(Vec<u8>, String)> {
    let line_end = find(raw, b"\r\n")?;
    let line = std::str::from_utf8(&raw[..line_end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
    let token = |c: char| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c);
    if method.is_empty() || !method.chars().all(token) || uri.is_empty() || version != "SIP/2.0" {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(b"OPTIONS");
    out.extend_from_slice(&raw[method.len()..]);
    Some((out, method.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn gbk_header_lines_become_utf8_and_the_body_stays() {
        let mut raw = b"INVITE sip:1@h SIP/2.0\r\nFrom: \"".to_vec();
        raw.extend(gbk("张三"));
        raw.extend_from_slice(
            b"\" <sip:2@h>;tag=a\r\nCall-ID: x\r\nContent-Length: 2\r\n\r\n\xff\xfe",
        );
        let out = transcode_headers(&raw);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("From: \"张三\" <sip:2@h>;tag=a\r\nCall-ID: x\r\n"),
            "{text}"
        );
        assert!(out.ends_with(b"\r\n\r\n\xff\xfe"));
        let clean = b"OPTIONS sip:1@h SIP/2.0\r\n\r\n".to_vec();
        assert!(matches!(transcode_headers(&clean), Cow::Borrowed(_)));
        // Garbage that is neither UTF-8 nor GBK still yields a UTF-8 line.
        let junk = b"X: \x80\xff\x81\r\n\r\n";
        assert!(std::str::from_utf8(&transcode_headers(junk)).is_ok());
    }

    #[test]
    fn tcp_frames() {
        let mut buf = b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcINV".to_vec();
        let m = next_frame(&mut buf, 1000).unwrap().unwrap();
        assert!(m.starts_with(b"OPTIONS") && m.ends_with(b"abc"));
        assert_eq!(buf, b"INV");
        assert_eq!(next_frame(&mut buf, 1000).unwrap(), None);
        let mut big = vec![b'a'; 2000];
        assert_eq!(next_frame(&mut big, 1000), Err(FrameError::TooLarge(1000)));
        let mut bad = b"A sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n".to_vec();
        assert_eq!(next_frame(&mut bad, 1000), Err(FrameError::BadLength));
        let mut huge = b"A sip:a SIP/2.0\r\nContent-Length: 99999\r\n\r\n".to_vec();
        assert_eq!(next_frame(&mut huge, 1000), Err(FrameError::TooLarge(1000)));
    }

    #[test]
    fn unknown_methods_are_recognised() {
        let (fixed, m) = unknown_method(b"FOO sip:1@h SIP/2.0\r\nCSeq: 1 FOO\r\n\r\n").unwrap();
        assert_eq!(m, "FOO");
        assert!(fixed.starts_with(b"OPTIONS sip:1@h SIP/2.0\r\n"));
        assert_eq!(unknown_method(b"SIP/2.0 200 OK\r\n\r\n"), None);
        assert_eq!(unknown_method(b"F<O sip:1 SIP/2.0\r\n\r\n"), None);
    }
}
