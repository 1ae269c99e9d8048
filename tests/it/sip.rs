//! The SIP hotline through the real daemon, driven by sipp (UDP and TCP) and
//! raw sockets for what sipp cannot send; registration against a real
//! Kamailio that checks the digest. After each call the call and ticket rows
//! are read back through the CLI's `--json`.

use std::io::Read;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Daemon, KAMAILIO, PATIENCE, SIPP, Site, free_port, poll, require, today, wait_for,
};

const LINE: &str = "88833114";

/// The daemon running in a site, listening on a free port.
struct Hotline {
    site: Site,
    port: u16,
    daemon: Option<Daemon>,
    /// The SIP password handed to the daemon in FAULTDESK_SIP_PASSWORD.
    password: &'static str,
}

impl Hotline {
    fn start(edits: &[(&str, &str)]) -> Hotline {
        Hotline::start_with(edits, "s3cret")
    }

    fn start_with(edits: &[(&str, &str)], password: &'static str) -> Hotline {
        let (site, port) = Site::with_sip_port(edits);
        let mut d = Hotline {
            site,
            port,
            daemon: None,
            password,
        };
        d.spawn();
        d
    }

    /// Starts the daemon (again); returns once it is ready (SIP bound).
    fn spawn(&mut self) {
        self.daemon = Some(Daemon::start(
            &self.site,
            &[("FAULTDESK_SIP_PASSWORD", self.password)],
        ));
    }

    /// SIGTERM and a clean exit.
    fn stop(&mut self) {
        self.daemon.take().expect("running").stop();
    }

    fn kill9(&mut self) {
        self.daemon.take().expect("running").kill9();
    }

    fn log(&self) -> String {
        self.site.daemon_log()
    }

    fn calls(&self) -> Vec<Value> {
        self.site
            .json(&["-u", "li", "call", "list"])
            .as_array()
            .unwrap()
            .clone()
    }

    fn call(&self, call_id: &str) -> Value {
        self.site.json(&["-u", "li", "call", "show", call_id])
    }

    fn ticket(&self, number: &str) -> Value {
        self.site.json(&["-u", "li", "ticket", "show", number])
    }

    fn tickets(&self) -> Vec<Value> {
        self.site
            .json(&["-u", "li", "ticket", "list"])
            .as_array()
            .unwrap()
            .clone()
    }
}

/// How a sipp call ends.
#[derive(Clone, Copy)]
enum End {
    /// CANCEL after `pause` ms, with the "completed elsewhere" Reason or none.
    Cancel { pause: u32, elsewhere: bool },
    /// Wait for the daemon's 480 (ring limit or shutdown).
    Expect480,
    /// A final response without 100/180 (404, 403, 482 …).
    Refused(u16),
}

/// A sipp UAC scenario for one INVITE.
struct Scenario {
    call_id: String,
    from_user: String,
    display: Vec<u8>,
    extra: String,
    service: String,
    end: End,
    /// Send the INVITE a second time with the same branch (a retransmission).
    retransmit: bool,
}

fn scenario(call_id: &str, from_user: &str, end: End) -> Scenario {
    Scenario {
        call_id: call_id.into(),
        from_user: from_user.into(),
        display: b"Caller".to_vec(),
        extra: String::new(),
        service: LINE.into(),
        end,
        retransmit: false,
    }
}

