//! The audit log: every view and change of customer data, by whom and when.
//!
//! May depend on: rusqlite, chrono.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub object: Option<String>,
    pub detail: Option<String>,
}

pub fn record(
    conn: &Connection,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    object: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![to_ms(at), actor, action, object, detail])?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<Entry>, StoreError> {
    let mut st = conn
        .prepare("SELECT at, actor, action, object, detail FROM audit ORDER BY id DESC LIMIT ?1")?;
    let rows = st
        .query_map([limit as i64], |r| {
            Ok(Entry {
                at: from_ms(r.get(0)?),
                actor: r.get(1)?,
                action: r.get(2)?,
                object: r.get(3)?,
                detail: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
