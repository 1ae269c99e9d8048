//! The UAC side of the SIP benchmarks: one request of a call, and a header
//! of an answer.

use std::net::SocketAddr;

/// Who sends: the fault line called, the daemon's address, the UAC's own,
/// and what makes this run's Call-IDs and callers its own.
#[derive(Clone)]
pub struct Uac {
    pub line: String,
    pub target: SocketAddr,
    pub me: SocketAddr,
    /// Call-IDs are `{tag}-{run}-{id}`.
    pub tag: &'static str,
    pub run: u32,
    /// Callers are `{caller_prefix}{id:07}`.
    pub caller_prefix: &'static str,
}

impl Uac {
    /// The Call-ID of call `id`.
    pub fn call_id(&self, id: u64) -> String {
        format!("{}-{}-{id}", self.tag, self.run)
    }

    /// `method` of call `id` (a CANCEL says "completed elsewhere").
    pub fn request(&self, method: &str, id: u64, to_tag: Option<&str>, reason: bool) -> String {
        let Uac {
            line,
            target,
            me,
            run,
            caller_prefix,
            ..
        } = self;
        format!(
            "{method} sip:{line}@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{run}x{id}\r\n\
From: <sip:{caller_prefix}{id:07}@{me}>;tag=f{id}\r\nTo: <sip:{line}@{target}>{}\r\nCall-ID: {}\r\n\
CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{}Content-Length: 0\r\n\r\n",
            to_tag.map(|t| format!(";tag={t}")).unwrap_or_default(),
            self.call_id(id),
            if reason {
                "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
            } else {
                ""
            },
        )
    }
}

/// A header's value.
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The To tag of an answer (for the ACK of a 487).
pub fn to_tag(msg: &str) -> Option<String> {
    header(msg, "To")
        .and_then(|t| t.split(";tag=").nth(1))
        .map(|t| t.split(';').next().unwrap_or(t).to_string())
}