impl Scenario {
    fn xml(&self) -> Vec<u8> {
        let invite = |branch: &str| {
            format!(
                "  <send><![CDATA[\n\
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n\
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}\n\
From: \"@DISPLAY@\" <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
To: <sip:[service]@[remote_ip]:[remote_port]>\n\
Call-ID: [call_id]\n\
CSeq: 1 INVITE\n\
Contact: <sip:{from}@[local_ip]:[local_port];transport=[transport]>\n\
Max-Forwards: 70\n\
{extra}Content-Length: 0\n\
\n\
]]></send>\n",
                from = self.from_user,
                extra = self.extra,
            )
        };
        let ack = format!(
            "  <send><![CDATA[\n\
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n\
[last_Via:]\n\
From: <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
[last_To:]\n\
Call-ID: [call_id]\n\
CSeq: 1 ACK\n\
Max-Forwards: 70\n\
Content-Length: 0\n\
\n\
]]></send>\n",
            from = self.from_user,
        );
        let mut x = String::from(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"faultdesk\">\n",
        );
        x.push_str(&invite("[branch]"));
        if self.retransmit {
            // The same INVITE again with the same branch (sipp's [branch-3]:
            // three messages back) once the 180 came (sipp aborts on an
            // answer arriving between two sends). The 180 it gets again is a
            // retransmission to sipp, which absorbs it.
            x.push_str(
                "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"180\"/>\n",
            );
            x.push_str(&invite("[branch-3]"));
        }
        match self.end {
            End::Cancel { pause, elsewhere } => {
                if !self.retransmit {
                    x.push_str(
                        "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"180\"/>\n",
                    );
                }
                x.push_str(&format!("  <pause milliseconds=\"{pause}\"/>\n"));
                let reason = if elsewhere {
                    "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\n"
                } else {
                    ""
                };
                x.push_str(&format!(
                    "  <send><![CDATA[\n\
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n\
[last_Via:]\n\
From: <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
To: <sip:[service]@[remote_ip]:[remote_port]>\n\
Call-ID: [call_id]\n\
CSeq: 1 CANCEL\n\
{reason}Max-Forwards: 70\n\
Content-Length: 0\n\
\n\
]]></send>\n\
  <recv response=\"180\" optional=\"true\"/>\n\
  <recv response=\"200\"/>\n\
  <recv response=\"487\"/>\n",
                    from = self.from_user,
                ));
                x.push_str(&ack);
            }
            End::Expect480 => {
                x.push_str(
                    "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"180\"/>\n",
                );
                x.push_str(
                    "  <recv response=\"180\" optional=\"true\"/>\n  <recv response=\"480\"/>\n",
                );
                x.push_str(&ack);
            }
            End::Refused(code) => {
                x.push_str(&format!(
                    "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"{code}\"/>\n"
                ));
                x.push_str(&ack);
            }
        }
        x.push_str("</scenario>\n");
        let mut bytes = x.into_bytes();
        let at = bytes.windows(9).position(|w| w == b"@DISPLAY@").unwrap();
        bytes.splice(at..at + 9, self.display.iter().copied());
        // A retransmission carries the same display name.
        if let Some(at) = bytes.windows(9).position(|w| w == b"@DISPLAY@") {
            bytes.splice(at..at + 9, self.display.iter().copied());
        }
        bytes
    }
}

