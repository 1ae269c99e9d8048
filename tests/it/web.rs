//! The console through the real daemon over HTTP: every action under every
//! role (allowed and refused), bad input refused in Chinese with nothing
//! changed, cross-site requests, an expired session, the login rate limit,
//! and a call ringing into the live stream, claimed and worked to the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, Site, wait_until};

const LINE: &str = "88833114";

/// The daemon of a site (the harness's, ready) and its console and SIP ports.
pub(crate) struct Daemon {
    _daemon: support::Daemon,
    pub(crate) web: u16,
    pub(crate) sip: u16,
}

/// The port a `key = "127.0.0.1:PORT"` line of the site's config names.
fn port_of(site: &Site, key: &str) -> u16 {
    let cfg = std::fs::read_to_string(site.file("config/faultdesk.toml")).unwrap();
    cfg.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} = \"127.0.0.1:")))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim_end_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no {key} in the config"))
}

/// A site with agents, a clerk, two technicians and a manager, each with a
/// password, and a subscriber in 馨苑 1#-2-502.
pub(crate) fn staffed(edits: &[(&str, &str)]) -> Site {
    staff(Site::initialised(edits))
}

/// [`staffed`]'s people and roster, added to an initialised site.
pub(crate) fn staff(s: Site) -> Site {
    s.ok(&[
        "-u",
        "wang",
        "user",
        "add",
        "zhao",
        "--role",
        "clerk",
        "--display",
        "赵敏",
    ]);
    s.ok(&[
        "-u",
        "wang",
        "user",
        "add",
        "wu",
        "--role",
        "technician",
        "--display",
        "吴工",
    ]);
    s.ok(&[
        "-u",
        "wang",
        "user",
        "add",
        "zhang",
        "--role",
        "agent",
        "--display",
        "张敏",
    ]);
    s.ok(&[
        "-u",
        "wang",
        "user",
        "add",
        "qian",
        "--role",
        "technician",
        "--display",
        "钱工",
    ]);
    for u in ["li", "wang", "zhao", "wu", "zhang", "qian"] {
        let mut c = s.cmd(&["user", "passwd", u]);
        c.stdin(Stdio::piped()).stdout(Stdio::null());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("pw-{u}-secret\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "passwd {u}");
    }
    std::fs::write(
        s.file("roster.csv"),
        "账号,姓名,固话,产品\ndw0120502,张伟,68691234,宽带50M\ndw0310101,王芳,68693001,宽带\n\
         dw0320502,刘洋,68693002,宽带\ndw0311201,陈静,68693003,宽带\ndw0330301,周强,68693004,宽带\n\
         dw0120401,孙丽,68691231,宽带100M\n",
    )
    .unwrap();
    s.ok(&["-u", "wang", "import", "subscribers", "roster.csv"]);
    s
}

impl Daemon {
    /// SIGTERM and a clean exit (see [`support::Daemon::stop`]); returns the log.
    pub(crate) fn stop(self) -> String {
        self._daemon.stop()
    }
}

pub(crate) fn start(site: &Site) -> Daemon {
    Daemon {
        _daemon: support::Daemon::start(site, &[]),
        web: port_of(site, "listen"),
        sip: port_of(site, "udp"),
    }
}

/// An HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    /// The body as sent (an image, a spreadsheet).
    pub(crate) raw: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let rest = raw.get(split + 4..).unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let raw = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&raw).to_string(),
        raw,
    }
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..end]).to_string();
        let rest = &s[end + 2..];
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        s = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// A logged-in person: the session cookie and the page's CSRF token.
pub(crate) struct Agent {
    port: u16,
    cookie: String,
    csrf: String,
}

fn login(d: &Daemon, user: &str, password: &str) -> Reply {
    http(
        d.web,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("user={user}&password={password}"),
    )
}

pub(crate) fn agent(d: &Daemon, user: &str) -> Agent {
    let r = login(d, user, &format!("pw-{user}-secret"));
    assert_eq!(r.status, 303, "login {user}: {r:?}");
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    assert!(
        r.header("set-cookie").unwrap().contains("HttpOnly")
            && r.header("set-cookie").unwrap().contains("SameSite=Strict")
    );
    let me = http(d.web, "GET", "/api/me", &[("Cookie", &cookie)], "");
    assert_eq!(me.status, 200, "{me:?}");
    let csrf = me.json()["csrf"].as_str().unwrap().to_string();
    Agent {
        port: d.web,
        cookie,
        csrf,
    }
}

