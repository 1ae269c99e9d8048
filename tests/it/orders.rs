//! A work-order fax from the work-order room through the real daemon and a
//! real SMTP server (aiosmtpd): a four-page G4 fax made by ghostscript
//! arrives; nothing is told the room until a clerk verifies it as three
//! orders and a cover page (through the CLI); exactly one acknowledgment
//! saying 3 reaches the server; dispatch, signature, slip, installation and
//! callback; exactly one 回单 naming the three orders; a restart sends
//! nothing more. Bad input and steps out of order are refused, naming the
//! field or state, and change nothing.

use serde_json::{Value, json};

use crate::fax::{gs, tiffset_description};
use crate::mail::{Smtpd, mail_site};
use crate::support::{Daemon, Site, free_port, wait_until};

/// A cover sheet, then three orders of one page each.
const ROOM_FAX_PS: &str = "%!PS
/Helvetica findfont 36 scalefont setfont
72 700 moveto (Work order room: cover sheet, 3 orders) show
showpage
72 700 moveto (Work order 1: Xinyuan 1-2-502) show
showpage
72 700 moveto (Work order 2: Rongqiao 12-2-803) show
showpage
72 700 moveto (Work order 3: Qujiang 3-1-1201) show
showpage
";

pub(crate) const ROOM: &str = "88247792@fax.localhost";

fn orders_file(site: &Site, name: &str, orders: &Value) -> String {
    let path = site.file(name);
    std::fs::write(&path, orders.to_string()).unwrap();
    path.display().to_string()
}

pub(crate) fn three() -> Value {
    let order = |address: &str, name: &str, line: &str| json!({ "line": line, "name": name, "contact": "13912345678", "address": address, "service": "宽带" });
    json!([
        order("馨苑1#-2-502", "张伟", "88831234"),
        order("融侨城12-2-803", "李娜", "68697003"),
        order("曲江观邸3号楼1单元1201", "王芳", "68691201"),
    ])
}

/// Asserts that an order's history (`order show` / `GET /api/orders/S`) is
/// every step of a telecom order's life, in order.
pub(crate) fn whole_life(shown: &Value) {
    let steps: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps.join(" "),
        "verified enter dispatch sign return_slip install callback_passed send_return archive"
    );
}

/// Waits for the second message to the room (after the acknowledgment):
/// the 回单, naming every one of `serials`.
pub(crate) fn one_return_slip(smtp: &Smtpd, serials: &[String]) {
    wait_until("the 回单 reaches the server", || to_room(smtp).len() == 2);
    let back = &to_room(smtp)[1];
    assert!(back["subject"].as_str().unwrap().contains("回单"), "{back}");
    for n in serials {
        assert!(
            back["body"].as_str().unwrap().contains(n.as_str()),
            "{back}"
        );
    }
}

/// The room's fax: four G4 pages made by ghostscript (a cover sheet, then
/// three orders) with the room's TSI, dropped into the site's spool.
pub(crate) fn drop_room_fax(site: &Site) {
    let made = gs(site.path(), "tiffg4", &[], ROOM_FAX_PS, "room.tif");
    tiffset_description(&made, "+86 29 8824 7792\nCallID1");
    let tmp = site.file("spool/incoming/.room.tif.tmp");
    std::fs::copy(&made, &tmp).unwrap();
    std::fs::rename(&tmp, site.file("spool/incoming/room.tif")).unwrap();
}

/// Messages the server accepted for the room, by subject.
pub(crate) fn to_room(smtp: &Smtpd) -> Vec<Value> {
    smtp.log()
        .into_iter()
        .filter(|m| m["to"][0] == ROOM)
        .collect()
}