/// sipp as a child process against the daemon.
/// sipp matches answers to calls by Call-ID, so the test's Call-ID is set
/// with -cid_str (one call per run).
fn sipp_cmd(d: &Hotline, call_id: &str, xml: &[u8], tcp: bool, service: &str) -> Command {
    let file = format!("{call_id}.xml");
    let path = d.site.file(&file);
    std::fs::write(&path, xml).unwrap();
    let mut c = require(&SIPP);
    c.current_dir(d.site.path())
        .arg(format!("127.0.0.1:{}", d.port))
        .args(["-sf", path.to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-m", "1", "-s", service, "-cid_str", call_id])
        .args([
            "-timeout",
            "60s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if tcp {
        c.args(["-t", "t1"]);
    }
    c
}

fn run_sipp(d: &Hotline, s: &Scenario, tcp: bool) -> Output {
    sipp_cmd(d, &s.call_id, &s.xml(), tcp, &s.service)
        .output()
        .unwrap()
}

fn sipp_ok(d: &Hotline, s: &Scenario, tcp: bool) {
    let out = run_sipp(d, s, tcp);
    if out.status.success() {
        return;
    }
    let errors: String = std::fs::read_dir(d.site.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    panic!(
        "sipp {} failed ({:?}):\n{}\n{errors}\ndaemon log:\n{}",
        s.call_id,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
}

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A raw UDP request from a fresh socket: the first message that comes back
/// (within [`PATIENCE`]).
fn udp_request(port: u16, msg: &[u8]) -> String {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.send_to(msg, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 65535];
    let (n, _) = s
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("no answer within {PATIENCE:?}: {e}"));
    String::from_utf8_lossy(&buf[..n]).to_string()
}

/// Sends `msg`, then an OPTIONS from the same socket: everything that came
/// back before the OPTIONS's answer is what `msg` got (the listener reads
/// one socket's datagrams in order).
fn udp_answers_to(port: u16, msg: &[u8]) -> Vec<String> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.send_to(msg, ("127.0.0.1", port)).unwrap();
    s.send_to(
        &raw_request("OPTIONS", "after-garbage", true),
        ("127.0.0.1", port),
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65535];
    loop {
        let (n, _) = s
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no answer to the OPTIONS within {PATIENCE:?}: {e}"));
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if header(&text, "Call-ID") == Some("after-garbage") {
            return got;
        }
        got.push(text);
    }
}

fn status_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or("")
}

/// The value of header `name` (case-insensitive) in a SIP message.
fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The methods the hotline serves, as its Allow header lists them.
fn allowed_methods(msg: &str) -> Vec<&str> {
    let mut m: Vec<&str> = header(msg, "Allow")
        .unwrap_or_else(|| panic!("no Allow header: {msg}"))
        .split(',')
        .map(str::trim)
        .collect();
    m.sort();
    m
}

const SERVED: [&str; 4] = ["ACK", "CANCEL", "INVITE", "OPTIONS"];

fn raw_request(method: &str, call_id: &str, from_tag: bool) -> Vec<u8> {
    format!(
        "{method} sip:{LINE}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{call_id};rport\r\n\
From: <sip:13900000077@127.0.0.1>{tag}\r\n\
To: <sip:{LINE}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 {method}\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n",
        tag = if from_tag { ";tag=t1" } else { "" }
    )
    .into_bytes()
}

#[test]
fn sipp_calls_end_the_three_ways_each_recorded_once() {
    let d = Hotline::start(&[("ring_timeout_secs = 60", "ring_timeout_secs = 3")]);
    let day = today();

    // Answered on another phone: CANCEL with SIP cause 200.
    sipp_ok(
        &d,
        &scenario(
            "c-answered",
            "13900000001",
            End::Cancel {
                pause: 300,
                elsewhere: true,
            },
        ),
        false,
    );
    // The caller hangs up: CANCEL without a Reason.
    sipp_ok(
        &d,
        &scenario(
            "c-abandoned",
            "13900000002",
            End::Cancel {
                pause: 300,
                elsewhere: false,
            },
        ),
        false,
    );
    // Nobody answers within the ring limit: 480.
    sipp_ok(
        &d,
        &scenario("c-timeout", "13900000003", End::Expect480),
        false,
    );
    // A retransmitted INVITE (same branch) is one call.
    let mut re = scenario(
        "c-retrans",
        "13900000004",
        End::Cancel {
            pause: 200,
            elsewhere: true,
        },
    );
    re.retransmit = true;
    sipp_ok(&d, &re, false);
    // The same Call-ID again on a new branch after it ended: 482, nothing new.
    sipp_ok(
        &d,
        &scenario("c-answered", "13900000001", End::Refused(482)),
        false,
    );
    // Over TCP.
    sipp_ok(
        &d,
        &scenario(
            "c-tcp",
            "13900000005",
            End::Cancel {
                pause: 200,
                elsewhere: true,
            },
        ),
        true,
    );
    // A wrong number: 404, no call.
    let mut wrong = scenario("c-wrong", "13900000006", End::Refused(404));
    wrong.service = "88833999".into();
    sipp_ok(&d, &wrong, false);

    let c = d.call("c-answered");
    assert_eq!(c["outcome"], "answered-elsewhere");
    assert_eq!(c["caller"], "13900000001");
    assert!(
        c["caller_raw"]
            .as_str()
            .unwrap()
            .starts_with("sip:13900000001@127.0.0.1:"),
        "{c}"
    );
    assert!(c["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{c}");
    assert_ne!(c["peer"], "127.0.0.1:0");
    assert_eq!(c["caller_source"], "from");
    assert_eq!(c["callee"], LINE);
    assert_eq!(c["transport"], "udp");
    assert_eq!(c["repeat_report"], false);
    assert!((300..3000).contains(&num(&c["ring_ms"])), "{c}");
    assert_eq!(c["ticket"], format!("U-{day}-001"));
    let t = d.ticket(&format!("U-{day}-001"));
    assert_eq!(
        (
            t["source"].as_str(),
            t["origin"].as_str(),
            t["state"].as_str()
        ),
        (Some("phone"), Some("untagged"), Some("new"))
    );
    assert_eq!(t["caller"], "13900000001");
    assert_eq!(t["tag"], Value::Null);
    assert_eq!(t["events"][0]["actor"], "hotline");
    assert_eq!(t["events"][0]["detail"]["extra"]["call_id"], "c-answered");

    let c = d.call("c-abandoned");
    assert_eq!(c["outcome"], "abandoned");
    assert!((300..3000).contains(&num(&c["ring_ms"])), "{c}");
    assert_eq!(c["ticket"], format!("U-{day}-002"));

    let c = d.call("c-timeout");
    assert_eq!(c["outcome"], "timed-out");
    assert!((2900..10_000).contains(&num(&c["ring_ms"])), "{c}");
    assert_eq!(c["ticket"], format!("U-{day}-003"));

    let c = d.call("c-retrans");
    assert_eq!(c["outcome"], "answered-elsewhere");
    assert_eq!(c["ticket"], format!("U-{day}-004"));

    let c = d.call("c-tcp");
    assert_eq!(
        (c["outcome"].as_str(), c["transport"].as_str()),
        (Some("answered-elsewhere"), Some("tcp"))
    );

    // Exactly one row per call, one ticket per caller; the wrong number left nothing.
    let calls = d.calls();
    let ids: Vec<&str> = calls
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "c-answered",
            "c-abandoned",
            "c-timeout",
            "c-retrans",
            "c-tcp"
        ]
    );
    assert_eq!(d.tickets().len(), 5);

    // OPTIONS (the PBX's keep-alive): 200 with Allow listing what we serve.
    let got = udp_request(d.port, &raw_request("OPTIONS", "o-1", true));
    assert_eq!(status_line(&got), "SIP/2.0 200 OK", "{got}");
    assert_eq!(allowed_methods(&got), SERVED, "{got}");
    // A method we do not serve: 405 with Allow (RFC 3261 21.4.6); one the
    // parser does not know: 501, also saying what is served.
    let got = udp_request(d.port, &raw_request("MESSAGE", "m-1", true));
    assert_eq!(status_line(&got), "SIP/2.0 405 Method Not Allowed", "{got}");
    assert_eq!(allowed_methods(&got), SERVED, "{got}");
    let got = udp_request(d.port, &raw_request("FROB", "f-1", true));
    assert_eq!(status_line(&got), "SIP/2.0 501 Not Implemented", "{got}");
    assert_eq!(allowed_methods(&got), SERVED, "{got}");
    // Malformed: an INVITE without a From tag gets 400 with a Warning
    // (RFC 3261 20.43: code 399, agent, quoted text) saying why; garbage gets nothing.
    let got = udp_request(d.port, &raw_request("INVITE", "bad-1", false));
    assert_eq!(status_line(&got), "SIP/2.0 400 Bad Request", "{got}");
    let warning = header(&got, "Warning").unwrap_or_else(|| panic!("no Warning: {got}"));
    let why = warning
        .strip_prefix("399 faultdesk \"")
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a 399 faultdesk warning: {warning}"));
    assert!(
        why.contains("tag"),
        "the warning names the missing tag: {warning}"
    );
    for garbage in [&b"\x00\xff garbage \r\n\r\n"[..], b"INVITE\r\n\r\n"] {
        let got = udp_answers_to(d.port, garbage);
        assert!(got.is_empty(), "garbage was answered: {got:?}");
    }
    // A TCP peer sending an unframeable message is cut off (the stream ends
    // or is reset, within the deadline); the listener carries on.
    {
        use std::io::Write;
        let mut t = std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap();
        t.write_all(b"INVITE sip:x SIP/2.0\r\nContent-Length: nope\r\n\r\n")
            .unwrap();
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let t0 = Instant::now();
        let mut sink = Vec::new();
        let read = t.read_to_end(&mut sink);
        assert!(
            read.is_ok()
                || matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "the daemon kept the unframeable stream open: {read:?} after {:?}",
            t0.elapsed()
        );
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    let got = udp_request(d.port, &raw_request("OPTIONS", "o-2", true));
    assert_eq!(status_line(&got), "SIP/2.0 200 OK", "{got}");
    assert_eq!(d.calls().len(), 5);
}

fn roster(d: &Hotline) {
    let p = d.site.file("roster.csv");
    std::fs::write(
        &p,
        "账号,姓名,固话号码,手机号码,地址,产品,资费计划,开通日期,到期日期,备注,密码\n\
         rq1220803,李强,029-68697777,,融侨城 12-2-0803,宽带100M,包年,20260201,20270131,,a123456\n\
         dw0120502,王伟,68691234,13912345678,馨苑1#-2-502,宽带50M,包年,2026-01-05,2027-01-04,,a123456\n",
    )
    .unwrap();
    d.site
        .ok(&["-u", "li", "import", "subscribers", p.to_str().unwrap()]);
}

#[test]
fn sipp_callers_are_identified_and_classified() {
    let mut d = Hotline::start(&[]);
    roster(&d);
    let day = today();
    let answered = End::Cancel {
        pause: 100,
        elsewhere: true,
    };

    // A GBK display name (real GBK bytes on the wire) from a known subscriber.
    let mut s = scenario("k-gbk", "68691234", answered);
    s.display = encoding_rs::GBK.encode("张三").0.into_owned();
    assert_eq!(s.display, b"\xd5\xc5\xc8\xfd");
    sipp_ok(&d, &s, false);
    let c = d.call("k-gbk");
    assert_eq!(c["caller_display"], "张三");
    assert_eq!(c["caller"], "68691234");
    assert_eq!(c["ticket"], format!("X-{day}-001"));
    let t = d.ticket(&format!("X-{day}-001"));
    assert_eq!(
        (t["tag"].as_str(), t["subscriber"].as_str()),
        (Some("X"), Some("dw0120502"))
    );
    assert_eq!(t["repeat_count"], 0);

    // The same subscriber again (over TCP, a UTF-8 name): a repeat report.
    let mut s = scenario("k-repeat", "029-68691234", answered);
    s.display = "王伟".as_bytes().to_vec();
    sipp_ok(&d, &s, true);
    let c = d.call("k-repeat");
    assert_eq!(
        (c["ticket"].as_str(), c["repeat_report"].as_bool()),
        (Some(format!("X-{day}-001").as_str()), Some(true))
    );
    let t = d.ticket(&format!("X-{day}-001"));
    assert_eq!(t["repeat_count"], 1);
    assert_eq!(t["events"][1]["kind"], "repeat_report");

    // P-Asserted-Identity wins over From.
    let mut s = scenario("k-pai", "anonymous", answered);
    s.extra =
        "P-Asserted-Identity: \"Carrier\" <sip:+862968697777@carrier.invalid;user=phone>\n".into();
    sipp_ok(&d, &s, false);
    let c = d.call("k-pai");
    assert_eq!(
        (c["caller"].as_str(), c["caller_source"].as_str()),
        (Some("68697777"), Some("pai"))
    );
    assert_eq!(c["ticket"], format!("R-{day}-001"));
    assert_eq!(d.ticket(&format!("R-{day}-001"))["subscriber"], "rq1220803");

    // Remote-Party-ID when there is no PAI.
    let mut s = scenario("k-rpid", "anonymous", answered);
    s.extra = "Remote-Party-ID: \"X\" <sip:13700000001@carrier.invalid>;party=calling\n".into();
    sipp_ok(&d, &s, false);
    assert_eq!(d.call("k-rpid")["caller_source"], "rpid");
    assert_eq!(d.call("k-rpid")["caller"], "13700000001");

    // A telecom desk: a desk-tagged ticket, no subscriber; never a repeat.
    for id in ["k-desk-1", "k-desk-2"] {
        sipp_ok(&d, &scenario(id, "88218050", answered), false);
    }
    assert_eq!(d.call("k-desk-1")["ticket"], format!("DC-{day}-001"));
    assert_eq!(d.call("k-desk-2")["ticket"], format!("DC-{day}-002"));
    let t = d.ticket(&format!("DC-{day}-001"));
    assert_eq!(
        (t["origin"].as_str(), t["subscriber"].as_str()),
        (Some("desk"), None)
    );

    // A display name of garbage bytes misleads nothing.
    let mut s = scenario("k-junk", "13900000009", answered);
    s.display = b"\xff\xfe\x80\x81".to_vec();
    sipp_ok(&d, &s, false);
    let c = d.call("k-junk");
    assert_eq!(
        (c["caller"].as_str(), c["outcome"].as_str()),
        (Some("13900000009"), Some("answered-elsewhere"))
    );

    assert_eq!(d.calls().len(), 7);
    d.stop();
}

#[test]
fn peers_outside_the_allow_list_get_403_and_one_log_line() {
    let d = Hotline::start(&[(
        "allow = [\"127.0.0.0/8\", \"::1/128\"]",
        "allow = [\"10.0.0.0/8\"]",
    )]);
    let s = scenario("r-1", "13900000001", End::Refused(403));
    let mut c = sipp_cmd(&d, "r-1", &s.xml(), false, LINE);
    for _ in 0..3 {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let got = udp_request(d.port, &raw_request("OPTIONS", "r-o", true));
    assert_eq!(status_line(&got), "SIP/2.0 403 Forbidden", "{got}");
    assert!(d.calls().is_empty());
    assert_eq!(
        d.log().matches("refused a peer outside sip.allow").count(),
        1,
        "{}",
        d.log()
    );
}

#[test]
fn shutdown_and_kill_9_leave_no_call_half_open() {
    let mut d = Hotline::start(&[]);
    let ringing = |d: &Hotline, id: &str| {
        wait_for("the call to ring", Duration::from_secs(60), || {
            d.calls()
                .iter()
                .any(|c| c["call_id"] == id && c["outcome"] == "ringing")
                .then_some(())
        })
    };
    // SIGTERM while a call rings: recorded as interrupted, answered 480.
    let s = scenario("s-term", "13900000001", End::Expect480);
    let sipp = sipp_cmd(&d, "s-term", &s.xml(), false, LINE)
        .spawn()
        .unwrap();
    ringing(&d, "s-term");
    d.stop();
    let out = sipp.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sipp: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(d.call("s-term")["outcome"], "interrupted");
    assert!(d.log().contains("sip: stopped"));

    // kill -9 while a call rings: the next start closes it out.
    d.spawn();
    let s = scenario("s-kill", "13900000002", End::Expect480);
    let mut sipp = sipp_cmd(&d, "s-kill", &s.xml(), false, LINE)
        .spawn()
        .unwrap();
    ringing(&d, "s-kill");
    d.kill9();
    let _ = sipp.kill();
    let _ = sipp.wait();
    assert_eq!(d.call("s-kill")["outcome"], "ringing");
    d.spawn();
    let c = d.call("s-kill");
    assert_eq!(c["outcome"], "interrupted");
    assert!(c["ended_at"].is_string());
    // The ticket opened at INVITE time survived the crash.
    assert!(c["ticket"].is_string());
    d.stop();
}

/// Kamailio on loopback as a child process: a registrar that checks digest
/// (MD5, qop=auth) against a static user, logging what it saw to stderr.
pub(crate) struct Kamailio {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Kamailio {
    pub(crate) fn start(dir: &std::path::Path) -> Kamailio {
        let port = free_port();
        let cfg_src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kamailio/registrar.cfg"
        ))
        .unwrap();
        let cfg = dir.join("kamailio.cfg");
        std::fs::write(&cfg, cfg_src.replace("@PORT@", &port.to_string())).unwrap();
        let run = dir.join("kamailio-run");
        std::fs::create_dir_all(&run).unwrap();
        let log = dir.join("kamailio.log");
        let child = require(&KAMAILIO)
            .args(["-f", cfg.to_str().unwrap(), "-DD", "-E"])
            .args(["-Y", run.to_str().unwrap()])
            .args(["-P", run.join("kamailio.pid").to_str().unwrap()])
            .args(["-w", run.to_str().unwrap()])
            .args(["-m", "32", "-M", "8"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start kamailio");
        let k = Kamailio { child, port, log };
        wait_for("kamailio to listen", Duration::from_secs(30), || {
            k.log_text().contains("REGISTRAR READY").then_some(())
        });
        k
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // SIGTERM to the main process, which stops its children too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let child = &mut self.child;
        if poll(Duration::from_secs(10), || child.try_wait().ok().flatten()).is_some() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn registers_with_kamailio_refreshes_and_unregisters() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kamailio::start(dir.path());
    let register = format!(
        "[sip.register]\nregistrar = \"sip:127.0.0.1:{}\"\nuser = \"{LINE}\"\npassword_env = \"FAULTDESK_SIP_PASSWORD\"\nexpires_secs = 4\ntimeout_secs = 5\n\n[fax]",
        k.port
    );
    let mut d = Hotline::start(&[("\n[fax]", &register)]);
    let status = |d: &Hotline| -> String {
        d.site.json(&["status"])["components"]["sip.registration"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    wait_for("registration", Duration::from_secs(30), || {
        status(&d).starts_with("registered").then_some(())
    });
    // Kamailio granted the binding after checking the digest.
    wait_for(
        "kamailio to record the binding",
        Duration::from_secs(10),
        || {
            k.log_text()
                .contains(&format!("REGISTERED sip:{LINE}@"))
                .then_some(())
        },
    );
    assert!(k.log_text().contains("AUTH qop=auth"), "{}", k.log_text());
    // Refreshed before a 4 s expiry runs out (75%: every 3 s).
    wait_for("a refresh", Duration::from_secs(30), || {
        (k.log_text().matches("REGISTERED sip:").count() >= 2).then_some(())
    });
    d.stop();
    wait_for("the unregister", Duration::from_secs(10), || {
        k.log_text()
            .contains(&format!("UNREGISTERED sip:{LINE}@"))
            .then_some(())
    });
    assert!(status(&d).starts_with("unregistered"), "{}", status(&d));

    // A wrong password: refused by the registrar, visible in status and log.
    let d2 = Hotline::start_with(&[("\n[fax]", &register)], "wrong");
    wait_for("a failed registration", Duration::from_secs(30), || {
        status(&d2).starts_with("failed").then_some(())
    });
    assert!(status(&d2).contains("403"), "{}", status(&d2));
    assert!(
        d2.log().contains("sip: registration failed"),
        "{}",
        d2.log()
    );
}

/// The datagrams that reach `s` until `stop` says enough or `within` has
/// passed, each with the time it arrived.
fn answers_until(
    s: &UdpSocket,
    within: Duration,
    mut stop: impl FnMut(&str) -> bool,
) -> Vec<(Instant, String)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65535];
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let Ok((n, _)) = s.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = stop(&text);
        got.push((Instant::now(), text));
        if done {
            break;
        }
    }
    got
}

#[test]
fn the_100_trying_is_left_out_only_when_the_180_is_on_time() {
    // With `trying_within_ms = 150`: a call recorded in time gets its 180
    // and no 100; a call whose write waits (another process holds the
    // database's write lock) gets the 100 after 150 ms, then its 180 once the
    // lock is gone. With 0 the 100 comes first on every INVITE.
    let mut d = Hotline::start(&[("trying_within_ms = 200", "trying_within_ms = 150")]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let statuses = |got: &[(Instant, String)]| -> Vec<String> {
        got.iter()
            .map(|(_, m)| status_line(m).to_string())
            .collect()
    };

    s.send_to(
        &raw_request("INVITE", "trying-fast", true),
        ("127.0.0.1", d.port),
    )
    .unwrap();
    let fast = answers_until(&s, PATIENCE, |m| status_line(m).contains(" 180 "));
    assert_eq!(
        statuses(&fast),
        ["SIP/2.0 180 Ringing"],
        "a call recorded in time gets 180 alone"
    );

    let lock = d.site.db();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let sent = Instant::now();
    s.send_to(
        &raw_request("INVITE", "trying-slow", true),
        ("127.0.0.1", d.port),
    )
    .unwrap();
    let first = answers_until(&s, PATIENCE, |_| true);
    let (at, msg) = first.first().expect("an answer while the store is locked");
    assert_eq!(status_line(msg), "SIP/2.0 100 Trying", "{msg}");
    let waited = at.duration_since(sent);
    assert!(
        waited >= Duration::from_millis(140),
        "the 100 came after {waited:?}: it should wait 150 ms for the 180"
    );
    // Nothing more while the call cannot be recorded.
    let meanwhile = answers_until(&s, Duration::from_millis(400), |_| false);
    assert!(
        statuses(&meanwhile).iter().all(|l| !l.contains(" 180 ")),
        "180 before the call was recorded: {meanwhile:?}"
    );
    lock.execute_batch("ROLLBACK").unwrap();
    let rest = answers_until(&s, PATIENCE, |m| status_line(m).contains(" 180 "));
    assert_eq!(
        statuses(&rest).last().map(String::as_str),
        Some("SIP/2.0 180 Ringing")
    );
    assert_eq!(d.call("trying-slow")["outcome"], "ringing");
    d.stop();

    // 0: 100 at once (a new socket: the first daemon's 480s to the calls it
    // left ringing went to the old one).
    let mut d = Hotline::start(&[("trying_within_ms = 200", "trying_within_ms = 0")]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s.send_to(
        &raw_request("INVITE", "trying-default", true),
        ("127.0.0.1", d.port),
    )
    .unwrap();
    let got = answers_until(&s, PATIENCE, |m| status_line(m).contains(" 180 "));
    assert_eq!(
        statuses(&got),
        ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]
    );
    d.stop();
}
