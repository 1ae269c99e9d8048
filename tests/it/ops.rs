//! What whoever runs the daemon relies on: a component that dies stops the
//! daemon with the reason in `status`; a backup taken under a storm of
//! calls is a sound database holding every call committed before it began;
//! `/metrics` read by a strict parser after a call, a fax and a mail, with
//! exact counts and no phone number in a label; `/readyz` and `status`
//! naming a stuck outbox.

use std::collections::HashSet;
use std::process::Stdio;

use crate::support::{Daemon, PATIENCE, SIPP, Site, free_port, require, wait_for, wait_until};
use crate::web::http;

#[test]
fn a_component_that_dies_stops_the_daemon_and_status_names_it() {
    let site = Site::initialised(&[]);
    let mut d = Daemon::start(&site, &[]);
    let st = site.status().expect("status");
    for c in ["fax", "scheduler", "outbox", "sip"] {
        assert_eq!(
            st.get(&format!("component.{c}")).and_then(|v| v.as_str()),
            Some("running"),
            "{st:?}"
        );
    }
    // The spool folder goes away under the running daemon.
    std::fs::remove_dir_all(site.file("spool/incoming")).unwrap();
    let exit = d.exit();
    assert!(!exit.success(), "the daemon must exit non-zero: {exit:?}");
    let st = site.status().expect("status");
    let fax = st["component.fax"].as_str().unwrap_or_default();
    assert!(
        fax.starts_with("failed:") && fax.contains("spool/incoming"),
        "{st:?}"
    );
    assert_eq!(st["daemon.state"], "failed", "{st:?}");
    // The others were stopped in order, not left claiming to run.
    for c in ["scheduler", "outbox", "sip"] {
        assert_eq!(st[&format!("component.{c}")], "stopped", "{st:?}");
    }
    let text = site.ok(&["status"]);
    assert!(text.contains("NOT running"), "{text}");
    assert!(
        d.log().contains("component fax failed"),
        "the log names the component: {}",
        d.log()
    );
}

