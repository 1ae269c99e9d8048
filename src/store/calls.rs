//! Calls to the fault line: one row per Call-ID, from the INVITE to its end.
//!
//! A row is inserted (ringing) when the INVITE arrives and updated once with
//! its outcome; `UNIQUE (call_id)` makes a repeated INVITE insert nothing.
//!
//! May depend on: rusqlite, chrono, `domain::call`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::call::{IdentityHeader, Outcome};

/// A new call, as the INVITE tells it.
#[derive(Debug, Clone, Serialize)]
pub struct NewCall {
    pub call_id: String,
    pub caller_raw: Option<String>,
    pub caller_display: Option<String>,
    /// The identity header the caller was taken from.
    pub caller_source: Option<IdentityHeader>,
    /// The normalised number, when the caller has one.
    pub caller: Option<String>,
    pub callee: String,
    /// udp or tcp.
    pub transport: String,
    pub peer: String,
    pub invited_at: DateTime<Utc>,
    /// The ticket the call's report opened or attached to.
    #[serde(skip)]
    pub ticket_id: Option<i64>,
    /// True when that report was a repeat report on an open ticket.
    pub repeat_report: bool,
}

/// What ending a call recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The normalised caller, when there is one.
    pub caller: Option<String>,
    pub ring_ms: i64,
    /// The ticket number of the call's report.
    pub ticket: Option<String>,
}

/// A call row: the call as the INVITE told it, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    #[serde(skip)]
    pub id: i64,
    #[serde(flatten)]
    pub call: NewCall,
    pub ended_at: Option<DateTime<Utc>>,
    pub ring_ms: Option<i64>,
    pub outcome: Outcome,
    /// The ticket number opened or attached to.
    pub ticket: Option<String>,
}

/// A call row reads as the call the INVITE told.
impl std::ops::Deref for Call {
    type Target = NewCall;
    fn deref(&self) -> &NewCall {
        &self.call
    }
}

impl Call {
    /// A call just recorded, still ringing.
    pub fn ringing(id: i64, call: NewCall, ticket: Option<String>) -> Call {
        Call {
            id,
            call,
            ended_at: None,
            ring_ms: None,
            outcome: Outcome::Ringing,
            ticket,
        }
    }
}

// The ticket number by a correlated subquery (one index lookup per row).
pub(super) const SELECT: &str = "SELECT c.id, c.call_id, c.caller_raw, c.caller_display, c.caller_source, c.caller, \
    c.callee, c.transport, c.peer, c.invited_at, c.ended_at, c.ring_ms, c.outcome, \
    (SELECT t.number FROM tickets t WHERE t.id = c.ticket_id), c.repeat_report, c.ticket_id FROM calls c";

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Call> {
    Ok(Call {
        id: r.get(0)?,
        call: NewCall {
            call_id: r.get(1)?,
            caller_raw: r.get(2)?,
            caller_display: r.get(3)?,
            caller_source: r.get(4)?,
            caller: r.get(5)?,
            callee: r.get(6)?,
            transport: r.get(7)?,
            peer: r.get(8)?,
            invited_at: from_ms(r.get(9)?),
            ticket_id: r.get(15)?,
            repeat_report: r.get(14)?,
        },
        ended_at: r.get::<_, Option<i64>>(10)?.map(from_ms),
        ring_ms: r.get(11)?,
        outcome: r.get(12)?,
        ticket: r.get(13)?,
    })
}

/// Inserts a ringing call; None if a call with this Call-ID exists already.
pub fn insert(conn: &Connection, c: &NewCall) -> Result<Option<i64>, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO calls (call_id, caller_raw, caller_display, caller_source, caller, callee,
             transport, peer, invited_at, outcome, ticket_id, repeat_report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'ringing', ?10, ?11)
             ON CONFLICT (call_id) DO NOTHING",
        )?
        .execute(params![
            c.call_id,
            c.caller_raw,
            c.caller_display,
            c.caller_source,
            c.caller,
            c.callee,
            c.transport,
            c.peer,
            to_ms(c.invited_at),
            c.ticket_id,
            c.repeat_report,
        ])?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

