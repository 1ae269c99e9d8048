//! Callbacks and deadlines through the real binary and daemon: the due list
//! with the manual's script, missed-call results, and a broken repair promise
//! found by the running scheduler's start-up pass, told to the manager once
//! (file transport, the embedded default), also across a restart.

use crate::support::{Daemon, Site, wait_until};

#[test]
fn due_callbacks_show_the_script_and_results_are_recorded() {
    let site = Site::initialised(&[]);
    let n = site.new_ticket(&[
        "--tag",
        "X",
        "--address",
        "馨苑1#-2-502",
        "--phone",
        "68691234",
    ]);
    site.ok(&["-u", "li", "ticket", "repaired", &n]);
    // Due in the calling window after the repair; make it due now.
    site.db()
        .execute("UPDATE callbacks SET due_at = 0", [])
        .unwrap();
    site.fails(&["callbacks", "due"], 2); // shows customers: needs a person
    let due = site.json(&["-u", "li", "callbacks", "due"]);
    let d = &due[0];
    assert_eq!(d["ticket"], n.as_str());
    assert_eq!(d["kind"], "post_repair");
    assert_eq!(
        d["script"],
        "你好,我是金辉社区通信服务中心的,请问您是不是1号楼2单元502室的用户?"
    );
    let text = site.ok(&["-u", "li", "callbacks", "due"]);
    assert!(
        text.contains("1号楼2单元502室") && text.contains(&n),
        "{text}"
    );
    // No answer: rescheduled (not due now), attempts counted.
    site.ok(&[
        "-u",
        "li",
        "ticket",
        "callback",
        &n,
        "--result",
        "no-answer",
    ]);
    let list = site.json(&["-u", "li", "callbacks", "list"]);
    assert_eq!(list[0]["attempts"], 1);
    assert_eq!(list[0]["state"], "pending");
    assert_eq!(list[0]["ticket"], n.as_str());
    site.ok(&["-u", "li", "ticket", "callback", &n, "--result", "failed"]);
    assert_eq!(
        site.json(&["-u", "li", "callbacks", "list"])[0]["state"],
        "failed"
    );
    // A repair callback is recorded on its ticket, not with `callbacks done`.
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let e = site.fails(
        &["-u", "li", "callbacks", "done", &id, "--result", "reached"],
        1,
    );
    assert!(e.contains("ticket callback"), "{e}");
    let e = site.fails(&["-u", "li", "callbacks", "list", "--state", "open"], 2);
    assert!(e.contains("pending"), "{e}");
}

#[test]
fn the_daemon_tells_the_manager_of_a_broken_promise_once() {
    let site = Site::initialised(&[
        ("poll_ms = 1000", "poll_ms = 100"),
        ("rescan_secs = 30", "rescan_secs = 1"),
    ]);
    let n = site.json(&["-u", "li", "ticket", "new", "--phone", "88217901"])["number"]
        .as_str()
        .unwrap()
        .to_string();
    // Reported 13 hours ago: the 12-hour promise is broken.
    site.db()
        .execute(
            "UPDATE tickets SET reported_at = reported_at - 46800000, due_at = due_at - 46800000",
            [],
        )
        .unwrap();
    let mails = || {
        std::fs::read_dir(site.file("var/mail"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // Every message about the breach, whatever its state.
    let breach_messages = || -> i64 {
        site.db()
            .query_row(
                "SELECT count(*) FROM outbox WHERE purpose = 'sla_breach'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let breach_events = || {
        site.json(&["-u", "li", "ticket", "show", &n])["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "sla_breached")
            .count()
    };

    // The scheduler's start-up pass finds the breach and tells the manager.
    let daemon = Daemon::start(&site, &[]);
    wait_until("the breach message written", || mails() == 1);
    daemon.stop();
    assert_eq!(breach_messages(), 1, "one message about the breach");
    assert_eq!(breach_events(), 1);

    // A restart: the ready daemon has made its start-up pass over the same
    // broken promise, and tells nobody again.
    let daemon = Daemon::start(&site, &[]);
    assert_eq!(breach_messages(), 1, "told once, also after a restart");
    assert_eq!(breach_events(), 1);
    daemon.stop();
    assert_eq!(mails(), 1, "one mail written, also after a restart");
    let m = &site.json(&["-u", "li", "outbox"])[0];
    assert_eq!(m["recipient"], "manager@localhost");
    assert_eq!(m["purpose"], "sla_breach");
    assert_eq!(m["state"], "sent");
    assert!(m["subject"].as_str().unwrap().contains(&n));
}
