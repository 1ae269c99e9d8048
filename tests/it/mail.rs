//! The outbox against a real SMTP server (aiosmtpd, tests/smtp/smtpd.py, run
//! with Debian's /usr/bin/python3 and python3-aiosmtpd): desk confirmations
//! through 451, 550 and a server down then up; kill -9 of the daemon while
//! it waits to send a committed message (a server that accepts and stalls);
//! the one case that sends twice (accepted, then the
//! daemon died before marking it sent) resends with the same Message-ID;
//! STARTTLS and implicit TLS with AUTH against a private CA.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::support::{
    AIOSMTPD, Daemon, OPENSSL, PATIENCE, Site, free_port, require, run_tool, today, wait_for,
    wait_until,
};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/smtpd.py");

/// The SMTP server as a child process.
pub(crate) struct Smtpd {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

impl Smtpd {
    pub(crate) fn new(port: u16, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Smtpd {
        std::fs::create_dir_all(dir).unwrap();
        Smtpd {
            child: None,
            port,
            dir: dir.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Starts (or starts again) on the same port; returns when it listens.
    pub(crate) fn start(&mut self) {
        let mut child = require(&AIOSMTPD)
            .arg(SERVER)
            .args(["--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SMTP server");
        // Its first line, read aside so that the wait has a deadline.
        let stdout = child.stdout.take().unwrap();
        self.child = Some(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("the SMTP server said nothing within {PATIENCE:?}: {e}"));
        assert!(
            line.starts_with("READY"),
            "SMTP server did not start: {line:?}"
        );
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn control(&self, v: Value) {
        std::fs::write(self.dir.join("control.json"), v.to_string()).unwrap();
    }

    /// Every message the server accepted.
    pub(crate) fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A site whose outbox sends to 127.0.0.1:`port`, polling and retrying fast.
pub(crate) fn mail_site(port: u16, more: &[(&str, &str)]) -> Site {
    let port_line = format!("port = {port}");
    let mut edits: Vec<(&str, &str)> = vec![
        ("transport = \"file\"", "transport = \"smtp\""),
        ("port = 25", &port_line),
        ("poll_ms = 1000", "poll_ms = 100"),
        ("retry_base_secs = 30", "retry_base_secs = 1"),
        ("retry_max_secs = 1800", "retry_max_secs = 2"),
        ("rescan_secs = 30", "rescan_secs = 1"),
    ];
    edits.extend_from_slice(more);
    Site::initialised(&edits)
}

/// A desk's ticket taken through report → repaired → callback passed.
pub(crate) fn desk_ticket_passed(site: &Site, desk_number: &str, address: &str) -> String {
    let n = site.new_ticket(&[
        "--phone",
        desk_number,
        "--address",
        address,
        "--fault",
        "电话无拨号音",
    ]);
    site.ticket(&["repaired", &n, "--cause", "分线盒进水"]);
    site.ticket(&[
        "callback",
        &n,
        "--result",
        "passed",
        "--satisfaction",
        "满意",
    ]);
    n
}

fn outbox(site: &Site) -> Vec<Value> {
    site.json(&["-u", "li", "outbox"])
        .as_array()
        .unwrap()
        .clone()
}

fn message<'a>(list: &'a [Value], recipient: &str) -> &'a Value {
    list.iter()
        .find(|m| m["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no message to {recipient}: {list:?}"))
}

const DC: &str = "88218050@fax.localhost";
const D180: &str = "88217901@fax.localhost";

#[test]
fn desk_confirmations_through_451_550_and_a_server_down_then_up() {
    let port = free_port();
    let site = mail_site(port, &[]);
    let mut smtp = Smtpd::new(port, &site.file("smtp"), &[], &[]);

    let dc = desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
    let d180 = desk_ticket_passed(&site, "88217901", "曲江观邸3号楼1单元1201");
    assert!(dc.starts_with("DC-") && d180.starts_with("D180-"));
    // An estate's own ticket tells no desk.
    let x = site.new_ticket(&["--tag", "X", "--address", "馨苑2#-1-101"]);
    site.ok(&["-u", "li", "ticket", "repaired", &x]);
    site.ok(&["-u", "li", "ticket", "callback", &x, "--result", "passed"]);
    let cbs = site.json(&["-u", "li", "callbacks", "list"]);
    assert_eq!(cbs.as_array().unwrap().len(), 3);
    assert!(
        cbs.as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "passed")
    );
    assert_eq!(outbox(&site).len(), 2, "queued before any daemon runs");

    // The server is down: both are attempted, refused, and kept.
    let daemon = Daemon::start(&site, &[]);
    wait_until("both attempted against a server that is down", || {
        outbox(&site).iter().all(|m| {
            m["attempts"].as_i64().unwrap() >= 1
                && m["state"] == "queued"
                && m["last_error"].as_str().unwrap_or("").contains("refused")
        })
    });

    // Up again, with a 451 for the DC and a 550 for the 180 desk.
    smtp.control(json!({ "rcpt": { DC: ["451 4.3.0 Mailbox busy, try later"], D180: ["550 5.1.1 No such mailbox"] } }));
    smtp.start();
    wait_until("DC sent, D180 failed", || {
        let l = outbox(&site);
        message(&l, DC)["state"] == "sent" && message(&l, D180)["state"] == "failed"
    });
    let l = outbox(&site);
    let sent = message(&l, DC);
    // Refused (down), 451 (transient, retried), then accepted.
    assert!(sent["attempts"].as_i64().unwrap() >= 3, "{sent}");
    assert!(
        sent["last_error"].as_str().unwrap().contains("451"),
        "{sent}"
    );
    let failed = message(&l, D180);
    assert!(
        failed["last_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    let table = site.ok(&["-u", "li", "outbox", "--state", "failed"]);
    assert!(
        table.contains("failed") && table.contains("550") && table.contains(D180),
        "{table}"
    );
    assert_eq!(smtp.log().len(), 1);

    // A person retries it; it goes out, once.
    let id = failed["id"].as_i64().unwrap().to_string();
    let out = site.ok(&["-u", "li", "outbox", "retry", &id]);
    assert!(out.contains("queued again"), "{out}");
    let e = site.fails(&["-u", "li", "outbox", "retry", "999"], 1);
    assert!(e.contains("outbox 999"), "{e}");
    wait_until("D180 sent after the retry", || {
        message(&outbox(&site), D180)["state"] == "sent"
    });
    let log = daemon.stop();
    assert!(log.contains("mail refused for good"), "{log}");

    let got = smtp.log();
    assert_eq!(got.len(), 2, "exactly one confirmation per desk: {got:?}");
    for (n, to, desk, address) in [
        (&dc, DC, "电信测量台", "馨苑1#-2-502"),
        (&d180, D180, "电信180", "曲江观邸3号楼1单元1201"),
    ] {
        let m = got.iter().find(|m| m["to"][0] == to).unwrap();
        assert_eq!(
            m["message_id"],
            format!("<repair-confirmation.{n}@faultdesk.localhost>")
        );
        let subject = m["subject"].as_str().unwrap();
        assert!(
            subject.starts_with(&format!("故障已修复：{n}")),
            "{subject}"
        );
        let body = m["body"].as_str().unwrap();
        for want in [
            format!("{desk}："),
            format!("工单号：{n}"),
            format!("地址：{address}"),
            "故障：电话无拨号音".to_string(),
            "原因：分线盒进水".to_string(),
            format!("报障时间：{}", &today()[..4]),
            "修复时间：".to_string(),
            "金辉社区通信服务中心".to_string(),
        ] {
            assert!(body.contains(&want), "missing {want} in {body}");
        }
        assert_eq!(m["from"], "faultdesk@localhost");
    }
}

#[test]
fn kill_9_after_commit_before_sending_sends_after_restart() {
    let port = free_port();
    let site = mail_site(port, &[]);
    let mut smtp = Smtpd::new(port, &site.file("smtp"), &[], &[]);
    let n = desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
    assert_eq!(outbox(&site)[0]["state"], "queued", "committed first");
    // A server that accepts the connection and never greets: the daemon has
    // taken the message and waits to send it when it is killed.
    let stalling = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    stalling.set_nonblocking(true).unwrap();
    let daemon = Daemon::start(&site, &[]);
    let (_held, _) = wait_for("the daemon to connect to send", PATIENCE, || {
        stalling.accept().ok()
    });
    daemon.kill9();
    drop(stalling);
    let row = &outbox(&site)[0];
    assert_eq!(row["state"], "queued", "neither sent nor given up: {row}");
    // The real server, on the same port: the restarted daemon sends it, once.
    smtp.start();
    let daemon = Daemon::start(&site, &[]);
    wait_until("sent after the restart", || {
        outbox(&site)[0]["state"] == "sent"
    });
    daemon.stop();
    let got = smtp.log();
    assert_eq!(got.len(), 1, "sent exactly once: {got:?}");
    assert_eq!(
        got[0]["message_id"],
        format!("<repair-confirmation.{n}@faultdesk.localhost>")
    );
}

#[test]
fn accepted_but_not_marked_sent_is_resent_with_the_same_message_id() {
    let port = free_port();
    let site = mail_site(port, &[]);
    let mut smtp = Smtpd::new(port, &site.file("smtp"), &[], &[]);
    smtp.start();
    let mut daemon = Daemon::start(&site, &[]);
    // The server records the message, then SIGKILLs the daemon before its 250
    // reply: the server has the message, the daemon never learnt it.
    smtp.control(json!({ "kill_on_data": daemon.pid() }));
    let n = desk_ticket_passed(&site, "88217901", "融侨城12-2-0803");
    let status = daemon.exit();
    assert!(!status.success(), "the daemon was killed");
    assert_eq!(smtp.log().len(), 1);
    let row = &outbox(&site)[0];
    assert_eq!(row["state"], "queued", "never marked sent: {row}");
    let daemon = Daemon::start(&site, &[]);
    wait_until("sent after the restart", || {
        outbox(&site)[0]["state"] == "sent"
    });
    daemon.stop();
    let got = smtp.log();
    assert_eq!(got.len(), 2, "the one case that sends twice");
    let id = format!("<repair-confirmation.{n}@faultdesk.localhost>");
    assert_eq!(got[0]["message_id"], id);
    assert_eq!(got[1]["message_id"], id, "the resend is the same message");
    assert_eq!(got[0]["body"], got[1]["body"]);
}

/// A private CA and a server certificate for localhost/127.0.0.1, made by
/// openssl in `dir`.
fn test_ca(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |args: &[&str]| {
        run_tool(require(&OPENSSL).args(args).current_dir(dir));
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=faultdesk test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
}

#[test]
fn starttls_and_implicit_tls_with_auth_and_a_private_ca() {
    let ca_dir = tempfile::tempdir().unwrap();
    test_ca(ca_dir.path());
    let secret = "s3cret-不要记录";
    for (mode, tls) in [("starttls", "starttls"), ("implicit", "tls")] {
        let port = free_port();
        let ca = ca_dir.path().join("ca.pem").display().to_string();
        let tls_line = format!("tls = \"{tls}\"");
        let ca_line = format!(
            "tls_name = \"localhost\"\nca_file = \"{ca}\"\nusername = \"faultdesk\"\npassword_env = \"FD_TEST_SMTP_PASSWORD\""
        );
        let site = mail_site(
            port,
            &[
                ("tls = \"none\"", &tls_line),
                ("# tls_name = \"mail.example.org\"", &ca_line),
            ],
        );
        let cert = ca_dir.path().join("cert.pem").display().to_string();
        let key = ca_dir.path().join("key.pem").display().to_string();
        let mut smtp = Smtpd::new(
            port,
            &site.file("smtp"),
            &[
                "--mode",
                mode,
                "--cert",
                &cert,
                "--key",
                &key,
                "--auth",
                "faultdesk",
            ],
            &[("SMTPD_PASSWORD", secret)],
        );
        smtp.start();
        let n = desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
        let daemon = Daemon::start(
            &site,
            &[("FD_TEST_SMTP_PASSWORD", secret), ("RUST_LOG", "debug")],
        );
        wait_until(format!("sent over {mode}"), || {
            outbox(&site)[0]["state"] == "sent"
        });
        let log = daemon.stop();
        assert!(!log.contains(secret), "the password appeared in the log");
        let got = smtp.log();
        assert_eq!(got.len(), 1, "{mode}");
        assert!(got[0]["message_id"].as_str().unwrap().contains(&n));
    }
}

#[test]
fn a_missing_password_variable_stops_the_start_with_its_name() {
    let site = mail_site(
        free_port(),
        &[(
            "# username = \"faultdesk\"",
            "username = \"faultdesk\"\npassword_env = \"FD_TEST_NO_SUCH_VAR\"",
        )],
    );
    let e = site.fails(&["run"], 1);
    assert!(e.contains("FD_TEST_NO_SUCH_VAR"), "{e}");
}

#[test]
fn a_refused_login_and_the_retry_horizon_end_in_failed_never_dropped() {
    // AUTH refused (535): permanent, failed at once, shown with the reply.
    let port = free_port();
    let site = mail_site(
        port,
        &[(
            "# username = \"faultdesk\"",
            "username = \"faultdesk\"\npassword_env = \"FD_TEST_SMTP_PASSWORD\"",
        )],
    );
    let mut smtp = Smtpd::new(
        port,
        &site.file("smtp"),
        &["--auth", "faultdesk"],
        &[("SMTPD_PASSWORD", "right")],
    );
    smtp.start();
    desk_ticket_passed(&site, "88218050", "馨苑1#-2-502");
    let daemon = Daemon::start(&site, &[("FD_TEST_SMTP_PASSWORD", "wrong")]);
    wait_until("failed on the refused login", || {
        outbox(&site)[0]["state"] == "failed"
    });
    let log = daemon.stop();
    assert!(!log.contains("wrong"), "the password appeared in the log");
    let m = &outbox(&site)[0];
    assert!(m["last_error"].as_str().unwrap().contains("535"), "{m}");
    assert!(smtp.log().is_empty());

    // The server stays down past the retry horizon: failed, for a person to see.
    let site = mail_site(
        free_port(),
        &[("retry_horizon_hours = 48", "retry_horizon_hours = 0")],
    );
    desk_ticket_passed(&site, "88217901", "馨苑1#-2-502");
    let daemon = Daemon::start(&site, &[]);
    wait_until("failed after the horizon", || {
        outbox(&site)[0]["state"] == "failed"
    });
    daemon.stop();
    let m = &outbox(&site)[0];
    let e = m["last_error"].as_str().unwrap();
    assert!(e.contains("retry horizon") && e.contains("refused"), "{m}");
}
