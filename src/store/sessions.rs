//! Console sessions: one row per login, keyed by the SHA-256 of the cookie
//! (a stolen database does not give working cookies), with the per-session
//! CSRF token and the time of the last request for the idle expiry.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, from_ms, to_ms};
use crate::domain::staff::Role;

/// A live session and the person behind it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub display: Option<String>,
    pub role: Role,
    pub csrf: String,
    pub seen_at: DateTime<Utc>,
}

pub fn create(
    conn: &Connection,
    token_hash: &str,
    user: &str,
    csrf: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, user_name, csrf, created_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![token_hash, user, csrf, to_ms(now)])?;
    Ok(())
}

/// The session of `token_hash` if it was used after `idle_since` and its
/// user is active; marks it used at `now`. An idle one is deleted.
pub fn touch(
    conn: &Connection,
    token_hash: &str,
    idle_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT s.user_name, u.display, u.role, s.csrf, s.seen_at FROM sessions s
             JOIN users u ON u.name = s.user_name AND u.active = 1 WHERE s.token_hash = ?1",
        )?
        .query_row([token_hash], |r| {
            Ok(Session {
                user: r.get(0)?,
                display: r.get(1)?,
                role: r.get(2)?,
                csrf: r.get(3)?,
                seen_at: from_ms(r.get(4)?),
            })
        })
        .optional()?;
    match found {
        Some(s) if s.seen_at >= idle_since => {
            conn.prepare_cached("UPDATE sessions SET seen_at = ?2 WHERE token_hash = ?1")?
                .execute(params![token_hash, to_ms(now)])?;
            Ok(Some(s))
        }
        Some(_) => {
            delete(conn, token_hash)?;
            Ok(None)
        }
        None => Ok(None),
    }
}

pub fn delete(conn: &Connection, token_hash: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([token_hash])?;
    Ok(())
}

/// Removes every session idle since before `idle_since`; how many.
pub fn purge(conn: &Connection, idle_since: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE seen_at < ?1")?
        .execute([to_ms(idle_since)])?)
}

/// Ends every session of `user` (a new password logs them all out).
pub fn delete_for_user(conn: &Connection, user: &str) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE user_name = ?1")?
        .execute([user])?)
}
