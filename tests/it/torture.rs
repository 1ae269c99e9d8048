//! RFC 4475's 49 torture messages, one UDP datagram each, against the real
//! daemon; every message must get the answer the RFC gives a UAS.
//!
//! The messages live in `tests/sip/rfc4475.txt` in the RFC's notation
//! (`<allOneLine>`, `<hex>`), decoded here octet for octet.
//!
//! Where the answers go: a SIP endpoint answers where the top Via says, and
//! these Vias name hosts of the RFC's examples (`192.0.2.x`,
//! `host1.example.com` …). The daemon and the test therefore run in a
//! private network namespace that has only its loopback device, so nothing
//! can leave the machine (rewriting each Via's sent-by to the test's socket
//! was the other way; it would change the very octets several messages
//! test, such as the folded Via of §3.1.1.1 or the empty Via parameters of
//! §3.1.2.1). The daemon stamps `received=127.0.0.1` on every
//! Via whose sent-by is not the source address (RFC 3261 §18.2.1), so the
//! answers go to 127.0.0.1 at the Via's port: 5060 where it names none, and
//! the RFC's messages name only 5060, 5050 (§3.1.2.6) and 5070 with `rport`
//! (§3.1.1.11, answered at the source port). The test listens on
//! 127.0.0.1:5060 and :5050 of the namespace (free there: the daemon
//! listens on 5062) and sends every message from :5060. No message is
//! rewritten for routing. A few are sent to the watched number instead of
//! the RFC's user (the `Dial` rows), since only calls to a watched number
//! ring; they say so.
//!
//! The namespace and the daemon are removed when the test ends, pass or
//! fail (Drop guards). Needs `ip` (Debian package iproute2) and root.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{IP, Site, require};

const LINE: &str = "88833114";
const MESSAGES: &str = include_str!("../sip/rfc4475.txt");

/// What a message must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// A final response with this status (and nothing before it but 100).
    Status(u16),
    /// The call is taken: 180 Ringing (after a 100 only if the call was not
    /// recorded within `sip.trying_within_ms`), and a call row.
    Rings,
    /// Nothing comes back: a response with no transaction of ours, which
    /// RFC 3261 §18.1.2 has the transport discard.
    Dropped,
}

/// How a message is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sent {
    /// Octet for octet as the RFC gives it.
    AsIs,
    /// The user part of the Request-URI replaced by the watched number.
    Dial,
}

use Sent::{AsIs, Dial};
use Want::{Dropped, Rings, Status};

