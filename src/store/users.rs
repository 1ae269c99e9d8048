//! Users: the people every change and every look at customer data is attributed to.
//!
//! May depend on: rusqlite, chrono, `domain::staff`.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::staff::Role;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub display: Option<String>,
    pub role: Role,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Adds a user; false if the name is taken.
pub fn add(
    conn: &Connection,
    name: &str,
    display: Option<&str>,
    role: Role,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO users (name, display, role, active, created_at) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (name) DO NOTHING",
        params![name, display, role, to_ms(now)],
    )?;
    Ok(n == 1)
}

/// How many users there are (active or not).
pub fn count(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        name: r.get(0)?,
        display: r.get(1)?,
        role: r.get(2)?,
        active: r.get(3)?,
        created_at: from_ms(r.get(4)?),
    })
}

pub fn get(conn: &Connection, name: &str) -> Result<Option<User>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT name, display, role, active, created_at FROM users WHERE name = ?1",
            [name],
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let mut st =
        conn.prepare("SELECT name, display, role, active, created_at FROM users ORDER BY name")?;
    let rows = st.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Sets a user's password hash (a PHC string); false if there is no such user.
pub fn set_password_hash(conn: &Connection, name: &str, hash: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE name = ?1",
        params![name, hash],
    )?;
    Ok(n == 1)
}

/// An active user's password hash, if they have one.
pub fn password_hash(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT password_hash FROM users WHERE name = ?1 AND active = 1",
            [name],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}
