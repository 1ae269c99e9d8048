//! Callbacks (回访) as rows, and the record of broken repair promises.
//!
//! Functions here read and write rows; when a callback is due, retried or
//! escalated is decided in `domain::callback` and `core::callbacks`.
//!
//! May depend on: rusqlite, chrono, `domain::callback`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::callback::{Kind, Outcome, State};

/// A callback row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback {
    pub id: i64,
    pub kind: Kind,
    pub ticket_id: Option<i64>,
    pub call_id: Option<String>,
    pub phone: Option<String>,
    pub state: State,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub outcome: Option<Outcome>,
    pub actor: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, ticket_id, call_id, phone, state, due_at, attempts, outcome, actor, \
    last_attempt_at, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Callback> {
    Ok(Callback {
        id: r.get(0)?,
        kind: r.get(1)?,
        ticket_id: r.get(2)?,
        call_id: r.get(3)?,
        phone: r.get(4)?,
        state: r.get(5)?,
        due_at: from_ms(r.get(6)?),
        attempts: r.get(7)?,
        outcome: r.get(8)?,
        actor: r.get(9)?,
        last_attempt_at: r.get::<_, Option<i64>>(10)?.map(from_ms),
        created_at: from_ms(r.get(11)?),
        updated_at: from_ms(r.get(12)?),
    })
}

/// A callback to create.
#[derive(Debug, Clone)]
pub struct NewCallback<'a> {
    pub kind: Kind,
    pub ticket_id: Option<i64>,
    pub call_id: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub due_at: DateTime<Utc>,
}

/// Inserts a pending callback; None if its call id is known already or its
/// number already has a pending missed-call callback.
pub fn insert(
    conn: &Connection,
    c: &NewCallback<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO callbacks (kind, ticket_id, call_id, phone, state, due_at, attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, 0, ?6, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            c.kind,
            c.ticket_id,
            c.call_id,
            c.phone,
            to_ms(c.due_at),
            to_ms(now)
        ])?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Callback>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM callbacks WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The pending callback of a ticket, if any.
pub fn pending_for_ticket(
    conn: &Connection,
    ticket_id: i64,
) -> Result<Option<Callback>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE ticket_id = ?1 AND state = 'pending' ORDER BY id DESC LIMIT 1"
        ))?
        .query_row([ticket_id], from_row)
        .optional()?)
}

/// The pending missed-call callback of a number, if any.
pub fn pending_for_phone(conn: &Connection, phone: &str) -> Result<Option<Callback>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE phone = ?1 AND kind = 'missed_call' AND state = 'pending'"
        ))?
        .query_row([phone], from_row)
        .optional()?)
}

/// Writes back state, due time, attempts and outcome.
pub fn save(conn: &Connection, c: &Callback) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE callbacks SET state = ?2, due_at = ?3, attempts = ?4, outcome = ?5, actor = ?6,
         last_attempt_at = ?7, updated_at = ?8 WHERE id = ?1",
    )?
    .execute(params![
        c.id,
        c.state,
        to_ms(c.due_at),
        c.attempts,
        c.outcome,
        c.actor,
        c.last_attempt_at.map(to_ms),
        to_ms(c.updated_at)
    ])?;
    Ok(())
}

/// Pending callbacks due at or before `until` (all pending if None), earliest first.
pub fn pending(
    conn: &Connection,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<Callback>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM callbacks WHERE state = 'pending' AND (?1 IS NULL OR due_at <= ?1)
         ORDER BY due_at, id"
    ))?;
    let rows = st
        .query_map([until.map(to_ms)], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The earliest pending due time after `after`.
pub fn next_due_after(
    conn: &Connection,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached(
            "SELECT min(due_at) FROM callbacks WHERE state = 'pending' AND due_at > ?1",
        )?
        .query_row([to_ms(after)], |r| r.get(0))?;
    Ok(v.map(from_ms))
}

/// Every callback, newest first, optionally only one state.
pub fn list(
    conn: &Connection,
    state: Option<State>,
    limit: usize,
) -> Result<Vec<Callback>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM callbacks WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![state, limit as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Tickets whose repair promise ran out by `now` and is not yet recorded as
/// broken: (ticket id, due time). Paused and exempt promises never break.
pub fn unbroken_overdue(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT t.id, t.due_at FROM tickets t
         WHERE t.state IN ('new', 'dispatched', 'reopened') AND t.sla_paused_at IS NULL
           AND t.sla_exempt IS NULL AND t.due_at < ?1
           AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.due_at = t.due_at)
         ORDER BY t.due_at",
    )?;
    let rows = st
        .query_map([to_ms(now)], |r| Ok((r.get(0)?, from_ms(r.get(1)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The earliest repair promise still running that could break after `now`.
pub fn next_sla_due(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached(
            "SELECT min(due_at) FROM tickets WHERE state IN ('new', 'dispatched', 'reopened')
             AND sla_paused_at IS NULL AND sla_exempt IS NULL AND due_at >= ?1",
        )?
        .query_row([to_ms(now)], |r| r.get(0))?;
    Ok(v.map(from_ms))
}

/// Records a broken promise; false if it was recorded already.
pub fn record_breach(
    conn: &Connection,
    ticket_id: i64,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO sla_breaches (ticket_id, due_at, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?
        .execute(params![ticket_id, to_ms(due_at), to_ms(now)])?;
    Ok(n == 1)
}

/// How many promises have been broken (the SLA-breach counter).
pub fn breach_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM sla_breaches")?
        .query_row([], |r| r.get(0))?)
}