/// Every message of RFC 4475 §3 with the answer of a UAS that watches
/// one number (no registrar, no dialogs, no 2xx to INVITE), in the order
/// of RFC 3261 §8.2: malformed (400, 505), method (405, 501), Request-URI
/// scheme (416) and user (404), Require (420), body (415), then the call.
#[rustfmt::skip]
const TABLE: &[(&str, Sent, Want, &str)] = &[
    // 3.1.1 Valid messages: all processed.
    ("wsinv", AsIs, Status(481), "valid; its To tag names a dialog we do not have (RFC 3261 §12.2.2)"),
    ("intmeth", AsIs, Status(501), "valid; unknown method: 501 with Allow"),
    ("esc01", AsIs, Status(404), "valid; the escaped user sips:user@example.com is not ours"),
    ("escnull", AsIs, Status(405), "valid REGISTER; we are no registrar"),
    ("esc02", AsIs, Status(501), "valid; RE%47IST%45R is an unknown method"),
    ("lwsdisp", AsIs, Status(200), "valid OPTIONS"),
    ("longreq", Dial, Rings, "valid INVITE with very long values"),
    ("dblreq", AsIs, Status(405), "the REGISTER; the INVITE octets after it are ignored"),
    ("semiuri", AsIs, Status(200), "valid OPTIONS, user part with ';'"),
    ("transports", AsIs, Status(200), "valid OPTIONS, every transport in Via"),
    ("mpart01", AsIs, Status(405), "valid MESSAGE with a binary part"),
    ("unreason", AsIs, Dropped, "a response: no transaction of ours"),
    ("noreason", AsIs, Dropped, "a response: no transaction of ours"),
    // 3.1.2 Invalid messages.
    ("badinv01", AsIs, Status(400), "empty Via and Contact parameters"),
    ("clerr", AsIs, Status(400), "Content-Length larger than the datagram"),
    ("ncl", AsIs, Status(400), "negative Content-Length"),
    ("scalar02", AsIs, Status(400), "CSeq number over 2**32-1"),
    ("scalarlg", AsIs, Dropped, "a response"),
    ("quotbal", AsIs, Status(400), "unterminated quoted display name"),
    ("ltgtruri", AsIs, Status(400), "Request-URI in <>"),
    ("lwsruri", AsIs, Status(400), "white space inside the Request-URI"),
    ("lwsstart", AsIs, Status(400), "several SP between request-line elements"),
    ("trws", AsIs, Status(400), "SP after the SIP-Version"),
    ("escruri", AsIs, Status(400), "escaped headers in the Request-URI"),
    ("baddate", AsIs, Status(404), "the Date is not used, so not refused; the user is not ours"),
    ("regbadct", AsIs, Status(400), "Contact URI with headers outside <>"),
    ("badaspec", AsIs, Status(400), "spaces inside an addr-spec"),
    ("baddn", AsIs, Status(400), "unquoted display name with non-token characters"),
    ("badvers", AsIs, Status(505), "SIP/7.0"),
    ("mismatch01", AsIs, Status(400), "CSeq method differs from the request's"),
    ("mismatch02", AsIs, Status(501), "unknown method (CSeq mismatch too)"),
    ("bigcode", AsIs, Dropped, "a response with a code over 699"),
    // 3.2 Transaction layer.
    ("badbranch", AsIs, Status(200), "branch without identifier: RFC 2543 matching"),
    // 3.3 Application layer.
    ("insuf", AsIs, Status(400), "no Call-ID, From, To"),
    ("unkscm", AsIs, Status(416), "unknown Request-URI scheme"),
    ("novelsc", AsIs, Status(416), "soap.beep Request-URI"),
    ("unksm2", AsIs, Status(405), "REGISTER (method is checked before To and From)"),
    ("bext01", AsIs, Status(420), "Require of unknown extensions (Unsupported lists them)"),
    ("invut", Dial, Status(415), "body of unknown type (Accept says ours)"),
    ("regaut01", AsIs, Status(405), "REGISTER"),
    ("multi01", AsIs, Status(400), "two values in single-value headers"),
    ("mcl01", AsIs, Status(400), "two Content-Length headers"),
    ("bcast", AsIs, Dropped, "a response"),
    ("zeromf", AsIs, Status(200), "Max-Forwards 0 to its UAS: processed"),
    ("cparam01", AsIs, Status(405), "REGISTER"),
    ("cparam02", AsIs, Status(405), "REGISTER"),
    ("regescrt", AsIs, Status(405), "REGISTER"),
    ("sdp01", Dial, Rings, "Accept without sdp: our answers carry no body"),
    // 3.4 Backward compatibility.
    ("inv2543", Dial, Rings, "RFC 2543 INVITE: no branch, no tags, no Max-Forwards"),
];

