//! The month's raw figures for the scorecard, read with range scans of
//! covering indexes (`calls_kpi`, `tickets_kpi`, `callbacks_done`,
//! `complaints_received`), and the manager's monthly entries.
//!
//! The queries group and count; what a count means (which call was
//! offered, which callback was on its day, which void was a mis-entry) is
//! decided by `domain::kpi`, whose functions fold the rows read here.
//!
//! May depend on: rusqlite, chrono, chrono-tz, serde_json, `domain::kpi`,
//! `domain::call`, `domain::callback`, `domain::complaint`, `domain::ticket`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, params};

use super::{StoreError, from_ms, to_ms};
use crate::domain::call::Outcome;
use crate::domain::callback::{self, Kind};
use crate::domain::complaint::{Category, Finding};
use crate::domain::kpi::{
    CallbackDone, Counts, ManualItem, Month, Promises, Settings, is_misentry_void,
};
use crate::domain::ticket::{EventKind, State};

/// Calls are counted per quarter hour, so that any time zone's days can be made of them.
pub const QUARTER_MS: i64 = 15 * 60 * 1000;

/// What the store knows of a month.
#[derive(Debug, Clone, Default)]
pub struct MonthData {
    /// Counts per person named in the data (the answering agent, the
    /// accepting agent, the callback's caller, the staff complained of).
    pub people: BTreeMap<String, Counts>,
    /// The centre's counts: every row, named or not.
    pub centre: Counts,
    /// Repair promises of the month's faults, per tag (untagged as "").
    pub promises: Vec<Promises>,
    /// Calls per quarter hour: (start, calls).
    pub quarter_hours: Vec<(DateTime<Utc>, u64)>,
    /// Answered calls per started second of ring time (1 ms to 1 s is 1).
    pub ring_seconds: Vec<(u32, u64)>,
}

struct Fold {
    data: MonthData,
}

impl Fold {
    /// Applies `f` to the centre's counts and, when named, to the person's.
    fn both(&mut self, who: Option<&str>, f: impl Fn(&mut Counts)) {
        f(&mut self.data.centre);
        if let Some(w) = who.filter(|w| !w.is_empty()) {
            f(self.data.people.entry(w.to_string()).or_default());
        }
    }
}

