//! Work orders through the console: the real daemon over HTTP, a real SMTP
//! server (aiosmtpd) and a four-page G4 fax made by ghostscript. A clerk
//! verifies the batch through the API as three orders and a cover page;
//! exactly one acknowledgment saying 3; dispatch, the project manager's
//! signature, the slip (an uploaded scan, a fax), installation, callback;
//! exactly one 回单 naming the three; the sheet downloaded and read back with
//! calamine; a restart sends nothing more. Bad input and steps out of order
//! are refused in Chinese naming the field or state, and change nothing.
//! Every new action under every role. And the same in a real browser: the
//! batch verified in the fax inbox with its page images loaded.

use std::time::Duration;

use serde_json::{Value, json};

use crate::mail::{Smtpd, mail_site};
use crate::orders::{ROOM, drop_room_fax, one_return_slip, three, to_room, whole_life};
use crate::support::{CALLING_ALL_DAY, free_port, poll, wait_until};
use crate::web::{Agent, agent, staff, staffed, start};

/// The site of these tests: mail through SMTP on `port`, no SIP, faxes taken at once.
fn site(port: u16) -> crate::support::Site {
    staff(mail_site(
        port,
        &[
            ("[sip]\nenabled = true", "[sip]\nenabled = false"),
            ("settle_ms = 2000", "settle_ms = 0"),
            // The installation callback due at once, at any hour.
            ("callback_after_minutes = 60", "callback_after_minutes = 0"),
            CALLING_ALL_DAY[0],
            CALLING_ALL_DAY[1],
        ],
    ))
}

/// The first batch, once the fax became one.
fn first_batch(clerk: &Agent) -> Value {
    let mut batch = Value::Null;
    wait_until("the fax becomes a work-order batch", || {
        let r = clerk.get("/api/batches");
        batch = r.json()[0].clone();
        !batch.is_null()
    });
    batch
}

/// A refusal: its status in 4xx and its Chinese message, which must say `want`.
fn refused(r: &crate::web::Reply, status: u16, want: &str) {
    assert_eq!(r.status, status, "{r:?}");
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains(want), "got {e:?}, want {want:?}");
}

