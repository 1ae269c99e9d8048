//! The manager's month: the scorecard of a generated month with known
//! answers (CLI table and JSON, the XLSX read back with calamine), the
//! report page refused to an agent and shown to the manager with its SVG
//! charts, the same page in a real browser (screenshot), and the
//! complaints register with its follow-up callback.

use std::io::Read;

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use rusqlite::params;
use serde_json::Value;

use crate::browser::{browser, driver, login, shot, wait_text};
use crate::support::{CALLING_ALL_DAY, Site};
use crate::web::{agent, staffed, start};

/// Xi'an local time in November 2026.
fn nov(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(2026, 11, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Writes a month whose every figure is known:
/// - calls: li answers 37 within 15 s (one at exactly 15.000 s) and 20
///   later, zhang 13 later; 25 callers hang up after ringing more than 5 s,
///   5 time out, 4 hang up within 5 s; two calls just outside the month;
/// - tickets: li accepts 20 faults (tag X: 15 repaired in time, 5 late, the
///   worst 8 h late), one of them amended with a corrected address, one more
///   voided as 录入错误 and one as 误拨; zhang accepts 10 (tag D180: 8 in
///   time, 2 still unrepaired and overdue);
/// - callbacks: li makes 13 (10 passed on their day, 2 passed a day late,
///   1 failed on its day) with satisfaction 8 满意, 3 基本满意, 1 不满意;
///   zhang makes 4 on D180 faults, confirmed to the desk 3 within the hour
///   and 1 after 30 hours, and calls a missed caller back after 30 minutes;
/// - complaints: li 1 about attitude (open) and 1 about quality found not
///   the staff's fault; zhang 1 about facilities found the staff's fault.
fn generate_november(site: &Site) {
    let db = site.db();
    let call = |n: usize,
                id: &str,
                at: DateTime<Utc>,
                ring: i64,
                outcome: &str,
                who: Option<&str>| {
        db.execute(
            "INSERT INTO calls (call_id, caller, callee, transport, peer, invited_at, ended_at, ring_ms, outcome, claimed_by)
             VALUES (?1, '13900000001', '88833114', 'udp', '127.0.0.1:5062', ?2, ?3, ?4, ?5, ?6)",
            params![format!("{id}-{n}"), ms(at), ms(at) + ring, ring, outcome, who],
        )
        .unwrap();
    };
    for i in 0..37 {
        let ring = if i == 0 { 15_000 } else { 10_000 };
        // li's in-time answers sum 36 × 10 s + 15 s = 375 s.
        call(
            i,
            "li-fast",
            nov(1 + (i as u32 % 28), 10, 0),
            ring,
            "answered-elsewhere",
            Some("li"),
        );
    }
    for i in 0..20 {
        let ring = if i == 0 { 15_001 } else { 20_000 };
        call(
            i,
            "li-slow",
            nov(2, 11, i as u32),
            ring,
            "answered-elsewhere",
            Some("li"),
        );
    }
    for i in 0..13 {
        call(
            i,
            "zhang",
            nov(3, 9, i as u32),
            25_000,
            "answered-elsewhere",
            Some("zhang"),
        );
    }
    for i in 0..25 {
        call(
            i,
            "gone",
            nov(4, 9, i as u32),
            5_000 + 1 + i as i64 * 1000,
            "abandoned",
            None,
        );
    }
    for i in 0..5 {
        call(i, "timeout", nov(5, 9, i as u32), 60_000, "timed-out", None);
    }
    for i in 0..4 {
        call(i, "short", nov(6, 9, i as u32), 4_999, "abandoned", None);
    }
    // Just outside the month, local time: not counted.
    call(
        0,
        "october",
        nov(1, 0, 0) - Duration::seconds(1),
        3_000,
        "answered-elsewhere",
        Some("li"),
    );
    call(
        0,
        "december",
        nov(30, 23, 59) + Duration::seconds(60),
        3_000,
        "answered-elsewhere",
        Some("li"),
    );

    let ticket = |number: &str,
                  tag: &str,
                  origin: &str,
                  state: &str,
                  agent: &str,
                  reported: DateTime<Utc>,
                  repaired: Option<DateTime<Utc>>,
                  satisfaction: Option<&str>|
     -> i64 {
        db.execute(
            "INSERT INTO tickets (number, tag, origin, state, source, accepting_agent, reported_at, due_at, repaired_at, satisfaction, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'phone', ?5, ?6, ?7, ?8, ?9, ?6)",
            params![number, tag, origin, state, agent, ms(reported), ms(reported + Duration::hours(12)), repaired.map(ms), satisfaction],
        )
        .unwrap();
        db.last_insert_rowid()
    };
    let event = |id: i64, at: DateTime<Utc>, kind: &str, detail: &str| {
        db.execute(
            "INSERT INTO ticket_events (ticket_id, at, actor, kind, detail) VALUES (?1, ?2, 'li', ?3, ?4)",
            params![id, ms(at), kind, detail],
        )
        .unwrap();
    };
    let callback = |ticket: Option<i64>,
                    kind: &str,
                    state: &str,
                    outcome: &str,
                    actor: &str,
                    due: DateTime<Utc>,
                    done: DateTime<Utc>,
                    created: DateTime<Utc>|
     -> i64 {
        db.execute(
            "INSERT INTO callbacks (kind, ticket_id, state, due_at, attempts, outcome, actor, last_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?7)",
            params![kind, ticket, state, ms(due), outcome, actor, ms(done), ms(created)],
        )
        .unwrap();
        db.last_insert_rowid()
    };
    let words = ["满意"; 8]
        .into_iter()
        .chain(["基本满意"; 3])
        .chain(["不满意"]);
    let mut words = words.map(Some).chain(std::iter::repeat(None));
    for i in 0..20u32 {
        let reported = nov(7 + i / 4, 8 + i % 4, 0);
        let late = match i {
            15 => Some(8),
            16..=19 => Some(2),
            _ => None,
        };
        let repaired = reported + Duration::hours(late.map_or(6, |h| 12 + h));
        let satisfied = if i < 13 { words.next().flatten() } else { None };
        let id = ticket(
            &format!("X-{i:03}"),
            "X",
            "estate",
            "closed",
            "li",
            reported,
            Some(repaired),
            satisfied,
        );
        event(id, reported, "reported", "{}");
        if i == 3 {
            event(
                id,
                reported + Duration::minutes(5),
                "amended",
                r#"{"address":"馨苑1#-2-503","corrected":["address"]}"#,
            );
        }
        if i == 4 {
            // Filled in, not corrected.
            event(
                id,
                reported + Duration::minutes(5),
                "amended",
                r#"{"remarks":"光猫"}"#,
            );
        }
        if i < 13 {
            let due = repaired + Duration::minutes(30);
            let (state, outcome, done) = match i {
                10 | 11 => ("passed", "passed", due + Duration::days(1)),
                12 => ("failed", "failed", due + Duration::hours(1)),
                _ => ("passed", "passed", due + Duration::minutes(10)),
            };
            callback(
                Some(id),
                "post_repair",
                state,
                outcome,
                "li",
                due,
                done,
                repaired,
            );
        }
    }
    let v1 = ticket(
        "X-900",
        "X",
        "estate",
        "voided",
        "li",
        nov(20, 9, 0),
        None,
        None,
    );
    event(
        v1,
        nov(20, 9, 5),
        "void",
        r#"{"note":"地址录入错误,已重新登记"}"#,
    );
    let v2 = ticket(
        "X-901",
        "X",
        "estate",
        "voided",
        "li",
        nov(20, 9, 10),
        None,
        None,
    );
    event(v2, nov(20, 9, 15), "void", r#"{"note":"误拨"}"#);
    for i in 0..10u32 {
        let reported = nov(21, 8 + i, 0);
        let repaired = (i < 8).then(|| reported + Duration::hours(3));
        let state = if i < 8 { "closed" } else { "dispatched" };
        let id = ticket(
            &format!("D180-{i:03}"),
            "D180",
            "desk",
            state,
            "zhang",
            reported,
            repaired,
            None,
        );
        if i < 4 {
            let due = reported + Duration::hours(4);
            let done = due + Duration::minutes(5);
            callback(
                Some(id),
                "post_repair",
                "passed",
                "passed",
                "zhang",
                due,
                done,
                reported,
            );
            let sent = done
                + if i < 3 {
                    Duration::minutes(50)
                } else {
                    Duration::hours(30)
                };
            db.execute(
                "INSERT INTO outbox (message_id, purpose, ticket_id, recipient, subject, body, state, attempts, created_at, sent_at)
                 VALUES (?1, 'repair_confirmation', ?2, 'desk@localhost', 's', 'b', 'sent', 1, ?3, ?4)",
                params![format!("<c{i}@x>"), id, ms(done), ms(sent)],
            )
            .unwrap();
        }
    }
    callback(
        None,
        "missed_call",
        "resolved",
        "reached",
        "zhang",
        nov(22, 10, 0),
        nov(22, 10, 30),
        nov(22, 10, 0),
    );
    let complaint = |staff: &str, category: &str, state: &str, finding: Option<&str>| {
        db.execute(
            "INSERT INTO complaints (channel, category, state, customer, what, staff, measure, promised_at, finding, recorded_by, received_at, updated_at)
             VALUES ('phone', ?1, ?2, '王先生', '态度', ?3, '致歉', ?4, ?5, 'wang', ?4, ?4)",
            params![category, state, staff, ms(nov(23, 10, 0)), finding],
        )
        .unwrap();
    };
    complaint("li", "attitude", "open", None);
    complaint("li", "quality", "closed", Some("not_staff"));
    complaint("zhang", "facilities", "closed", Some("staff_at_fault"));
}

fn approx(v: &Value, want: f64, what: &str) {
    let got = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "{what}: {got} ≠ {want}");
}

fn agent_of<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

#[test]
fn the_scorecard_of_a_generated_month_has_known_answers() {
    let site = staffed(&[]);
    generate_november(&site);
    for (item, score) in [
        ("attendance", "100"),
        ("learning", "80"),
        ("spot_check", "90"),
    ] {
        site.ok(&[
            "-u", "wang", "report", "enter", "--month", "2026-11", "--agent", "li", "--item", item,
            "--score", score,
        ]);
    }
    let err = site.fails(
        &[
            "-u", "wang", "report", "enter", "--month", "2026-11", "--agent", "li", "--item",
            "learning", "--score", "101",
        ],
        1,
    );
    assert!(err.contains("score"), "{err}");
    let json = site.ok(&[
        "-u", "wang", "report", "kpi", "--month", "2026-11", "--format", "json",
    ]);
    let r: Value = serde_json::from_str(&json).unwrap();

    // The centre: 100 offered, 37 within 15 s → exactly 37 %.
    let c = &r["centre_counts"];
    assert_eq!(c["offered"], 100);
    assert_eq!(c["answered"], 70);
    assert_eq!(c["answered_in_time"], 37);
    assert_eq!(c["abandoned"], 30);
    assert_eq!(c["abandoned_short"], 4);
    let f = &r["centre_figures"];
    approx(&f["service_level"], 0.37, "service level");
    approx(&f["abandon_rate"], 0.30, "abandon rate");
    let ring_total = 36.0 * 10.0 + 15.0 + 15.001 + 19.0 * 20.0 + 13.0 * 25.0;
    approx(&f["asa_secs"], ring_total / 70.0, "ASA");
    approx(
        &f["missed_callback_minutes"],
        30.0,
        "missed call called back",
    );

    let li = agent_of(&r, "li");
    assert_eq!(li["counts"]["answered"], 57);
    assert_eq!(li["counts"]["answered_in_time"], 37);
    approx(
        &li["figures"]["in_time_of_answered"],
        37.0 / 57.0,
        "li in time",
    );
    // 20 faults and the ticket voided as mis-entered; 2 corrections.
    assert_eq!(li["counts"]["faults_entered"], 21);
    assert_eq!(li["counts"]["entries_corrected"], 2);
    approx(&li["figures"]["entry_accuracy"], 19.0 / 21.0, "li accuracy");
    assert_eq!(li["counts"]["callbacks_done"], 13);
    assert_eq!(li["counts"]["callbacks_on_due_day"], 11);
    assert_eq!(li["counts"]["callbacks_late"], 2);
    assert_eq!(li["counts"]["callbacks_failed"], 1);
    assert_eq!(li["counts"]["satisfaction"], serde_json::json!([8, 3, 1]));
    let sat = (8.0 * 100.0 + 3.0 * 60.0) / 12.0;
    approx(&li["figures"]["satisfaction_score"], sat, "li satisfaction");
    assert_eq!(li["counts"]["complaints"], serde_json::json!([0, 1, 1, 0]));
    assert_eq!(
        li["counts"]["complaints_counted"],
        serde_json::json!([0, 1, 0, 0])
    );

    let zhang = agent_of(&r, "zhang");
    approx(
        &zhang["figures"]["in_time_of_answered"],
        0.0,
        "zhang in time",
    );
    approx(&zhang["figures"]["asa_secs"], 25.0, "zhang ASA");
    assert_eq!(zhang["counts"]["desk_confirmations"], 4);
    assert_eq!(zhang["counts"]["desk_in_time"], 3);
    approx(
        &zhang["figures"]["desk_in_time"],
        0.75,
        "zhang desk replies",
    );
    approx(&zhang["figures"]["entry_accuracy"], 1.0, "zhang accuracy");
    assert_eq!(
        zhang["counts"]["complaints_counted"],
        serde_json::json!([1, 0, 0, 0])
    );

    // Promises per tag.
    let tags = r["promises"].as_array().unwrap();
    let x = tags.iter().find(|p| p["tag"] == "X").unwrap();
    assert_eq!(
        (x["kept"].as_u64(), x["broken"].as_u64()),
        (Some(15), Some(5))
    );
    assert_eq!(x["worst_delay_ms"], 8 * 3_600_000);
    let d = tags.iter().find(|p| p["tag"] == "D180").unwrap();
    assert_eq!(
        (d["kept"].as_u64(), d["broken"].as_u64()),
        (Some(8), Some(2))
    );

    // li's six parts and total, from the counts above.
    let parts = [
        100.0,
        100.0,
        sat,
        (37.0 / 57.0 * 100.0 + 19.0 / 21.0 * 100.0) / 2.0,
        (19.0 / 21.0 * 100.0 + 11.0 / 13.0 * 100.0) / 2.0,
        (50.0 + 80.0 + 90.0) / 3.0,
    ];
    let weights = [10.0, 20.0, 20.0, 20.0, 10.0, 20.0];
    for (i, want) in parts.iter().enumerate() {
        approx(
            &li["scorecard"]["parts"][i]["score"],
            *want,
            &format!("li part {i}"),
        );
    }
    let total: f64 = parts.iter().zip(weights).map(|(p, w)| p * w / 100.0).sum();
    approx(&li["scorecard"]["total"], total, "li total");
    // zhang has no manual entries and no rated callback: those parts are missing, named.
    assert_eq!(
        zhang["scorecard"]["missing"],
        serde_json::json!(["attendance", "service_quality"])
    );
    approx(
        &zhang["scorecard"]["parts"][3]["score"],
        50.0,
        "zhang ability",
    );
    approx(
        &r["team"]["total"],
        (total + zhang["scorecard"]["total"].as_f64().unwrap()) / 2.0,
        "team total",
    );
    // Daily calls: the 1st holds two of li's fast calls and nothing of October.
    assert_eq!(r["daily_calls"].as_array().unwrap().len(), 30);
    assert_eq!(r["daily_calls"][0][1], 2);
    let per_day: u64 = r["daily_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[1].as_u64().unwrap())
        .sum();
    assert_eq!(per_day, 104);

    // The answer-time chart's bars up to 15 s hold exactly the calls answered in time.
    let in_time: u64 = r["answer_bars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["in_time"] == true)
        .map(|b| b["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(in_time, 37);

    // The table prints the same figures; one agent only, beside the team average.
    let table = site.ok(&["-u", "wang", "report", "kpi", "--month", "2026-11"]);
    assert!(
        table.contains("37.0%") && table.contains("30.0%"),
        "{table}"
    );
    let one = site.ok(&[
        "-u", "wang", "report", "kpi", "--month", "2026-11", "--agent", "li",
    ]);
    assert!(
        one.contains("李娜") && !one.contains("张敏") && one.contains("团队平均"),
        "{one}"
    );

    // CSV: every table, each with its header.
    let out = site.file("csv");
    let listed = site.ok(&[
        "-u",
        "wang",
        "report",
        "kpi",
        "--month",
        "2026-11",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(listed.lines().count(), 12, "{listed}");
    let centre = std::fs::read_to_string(out.join("kpi-2026-11-centre_calls.csv")).unwrap();
    assert_eq!(
        centre.lines().nth(1).unwrap().split(',').nth(5),
        Some("37.0%"),
        "{centre}"
    );

    // XLSX: read back with calamine; numbers are numbers.
    let path = site.file("kpi.xlsx");
    site.ok(&[
        "-u",
        "wang",
        "report",
        "kpi",
        "--month",
        "2026-11",
        "--format",
        "xlsx",
        "--out",
        path.to_str().unwrap(),
    ]);
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names().len(), 12, "{:?}", wb.sheet_names());
    let calls = wb.worksheet_range("中心话务").unwrap();
    assert_eq!(calls.get((0, 5)), Some(&Data::String("服务水平".into())));
    assert_eq!(calls.get((1, 0)), Some(&Data::Float(100.0)));
    assert_eq!(calls.get((1, 5)), Some(&Data::Float(0.37)));
    let card = wb.worksheet_range("考核总分").unwrap();
    let li_row = (0..card.height())
        .find(|&i| card.get((i, 0)) == Some(&Data::String("李娜".into())))
        .unwrap();
    match card.get((li_row, 7)) {
        Some(Data::Float(t)) => assert!((t - total).abs() < 1e-9, "{t}"),
        other => panic!("li's total: {other:?}"),
    }
    let daily = wb.worksheet_range("每日来电").unwrap();
    assert_eq!(daily.get((1, 1)), Some(&Data::Float(2.0)));
    // Native charts are parts of the package.
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let charts = (1..=4)
        .filter(|i| {
            let name = format!("xl/charts/chart{i}.xml");
            bytes.windows(name.len()).any(|w| w == name.as_bytes())
        })
        .count();
    assert_eq!(
        charts, 4,
        "a chart for scorecard, promises, daily calls, answer times"
    );

    // An agent is refused the report; the look of the manager is audited.
    let err = site.fails(&["-u", "li", "report", "kpi", "--month", "2026-11"], 1);
    assert!(err.contains("li is agent"), "{err}");
    let audited: i64 = site
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'report.kpi' AND actor = 'wang'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 5);
}

/// The complaint's follow-up check is a callback the scheduler's lists know;
/// the steps are refused out of order; the closed complaint counts.
#[test]
fn a_complaint_is_registered_checked_through_its_callback_and_closed() {
    let site = staffed(&[CALLING_ALL_DAY[0], CALLING_ALL_DAY[1]]);
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&Shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let promised = local(Utc::now() + Duration::hours(2));
    let c = site.json(&[
        "-u",
        "li",
        "complaint",
        "add",
        "--category",
        "attitude",
        "--customer",
        "王先生",
        "--phone",
        "139 1234 5678",
        "--what",
        "接电话时态度生硬",
        "--staff",
        "li",
        "--measure",
        "经理回电致歉",
        "--promised",
        &promised,
    ]);
    let id = c["id"].as_i64().unwrap().to_string();
    assert_eq!(c["state"], "open");
    assert_eq!(c["phone"], "13912345678");
    let cb = c["callback_id"].as_i64().unwrap();
    let list = site.json(&["-u", "wang", "callbacks", "list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == cb)
        .unwrap_or_else(|| panic!("callback {cb} not listed: {list}"));
    assert_eq!(row["kind"], "complaint");
    assert_eq!(row["state"], "pending");
    assert_eq!(
        local(row["due_at"].as_str().unwrap().parse().unwrap()),
        promised
    );
    // Recorded as the complaint's check, not as a missed call.
    let err = site.fails(
        &[
            "-u",
            "li",
            "callbacks",
            "done",
            &cb.to_string(),
            "--result",
            "reached",
        ],
        1,
    );
    assert!(err.contains(&format!("complaint check {id} ")), "{err}");
    // Closing before the check is refused; bad input names the field.
    let err = site.fails(
        &[
            "-u",
            "wang",
            "complaint",
            "close",
            &id,
            "--finding",
            "staff_at_fault",
            "--outcome",
            "已致歉",
        ],
        1,
    );
    assert!(err.contains("only a checked complaint"), "{err}");
    let err = site.fails(
        &[
            "-u",
            "li",
            "complaint",
            "add",
            "--category",
            "quality",
            "--customer",
            " ",
            "--what",
            "慢",
            "--measure",
            "加快",
            "--promised",
            &promised,
        ],
        1,
    );
    assert!(err.contains("customer"), "{err}");
    let err = site.fails(
        &[
            "-u",
            "li",
            "complaint",
            "add",
            "--category",
            "quality",
            "--customer",
            "赵",
            "--what",
            "慢",
            "--measure",
            "加快",
            "--promised",
            "明天",
        ],
        2,
    );
    assert!(err.contains("--promised"), "{err}");

    // A check promised for now is due now, among the day's callbacks with its kind.
    let now_minute = local(Utc::now());
    let c2 = site.json(&[
        "-u",
        "li",
        "complaint",
        "add",
        "--category",
        "quality",
        "--customer",
        "赵女士",
        "--what",
        "等待太久",
        "--measure",
        "当面说明",
        "--promised",
        &now_minute,
    ]);
    let due = site.json(&["-u", "li", "callbacks", "due"]);
    assert!(
        due.as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == c2["callback_id"] && d["kind"] == "complaint"),
        "{due}"
    );
    let err = site.fails(
        &[
            "-u",
            "li",
            "complaint",
            "add",
            "--category",
            "quality",
            "--customer",
            "赵",
            "--what",
            "慢",
            "--measure",
            "加快",
            "--promised",
            &local(Utc::now() - Duration::hours(1)),
        ],
        1,
    );
    assert!(err.contains("before now"), "{err}");

    // Nobody answers: the callback is tried again later, the complaint stays open.
    let c = site.json(&[
        "-u",
        "li",
        "complaint",
        "check",
        &id,
        "--result",
        "no_answer",
    ]);
    assert_eq!(c["state"], "open");
    let attempts: i64 = site
        .db()
        .query_row("SELECT attempts FROM callbacks WHERE id = ?1", [cb], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(attempts, 1);
    // Not solved: a new measure and time, a new callback.
    let later = local(Utc::now() + Duration::hours(5));
    let err = site.fails(
        &["-u", "li", "complaint", "check", &id, "--result", "failed"],
        1,
    );
    assert!(err.contains("new time"), "{err}");
    let c = site.json(&[
        "-u",
        "li",
        "complaint",
        "check",
        &id,
        "--result",
        "failed",
        "--measure",
        "更换光猫",
        "--promised",
        &later,
    ]);
    let cb2 = c["callback_id"].as_i64().unwrap();
    assert_ne!(cb2, cb);
    let states: Vec<String> = site
        .db()
        .prepare(
            "SELECT state FROM callbacks WHERE kind = 'complaint' AND id IN (?1, ?2) ORDER BY id",
        )
        .unwrap()
        .query_map([cb, cb2], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(states, ["failed", "pending"]);
    // Solved; an agent may not close it, the manager does.
    let c = site.json(&[
        "-u",
        "li",
        "complaint",
        "check",
        &id,
        "--result",
        "passed",
        "--note",
        "客户满意",
    ]);
    assert_eq!(c["state"], "checked");
    let err = site.fails(
        &[
            "-u",
            "li",
            "complaint",
            "close",
            &id,
            "--finding",
            "staff_at_fault",
            "--outcome",
            "已致歉",
        ],
        1,
    );
    assert!(err.contains("li is agent"), "{err}");
    let c = site.json(&[
        "-u",
        "wang",
        "complaint",
        "close",
        &id,
        "--finding",
        "staff_at_fault",
        "--outcome",
        "已致歉,扣当月绩效",
    ]);
    assert_eq!(c["state"], "closed");
    assert_eq!(c["finding"], "staff_at_fault");

    // zhang sees none of it; the manager sees it; both looks are audited.
    assert_eq!(
        site.json(&["-u", "zhang", "complaint", "list"]),
        serde_json::json!([])
    );
    assert_eq!(
        site.json(&["-u", "wang", "complaint", "list"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let looks: i64 = site
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'complaint.list'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(looks, 2);
    // Every change is in the audit log under its person; refused ones are not.
    let steps: Vec<(String, String, i64)> = site
        .db()
        .prepare(
            "SELECT action, actor, count(*) FROM audit WHERE action LIKE 'complaint.%'
             AND action <> 'complaint.list' GROUP BY 1, 2 ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want = [
        ("complaint.add", "li", 2),
        ("complaint.check", "li", 3),
        ("complaint.close", "wang", 1),
    ];
    let got: Vec<(&str, &str, i64)> = steps
        .iter()
        .map(|(a, b, n)| (a.as_str(), b.as_str(), *n))
        .collect();
    assert_eq!(got, want);

    // The month's scorecard counts the complaint and the check callbacks.
    let month = Utc::now()
        .with_timezone(&Shanghai)
        .format("%Y-%m")
        .to_string();
    let r: Value = serde_json::from_str(&site.ok(&[
        "-u", "wang", "report", "kpi", "--month", &month, "--format", "json",
    ]))
    .unwrap();
    let li = agent_of(&r, "li");
    assert_eq!(
        li["counts"]["complaints_counted"],
        serde_json::json!([0, 1, 0, 0])
    );
    assert_eq!(
        li["counts"]["callbacks_done"], 2,
        "the failed and the passed check"
    );
    assert_eq!(li["scorecard"]["parts"][5]["score"], 50.0);

    // An address corrected after the ticket was opened lowers the accuracy;
    // one filled in does not.
    let t = site.new_ticket(&["--phone", "68691234", "--fault", "不能上网"]);
    site.ticket(&["amend", &t, "--remarks", "光猫红灯"]);
    site.ticket(&["amend", &t, "--address", "馨苑1#-2-503"]);
    let r: Value = serde_json::from_str(&site.ok(&[
        "-u", "wang", "report", "kpi", "--month", &month, "--format", "json",
    ]))
    .unwrap();
    let li = agent_of(&r, "li");
    assert_eq!(li["counts"]["faults_entered"], 1);
    assert_eq!(li["counts"]["entries_corrected"], 1);
}

#[test]
fn the_report_page_is_the_managers_and_complaints_are_added_in_the_console() {
    // The complaint's check promised for now is due now, whatever the hour.
    let site = staffed(&CALLING_ALL_DAY);
    generate_november(&site);
    let d = start(&site);
    let li = agent(&d, "li");
    let wang = agent(&d, "wang");
    assert_eq!(li.get("/reports?month=2026-11").status, 403);
    assert_eq!(li.get("/reports/kpi.xlsx?month=2026-11").status, 403);
    assert_eq!(
        li.post(
            "/api/reports/manual",
            r#"{"month":"2026-11","agent":"li","item":"attendance","score":"100"}"#
        )
        .status,
        403
    );
    let page = wang.get("/reports?month=2026-11");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("客服绩效考核") && page.body.contains("37.0%"));
    assert_eq!(
        page.body.matches("<svg").count(),
        3,
        "three charts drawn by the server"
    );
    assert!(
        !page.body.contains("<script src=\"http"),
        "no chart library from outside"
    );
    let bad = wang.get("/reports?month=2026-13");
    assert!(bad.body.contains("月份"), "{}", bad.body);
    let x = wang.get("/reports/kpi.xlsx?month=2026-11");
    assert_eq!(x.status, 200);
    assert!(x.header("content-type").unwrap().contains("spreadsheetml"));
    let csv = wang.get("/reports/kpi.csv?month=2026-11&table=centre_calls");
    assert!(csv.body.contains("37.0%"), "{}", csv.body);
    let r = wang.post(
        "/api/reports/manual",
        r#"{"month":"2026-11","agent":"li","item":"attendance","score":"120"}"#,
    );
    assert_eq!((r.status, r.json()["field"].as_str()), (422, Some("分数")));
    let r = wang.post(
        "/api/reports/manual",
        r#"{"month":"2026-11","agent":"li","item":"attendance","score":"95"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let score: f64 = site
        .db()
        .query_row(
            "SELECT score FROM kpi_manual WHERE agent = 'li' AND item = 'attendance'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(score, 95.0);

    // Complaints: an agent adds one (bad input named in Chinese, nothing kept).
    let promised = (Utc::now() + Duration::hours(3))
        .with_timezone(&Shanghai)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let r = li.post(
        "/api/complaints",
        &format!(r#"{{"channel":"in_person","category":"facilities","customer":"","what":"门口太滑","measure":"放防滑垫","promised":"{promised}"}}"#),
    );
    assert_eq!((r.status, r.json()["field"].as_str()), (422, Some("客户")));
    let r = li.post(
        "/api/complaints",
        &format!(r#"{{"channel":"in_person","category":"incident","customer":"刘女士","what":"门口太滑摔倒","staff":"","measure":"放防滑垫","promised":"{promised}"}}"#),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let id = r.json()["id"].as_i64().unwrap();
    let page = li.get("/complaints");
    assert!(page.body.contains("门口太滑摔倒") && page.body.contains("异常事件"));
    // The agent records the check; only the manager closes.
    let r = li.post(
        &format!("/api/complaints/{id}/check"),
        r#"{"result":"passed"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = li.post(
        &format!("/api/complaints/{id}/close"),
        r#"{"finding":"not_staff","outcome":"已处理"}"#,
    );
    assert_eq!(r.status, 403);
    let r = wang.post(
        &format!("/api/complaints/{id}/close"),
        r#"{"finding":"not_staff","outcome":"已放防滑垫"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(wang.get("/complaints").body.contains("非员工责任"));
    // A check promised for now is on the 回访 page, leading to the 投诉 page.
    let now = Utc::now()
        .with_timezone(&Shanghai)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let r = li.post(
        "/api/complaints",
        &format!(r#"{{"channel":"phone","category":"quality","customer":"钱先生","what":"等了很久","measure":"说明原因","promised":"{now}"}}"#),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let page = li.get("/callbacks");
    assert!(
        page.body.contains("投诉回访") && page.body.contains("到 投诉 页记录检查落实"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scorecard_page_in_a_real_browser() {
    let site = staffed(&[]);
    generate_november(&site);
    for (item, score) in [
        ("attendance", "100"),
        ("learning", "80"),
        ("spot_check", "90"),
    ] {
        site.ok(&[
            "-u", "wang", "report", "enter", "--month", "2026-11", "--agent", "li", "--item", item,
            "--score", score,
        ]);
    }
    let d = start(&site);
    let drv = driver();
    let wang = browser(&drv).await;
    login(&wang, &d, "wang").await;
    wang.goto(&format!("http://127.0.0.1:{}/reports?month=2026-11", d.web))
        .await
        .unwrap();
    let card = wait_text(&wang, "#t-scorecard", "李娜").await;
    assert!(card.contains("团队平均"), "{card}");
    wait_text(&wang, "#t-centre_calls", "37.0%").await;
    shot(&wang, "20-reports").await;
    // The charts, drawn by the server: three SVGs, no script drew them.
    let svgs = wang
        .execute(
            "return document.querySelectorAll('.charts svg').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(svgs, serde_json::json!(3));
    wang.execute("document.querySelector('.charts').scrollIntoView()", vec![])
        .await
        .unwrap();
    shot(&wang, "20-reports-charts").await;
    wang.goto(&format!("http://127.0.0.1:{}/complaints", d.web))
        .await
        .unwrap();
    wait_text(&wang, "main", "投诉登记簿").await;
    shot(&wang, "21-complaints").await;
    let _ = wang.close().await;
}
