//! The counts `/metrics` reads at scrape time: each a covering index's
//! count (tickets by state and tag, callbacks due, outbox by state).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{StoreError, to_ms};

/// (tag, state, count) of every ticket.
pub fn tickets_by_tag_state(
    conn: &Connection,
) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT tag, state, count(*) FROM tickets GROUP BY state, tag")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Pending callbacks due at or before `now`.
pub fn callbacks_due(conn: &Connection, now: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM callbacks WHERE state = 'pending' AND due_at <= ?1")?
        .query_row([to_ms(now)], |r| r.get(0))?)
}

/// (state, count) of the outbox's messages.
pub fn outbox_by_state(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st = conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