fn order(clerk: &Agent, serial: &str) -> Value {
    let r = clerk.get(&format!("/api/orders/{serial}"));
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

/// Standard base64 of `b` (the browser's FileReader writes the same).
fn base64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, x)| acc | (u32::from(*x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_work_order_fax_verified_and_worked_to_the_return_slip_through_the_api() {
    let port = free_port();
    let site = site(port);
    let mut smtp = Smtpd::new(port, &site.file("smtp"), &[], &[]);
    smtp.start();
    let d = start(&site);
    let zhao = agent(&d, "zhao");
    drop_room_fax(&site);
    let batch = first_batch(&zhao);
    assert_eq!(
        (batch["state"].as_str(), batch["pages"].as_u64()),
        (Some("received"), Some(4)),
        "{batch}"
    );
    let id = batch["id"].as_i64().unwrap();
    let fax_id = batch["fax_id"].as_i64().unwrap();
    // Nothing is queued for the room before a person checked the pages
    // (an acknowledgment on arrival is queued with the batch, in its transaction).
    let outbox = site.json(&["-u", "wang", "outbox"]);
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["recipient"] != ROOM),
        "{outbox}"
    );
    // The fax inbox lists it, waiting; its pages are real PNG images.
    let inbox = zhao.get("/api/faxes").json();
    assert_eq!(inbox[0]["fax"]["id"], fax_id, "{inbox}");
    assert_eq!(inbox[0]["waiting"], true);
    assert_eq!(inbox[0]["class_text"], "工单");
    let png = zhao.get(&format!("/faxes/{fax_id}/pages/2"));
    assert_eq!(png.status, 200, "{png:?}");
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.raw.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");

    // Bad input: refused naming the field, nothing changes.
    let verify = |who: &Agent, pages: &[&str], orders: &Value| {
        who.post(
            &format!("/api/batches/{id}/verify"),
            &json!({ "pages": pages, "orders": orders }).to_string(),
        )
    };
    let roles = ["cover", "order", "order", "order"];
    refused(
        &verify(
            &zhao,
            &["cover", "order", "continuation", "order"],
            &three(),
        ),
        422,
        "工单数:页面里有 2 张工单,却填了 3 张",
    );
    refused(
        &verify(&zhao, &["cover", "order", "order"], &three()),
        422,
        "页面:这份传真有 4 页,标了 3 页",
    );
    refused(
        &verify(&zhao, &["cover", "order", "page", "order"], &three()),
        422,
        "页面:第 3 页",
    );
    for (i, field, value, want) in [
        (
            1,
            "address",
            "长安路1号",
            "地址:第 2 张工单(第 3 页)「长安路1号」",
        ),
        (
            0,
            "account",
            "dw0120503",
            "账号:第 1 张工单(第 2 页)「dw0120503」",
        ),
        (
            2,
            "service",
            "卫星",
            "户类:第 3 张工单(第 4 页)请选择 宽带、固话、IPTV、其他",
        ),
        (0, "line", "139 1234 5678", "号码:第 1 张工单(第 2 页)"),
    ] {
        let mut bad = three();
        bad[i][field] = json!(value);
        refused(&verify(&zhao, &roles, &bad), 422, want);
    }
    for who in ["li", "wu"] {
        refused(
            &verify(&agent(&d, who), &roles, &three()),
            403,
            "你的岗位不能",
        );
    }
    assert_eq!(zhao.get("/api/orders").json(), json!([]));
    assert_eq!(zhao.get("/api/batches").json()[0]["state"], "received");

    // Verified: three orders and a cover page; the room is told 3, once.
    let r = verify(&zhao, &roles, &three());
    assert_eq!(r.status, 200, "{r:?}");
    let done = r.json();
    let serials: Vec<String> = done["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(serials.len(), 3, "{done}");
    assert_eq!(done["batch"]["page_roles"], json!(roles));
    wait_until("the acknowledgment reaches the server", || {
        !to_room(&smtp).is_empty()
    });
    let acks = to_room(&smtp);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert!(
        acks[0]["body"]
            .as_str()
            .unwrap()
            .contains("已收到贵室工单 3 张"),
        "{}",
        acks[0]
    );

    // A step out of order: refused naming the state; nothing changes.
    let first = serials[0].as_str();
    let step = |who: &Agent, serial: &str, body: Value| {
        who.post(&format!("/api/orders/{serial}/step"), &body.to_string())
    };
    refused(
        &step(&zhao, first, json!({"step": "sign"})),
        409,
        &format!("签收:工单 {first} 目前状态为 已核对,下一步:录入"),
    );
    assert_eq!(order(&zhao, first)["state"], "verified");

    let wu = agent(&d, "wu");
    let qian = agent(&d, "qian");
    let li = agent(&d, "li");
    for (i, n) in serials.iter().enumerate() {
        let n = n.as_str();
        assert_eq!(
            step(&zhao, n, json!({"step": "enter"})).json()["state"],
            "entered"
        );
        // Only a technician takes orders (项目经理).
        refused(
            &step(&zhao, n, json!({"step": "dispatch", "technician": "li"})),
            422,
            "项目经理:li 不是在职的维修人员",
        );
        refused(
            &step(&zhao, n, json!({"step": "dispatch"})),
            422,
            "项目经理:不能为空",
        );
        assert_eq!(order(&zhao, n)["state"], "entered");
        let o = step(&zhao, n, json!({"step": "dispatch", "technician": "wu"})).json();
        assert_eq!(
            (o["state"].as_str(), o["order"]["technician"].as_str()),
            (Some("dispatched"), Some("wu")),
            "{o}"
        );
        // Another technician cannot sign for wu; wu signs for himself.
        refused(
            &step(&qian, n, json!({"step": "sign"})),
            422,
            "此工单没有派给你",
        );
        assert_eq!(order(&zhao, n)["state"], "dispatched");
        assert_eq!(
            step(&wu, n, json!({"step": "sign"})).json()["state"],
            "signed"
        );
        // A technician does nothing else.
        refused(
            &step(&wu, n, json!({"step": "install"})),
            403,
            "你的岗位不能",
        );
        let slip = |body: Value| zhao.post(&format!("/api/orders/{n}/slip"), &body.to_string());
        let r = match i {
            // The scan uploaded: a real PNG (the fax's own page 2).
            0 => {
                refused(
                    &slip(json!({"image": base64(b"%PDF-1.4 not an image")})),
                    422,
                    "签字单扫描件:只收 PNG、JPEG 或 TIFF 图片",
                );
                refused(&slip(json!({"image": "@@@"})), 422, "签字单扫描件");
                assert_eq!(order(&zhao, n)["state"], "signed");
                slip(json!({"image": format!("data:image/png;base64,{}", base64(&png.raw))}))
            }
            // The scan came by fax.
            1 => {
                refused(&slip(json!({"fax": 999})), 422, "签字单传真:没有这份传真");
                slip(json!({"fax": fax_id}))
            }
            _ => slip(json!({})),
        };
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["state"], "slip_returned");
        assert_eq!(
            step(&zhao, n, json!({"step": "install"})).json()["state"],
            "installed"
        );
        // The installation callback, due on the agents' 回访 page with the
        // order's own form, recorded by an agent.
        let due = li.get("/callbacks");
        assert!(
            due.body
                .contains(&format!("data-api=\"/api/orders/{n}/callback\"")),
            "{}",
            due.body
        );
        let cb = |body: Value| li.post(&format!("/api/orders/{n}/callback"), &body.to_string());
        refused(
            &cb(json!({"result": "passed"})),
            422,
            "满意度:请选择 满意、基本满意 或 不满意",
        );
        let r = cb(json!({"result": "passed", "satisfaction": "满意", "handling": "已开通"}));
        assert_eq!(r.json()["state"], "called_back", "{r:?}");
    }
    let o = order(&zhao, first);
    let kept = o["slip_file"].as_str().unwrap();
    assert!(
        kept.starts_with("var/slips/") && kept.ends_with(".png"),
        "{o}"
    );
    assert_eq!(std::fs::read(site.file(kept)).unwrap(), png.raw);
    assert_eq!(order(&zhao, &serials[1])["slip_fax_id"], fax_id);

    // The 回单: one, naming the three, to the room; then archived.
    let r = zhao.post("/api/orders/returns", "{}");
    assert_eq!(r.json()["sent"]["orders"], json!(serials), "{r:?}");
    one_return_slip(&smtp, &serials);
    for n in &serials {
        assert_eq!(
            step(&zhao, n, json!({"step": "archive"})).json()["state"],
            "archived"
        );
    }
    refused(
        &step(&zhao, first, json!({"step": "archive"})),
        409,
        "归档:工单",
    );
    assert_eq!(
        zhao.post("/api/orders/returns", "{}").json()["sent"],
        Value::Null
    );
    let shown = order(&zhao, first);
    whole_life(&shown);
    assert_eq!(shown["events"][3]["actor"], "wu");

    // The sheet, downloaded and read back.
    let x = zhao.get("/api/orders/export");
    assert_eq!(x.status, 200, "{x:?}");
    assert!(
        x.header("content-disposition").unwrap().contains(".xlsx"),
        "{x:?}"
    );
    let rows = sheet(&x.raw);
    assert_eq!(rows[0][0], "流水号");
    assert_eq!(rows[0][21], "进度");
    assert_eq!(rows.len(), 4);
    let by_serial = |s: &str| rows.iter().find(|r| r[0] == s).unwrap().clone();
    let r = by_serial(first);
    assert_eq!(
        (r[2].as_str(), r[3].as_str(), r[5].as_str(), r[13].as_str()),
        ("dw0120502", "张伟", "馨苑1#-2-502", "wu")
    );
    assert_eq!(
        (r[19].as_str(), r[20].as_str(), r[21].as_str()),
        ("passed", "满意", "已归档")
    );
    assert_eq!(by_serial(&serials[2])[5], "曲江观邸3#-1-1201");

    // Every look was audited under the person.
    let actions: Vec<String> = site
        .db()
        .prepare("SELECT action FROM audit WHERE actor = 'zhao'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for a in [
        "fax.list",
        "fax.preview",
        "order.batches",
        "order.show",
        "order.export",
        "order.verify",
        "order.archive",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
    }

    // A restart sends nothing more.
    d.stop();
    let again = start(&site);
    let more = poll(Duration::from_secs(5), || {
        (to_room(&smtp).len() > 2).then_some(())
    });
    again.stop();
    assert!(more.is_none(), "{:?}", smtp.log());
    assert_eq!(to_room(&smtp).len(), 2);
}

