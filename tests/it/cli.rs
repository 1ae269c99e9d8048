//! The foundation through the real binary: init, roster import (XLSX and
//! CSV), lookups by every number form, the whole ticket workflow, and bad
//! input of each kind refused without changing anything else.

use serde_json::Value;

use crate::support::{self, Daemon, Site, today};

const HEADER: [&str; 11] = [
    "账号",
    "姓名",
    "固话号码",
    "手机号码",
    "地址",
    "产品",
    "资费计划",
    "开通日期",
    "到期日期",
    "备注",
    "密码",
];

fn write_xlsx(path: &std::path::Path, rows: &[[&str; 11]]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            // Phone numbers stored as numbers, as the billing export does.
            if (c == 2 || c == 3) && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                ws.write_number(r, c, v.parse::<f64>().unwrap()).unwrap();
            } else {
                ws.write_string(r, c, *v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

fn roster_xlsx(site: &Site) -> std::path::PathBuf {
    let p = site.file("roster.xlsx");
    write_xlsx(
        &p,
        &[
            [
                "dw0120502",
                "王伟",
                "68691234",
                "13912345678",
                "馨苑1#-2-502",
                "宽带20M",
                "包年",
                "2026-01-05",
                "2027-01-04",
                "",
                "a123456",
            ],
            [
                "qj0311201",
                "张敏",
                "68695555",
                "",
                "曲江观邸3号楼1单元1201",
                "宽带50M",
                "包月",
                "2026/03/01",
                "",
                "",
                "a123456",
            ],
            // Bad rows: a wrong account, an address that contradicts the account, a landline in the mobile column.
            ["dw012050", "坏行", "", "", "", "", "", "", "", "", ""],
            [
                "rq1220803",
                "李强",
                "",
                "",
                "融侨城 12-2-0804",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            [
                "rq1220805",
                "赵六",
                "",
                "68690000",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    );
    p
}

fn roster_csv(site: &Site) -> std::path::PathBuf {
    let p = site.file("roster.csv");
    let body = "账号,姓名,固话号码,手机号码,地址,产品,资费计划,开通日期,到期日期,备注,密码\n\
                rq1220803,李强,029-68697777,+86 138 0000 1111,融侨城 12-2-0803,宽带100M,包年,20260201,20270131,老用户,a123456\n\
                dw0120502,王伟,68691234,13912345678,馨苑1#-2-502,宽带50M,包年,2026-01-05,2027-01-04,升级,a123456\n";
    // Excel's "CSV UTF-8" starts with a byte-order mark.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(body.as_bytes());
    std::fs::write(&p, bytes).unwrap();
    p
}

fn accounts(v: &Value) -> Vec<String> {
    v["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn roster_import_and_lookup_by_every_form() {
    let site = Site::initialised(&[]);
    let xlsx = roster_xlsx(&site);

    // A dry run reports everything and changes nothing.
    let out = site.run(&[
        "-u",
        "li",
        "import",
        "subscribers",
        xlsx.to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(65));
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dry["inserted"], 2);
    let found = site.json(&["-u", "li", "subscriber", "find", "dw0120502"]);
    assert!(accounts(&found).is_empty(), "dry run must not import");

    // The real import: good rows in, bad rows named with row number and reason.
    let out = site.run(&["-u", "li", "import", "subscribers", xlsx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(row 4): 账号: `dw012050`: expected the prefix and 7 digits"),
        "{err}"
    );
    assert!(err.contains("(row 5): 地址 `融侨城 12-2-0804` is 融侨城12#-2-804 but 账号 rq1220803 is 融侨城12#-2-803"), "{err}");
    assert!(
        err.contains("(row 6): 手机号码: `68690000` is not a mobile number"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 new"), "{stdout}");
    assert!(stdout.contains("密码 (password: never stored)"), "{stdout}");

    // CSV with BOM: one new, one updated.
    let csv = roster_csv(&site);
    let sum = site.json(&["-u", "li", "import", "subscribers", csv.to_str().unwrap()]);
    assert_eq!(
        (sum["inserted"].as_u64(), sum["updated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(sum["rejected"].as_array().unwrap().len(), 0);

    // Every written form of a number finds the subscriber.
    for q in [
        "68691234",
        "029-68691234",
        "02968691234",
        "+86 29 6869 1234",
        "008602968691234",
        "8602968691234",
        "sip:+862968691234@pbx",
        "13912345678",
        "+8613912345678",
    ] {
        let v = site.json(&["-u", "li", "subscriber", "find", q]);
        assert_eq!(accounts(&v), ["dw0120502"], "query {q}");
    }
    for (q, want) in [
        ("dw0120502", "dw0120502"),
        ("馨苑1#-2-502", "dw0120502"),
        ("曲江观邸3号楼1单元1201", "qj0311201"),
        ("融侨城 12-2-0803", "rq1220803"),
        ("13800001111", "rq1220803"),
        ("李强", "rq1220803"),
    ] {
        let v = site.json(&["-u", "li", "subscriber", "find", q]);
        assert_eq!(accounts(&v), [want], "query {q}");
    }
    let v = site.json(&["-u", "li", "subscriber", "find", "dw0120502"]);
    let s = &v["subscribers"][0];
    assert_eq!(s["product"], "宽带50M");
    assert_eq!(s["opened_on"], "2026-01-05");
    assert!(!v.to_string().contains("a123456"), "a password leaked: {v}");
    let raw = std::fs::read(site.file("var/faultdesk.db")).unwrap();
    assert!(
        !raw.windows(7).any(|w| w == b"a123456"),
        "a password was stored"
    );

    // Looking up customers needs a person, and is audited.
    let err = site.fails(&["subscriber", "find", "dw0120502"], 2);
    assert!(err.contains("--user"), "{err}");
    let err = site.fails(&["-u", "nobody", "subscriber", "find", "dw0120502"], 1);
    assert!(
        err.contains("user (nobody)") || err.contains("user nobody"),
        "{err}"
    );
}

#[test]
fn the_ticket_workflow_through_the_cli() {
    let site = Site::initialised(&[]);
    let csv = roster_csv(&site);
    site.ok(&["-u", "li", "import", "subscribers", csv.to_str().unwrap()]);
    let day = today();

    // A customer's report: tagged by the estate, subscriber found by number.
    let t = site.ticket(&[
        "new",
        "--phone",
        "029-68691234",
        "--service",
        "宽带",
        "--reporter",
        "王伟",
        "--fault",
        "不能上网",
    ]);
    let n = format!("X-{day}-001");
    assert_eq!(t["number"], n.as_str());
    assert_eq!(t["tag"], "X");
    assert_eq!(t["state"], "new");
    assert_eq!(t["subscriber"], "dw0120502");
    assert_eq!(t["accepting_agent"], "li");
    assert_eq!(t["depot"], "馨苑维护处");
    assert_eq!(t["repeat"], false);

    // The same customer again: attached as a repeat report.
    let again = site.ticket(&[
        "new",
        "--phone",
        "+8613912345678",
        "--fault",
        "还是不能上网",
    ]);
    assert_eq!(
        (again["number"].as_str(), again["repeat"].as_bool()),
        (Some(n.as_str()), Some(true))
    );
    assert_eq!(again["repeat_count"], 1);

    // Desks and strangers.
    let dc = site.ticket(&[
        "new",
        "--phone",
        "88218050",
        "--fault",
        "测量台: 8883xxxx 断线",
    ]);
    assert_eq!(
        (dc["number"].as_str(), dc["origin"].as_str()),
        (Some(format!("DC-{day}-001").as_str()), Some("desk"))
    );
    let u = site.ticket(&["new", "--phone", "13700000000"]);
    assert_eq!(u["number"], format!("U-{day}-001").as_str());
    assert_eq!(u["tag"], Value::Null);
    let amended = site.ticket(&[
        "amend",
        &format!("DC-{day}-001"),
        "--subscriber",
        "rq1220803",
    ]);
    assert_eq!(amended["subscriber"], "rq1220803");
    assert_eq!(amended["depot"], "融侨城维护处");

    // dispatch → repaired ✓ → callback failed × → dispatch → repaired → callback passed ☆ → closed.
    assert_eq!(
        site.ticket(&[
            "dispatch",
            &n,
            "--depot",
            "馨苑维护处",
            "--technician",
            "老周"
        ])["state"],
        "dispatched"
    );
    let r = site.ticket(&["repaired", &n, "--cause", "光猫故障"]);
    assert_eq!(
        (r["state"].as_str(), r["cause"].as_str()),
        (Some("repaired"), Some("光猫故障"))
    );
    assert!(r["repaired_at"].is_string());
    assert_eq!(
        site.ticket(&["callback", &n, "--result", "no-answer"])["state"],
        "repaired"
    );
    let f = site.ticket(&["callback", &n, "--result", "failed", "--note", "还是断"]);
    assert_eq!(
        (f["state"].as_str(), f["reopen_count"].as_i64()),
        (Some("reopened"), Some(1))
    );
    assert_eq!(f["repaired_at"], Value::Null);
    site.ticket(&["dispatch", &n]);
    site.ticket(&["repaired", &n]);
    let p = site.ticket(&[
        "callback",
        &n,
        "--result",
        "passed",
        "--satisfaction",
        "满意",
    ]);
    assert_eq!(
        (p["state"].as_str(), p["satisfaction"].as_str()),
        (Some("closed"), Some("满意"))
    );
    assert!(p["closed_at"].is_string());

    // Reopened by a person after closing, then closed by hand after a kept-open callback.
    let ro = site.ticket(&["reopen", &n, "--reason", "客户再次报障"]);
    assert_eq!(
        (ro["state"].as_str(), ro["reopen_count"].as_i64()),
        (Some("reopened"), Some(2))
    );
    site.ticket(&["repaired", &n]);
    assert_eq!(
        site.ticket(&["callback", &n, "--result", "passed", "--keep-open"])["state"],
        "called_back"
    );
    assert_eq!(site.ticket(&["close", &n])["state"], "closed");

    // The whole history, with person and time.
    let show = site.ticket(&["show", &n]);
    let kinds: Vec<&str> = show["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "reported",
            "repeat_report",
            "dispatch",
            "repair",
            "callback_no_answer",
            "callback_failed",
            "dispatch",
            "repair",
            "callback_passed",
            "close",
            "reopen",
            "repair",
            "callback_passed",
            "close"
        ]
    );
    assert!(
        show["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "li" && e["at"].is_string())
    );

    // Listings.
    let open = site.json(&["-u", "li", "ticket", "list", "--open"]);
    assert_eq!(open.as_array().unwrap().len(), 2);
    let closed = site.json(&["-u", "li", "ticket", "list", "--state", "closed"]);
    assert_eq!(closed[0]["number"], n.as_str());
    let dcs = site.json(&["-u", "li", "ticket", "list", "--tag", "DC"]);
    assert_eq!(dcs.as_array().unwrap().len(), 1);

    // SLA: exempted with a reason.
    let dcn = format!("DC-{day}-001");
    let e = site.ticket(&["sla", &dcn, "--exempt", "暴雨"]);
    assert_eq!(e["sla_exempt"], "暴雨");
}

#[test]
fn an_illegal_step_is_refused_and_changes_nothing() {
    let site = Site::initialised(&[]);
    let t = site.ticket(&["new", "--phone", "88217901"]);
    let n = t["number"].as_str().unwrap().to_string();
    let before = site.ticket(&["show", &n]);
    let err = site.fails(
        &["-u", "li", "ticket", "callback", &n, "--result", "passed"],
        1,
    );
    assert!(
        err.starts_with(&format!("faultdesk: ticket ({n}): ")),
        "{err}"
    );
    assert!(
        err.contains(&n) && err.contains("cannot callback_passed a ticket that is new"),
        "{err}"
    );
    let err = site.fails(&["-u", "li", "ticket", "repaired", "X-20000101-001"], 1);
    assert!(
        err.contains("X-20000101-001") && err.contains("no such ticket"),
        "{err}"
    );
    let after = site.ticket(&["show", &n]);
    assert_eq!(before["events"], after["events"]);
    assert_eq!(before["state"], after["state"]);
    let err = site.fails(&["-u", "li", "ticket", "list", "--state", "fixed"], 2);
    assert!(
        err.contains("'fixed'") && err.contains("possible values: new, dispatched, repaired"),
        "{err}"
    );
}

#[test]
fn a_bad_config_is_refused_naming_key_and_line() {
    let site = Site::new(&[("[tickets]\n", "[tickets]\nsla_hour = 12\n")]);
    let err = site.fails(&["check-config"], 78);
    let line = support::default_config()
        .lines()
        .position(|l| l == "[tickets]")
        .unwrap()
        + 2;
    assert!(
        err.starts_with(&format!(
            "faultdesk: config (config/faultdesk.toml, line {line}, key `tickets.sla_hour`): unknown field `sla_hour`"
        )),
        "{err}"
    );
    // Nothing was created.
    assert!(!site.file("var").exists());
    let err = site.fails(&["init"], 78);
    assert!(err.contains("sla_hour"), "{err}");
    assert!(!site.file("var").exists());

    let ok = Site::new(&[]);
    let v = ok.json(&["check-config"]);
    assert_eq!(v["centre"], "金辉社区通信服务中心");
    assert_eq!(v["desks"][0]["reply_number"], "88217901");
    let missing = ok.fails(&["--config", "nope.toml", "check-config"], 78);
    assert!(missing.contains("nope.toml"), "{missing}");
}

#[test]
fn a_misspelt_placeholder_is_refused_in_every_template() {
    // (key, text at the start of the key's line, the same misspelt)
    let cases = [
        (
            "work_order_room.ack_subject",
            "ack_subject = \"{centre}",
            "ack_subject = \"{cnetre}",
        ),
        (
            "work_order_room.ack_body",
            "ack_body = \"{centre}",
            "ack_body = \"{cuont}",
        ),
        (
            "callbacks.script",
            "\nscript = \"你好",
            "\nscript = \"{bulding}",
        ),
        (
            "work_order_room.callback_script",
            "callback_script = \"你好",
            "callback_script = \"{bulding}",
        ),
        (
            "work_order_room.return_body",
            "return_body = \"{centre}",
            "return_body = \"{ordres}",
        ),
        ("callbacks.closing", "closing = \"", "closing = \"{centr}"),
        (
            "fax.ticket_fault",
            "ticket_fault = \"",
            "ticket_fault = \"{nmae}",
        ),
        (
            "mail.templates.repair_confirmation.subject",
            "subject = \"故障已修复",
            "subject = \"{tickt}",
        ),
        (
            "mail.templates.repair_confirmation.body",
            "body = \"\"\"\n{desk}",
            "body = \"\"\"\n{dsek}",
        ),
        (
            "mail.templates.callback_escalation.subject",
            "subject = \"回访无人接听",
            "subject = \"{phnoe}",
        ),
        (
            "mail.templates.callback_escalation.body",
            "body = \"\"\"\n经理：\n\n回访",
            "body = \"\"\"\n{attemps}经理：\n\n回访",
        ),
        (
            "mail.templates.sla_breach.subject",
            "subject = \"故障超时未修复",
            "subject = \"{deu}",
        ),
        (
            "mail.templates.sla_breach.body",
            "body = \"\"\"\n经理：\n\n工单",
            "body = \"\"\"\n{stat}经理：\n\n工单",
        ),
    ];
    let default = support::default_config();
    for (key, from, to) in cases {
        let at = default.find(from).unwrap_or_else(|| panic!("{from}"));
        // A text starting with its line's newline stands on the next line.
        let line = default[..at].matches('\n').count() + 1 + usize::from(from.starts_with('\n'));
        let site = Site::new(&[(from, to)]);
        let err = site.fails(&["check-config"], 78);
        assert!(
            err.starts_with(&format!(
                "faultdesk: config (config/faultdesk.toml, line {line}, key `{key}`): unknown placeholder"
            )),
            "{key}: {err}"
        );
    }
}

#[test]
fn the_daemon_starts_and_stops_on_sigterm() {
    let site = Site::new(&[
        ("enabled = true\nudp", "enabled = false\nudp"),
        ("[fax]\nenabled = true", "[fax]\nenabled = false"),
    ]);
    // Ready means it created its database and every component started.
    let daemon = Daemon::start(&site, &[]);
    assert!(site.file("var/faultdesk.db").exists());
    let status = site.status().expect("status of the running daemon");
    assert_eq!(status["daemon.pid"], daemon.pid().to_string().as_str());
    let log = daemon.stop();
    assert!(log.contains("faultdesk ready"), "{log}");
    assert!(log.contains("faultdesk stopped"), "{log}");
}

#[test]
fn the_first_user_is_a_manager_and_only_managers_add_users() {
    let site = Site::new(&[]);
    site.ok(&["init"]);
    // Nobody yet: no acting person to name, and the first must be a manager.
    let e = site.fails(&["user", "add", "li", "--role", "agent"], 2);
    assert!(e.contains("--first"), "{e}");
    let e = site.fails(&["user", "add", "li", "--role", "agent", "--first"], 1);
    assert!(e.contains("the first user must be a manager"), "{e}");
    site.ok(&["user", "add", "wang", "--role", "manager", "--first"]);
    // Only once.
    let e = site.fails(&["user", "add", "zhao", "--role", "manager", "--first"], 1);
    assert!(e.contains("there are users already"), "{e}");
    // A manager adds; an agent does not.
    site.ok(&["-u", "wang", "user", "add", "li", "--role", "agent"]);
    let e = site.fails(&["-u", "li", "user", "add", "zhao", "--role", "agent"], 1);
    assert!(e.contains("only a manager adds users (li is agent)"), "{e}");
    let e = site.fails(
        &["-u", "nobody", "user", "add", "zhao", "--role", "agent"],
        1,
    );
    assert!(e.contains("nobody"), "{e}");
    let users = site.json(&["user", "list"]);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["li", "wang"]);
    // The audit names who added whom.
    let db = site.db();
    let mut st = db
        .prepare("SELECT actor, object, detail FROM audit WHERE action = 'user.add' ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (
                "wang".into(),
                "wang".into(),
                "manager (the first user)".into()
            ),
            ("wang".into(), "li".into(), "agent".into()),
        ]
    );
}

#[test]
fn customer_listings_need_a_person_and_are_audited() {
    let site = Site::initialised(&[]);
    let listings: [&[&str]; 4] = [
        &["ticket", "list"],
        &["call", "list"],
        &["callbacks", "list"],
        &["outbox"],
    ];
    let audit_rows = |site: &Site| -> Vec<(String, String)> {
        let db = site.db();
        let mut st = db
            .prepare("SELECT actor, action FROM audit WHERE action LIKE '%.list' ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for args in listings {
        let e = site.fails(args, 2);
        assert!(e.contains("--user"), "{args:?}: {e}");
    }
    assert!(
        audit_rows(&site).is_empty(),
        "a refused look writes nothing"
    );
    for args in listings {
        let mut a = vec!["-u", "li"];
        a.extend_from_slice(args);
        site.json(&a);
    }
    let who = |a: &str| ("li".to_string(), a.to_string());
    assert_eq!(
        audit_rows(&site),
        [
            who("ticket.list"),
            who("call.list"),
            who("callbacks.list"),
            who("outbox.list")
        ]
    );
}
