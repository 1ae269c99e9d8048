//! Promises the README and the component documents make, each shown by a
//! test that fails when the promise is broken: the audit log, ticket numbers
//! under concurrency, callbacks, the fax spool, the SIP wire and the outbox.
//! The database is read with rusqlite from the test, as another reader would.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;

use crate::support::{self, CALLING_ALL_DAY, Site, free_port, today, wait_for};

const LINE: &str = "88833114";

/// A reader of the site's database.
fn db(site: &Site) -> Connection {
    let c = Connection::open(site.file("var/faultdesk.db")).expect("open the database");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// One audit row: when (ms), who, what, which object.
#[derive(Debug, Clone, PartialEq)]
struct Audit {
    at: i64,
    actor: String,
    action: String,
    object: Option<String>,
}

fn audit(site: &Site) -> Vec<Audit> {
    let c = db(site);
    let mut st = c
        .prepare("SELECT at, actor, action, object FROM audit ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok(Audit {
            at: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            object: r.get(3)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A phoned-in report recorded by agent li through the CLI: its number.
fn report(site: &Site, phone: &str) -> String {
    site.new_ticket(&["--phone", phone, "--fault", "不能上网"])
}

/// The audit row names (who, what was done, to which object) and was
/// written `during` the command (ms).
fn names(row: &Audit, want: (&str, &str, Option<&str>), during: std::ops::RangeInclusive<i64>) {
    let got = (
        row.actor.as_str(),
        row.action.as_str(),
        row.object.as_deref(),
    );
    assert_eq!(got, want);
    assert!(
        during.contains(&row.at),
        "{row:?} not written during {during:?}"
    );
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Two subscribers of the default estates (CSV as Excel writes it).
fn roster(site: &Site) -> String {
    let p = site.file("roster.csv");
    std::fs::write(
        &p,
        "账号,姓名,固话号码,手机号码,地址,产品\n\
         dw0120502,王伟,68691234,13912345678,馨苑1#-2-502,宽带50M\n\
         rq1220803,李强,029-68697777,13800001111,融侨城 12-2-0803,宽带100M\n",
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn every_audited_look_and_change_writes_one_row_and_nothing_without_a_person() {
    let site = Site::initialised(&[]);
    let csv = roster(&site);
    let n = report(&site, "68691234");
    // A call row as the hotline writes it, for `call show`.
    db(&site)
        .execute(
            "INSERT INTO calls (call_id, caller, callee, transport, peer, invited_at, outcome)
             VALUES ('audit-call-1', '68691234', ?1, 'udp', '127.0.0.1:5062', ?2, 'abandoned')",
            rusqlite::params![LINE, now_ms()],
        )
        .unwrap();
    // A message the server refused for good, for `outbox retry`.
    db(&site)
        .execute(
            "INSERT INTO outbox (message_id, purpose, recipient, subject, body, state, attempts, last_error, created_at)
             VALUES ('<audit.1@faultdesk.localhost>', 'repair_confirmation', 'dc@localhost', 's', 'b', 'failed', 1, '550', ?1)",
            [now_ms()],
        )
        .unwrap();
    let backup = site.file("copy.db").display().to_string();
    let cases: Vec<(Vec<&str>, &str, Option<&str>)> = vec![
        (
            vec!["import", "subscribers", &csv],
            "subscriber.import",
            Some(&csv),
        ),
        (
            vec!["subscriber", "find", "029-68691234"],
            "subscriber.find",
            Some("029-68691234"),
        ),
        (vec!["ticket", "show", &n], "ticket.show", Some(&n)),
        (
            vec!["call", "show", "audit-call-1"],
            "call.show",
            Some("audit-call-1"),
        ),
        (vec!["callbacks", "due"], "callbacks.due", None),
        (
            vec!["outbox", "retry", "1"],
            "outbox.retry",
            Some("<audit.1@faultdesk.localhost>"),
        ),
        (vec!["backup", &backup], "store.backup", Some(&backup)),
        (
            vec!["user", "add", "zhao", "--role", "clerk"],
            "user.add",
            Some("zhao"),
        ),
    ];
    for (args, action, object) in cases {
        let before = audit(&site);
        // No acting person: refused as a usage error, nothing written.
        let err = site.fails(&args, 2);
        assert!(err.contains("--user"), "{args:?}: {err}");
        assert_eq!(audit(&site), before, "{args:?} without a person");
        // A person who is not on the staff: refused, nothing written.
        let mut stranger = vec!["-u", "nobody"];
        stranger.extend_from_slice(&args);
        assert!(!site.run(&stranger).status.success(), "{stranger:?}");
        assert_eq!(audit(&site), before, "{stranger:?}");
        // The manager: one row naming her, what she looked at or changed, and when.
        let mut as_wang = vec!["-u", "wang"];
        as_wang.extend_from_slice(&args);
        let t0 = now_ms();
        site.ok(&as_wang);
        let t1 = now_ms();
        let after = audit(&site);
        assert_eq!(after.len(), before.len() + 1, "{args:?}: {after:?}");
        names(after.last().unwrap(), ("wang", action, object), t0..=t1);
    }
    assert!(Path::new(&backup).exists());
    // Putting a backup in place: refused without a person (the database
    // untouched); done by one, it is the restored database's newest row.
    let before = audit(&site);
    site.fails(&["restore", &backup], 2);
    assert_eq!(audit(&site), before);
    let t0 = now_ms();
    site.ok(&["-u", "wang", "restore", &backup]);
    let row = audit(&site).pop().unwrap();
    names(
        &row,
        ("wang", "store.restore", Some(&backup)),
        t0..=now_ms(),
    );
}

/// A site whose SIP listener is on a free port, and its daemon (the
/// harness's: started once ready, killed when dropped).
struct Daemon {
    site: Site,
    port: u16,
    running: Option<support::Daemon>,
}

impl Daemon {
    /// A site for the daemon (not yet started).
    fn new(edits: &[(&str, &str)]) -> Daemon {
        let (site, port) = Site::with_sip_port(edits);
        Daemon {
            site,
            port,
            running: None,
        }
    }

    /// Prepared as `new`, then started.
    fn start(edits: &[(&str, &str)]) -> Daemon {
        let mut d = Daemon::new(edits);
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        self.running = Some(support::Daemon::start(&self.site, &[]));
    }

    fn log(&self) -> String {
        self.site.daemon_log()
    }

    fn stop(&mut self) {
        if let Some(d) = self.running.take() {
            d.stop();
        }
    }
}

/// The numbers of today's tickets with tag `tag`, in ascending order.
fn numbers(site: &Site, tag: &str) -> Vec<String> {
    let c = db(site);
    let mut st = c
        .prepare("SELECT number FROM tickets WHERE number LIKE ?1 ORDER BY number")
        .unwrap();
    st.query_map([format!("{tag}-{}-%", today())], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn ticket_numbers_stay_unique_and_gapless_with_the_cli_and_the_daemon_at_once() {
    const CALLS: usize = 200;
    const CLI: usize = 100;
    let mut d = Daemon::start(&[("[fax]\nenabled = true", "[fax]\nenabled = false")]);
    let xml = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/sipp/uac-elsewhere.xml"
    );
    // Every sipp call is a new unknown caller (prefix + call number): an
    // untagged ticket, drawn from the same per-day sequence as the CLI's.
    let sipp = Command::new("sipp")
        .current_dir(d.site.path())
        .args([
            &format!("127.0.0.1:{}", d.port),
            "-sf",
            xml,
            "-i",
            "127.0.0.1",
            "-p",
            &free_port().to_string(),
            "-s",
            LINE,
            "-r",
            "40",
            "-m",
            &CALLS.to_string(),
            "-d",
            "20",
            "-key",
            "caller",
            "1390",
            "-timeout",
            "120s",
            "-nostdin",
            "-trace_err",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp (Debian package sip-tester) is needed by this test");
    for i in 0..CLI {
        let phone = format!("1380000{i:04}");
        d.site.ok(&[
            "-u",
            "li",
            "ticket",
            "new",
            "--phone",
            &phone,
            "--fault",
            "不能上网",
        ]);
    }
    let out = sipp.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sipp: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    d.stop();
    let got = numbers(&d.site, "U");
    let want: Vec<String> = (1..=CALLS + CLI)
        .map(|i| format!("U-{}-{i:03}", today()))
        .collect();
    let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
    assert!(
        got.len() == want.len() && missing.is_empty() && extra.is_empty(),
        "{} tickets for {} reports; missing {missing:?}; unexpected {extra:?}",
        got.len(),
        want.len()
    );
}

/// (state, due_at ms) of the callbacks of ticket `number`, oldest first.
fn ticket_callbacks(site: &Site, number: &str) -> Vec<(String, i64)> {
    let c = db(site);
    let mut st = c
        .prepare(
            "SELECT c.state, c.due_at FROM callbacks c JOIN tickets t ON t.id = c.ticket_id
             WHERE t.number = ?1 ORDER BY c.id",
        )
        .unwrap();
    st.query_map([number], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn reopening_a_ticket_cancels_its_pending_callback() {
    let site = Site::initialised(&[]);
    let n = &report(&site, "68691234");
    site.ok(&["-u", "li", "ticket", "dispatch", n, "--depot", "馨苑维护处"]);
    site.ok(&["-u", "li", "ticket", "repaired", n, "--cause", "光猫故障"]);
    let cbs = ticket_callbacks(&site, n);
    assert_eq!(cbs.len(), 1, "{cbs:?}");
    assert_eq!(cbs[0].0, "pending");
    site.ok(&[
        "-u",
        "li",
        "ticket",
        "reopen",
        n,
        "--reason",
        "用户说还是不通",
    ]);
    let cbs = ticket_callbacks(&site, n);
    assert_eq!(cbs.len(), 1, "{cbs:?}");
    assert_eq!(cbs[0].0, "cancelled");
    // Nothing of it is due any more.
    let due = site.json(&["-u", "li", "callbacks", "due"]);
    assert!(
        !due.to_string().contains(n),
        "a reopened ticket's callback is still due: {due}"
    );
}

/// The first instant at or after `t` inside the daily window [start, end)
/// of the centre's local time.
fn next_slot(
    t: chrono::DateTime<chrono::Utc>,
    start: chrono::NaiveTime,
    end: chrono::NaiveTime,
) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let tz = chrono_tz::Asia::Shanghai;
    let local = t.with_timezone(&tz);
    if local.time() >= start && local.time() < end {
        return t;
    }
    let day = if local.time() < start {
        local.date_naive()
    } else {
        local.date_naive().succ_opt().unwrap()
    };
    tz.from_local_datetime(&day.and_time(start))
        .earliest()
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn a_missed_call_callback_not_answered_is_retried_inside_the_window() {
    use chrono::{Duration as D, NaiveTime, Timelike};
    // The window closes half an hour from now (at most at 23:59): the first
    // retry, an hour on, falls outside it and must move to the next opening.
    let tz = chrono_tz::Asia::Shanghai;
    let local = (chrono::Utc::now() + D::minutes(31)).with_timezone(&tz);
    let end = if local.date_naive() == chrono::Utc::now().with_timezone(&tz).date_naive() {
        NaiveTime::from_hms_opt(local.hour(), local.minute(), 0).unwrap()
    } else {
        NaiveTime::from_hms_opt(23, 59, 0).unwrap()
    };
    let start = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
    let window = format!(
        "window_start = \"00:00\"\nwindow_end = \"{}\"",
        end.format("%H:%M")
    );
    let site = Site::initialised(&[(
        "window_start = \"09:00\"\nwindow_end = \"20:00\"",
        window.as_str(),
    )]);
    // An abandoned call's callback, as the hotline records it, due now.
    let now = now_ms();
    db(&site)
        .execute(
            "INSERT INTO callbacks (kind, call_id, phone, state, due_at, attempts, created_at, updated_at)
             VALUES ('missed_call', 'missed-1', '13900000002', 'pending', ?1, 0, ?1, ?1)",
            [now],
        )
        .unwrap();
    let id: i64 = db(&site)
        .query_row(
            "SELECT id FROM callbacks WHERE call_id = 'missed-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let t0 = chrono::Utc::now();
    site.ok(&[
        "-u",
        "li",
        "callbacks",
        "done",
        &id.to_string(),
        "--result",
        "no-answer",
    ]);
    let t1 = chrono::Utc::now();
    let (state, due, attempts): (String, i64, i64) = db(&site)
        .query_row(
            "SELECT state, due_at, attempts FROM callbacks WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(state, "pending");
    assert_eq!(attempts, 1);
    let lo = next_slot(t0 + D::minutes(60), start, end).timestamp_millis();
    let hi = next_slot(t1 + D::minutes(60), start, end).timestamp_millis();
    assert!(
        lo <= due && due <= hi,
        "retry due {due}, expected between {lo} and {hi} (the next calling hour after 60 minutes)"
    );
}

/// A one-page G4 fax made by ghostscript, with `tail` appended so that each
/// file has its own content hash.
fn g4_fax(dir: &Path, tail: &str) -> Vec<u8> {
    let ps = dir.join("page.ps");
    std::fs::write(
        &ps,
        "%!PS\n/Helvetica findfont 36 scalefont setfont\n72 700 moveto (Fault report) show\nshowpage\n",
    )
    .unwrap();
    let out = dir.join("page.tif");
    let st = Command::new("gs")
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg4"])
        .arg(format!("-sOutputFile={}", out.display()))
        .arg(&ps)
        .status()
        .expect("ghostscript (Debian package ghostscript) is needed by this test");
    assert!(st.success(), "gs failed");
    let mut bytes = std::fs::read(&out).unwrap();
    bytes.extend_from_slice(tail.as_bytes());
    bytes
}

/// Drops a fax into `incoming/` (temporary name, then a rename), its
/// sidecar first when given.
fn drop_fax(site: &Site, name: &str, bytes: &[u8], sidecar: Option<&str>) {
    if let Some(json) = sidecar {
        let tmp = site.file(&format!("spool/incoming/.{name}.json.tmp"));
        std::fs::write(&tmp, json).unwrap();
        std::fs::rename(&tmp, site.file(&format!("spool/incoming/{name}.json"))).unwrap();
    }
    let tmp = site.file(&format!("spool/incoming/.{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, site.file(&format!("spool/incoming/{name}"))).unwrap();
}

/// The fax rows by name (`fax list --json`).
fn fax_rows(site: &Site) -> Vec<Value> {
    site.json(&["fax", "list"]).as_array().cloned().unwrap()
}

fn fax_named(site: &Site, name: &str) -> Option<Value> {
    fax_rows(site).into_iter().find(|f| f["name"] == name)
}

/// Where file `name` lies under `dir` (any depth).
fn find_file(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                return Some(p);
            }
        }
    }
    None
}

fn count(site: &Site, sql: &str) -> i64 {
    db(site).query_row(sql, [], |r| r.get(0)).unwrap()
}

const FAX_SITE: [(&str, &str); 2] = [
    ("[sip]\nenabled = true", "[sip]\nenabled = false"),
    ("max_bytes = 67108864", "max_bytes = 200000"),
];

#[test]
fn the_fax_spool_keeps_its_promises_on_sidecars_size_repeats_and_crashes() {
    let mut d = Daemon::start(&FAX_SITE);
    let s = &d.site;
    let tmp = tempfile::tempdir().unwrap();
    // A sidecar that is not JSON: the fax goes to failed/ with the parse error.
    drop_fax(
        s,
        "bad.tif",
        &g4_fax(tmp.path(), "bad"),
        Some("{\"sender\": 8824"),
    );
    // Larger than fax.max_bytes: failed unread, saying so.
    drop_fax(s, "big.tif", &vec![0u8; 300_000], None);
    // Two faxes from the same unknown sender: one untagged ticket, the
    // second attached to it as a repeat report.
    let who = Some(r#"{"sender": "13912340000"}"#);
    drop_fax(s, "first.tif", &g4_fax(tmp.path(), "first"), who);
    let first = wait_for("first.tif recorded", Duration::from_secs(60), || {
        fax_named(s, "first.tif").filter(|f| f["ticket"].is_string())
    });
    drop_fax(s, "second.tif", &g4_fax(tmp.path(), "second"), who);
    let second = wait_for("second.tif recorded", Duration::from_secs(60), || {
        fax_named(s, "second.tif").filter(|f| f["ticket"].is_string())
    });
    let n = first["ticket"].as_str().unwrap();
    assert!(n.starts_with("U-"), "{first}");
    assert_eq!(second["ticket"], n, "{second}");
    assert_eq!(count(s, "SELECT count(*) FROM tickets"), 1);
    let shown = s.json(&["-u", "li", "ticket", "show", n]);
    assert!(
        shown["events"].to_string().contains("repeat"),
        "no repeat report on {n}: {shown}"
    );
    // A look at a page is audited under a person; without one it is refused.
    let id = first["id"].to_string();
    let png = s.file("page.png").display().to_string();
    let before = audit(s);
    let err = s.fails(&["fax", "preview", &id, "1", "-o", &png], 2);
    assert!(err.contains("--user"), "{err}");
    assert_eq!(audit(s), before);
    let t0 = now_ms();
    s.ok(&["-u", "li", "fax", "preview", &id, "1", "-o", &png]);
    let after = audit(s);
    assert_eq!(after.len(), before.len() + 1);
    names(
        after.last().unwrap(),
        ("li", "fax.preview", Some(&id)),
        t0..=now_ms(),
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let bad = wait_for("bad.tif failed", Duration::from_secs(60), || {
        fax_named(s, "bad.tif").filter(|f| f["state"] == "failed")
    });
    let reason = std::fs::read_to_string(s.file("spool/failed/bad.tif.reason")).unwrap();
    assert!(reason.contains("bad.tif.json"), "{reason}");
    assert!(bad["reason"].as_str().unwrap().contains("json"), "{bad}");
    assert!(s.file("spool/failed/bad.tif").exists());
    let big = wait_for("big.tif failed", Duration::from_secs(60), || {
        fax_named(s, "big.tif").filter(|f| f["state"] == "failed")
    });
    assert!(
        big["reason"].as_str().unwrap().contains("200000"),
        "the reason names the limit: {big}"
    );
    assert!(s.file("spool/failed/big.tif").exists());

    // A crash after the commit and before the final rename: the recorded
    // file lies in processing/. At the next start it is moved on, once.
    d.stop();
    let s = &d.site;
    let done = find_file(&s.file("spool/done"), "second.tif").expect("second.tif in done/");
    std::fs::rename(&done, s.file("spool/processing/second.tif")).unwrap();
    let (faxes, tickets, events) = (
        count(s, "SELECT count(*) FROM faxes"),
        count(s, "SELECT count(*) FROM tickets"),
        count(s, "SELECT count(*) FROM ticket_events"),
    );
    d.spawn();
    let s = &d.site;
    wait_for(
        "second.tif moved on from processing/",
        Duration::from_secs(60),
        || (!s.file("spool/processing/second.tif").exists() && done.exists()).then_some(()),
    );
    assert_eq!(count(s, "SELECT count(*) FROM faxes"), faxes);
    assert_eq!(count(s, "SELECT count(*) FROM tickets"), tickets);
    assert_eq!(count(s, "SELECT count(*) FROM ticket_events"), events);
    d.stop();
}

#[test]
fn with_triage_ticket_off_an_unknown_fax_opens_no_ticket() {
    let mut edits = FAX_SITE.to_vec();
    edits.push(("triage_ticket = true", "triage_ticket = false"));
    let mut d = Daemon::start(&edits);
    let tmp = tempfile::tempdir().unwrap();
    drop_fax(&d.site, "stranger.tif", &g4_fax(tmp.path(), "x"), None);
    let f = wait_for("stranger.tif recorded", Duration::from_secs(60), || {
        fax_named(&d.site, "stranger.tif").filter(|f| f["state"] == "recorded")
    });
    assert_eq!(f["class"], "triage");
    assert!(f["ticket"].is_null(), "{f}");
    assert_eq!(count(&d.site, "SELECT count(*) FROM tickets"), 0);
    d.stop();
}

#[test]
fn faxrcvd_is_refused_in_remember_mode_and_leaves_the_folder_alone() {
    let s = Site::initialised(&[("mode = \"move\"", "mode = \"remember\"")]);
    let tmp = tempfile::tempdir().unwrap();
    let q = tmp.path().join("fax00001.tif");
    std::fs::write(&q, g4_fax(tmp.path(), "q")).unwrap();
    let before = std::fs::read_dir(s.file("spool/incoming"))
        .map(|r| r.count())
        .unwrap_or(0);
    let out = s.run(&["fax", "faxrcvd", q.to_str().unwrap(), "ttyS0", "000123", ""]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("remember"), "{err}");
    let after = std::fs::read_dir(s.file("spool/incoming"))
        .map(|r| r.count())
        .unwrap_or(0);
    assert_eq!(before, after, "faxrcvd wrote into the spool");
}

/// An INVITE to the fault line from 13900000077 as a raw UDP datagram;
/// `to_tag` and `cseq_method` may be set wrong on purpose.
fn invite(call_id: &str, to_tag: Option<&str>, cseq_method: &str) -> Vec<u8> {
    format!(
        "INVITE sip:{LINE}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{call_id};rport\r\n\
From: <sip:13900000077@127.0.0.1>;tag=f{call_id}\r\n\
To: <sip:{LINE}@127.0.0.1>{tag}\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 {cseq_method}\r\n\
Contact: <sip:13900000077@127.0.0.1:9>\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n",
        tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default()
    )
    .into_bytes()
}

/// A UDP peer of the daemon that remembers every response it got and when.
struct Peer {
    sock: std::net::UdpSocket,
    port: u16,
    got: Vec<(Instant, String)>,
}

impl Peer {
    fn new(port: u16) -> Peer {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Peer {
            sock,
            port,
            got: Vec::new(),
        }
    }

    fn send(&self, msg: &[u8]) {
        self.sock.send_to(msg, ("127.0.0.1", self.port)).unwrap();
    }

    /// Reads for `ms` milliseconds.
    fn listen(&mut self, ms: u64) {
        let until = Instant::now() + Duration::from_millis(ms);
        let mut buf = [0u8; 65535];
        while Instant::now() < until {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                self.got.push((Instant::now(), text));
            }
        }
    }

    /// The first response whose status line starts with `status`, waiting
    /// at most `secs` seconds for it.
    fn wait(&mut self, status: &str, secs: u64) -> (Instant, String) {
        let want = format!("SIP/2.0 {status}");
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(r) = self.got.iter().find(|(_, t)| t.starts_with(&want)) {
                return r.clone();
            }
            assert!(
                Instant::now() < until,
                "no {status} within {secs} s; got {:?}",
                self.statuses()
            );
            self.listen(50);
        }
    }

    fn statuses(&self) -> Vec<String> {
        self.got
            .iter()
            .map(|(_, t)| t.lines().next().unwrap_or("").to_string())
            .collect()
    }
}

#[test]
fn an_invite_with_an_unknown_to_tag_gets_481_and_a_cseq_mismatch_400() {
    let mut d = Daemon::start(&[("[fax]\nenabled = true", "[fax]\nenabled = false")]);
    let mut p = Peer::new(d.port);
    // RFC 3261 §12.2.2: a request inside a dialog we do not know.
    p.send(&invite("tagged-1", Some("nosuchdialog"), "INVITE"));
    let (_, r) = p.wait("481", 10);
    assert!(r.contains("Call-ID: tagged-1"), "{r}");
    // §8.1.1.5: the CSeq method must match the request's.
    p.send(&invite("cseq-1", None, "OPTIONS"));
    let (_, r) = p.wait("400", 10);
    assert!(r.contains("Call-ID: cseq-1"), "{r}");
    assert!(r.contains("Warning:") && r.contains("CSeq"), "{r}");
    p.listen(500);
    assert!(
        !p.statuses().iter().any(|s| s.contains(" 180 ")),
        "{:?}",
        p.statuses()
    );
    // Neither was recorded as a call.
    assert_eq!(count(&d.site, "SELECT count(*) FROM calls"), 0);
    d.stop();
}

#[test]
fn the_180_waits_for_the_call_row_to_be_committed() {
    let mut d = Daemon::start(&[("[fax]\nenabled = true", "[fax]\nenabled = false")]);
    // Another connection holds the database's write lock.
    let holder = db(&d.site);
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut p = Peer::new(d.port);
    p.send(&invite("stalled-1", None, "INVITE"));
    p.wait("100", 10);
    p.listen(1500);
    assert!(
        !p.statuses().iter().any(|s| s.contains(" 180 ")),
        "180 sent while the call row could not be written: {:?}",
        p.statuses()
    );
    let released = Instant::now();
    holder.execute_batch("ROLLBACK").unwrap();
    let (at, _) = p.wait("180", 10);
    assert!(at >= released);
    // By the time the 180 arrived the call and its ticket were in the database.
    let (calls, ticket): (i64, Option<i64>) = db(&d.site)
        .query_row(
            "SELECT count(*), max(ticket_id) FROM calls WHERE call_id = 'stalled-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(calls, 1);
    assert!(ticket.is_some());
    d.stop();
}

const SMTPD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/smtpd.py");

/// An aiosmtpd server (python3-aiosmtpd) as a child process, ready once it
/// printed `READY`.
struct Smtp {
    child: Child,
    dir: std::path::PathBuf,
}

impl Smtp {
    fn start(mut cmd: Command, dir: &Path) -> Smtp {
        std::fs::create_dir_all(dir).unwrap();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
            .spawn()
            .expect("python3 with aiosmtpd (Debian package python3-aiosmtpd) is needed");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(
            line.starts_with("READY"),
            "SMTP server did not start: {line:?} {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        Smtp {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// tests/smtp/smtpd.py on `port`, with AUTH for user `faultdesk` and `password`.
    fn with_auth(port: u16, dir: &Path, password: &str) -> Smtp {
        let mut c = Command::new(SMTPD);
        c.args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(["--auth", "faultdesk"])
            .env("SMTPD_PASSWORD", password);
        Smtp::start(c, dir)
    }

    /// The messages the server accepted.
    fn received(&self) -> usize {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Config edits: mail over SMTP to `port` on loopback, polled fast; no SIP, no fax.
fn smtp_edits(port_line: &str) -> Vec<(&str, &str)> {
    vec![
        ("[sip]\nenabled = true", "[sip]\nenabled = false"),
        ("[fax]\nenabled = true", "[fax]\nenabled = false"),
        ("transport = \"file\"", "transport = \"smtp\""),
        ("port = 25", port_line),
        ("poll_ms = 1000", "poll_ms = 100"),
    ]
}

/// A desk's ticket repaired and called back: one repair confirmation queued.
fn queue_confirmation(site: &Site) {
    let n = site.new_ticket(&["--phone", "88218050", "--fault", "电话无拨号音"]);
    site.ticket(&["repaired", &n, "--cause", "分线盒进水"]);
    site.ticket(&["callback", &n, "--result", "passed"]);
}

fn outbox_states(site: &Site) -> Vec<String> {
    let c = db(site);
    let mut st = c.prepare("SELECT state FROM outbox ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// An aiosmtpd server that holds every message at the end of DATA until the
/// file `release` appears in its folder (it writes `holding` meanwhile).
const HOLDING_SERVER: &str = r#"
import asyncio, os, sys, time
from aiosmtpd.controller import Controller
port, folder = int(sys.argv[1]), sys.argv[2]
class Hold:
    async def handle_DATA(self, server, session, envelope):
        open(os.path.join(folder, "holding"), "w").close()
        while not os.path.exists(os.path.join(folder, "release")):
            await asyncio.sleep(0.05)
        with open(os.path.join(folder, "log.jsonl"), "a") as f:
            f.write("{}\n")
        return "250 2.0.0 OK"
c = Controller(Hold(), hostname="127.0.0.1", port=port)
c.start()
print("READY", port, flush=True)
while True:
    time.sleep(3600)
"#;

#[test]
fn shutdown_finishes_the_send_in_flight() {
    let port = free_port();
    let port_line = format!("port = {port}");
    let mut d = Daemon::start(&smtp_edits(&port_line));
    let folder = d.site.file("smtp");
    // The interpreter tests/smtp/smtpd.py names, the one with aiosmtpd.
    let shebang = std::fs::read_to_string(SMTPD).unwrap();
    let python = shebang.lines().next().unwrap().trim_start_matches("#!");
    let mut c = Command::new(python);
    c.args(["-c", HOLDING_SERVER, &port.to_string()])
        .arg(&folder);
    let smtp = Smtp::start(c, &folder);
    queue_confirmation(&d.site);
    wait_for(
        "the message to reach the end of DATA",
        Duration::from_secs(60),
        || folder.join("holding").exists().then_some(()),
    );
    // SIGTERM while the server holds the message: the daemon waits for the send.
    let mut running = d.running.take().expect("started");
    running.term();
    let held = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < held {
        assert!(
            running.running(),
            "the daemon left a send in flight: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(folder.join("release"), "").unwrap();
    let code = running.exit();
    assert!(code.success(), "{}", d.log());
    assert_eq!(smtp.received(), 1);
    assert_eq!(outbox_states(&d.site), ["sent"]);
}

/// Sends one confirmation with the daemon and returns its log.
fn send_one(d: &mut Daemon, smtp: &Smtp, sent_before: usize) -> String {
    queue_confirmation(&d.site);
    wait_for("the message to be sent", Duration::from_secs(60), || {
        (outbox_states(&d.site)
            .iter()
            .filter(|s| *s == "sent")
            .count()
            > sent_before)
            .then_some(())
    });
    assert_eq!(smtp.received(), sent_before + 1);
    d.stop();
    d.log()
}

/// Sends one confirmation; whether the daemon's log warned that others can
/// read the password it took from `key` (the password itself is never logged).
fn send_and_warned(
    d: &mut Daemon,
    smtp: &Smtp,
    sent_before: usize,
    key: &str,
    secret: &str,
) -> bool {
    std::fs::write(d.site.file("daemon.log"), "").unwrap();
    d.spawn();
    let log = send_one(d, smtp, sent_before);
    assert!(!log.contains(secret), "the password appeared in the log");
    // The key is a field of the line: `key=NAME` or `key="NAME"`.
    let fields = [format!("key={key}"), format!("key=\"{key}\"")];
    log.lines().any(|l| {
        l.contains("can read") && l.split_whitespace().any(|w| fields.iter().any(|f| f == w))
    })
}

/// A daemon (not yet started) that logs in as `faultdesk` with the password
/// from `password_line`, and an SMTP server that accepts only `secret`.
fn auth_daemon(password_line: &str, secret: &str) -> (Daemon, Smtp) {
    let port = free_port();
    let port_line = format!("port = {port}");
    let account = format!("username = \"faultdesk\"\n{password_line}");
    let mut edits = smtp_edits(&port_line);
    edits.push(("# username = \"faultdesk\"", &account));
    let d = Daemon::new(&edits);
    let smtp = Smtp::with_auth(port, &d.site.file("smtp"), secret);
    (d, smtp)
}

#[test]
fn the_smtp_password_from_a_file_and_the_warning_when_others_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    const SECRET: &str = "s3cret-from-file";
    const KEY: &str = "mail.smtp.password_file";
    let (mut d, smtp) = auth_daemon("password_file = \"smtp.pass\"", SECRET);
    let pass = d.site.file("smtp.pass");
    std::fs::write(&pass, format!("{SECRET}\nnot part of it\n")).unwrap();
    // Only the first line is the password: the server accepts the login.
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!send_and_warned(&mut d, &smtp, 0, KEY, SECRET));
    // Readable by every user: still used, and a warning naming the key.
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(send_and_warned(&mut d, &smtp, 1, KEY, SECRET));
}

#[test]
fn a_password_in_a_world_readable_config_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    const SECRET: &str = "s3cret-in-config";
    const KEY: &str = "mail.smtp.password";
    let (mut d, smtp) = auth_daemon(&format!("password = \"{SECRET}\""), SECRET);
    let cfg = d.site.file("config/faultdesk.toml");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(send_and_warned(&mut d, &smtp, 0, KEY, SECRET));
    // Readable by its owner only: no warning.
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!send_and_warned(&mut d, &smtp, 1, KEY, SECRET));
}

#[test]
fn a_refused_registration_is_retried_with_growing_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let k = crate::sip::Kamailio::start(dir.path());
    let register = format!(
        "[sip.register]\nregistrar = \"sip:127.0.0.1:{}\"\nuser = \"{LINE}\"\npassword_file = \"sip.pass\"\nexpires_secs = 60\ntimeout_secs = 5\n\n[fax]",
        k.port
    );
    let mut d = Daemon::new(&[("\n[fax]", &register)]);
    // Kamailio knows the user by another password: every REGISTER is refused (403).
    std::fs::write(d.site.file("sip.pass"), "wrong\n").unwrap();
    d.spawn();
    // When each refusal reached the registrar, as the test saw it.
    let mut seen: Vec<Instant> = Vec::new();
    wait_for(
        "four refused registrations",
        Duration::from_secs(60),
        || {
            let n = k.log_text().matches("AUTH FAILED").count();
            while seen.len() < n {
                seen.push(Instant::now());
            }
            (n >= 4).then_some(())
        },
    );
    let gaps: Vec<f64> = seen
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    // Back-off of 1 s, 2 s, 4 s (doubling, up to a minute), never a tight loop.
    // Each refusal is stamped when the test reads it in the registrar's log, up
    // to a poll late (a slow machine has been seen 0.4 s late): hence the half
    // second of slack, which a tight loop or a fixed pause still fails.
    assert!(gaps[0] >= 0.5, "retried after {gaps:?} s");
    for w in gaps.windows(2) {
        assert!(w[1] >= w[0] + 0.5, "pauses do not grow: {gaps:?} s");
    }
    let status = d.site.json(&["status"])["components"]["sip.registration"]["value"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        status.starts_with("failed") && status.contains("403") && status.contains("retry in"),
        "{status}"
    );
    d.stop();
}

#[test]
fn the_daemon_finds_a_callback_the_cli_scheduled_at_its_next_rescan() {
    let mut d = Daemon::start(&[
        ("[fax]\nenabled = true", "[fax]\nenabled = false"),
        ("[sip]\nenabled = true", "[sip]\nenabled = false"),
        CALLING_ALL_DAY[0],
        CALLING_ALL_DAY[1],
        ("after_repair_minutes = 30", "after_repair_minutes = 0"),
        ("rescan_secs = 30\n\n[sip]", "rescan_secs = 2\n\n[sip]"),
    ]);
    // Written by another process while the daemon sleeps: due at once.
    let n = report(&d.site, "88218050");
    d.site
        .ok(&["-u", "li", "ticket", "repaired", &n, "--cause", "光猫故障"]);
    let written = Instant::now();
    wait_for(
        "the daemon to announce the callback",
        Duration::from_secs(30),
        || {
            d.log()
                .lines()
                .any(|l| l.contains("callback due") && l.contains(n.as_str()))
                .then_some(())
        },
    );
    // Found by the rescan (every 2 s), not at a later wake-up.
    assert!(written.elapsed() < Duration::from_secs(10));
    d.stop();
}