/// The cells of the sheet's first worksheet, as text.
fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .expect("an XLSX file");
    let range = wb.worksheet_range("工单").expect("the sheet 工单");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_work_order_action_under_every_role() {
    let site = staffed(&[]);
    let d = start(&site);
    let people = ["li", "zhao", "wu", "wang"];
    let who: Vec<Agent> = people.iter().map(|u| agent(&d, u)).collect();
    let nobody = "DW19990101001";
    let posts: Vec<(String, &str, &[&str])> = vec![
        (
            "/api/faxes/999/triage".into(),
            r#"{"action":"junk","reason":"广告"}"#,
            &["zhao", "wang"],
        ),
        (
            "/api/faxes/999/triage".into(),
            r#"{"action":"ticket","ticket":"X-19990101-001"}"#,
            &["zhao", "wang"],
        ),
        (
            "/api/faxes/999/triage".into(),
            r#"{"action":"batch"}"#,
            &["zhao", "wang"],
        ),
        (
            "/api/batches/999/verify".into(),
            r#"{"pages":["order"],"orders":[{}]}"#,
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/step"),
            r#"{"step":"enter"}"#,
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/step"),
            r#"{"step":"dispatch","technician":"wu"}"#,
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/step"),
            r#"{"step":"sign"}"#,
            &["zhao", "wu", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/step"),
            r#"{"step":"install"}"#,
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/step"),
            r#"{"step":"archive"}"#,
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/slip"),
            "{}",
            &["zhao", "wang"],
        ),
        (
            format!("/api/orders/{nobody}/callback"),
            r#"{"result":"no_answer"}"#,
            &["li", "zhao", "wang"],
        ),
        ("/api/orders/returns".into(), "{}", &["zhao", "wang"]),
    ];
    for (path, body, allowed) in &posts {
        for (u, a) in people.iter().zip(&who) {
            let r = a.post(path, body);
            if allowed.contains(u) {
                assert_ne!(r.status, 403, "{u} may POST {path} {body}: {r:?}");
                assert!(r.status < 500, "{u} POST {path}: {r:?}");
            } else {
                refused(&r, 403, "你的岗位不能");
            }
        }
    }
    let gets: [(&str, &[&str]); 12] = [
        ("/faxes", &["zhao", "wang"]),
        ("/faxes/999/pages/1", &["zhao", "wang"]),
        ("/api/faxes", &["zhao", "wang"]),
        ("/api/faxes/999", &["zhao", "wang"]),
        ("/api/batches", &["zhao", "wang"]),
        ("/api/orders/late", &["zhao", "wang"]),
        ("/api/orders/export", &["zhao", "wang"]),
        ("/orders", &["zhao", "wu", "wang"]),
        ("/api/orders", &["zhao", "wu", "wang"]),
        ("/api/orders/DW19990101001", &["zhao", "wu", "wang"]),
        ("/orders?state=signed", &["zhao", "wu", "wang"]),
        ("/faxes?id=999", &["zhao", "wang"]),
    ];
    for (path, allowed) in gets {
        for (u, a) in people.iter().zip(&who) {
            let r = a.get(path);
            if allowed.contains(u) {
                assert_ne!(r.status, 403, "{u} may GET {path}: {r:?}");
                assert!(r.status < 500, "{u} GET {path}: {r:?}");
            } else {
                assert_eq!(r.status, 403, "{u} may not GET {path}: {}", r.body);
            }
        }
    }
    // The tabs follow: 传真 for the clerk, 工单 for the clerk and the project manager.
    let nav = |a: &Agent| a.get("/orders").body;
    assert!(who[1].get("/faxes").body.contains("href=\"/faxes\""));
    assert!(nav(&who[2]).contains("href=\"/orders\"") && !nav(&who[2]).contains("href=\"/faxes\""));
}

/// A fax from an unknown machine (no TSI), `text` on its one page, dropped
/// into the spool as `name`.
fn drop_unknown_fax(site: &crate::support::Site, name: &str, text: &str) {
    let ps = format!(
        "%!PS\n/Helvetica findfont 36 scalefont setfont\n72 700 moveto ({text}) show\nshowpage\n"
    );
    let made = crate::fax::gs(site.path(), "tiffg4", &[], &ps, name);
    let tmp = site.file(&format!("spool/incoming/.{name}.tmp"));
    std::fs::copy(&made, &tmp).unwrap();
    std::fs::rename(&tmp, site.file(&format!("spool/incoming/{name}"))).unwrap();
}

/// The newest fax waiting for triage, once there is one.
fn waiting_triage(clerk: &Agent) -> Value {
    let mut found = Value::Null;
    wait_until("a fax waiting for triage", || {
        let list = clerk.get("/api/faxes").json();
        found = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["fax"]["class"] == "triage" && f["waiting"] == true)
            .cloned()
            .unwrap_or(Value::Null);
        !found.is_null()
    });
    found
}

