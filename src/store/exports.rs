//! What the exports read: tickets reported in a period, callbacks due in a
//! period, oldest first.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::tickets::{COLUMNS, Ticket, from_row};
use super::{StoreError, to_ms};

/// Tickets reported in `[from, to)`, in the order they were reported.
pub fn tickets_reported(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Ticket>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE reported_at >= ?1 AND reported_at < ?2
         ORDER BY reported_at, id"
    ))?;
    let rows = st
        .query_map(params![to_ms(from), to_ms(to)], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The ids of callbacks due in `[from, to)`, in the order they were due.
pub fn callbacks_due(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM callbacks WHERE due_at >= ?1 AND due_at < ?2 ORDER BY due_at, id",
    )?;
    let rows = st
        .query_map(params![to_ms(from), to_ms(to)], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