impl Agent {
    pub(crate) fn get(&self, path: &str) -> Reply {
        http(self.port, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    pub(crate) fn post(&self, path: &str, body: &str) -> Reply {
        self.post_with(path, body, &[])
    }

    /// A POST from the console with more headers (a ticket form's version …).
    fn post_with(&self, path: &str, body: &str, more: &[(&str, &str)]) -> Reply {
        let origin = format!("http://127.0.0.1:{}", self.port);
        let mut headers = vec![
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
            ("Content-Type", "application/json"),
            ("Origin", origin.as_str()),
        ];
        headers.extend_from_slice(more);
        http(self.port, "POST", path, &headers, body)
    }
}

fn new_ticket(site: &Site, phone: &str) -> String {
    site.new_ticket(&["--phone", phone, "--fault", "不能上网"])
}

fn state(site: &Site, number: &str) -> String {
    site.json(&["-u", "wang", "ticket", "show", number])["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_action_under_every_role_allowed_or_refused() {
    let site = staffed(&[]);
    let d = start(&site);
    let people = ["li", "zhao", "wu", "wang"];
    let who: Vec<Agent> = people.iter().map(|u| agent(&d, u)).collect();
    // (path, body, the roles that may) — refused roles get 403 and nothing changes.
    let n = new_ticket(&site, "13900000001");
    let actions: Vec<(String, &str, &[&str])> = vec![
        (
            "/api/calls/no-such-call/claim".into(),
            "{}",
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/amend"),
            r#"{"reporter":"张伟"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/classify"),
            r#"{"class":"fault"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/retag"),
            r#"{"estate":"X"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/merge"),
            r#"{"into":"X-19990101-001"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/void"),
            r#"{"reason":""}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/step"),
            r#"{"step":"dispatch","technician":"wu"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/step"),
            r#"{"step":"close"}"#,
            &["li", "wang"],
        ),
        (
            format!("/api/tickets/{n}/callback"),
            r#"{"result":"passed"}"#,
            &["li", "wang"],
        ),
        (
            "/api/callbacks/999/done".into(),
            r#"{"result":"reached"}"#,
            &["li", "wang"],
        ),
        (
            "/api/callbacks/handled".into(),
            r#"{"ids":[999]}"#,
            &["li", "wang"],
        ),
        (
            "/api/outages/repair".into(),
            r#"{"estate":"X","building":3}"#,
            &["li", "wang"],
        ),
        ("/api/outbox/999/retry".into(), "{}", &["wang"]),
    ];
    for (path, body, allowed) in &actions {
        for (u, a) in people.iter().zip(&who) {
            let before = state(&site, &n);
            let r = a.post(path, body);
            if allowed.contains(u) {
                assert_ne!(r.status, 403, "{u} may POST {path}: {r:?}");
            } else {
                assert_eq!(r.status, 403, "{u} may not POST {path}: {r:?}");
                assert!(
                    r.json()["error"].as_str().unwrap().contains("你的岗位不能"),
                    "{r:?}"
                );
                assert_eq!(
                    state(&site, &n),
                    before,
                    "a refused {path} changed the ticket"
                );
            }
        }
    }
    // The technician marks repaired only what was dispatched to them.
    let r = who[2].post(
        &format!("/api/tickets/{n}/step"),
        r#"{"step":"repair","cause":"光猫故障"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(state(&site, &n), "repaired");
    let other = new_ticket(&site, "13900000002");
    let r = who[2].post(
        &format!("/api/tickets/{other}/step"),
        r#"{"step":"repair"}"#,
    );
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(state(&site, &other), "new");
    // Pages: each role sees its own.
    let pages: [(&str, &[&str]); 7] = [
        ("/live", &["li", "wang"]),
        ("/board", &["li", "wang"]),
        ("/board/banner", &["li", "wang"]),
        ("/callbacks", &["li", "wang"]),
        ("/subscribers?q=68691234", &["li", "wang"]),
        ("/outbox", &["li", "wang"]),
        ("/audit", &["wang"]),
    ];
    for (path, allowed) in pages {
        for (u, a) in people.iter().zip(&who) {
            let r = a.get(path);
            let want = if allowed.contains(u) { 200 } else { 403 };
            assert_eq!(r.status, want, "{u} GET {path}: {}", r.body);
        }
    }
    // The technician opens the ticket dispatched to them, not another.
    assert_eq!(who[2].get(&format!("/tickets/{n}")).status, 200);
    assert_eq!(who[2].get(&format!("/tickets/{other}")).status, 403);
    // The live stream: agents, the manager and technicians watch it (their
    // pages show its indicator); a clerk's pages neither open nor show it.
    let tech = who[2].get(&format!("/tickets/{n}"));
    assert!(tech.body.contains("id=\"conn\""), "{}", tech.body);
    assert!(who[0].get("/board").body.contains("id=\"conn\""));
    let clerk = who[1].get("/faxes");
    assert_eq!(clerk.status, 200, "{}", clerk.body);
    assert!(!clerk.body.contains("id=\"conn\""), "{}", clerk.body);
    assert_eq!(who[1].get("/live/stream").status, 403);
}

#[test]
fn bad_input_is_refused_in_chinese_naming_the_field_and_changes_nothing() {
    let site = staffed(&[]);
    let d = start(&site);
    let li = agent(&d, "li");
    let n = new_ticket(&site, "68691234");
    let cases: [(&str, &str, &str); 12] = [
        (
            "amend",
            r#"{"service_type":"卫星"}"#,
            "业务类型:请选择 宽带、固话、IPTV、其他",
        ),
        ("amend", r#"{"depot":"火星维护处"}"#, "归属维护处"),
        ("amend", r#"{"subscriber":"dw9999999"}"#, "用户"),
        ("amend", r#"{"fault": 5}"#, "故障现象:格式不对"),
        ("amend", "not json", "请求:格式不对"),
        ("amend", r#"{"unknown_field":"x"}"#, "格式不对"),
        (
            "classify",
            r#"{"class":"maybe"}"#,
            "分类:请选择 故障、咨询 或 误拨",
        ),
        (
            "classify",
            r#"{"class":"wrong_number"}"#,
            "作废原因:不能为空",
        ),
        ("void", r#"{"reason":"   "}"#, "作废原因:不能为空"),
        (
            "merge",
            &format!(r#"{{"into":"{n}"}}"#),
            "合并到:不能合并到自己",
        ),
        (
            "step",
            r#"{"step":"close"}"#,
            "关闭:此障碍单目前状态为 已接收",
        ),
        (
            "callback",
            r#"{"result":"passed","satisfaction":"很好"}"#,
            "满意度:请选择 满意、基本满意 或 不满意",
        ),
    ];
    let before = site.json(&["-u", "wang", "ticket", "show", &n]);
    for (action, body, want) in cases {
        let r = li.post(&format!("/api/tickets/{n}/{action}"), body);
        assert!((400..500).contains(&r.status), "{action} {body}: {r:?}");
        let e = r.json()["error"].as_str().unwrap_or("").to_string();
        assert!(
            e.contains(want),
            "{action} {body}: got {e:?}, want {want:?}"
        );
    }
    let long = format!(r#"{{"fault":"{}"}}"#, "长".repeat(600));
    let r = li.post(&format!("/api/tickets/{n}/amend"), &long);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("故障现象:太长了"),
        "{r:?}"
    );
    let r = li.post("/api/tickets/X-19990101-001/amend", r#"{"fault":"x"}"#);
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].as_str().unwrap().contains("没有找到"));
    let r = li.get("/board?state=whatever");
    assert_eq!(r.status, 422);
    assert!(r.body.contains("状态:没有这个状态"));
    let after = site.json(&["-u", "wang", "ticket", "show", &n]);
    assert_eq!(before, after, "a refused request changed the ticket");
    // The daemon is still serving.
    assert_eq!(li.get("/healthz").status, 200);
}

#[test]
fn cross_site_posts_an_expired_session_and_the_login_limit_are_refused() {
    let site = staffed(&[("login_attempts = 5", "login_attempts = 3")]);
    let d = start(&site);
    let li = agent(&d, "li");
    let n = new_ticket(&site, "68691234");
    let path = format!("/api/tickets/{n}/void");
    let body = r#"{"reason":"误拨"}"#;
    for headers in [
        vec![
            ("Origin", "http://evil.example".to_string()),
            ("X-CSRF-Token", li.csrf.clone()),
        ],
        vec![
            ("Sec-Fetch-Site", "cross-site".to_string()),
            ("X-CSRF-Token", li.csrf.clone()),
        ],
        vec![("X-CSRF-Token", "0".repeat(64))],
        vec![],
    ] {
        let mut h: Vec<(&str, &str)> =
            vec![("Cookie", &li.cookie), ("Content-Type", "application/json")];
        h.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
        let r = http(d.web, "POST", &path, &h, body);
        assert_eq!(r.status, 403, "{headers:?}: {r:?}");
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("不是从本系统页面发出")
        );
    }
    let r = http(
        d.web,
        "POST",
        "/login",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "user=li&password=pw-li-secret",
    );
    assert_eq!(r.status, 403);
    assert_eq!(state(&site, &n), "new");

    // An expired session: its last use is older than the idle limit.
    let db = rusqlite::Connection::open(site.file("var/faultdesk.db")).unwrap();
    db.execute(
        "UPDATE sessions SET seen_at = seen_at - 9 * 3600 * 1000",
        [],
    )
    .unwrap();
    let r = li.post(&path, body);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.json()["error"].as_str().unwrap().contains("请先登录"));
    let r = li.get("/board");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert_eq!(state(&site, &n), "new");

    // Three wrong passwords for li: the right one is refused for a while,
    // another user from another name still logs in (the address counts too,
    // so that one comes from the same loopback but within its own limit).
    for _ in 0..3 {
        let r = login(&d, "li", "wrong");
        assert_eq!(r.status, 401);
        assert!(r.body.contains("用户名或密码不对"));
    }
    let r = login(&d, "li", "pw-li-secret");
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.contains("登录失败次数过多"));
    // Failed logins are in the audit log.
    let wang_rows: i64 = db
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'login.failed' AND actor = 'li'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(wang_rows, 3);
}

/// Sends one SIP request over UDP and returns once the daemon has answered
/// it (its first response, whatever it says).
pub(crate) fn sip_send(port: u16, msg: &str) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 2048];
    if let Err(e) = s.recv_from(&mut buf) {
        panic!(
            "no answer within 10 s to {} ({e})",
            msg.lines().next().unwrap_or("")
        );
    }
}

pub(crate) fn sip(method: &str, call_id: &str, from: &str, reason: Option<&str>) -> String {
    format!(
        "{method} sip:{LINE}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{call_id};rport\r\n\
From: <sip:{from}@127.0.0.1>;tag=t1\r\n\
To: <sip:{LINE}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 {method}\r\n\
Max-Forwards: 70\r\n{}\
Content-Length: 0\r\n\r\n",
        reason
            .map(|r| format!("Reason: {r}\r\n"))
            .unwrap_or_default()
    )
}

/// Reads a live stream until `want` appears; the text read so far.
fn read_stream_until(stream: &mut BufReader<TcpStream>, want: &str) -> String {
    let t0 = Instant::now();
    let mut seen = String::new();
    while t0.elapsed() < Duration::from_secs(30) {
        let mut line = String::new();
        match stream.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                seen.push_str(&line);
                if seen.contains(want) {
                    return seen;
                }
            }
            Err(_) => {}
        }
    }
    panic!("the stream did not say {want}; it said:\n{seen}");
}

fn open_stream(a: &Agent) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    write!(
        s,
        "GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        a.port, a.cookie
    )
    .unwrap();
    BufReader::new(s)
}

#[test]
fn a_call_pops_on_two_consoles_is_claimed_worked_and_the_manager_reads_the_audit() {
    let site = staffed(&[]);
    let d = start(&site);
    let li = agent(&d, "li");
    let zhang = agent(&d, "zhang");
    let wang = agent(&d, "wang");
    let mut s1 = open_stream(&li);
    let mut s2 = open_stream(&zhang);
    // Every (re)connect starts with a snapshot.
    read_stream_until(&mut s1, "event: snapshot");
    read_stream_until(&mut s2, "event: snapshot");

    sip_send(d.sip, &sip("INVITE", "web-call-1", "029-68691234", None));
    let seen = read_stream_until(&mut s1, "\"call\":\"ringing\"");
    assert!(seen.contains("web-call-1"), "{seen}");
    read_stream_until(&mut s2, "web-call-1");
    // The pop: the subscriber, the ticket, the greeting, the promise.
    let card = li.get("/live/card/web-call-1");
    assert_eq!(card.status, 200);
    for want in [
        "张伟",
        "馨苑1#-2-502",
        "dw0120502",
        "你好,客服中心",
        "新开 X-",
        "12小时内处理",
        "我接的",
    ] {
        assert!(
            card.body.contains(want),
            "the card lacks {want}:\n{}",
            card.body
        );
    }
    let number = card
        .body
        .split("data-ticket=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();

    // Answered elsewhere; li claims it first, zhang is told who has it.
    sip_send(
        d.sip,
        &sip(
            "CANCEL",
            "web-call-1",
            "029-68691234",
            Some("SIP;cause=200;text=\"Call completed elsewhere\""),
        ),
    );
    read_stream_until(&mut s2, "\"call\":\"answered\"");
    let r = li.post("/api/calls/web-call-1/claim", "");
    assert_eq!(r.status, 200, "{r:?}");
    read_stream_until(&mut s2, "\"call\":\"claimed\"");
    let r = zhang.post("/api/calls/web-call-1/claim", "");
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "李娜 已认领");

    // The fault record filled in; zhang's board sees the change live.
    let r = li.post(
        &format!("/api/tickets/{number}/amend"),
        r#"{"service_type":"宽带","reporter":"张伟","fault":"不能上网,光猫红灯"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let seen = read_stream_until(&mut s2, "ticket_updated");
    assert!(seen.contains(&number));
    let t = site.json(&["-u", "wang", "ticket", "show", &number]);
    assert_eq!(t["accepting_agent"], "li");
    assert_eq!(t["service_type"], "宽带");
    let board = zhang.get("/board");
    assert!(board.body.contains(&number) && board.body.contains("不能上网,光猫红灯"));

    // Repaired, then the callback passed with satisfaction: closed.
    let r = li.post(
        &format!("/api/tickets/{number}/step"),
        r#"{"step":"repair","cause":"光猫故障"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(li.get("/callbacks").status == 200);
    let r = li.post(
        &format!("/api/tickets/{number}/callback"),
        r#"{"result":"passed","satisfaction":"满意","handling":"已上门","note":"恢复正常"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(state(&site, &number), "closed");

    // A desk's wrong number: voided, no breach, no reply to the desk.
    sip_send(d.sip, &sip("INVITE", "web-call-2", "88218050", None));
    read_stream_until(&mut s1, "web-call-2");
    let desk = li.get("/live/card/web-call-2");
    let dn = desk
        .body
        .split("data-ticket=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(dn.starts_with("DC-"), "{dn}");
    let r = li.post(
        &format!("/api/tickets/{dn}/classify"),
        r#"{"class":"wrong_number","reason":"误拨"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(state(&site, &dn), "voided");
    let page = li.get(&format!("/tickets/{dn}"));
    assert!(
        page.body.contains("已作废") && page.body.contains("说明 误拨"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(">修好 √</button>"));

    // The manager reads who looked and who changed what.
    let audit = wang.get("/audit");
    assert_eq!(audit.status, 200);
    for want in [
        "call.card",
        "call.claim",
        "ticket.amend",
        "ticket.view",
        "ticket.classify",
        "李娜",
    ] {
        assert!(audit.body.contains(want), "the audit log lacks {want}");
    }
    let audit = wang.get("/audit?actor=zhang");
    assert!(audit.body.contains("board.view") && !audit.body.contains("call.claim"));
}

#[test]
fn the_cli_takes_the_same_steps() {
    let site = staffed(&[]);
    let u = site.json(&["-u", "li", "ticket", "new", "--phone", "13912345678"]);
    let un = u["number"].as_str().unwrap();
    let listed = site.json(&["-u", "li", "ticket", "list", "--untagged"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let t = site.json(&[
        "-u",
        "li",
        "ticket",
        "retag",
        un,
        "--subscriber",
        "dw0120502",
    ]);
    assert_eq!(t["tag"], "X");
    let t = site.json(&[
        "-u",
        "li",
        "ticket",
        "amend",
        un,
        "--service",
        "宽带",
        "--reporter",
        "张伟",
        "--fault",
        "掉线",
        "--cause",
        "",
        "--depot",
        "馨苑维护处",
        "--accepting-agent",
        "li",
    ]);
    assert_eq!(
        (t["service_type"].as_str(), t["fault"].as_str()),
        (Some("宽带"), Some("掉线"))
    );
    let e = site.fails(&["-u", "li", "ticket", "amend", un, "--service", "卫星"], 1);
    assert!(e.contains("卫星"), "{e}");
    let dup = site.json(&["-u", "li", "ticket", "new", "--phone", "88218050"])["number"]
        .as_str()
        .unwrap()
        .to_string();
    let dup2 = site.json(&["-u", "li", "ticket", "new", "--phone", "88218050"])["number"]
        .as_str()
        .unwrap()
        .to_string();
    let t = site.json(&["-u", "li", "ticket", "merge", &dup2, "--into", &dup]);
    assert_eq!(t["state"], "voided");
    let t = site.json(&["-u", "li", "ticket", "classify", &dup, "--as", "inquiry"]);
    assert_eq!(t["state"], "inquiry");
    let e = site.fails(&["-u", "li", "ticket", "void", un, "--reason", " "], 1);
    assert!(e.contains("reason"), "{e}");
    let t = site.json(&["-u", "li", "ticket", "void", un, "--reason", "误拨"]);
    assert_eq!(t["state"], "voided");
    let e = site.fails(&["-u", "li", "call", "claim", "nope"], 1);
    assert!(e.contains("no such call"), "{e}");
    // A password is never an argument.
    site.fails(&["user", "passwd", "li", "secret123"], 2);
}

#[test]
fn three_faults_from_one_building_are_an_outage_told_and_repaired_together() {
    let site = staffed(&[]);
    let d = start(&site);
    let li = agent(&d, "li");
    let mut numbers = Vec::new();
    for acc in ["dw0310101", "dw0320502", "dw0311201"] {
        let t = site.json(&[
            "-u",
            "li",
            "ticket",
            "new",
            "--account",
            acc,
            "--fault",
            "不能上网",
        ]);
        numbers.push(t["number"].as_str().unwrap().to_string());
    }
    let live = li.get("/live");
    assert!(
        live.body.contains("馨苑3号楼疑似大面积故障,已有 3 户报障"),
        "{}",
        live.body
    );
    // The board shows the same banner, and its banner alone for live updates.
    for path in ["/board", "/board?tag=Q&state=closed", "/board/banner"] {
        let r = li.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.body.contains("馨苑3号楼疑似大面积故障,已有 3 户报障")
                && r.body.contains("本楼全部修好 √"),
            "{path}: {}",
            r.body
        );
    }
    assert_eq!(agent(&d, "zhao").get("/board/banner").status, 403);
    // The next caller from that building hears it at once.
    sip_send(d.sip, &sip("INVITE", "web-outage-1", "68693004", None));
    wait_until("the call recorded", || {
        li.get("/live/card/web-outage-1").status == 200
    });
    let card = li.get("/live/card/web-outage-1");
    assert!(
        card.body.contains("馨苑3号楼疑似大面积故障,已有 4 户报障"),
        "{}",
        card.body
    );
    let r = li.post(
        "/api/outages/repair",
        r#"{"estate":"X","building":3,"cause":"光缆中断"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["repaired"].as_array().unwrap().len(), 4);
    for n in &numbers {
        assert_eq!(state(&site, n), "repaired");
    }
    assert!(!li.get("/board").body.contains("疑似大面积故障"));
    // Each keeps its own callback.
    let cbs = site.json(&["-u", "li", "callbacks", "list", "--state", "pending"]);
    assert_eq!(
        cbs.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "post_repair")
            .count(),
        4
    );
    let r = li.post("/api/outages/repair", r#"{"estate":"X","building":3}"#);
    assert_eq!(r.status, 422);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("没有疑似大面积故障")
    );
}

/// The version a page's ticket forms carry (`data-version`).
fn page_version(page: &Reply) -> String {
    page.body
        .split("data-version=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no data-version in {}", page.body))
        .to_string()
}

#[test]
fn a_form_from_an_older_version_of_the_ticket_is_refused_naming_who_changed_it() {
    let site = staffed(&[]);
    let d = start(&site);
    let li = agent(&d, "li");
    let zhang = agent(&d, "zhang");
    let n = new_ticket(&site, "68691234");
    let amend = format!("/api/tickets/{n}/amend");
    // Both open the ticket; 张敏 saves first.
    let seen_li = page_version(&li.get(&format!("/tickets/{n}")));
    let seen_zhang = page_version(&zhang.get(&format!("/tickets/{n}")));
    assert_eq!(seen_li, seen_zhang);
    let r = zhang.post_with(
        &amend,
        r#"{"fault":"光猫红灯"}"#,
        &[("X-Ticket-Version", &seen_zhang)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let now_version = r.json()["version"].to_string();
    assert_ne!(
        now_version, seen_li,
        "a save gives the ticket a new version"
    );
    let before = site.json(&["-u", "wang", "ticket", "show", &n]);
    // 李娜's form is from the older version: refused, nothing changes.
    for (path, body) in [
        (amend.clone(), r#"{"fault":"不能上网"}"#),
        (format!("/api/tickets/{n}/void"), r#"{"reason":"误拨"}"#),
        (
            format!("/api/tickets/{n}/step"),
            r#"{"step":"dispatch","depot":"馨苑维护处"}"#,
        ),
    ] {
        let r = li.post_with(&path, body, &[("X-Ticket-Version", &seen_li)]);
        assert_eq!(r.status, 409, "{path}: {r:?}");
        let e = r.json()["error"].as_str().unwrap_or("").to_string();
        assert!(
            e.contains(&format!("障碍单 {n} 在你打开之后已被 张敏 于"))
                && e.contains("修改")
                && e.contains("没有保存"),
            "{e}"
        );
    }
    let after = site.json(&["-u", "wang", "ticket", "show", &n]);
    assert_eq!(before, after, "a stale form changed the ticket");
    assert_eq!(after["fault"], "光猫红灯");
    let audit = site
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE actor = 'li' AND action LIKE 'ticket.%' AND action <> 'ticket.view'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(
        audit, 0,
        "a refused stale form left an audit row of a change"
    );
    // Once reloaded, the same form is taken; a version that is no number is refused.
    let fresh = page_version(&li.get(&format!("/tickets/{n}")));
    assert_eq!(fresh, now_version);
    let r = li.post_with(
        &amend,
        r#"{"fault":"不能上网"}"#,
        &[("X-Ticket-Version", &fresh)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = li.post_with(
        &amend,
        r#"{"fault":"x"}"#,
        &[("X-Ticket-Version", "yesterday")],
    );
    assert_eq!(r.status, 422, "{r:?}");
    assert!(
        r.json()["error"].as_str().unwrap().contains("版本"),
        "{r:?}"
    );
    assert_eq!(
        site.json(&["-u", "wang", "ticket", "show", &n])["fault"],
        "不能上网"
    );
    // A call from the same line attaches to the ticket meanwhile: the form
    // made before it is refused, naming the hotline.
    let before_call = page_version(&li.get(&format!("/tickets/{n}")));
    sip_send(d.sip, &sip("INVITE", "stale-repeat-1", "68691234", None));
    wait_until("the repeat report attached", || {
        page_version(&li.get(&format!("/tickets/{n}"))) != before_call
    });
    let r = li.post_with(
        &amend,
        r#"{"remarks":"用户说晚上在家"}"#,
        &[("X-Ticket-Version", &before_call)],
    );
    assert_eq!(r.status, 409, "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("已被 来电系统 于"),
        "{r:?}"
    );
}

/// A two-page G4 fax from the D180 desk (ghostscript, then libtiff's
/// tiffset for the sender), dropped into the site's spool; its row once
/// recorded with its ticket.
pub(crate) fn desk_fax(site: &Site) -> Value {
    let dir = site.path();
    let tif = crate::fax::gs(
        dir,
        "tiffg4",
        &[],
        "%!PS\n/Helvetica findfont 36 scalefont setfont\n72 700 moveto (D180: 8869 1234 no dial tone) show\nshowpage\n\
         /Helvetica findfont 36 scalefont setfont\n72 700 moveto (PAGE TWO) show\nshowpage\n",
        "desk.tif",
    );
    crate::fax::tiffset_description(&tif, "029 8821 7901");
    let tmp = site.file("spool/incoming/.desk.tif.tmp");
    std::fs::copy(&tif, &tmp).unwrap();
    std::fs::rename(&tmp, site.file("spool/incoming/desk.tif")).unwrap();
    support::wait_for("the desk's fax recorded", Duration::from_secs(60), || {
        site.json(&["fax", "list"])
            .as_array()
            .and_then(|l| l.iter().find(|f| f["name"] == "desk.tif").cloned())
            .filter(|f| f["ticket"].is_string())
    })
}

#[test]
fn the_faxes_of_a_ticket_show_their_pages_audited_to_whoever_may_open_the_ticket() {
    let site = staffed(&[
        ("rescan_secs = 30", "rescan_secs = 1"),
        ("settle_ms = 2000", "settle_ms = 200"),
    ]);
    let d = start(&site);
    let fax = desk_fax(&site);
    let id = fax["id"].as_i64().unwrap();
    let n = fax["ticket"].as_str().unwrap().to_string();
    let li = agent(&d, "li");
    let page = li.get(&format!("/tickets/{n}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("传真 1") && page.body.contains("2 页"),
        "{}",
        page.body
    );
    for k in [1, 2] {
        assert!(
            page.body
                .contains(&format!("<img src=\"/tickets/{n}/faxes/{id}/pages/{k}\"")),
            "page {k} image missing: {}",
            page.body
        );
    }
    let png = li.get(&format!("/tickets/{n}/faxes/{id}/pages/2"));
    assert_eq!(png.status, 200, "{}", png.body);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(
        png.body.contains("PNG") && png.body.contains("IHDR"),
        "not a PNG"
    );
    // No such page, and a fax of no ticket or of another one, are not found.
    assert_eq!(
        li.get(&format!("/tickets/{n}/faxes/{id}/pages/3")).status,
        404
    );
    assert_eq!(
        li.get(&format!("/tickets/{n}/faxes/{id}/pages/0")).status,
        404
    );
    let other = new_ticket(&site, "68691234");
    assert_eq!(
        li.get(&format!("/tickets/{other}/faxes/{id}/pages/1"))
            .status,
        404
    );
    // Roles: the clerk and a technician the ticket was not dispatched to may not.
    for u in ["zhao", "wu"] {
        let r = agent(&d, u).get(&format!("/tickets/{n}/faxes/{id}/pages/1"));
        assert_eq!(r.status, 403, "{u}: {r:?}");
    }
    // Every look is in the audit log under the person.
    let looks = site
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE actor = 'li' AND action = 'fax.preview' AND object = ?1",
            [id.to_string()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(looks, 1);
}

/// The board's counter rows against a count of every ticket.
fn counts_exact(site: &Site) {
    use faultdesk::store::console::{full_counts, kept_counts};
    let db = site.db();
    let (kept, full) = (kept_counts(&db).unwrap(), full_counts(&db).unwrap());
    assert_eq!(kept, full, "the kept counts drifted from the tickets");
    assert!(!full.is_empty());
}

#[test]
fn the_board_counts_stay_exact_through_every_kind_of_change_and_a_kill() {
    let site = staffed(&[]);
    let d = start(&site);
    let li = agent(&d, "li");
    let post = |n: &str, action: &str, body: &str| {
        let r = li.post(&format!("/api/tickets/{n}/{action}"), body);
        assert_eq!(r.status, 200, "{action} {body}: {r:?}");
    };
    // Calls: a known subscriber, an unknown caller, a repeat report, a desk.
    for (id, from) in [
        ("count-1", "68691234"),
        ("count-2", "13911112222"),
        ("count-3", "68691234"),
        ("count-4", "88218050"),
    ] {
        sip_send(d.sip, &sip("INVITE", id, from, None));
        sip_send(d.sip, &sip("CANCEL", id, from, Some("SIP;cause=200")));
    }
    wait_until("four calls recorded", || {
        site.db()
            .query_row(
                "SELECT count(*) FROM calls WHERE outcome <> 'ringing'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 4
    });
    let a = new_ticket(&site, "68693001");
    let b = new_ticket(&site, "68693002");
    let c = new_ticket(&site, "13800000009");
    let e = new_ticket(&site, "13800000010");
    let f = new_ticket(&site, "68693003");
    counts_exact(&site);
    // Every kind of change: steps to closed, inquiry, void, merge, retag, SLA pause and exemption.
    post(&a, "step", r#"{"step":"dispatch","depot":"馨苑维护处"}"#);
    post(&a, "step", r#"{"step":"repair","cause":"光猫故障"}"#);
    post(
        &a,
        "callback",
        r#"{"result":"passed","satisfaction":"满意"}"#,
    );
    post(&b, "classify", r#"{"class":"inquiry"}"#);
    post(&c, "void", r#"{"reason":"误拨"}"#);
    post(&e, "retag", r#"{"estate":"Q"}"#);
    post(&f, "merge", &format!(r#"{{"into":"{e}"}}"#));
    site.ok(&["-u", "li", "ticket", "sla", &e, "--pause", "用户不在家"]);
    counts_exact(&site);
    // Killed (no clean stop) and started again: the counts are what was committed.
    drop(d);
    let d = start(&site);
    counts_exact(&site);
    let li = agent(&d, "li");
    let r = li.post(&format!("/api/tickets/{e}/step"), r#"{"step":"dispatch"}"#);
    assert_eq!(r.status, 200, "{r:?}");
    site.ok(&["-u", "li", "ticket", "sla", &e, "--exempt", "暴雨"]);
    counts_exact(&site);
    let r = li.post(
        &format!("/api/tickets/{e}/step"),
        r#"{"step":"repair","cause":"外线"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    counts_exact(&site);
    // The board's chips say the same as a count of the open tickets.
    let open: i64 = site
        .db()
        .query_row(
            "SELECT count(*) FROM tickets WHERE state IN ('new', 'dispatched', 'reopened')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let board = li.get("/board");
    assert!(
        board.body.contains(&format!("未修好 {open}")),
        "{}",
        board.body
    );
}