/// The ids of the calls that have ended, as the database holds them.
fn ended_calls(db: &rusqlite::Connection) -> HashSet<String> {
    let mut st = db
        .prepare("SELECT call_id FROM calls WHERE ended_at IS NOT NULL")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_backup_under_a_storm_of_calls_restores_whole() {
    let (site, port) = Site::with_sip_port(&[]);
    let d = Daemon::start(&site, &[]);
    // 1,500 calls at 300/s, each ringing 100 ms, then answered elsewhere.
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/sipp/uac-elsewhere.xml"
    );
    let mut storm = require(&SIPP)
        .current_dir(site.path())
        .arg(format!("127.0.0.1:{port}"))
        .args(["-sf", scenario, "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string()])
        .args(["-s", "88833114", "-r", "300", "-m", "1500", "-d", "100"])
        .args(["-key", "caller", "1377", "-cid_str", "storm-%u-%p@%s"])
        .args(["-timeout", "60s", "-nostdin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp");
    let db = site.db();
    wait_for("calls to be recorded", PATIENCE, || {
        (ended_calls(&db).len() >= 200).then_some(())
    });
    let before = ended_calls(&db);
    let copy = site.file("copy.db");
    let out = site.ok(&["-u", "wang", "backup", copy.to_str().unwrap()]);
    assert!(out.contains("integrity ok"), "{out}");
    let storm_ended = storm.wait().expect("sipp");
    let during = ended_calls(&db);
    assert!(
        during.len() > before.len(),
        "the backup must be taken while calls go on ({} before, {} at the end; sipp {storm_ended:?})",
        before.len(),
        during.len()
    );
    d.stop();

    // Restored in a new installation: sound, and every call committed
    // before the backup began is there.
    let other = Site::new(&[]);
    let out = other.ok(&["restore", copy.to_str().unwrap()]);
    assert!(out.contains("restored"), "{out}");
    let restored = other.db();
    let verdict: String = restored
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let in_copy = ended_calls(&restored);
    let missing: Vec<_> = before.difference(&in_copy).take(5).collect();
    assert!(missing.is_empty(), "calls lost by the backup: {missing:?}");
    // The copy is of one moment: every call in it has its ticket.
    let orphans: i64 = restored
        .query_row(
            "SELECT count(*) FROM calls c WHERE c.call_id LIKE 'storm-%'
             AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = c.ticket_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    // The backup is in the audit log under the person who took it.
    let who: String = site
        .db()
        .query_row(
            "SELECT actor FROM audit WHERE action = 'store.backup'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(who, "wang");
}

#[test]
fn json_logs_are_one_object_a_line() {
    let site = Site::initialised(&[("format = \"text\"", "format = \"json\"")]);
    let d = Daemon::start(&site, &[]);
    let log = d.stop();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let ready = lines
        .iter()
        .find(|l| l["message"] == "faultdesk ready")
        .expect("a ready line");
    // Fields are fields, not text inside the message.
    assert!(ready["pid"].is_u64(), "{ready}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
}

/// One sample of the exposition.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    value: f64,
}

/// A strict reader of the OpenMetrics text format (what prometheus-client
/// writes): `# HELP`/`# TYPE` before a family's samples, names and labels
/// of the allowed characters, quoted and escaped label values, numeric
/// values, `# EOF` last. Returns the families' types and the samples.
fn parse_exposition(text: &str) -> (std::collections::BTreeMap<String, String>, Vec<Sample>) {
    let name_ok = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types = std::collections::BTreeMap::new();
    let mut samples = Vec::new();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.pop(),
        Some("# EOF"),
        "the exposition must end with # EOF"
    );
    for line in lines {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(name_ok(name), "bad family name: {line}");
            assert!(
                [
                    "counter",
                    "gauge",
                    "histogram",
                    "info",
                    "summary",
                    "unknown",
                    "stateset"
                ]
                .contains(&kind),
                "bad type: {line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "two TYPEs: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample: series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, std::collections::BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let mut labels = std::collections::BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(name_ok(&key), "bad label name `{key}`: {line}");
                    assert_eq!(chars.next(), Some('"'), "unquoted label value: {line}");
                    let mut v = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('n') => v.push('\n'),
                                Some(c @ ('\\' | '"')) => v.push(c),
                                other => panic!("bad escape {other:?}: {line}"),
                            },
                            Some('"') => break,
                            Some(c) => v.push(c),
                            None => panic!("unterminated label value: {line}"),
                        }
                    }
                    labels.insert(key, v);
                    match chars.next() {
                        Some(',') | None => {}
                        other => panic!("expected , between labels, got {other:?}: {line}"),
                    }
                }
                (name, labels)
            }
        };
        assert!(name_ok(name), "bad sample name: {line}");
        let family = ["_total", "_bucket", "_count", "_sum", "_info", "_created"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "a sample before its # TYPE: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    (types, samples)
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "one sample {name}{labels:?}: {found:?}");
    found[0].value
}

