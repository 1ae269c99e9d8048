//! Fills an initialised store with a year of the centre's data for the
//! scorecard benchmark (`scripts/bench-kpi.sh`): by default 1,000,000 calls
//! and 200,000 tickets over 2026 (the centre's local year), with their
//! events, callbacks, desk confirmations, complaints and the manager's
//! entries, from a fixed seed so every run holds the same rows.
//!
//! Run: `cargo run --release --example kpi_year -- DB [CALLS] [TICKETS]`
//! after `faultdesk init` made DB (the schema comes from the migrations).

use chrono::TimeZone;
use rusqlite::{Connection, params};

const AGENTS: usize = 10;
const TAGS: [(&str, &str); 5] = [
    ("X", "estate"),
    ("Q", "estate"),
    ("R", "estate"),
    ("D180", "desk"),
    ("DC", "desk"),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let db = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: kpi_year DB [CALLS] [TICKETS]"))?;
    let calls: i64 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let tickets: i64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mut c = Connection::open(db)?;
    c.pragma_update(None, "synchronous", "OFF")?;
    c.pragma_update(None, "cache_size", -262_144)?;
    let start = chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("the year's start"))?
        .timestamp_millis();
    let span: i64 = 365 * 86_400_000;
    let mut rng = fastrand::Rng::with_seed(13);
    let agent = |i: usize| format!("a{:02}", i + 1);
    let tx = c.transaction()?;
    let now = start + span;
    tx.execute(
        "INSERT OR IGNORE INTO users (name, display, role, active, created_at) VALUES ('wang', '王经理', 'manager', 1, ?1)",
        [start],
    )?;
    for i in 0..AGENTS {
        tx.execute(
            "INSERT OR IGNORE INTO users (name, display, role, active, created_at) VALUES (?1, ?2, 'agent', 1, ?3)",
            params![agent(i), format!("客服{}", i + 1), start],
        )?;
    }
    {
        let mut st = tx.prepare(
            "INSERT INTO calls (call_id, caller, callee, transport, peer, invited_at, ended_at, ring_ms, outcome, claimed_by, claimed_at)
             VALUES (?1, ?2, '88833114', 'udp', '127.0.0.1:5062', ?3, ?4, ?5, ?6, ?7, ?4)",
        )?;
        for i in 0..calls {
            let at = start + i * span / calls + rng.i64(0..1000);
            let roll = rng.u32(0..100);
            let (outcome, ring, who) = match roll {
                0..75 => {
                    let ring = 1_500
                        + rng.i64(0..12_000)
                        + if rng.u32(0..4) == 0 {
                            rng.i64(0..30_000)
                        } else {
                            0
                        };
                    let who = (rng.u32(0..10) < 9).then(|| agent(rng.usize(0..AGENTS)));
                    ("answered-elsewhere", ring, who)
                }
                75..93 => ("abandoned", 5_001 + rng.i64(0..40_000), None),
                93..98 => ("timed-out", 60_000, None),
                _ => ("abandoned", rng.i64(500..5_000), None),
            };
            st.execute(params![
                format!("bench-{i}@kpi"),
                format!("139{:08}", rng.u32(0..100_000_000)),
                at,
                at + ring,
                ring,
                outcome,
                who
            ])?;
        }
    }
    {
        let mut t = tx.prepare(
            "INSERT INTO tickets (number, tag, origin, state, source, caller, accepting_agent, reported_at, due_at, repaired_at, closed_at, satisfaction, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'phone', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?7)",
        )?;
        let mut e = tx.prepare(
            "INSERT INTO ticket_events (ticket_id, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut cb = tx.prepare(
            "INSERT INTO callbacks (kind, ticket_id, state, due_at, attempts, outcome, actor, last_attempt_at, created_at, updated_at)
             VALUES ('post_repair', ?1, ?2, ?3, 1, ?2, ?4, ?5, ?6, ?5)",
        )?;
        let mut ob = tx.prepare(
            "INSERT INTO outbox (message_id, purpose, ticket_id, recipient, subject, body, state, attempts, created_at, sent_at)
             VALUES (?1, 'repair_confirmation', ?2, 'desk@localhost', '已修好', '已修好', 'sent', 1, ?3, ?4)",
        )?;
        for i in 0..tickets {
            let at = start + i * span / tickets + rng.i64(0..1000);
            let (tag, origin) = TAGS[rng.usize(0..TAGS.len())];
            let who = agent(rng.usize(0..AGENTS));
            let roll = rng.u32(0..100);
            let state = match roll {
                0..90 => "closed",
                90..95 => "voided",
                95..98 => "inquiry",
                _ => "dispatched",
            };
            let repaired = (state == "closed").then(|| at + rng.i64(3_600_000..16 * 3_600_000));
            let sat = repaired.map(|_| match rng.u32(0..10) {
                0..7 => "满意",
                7..9 => "基本满意",
                _ => "不满意",
            });
            t.execute(params![
                format!("{tag}-{i:07}"),
                tag,
                origin,
                state,
                format!("139{:08}", rng.u32(0..100_000_000)),
                who,
                at,
                at + 12 * 3_600_000,
                repaired,
                repaired,
                sat
            ])?;
            let id = tx.last_insert_rowid();
            e.execute(params![id, at, who, "reported", "{}"])?;
            if rng.u32(0..100) < 3 {
                e.execute(params![
                    id,
                    at + 60_000,
                    who,
                    "amended",
                    r#"{"address":"馨苑1#-2-503","corrected":["address"]}"#
                ])?;
            }
            if state == "voided" {
                let why = if rng.bool() {
                    r#"{"note":"误拨"}"#
                } else {
                    r#"{"note":"录入错误"}"#
                };
                e.execute(params![id, at + 120_000, who, "void", why])?;
            }
            if let Some(r) = repaired {
                let due = r + 1_800_000;
                let done = due + rng.i64(0..30 * 3_600_000);
                let passed = if rng.u32(0..100) < 95 {
                    "passed"
                } else {
                    "failed"
                };
                e.execute(params![id, r, "wu", "repair", "{}"])?;
                cb.execute(params![
                    id,
                    passed,
                    due,
                    agent(rng.usize(0..AGENTS)),
                    done,
                    r
                ])?;
                if origin == "desk" && passed == "passed" {
                    ob.execute(params![
                        format!("<confirm-{i}@kpi>"),
                        id,
                        done,
                        done + rng.i64(60_000..40 * 3_600_000)
                    ])?;
                }
            }
        }
    }
    {
        let mut m = tx.prepare(
            "INSERT INTO callbacks (kind, phone, state, due_at, attempts, outcome, actor, last_attempt_at, created_at, updated_at)
             VALUES ('missed_call', ?1, 'resolved', ?2, 1, 'reached', ?3, ?4, ?2, ?4)",
        )?;
        for i in 0..calls / 30 {
            let at = start + i * span / (calls / 30);
            m.execute(params![
                format!("138{i:08}"),
                at,
                agent(rng.usize(0..AGENTS)),
                at + rng.i64(60_000..7_200_000)
            ])?;
        }
        let mut q = tx.prepare(
            "INSERT INTO complaints (channel, category, state, customer, what, staff, measure, promised_at, finding, recorded_by, received_at, updated_at)
             VALUES ('phone', ?1, 'closed', '客户', '投诉要点', ?2, '致歉', ?3, ?4, 'wang', ?3, ?3)",
        )?;
        let cats = ["facilities", "attitude", "quality", "incident"];
        for i in 0..1_000i64 {
            let at = start + i * span / 1_000;
            let finding = if rng.bool() {
                "staff_at_fault"
            } else {
                "not_staff"
            };
            q.execute(params![
                cats[rng.usize(0..4)],
                agent(rng.usize(0..AGENTS)),
                at,
                finding
            ])?;
        }
        let mut k = tx.prepare(
            "INSERT OR REPLACE INTO kpi_manual (month, agent, item, score, entered_by, entered_at) VALUES (?1, ?2, ?3, ?4, 'wang', ?5)",
        )?;
        for month in 1..=12 {
            for a in 0..AGENTS {
                for item in ["attendance", "learning", "spot_check"] {
                    k.execute(params![
                        format!("2026-{month:02}"),
                        agent(a),
                        item,
                        f64::from(rng.u32(60..=100)),
                        now
                    ])?;
                }
            }
        }
    }
    tx.commit()?;
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let n: i64 = c.query_row("SELECT count(*) FROM calls", [], |r| r.get(0))?;
    let t: i64 = c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))?;
    println!("calls {n} tickets {t}");
    Ok(())
}