/// Ends a ringing call; None if it was not ringing (unknown or ended already).
pub fn finish(
    conn: &Connection,
    call_id: &str,
    outcome: Outcome,
    ended_at: DateTime<Utc>,
) -> Result<Option<Ended>, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE calls SET outcome = ?2, ended_at = ?3, ring_ms = max(0, ?3 - invited_at)
             WHERE call_id = ?1 AND outcome = 'ringing'
             RETURNING caller, ring_ms, (SELECT t.number FROM tickets t WHERE t.id = ticket_id)",
        )?
        .query_row(params![call_id, outcome, to_ms(ended_at)], |r| {
            Ok(Ended {
                caller: r.get(0)?,
                ring_ms: r.get(1)?,
                ticket: r.get(2)?,
            })
        })
        .optional()?)
}

/// Closes every call still ringing (left by a previous run) with `outcome`.
pub fn close_ringing(
    conn: &Connection,
    outcome: Outcome,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE calls SET outcome = ?1, ended_at = ?2, ring_ms = max(0, ?2 - invited_at)
             WHERE outcome = 'ringing'",
        )?
        .execute(params![outcome, to_ms(at)])?)
}

pub fn get(conn: &Connection, call_id: &str) -> Result<Option<Call>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE c.call_id = ?1"))?
        .query_row([call_id], from_row)
        .optional()?)
}

/// What `list` selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub outcome: Option<Outcome>,
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// Calls, oldest first (the newest `limit` if given).
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Call>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT * FROM ({SELECT} WHERE (?1 IS NULL OR c.outcome = ?1) AND (?2 IS NULL OR c.invited_at >= ?2)
         ORDER BY c.id DESC LIMIT ?3) ORDER BY id"
    ))?;
    let limit = f.limit.map_or(-1, i64::from);
    let rows = st
        .query_map(params![f.outcome, f.since.map(to_ms), limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many calls have each outcome.
pub fn counts(conn: &Connection) -> Result<Vec<(Outcome, i64)>, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT outcome, count(*) FROM calls GROUP BY outcome ORDER BY outcome")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;
    use chrono::Duration;

    fn call(id: &str, at: DateTime<Utc>) -> NewCall {
        NewCall {
            call_id: id.into(),
            caller_raw: Some("sip:68691234@pbx".into()),
            caller_display: Some("张三".into()),
            caller_source: Some(IdentityHeader::From),
            caller: Some("68691234".into()),
            callee: "88833114".into(),
            transport: "udp".into(),
            peer: "127.0.0.1:5070".into(),
            invited_at: at,
            ticket_id: None,
            repeat_report: false,
        }
    }

    #[test]
    fn one_row_per_call_id_and_one_outcome() {
        let (_d, s) = temp_store();
        let c = s.conn();
        let t0 = Utc::now();
        assert!(insert(c, &call("a", t0)).unwrap().is_some());
        assert!(insert(c, &call("a", t0)).unwrap().is_none());
        insert(c, &call("b", t0)).unwrap();
        let ended = finish(
            c,
            "a",
            Outcome::Abandoned,
            t0 + Duration::milliseconds(2500),
        )
        .unwrap();
        assert_eq!(
            ended,
            Some(Ended {
                caller: Some("68691234".into()),
                ring_ms: 2500,
                ticket: None
            })
        );
        assert!(
            finish(c, "a", Outcome::TimedOut, t0 + Duration::seconds(9))
                .unwrap()
                .is_none()
        );
        assert_eq!(close_ringing(c, Outcome::Interrupted, t0).unwrap(), 1);
        let a = get(c, "a").unwrap().unwrap();
        assert_eq!((a.outcome, a.ring_ms), (Outcome::Abandoned, Some(2500)));
        let all = list(c, &Filter::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].outcome, Outcome::Interrupted);
        let last = list(
            c,
            &Filter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(last[0].call_id, "b");
        assert_eq!(counts(c).unwrap().len(), 2);
    }
}
