//! Tickets and their events (the whole history of each ticket).
//!
//! Functions here read and write rows; which step is legal and what a step
//! means is decided in `domain::ticket` and `core::tickets`.
//!
//! May depend on: rusqlite, chrono, serde_json, `domain::ticket`, `domain::tag`.

use chrono::{DateTime, Utc};
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::tag::OriginKind;
use crate::domain::ticket::{EventKind, FaultFields, Source, State};

/// A ticket row.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    #[serde(skip)]
    pub id: i64,
    pub number: String,
    pub tag: Option<String>,
    pub origin: OriginKind,
    pub state: State,
    /// Where the report came in.
    pub source: Source,
    pub subscriber: Option<String>,
    pub caller: Option<String>,
    pub caller_raw: Option<String>,
    pub address: Option<String>,
    #[serde(flatten)]
    pub fields: FaultFields,
    pub reported_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub sla_paused_at: Option<DateTime<Utc>>,
    pub sla_exempt: Option<String>,
    pub repaired_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<String>,
    pub repeat_count: i64,
    pub reopen_count: i64,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: EventKind,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub detail: Option<serde_json::Value>,
}

pub(super) const COLUMNS: &str = "id, number, tag, origin, state, source, subscriber, caller, caller_raw, address, \
    accepting_agent, service_type, reporter, fault, cause, remarks, depot, reported_at, due_at, sla_paused_at, \
    sla_exempt, repaired_at, closed_at, satisfaction, repeat_count, reopen_count, updated_at";

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    let opt_time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_ms))
    };
    Ok(Ticket {
        id: r.get(0)?,
        number: r.get(1)?,
        tag: r.get(2)?,
        origin: r.get(3)?,
        state: r.get(4)?,
        source: r.get(5)?,
        subscriber: r.get(6)?,
        caller: r.get(7)?,
        caller_raw: r.get(8)?,
        address: r.get(9)?,
        fields: FaultFields {
            accepting_agent: r.get(10)?,
            service_type: r.get(11)?,
            reporter: r.get(12)?,
            fault: r.get(13)?,
            cause: r.get(14)?,
            remarks: r.get(15)?,
            depot: r.get(16)?,
        },
        reported_at: from_ms(r.get(17)?),
        due_at: from_ms(r.get(18)?),
        sla_paused_at: opt_time(19)?,
        sla_exempt: r.get(20)?,
        repaired_at: opt_time(21)?,
        closed_at: opt_time(22)?,
        satisfaction: r.get(23)?,
        repeat_count: r.get(24)?,
        reopen_count: r.get(25)?,
        updated_at: from_ms(r.get(26)?),
    })
}

/// The next number of the day's sequence for `prefix` (1 for the first).
/// Inside the caller's write transaction, so concurrent writers never share one.
pub fn next_seq(conn: &Connection, prefix: &str, day: &str) -> Result<u32, StoreError> {
    let seq: i64 = conn
        .prepare_cached(
            "INSERT INTO ticket_seq (prefix, day, last) VALUES (?1, ?2, 1)
             ON CONFLICT (prefix, day) DO UPDATE SET last = last + 1 RETURNING last",
        )?
        .query_row(params![prefix, day], |r| r.get(0))?;
    Ok(u32::try_from(seq).unwrap_or(u32::MAX))
}

/// The columns a ticket's steps may change, in the one order that
/// [`insert`] and [`save`] bind them.
const CHANGING: [&str; 21] = [
    "tag",
    "origin",
    "state",
    "subscriber",
    "address",
    "accepting_agent",
    "service_type",
    "reporter",
    "fault",
    "cause",
    "remarks",
    "depot",
    "due_at",
    "sla_paused_at",
    "sla_exempt",
    "repaired_at",
    "closed_at",
    "satisfaction",
    "repeat_count",
    "reopen_count",
    "updated_at",
];

/// Runs `f` with the values of `head` followed by those of [`CHANGING`].
fn with_changing<R>(t: &Ticket, head: &[&dyn ToSql], f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
    let x = &t.fields;
    let (due, paused, repaired, closed, updated) = (
        to_ms(t.due_at),
        t.sla_paused_at.map(to_ms),
        t.repaired_at.map(to_ms),
        t.closed_at.map(to_ms),
        to_ms(t.updated_at),
    );
    let changing: [&dyn ToSql; 21] = [
        &t.tag,
        &t.origin,
        &t.state,
        &t.subscriber,
        &t.address,
        &x.accepting_agent,
        &x.service_type,
        &x.reporter,
        &x.fault,
        &x.cause,
        &x.remarks,
        &x.depot,
        &due,
        &paused,
        &t.sla_exempt,
        &repaired,
        &closed,
        &t.satisfaction,
        &t.repeat_count,
        &t.reopen_count,
        &updated,
    ];
    let all: Vec<&dyn ToSql> = head.iter().copied().chain(changing).collect();
    f(&all)
}

