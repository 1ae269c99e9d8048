//! What whoever runs the daemon relies on: a component that dies stops the
//! daemon with the reason in `status`, and a backup taken under a storm of
//! calls is a sound database holding every call committed before it began.

use std::collections::HashSet;
use std::process::Stdio;

use crate::support::{Daemon, PATIENCE, SIPP, Site, free_port, require, wait_for};

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