fn u(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Reads and counts everything of `month` (local to `tz`), promises seen at `as_of`.
pub fn month(
    conn: &Connection,
    month: Month,
    tz: Tz,
    s: &Settings,
    as_of: DateTime<Utc>,
) -> Result<MonthData, StoreError> {
    let (from, to) = month.range(tz);
    let (a, b) = (to_ms(from), to_ms(to));
    let mut fold = Fold {
        data: MonthData::default(),
    };

    // Calls by who answered and outcome.
    let mut st = conn.prepare_cached(
        "SELECT claimed_by, outcome, COUNT(*), COALESCE(SUM(ring_ms <= ?3), 0),
                COALESCE(SUM(ring_ms <= ?4), 0), COALESCE(SUM(ring_ms), 0)
         FROM calls WHERE invited_at >= ?1 AND invited_at < ?2
         GROUP BY claimed_by, outcome",
    )?;
    let mut rows = st.query(params![a, b, s.answer_within_ms, s.abandon_ignore_ms])?;
    while let Some(r) = rows.next()? {
        let who: Option<String> = r.get(0)?;
        let outcome: Outcome = r.get(1)?;
        let (n, in_time, short, ring) = (u(r.get(2)?), u(r.get(3)?), u(r.get(4)?), u(r.get(5)?));
        fold.both(who.as_deref(), |c| {
            c.add_calls(outcome, n, in_time, short, ring)
        });
    }

    // Calls per quarter hour; answered calls per second of ring time.
    let mut st = conn.prepare_cached(
        "SELECT invited_at / ?3, COUNT(*) FROM calls
         WHERE invited_at >= ?1 AND invited_at < ?2 GROUP BY 1 ORDER BY 1",
    )?;
    fold.data.quarter_hours = st
        .query_map(params![a, b, QUARTER_MS], |r| {
            Ok((from_ms(r.get::<_, i64>(0)? * QUARTER_MS), u(r.get(1)?)))
        })?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare_cached(
        "SELECT (ring_ms + 999) / 1000, COUNT(*) FROM calls
         WHERE invited_at >= ?1 AND invited_at < ?2 AND outcome = 'answered-elsewhere'
           AND ring_ms IS NOT NULL
         GROUP BY 1 ORDER BY 1",
    )?;
    fold.data.ring_seconds = st
        .query_map(params![a, b], |r| {
            Ok((
                u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                u(r.get(1)?),
            ))
        })?
        .collect::<Result<_, _>>()?;

    // The month's tickets: faults entered, and promises per tag.
    let mut misentered: BTreeSet<i64> = BTreeSet::new();
    let mut corrected: BTreeMap<i64, Option<String>> = BTreeMap::new();
    let mut st = conn.prepare_cached(
        "SELECT t.id, t.accepting_agent, e.kind, e.detail FROM tickets t
         JOIN ticket_events e ON e.ticket_id = t.id
         WHERE t.reported_at >= ?1 AND t.reported_at < ?2 AND e.kind IN (?3, ?4)",
    )?;
    let mut rows = st.query(params![a, b, EventKind::Amended, EventKind::Void])?;
    while let Some(r) = rows.next()? {
        let (id, who): (i64, Option<String>) = (r.get(0)?, r.get(1)?);
        let kind: EventKind = r.get(2)?;
        let detail: Option<String> = r.get(3)?;
        let detail: serde_json::Value = detail
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default();
        let is_correction = match kind {
            EventKind::Amended => detail
                .get("corrected")
                .and_then(|v| v.as_array())
                .is_some_and(|v| !v.is_empty()),
            _ => {
                let reason = detail.get("note").and_then(|v| v.as_str()).unwrap_or("");
                let mis = is_misentry_void(reason, &s.misentry_reasons);
                if mis {
                    misentered.insert(id);
                }
                mis
            }
        };
        if is_correction {
            corrected.insert(id, who);
        }
    }
    let mut promises: BTreeMap<String, Promises> = BTreeMap::new();
    let mut st = conn.prepare_cached(
        "SELECT id, accepting_agent, tag, state, due_at, repaired_at, sla_exempt IS NOT NULL
         FROM tickets WHERE reported_at >= ?1 AND reported_at < ?2",
    )?;
    let mut rows = st.query(params![a, b])?;
    while let Some(r) = rows.next()? {
        let (id, who, tag): (i64, Option<String>, Option<String>) =
            (r.get(0)?, r.get(1)?, r.get(2)?);
        let state: State = r.get(3)?;
        if !state.is_fault() && !misentered.contains(&id) {
            continue;
        }
        fold.both(who.as_deref(), |c| c.faults_entered += 1);
        if !state.is_fault() {
            continue;
        }
        let tag = tag.unwrap_or_default();
        promises
            .entry(tag.clone())
            .or_insert_with(|| Promises {
                tag,
                ..Promises::default()
            })
            .add(
                from_ms(r.get(4)?),
                r.get::<_, Option<i64>>(5)?.map(from_ms),
                r.get(6)?,
                as_of,
            );
    }
    fold.data.promises = promises.into_values().collect();
    for who in corrected.values() {
        fold.both(who.as_deref(), |c| c.entries_corrected += 1);
    }

    // Callbacks by their last attempt.
    let mut st = conn.prepare_cached(
        "SELECT actor, kind, state, outcome, due_at, last_attempt_at, created_at FROM callbacks
         WHERE last_attempt_at >= ?1 AND last_attempt_at < ?2 AND last_attempt_at IS NOT NULL",
    )?;
    let mut rows = st.query(params![a, b])?;
    while let Some(r) = rows.next()? {
        let who: Option<String> = r.get(0)?;
        let done = CallbackDone {
            kind: r.get::<_, Kind>(1)?,
            state: r.get::<_, callback::State>(2)?,
            outcome: r.get(3)?,
            due: from_ms(r.get(4)?),
            done: from_ms(r.get(5)?),
            created: from_ms(r.get(6)?),
        };
        fold.both(who.as_deref(), |c| c.add_callback(tz, &done));
    }

    // Satisfaction of the repairs verified this month, by the accepting agent.
    let mut st = conn.prepare_cached(
        "SELECT t.accepting_agent, t.satisfaction, COUNT(*) FROM callbacks c
         JOIN tickets t ON t.id = c.ticket_id
         WHERE c.last_attempt_at >= ?1 AND c.last_attempt_at < ?2 AND c.last_attempt_at IS NOT NULL
           AND c.state = 'passed' AND c.kind = 'post_repair' AND t.satisfaction IS NOT NULL
         GROUP BY 1, 2",
    )?;
    let mut rows = st.query(params![a, b])?;
    while let Some(r) = rows.next()? {
        let (who, word): (Option<String>, String) = (r.get(0)?, r.get(1)?);
        let n = u(r.get(2)?);
        fold.both(who.as_deref(), |c| c.add_satisfaction(&word, n));
    }

    // The desks' repair confirmations, by who made the callback.
    let mut st = conn.prepare_cached(
        "SELECT c.actor, c.last_attempt_at,
            (SELECT MIN(o.sent_at) FROM outbox o
             WHERE o.ticket_id = c.ticket_id AND o.purpose = 'repair_confirmation' AND o.state = 'sent')
         FROM callbacks c JOIN tickets t ON t.id = c.ticket_id
         WHERE c.last_attempt_at >= ?1 AND c.last_attempt_at < ?2 AND c.last_attempt_at IS NOT NULL
           AND c.state = 'passed' AND c.kind = 'post_repair' AND t.origin = 'desk'",
    )?;
    let mut rows = st.query(params![a, b])?;
    while let Some(r) = rows.next()? {
        let who: Option<String> = r.get(0)?;
        let at = from_ms(r.get(1)?);
        let sent = r.get::<_, Option<i64>>(2)?.map(from_ms);
        fold.both(who.as_deref(), |c| c.add_confirmation(s, at, sent));
    }

    // Complaints by the staff member named.
    let mut st = conn.prepare_cached(
        "SELECT staff, category, finding, COUNT(*) FROM complaints
         WHERE received_at >= ?1 AND received_at < ?2 GROUP BY 1, 2, 3",
    )?;
    let mut rows = st.query(params![a, b])?;
    while let Some(r) = rows.next()? {
        let who: Option<String> = r.get(0)?;
        let category: Category = r.get(1)?;
        let finding: Option<Finding> = r.get(2)?;
        let n = u(r.get(3)?);
        fold.both(who.as_deref(), |c| c.add_complaints(category, finding, n));
    }
    Ok(fold.data)
}

/// One of the manager's entries.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ManualEntry {
    pub agent: String,
    pub item: ManualItem,
    pub score: f64,
    pub note: Option<String>,
    pub entered_by: String,
    pub entered_at: DateTime<Utc>,
}

/// Records (or replaces) an entry of the manager's for `month`.
pub fn set_manual(conn: &Connection, month: Month, e: &ManualEntry) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO kpi_manual (month, agent, item, score, note, entered_by, entered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (month, agent, item) DO UPDATE SET score = excluded.score,
            note = excluded.note, entered_by = excluded.entered_by, entered_at = excluded.entered_at",
    )?
    .execute(params![
        month.to_string(),
        e.agent,
        e.item,
        e.score,
        e.note,
        e.entered_by,
        to_ms(e.entered_at)
    ])?;
    Ok(())
}

/// The manager's entries for `month`.
pub fn manual(conn: &Connection, month: Month) -> Result<Vec<ManualEntry>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT agent, item, score, note, entered_by, entered_at FROM kpi_manual
         WHERE month = ?1 ORDER BY agent, item",
    )?;
    let rows = st.query_map([month.to_string()], |r| {
        Ok(ManualEntry {
            agent: r.get(0)?,
            item: r.get(1)?,
            score: r.get(2)?,
            note: r.get(3)?,
            entered_by: r.get(4)?,
            entered_at: from_ms(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