#[test]
fn a_work_order_fax_from_arrival_to_the_return_slip() {
    let port = free_port();
    let site = mail_site(
        port,
        &[
            ("[sip]\nenabled = true", "[sip]\nenabled = false"),
            ("settle_ms = 2000", "settle_ms = 0"),
        ],
    );
    site.ok(&["-u", "wang", "user", "add", "zhou", "--role", "clerk"]);
    site.ok(&["-u", "wang", "user", "add", "zhao", "--role", "technician"]);
    let mut smtp = Smtpd::new(port, &site.file("smtp"), &[], &[]);
    smtp.start();
    let daemon = Daemon::start(&site, &[]);

    drop_room_fax(&site);
    let clerk = |args: &[&str]| {
        let mut a = vec!["-u", "zhou", "order"];
        a.extend_from_slice(args);
        site.json(&a)
    };
    let mut batches = Value::Null;
    wait_until("the fax becomes a work-order batch", || {
        batches = clerk(&["batches"]);
        batches.as_array().is_some_and(|b| !b.is_empty())
    });
    let batch = &batches[0];
    assert_eq!(
        (batch["state"].as_str(), batch["pages"].as_u64()),
        (Some("received"), Some(4))
    );
    assert!(batch["acked_count"].is_null(), "{batch}");
    let id = batch["id"].to_string();
    // Nothing is told before a person checked the pages: a message to the
    // room would have been queued with the batch, in its transaction.
    let outbox = site.json(&["-u", "li", "outbox"]);
    assert!(
        outbox
            .as_array()
            .is_some_and(|a| a.iter().all(|m| m["recipient"] != ROOM)),
        "{outbox}"
    );
    assert!(to_room(&smtp).is_empty(), "{:?}", smtp.log());

    // Refused, naming the field or state; nothing changes.
    let good = orders_file(&site, "three.json", &three());
    let verify = |who: &str, pages: &str, file: &str| {
        site.run(&[
            "-u", who, "order", "verify", &id, "--pages", pages, "--orders", file,
        ])
    };
    // Refused with exit code 1; what it says.
    let refused = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = refused(verify("zhou", "cover,order,continuation,order", &good));
    assert!(
        e.contains("orders: batch") && e.contains("2 orders but 3"),
        "{e}"
    );
    for (i, field, value, expected) in [
        (1, "address", "长安路1号", "address: order 2 (page 3)"),
        (0, "account", "dw0120503", "account: order 1"),
    ] {
        let mut bad = three();
        bad[i][field] = json!(value);
        let file = orders_file(&site, &format!("bad-{field}.json"), &bad);
        let e = refused(verify("zhou", "cover,order,order,order", &file));
        assert!(e.contains(expected), "{e}");
    }
    let e = refused(verify("zhao", "cover,order,order,order", &good));
    assert!(e.contains("only clerk or manager"), "{e}");
    assert_eq!(clerk(&["list"]).as_array().unwrap().len(), 0);
    assert_eq!(clerk(&["batches"])[0]["state"], "received");

    let done = clerk(&[
        "verify",
        &id,
        "--pages",
        "cover,order,order,order",
        "--orders",
        &good,
    ]);
    let serials: Vec<String> = done["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(serials.len(), 3);
    assert!(
        serials[0].starts_with("DW") && serials[1].starts_with("RQ"),
        "{serials:?}"
    );
    assert_eq!(done["orders"][1]["pages"], json!([3]));
    let fax = site.json(&["fax", "show", &batch["fax_id"].to_string()]);
    assert_eq!(fax["verification"]["state"], "verified", "{fax}");
    assert_eq!(
        fax["verification"]["page_roles"],
        json!(["cover", "order", "order", "order"])
    );
    wait_until("one acknowledgment reaches the server", || {
        !to_room(&smtp).is_empty()
    });
    let ack = &to_room(&smtp)[0];
    assert!(
        ack["body"]
            .as_str()
            .unwrap()
            .contains("已收到贵室工单 3 张"),
        "{ack}"
    );
    assert_eq!(
        ack["message_id"],
        format!("<workorder-ack.{id}@faultdesk.localhost>")
    );

    // A step out of order is refused naming the state.
    let e = site.fails(&["-u", "zhou", "order", "sign", &serials[0]], 1);
    assert!(e.contains("cannot sign an order that is verified"), "{e}");
    for n in &serials {
        let n = n.as_str();
        assert_eq!(clerk(&["enter", n])["state"], "entered");
        let o = clerk(&["dispatch", n, "--technician", "zhao"]);
        assert_eq!(
            (o["state"].as_str(), o["technician"].as_str()),
            (Some("dispatched"), Some("zhao"))
        );
        assert!(o["slip_due_at"].is_string(), "{o}");
        let signed = site.json(&["-u", "zhao", "order", "sign", n]);
        assert_eq!(signed["state"], "signed");
        assert_eq!(
            clerk(&["slip", n, "--file", "slip.png"])["state"],
            "slip_returned"
        );
        assert_eq!(clerk(&["install", n])["state"], "installed");
        let o = site.json(&[
            "-u",
            "li",
            "order",
            "callback",
            n,
            "--result",
            "passed",
            "--satisfaction",
            "满意",
        ]);
        assert_eq!(o["state"], "called_back");
    }
    // Once orders are entered, the batch's count stands.
    let e = refused(verify("zhou", "cover,order,order,order", &good));
    assert!(e.contains("already verified"), "{e}");
    // The customer's first call is recognised now.
    let found = site.json(&["-u", "li", "subscriber", "find", "88831234"]);
    assert_eq!(found["subscribers"][0]["account"], "dw0120502", "{found}");

    let sent = clerk(&["returns"]);
    assert_eq!(sent["orders"], json!(serials));
    one_return_slip(&smtp, &serials);
    for n in &serials {
        assert_eq!(clerk(&["archive", n])["state"], "archived");
    }
    assert!(clerk(&["returns"]).is_null());
    let shown = clerk(&["show", &serials[0]]);
    whole_life(&shown);

    // A restart sends nothing more: the ready daemon has made its start-up
    // passes, and queued nothing (the outbox is the only way out).
    let all_sent = |o: &Value| {
        o.as_array()
            .is_some_and(|a| a.iter().all(|m| m["state"] == "sent"))
    };
    let mut before = Value::Null;
    wait_until("every message sent before the restart", || {
        before = site.json(&["-u", "li", "outbox"]);
        all_sent(&before)
    });
    daemon.stop();
    let again = Daemon::start(&site, &[]);
    let outbox = site.json(&["-u", "li", "outbox"]);
    again.stop();
    assert_eq!(
        outbox.as_array().map(Vec::len),
        before.as_array().map(Vec::len),
        "{outbox}"
    );
    assert!(all_sent(&outbox), "{outbox}");
    assert_eq!(to_room(&smtp).len(), 2, "{:?}", smtp.log());
}
