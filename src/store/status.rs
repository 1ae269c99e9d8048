//! What each running component says about itself (`faultdesk status`):
//! a small key/value table, e.g. `sip.registration` = `registered`.
//!
//! May depend on: rusqlite, chrono.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub updated_at: DateTime<Utc>,
}

pub fn set(
    conn: &Connection,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO component_status (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![key, value, to_ms(now)])?;
    Ok(())
}

/// Removes every key starting with `prefix` (a component starting afresh).
pub fn clear(conn: &Connection, prefix: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM component_status WHERE substr(key, 1, length(?1)) = ?1")?
        .execute([prefix])?;
    Ok(())
}

pub fn all(conn: &Connection) -> Result<Vec<Entry>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT key, value, updated_at FROM component_status ORDER BY key")?;
    let rows = st
        .query_map([], |r| {
            Ok(Entry {
                key: r.get(0)?,
                value: r.get(1)?,
                updated_at: from_ms(r.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn set_replaces_and_clear_removes_a_prefix() {
        let (_d, s) = temp_store();
        let c = s.conn();
        set(c, "sip.registration", "registering", Utc::now()).unwrap();
        set(c, "sip.registration", "registered", Utc::now()).unwrap();
        set(c, "fax.spool", "watching", Utc::now()).unwrap();
        let a = all(c).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].value, "registered");
        clear(c, "sip.").unwrap();
        assert_eq!(all(c).unwrap().len(), 1);
    }
}
