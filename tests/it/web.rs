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

/// A site with an agent, a clerk, a technician and a manager, each with a
/// password, and a subscriber in 馨苑 1#-2-502.
pub(crate) fn staffed(edits: &[(&str, &str)]) -> Site {
    let s = Site::initialised(edits);
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
    for u in ["li", "wang", "zhao", "wu", "zhang"] {
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
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
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
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
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
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
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
        http(
            self.port,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("X-CSRF-Token", &self.csrf),
                ("Content-Type", "application/json"),
                ("Origin", &format!("http://127.0.0.1:{}", self.port)),
            ],
            body,
        )
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
    let pages: [(&str, &[&str]); 6] = [
        ("/live", &["li", "wang"]),
        ("/board", &["li", "wang"]),
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

/// Sends one SIP request over UDP, without waiting for answers.
pub(crate) fn sip_send(port: u16, msg: &str) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    // Let the answers arrive before the socket goes.
    std::thread::sleep(Duration::from_millis(200));
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