#[test]
fn unknown_senders_triaged_through_the_api_leave_no_open_ticket() {
    let site = staffed(&[("settle_ms = 2000", "settle_ms = 0")]);
    let d = start(&site);
    let zhao = agent(&d, "zhao");
    let ticket_state = |n: &str| site.ticket(&["show", n])["state"].clone();

    // The room's orders sent from another machine: made a batch.
    drop_unknown_fax(&site, "a.tif", "Work orders sent from another machine");
    let f = waiting_triage(&zhao);
    let id = f["fax"]["id"].as_i64().unwrap();
    let own = f["fax"]["ticket"].as_str().unwrap().to_string();
    assert!(own.starts_with("U-"), "{f}");
    assert_eq!(ticket_state(&own), "new");
    let triage = |body: Value| zhao.post(&format!("/api/faxes/{id}/triage"), &body.to_string());
    refused(&triage(json!({"action": "junk"})), 422, "作废原因:不能为空");
    refused(&triage(json!({"action": "file"})), 422, "分拣:请选择");
    assert_eq!(ticket_state(&own), "new");
    let r = triage(json!({"action": "batch"}));
    assert_eq!(r.status, 200, "{r:?}");
    let done = r.json();
    assert_eq!(done["voided"], own.as_str(), "{done}");
    assert!(done["batch_id"].is_i64(), "{done}");
    // Its ticket does not stay open to breach a promise; the reason says why.
    assert_eq!(ticket_state(&own), "voided");
    let t = site.ticket(&["show", &own]);
    assert!(
        t.to_string().contains(&format!("传真 {id} 经分拣作为工单")),
        "{t}"
    );
    assert_eq!(zhao.get("/api/batches").json()[0]["state"], "received");
    refused(
        &triage(json!({"action": "junk", "reason": "广告"})),
        422,
        "这份传真已经分拣过了",
    );

    // An advertisement: set aside as junk with the reason.
    drop_unknown_fax(&site, "b.tif", "Cheap printer toner");
    let f = waiting_triage(&zhao);
    let id = f["fax"]["id"].as_i64().unwrap();
    let own = f["fax"]["ticket"].as_str().unwrap().to_string();
    let r = zhao.post(
        &format!("/api/faxes/{id}/triage"),
        &json!({"action": "junk", "reason": "广告"}).to_string(),
    );
    assert_eq!(r.json()["voided"], own.as_str(), "{r:?}");
    assert_eq!(ticket_state(&own), "voided");
    let shown = zhao.get(&format!("/api/faxes/{id}")).json();
    assert_eq!(shown["triage"]["reason"], "广告", "{shown}");
    let page = zhao.get(&format!("/faxes?id={id}")).body;
    assert!(page.contains("已分拣 作废:广告"), "{page}");
}