/// Decodes the RFC's notation: lines end in CRLF, `<allOneLine>` joins,
/// `<hex>` spells octets.
fn decode(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut joined: Option<String> = None;
    for &line in lines {
        match (line, joined.as_mut()) {
            ("<allOneLine>", None) => joined = Some(String::new()),
            ("</allOneLine>", Some(j)) => {
                out.extend(unhex(j));
                out.extend_from_slice(b"\r\n");
                joined = None;
            }
            (l, Some(j)) => j.push_str(l),
            (l, None) => {
                out.extend(unhex(l));
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    assert!(joined.is_none(), "an <allOneLine> is not closed");
    out
}

fn unhex(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("<hex>") {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let after = &rest[start + 5..];
        let end = after.find("</hex>").expect("a <hex> is not closed");
        let digits: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd hex: {digits}");
        for i in (0..digits.len()).step_by(2) {
            out.push(u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digits"));
        }
        rest = &after[end + 6..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// (section, name, octets) of every message in the file.
fn messages() -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String, Vec<&str>)> = None;
    for line in MESSAGES.lines() {
        if let Some(head) = line.strip_prefix("=== ") {
            if let Some((s, n, l)) = cur.take() {
                out.push((s, n, decode(&l)));
            }
            let (sec, name) = head.split_once(' ').expect("=== SECTION NAME");
            cur = Some((sec.to_string(), name.to_string(), Vec::new()));
        } else if let Some((_, _, l)) = cur.as_mut() {
            l.push(line);
        }
    }
    if let Some((s, n, l)) = cur.take() {
        out.push((s, n, decode(&l)));
    }
    out
}

/// Header values of `name` (or its compact form) in a message's head,
/// unfolded.
fn header_values(msg: &[u8], name: &str, compact: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(msg);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| {
            let n = n.trim();
            n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(compact)
        })
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

fn status_of(resp: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(resp);
    let mut parts = text.split(' ');
    (parts.next() == Some("SIP/2.0"))
        .then(|| parts.next()?.parse().ok())
        .flatten()
}

/// The message sent to the watched number instead of the RFC's user.
fn dial(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(msg).to_string();
    let (line, rest) = text.split_once("\r\n").expect("a request line");
    let start = line.find("sip:").expect("a sip: Request-URI") + 4;
    let at = start + line[start..].find('@').expect("a user part");
    format!("{}{LINE}{}\r\n{rest}", &line[..start], &line[at..]).into_bytes()
}

/// A private network namespace with only its loopback, removed on drop.
struct Netns {
    name: String,
}

fn ip(args: &[&str]) {
    let out = require(&IP)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn new() -> Netns {
        let name = format!("faultdesk-torture-{}", std::process::id());
        // A namespace left by a killed run of this process id goes first.
        let _ = require(&IP).args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// A UDP socket bound inside the namespace (a thread enters it, binds,
    /// and ends; the socket stays in the namespace).
    fn udp(&self, addr: &'static str) -> UdpSocket {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: setns on a valid namespace fd changes this thread only.
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            UdpSocket::bind(addr).unwrap_or_else(|e| panic!("bind {addr} in the namespace: {e}"))
        })
        .join()
        .expect("the namespace thread")
    }

    fn command(&self, program: &str) -> Command {
        let mut c = require(&IP);
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The daemon in the namespace, killed on drop.
struct Daemon {
    site: Site,
    port: u16,
    child: Child,
}

impl Daemon {
    fn start(ns: &Netns) -> Daemon {
        let port = 5062;
        let listen = format!("udp = \"127.0.0.1:{port}\"\ntcp = \"127.0.0.1:{port}\"");
        let site = Site::initialised(&[(
            "udp = \"127.0.0.1:5060\"\ntcp = \"127.0.0.1:5060\"",
            listen.as_str(),
        )]);
        let log = std::fs::File::create(site.file("daemon.log")).expect("daemon.log");
        let child = ns
            .command(crate::support::BIN)
            .arg("run")
            .current_dir(site.path())
            .env_remove("FAULTDESK_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the daemon in the namespace");
        Daemon { site, port, child }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.site.file("daemon.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Datagrams that came back to the test's sockets (the first one sends).
struct Inbox {
    socks: Vec<UdpSocket>,
    got: Vec<Vec<u8>>,
}

impl Inbox {
    /// Reads what arrives on any socket until `until` (or something came).
    fn pump(&mut self, until: Instant) {
        let mut buf = vec![0u8; 65535];
        let slice = Duration::from_millis(10);
        while Instant::now() < until {
            for s in &self.socks {
                s.set_read_timeout(Some(slice)).expect("timeout");
                if let Ok((n, _)) = s.recv_from(&mut buf) {
                    self.got.push(buf[..n].to_vec());
                    return;
                }
            }
        }
    }

    fn send(&self, msg: &[u8], to: (&str, u16)) {
        self.socks[0].send_to(msg, to).expect("send");
    }

    /// Responses whose Call-IDs meet the message's (or both have none).
    fn for_message(&self, msg: &[u8]) -> Vec<Vec<u8>> {
        let ids = header_values(msg, "Call-ID", "i");
        self.got
            .iter()
            .filter(|r| {
                let theirs = header_values(r, "Call-ID", "i");
                if ids.is_empty() {
                    theirs.is_empty()
                } else {
                    theirs.iter().any(|t| ids.contains(t))
                }
            })
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for the message's responses (10 s at most).
    fn wait(&mut self, msg: &[u8], done: impl Fn(&[Vec<u8>]) -> bool) -> Vec<Vec<u8>> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.for_message(msg);
            if done(&got) || Instant::now() >= until {
                return got;
            }
            self.pump(until);
        }
    }
}

fn summary(resps: &[Vec<u8>]) -> String {
    let codes: Vec<String> = resps
        .iter()
        .map(|r| match status_of(r) {
            Some(c) => match header_values(r, "Warning", "Warning").first() {
                Some(w) => format!("{c} [{w}]"),
                None => c.to_string(),
            },
            None => format!(
                "? [{}]",
                String::from_utf8_lossy(r).lines().next().unwrap_or("")
            ),
        })
        .collect();
    if codes.is_empty() {
        "nothing".into()
    } else {
        codes.join(",")
    }
}

/// The probe that tells the daemon has taken everything sent before it.
fn probe(n: usize) -> Vec<u8> {
    format!(
        "OPTIONS sip:{LINE}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKprobe{n}\r\n\
From: <sip:probe@127.0.0.1>;tag=p{n}\r\n\
To: <sip:{LINE}@127.0.0.1>\r\n\
Call-ID: torture-probe-{n}\r\n\
CSeq: 1 OPTIONS\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// An INVITE to the watched number whose P-Asserted-Identity has no
/// display name and whose From has `display` (raw octets).
fn pai_invite(call_id: &str, display: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "INVITE sip:{LINE}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{call_id}\r\n\
P-Asserted-Identity: <sip:+862968697777@carrier.invalid;user=phone>\r\n\
From: \""
    )
    .into_bytes();
    m.extend_from_slice(display);
    m.extend_from_slice(
        format!(
            "\" <sip:anonymous@127.0.0.1>;tag=t-{call_id}\r\n\
To: <sip:{LINE}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    m
}

#[test]
fn the_decoded_messages_are_the_rfcs() {
    let all = messages();
    assert_eq!(all.len(), 49);
    let names: Vec<&str> = all.iter().map(|(_, n, _)| n.as_str()).collect();
    let table: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    assert_eq!(names, table, "the table follows the RFC's order");
    // Content-Length is right in every message the RFC does not mean to be
    // wrong: the decoding lost or added no octet.
    let wrong_on_purpose = ["clerr", "ncl", "mcl01", "dblreq"];
    for (sec, name, msg) in &all {
        let body = msg
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| msg.len() - p - 4)
            .unwrap_or(0);
        if let Some(cl) = header_values(msg, "Content-Length", "l").first()
            && !wrong_on_purpose.contains(&name.as_str())
        {
            assert_eq!(cl.parse::<usize>().ok(), Some(body), "{sec} {name}");
        }
    }
    let one = |n: &str| all.iter().find(|m| m.1 == n).unwrap().2.clone();
    // Spot checks of the notation: a NUL in a quoted string, a trailing
    // space, the binary part.
    assert!(one("intmeth").windows(8).any(|w| w == b"NUL:\\\0 D"));
    assert!(one("trws").starts_with(b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"));
    assert_eq!(one("mpart01").len(), 1290);
    assert!(
        dial(&one("longreq"))
            .starts_with(format!("INVITE sip:{LINE}@example.com SIP/2.0\r\n").as_bytes())
    );
}

#[test]
fn every_rfc4475_message_gets_the_answer_the_rfc_gives_a_uas() {
    let ns = Netns::new();
    let d = Daemon::start(&ns);
    let mut inbox = Inbox {
        socks: vec![ns.udp("127.0.0.1:5060"), ns.udp("127.0.0.1:5050")],
        got: Vec::new(),
    };
    let to = ("127.0.0.1", d.port);
    // Ready when an OPTIONS is answered.
    let until = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    loop {
        n += 1;
        let p = probe(n);
        inbox.send(&p, to);
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline && inbox.for_message(&p).is_empty() {
            inbox.pump(deadline);
        }
        if !inbox.for_message(&p).is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "the daemon did not answer: {}",
            d.log()
        );
    }

    let all = messages();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut rung = Vec::new();
    for ((sec, name, octets), (_, send, want, why)) in all.iter().zip(TABLE) {
        let msg = match send {
            AsIs => octets.clone(),
            Dial => dial(octets),
        };
        inbox.send(&msg, to);
        let got = match want {
            Status(_) => inbox.wait(&msg, |r| {
                r.iter().any(|r| status_of(r).is_some_and(|c| c >= 200))
            }),
            Rings => inbox.wait(&msg, |r| r.iter().any(|r| status_of(r) == Some(180))),
            Dropped => {
                // Answered would be before the probe after it is.
                n += 1;
                let p = probe(n);
                inbox.send(&p, to);
                inbox.wait(&p, |r| !r.is_empty());
                inbox.for_message(&msg)
            }
        };
        let codes: Vec<u16> = got.iter().filter_map(|r| status_of(r)).collect();
        let ok = match want {
            Status(c) => {
                let finals: Vec<u16> = codes.iter().copied().filter(|c| *c >= 200).collect();
                finals.first() == Some(c) && codes.iter().all(|x| *x == 100 || x == c)
            }
            Rings => rings(&codes),
            Dropped => codes.is_empty(),
        };
        // The answers that must carry a header.
        let final_resp = got.iter().find(|r| status_of(r).is_some_and(|c| c >= 200));
        let carries =
            |h: &str, c: &str| final_resp.is_some_and(|r| !header_values(r, h, c).is_empty());
        let headers_ok = match want {
            Status(405) | Status(501) => carries("Allow", "Allow"),
            Status(420) => final_resp.is_some_and(|r| {
                header_values(r, "Unsupported", "Unsupported")
                    .join(",")
                    .contains("nothingSupportsThis")
            }),
            Status(415) => carries("Accept", "Accept"),
            _ => true,
        };
        if matches!(want, Rings) {
            rung.push(header_values(&msg, "Call-ID", "i")[0].clone());
        }
        rows.push(format!(
            "{sec:<9} {name:<11} want {want:?} got {} ({why})",
            summary(&got)
        ));
        if !ok || !headers_ok {
            failures.push(format!(
                "{sec} {name}: want {want:?}, got {}",
                summary(&got)
            ));
        }
    }
    // A PBX's whitespace-heavy INVITE as a new call: §3.1.1.1 without its
    // To tag, to the watched number, rings.
    let wsinv = &all[0].2;
    let text = String::from_utf8_lossy(wsinv).replace(";   tag    = 1918181833n", "");
    let fresh = dial(
        text.replace("wsinv.ndaksdj", "wsinv-new.ndaksdj")
            .as_bytes(),
    );
    inbox.send(&fresh, to);
    let got = inbox.wait(&fresh, |r| r.iter().any(|r| status_of(r) == Some(180)));
    let codes: Vec<u16> = got.iter().filter_map(|r| status_of(r)).collect();
    if !rings(&codes) {
        failures.push(format!(
            "3.1.1.1 wsinv as a new call: want 180, got {}",
            summary(&got)
        ));
    }
    rung.push("wsinv-new.ndaksdj@192.0.2.1".into());
    // The escapes of §3.1.1.3's Request-URI, spelling the watched number:
    // the user part is compared unescaped, so the call rings.
    let esc01 = String::from_utf8_lossy(&all[2].2)
        .replacen("sips%3Auser%40example.com", "%38%388331%314", 1)
        .replace("esc01.239409asdfakjkn23onasd0-3234", "esc01-dialled");
    inbox.send(esc01.as_bytes(), to);
    let got = inbox.wait(esc01.as_bytes(), |r| {
        r.iter().any(|r| status_of(r) == Some(180))
    });
    if !got.iter().any(|r| status_of(r) == Some(180)) {
        failures.push(format!(
            "3.1.1.3 esc01 to %38%388331%314: want 180, got {}",
            summary(&got)
        ));
    }
    rung.push("esc01-dialled".into());
    // An asserted identity without a display name keeps the From's, in GBK
    // or UTF-8 on the wire.
    let gbk = encoding_rs::GBK.encode("张三").0.into_owned();
    for (id, display) in [("pai-gbk", gbk), ("pai-utf8", "王伟".as_bytes().to_vec())] {
        let msg = pai_invite(id, &display);
        inbox.send(&msg, to);
        let got = inbox.wait(&msg, |r| r.iter().any(|r| status_of(r) == Some(180)));
        if !got.iter().any(|r| status_of(r) == Some(180)) {
            failures.push(format!("{id}: want 180, got {}", summary(&got)));
        }
        rung.push(id.into());
    }
    eprintln!("{}", rows.join("\n"));
    // The From of every response is the request's: the tag an RFC 2543
    // request is given inside never goes out.
    if let Some(r) = inbox.got.iter().find(|r| {
        header_values(r, "From", "f")
            .iter()
            .any(|f| f.contains("faultdesk-2543-"))
    }) {
        failures.push(format!(
            "a response shows the inner From tag:\n{}",
            String::from_utf8_lossy(r)
        ));
    }

    let calls: Value = d.site.json(&["-u", "li", "call", "list"]);
    let ids: Vec<&str> = calls
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["call_id"].as_str())
        .collect();
    for id in &rung {
        if !ids.contains(&id.as_str()) {
            failures.push(format!("no call row for {id}"));
        }
    }
    for (id, name) in [("pai-gbk", "张三"), ("pai-utf8", "王伟")] {
        let call = d.site.json(&["-u", "li", "call", "show", id]);
        let got = (&call["caller_source"], &call["caller_display"]);
        if got.0 != "pai" || got.1 != name {
            failures.push(format!(
                "{id}: want caller from pai named {name}, got {got:?}"
            ));
        }
    }
    assert_eq!(
        ids.len(),
        rung.len(),
        "only the calls that rang are recorded: {ids:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of 49 wrong:\n{}\n\ndaemon log:\n{}",
        failures.len(),
        failures.join("\n"),
        d.log()
    );
}

/// A call taken: 180 first, or after the one 100 a late 180 brings.
fn rings(codes: &[u16]) -> bool {
    codes.starts_with(&[180]) || codes.starts_with(&[100, 180])
}