/// Runs one sipp call of `scenario` (a file under tests/sip/) to `port`.
fn sipp_call(site: &Site, port: u16, scenario: &str, keys: &[(&str, &str)], call_id: &str) {
    let file = format!("{}/tests/sip/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let mut c = require(&SIPP);
    c.current_dir(site.path())
        .arg(format!("127.0.0.1:{port}"))
        .args(["-sf", &file, "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string()])
        .args(["-s", "88833114", "-m", "1", "-cid_str", call_id])
        .args(["-timeout", "60s", "-timeout_error", "-nostdin"]);
    for (k, v) in keys {
        c.args(["-key", k, v]);
    }
    let out = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("sipp");
    assert!(
        out.status.success(),
        "sipp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_after_a_call_a_fax_and_a_mail_parse_and_count_exactly() {
    let smtp_port = free_port();
    let site = crate::mail::mail_site(smtp_port, &[]);
    let mut smtp = crate::mail::Smtpd::new(smtp_port, &site.file("smtp"), &[], &[]);
    smtp.start();
    // A desk's ticket called back: one confirmation to the DC desk.
    crate::mail::desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
    let d = crate::web::start(&site);

    let ready = http(d.web, "GET", "/readyz", &[], "");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(ready.body.starts_with("ready\n"), "{}", ready.body);
    assert_eq!(http(d.web, "GET", "/healthz", &[], "").body, "ok\n");

    sipp_call(
        &site,
        d.sip,
        "answered-by.xml",
        &[("caller", "13912345678"), ("ext", "8999"), ("hdr", "none")],
        "metrics-1",
    );
    let pdf = crate::fax::gs(
        site.path(),
        "pdfwrite",
        &[],
        crate::fax::ONE_PAGE_PS,
        "one.pdf",
    );
    std::fs::copy(&pdf, site.file("spool/incoming/one.pdf")).unwrap();
    let db = site.db();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    wait_until("the call ended, the fax recorded and the mail sent", || {
        count("SELECT count(*) FROM calls WHERE outcome = 'answered-elsewhere'") == 1
            && count("SELECT count(*) FROM faxes") == 1
            && count("SELECT count(*) FROM outbox WHERE state = 'sent'") == 1
    });

    // Each counter moves just after its commit: scrape until the three
    // have (then every figure below is exact).
    let mut r = http(d.web, "GET", "/metrics", &[], "");
    wait_until("the counters to catch up with the database", || {
        r = http(d.web, "GET", "/metrics", &[], "");
        let (_, samples) = parse_exposition(&r.body);
        let one = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels) == 1.0;
        r.status == 200
            && one(
                "faultdesk_calls_total",
                &[("outcome", "answered-elsewhere")],
            )
            && one("faultdesk_faxes_received_total", &[])
            && one("faultdesk_outbox_sent_total", &[])
    });
    let (types, samples) = parse_exposition(&r.body);
    for (family, kind) in [
        ("faultdesk_calls", "counter"),
        ("faultdesk_call_ring_seconds", "histogram"),
        ("faultdesk_tickets", "gauge"),
        ("faultdesk_tickets_overdue", "gauge"),
        ("faultdesk_callbacks_due", "gauge"),
        ("faultdesk_outbox_depth", "gauge"),
        ("faultdesk_outbox_messages", "gauge"),
        ("faultdesk_outbox_sent", "counter"),
        ("faultdesk_outbox_failures", "counter"),
        ("faultdesk_faxes_received", "counter"),
        ("faultdesk_faxes_failed", "counter"),
        ("faultdesk_sip_messages", "counter"),
        ("faultdesk_build", "info"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "family {family}: {types:?}"
        );
    }
    assert_eq!(
        value(
            &samples,
            "faultdesk_calls_total",
            &[("outcome", "answered-elsewhere")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "faultdesk_calls_total",
            &[("outcome", "abandoned")]
        ),
        0.0
    );
    assert_eq!(
        value(&samples, "faultdesk_call_ring_seconds_count", &[]),
        1.0
    );
    // It rang about 300 ms: inside the first bucket (3 s).
    assert_eq!(
        value(
            &samples,
            "faultdesk_call_ring_seconds_bucket",
            &[("le", "3.0")]
        ),
        1.0
    );
    let ring = value(&samples, "faultdesk_call_ring_seconds_sum", &[]);
    assert!((0.2..3.0).contains(&ring), "ring time {ring}");
    assert_eq!(value(&samples, "faultdesk_faxes_received_total", &[]), 1.0);
    assert_eq!(value(&samples, "faultdesk_faxes_failed_total", &[]), 0.0);
    assert_eq!(value(&samples, "faultdesk_outbox_sent_total", &[]), 1.0);
    assert_eq!(value(&samples, "faultdesk_outbox_failures_total", &[]), 0.0);
    assert_eq!(value(&samples, "faultdesk_outbox_depth", &[]), 0.0);
    assert_eq!(
        value(&samples, "faultdesk_outbox_messages", &[("state", "sent")]),
        1.0
    );
    // INVITE, CANCEL, ACK in; at least 180, 200 (CANCEL), 487 out.
    assert_eq!(
        value(&samples, "faultdesk_sip_messages_total", &[("kind", "in")]),
        3.0
    );
    assert!(value(&samples, "faultdesk_sip_messages_total", &[("kind", "out")]) >= 3.0);
    assert_eq!(
        value(
            &samples,
            "faultdesk_sip_messages_total",
            &[("kind", "invalid")]
        ),
        0.0
    );
    // Tickets by tag and state: exactly the database's counts.
    let mut st = db
        .prepare("SELECT coalesce(tag, ''), state, count(*) FROM tickets GROUP BY 1, 2")
        .unwrap();
    let rows: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        rows.len() >= 2,
        "the desk's ticket and the call's: {rows:?}"
    );
    for (tag, state, n) in &rows {
        assert_eq!(
            value(
                &samples,
                "faultdesk_tickets",
                &[("tag", tag), ("state", state)]
            ) as i64,
            *n
        );
    }
    let shown: f64 = samples
        .iter()
        .filter(|s| s.name == "faultdesk_tickets")
        .map(|s| s.value)
        .sum();
    assert_eq!(shown as i64, count("SELECT count(*) FROM tickets"));
    assert_eq!(
        value(
            &samples,
            "faultdesk_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // No label value looks like a phone number (the caller 13912345678 and
    // the desk 88218050 are in the database, never in a label).
    for s in &samples {
        for v in s.labels.values() {
            let longest = v
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest < 5, "a label value like a number: {s:?}");
        }
    }
    assert!(!r.body.contains("13912345678") && !r.body.contains("88218050"));
}

#[test]
fn readiness_names_a_stuck_outbox_and_status_says_the_same() {
    // An SMTP server that accepts and never answers: the message stays due.
    let stalling = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = stalling.local_addr().unwrap().port();
    let site = crate::mail::mail_site(
        port,
        &[
            ("outbox_stuck_secs = 900", "outbox_stuck_secs = 2"),
            (
                "metrics_allow = [\"127.0.0.0/8\", \"::1/128\"]",
                "metrics_allow = [\"10.0.0.0/8\"]",
            ),
        ],
    );
    let d = crate::web::start(&site);
    // A scraper outside [ops] metrics_allow is refused.
    assert_eq!(http(d.web, "GET", "/metrics", &[], "").status, 403);
    let r = http(d.web, "GET", "/readyz", &[], "");
    assert_eq!(r.status, 200, "{}", r.body);
    let text = site.ok(&["status"]);
    assert!(text.contains("\nready\n"), "{text}");

    crate::mail::desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
    let mut last = String::new();
    wait_until("readyz to name the stuck outbox", || {
        let r = http(d.web, "GET", "/readyz", &[], "");
        last = r.body.clone();
        r.status == 503
    });
    assert!(last.starts_with("not ready: outbox\n"), "{last}");
    assert!(last.contains("FAIL outbox: stuck"), "{last}");
    // Everything else is still fine, and says so.
    assert!(last.contains("ok   store: write probe committed"), "{last}");
    let text = site.ok(&["status"]);
    assert!(text.contains("not ready: outbox"), "{text}");
    let st = site.json(&["status"]);
    assert_eq!(st["ready"], false, "{st}");
    drop(stalling);
}

/// A row of the daemon's status, read from the database (the CLI cannot
/// read it while the file holds a bad configuration).
fn status_row(site: &Site, key: &str) -> String {
    site.db()
        .query_row(
            "SELECT value FROM component_status WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .unwrap_or_default()
}

/// Sends SIGHUP to the site's daemon and waits until `daemon.reload`
/// reports a reload other than `before`, returning what it says.
fn hangup(site: &Site, before: &str) -> String {
    let pid: i32 = status_row(site, "daemon.pid").parse().expect("daemon.pid");
    // SAFETY: kill(2) with a pid read from the daemon's own status row.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let mut said = String::new();
    wait_until("the daemon to report the reload", || {
        said = status_row(site, "daemon.reload");
        !said.is_empty() && said != before
    });
    said
}

/// The subject of the newest message to the DC desk.
fn last_subject(site: &Site) -> String {
    site.db()
        .query_row(
            "SELECT subject FROM outbox WHERE recipient = '88218050@fax.localhost' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn sighup_reloads_templates_refuses_a_bad_file_and_names_what_needs_a_restart() {
    let site = crate::web::staffed(&[]);
    let d = crate::web::start(&site);
    let li = crate::web::agent(&d, "li");
    let repaired_dc_ticket = || {
        let n = site.new_ticket(&[
            "--phone",
            "88218050",
            "--address",
            "馨苑1#-2-502",
            "--fault",
            "无拨号音",
        ]);
        site.ticket(&["repaired", &n, "--cause", "分线盒进水"]);
        n
    };
    // The console (the daemon) records the callback and queues the confirmation.
    let confirm = |n: &str| {
        let r = li.post(
            &format!("/api/tickets/{n}/callback"),
            r#"{"result":"passed","satisfaction":"满意"}"#,
        );
        assert_eq!(r.status, 200, "{r:?}");
    };
    let n1 = repaired_dc_ticket();
    confirm(&n1);
    assert_eq!(last_subject(&site), format!("故障已修复：{n1} 68691234"));

    // A new subject in the file, then SIGHUP: the next message uses it.
    let file = site.file("config/faultdesk.toml");
    let original = std::fs::read_to_string(&file).unwrap();
    let edited = original.replacen(
        "subject = \"故障已修复：{ticket} {line}\"",
        "subject = \"修复确认 {ticket}\"",
        1,
    );
    assert_ne!(edited, original);
    std::fs::write(&file, &edited).unwrap();
    let said = hangup(&site, "");
    assert!(
        said.starts_with("reloaded") && said.contains("applied: mail.templates"),
        "{said}"
    );
    assert!(said.ends_with("needs a restart: none"), "{said}");
    let n2 = repaired_dc_ticket();
    confirm(&n2);
    assert_eq!(last_subject(&site), format!("修复确认 {n2}"));

    // A bad file is refused with its key and line; the old configuration
    // runs on (the ticket is made before: the command line reads the file too).
    let n3 = repaired_dc_ticket();
    let bad = edited.replacen("sla_hours = 12", "sla_hours = 0", 1);
    assert_ne!(bad, edited);
    let line = bad
        .lines()
        .position(|l| l.starts_with("sla_hours = 0"))
        .unwrap()
        + 1;
    std::fs::write(&file, &bad).unwrap();
    let refused = hangup(&site, &said);
    assert!(refused.starts_with("refused"), "{refused}");
    assert!(
        refused.contains(&format!("line {line}, key `tickets.sla_hours`")),
        "{refused}"
    );
    assert!(
        site.daemon_log().contains("configuration reload refused"),
        "{}",
        site.daemon_log()
    );
    confirm(&n3);
    assert_eq!(
        last_subject(&site),
        format!("修复确认 {n3}"),
        "the running configuration stays"
    );

    // A changed listen address is named as needing a restart, and the
    // console keeps answering where it listens.
    let other = free_port();
    let moved = edited.replacen(
        &format!("listen = \"127.0.0.1:{}\"", d.web),
        &format!("listen = \"127.0.0.1:{other}\""),
        1,
    );
    assert_ne!(moved, edited);
    std::fs::write(&file, &moved).unwrap();
    let said = hangup(&site, &refused);
    assert!(said.ends_with("needs a restart: web.listen"), "{said}");
    assert!(
        site.daemon_log()
            .contains("take effect only after a restart")
    );
    assert_eq!(http(d.web, "GET", "/healthz", &[], "").status, 200);
    let text = site.ok(&["status"]);
    assert!(text.contains("needs a restart: web.listen"), "{text}");
}

#[test]
fn the_pbx_names_who_answered_and_a_manager_corrects_it() {
    let site = crate::web::staffed(&[
        ("# \"8001\" = \"wang\"", "\"8001\" = \"zhang\""),
        ("header = \"\"", "header = \"X-Answered-By\""),
    ]);
    let d = crate::web::start(&site);
    let db = site.db();
    let claim = |call_id: &str| -> Option<String> {
        db.query_row(
            "SELECT claimed_by FROM calls WHERE call_id = ?1",
            [call_id],
            |r| r.get(0),
        )
        .unwrap()
    };
    // The PBX says extension 8001 took it: 张敏's, without a click.
    sipp_call(
        &site,
        d.sip,
        "answered-by.xml",
        &[("caller", "13912345601"), ("ext", "8001"), ("hdr", "none")],
        "pbx-1",
    );
    assert_eq!(claim("pbx-1").as_deref(), Some("zhang"));
    let call = site.json(&["-u", "wang", "call", "show", "pbx-1"]);
    let ticket = call["ticket"]
        .as_str()
        .expect("the call's ticket")
        .to_string();
    let t = site.json(&["-u", "wang", "ticket", "show", &ticket]);
    assert_eq!(t["accepting_agent"], "zhang", "{t}");
    let (actor, detail): (String, String) = db
        .query_row(
            "SELECT actor, detail FROM audit WHERE action = 'call.claim' AND object = 'pbx-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(actor, "pbx");
    assert!(
        detail.contains("8001") && detail.contains("zhang"),
        "{detail}"
    );
    // An extension the table does not know: the call waits for a claim.
    sipp_call(
        &site,
        d.sip,
        "answered-by.xml",
        &[("caller", "13912345602"), ("ext", "8777"), ("hdr", "none")],
        "pbx-2",
    );
    wait_until("the second call to end", || {
        db.query_row(
            "SELECT outcome FROM calls WHERE call_id = 'pbx-2'",
            [],
            |r| r.get::<_, String>(0),
        )
        .is_ok_and(|o| o == "answered-elsewhere")
    });
    assert_eq!(claim("pbx-2"), None);
    // The configured header names the extension: it wins over the Reason's text.
    sipp_call(
        &site,
        d.sip,
        "answered-by.xml",
        &[
            ("caller", "13912345603"),
            ("ext", "8777"),
            ("hdr", "\"Desk\" <sip:8001@pbx>"),
        ],
        "pbx-3",
    );
    assert_eq!(claim("pbx-3").as_deref(), Some("zhang"));

    // A manager corrects the claim in the console; an agent may not.
    let li = crate::web::agent(&d, "li");
    let r = li.post(
        "/api/calls/pbx-1/claim/correct",
        r#"{"agent":"li","reason":"借用分机"}"#,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(claim("pbx-1").as_deref(), Some("zhang"));
    let wang = crate::web::agent(&d, "wang");
    let r = wang.post("/api/calls/pbx-1/claim/correct", r#"{"agent":"li"}"#);
    assert_eq!(r.status, 422, "a correction needs a reason: {r:?}");
    assert_eq!(r.json()["field"], "更正原因");
    let r = wang.post(
        "/api/calls/pbx-1/claim/correct",
        r#"{"agent":"nobody","reason":"x"}"#,
    );
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(
        claim("pbx-1").as_deref(),
        Some("zhang"),
        "a refused correction changes nothing"
    );
    let r = wang.post(
        "/api/calls/pbx-1/claim/correct",
        r#"{"agent":"li","reason":"借用分机"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["claimed_by"], "李娜");
    assert_eq!(claim("pbx-1").as_deref(), Some("li"));
    let t = site.json(&["-u", "wang", "ticket", "show", &ticket]);
    assert_eq!(
        t["accepting_agent"], "li",
        "the 受理人 follows the correction"
    );
    let detail: String = db
        .query_row(
            "SELECT detail FROM audit WHERE action = 'call.claim_correct' AND actor = 'wang'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(detail, "zhang → li: 借用分机");

    // The same from the command line, for a manager only.
    let err = site.fails(
        &[
            "-u", "li", "call", "claim", "pbx-1", "--as", "zhang", "--reason", "x",
        ],
        1,
    );
    assert!(err.contains("may not"), "{err}");
    site.fails(
        &["-u", "wang", "call", "claim", "pbx-1", "--as", "zhang"],
        2,
    );
    let out = site.ok(&[
        "-u", "wang", "call", "claim", "pbx-2", "--as", "zhang", "--reason", "补记",
    ]);
    assert!(out.contains("answered by zhang"), "{out}");
    assert_eq!(claim("pbx-2").as_deref(), Some("zhang"));
}

/// The rows of the first sheet of an XLSX file, as text.
fn xlsx_rows(path: &std::path::Path, sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(path).expect("an XLSX file");
    let range = wb.worksheet_range(sheet).expect("the sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn tickets_and_callbacks_export_in_the_old_systems_order() {
    use faultdesk::domain::export::{CALLBACK_COLUMNS, TICKET_COLUMNS};
    let closed = faultdesk::domain::ticket::State::Closed.word();
    let site = crate::web::staffed(&[]);
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let n1 = site.new_ticket(&[
        "--account",
        "dw0120502",
        "--address",
        "馨苑1#-2-502",
        "--service",
        "宽带",
        "--reporter",
        "张伟",
        "--fault",
        "不能上网",
        "--remarks",
        "晚上在家",
        "--depot",
        "馨苑维护处",
    ]);
    site.ticket(&["repaired", &n1, "--cause", "光猫故障"]);
    site.ticket(&[
        "callback",
        &n1,
        "--result",
        "passed",
        "--satisfaction",
        "满意",
        "--note",
        "办理情况:已上门;处理结果:恢复正常",
    ]);
    let n2 = site.new_ticket(&["--phone", "68693001", "--fault", "无拨号音"]);

    // The command line, for a manager only.
    let out = site.file("tickets.xlsx");
    let args = |kind: &'static str, format: &'static str, out: &std::path::Path| -> Vec<String> {
        [
            kind,
            "export",
            "--format",
            format,
            "--from",
            &day,
            "--to",
            &day,
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let as_user = |user: &str, a: &[String]| {
        let mut v = vec!["-u", user];
        v.extend(a.iter().map(String::as_str));
        site.run(&v)
    };
    let refused = as_user("li", &args("ticket", "xlsx", &out));
    assert!(
        !refused.status.success() && !out.exists(),
        "an agent may not export"
    );
    assert!(
        as_user("wang", &args("ticket", "xlsx", &out))
            .status
            .success()
    );
    let rows = xlsx_rows(&out, "障碍");
    assert_eq!(rows[0], TICKET_COLUMNS);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let t1 = site.json(&["-u", "wang", "ticket", "show", &n1]);
    let r = &rows[1];
    assert_eq!(
        &r[..10],
        [
            t1["address"].as_str().unwrap(),
            "dw0120502",
            t1["accepting_agent"].as_str().unwrap_or(""),
            "宽带",
            "张伟",
            closed,
            "光猫故障",
            "晚上在家",
            "馨苑维护处",
            n1.as_str(),
        ],
        "{r:?}"
    );
    assert_eq!(r[12], "不能上网");
    assert_eq!(rows[2][9], n2);
    assert_eq!(rows[2][11], "68693001");

    // Callbacks are exported by the day they were due: a repair after
    // 19:30 has its callback due tomorrow (the calling window ends at 20:00),
    // so the test's callback is made due now, today, whatever the hour.
    site.db()
        .execute(
            "UPDATE callbacks SET due_at = ?1",
            [chrono::Utc::now().timestamp_millis()],
        )
        .unwrap();
    let cb = site.file("callbacks.xlsx");
    assert!(
        as_user("wang", &args("callbacks", "xlsx", &cb))
            .status
            .success()
    );
    let rows = xlsx_rows(&cb, "回访");
    assert_eq!(rows[0], CALLBACK_COLUMNS);
    let r = rows
        .iter()
        .find(|r| r[8] == n1)
        .expect("the callback of the first ticket");
    assert_eq!(&r[..2], [t1["address"].as_str().unwrap(), "dw0120502"]);
    assert_eq!(r[2], day, "回访日期");
    assert_eq!(
        &r[3..8],
        ["li", "已上门", "恢复正常", closed, "满意"],
        "{r:?}"
    );

    // CSV: the same rows, with a byte-order mark for Excel.
    let csv = site.file("tickets.csv");
    assert!(
        as_user("wang", &args("ticket", "csv", &csv))
            .status
            .success()
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    assert_eq!(text.lines().next().unwrap(), TICKET_COLUMNS.join(","));
    assert_eq!(text.lines().count(), 3);

    // The console's download for the manager, refused to an agent; every
    // export is in the audit log.
    let d = crate::web::start(&site);
    let wang = crate::web::agent(&d, "wang");
    let path = format!("/exports/callbacks?format=csv&from={day}&to={day}");
    let r = wang.get(&path);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("已上门") && r.body.contains(&n1),
        "{}",
        r.body
    );
    let li = crate::web::agent(&d, "li");
    assert_eq!(li.get(&path).status, 403);
    let r = wang.get(&format!(
        "/exports/tickets?format=xlsx&from={day}&to=2000-01-01"
    ));
    assert_eq!(r.status, 422, "{r:?}");
    let exports: i64 = site
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE actor = 'wang' AND action IN ('tickets.export', 'callbacks.export')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        exports, 4,
        "three from the command line, one from the console"
    );
}