mod browser {
    //! The fax inbox and the 工单 page in Debian's chromium (1366×768).

    use std::time::{Duration, Instant};

    use fantoccini::{Client, Locator};
    use serde_json::Value;

    use crate::browser::{browser, click, driver, fill, login, shot, wait_text};
    use crate::orders::drop_room_fax;
    use crate::support::wait_until;
    use crate::web::{Daemon, staffed, start};

    /// The natural widths of the page images shown, once every one has loaded.
    async fn images_loaded(c: &Client, want: usize) -> Vec<i64> {
        let t0 = Instant::now();
        loop {
            let v = c
                .execute(
                    "return Array.from(document.querySelectorAll('.pageimg img')).map(function (i) { return i.complete ? i.naturalWidth : -1; });",
                    vec![],
                )
                .await
                .unwrap();
            let widths: Vec<i64> = v
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            if widths.len() == want && widths.iter().all(|w| *w > 0) {
                return widths;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the page images did not load: {widths:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn page_field(c: &Client, page: u32, name: &str, text: &str) {
        fill(
            c,
            &format!(".vpage[data-page='{page}'] input[name={name}]"),
            text,
        )
        .await;
    }

    async fn service(c: &Client, page: u32, value: &str) {
        c.find(Locator::Css(&format!(
            ".vpage[data-page='{page}'] select[name=service]"
        )))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
    }

    fn go(d: &Daemon, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", d.web)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clerk_verifies_a_batch_in_the_fax_inbox_beside_its_page_images() {
        let site = staffed(&[("settle_ms = 2000", "settle_ms = 0")]);
        let d = start(&site);
        drop_room_fax(&site);
        let mut fax = String::new();
        wait_until("the fax becomes a work-order batch", || {
            let b = site.json(&["-u", "zhao", "order", "batches"]);
            fax = b[0]["fax_id"].to_string();
            b[0].is_object()
        });
        let drv = driver();
        let c = browser(&drv).await;
        // Logged in, the clerk lands on the fax inbox.
        login(&c, &d, "zhao").await;
        let list = wait_text(&c, ".faxlist", "待处理").await;
        assert!(
            list.contains("工单") && list.contains("8824 7792"),
            "{list}"
        );
        click(&c, ".faxlist td a").await;
        wait_text(&c, ".faxopen h2", &format!("传真 {fax}")).await;
        // The four pages are shown as images that really loaded.
        let widths = images_loaded(&c, 4).await;
        assert!(widths.iter().all(|w| *w >= 1000), "{widths:?}");
        shot(&c, "11-faxes").await;

        // Page 1 is a cover sheet; pages 2–4 are orders.
        click(&c, "input[name='role-1'][value=cover]").await;
        let orders = [
            (2, "88831234", "张伟", "馨苑1#-2-502"),
            (3, "68697003", "李娜", "长安路1号"),
            (4, "68691201", "王芳", "曲江观邸3号楼1单元1201"),
        ];
        for (page, line, name, address) in orders {
            page_field(&c, page, "line", line).await;
            page_field(&c, page, "name", name).await;
            page_field(&c, page, "contact", "13912345678").await;
            page_field(&c, page, "address", address).await;
            service(&c, page, "宽带").await;
        }
        shot(&c, "12-faxes-verify").await;
        // A wrong address: refused naming the order, its page and the field.
        click(&c, "#verify button[type=submit]").await;
        wait_text(&c, "#msg", "地址:第 2 张工单(第 3 页)").await;
        let marked = c
            .execute(
                "return document.querySelector('.vpage[data-page=\"3\"] input[name=address]').classList.contains('bad');",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(marked, Value::Bool(true));
        assert_eq!(
            site.json(&["-u", "zhao", "order", "list"]),
            serde_json::json!([])
        );
        page_field(&c, 3, "address", "融侨城12-2-803").await;
        click(&c, "#verify button[type=submit]").await;
        wait_text(&c, "#msg", "已核对 3 张工单,已告知电信").await;
        let line = wait_text(&c, ".batchline", "已核对").await;
        assert!(line.contains("已告知电信 3 张 · 赵敏 今天"), "{line}");
        // Verified: each order's first page shows its serial and fields.
        wait_text(&c, ".vpage[data-page='3'] .ofields", "已核对为 RQ").await;
        let kept = c
            .find(Locator::Css(".vpage[data-page='3'] input[name=address]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("融侨城12#-2-803"));
        c.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
        shot(&c, "13-faxes-verified").await;
        let list = site.json(&["-u", "zhao", "order", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
        let serial = list[0]["serial"].as_str().unwrap().to_string();

        // On the register: entered and dispatched to wu, its slip overdue: red.
        site.json(&["-u", "zhao", "order", "enter", &serial]);
        site.ok(&[
            "-u",
            "zhao",
            "order",
            "dispatch",
            &serial,
            "--technician",
            "wu",
        ]);
        let aged = site
            .db()
            .execute(
                "UPDATE work_orders SET slip_due_at = slip_due_at - 5 * 86400000 WHERE serial = ?1",
                [&serial],
            )
            .unwrap();
        assert_eq!(aged, 1);
        c.goto(&go(&d, "/orders")).await.unwrap();
        let reg = wait_text(&c, ".register", "签字单超期 1 张").await;
        assert!(reg.contains(&serial), "{reg}");
        let red = c
            .execute(
                &format!(
                    "return document.querySelector('tr[data-serial=\"{serial}\"]').className;"
                ),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(red, Value::String("overdue".into()));
        shot(&c, "14-orders").await;

        // The project manager signs for his own order in the console.
        let wu = browser(&drv).await;
        // Logged in, he lands on his orders.
        login(&wu, &d, "wu").await;
        wait_text(&wu, ".register", "派给我的工单 · 1 张").await;
        shot(&wu, "15-orders-technician").await;
        click(&wu, &format!("tr[data-serial='{serial}'] button")).await;
        wait_text(&wu, "#msg", "已保存").await;
        let o = site.json(&["-u", "zhao", "order", "show", &serial]);
        assert_eq!(o["state"], "signed");

        for c in [&c, &wu] {
            let w = c
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .unwrap();
            assert!(w.as_i64().unwrap_or(0) <= 1366, "a page is {w} px wide");
        }
        for c in [c, wu] {
            let _ = c.close().await;
        }
    }
}