/// Inserts a new ticket; sets and returns its id.
pub fn insert(conn: &Connection, t: &mut Ticket) -> Result<i64, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let fixed = "number, source, caller, caller_raw, reported_at";
        let marks: Vec<String> = (1..=5 + CHANGING.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO tickets ({fixed}, {}) VALUES ({})",
            CHANGING.join(", "),
            marks.join(", ")
        )
    });
    let reported = to_ms(t.reported_at);
    let head: [&dyn ToSql; 5] = [&t.number, &t.source, &t.caller, &t.caller_raw, &reported];
    with_changing(t, &head, |values| {
        conn.prepare_cached(&SQL)?.execute(values)
    })?;
    t.id = conn.last_insert_rowid();
    Ok(t.id)
}

/// Writes back every mutable column of `t`.
pub fn save(conn: &Connection, t: &Ticket) -> Result<(), StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let sets: Vec<String> = CHANGING
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 2))
            .collect();
        format!("UPDATE tickets SET {} WHERE id = ?1", sets.join(", "))
    });
    with_changing(t, &[&t.id], |values| {
        conn.prepare_cached(&SQL)?.execute(values)
    })?;
    Ok(())
}

/// An entry to append to a ticket's history.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub kind: EventKind,
    pub from: Option<State>,
    pub to: Option<State>,
    pub detail: Option<&'a serde_json::Value>,
}

impl<'a> NewEvent<'a> {
    /// Something that happened to `t` and left it in its state.
    pub fn on(
        t: &Ticket,
        at: DateTime<Utc>,
        actor: &'a str,
        kind: EventKind,
        detail: &'a serde_json::Value,
    ) -> NewEvent<'a> {
        NewEvent {
            ticket_id: t.id,
            at,
            actor,
            kind,
            from: Some(t.state),
            to: Some(t.state),
            detail: Some(detail),
        }
    }
}

/// Appends an event to a ticket's history.
pub fn add_event(conn: &Connection, e: &NewEvent<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.ticket_id,
        to_ms(e.at),
        e.actor,
        e.kind,
        e.from,
        e.to,
        e.detail.map(|d| d.to_string()),
    ])?;
    Ok(())
}

pub fn events(conn: &Connection, ticket_id: i64) -> Result<Vec<Event>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT at, actor, kind, from_state, to_state, detail FROM ticket_events WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([ticket_id], |r| {
            let detail: Option<String> = r.get(5)?;
            Ok(Event {
                at: from_ms(r.get(0)?),
                actor: r.get(1)?,
                kind: r.get(2)?,
                from_state: r.get(3)?,
                to_state: r.get(4)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn by_number(conn: &Connection, number: &str) -> Result<Option<Ticket>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tickets WHERE number = ?1"))?
        .query_row([number], from_row)
        .optional()?)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Ticket>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tickets WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The newest open ticket of a subscriber.
pub fn open_for_subscriber(conn: &Connection, account: &str) -> Result<Option<Ticket>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tickets WHERE id = (SELECT max(id) FROM tickets
             WHERE subscriber = ?1 AND state <> 'closed' AND state NOT IN ('inquiry', 'voided'))"
        ))?
        .query_row([account], from_row)
        .optional()?)
}

/// The newest open untagged ticket opened for a caller nobody knew.
pub fn open_untagged_for_caller(
    conn: &Connection,
    caller: &str,
) -> Result<Option<Ticket>, StoreError> {
    Ok(conn
        .prepare_cached(&open_untagged_sql())?
        .query_row([caller], from_row)
        .optional()?)
}

/// The statement of [`open_untagged_for_caller`] (a test watches its re-preparations).
pub(crate) fn open_untagged_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM tickets WHERE id = (SELECT max(id) FROM tickets
         WHERE caller = ?1 AND state <> 'closed' AND state NOT IN ('inquiry', 'voided') AND origin = 'untagged' AND subscriber IS NULL)"
    )
}

/// Which tickets a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub tag: Option<String>,
    /// Only tickets not closed.
    pub open: bool,
    pub subscriber: Option<String>,
    pub limit: Option<usize>,
    /// Only tickets without a tag (the triage queue).
    pub untagged: bool,
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Ticket>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM tickets WHERE 1 = 1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(s) = f.state {
        args.push(Box::new(s));
        sql.push_str(&format!(" AND state = ?{}", args.len()));
    }
    if let Some(t) = &f.tag {
        args.push(Box::new(t.clone()));
        sql.push_str(&format!(" AND tag = ?{}", args.len()));
    }
    if let Some(s) = &f.subscriber {
        args.push(Box::new(s.clone()));
        sql.push_str(&format!(" AND subscriber = ?{}", args.len()));
    }
    if f.untagged {
        sql.push_str(" AND tag IS NULL");
    }
    if f.open {
        sql.push_str(" AND state NOT IN ('closed', 'inquiry', 'voided')");
    }
    sql.push_str(" ORDER BY id");
    if let Some(l) = f.limit {
        sql.push_str(&format!(" LIMIT {l}"));
    }
    let mut st = conn.prepare(&sql)?;
    let rows = st
        .query_map(rusqlite::params_from_iter(args.iter()), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
